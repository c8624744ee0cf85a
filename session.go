package appws

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// A session is one logged-in websocket connection. It has two goroutines, as
// in gorilla's chat example: readLoop is the only reader and sets every read
// deadline; writeLoop owns every write (data, ping, pong, close) and, through
// bufConn, every write deadline. The supervisor starts and ends them (serve).
type session struct {
	c      *Client
	id     uint64
	conn   *websocket.Conn
	bc     *bufConn
	key    string // session key: never logged
	domain string

	writeQ   chan writeItem
	ctlQ     chan ctlFrame
	closeReq chan struct{} // ask writeLoop to send a close frame and stop
	stop     chan struct{} // closed: both loops end

	qmu     sync.Mutex
	qclosed bool // the session ended: no more writeItems

	scratch []byte // readLoop's buffer for incoming messages
}

// writeItem is one accepted send.
type writeItem struct {
	id   uint64
	data []byte
	req  *request // non-nil for Request: its result goes there, not to Events
}

type ctlFrame struct {
	typ  int
	data []byte
}

func newSession(c *Client, id uint64, conn *websocket.Conn, bc *bufConn) *session {
	return &session{
		c:        c,
		id:       id,
		conn:     conn,
		bc:       bc,
		writeQ:   make(chan writeItem, c.opts.SendQueue),
		ctlQ:     make(chan ctlFrame, 4),
		closeReq: make(chan struct{}),
		stop:     make(chan struct{}),
	}
}

// enqueue adds an accepted send; false when the session has ended. The
// caller holds a send slot, so writeQ always has room.
func (s *session) enqueue(it writeItem) bool {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	if s.qclosed {
		return false
	}
	s.writeQ <- it
	return true
}

// serve runs the session until it ends by itself (the returned error says
// why), until closing closes (a clean close: nil), or until authDone closes
// (ErrAuthenticatorClosed). When serve returns, both loops have ended, the
// connection is closed and every send accepted into the session is resolved.
func (s *session) serve(closing, authDone <-chan struct{}) error {
	s.installHandlers()
	readDone := make(chan error, 1)
	writeDone := make(chan error, 1)
	go func() { readDone <- s.readLoop() }()
	go func() { writeDone <- s.writeLoop() }()

	var err error
	readEnded, writeEnded := false, false
	select {
	case err = <-readDone:
		readEnded = true
	case err = <-writeDone:
		writeEnded = true
	case <-closing:
		// A clean close: the writer sends a close frame and we give the
		// server a bounded time to answer it, then close regardless.
		close(s.closeReq)
		timer := time.NewTimer(s.c.opts.CloseTimeout)
		select {
		case <-readDone:
			readEnded = true
		case <-timer.C:
		}
		timer.Stop()
	case <-authDone:
		err = ErrAuthenticatorClosed
	}
	close(s.stop)
	s.bc.closeNow()
	if !readEnded {
		<-readDone
	}
	if !writeEnded {
		<-writeDone
	}

	s.qmu.Lock()
	s.qclosed = true
	s.qmu.Unlock()
	cause := err
	if cause == nil {
		cause = ErrClosed
	}
	s.failQueued(cause)
	s.c.failRequests(s.id, cause)
	return err
}

