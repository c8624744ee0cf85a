package appws

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// A session is one logged-in websocket connection. It has two goroutines, as
// in gorilla's chat example: readLoop is the only reader and sets every read
// deadline; the writer (serve's own goroutine, so an idle client costs one
// goroutine less) owns every write (data, ping, pong, close); the write
// deadlines live in wireConn, below TLS. The supervisor runs serve.
type session struct {
	c      *Client
	id     uint64
	conn   *websocket.Conn
	bc     *bufConn
	key    string // session key: never logged
	domain string

	ctlQ chan ctlFrame
	stop chan struct{} // closed: the reader ends

	// rawFrames: bufConn carries the websocket frames themselves (ws://,
	// and wss:// where appws dialed TLS below it), so the writer frames
	// data messages on its own. Only for wss:// through an HTTP proxy does
	// bufConn sit below gorilla's TLS; then data messages go through
	// gorilla.
	rawFrames bool

	// The send queue: a slice rather than a channel of SendQueue items, so
	// an idle session holds no queue memory, and the writer takes everything
	// queued in one go. qcount and qbytes count what is accepted and not yet
	// written (queued, or in the writer's batch): they bound Send, and
	// writing frees them, never the consumer.
	qmu     sync.Mutex
	queue   []writeItem
	qcount  int
	qbytes  int
	qclosed bool          // the session ended: no more writeItems
	qroom   chan struct{} // closed when room is freed; nil while no sender waits
	qwake   chan struct{} // cap 1: something was queued

	// The writer's buffer, kept between batches (see trimBuffers).
	spare []writeItem
	sent  bool // sendQueued ran since the last trimBuffers

	scratch      []byte    // readLoop's buffer for incoming messages
	extended     time.Time // when readLoop last moved the read deadline
	readsSeen    uint64    // bc.reads then
	activitySeen uint64    // bc.reads when readLoop last noted activity
	full         bool      // the read-ahead was full after readLoop's last push
	inMessage    bool      // readLoop is inside a message: control frames keep no deadline

	// lastActivity is when a message last went out or bytes last came in
	// (UnixNano): the KeepAlive goes out after KeepAliveInterval of silence.
	lastActivity atomic.Int64
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
	s := &session{
		c:     c,
		id:    id,
		conn:  conn,
		bc:    bc,
		ctlQ:  make(chan ctlFrame, 4),
		stop:  make(chan struct{}),
		qwake: make(chan struct{}, 1),
	}
	s.lastActivity.Store(time.Now().UnixNano()) // the login was traffic
	return s
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
	o := &s.c.opts
	for {
		s.qmu.Lock()
		if s.qclosed {
			s.qmu.Unlock()
			return 0, errSessionGone
		}
		if s.qcount == 0 || (s.qcount < o.SendQueue && s.qbytes+len(data) <= o.SendQueueBytes) {
			var id uint64
			if req == nil {
				id = s.c.nextID.Add(1)
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

	if err != nil && !readEnded && !isTyped(err) {
		err = &ConnectionError{Op: "write", Err: err}
	}
	cause := err
	if cause == nil {
		cause = ErrClosed
	}
	s.closeQueue(cause)
	s.c.reqs.fail(s.id, cause)
	return err
}

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
// the session stops. It pauses while the read-ahead is full (ReadAhead
// Messages or ReadAheadBytes wait for delivery): then the socket is not read
// and TCP pushes back on the server.
func (s *session) readLoop() error {
	c := s.c
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
			c.log.Debug("appws: received", "session", s.id, "mt", m.MT, "api", m.API, "src", m.Src, "size", size)
		}
		if m.Src != "" && c.reqs.pending.Load() > 0 && c.deliverReply(m) {
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
	o := &s.c.opts
	if s.c.reqs.pending.Load() > 0 {
		return o.ReadAhead + o.RequestReadAhead, o.ReadAheadBytes + o.RequestReadAheadBytes
	}
	return o.ReadAhead, o.ReadAheadBytes
}

// waitRoom blocks while the read-ahead is full, and reports whether it did.
// A Request that starts meanwhile widens the limits.
func (s *session) waitRoom() (paused bool, err error) {
	c := s.c
	for {
		if c.em.hasRoom(s.readAheadLimits()) {
			s.full = false
			return paused, nil
		}
		paused = true
		select {
		case <-c.em.room:
		case <-c.reqs.wake:
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
			// Like innovaphone's clients: the KeepAlive goes out after
			// KeepAliveInterval without a message in either direction.
			s.trimBuffers()
			if idle := time.Since(time.Unix(0, s.lastActivity.Load())); idle < o.KeepAliveInterval {
				ka.Reset(o.KeepAliveInterval - idle)
				continue
			}
			s.bc.startBatch()
			s.writeText(keepAliveMsg)
			if err := s.bc.endBatch(); err != nil {
				return err, false
			}
			s.lastActivity.Store(time.Now().UnixNano())
			c := s.c
			c.stats.msgsOut.Add(1)
			c.stats.bytesOut.Add(uint64(len(keepAliveMsg)))
			ka.Reset(o.KeepAliveInterval)
		case <-s.qwake:
			if err := s.sendQueued(); err != nil {
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
	size := 0
	for done := 0; done < len(batch); {
		for _, it := range batch[done:] {
			if debug {
				s.logSent(it)
			}
			size += len(it.data)
			s.writeText(it.data)
		}
		done = len(batch)
		if done < maxBatch {
			batch = s.takeQueued(batch) // coalesce what queued up meanwhile
		}
	}
	err := s.bc.endBatch()
	s.lastActivity.Store(time.Now().UnixNano())
	s.written(len(batch), size)
	if err == nil {
		c.stats.msgsOut.Add(uint64(len(batch)))
		c.stats.bytesOut.Add(uint64(size))
	}
	s.resolve(batch, err)
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

// resolve reports what became of items: nil error when they were written.
// SendResults go to the emitter as runs of consecutive ids, Requests learn
// it themselves.
func (s *session) resolve(items []writeItem, err error) {
	c := s.c
	var rerr error
	if err != nil {
		rerr = sendFailed(err)
	}
	var first, last uint64
	flush := func() {
		if first != 0 {
			c.em.pushResults(first, last, rerr)
			n := last - first + 1
			if rerr == nil {
				c.stats.sendsWritten.Add(n)
			} else {
				c.stats.sendsFailed.Add(n)
			}
			first = 0
		}
	}
	for _, it := range items {
		switch {
		case it.req != nil:
			it.req.sent(rerr)
		case first != 0 && it.id == last+1:
			last = it.id
		default:
			flush()
			first, last = it.id, it.id
		}
	}
	flush()
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

// closeQueue refuses further sends and resolves those still queued: the
// session ended (or was never served) before they could be written.
func (s *session) closeQueue(cause error) {
	s.qmu.Lock()
	s.qclosed = true
	q := s.queue
	s.queue = nil
	if s.qroom != nil {
		close(s.qroom)
		s.qroom = nil
	}
	s.qmu.Unlock()
	s.resolve(q, cause)
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
