package appws

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"math/bits"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// A session is one logged-in websocket connection. It has two goroutines, as
// in gorilla's chat example: readLoop is the only reader and sets every read
// deadline; the writer (serve's own goroutine, so an idle client costs one
// goroutine less) owns every write (data, ping, pong, close) and, through
// bufConn, every write deadline. The supervisor runs serve.
type session struct {
	c      *Client
	id     uint64
	conn   *websocket.Conn
	bc     *bufConn
	key    string // session key: never logged
	domain string

	ctlQ chan ctlFrame
	stop chan struct{} // closed: the reader ends

	// rawFrames: bufConn carries the websocket frames themselves (ws://),
	// so the writer frames data messages on its own. Under TLS (wss://)
	// bufConn sees TLS records, and data messages go through gorilla.
	rawFrames bool

	// The send queue: a slice rather than a channel of SendQueue items, so
	// an idle session holds no queue memory, and the writer takes everything
	// queued in one go. The send slots bound it.
	qmu     sync.Mutex
	queue   []writeItem
	qclosed bool          // the session ended: no more writeItems
	qwake   chan struct{} // cap 1: something was queued

	// The writer's buffers, kept between batches (see trimBuffers).
	spare   []writeItem
	results []SendResult
	sent    bool // sendQueued ran since the last trimBuffers

	scratch   []byte    // readLoop's buffer for incoming messages
	extended  time.Time // when readLoop last moved the read deadline
	readsSeen uint64    // bc.reads then
	queued    int       // Messages waiting after readLoop's last push
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
		c:     c,
		id:    id,
		conn:  conn,
		bc:    bc,
		ctlQ:  make(chan ctlFrame, 4),
		stop:  make(chan struct{}),
		qwake: make(chan struct{}, 1),
	}
}

