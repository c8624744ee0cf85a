package appwstest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/wire"
	"github.com/gorilla/websocket"
)

// Session is one websocket connection to the server. The server hands out
// sessions once they logged in (Server.NextSession, Server.Sessions); a
// Session's methods may be called from any goroutine.
type Session struct {
	srv  *Server
	id   uint64
	ws   *websocket.Conn // used for reading only
	conn net.Conn        // what the writer writes to (TLS or plain)
	raw  *gateConn       // the socket below, for Stall, Drop and deadlines
	log  *slog.Logger

	// Writer state, guarded by wmu (see write.go).
	wmu          sync.Mutex
	wq           []*writeReq
	wsig         chan struct{}
	pong         []byte
	pongQueued   bool
	pings        [][]byte // pings to send (Session.Ping)
	closeQ       *closeReq
	closeQueued  bool
	closeSent    bool
	writerDead   bool
	closeWritten chan struct{} // closed once the close frame write ended
	kill         chan struct{} // closed by teardown: writer must end
	writerDone   chan struct{}
	done         chan struct{}

	noPongs atomic.Bool

	// Login state owned by the reading goroutine.
	challenge    string
	hasChallenge bool

	mu       sync.Mutex // guards the fields below
	loggedIn bool
	login    LoginRecord
	key      string
	received []appws.Message
	recvSig  chan struct{} // closed and replaced whenever a message is recorded
	nrecv    int           // messages recorded, also those RecordLimit let go
	pingWait []*pingWaiter // Ping calls waiting for their pong
}

// pingWaiter is a Ping call waiting for a pong with its data.
type pingWaiter struct {
	data string
	pong chan struct{} // closed when the pong came
}

func newSession(srv *Server, id uint64, ws *websocket.Conn, raw *gateConn) *Session {
	ss := &Session{
		srv:          srv,
		id:           id,
		ws:           ws,
		conn:         ws.NetConn(),
		raw:          raw,
		log:          srv.log.With("session", id),
		wsig:         make(chan struct{}, 1),
		closeWritten: make(chan struct{}),
		kill:         make(chan struct{}),
		writerDone:   make(chan struct{}),
		done:         make(chan struct{}),
		recvSig:      make(chan struct{}),
	}
	ws.SetPingHandler(func(data string) error {
		if ss.noPongs.Load() {
			ss.log.Debug("appwstest: ping not answered (StopPongs)")
			return nil
		}
		ss.queuePong([]byte(data))
		return nil
	})
	ws.SetPongHandler(func(data string) error {
		ss.mu.Lock()
		ss.pingWait = slices.DeleteFunc(ss.pingWait, func(w *pingWaiter) bool {
			if w.data != data {
				return false
			}
			close(w.pong)
			return true
		})
		ss.mu.Unlock()
		return nil
	})
	ws.SetCloseHandler(func(code int, text string) error {
		ss.log.Debug("appwstest: close frame received", "code", code, "reason", text)
		if code == websocket.CloseNoStatusReceived {
			code = 0
		}
		// Answer the closing handshake unless we started it.
		ss.queueClose(code, "")
		return nil
	})
	return ss
}

// serve runs the connection: the writer goroutine and, on this goroutine,
// the read loop. When reading ends it tears the connection down.
func (ss *Session) serve() {
	defer ss.srv.wg.Done()
	go ss.writeLoop()
	ss.readLoop()

	ss.wmu.Lock()
	closing := ss.closeQueued
	ss.wmu.Unlock()
	if closing {
		// Let the close frame (ours, or the answer to the peer's) go out.
		t := time.NewTimer(closeWriteTimeout)
		select {
		case <-ss.closeWritten:
		case <-ss.writerDone:
		case <-t.C:
		}
		t.Stop()
	}
	ss.raw.Close()
	close(ss.kill)
	<-ss.writerDone
	ss.srv.endSession(ss)
	close(ss.done)
}

// readLoop reads messages until the connection fails or the closing
// handshake ends. Reactions to bad input:
//   - binary message: close 1003 (unsupported data);
//   - message over Config.ReadLimit: close 1009 (message too big);
//   - text that is not valid UTF-8: close 1007 (invalid payload data);
//   - not a JSON object, or no string "mt": ignored and logged;
//   - websocket protocol errors: gorilla/websocket closes with 1002.
func (ss *Session) readLoop() {
	limit := ss.srv.readLimit
	for {
		op, r, err := ss.ws.NextReader()
		if err != nil {
			ss.log.Debug("appwstest: read ended", "err", err)
			return
		}
		if ss.closing() {
			// During the closing handshake data is discarded.
			if _, err := io.Copy(io.Discard, r); err != nil {
				return
			}
			continue
		}
		if op == websocket.BinaryMessage {
			ss.log.Info("appwstest: binary message from client: closing with 1003")
			ss.Close(websocket.CloseUnsupportedData, "binary messages are not supported")
			continue
		}
		data, err := io.ReadAll(io.LimitReader(r, limit+1))
		if err != nil {
			ss.log.Debug("appwstest: read ended", "err", err)
			return
		}
		if int64(len(data)) > limit {
			ss.log.Info("appwstest: message over the read limit: closing with 1009", "limit", limit)
			ss.Close(websocket.CloseMessageTooBig, "message too big")
			continue
		}
		if !utf8.Valid(data) {
			ss.log.Info("appwstest: text message is not UTF-8: closing with 1007")
			ss.Close(websocket.CloseInvalidFramePayloadData, "invalid UTF-8")
			continue
		}
		ss.handle(data)
	}
}

