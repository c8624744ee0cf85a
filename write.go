package appws

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/gorilla/websocket"

	"github.com/appwebsocket/appws/internal/envelope"
)

// The writing half of a session: the send queue (bounded by what is not yet
// written), the writer loop with its pings and KeepAlives, batching, and the
// reports of what became of each send.

// writeItem is one accepted send.
type writeItem struct {
	id   uint64
	data []byte
	req  *request // non-nil for Request: its result goes there, not to Events
	end  uint64   // where its frame ends among the bytes handed to bufConn; 0: not framed
}

// ctlFrame is a control frame (pong, close) the writer is to send.
type ctlFrame struct {
	typ  int
	data []byte
}

// errSessionGone: the session ended before the send could be queued.
var errSessionGone = errors.New("appws: session gone")

// enqueue accepts data into the send queue once there is room (SendQueue
// messages and SendQueueBytes not yet written; one message of any size fits
// an empty queue), waiting up to ctx, and returns its id (0 for a Request,
// which reports to its caller instead of by SendResult). Ids are given in
// queue order, so SendResults come in increasing order. It fails with
// errSessionGone when the session has ended.
func (s *session) enqueue(ctx context.Context, data []byte, req *request) (uint64, error) {
	o := s.env.opts
	for {
		s.qmu.Lock()
		if s.qclosed {
			s.qmu.Unlock()
			return 0, errSessionGone
		}
		if s.qcount == 0 || (s.qcount < o.SendQueue && s.qbytes+len(data) <= o.SendQueueBytes) {
			var id uint64
			if req == nil {
				id = s.env.nextID.Add(1)
			} else {
				req.session.Store(s.id)
			}
			s.queue = append(s.queue, writeItem{id: id, data: data, req: req})
			s.qcount++
			s.qbytes += len(data)
			s.qmu.Unlock()
			signal(s.qwake)
			return id, nil
		}
		if s.qroom == nil {
			s.qroom = make(chan struct{})
		}
		room := s.qroom
		s.qmu.Unlock()
		select {
		case <-room:
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-s.stop:
			return 0, errSessionGone
		}
	}
}

// written frees the room of n written messages of size bytes and wakes the
// senders waiting for it.
func (s *session) written(n, size int) {
	s.qmu.Lock()
	s.qcount -= n
	s.qbytes -= size
	if s.qroom != nil {
		close(s.qroom)
		s.qroom = nil
	}
	s.qmu.Unlock()
}

// takeQueued returns what is queued, appended to batch.
func (s *session) takeQueued(batch []writeItem) []writeItem {
	s.qmu.Lock()
	q := s.queue
	if len(q) == 0 {
		s.qmu.Unlock()
		return batch
	}
	if batch == nil {
		// Swap buffers instead of copying.
		s.queue, batch = s.spare[:0], q
		s.spare = nil
		s.qmu.Unlock()
		return batch
	}
	batch = append(batch, q...)
	clear(q)
	s.queue = q[:0]
	s.qmu.Unlock()
	return batch
}

// maxBatch bounds how many queued sends one flush carries before their
// SendResults go out.
const maxBatch = 256

// writeLoop performs every write of the session until the reader ends
// (true, its error), a write fails (false, its error), closing closes (a
// clean close: true, nil) or authDone closes. Sends queued behind each other
// are written into one buffer and flushed together, then their SendResults
// are queued.
func (s *session) writeLoop(closing, authDone <-chan struct{}, readDone <-chan error) (bool, error) {
	o := s.env.opts
	var pingC, kaC <-chan time.Time
	if o.PingInterval > 0 {
		t := time.NewTicker(o.PingInterval)
		defer t.Stop()
		pingC = t.C
	}
	var stallC <-chan time.Time
	if o.StallWarning > 0 {
		t := time.NewTicker(o.StallWarning)
		defer t.Stop()
		stallC = t.C
	}
	var ka *time.Timer
	if o.KeepAliveInterval > 0 {
		ka = time.NewTimer(o.KeepAliveInterval)
		defer ka.Stop()
		kaC = ka.C
	}
	for {
		select {
		case err := <-readDone:
			s.writeControlFrames() // the answer to the server's close frame
			return true, err
		case <-closing:
			return s.closeCleanly(readDone)
		case <-authDone:
			return false, ErrAuthenticatorClosed
		case f := <-s.ctlQ:
			if err := s.conn.WriteControl(f.typ, f.data, time.Time{}); err != nil {
				return false, err
			}
		case <-pingC:
			s.trimBuffers()
			if err := s.conn.WriteControl(websocket.PingMessage, nil, time.Time{}); err != nil {
				return false, err
			}
		case <-kaC:
			// Like innovaphone's clients: the KeepAlive goes out after
			// KeepAliveInterval without a message in either direction.
			s.trimBuffers()
			if idle := time.Since(time.Unix(0, s.lastActivity.Load())); idle < o.KeepAliveInterval {
				ka.Reset(o.KeepAliveInterval - idle)
				continue
			}
			s.bc.startBatch()
			s.frame(keepAliveMsg)
			if err := s.bc.endBatch(); err != nil {
				return false, err
			}
			s.lastActivity.Store(time.Now().UnixNano())
			c := &s.env
			c.stats.msgsOut.Add(1)
			c.stats.bytesOut.Add(uint64(len(keepAliveMsg)))
			ka.Reset(o.KeepAliveInterval)
		case <-stallC:
			if s.env.em.checkStall() {
				s.env.stats.stalls.Add(1)
				s.env.log.Warn("appws: Messages wait for MessageComplete: call Client.Handled (or MessageComplete) after every event",
					"session", s.id, "waited", o.StallWarning)
			}
		case <-s.qwake:
			if err := s.sendQueued(); err != nil {
				return false, err
			}
		}
	}
}