// enqueue adds an accepted send; false when the session has ended. The
// caller holds a send slot, so the queue stays within SendQueue.
func (s *session) enqueue(it writeItem) bool {
	s.qmu.Lock()
	if s.qclosed {
		s.qmu.Unlock()
		return false
	}
	s.queue = append(s.queue, it)
	s.qmu.Unlock()
	signal(s.qwake)
	return true
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

// serve runs the session until it ends by itself (the returned error says
// why), until closing closes (a clean close: nil), or until authDone closes
// (ErrAuthenticatorClosed). When serve returns, both loops have ended, the
// connection is closed and every send accepted into the session is resolved.
func (s *session) serve(closing, authDone <-chan struct{}) error {
	s.installHandlers()
	readDone := make(chan error, 1)
	go func() { readDone <- s.readLoop() }()
	err, readEnded := s.writeLoop(closing, authDone, readDone)
	close(s.stop)
	s.bc.closeNow()
	if !readEnded {
		<-readDone
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
		s.extendReadDeadline(false)
		select {
		case s.ctlQ <- ctlFrame{websocket.PongMessage, []byte(data)}:
		default: // a pong is already pending; one answer is enough
		}
		return nil
	})
	s.conn.SetPongHandler(func(string) error {
		s.extendReadDeadline(false)
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
	o := &s.c.opts
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
// the session stops. It pauses while ReadAhead Messages wait for delivery:
// then the socket is not read and TCP pushes back on the server.
func (s *session) readLoop() error {
	c := s.c
	for {
		paused, err := s.waitRoom()
		if err != nil {
			return err
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
		s.queued = c.em.pushMessage(m)
	}
}

// waitRoom blocks while enough Messages wait for delivery, and reports
// whether it did. Pending Requests widen the window so that their replies
// are found behind held Messages.
func (s *session) waitRoom() (paused bool, err error) {
	c := s.c
	if s.queued < c.opts.ReadAhead {
		// Only the emitter took Messages since: still room, and Requests
		// only widen the window. No lock needed.
		return false, nil
	}
	for {
		limit := c.opts.ReadAhead
		if c.requestsPending() {
			limit += c.opts.RequestReadAhead
		}
		if c.em.room(limit) {
			return paused, nil
		}
		paused = true
		select {
		case <-c.em.msgRoom:
		case <-c.reqWake:
		case <-s.stop:
			return paused, errStopped
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

// maxBatch bounds how many queued sends one flush carries before their
// SendResults go out.
const maxBatch = 256

// writeLoop performs every write of the session until the reader ends
// (its error, true), a write fails (its error, false), closing closes (a
// clean close: nil, true) or authDone closes. Sends queued behind each other
// are written into one buffer and flushed together, then their SendResults
// are queued.
func (s *session) writeLoop(closing, authDone <-chan struct{}, readDone <-chan error) (error, bool) {
	o := &s.c.opts
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
	for {
		select {
		case err := <-readDone:
			s.writeControlFrames() // the answer to the server's close frame
			return err, true
		case <-closing:
			return s.closeCleanly(readDone)
		case <-authDone:
			return ErrAuthenticatorClosed, false
		case f := <-s.ctlQ:
			if err := s.conn.WriteControl(f.typ, f.data, time.Time{}); err != nil {
				return err, false
			}
		case <-pingC:
			s.trimBuffers()
			if err := s.conn.WriteControl(websocket.PingMessage, nil, time.Time{}); err != nil {
				return err, false
			}
		case <-kaC:
			s.trimBuffers()
			if time.Since(lastWrite) < o.KeepAliveInterval {
				continue
			}
			s.bc.startBatch()
			s.writeText(keepAliveMsg)
			if err := s.bc.endBatch(); err != nil {
				return err, false
			}
			lastWrite = time.Now()
		case <-s.qwake:
			err := s.sendQueued()
			lastWrite = time.Now()
			if err != nil {
				return err, false
			}
		}
	}
}

// closeCleanly writes what is queued and a close frame, and waits for the
// server to close too. CloseTimeout bounds all of it: then the connection is
// closed, which ends any write or read still blocked.
func (s *session) closeCleanly(readDone <-chan error) (error, bool) {
	t := time.AfterFunc(s.c.opts.CloseTimeout, s.bc.closeNow)
	defer t.Stop()
	s.writeControlFrames()
	if s.flushOnClose() == nil {
		msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
		_ = s.conn.WriteControl(websocket.CloseMessage, msg, time.Time{})
	}
	<-readDone
	return nil, true
}

// sendQueued writes what is queued (and what queues up meanwhile, up to
// maxBatch sends) into one buffer, flushes it and resolves every item: a
// SendResult, or the Request's own result.
func (s *session) sendQueued() error {
	c := s.c
	batch := s.takeQueued(nil)
	if len(batch) == 0 {
		return nil
	}
	debug := c.log.Enabled(context.Background(), slog.LevelDebug)
	s.bc.startBatch()
	for done := 0; done < len(batch); {
		for _, it := range batch[done:] {
			if debug {
				s.logSent(it)
			}
			if len(it.data) > 65535 {
				c.log.Warn("appws: sent a message over 65535 bytes; a PBX does not accept it", "session", s.id, "size", len(it.data))
			}
			s.writeText(it.data)
		}
		done = len(batch)
		if done < maxBatch {
			batch = s.takeQueued(batch) // coalesce what queued up meanwhile
		}
	}
	err := s.bc.endBatch()

	results := s.results[:0]
	for _, it := range batch {
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
	}
	if len(results) > 0 {
		c.em.pushResults(results...)
	}
	clear(batch)
	// Keep the buffers for the next batch; trimBuffers lets big ones go
	// once the session is idle.
	s.qmu.Lock()
	if s.spare == nil {
		s.spare = batch[:0]
	}
	s.qmu.Unlock()
	s.results = results[:0]
	s.sent = true
	return err
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
	if cap(s.results) > small {
		s.results = nil
	}
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

var keepAliveMsg = []byte(`{"mt":"KeepAlive"}`)

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
	s.qmu.Lock()
	q := s.queue
	s.queue = nil
	s.qmu.Unlock()
	for _, it := range q {
		if it.req != nil {
			it.req.sent(err)
			s.c.releaseSlot()
		} else {
			s.c.em.pushResults(SendResult{ID: it.id, Err: err})
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
// writes them in one go. Data frames do not go through gorilla at all: the
// writer frames and masks them straight into the batch (writeText), which
// saves gorilla's per-message allocations and a copy. Control frames still
// come from gorilla (WriteControl -> Write). A mutex keeps the rare writes
// gorilla makes from the reader goroutine (a close frame after a protocol
// error) apart from ours.
type bufConn struct {
	net.Conn
	timeout time.Duration
	hurried atomic.Int64 // a shorter timeout once Close was called (ns; 0: none)

	mu       sync.Mutex
	batching bool
	buf      []byte
	pooled   *[]byte // where buf came from
	err      error

	// The reader's alone:
	reads     uint64  // socket reads that returned bytes
	streaming bool    // the last socket read filled the buffer it was given
	rbuf      *[]byte // pooled read-ahead while rdata is not empty
	rdata     []byte  // read from the socket, not yet by gorilla
}

// maxBuffered is the batch size that triggers a flush.
const maxBuffered = 64 << 10

// closeFrame is the first byte of a final close frame.
const closeFrame = 0x80 | websocket.CloseMessage

func (b *bufConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return 0, b.err
	}
	if len(p) > 0 && p[0] == closeFrame {
		// After a close frame nothing may follow (gorilla's rule too): send
		// what is buffered and the close frame, then refuse the rest.
		if err := b.flushLocked(); err != nil {
			return 0, err
		}
		n, err := b.writeLocked(p)
		if err == nil {
			b.err = websocket.ErrCloseSent
		}
		return n, err
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
	b.grab()
	b.buf = append(b.buf, p...)
	return len(p), nil
}

// Read reads for gorilla, whose buffer is small (4 KiB by default) so that
// an idle connection holds little: a socket read per 4 KiB is the largest
// cost of receiving a stream of small messages. So while reads keep
// filling gorilla's buffer (the server is streaming), Read reads 64 KiB at a
// time into a pooled buffer and hands it out from there; once a read comes
// back short, it reads straight into gorilla's buffer again. Only the
// goroutine reading the connection calls it.
func (b *bufConn) Read(p []byte) (int, error) {
	if len(b.rdata) > 0 {
		n := copy(p, b.rdata)
		b.rdata = b.rdata[n:]
		if len(b.rdata) == 0 {
			bufPool.Put(b.rbuf)
			b.rbuf, b.rdata = nil, nil
		}
		return n, nil
	}
	if !b.streaming || len(p) >= maxBuffered {
		n, err := b.Conn.Read(p)
		if n > 0 {
			b.reads++
		}
		b.streaming = n == len(p) && err == nil
		return n, err
	}
	buf := bufPool.Get().(*[]byte)
	n, err := b.Conn.Read((*buf)[:maxBuffered])
	if n > 0 {
		b.reads++
	}
	b.streaming = n > len(p) && err == nil
	m := copy(p, (*buf)[:n])
	if m < n {
		b.rbuf, b.rdata = buf, (*buf)[m:n]
	} else {
		bufPool.Put(buf)
	}
	return m, err
}

// grab takes a batch buffer from the pool if there is none.
func (b *bufConn) grab() {
	if b.buf == nil {
		b.pooled = bufPool.Get().(*[]byte)
		b.buf = (*b.pooled)[:0]
	}
}

// writeText adds p to the batch as one text message.
func (s *session) writeText(p []byte) {
	if s.rawFrames {
		s.bc.writeText(p)
		return
	}
	if err := s.conn.WriteMessage(websocket.TextMessage, p); err != nil {
		s.bc.fail(err)
	}
}

// fail makes err the batch's error if it has none yet.
func (b *bufConn) fail(err error) {
	b.mu.Lock()
	if b.err == nil {
		b.err = err
	}
	b.mu.Unlock()
}

// writeText adds p to the batch as one masked text frame (RFC 6455 5.2).
// An error sticks and is returned by endBatch.
func (b *bufConn) writeText(p []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return
	}
	b.grab()
	var hdr [14]byte
	hdr[0] = 0x80 | websocket.TextMessage
	h := 2
	switch n := len(p); {
	case n < 126:
		hdr[1] = 0x80 | byte(n)
	case n < 1<<16:
		hdr[1] = 0x80 | 126
		binary.BigEndian.PutUint16(hdr[2:], uint16(n))
		h = 4
	default:
		hdr[1] = 0x80 | 127
		binary.BigEndian.PutUint64(hdr[2:], uint64(n))
		h = 10
	}
	// The masking key only has to be unpredictable to scripts in a browser
	// (RFC 6455 10.3); the runtime's ChaCha8 generator is that and cheap.
	key := rand.Uint32()
	binary.LittleEndian.PutUint32(hdr[h:], key)
	h += 4
	if len(b.buf)+h > maxBuffered && b.flushLocked() != nil {
		return
	}
	b.buf = append(b.buf, hdr[:h]...)
	for pos := 0; pos < len(p); {
		if len(b.buf) == maxBuffered && b.flushLocked() != nil {
			return
		}
		k := min(len(p)-pos, maxBuffered-len(b.buf))
		start := len(b.buf)
		b.buf = append(b.buf, p[pos:pos+k]...)
		mask(b.buf[start:], key, pos)
		pos += k
	}
}

// mask XORs b, which starts at offset pos of a frame's payload, with the
// frame's masking key (its bytes in little-endian order), 8 bytes at a time.
func mask(b []byte, key uint32, pos int) {
	k := bits.RotateLeft32(key, -8*(pos&3))
	k64 := uint64(k)<<32 | uint64(k)
	i := 0
	for ; i+8 <= len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], binary.LittleEndian.Uint64(b[i:])^k64)
	}
	for ; i < len(b); i++ {
		b[i] ^= byte(k >> (8 * (i & 3)))
	}
}

// SetWriteDeadline is ignored: bufConn sets its own deadline on every write.
func (b *bufConn) SetWriteDeadline(time.Time) error { return nil }

// SetDeadline sets only the read deadline, for the same reason.
func (b *bufConn) SetDeadline(t time.Time) error { return b.Conn.SetReadDeadline(t) }

func (b *bufConn) writeLocked(p []byte) (int, error) {
	timeout := b.timeout
	if h := time.Duration(b.hurried.Load()); h > 0 && h < timeout {
		timeout = h
	}
	if timeout > 0 {
		_ = b.Conn.SetWriteDeadline(time.Now().Add(timeout))
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

// hurry bounds every write, the one blocked now included, by d: Close may
// not wait WriteTimeout for a server that does not read.
func (b *bufConn) hurry(d time.Duration) {
	b.hurried.Store(int64(d))
	_ = b.Conn.SetWriteDeadline(time.Now().Add(d))
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