func (s *session) installHandlers() {
	s.conn.SetPingHandler(func(data string) error {
		s.extendReadDeadline()
		select {
		case s.ctlQ <- ctlFrame{websocket.PongMessage, []byte(data)}:
		default: // a pong is already pending; one answer is enough
		}
		return nil
	})
	s.conn.SetPongHandler(func(string) error {
		s.extendReadDeadline()
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
func (s *session) extendReadDeadline() {
	if o := &s.c.opts; o.PingInterval > 0 {
		_ = s.conn.SetReadDeadline(time.Now().Add(o.PingInterval + o.PongTimeout))
	}
}

var errStopped = errors.New("appws: session stopped")

// readLoop reads messages and hands them on until the connection fails or
// the session stops. It pauses while ReadAhead Messages wait for delivery:
// then the socket is not read and TCP pushes back on the server.
func (s *session) readLoop() error {
	c := s.c
	for {
		if err := s.waitRoom(); err != nil {
			return err
		}
		// The deadline starts when reading (re)starts: a consumer holding a
		// Message never makes us give up on the server.
		s.extendReadDeadline()
		typ, r, err := s.conn.NextReader()
		if err != nil {
			return s.readError(err)
		}
		if typ != websocket.TextMessage {
			n, err := io.Copy(io.Discard, r)
			if err != nil {
				return s.readError(err)
			}
			c.ignored.Add(1)
			c.log.Warn("appws: ignored a binary message", "session", s.id, "size", n)
			continue
		}
		s.scratch, err = readAll(r, s.scratch[:0])
		if err != nil {
			return s.readError(err)
		}
		raw := bytes.Clone(s.scratch)
		if cap(s.scratch) > 64<<10 {
			s.scratch = nil // don't keep a large buffer for an idle session
		}
		m, err := ParseMessage(raw)
		if err != nil {
			c.ignored.Add(1)
			c.log.Warn("appws: ignored a message", "session", s.id, "size", len(raw), "reason", err.Error())
			continue
		}
		m.Session = s.id
		if c.log.Enabled(context.Background(), slog.LevelDebug) {
			c.log.Debug("appws: received", "session", s.id, "mt", m.MT, "api", m.API, "src", m.Src, "size", len(raw))
		}
		if m.Src != "" && c.deliverReply(m) {
			continue
		}
		c.em.pushMessage(m)
	}
}

// waitRoom blocks while enough Messages wait for delivery. Pending Requests
// widen the window so that their replies are found behind held Messages.
func (s *session) waitRoom() error {
	c := s.c
	for {
		n, dropping := c.em.messages()
		limit := c.opts.ReadAhead
		if c.requestsPending() {
			limit += c.opts.RequestReadAhead
		}
		if dropping || n < limit {
			return nil
		}
		select {
		case <-c.em.msgRoom:
		case <-c.reqWake:
		case <-s.stop:
			return errStopped
		}
	}
}

// readError turns a read failure into the session's end reason.
func (s *session) readError(err error) error {
	var ne net.Error
	switch {
	case errors.Is(err, websocket.ErrReadLimit):
		return &ReadLimitError{Limit: s.c.opts.ReadLimit}
	case errors.As(err, &ne) && ne.Timeout() && s.c.opts.PingInterval > 0:
		return ErrPingTimeout
	}
	return err
}

func readAll(r io.Reader, buf []byte) ([]byte, error) {
	for {
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
	}
}

// maxBatch bounds how many queued sends one flush carries.
const maxBatch = 64

// writeLoop performs every write of the session. Sends queued behind each
// other are written into one buffer and flushed together, then their
// SendResults are queued.
func (s *session) writeLoop() error {
	c := s.c
	o := &c.opts
	var pingC, kaC <-chan time.Time
	if o.PingInterval > 0 {
		t := time.NewTicker(o.PingInterval)
		defer t.Stop()
		pingC = t.C
	}
	lastWrite := time.Now()
	if o.KeepAliveInterval > 0 {
		t := time.NewTicker(o.KeepAliveInterval)
		defer t.Stop()
		kaC = t.C
	}
	batch := make([]writeItem, 0, maxBatch)
	results := make([]SendResult, 0, maxBatch)
	for {
		select {
		case <-s.stop:
			s.writeControlFrames()
			return nil
		case <-s.closeReq:
			s.writeControlFrames()
			if err := s.flushOnClose(batch, results); err != nil {
				<-s.stop
				return err
			}
			msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
			_ = s.conn.WriteControl(websocket.CloseMessage, msg, time.Time{})
			<-s.stop
			return nil
		case f := <-s.ctlQ:
			if err := s.conn.WriteControl(f.typ, f.data, time.Time{}); err != nil {
				return err
			}
		case <-pingC:
			if err := s.conn.WriteControl(websocket.PingMessage, nil, time.Time{}); err != nil {
				return err
			}
		case <-kaC:
			if time.Since(lastWrite) < o.KeepAliveInterval {
				continue
			}
			if err := s.conn.WriteMessage(websocket.TextMessage, keepAliveMsg); err != nil {
				return err
			}
			lastWrite = time.Now()
		case it := <-s.writeQ:
			batch = append(batch[:0], it)
			err := s.sendQueued(batch, results)
			lastWrite = time.Now()
			if err != nil {
				return err
			}
		}
	}
}

// sendQueued writes batch, topped up with what else is queued, flushes it and
// resolves every item: a SendResult, or the Request's own result.
func (s *session) sendQueued(batch []writeItem, results []SendResult) error {
	c := s.c
more:
	for len(batch) < maxBatch {
		select {
		case it := <-s.writeQ:
			batch = append(batch, it)
		default:
			break more
		}
	}
	err := s.writeBatch(batch)
	results = results[:0]
	for i, it := range batch {
		var rerr error
		if err != nil {
			rerr = sendFailed(err)
		}
		if it.req != nil {
			it.req.sent(rerr)
			c.releaseSlot()
		} else {
			results = append(results, SendResult{ID: it.id, Err: rerr})
		}
		batch[i] = writeItem{}
	}
	if len(results) > 0 {
		c.em.pushResults(results...)
	}
	return err
}

// flushOnClose writes what is still queued before a clean close.
func (s *session) flushOnClose(batch []writeItem, results []SendResult) error {
	for {
		select {
		case it := <-s.writeQ:
			if err := s.sendQueued(append(batch[:0], it), results); err != nil {
				return err
			}
		default:
			return nil
		}
	}
}

var keepAliveMsg = []byte(`{"mt":"KeepAlive"}`)

func (s *session) writeBatch(batch []writeItem) error {
	debug := s.c.log.Enabled(context.Background(), slog.LevelDebug)
	s.bc.startBatch()
	for _, it := range batch {
		if err := s.conn.WriteMessage(websocket.TextMessage, it.data); err != nil {
			s.bc.endBatch()
			return err
		}
		if len(it.data) > 65535 {
			s.c.log.Warn("appws: sent a message over 65535 bytes; a PBX does not accept it", "session", s.id, "size", len(it.data))
		}
		if debug {
			s.logSent(it)
		}
	}
	return s.bc.endBatch()
}

func (s *session) logSent(it writeItem) {
	var env envelope
	attrs := []any{"session", s.id, "id", it.id, "size", len(it.data)}
	if env.scan(it.data) == nil {
		mt, api, src := env.strings(it.data)
		attrs = append(attrs, "mt", mt, "api", api, "src", src)
	}
	s.c.log.Debug("appws: sent", attrs...)
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

// failQueued resolves the sends still queued when the session ended.
func (s *session) failQueued(cause error) {
	err := sendFailed(cause)
	for {
		select {
		case it := <-s.writeQ:
			if it.req != nil {
				it.req.sent(err)
				s.c.releaseSlot()
			} else {
				s.c.em.pushResults(SendResult{ID: it.id, Err: err})
			}
		default:
			return
		}
	}
}

// sendError is the SendResult error of a message that was not written.
type sendError struct{ cause error }

func (e *sendError) Error() string {
	return ErrSessionEnded.Error() + ": " + e.cause.Error()
}

func (e *sendError) Is(target error) bool { return target == ErrSessionEnded }
func (e *sendError) Unwrap() error        { return e.cause }

func sendFailed(cause error) error {
	if _, ok := cause.(*sendError); ok {
		return cause
	}
	return &sendError{cause: cause}
}

// bufConn sits between gorilla's Conn and the network connection. It owns
// every write deadline (each write gets WriteTimeout; gorilla's own deadline
// calls are ignored), and while the writer batches it collects frames and
// writes them in one go. A mutex keeps the rare writes gorilla makes from the
// reader goroutine (a close frame after a protocol error) apart from ours.
type bufConn struct {
	net.Conn
	timeout time.Duration

	mu       sync.Mutex
	batching bool
	buf      []byte
	pooled   *[]byte // where buf came from
	err      error
}

// maxBuffered is the batch size that triggers a flush.
const maxBuffered = 64 << 10

func (b *bufConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return 0, b.err
	}
	if !b.batching {
		return b.writeLocked(p)
	}
	if len(b.buf)+len(p) > maxBuffered {
		if err := b.flushLocked(); err != nil {
			return 0, err
		}
		if len(p) > maxBuffered {
			return b.writeLocked(p)
		}
	}
	if b.buf == nil {
		b.pooled = bufPool.Get().(*[]byte)
		b.buf = (*b.pooled)[:0]
	}
	b.buf = append(b.buf, p...)
	return len(p), nil
}

// SetWriteDeadline is ignored: bufConn sets its own deadline on every write.
func (b *bufConn) SetWriteDeadline(time.Time) error { return nil }

// SetDeadline sets only the read deadline, for the same reason.
func (b *bufConn) SetDeadline(t time.Time) error { return b.Conn.SetReadDeadline(t) }

func (b *bufConn) writeLocked(p []byte) (int, error) {
	if b.timeout > 0 {
		_ = b.Conn.SetWriteDeadline(time.Now().Add(b.timeout))
	}
	n, err := b.Conn.Write(p)
	if err != nil {
		b.err = err
	}
	return n, err
}

func (b *bufConn) flushLocked() error {
	if len(b.buf) == 0 {
		return nil
	}
	_, err := b.writeLocked(b.buf)
	b.buf = b.buf[:0]
	return err
}

func (b *bufConn) startBatch() {
	b.mu.Lock()
	b.batching = true
	b.mu.Unlock()
}

// endBatch flushes the batch and returns the buffer to the pool.
func (b *bufConn) endBatch() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.batching = false
	err := b.err
	if err == nil {
		err = b.flushLocked()
	}
	if b.pooled != nil {
		*b.pooled = b.buf[:0]
		bufPool.Put(b.pooled)
		b.pooled, b.buf = nil, nil
	}
	return err
}

// closeNow closes the network connection at once, ending every blocked read
// and write.
func (b *bufConn) closeNow() { _ = b.Conn.Close() }

var bufPool = sync.Pool{New: func() any {
	b := make([]byte, 0, maxBuffered)
	return &b
}}

// writeBufferPool lends gorilla its per-message write buffer, so an idle
// connection holds none.
type writeBufferPool struct{ p sync.Pool }

func (w *writeBufferPool) Get() any  { return w.p.Get() }
func (w *writeBufferPool) Put(x any) { w.p.Put(x) }

var gorillaWritePool = &writeBufferPool{}
