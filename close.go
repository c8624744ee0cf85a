package appws

import (
	"time"

	"github.com/gorilla/websocket"
)

// Every way a session or the client ends: a clean close (queued sends
// written, close frame, CloseTimeout), the send queue refused and resolved,
// Client.Close, and the end of the client with its Closed event.

// closeCleanly writes what is queued and a close frame, and waits for the
// server to close too. CloseTimeout bounds all of it: then the connection is
// closed, which ends any write or read still blocked.
func (s *session) closeCleanly(readDone <-chan error) (readEnded bool, err error) {
	t := time.AfterFunc(s.env.opts.CloseTimeout, s.bc.closeNow)
	defer t.Stop()
	s.writeControlFrames()
	if s.flushOnClose() == nil {
		msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
		_ = s.conn.WriteControl(websocket.CloseMessage, msg, time.Time{})
	}
	<-readDone
	return true, nil
}

// flushOnClose writes what is still queued before a clean close.
func (s *session) flushOnClose() error {
	for {
		s.qmu.Lock()
		n := len(s.queue)
		s.qmu.Unlock()
		if n == 0 {
			return nil
		}
		if err := s.sendQueued(); err != nil {
			return err
		}
	}
}

// closeQueue refuses further sends and resolves those still queued: the
// session ended (or was never served) before they could be written.
func (s *session) closeQueue() {
	s.qmu.Lock()
	s.qclosed = true
	q := s.queue
	s.queue = nil
	if s.qroom != nil {
		close(s.qroom)
		s.qroom = nil
	}
	s.qmu.Unlock()
	s.resolve(q, 0)
}

// Close ends the client: it stops reconnecting, writes what is queued, sends
// a close frame and waits up to CloseTimeout for the server's, then closes
// the connection. Undelivered Messages are dropped (Closed.Dropped counts
// them); sends not written get a SendResult with an error. Close may be
// called from any goroutine, also the one reading Events(), and any number of
// times; it never waits for the consumer. When it returns, every goroutine of
// the client has ended, whether or not anyone reads Events(): what was not
// yet read waits in the channel, Closed last (see rule 7 of Event). It
// returns nil, also on a client that already ended by itself (its Closed
// carried the reason).
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		close(c.closing)
		c.cancel()
		c.em.drop()
		c.mu.Lock()
		s := c.cur
		c.mu.Unlock()
		if s != nil {
			// A write blocked on a server that does not read ends within
			// CloseTimeout, not WriteTimeout.
			s.hurry(c.opts.CloseTimeout)
		}
	})
	<-c.done
	c.em.finish()
	return nil
}

// end marks the client ended and queues the final event.
func (c *Client) end(err error) {
	c.mu.Lock()
	c.ended = true
	c.mu.Unlock()
	c.setSession(nil, 0)
	c.reqs.fail(0, ErrClosed)
	if err != nil {
		c.log.Warn("appws: client ended", "err", err.Error())
	} else {
		c.log.Info("appws: client closed")
	}
	c.em.pushClosed(Closed{Err: err})
	c.cancel()
}

func (c *Client) isClosing() bool {
	select {
	case <-c.closing:
		return true
	default:
		return false
	}
}

// hurry bounds every write of the session, the one blocked now included, by
// d: Close may not wait WriteTimeout for a server that does not read.
func (s *session) hurry(d time.Duration) { s.bc.hurry(d) }

// abandon ends a session that was logged in but never served (Close came
// first): nothing was queued for the user, the connection just goes.
func (s *session) abandon() {
	s.closeQueue()
	s.bc.closeNow()
}