func (ss *Session) closing() bool {
	ss.wmu.Lock()
	defer ss.wmu.Unlock()
	return ss.closeQueued
}

// handle dispatches one received message.
func (ss *Session) handle(data []byte) {
	msg, err := wire.ParseMessage(data)
	if err != nil {
		ss.log.Info("appwstest: ignored message that is not a JSON object with a string mt", "err", err, "len", len(data))
		return
	}
	ss.mu.Lock()
	loggedIn := ss.loggedIn
	ss.mu.Unlock()
	if !loggedIn {
		switch {
		case msg.API == "" && msg.MT == "AppChallenge":
			ss.sendChallenge()
		case msg.API == "" && msg.MT == "AppLogin":
			ss.appLogin(msg)
		default:
			ss.log.Info("appwstest: ignored message before login", "mt", msg.MT, "api", msg.API)
		}
		return
	}
	ss.record(msg)
	switch {
	case msg.API == "" && msg.MT == "KeepAlive":
		if ss.srv.cfg.ReplyKeepAlive {
			ss.sendLogged(map[string]string{"mt": "KeepAliveResult"})
		}
	case msg.API == "" && msg.MT == "AppChallenge":
		ss.sendChallenge()
	case msg.API == "" && msg.MT == "AppLogin":
		ss.appLogin(msg)
	case msg.API == servicesAPI && ss.srv.cfg.Services != nil && (msg.MT == "GetServiceLogin" || msg.MT == "SubscribeServices"):
		ss.services(msg)
	case ss.srv.cfg.Handler != nil:
		ss.srv.cfg.Handler(ss, msg)
	default:
		Echo(ss, msg)
	}
}

// Echo is the default Handler: it answers msg with {"mt":mt+"Result",
// "api":api,"src":src,"echo":<msg>} (api and src only when msg had them).
// Handlers of their own can call it for the messages they don't handle.
//
// Echo answers every message, which no real server does: a PBX or app
// service ignores messages it does not know, so against it a Request for
// such a message gets no reply and waits until its ctx ends. Silent is the
// Handler for that behaviour.
func Echo(ss *Session, msg appws.Message) {
	reply := struct {
		MT   string          `json:"mt"`
		API  string          `json:"api,omitempty"`
		Src  string          `json:"src,omitempty"`
		Echo json.RawMessage `json:"echo"`
	}{msg.MT + "Result", msg.API, msg.Src, msg.Raw}
	ss.sendLogged(reply)
}

// Silent is a Handler that answers nothing, as a PBX or app service does
// with messages it does not know. The messages are still recorded
// (Session.Received, Session.WaitReceived), so a test can wait for them
// and answer from the test itself with Session.Send.
func Silent(*Session, appws.Message) {}

// record appends a message to the session's record.
func (ss *Session) record(msg appws.Message) {
	msg.Raw = bytes.Clone(msg.Raw)
	msg.Session = ss.id
	ss.mu.Lock()
	ss.received = append(ss.received, msg)
	ss.nrecv++
	if limit := ss.srv.recordMax; limit > 0 && len(ss.received) >= 2*limit {
		// Keep the newest limit; copying only every limit messages keeps
		// recording cheap.
		n := copy(ss.received, ss.received[len(ss.received)-limit:])
		clear(ss.received[n:])
		ss.received = ss.received[:n]
	}
	close(ss.recvSig)
	ss.recvSig = make(chan struct{})
	ss.mu.Unlock()
}

// sendLogged sends a reply of the server itself; a failure only means the
// connection is going away, so it is logged.
func (ss *Session) sendLogged(v any) {
	if err := ss.Send(v); err != nil {
		ss.log.Debug("appwstest: reply not sent", "err", err)
	}
}

