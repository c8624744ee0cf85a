package appws

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// The reading half of a session: the reader goroutine, its read deadlines,
// the read-ahead's flow control, and the handlers gorilla calls for control
// frames while it reads.

// installHandlers makes gorilla's control-frame callbacks (run on the
// reader goroutine) move the read deadline and queue the answers for the
// writer.
func (s *session) installHandlers() {
	s.conn.SetPingHandler(func(data string) error {
		if !s.inMessage {
			s.extendReadDeadline(false)
		}
		select {
		case s.ctlQ <- ctlFrame{websocket.PongMessage, []byte(data)}:
		default: // a pong is already pending; one answer is enough
		}
		return nil
	})
	s.conn.SetPongHandler(func(string) error {
		if !s.inMessage {
			s.extendReadDeadline(false)
		}
		return nil
	})
	s.conn.SetCloseHandler(func(code int, _ string) error {
		msg := websocket.FormatCloseMessage(code, "")
		if code == websocket.CloseNoStatusReceived {
			msg = websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
		}
		select {
		case s.ctlQ <- ctlFrame{websocket.CloseMessage, msg}:
		default:
		}
		return nil
	})
}

// extendReadDeadline gives the server PingInterval+PongTimeout to show it is
// alive. Only the reader calls it (directly or from gorilla's handlers).
//
// Reading the clock and moving the deadline cost more than reading a small
// message, so unless force is set the deadline moves only when bytes came
// from the network since it last moved (one socket read carries many
// messages; the bytes are the sign of life, not the messages), and then only
// when PongTimeout/8 has passed: the server always keeps at least 7/8 of
// PongTimeout to answer a ping.
func (s *session) extendReadDeadline(force bool) {
	o := s.env.opts
	if o.PingInterval <= 0 || (!force && s.bc.reads == s.readsSeen) {
		return
	}
	s.readsSeen = s.bc.reads
	now := time.Now()
	if !force && now.Sub(s.extended) < o.PongTimeout/8 {
		return
	}
	s.extended = now
	_ = s.conn.SetReadDeadline(now.Add(o.PingInterval + o.PongTimeout))
}

var errStopped = errors.New("appws: session stopped")

// readLoop reads messages and hands them on until the connection fails or
// the session stops. It pauses while the read-ahead is full (ReadAhead
// Messages or ReadAheadBytes wait for delivery): then the socket is not read
// and TCP pushes back on the server.
func (s *session) readLoop() error {
	c := &s.env
	for {
		paused := false
		if s.full {
			var err error
			if paused, err = s.waitRoom(); err != nil {
				return err
			}
		}
		// The deadline starts when reading (re)starts: a consumer holding a
		// Message never makes us give up on the server.
		s.extendReadDeadline(paused)
		typ, r, err := s.conn.NextReader()
		if err != nil {
			return s.readError(err)
		}
		if typ != websocket.TextMessage {
			n, err := io.Copy(io.Discard, r)
			if err != nil {
				return s.readError(err)
			}
			s.noteActivity()
			c.stats.ignored.Add(1)
			c.log.Warn("appws: ignored a binary message", "session", s.id, "size", n)
			continue
		}
		s.inMessage = true
		s.scratch, err = s.readMessage(r, s.scratch[:0])
		s.inMessage = false
		if err != nil {
			return s.readError(err)
		}
		s.noteActivity()
		m, err := parseReceived(s.scratch)
		size := len(s.scratch)
		if cap(s.scratch) > 64<<10 {
			s.scratch = nil // don't keep a large buffer for an idle session
		}
		if err != nil {
			c.stats.ignored.Add(1)
			c.log.Warn("appws: ignored a message", "session", s.id, "size", size, "reason", err.Error())
			continue
		}
		c.stats.msgsIn.Add(1)
		c.stats.bytesIn.Add(uint64(size))
		m.Session = s.id
		if c.log.Enabled(context.Background(), slog.LevelDebug) {
			c.log.Debug("appws: received", "session", s.id, "mt", logText(m.MT), "api", logText(m.API), "src", logText(m.Src), "size", size)
		}
		if m.Src != "" && c.reqs.pending.Load() > 0 && c.reqs.deliver(m) {
			continue
		}
		limit, limitBytes := s.readAheadLimits()
		s.full = !c.em.pushMessage(m, limit, limitBytes)
	}
}

// noteActivity records that bytes came in, for the KeepAlive: it reads the
// clock only once per socket read, not per message.
func (s *session) noteActivity() {
	if r := s.bc.reads; r != s.activitySeen {
		s.activitySeen = r
		s.lastActivity.Store(time.Now().UnixNano())
	}
}

// readAheadLimits returns how many Messages and bytes may wait for
// delivery: wider while a Request waits, so that its reply is found behind
// held Messages.
func (s *session) readAheadLimits() (int, int) {
	o := s.env.opts
	if s.env.reqs.pending.Load() > 0 {
		return o.ReadAhead + o.RequestReadAhead, o.ReadAheadBytes + o.RequestReadAheadBytes
	}
	return o.ReadAhead, o.ReadAheadBytes
}