// sendQueued writes what is queued (and what queues up meanwhile, up to
// maxBatch sends) into one buffer, flushes it and resolves every item: a
// SendResult, or the Request's own result. If a write fails, the messages
// whose bytes the connection took whole were written all the same; only
// the others were not.
func (s *session) sendQueued() error {
	c := &s.env
	batch := s.takeQueued(nil)
	if len(batch) == 0 {
		return nil
	}
	debug := c.log.Enabled(context.Background(), slog.LevelDebug)
	s.bc.startBatch()
	size := 0
	for done := 0; done < len(batch); {
		for i := done; i < len(batch); i++ {
			it := &batch[i]
			if debug {
				s.logSent(*it)
			}
			size += len(it.data)
			it.end = s.frame(it.data)
		}
		done = len(batch)
		if done < maxBatch {
			batch = s.takeQueued(batch) // coalesce what queued up meanwhile
		}
	}
	err := s.bc.endBatch()
	s.lastActivity.Store(time.Now().UnixNano())
	s.written(len(batch), size)
	s.resolve(batch, s.bc.written())
	clear(batch)
	// Keep the buffer for the next batch; trimBuffers lets a big one go
	// once the session is idle.
	s.qmu.Lock()
	if s.spare == nil {
		s.spare = batch[:0]
	}
	s.qmu.Unlock()
	s.sent = true
	return err
}

// resolve reports what became of items, given that the connection took
// the first accepted bytes handed to it: an item whose frame ends within
// them was written (nil), any other was not (ErrSessionEnded; the one
// error value, so that the runs of failed sends of many sessions join).
// SendResults go to the emitter as runs of consecutive ids, Requests learn
// it themselves.
func (s *session) resolve(items []writeItem, accepted uint64) {
	c := &s.env
	var first, last uint64
	var runErr error
	flush := func() {
		if first != 0 {
			c.em.pushResults(first, last, runErr)
			n := last - first + 1
			if runErr == nil {
				c.stats.sendsWritten.Add(n)
			} else {
				c.stats.sendsFailed.Add(n)
			}
			first = 0
		}
	}
	var out, outBytes, reqs int
	for _, it := range items {
		var err error
		if it.end == 0 || it.end > accepted {
			err = ErrSessionEnded
		} else {
			out++
			outBytes += len(it.data)
		}
		switch {
		case it.req != nil:
			it.req.sent(err == nil)
			reqs++
		case first != 0 && it.id == last+1 && err == runErr:
			last = it.id
		default:
			flush()
			first, last, runErr = it.id, it.id, err
		}
	}
	flush()
	c.stats.msgsOut.Add(uint64(out))
	c.stats.bytesOut.Add(uint64(outBytes))
	if reqs > 0 {
		signal(c.reqs.wake) // a reader paused on a full read-ahead looks at them again
	}
}

// trimBuffers drops the send buffers a burst grew if nothing was sent since
// the last call (a ping or keep-alive tick ago), so an idle session holds
// little memory while a busy one does not allocate them again and again.
func (s *session) trimBuffers() {
	if s.sent {
		s.sent = false
		return
	}
	const small = 32
	s.qmu.Lock()
	if cap(s.spare) > small {
		s.spare = nil
	}
	if len(s.queue) == 0 && cap(s.queue) > small {
		s.queue = nil
	}
	s.qmu.Unlock()
}

var keepAliveMsg = []byte(`{"mt":"KeepAlive"}`)

func (s *session) logSent(it writeItem) {
	var env envelope.Envelope
	attrs := []any{"session", s.id, "id", it.id, "size", len(it.data)}
	if env.Scan(it.data) == nil {
		mt, api, src := env.Strings(it.data)
		attrs = append(attrs, "mt", logText(mt), "api", logText(api), "src", logText(src))
	}
	s.env.log.Debug("appws: sent", attrs...)
}

// writeControlFrames writes pending control frames (a pong, the reply to
// the server's close frame) before the writer stops.
func (s *session) writeControlFrames() {
	for {
		select {
		case f := <-s.ctlQ:
			_ = s.conn.WriteControl(f.typ, f.data, time.Time{})
		default:
			return
		}
	}
}

// frame adds p to the batch as one text message and returns where it ends
// among the bytes handed to bufConn (0: it could not be added).
func (s *session) frame(p []byte) uint64 {
	if s.rawFrames {
		return s.bc.writeText(p)
	}
	if err := s.conn.WriteMessage(websocket.TextMessage, p); err != nil {
		s.bc.fail(err)
		return 0
	}
	return s.bc.end()
}