// marshal encodes v as compact JSON without HTML escaping; json.RawMessage
// and []byte are taken as they are.
func marshal(v any) ([]byte, error) {
	switch m := v.(type) {
	case json.RawMessage:
		return m, nil
	case []byte:
		return m, nil
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("appwstest: encode message: %w", err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// ID returns the session's connection number, unique within its server:
// websocket upgrades are numbered from 1 in the order they were accepted,
// before the upgrade response is sent (a failed upgrade leaves a gap). It
// is also the Session field of the messages in Received.
//
// It counts upgrades, not logins, so it is not the appws client's session
// number (appws.ConnectComplete.Session), which counts that client's
// successful logins: the two differ as soon as a connection fails before
// its login, another client connects, or the server refuses a login. Tell a
// client's sessions apart by the order of NextSession, or by what they
// received.
func (ss *Session) ID() uint64 { return ss.id }

// Login returns the AppLogin that logged this session in.
func (ss *Session) Login() LoginRecord {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.login.clone()
}

// SessionKey returns the session key of this session's login (PROTOCOL.md
// 3.2), computed from the challenge and the password that matched.
func (ss *Session) SessionKey() string {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.key
}

// Send sends msg as one text message: a json.RawMessage or []byte as is
// (no validation), anything else JSON-encoded. A message over
// Config.MaxFrameSize goes out in several frames. Send returns once the
// message was written to the socket, or with an error when the connection
// ended or is closing.
func (ss *Session) Send(msg any) error {
	b, err := marshal(msg)
	if err != nil {
		return err
	}
	return ss.enqueue(ss.srv.message(opText, b)...)
}

// SendText sends text as one text message, unchecked: it need not be JSON.
// It is fragmented as Send's messages are.
func (ss *Session) SendText(text string) error {
	return ss.enqueue(ss.srv.message(opText, []byte(text))...)
}

// SendBinary sends b as one binary message, which the AppWebsocket protocol
// does not use. It is fragmented as Send's messages are.
func (ss *Session) SendBinary(b []byte) error {
	return ss.enqueue(ss.srv.message(opBinary, b)...)
}

// SendFragmented sends text as one text message split into parts frames of
// nearly equal size (a text frame and continuation frames). parts is
// clamped to 1..len(text).
func (ss *Session) SendFragmented(text string, parts int) error {
	parts = max(1, min(parts, len(text)))
	frames := make([][]byte, 0, parts)
	rest := []byte(text)
	for i := range parts {
		n := len(rest) / (parts - i)
		op := byte(opContinuation)
		if i == 0 {
			op = opText
		}
		frames = append(frames, frame(i == parts-1, op, rest[:n]))
		rest = rest[n:]
	}
	return ss.enqueue(frames...)
}

// oversizedPrefix and oversizedSuffix frame the padding of SendOversized.
const (
	oversizedPrefix = `{"mt":"Oversized","pad":"`
	oversizedSuffix = `"}`
)

// SendOversized sends a text message of exactly n bytes in a single frame,
// whatever Config.MaxFrameSize says: the valid JSON object
// {"mt":"Oversized","pad":"xxx..."}. n must be at least 27, the size of
// that object with empty padding.
func (ss *Session) SendOversized(n int) error {
	minLen := len(oversizedPrefix) + len(oversizedSuffix)
	if n < minLen {
		return fmt.Errorf("appwstest: SendOversized(%d): the smallest message is %d bytes", n, minLen)
	}
	b := make([]byte, 0, n)
	b = append(b, oversizedPrefix...)
	b = append(b, strings.Repeat("x", n-minLen)...)
	b = append(b, oversizedSuffix...)
	return ss.enqueue(frame(true, opText, b))
}

// SendFrameHeader sends the header of a final text frame announcing length
// payload bytes and then nothing: a hostile peer. Anything sent afterwards
// is read by the client as that frame's payload.
func (ss *Session) SendFrameHeader(length uint64) error {
	return ss.enqueue(frameHeader(true, opText, length))
}

// Burst sends n messages {"mt":"Burst","n":i,"pad":"..."} (i from 0), each
// padded to about size bytes (and fragmented as Send's messages are), encoded before the first is written and then
// written back to back as fast as the socket takes them. It returns when all
// were written, or with an error when the connection ended or is closing.
// Pings are still answered between the messages.
func (ss *Session) Burst(n int, size int) error {
	frames := make([][]byte, 0, n)
	for i := range n {
		head := fmt.Sprintf(`{"mt":"Burst","n":%d,"pad":"`, i)
		pad := max(0, size-len(head)-2)
		b := make([]byte, 0, len(head)+pad+2)
		b = append(b, head...)
		b = append(b, strings.Repeat("x", pad)...)
		b = append(b, `"}`...)
		frames = append(frames, ss.srv.message(opText, b)...)
	}
	return ss.enqueue(frames...)
}

// Close starts the closing handshake: it sends a close frame with code and
// reason (code 0: a close frame without a status), waits for the peer's
// close frame for up to one second, then closes the socket. Close returns
// once the close frame was written (or after one second, dropping the
// connection if it could not be written); Done reports the end. Messages
// received after the close frame are discarded. Calling Close again, or on
// a connection that is closing, does nothing.
func (ss *Session) Close(code int, reason string) {
	done := ss.queueClose(code, reason)
	if done == nil {
		return
	}
	t := time.NewTimer(closeWriteTimeout)
	defer t.Stop()
	select {
	case err := <-done:
		if err != nil {
			ss.log.Debug("appwstest: close frame not written", "err", err)
			ss.Drop()
		}
	case <-ss.writerDone:
	case <-t.C:
		ss.log.Debug("appwstest: close frame not written in time: dropping")
		ss.Drop()
	}
}

// Drop closes the socket at once, without a close frame: to the client it
// looks like a crashed server or a broken network.
func (ss *Session) Drop() {
	ss.raw.Close()
}

// Stall stops reading from the socket: the server's receive buffer and then
// the client's send buffer fill up, so the client's writes block. Pings are
// not answered while stalled. Messages already read before Stall may still
// be handled. Resume undoes it; Close resumes reading for the handshake.
func (ss *Session) Stall() { ss.raw.stall() }

// Resume undoes Stall.
func (ss *Session) Resume() { ss.raw.resume() }

// StopPongs makes the session ignore websocket pings from now on, as a
// half-open connection would.
func (ss *Session) StopPongs() { ss.noPongs.Store(true) }

// Ping sends a websocket ping with data (at most 125 bytes) and returns
// once a pong with the same data came back: the client answered. It fails
// when ctx ends first, or with ErrSessionClosed when the connection ended
// or is closing. Pongs are seen only while the session reads, so a pong
// to a stalled session (Stall) is noticed after Resume. Concurrent Pings
// should use different data; a pong ends every Ping waiting for its data.
// appwstest never pings on its own, as innovaphone's servers document no
// pings; Ping is how a test checks a client's pong path.
func (ss *Session) Ping(ctx context.Context, data []byte) error {
	if len(data) > 125 {
		return fmt.Errorf("appwstest: Ping data of %d bytes: a control frame carries at most 125", len(data))
	}
	w := &pingWaiter{data: string(data), pong: make(chan struct{})}
	ss.mu.Lock()
	ss.pingWait = append(ss.pingWait, w)
	ss.mu.Unlock()
	forget := func() {
		ss.mu.Lock()
		ss.pingWait = slices.DeleteFunc(ss.pingWait, func(x *pingWaiter) bool { return x == w })
		ss.mu.Unlock()
	}
	if !ss.queuePing(bytes.Clone(data)) {
		forget()
		return ErrSessionClosed
	}
	var err error
	select {
	case <-w.pong:
		return nil
	case <-ss.done:
		err = fmt.Errorf("appwstest: session %d ended before the pong: %w", ss.id, ErrSessionClosed)
	case <-ctx.Done():
		err = fmt.Errorf("appwstest: session %d: waiting for a pong: %w", ss.id, ctx.Err())
	}
	forget()
	select {
	case <-w.pong: // it came all the same
		return nil
	default:
		return err
	}
}

// Received returns every message the session received after login, in order
// (copies), including KeepAlive and Services requests; with
// Config.RecordLimit, only the newest RecordLimit of them.
func (ss *Session) Received() []appws.Message {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	kept := ss.received
	if limit := ss.srv.recordMax; limit > 0 && len(kept) > limit {
		kept = kept[len(kept)-limit:]
	}
	out := make([]appws.Message, len(kept))
	for i, m := range kept {
		m.Raw = bytes.Clone(m.Raw)
		out[i] = m
	}
	return out
}

// WaitReceived waits until the session received at least n messages after
// login and returns them all (as Received). It fails when ctx ends first or
// the connection ended with fewer.
func (ss *Session) WaitReceived(ctx context.Context, n int) ([]appws.Message, error) {
	for {
		ss.mu.Lock()
		have, sig := ss.nrecv, ss.recvSig
		ss.mu.Unlock()
		if have >= n {
			return ss.Received(), nil
		}
		select {
		case <-sig:
		case <-ss.done:
			ss.mu.Lock()
			have = ss.nrecv
			ss.mu.Unlock()
			if have >= n {
				return ss.Received(), nil
			}
			return ss.Received(), fmt.Errorf("appwstest: session %d ended after %d of %d messages: %w", ss.id, have, n, ErrSessionClosed)
		case <-ctx.Done():
			return ss.Received(), fmt.Errorf("appwstest: session %d: waiting for %d messages, have %d: %w", ss.id, n, have, ctx.Err())
		}
	}
}

// Done returns a channel that is closed when the connection has ended and
// the session's goroutines are gone.
func (ss *Session) Done() <-chan struct{} { return ss.done }