// waitRoom blocks while the read-ahead is full, and reports whether it did.
// A Request that starts meanwhile widens the limits. Requests whose message
// was written cannot get their reply while it is full, widened as it is for
// them: their replies are behind Messages only the consumer can take. While
// the consumer takes Messages, the read-ahead drains and they wait on; once
// it has taken none for a whole blockAfter, they fail (ErrReplyBlocked)
// rather than wait for ever.
func (s *session) waitRoom() (paused bool, err error) {
	c := &s.env
	var patience *time.Timer // runs while Requests wait behind the full read-ahead
	var mark uint64          // c.ra.takes when patience was (re)started
	defer func() {
		if patience != nil {
			patience.Stop()
		}
	}()
	for {
		if c.ra.hasRoom(s.readAheadLimits()) {
			s.full = false
			return paused, nil
		}
		paused = true
		var patienceC <-chan time.Time
		if c.reqs.pending.Load() > 0 {
			if patience == nil {
				mark = c.ra.taken()
				patience = time.NewTimer(s.blockAfter())
			}
			patienceC = patience.C
		}
		select {
		case <-c.ra.room:
		case <-c.reqs.wake:
		case <-patienceC:
			if t := c.ra.taken(); t == mark {
				c.reqs.block(s.id)
			} else {
				mark = t
			}
			patience.Reset(s.blockAfter())
		case <-s.stop:
			return paused, errStopped
		}
	}
}

// blockAfter is how long Requests wait behind a full read-ahead from which
// the consumer takes nothing: StallWarning, the time after which such a
// consumer counts as stalled, or its default when stall warnings are off.
func (s *session) blockAfter() time.Duration {
	if d := s.env.opts.StallWarning; d > 0 {
		return d
	}
	return DefaultStallWarning
}

// readAhead counts the received Messages that wait for delivery, in number
// and in bytes: the reading side's flow control. The emitter adds a
// Message it queues and settles one it hands out; the reader asks for room
// and, while there is none, waits on room, which is signalled once the
// read-ahead has drained to half its limits, so that it reads in bursts
// instead of being woken for every delivered Message.
//
// Its lock is the emitter's: the emitter counts every Message in and out
// while it holds that lock anyway, so the per-message accounting (add,
// take, reset: called with it held) takes no lock of its own; the reader's
// questions (hasRoom, taken) take it.
type readAhead struct {
	mu                 *sync.Mutex // the emitter's
	count, bytes       int
	takes              uint64 // Messages delivered so far: the consumer's progress
	waiting            bool
	lowCount, lowBytes int
	room               chan struct{} // cap 1
}

func newReadAhead(mu *sync.Mutex) *readAhead {
	return &readAhead{mu: mu, room: make(chan struct{}, 1)}
}

// add counts a queued Message of n bytes and reports whether another may
// be read within the limits, as hasRoom does. r.mu is held.
func (r *readAhead) add(n, limit, limitBytes int) bool {
	r.count++
	r.bytes += n
	return r.roomLocked(limit, limitBytes)
}

// take settles a delivered Message of n bytes. r.mu is held.
func (r *readAhead) take(n int) {
	r.takes++
	r.count--
	r.bytes -= n
	if r.waiting && r.count <= r.lowCount && r.bytes <= r.lowBytes {
		r.waiting = false
		signal(r.room)
	}
}

// taken returns how many Messages were delivered so far.
func (r *readAhead) taken() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.takes
}

// reset empties the account (the Messages were dropped) and releases a
// waiting reader. r.mu is held.
func (r *readAhead) reset() {
	r.count, r.bytes, r.waiting = 0, 0, false
	signal(r.room)
}

// hasRoom reports whether another Message may be read within the limits.
// If not, room is signalled once the read-ahead drained to half of them.
func (r *readAhead) hasRoom(limit, limitBytes int) bool {
	r.mu.Lock()
	room := r.roomLocked(limit, limitBytes)
	r.mu.Unlock()
	return room
}

// roomLocked is hasRoom with r.mu held.
func (r *readAhead) roomLocked(limit, limitBytes int) bool {
	if r.count < limit && r.bytes < limitBytes {
		r.waiting = false
		return true
	}
	r.waiting = true
	r.lowCount, r.lowBytes = limit/2, limitBytes/2
	return false
}

// readError turns a read failure into the session's end reason.
func (s *session) readError(err error) error {
	var ne net.Error
	if rl := readLimitError(err, s.env.opts.ReadLimit); rl != nil {
		return rl
	}
	switch {
	case errors.As(err, &ne) && ne.Timeout() && s.env.opts.PingInterval > 0:
		return ErrPingTimeout
	}
	return disconnectError(err)
}

// minProgress is how much of a message must arrive to count as a sign of
// life.
const minProgress = 1 << 10

// readMessage reads the rest of a message into buf. Within a message only
// payload moves the read deadline, and only in steps of minProgress bytes,
// not control frames: a server that sends empty continuation frames and
// pings for ever, or a few bytes now and then, keeps no session alive (it
// ends with ErrPingTimeout after PingInterval+PongTimeout without
// progress), while a big message that trickles in slowly is read to its end.
func (s *session) readMessage(r io.Reader, buf []byte) ([]byte, error) {
	progress := 0
	for reads := 0; ; reads++ {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
		if progress += n; progress >= minProgress && reads > 0 { // a message of one read pays nothing
			progress = 0
			s.extendReadDeadline(false)
		}
	}
}
