package appwstest_test

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/appwebsocket/appws/appwstest"
	"github.com/gorilla/websocket"
)

func TestDrop(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{})
	c, ss := loggedIn(t, srv)
	ss.Drop()
	err := c.readErr()
	var ce *websocket.CloseError
	if errors.As(err, &ce) && ce.Code != websocket.CloseAbnormalClosure {
		t.Fatalf("Drop sent a close frame: %v", err)
	}
	<-ss.Done()
	if err := ss.Send(map[string]string{"mt": "X"}); !errors.Is(err, appwstest.ErrSessionClosed) {
		t.Fatalf("Send after Drop: %v", err)
	}
}

func TestDropAll(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{})
	a, sa := loggedIn(t, srv)
	b := dial(t, srv)
	srv.DropAll()
	for _, c := range []*client{a, b} {
		if err := c.readErr(); websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway) {
			t.Fatalf("DropAll sent a close frame: %v", err)
		}
	}
	<-sa.Done()
	// The server still accepts connections.
	dial(t, srv).login(testApp, testPassword)
}

func TestSessionClose(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{})
	c, ss := loggedIn(t, srv)
	ss.Close(4001, "go away")
	if ce := c.expectClose(4001); ce.Text != "go away" {
		t.Fatalf("close reason %q", ce.Text)
	}
	select {
	case <-ss.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("session did not end after Close")
	}
	ss.Close(4002, "again") // no effect, no panic
}

func TestRefuseUpgrades(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{})
	srv.RefuseUpgrades(2, http.StatusServiceUnavailable)
	for range 2 {
		_, resp, err := dialer(srv, nil).Dial(srv.URL, nil)
		if !errors.Is(err, websocket.ErrBadHandshake) || resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("refused upgrade: %v, %v", resp, err)
		}
		resp.Body.Close()
	}
	dial(t, srv).login(testApp, testPassword)

	srv.RefuseUpgrades(1, http.StatusUnauthorized)
	_, resp, err := dialer(srv, nil).Dial(srv.URL, nil)
	if err == nil || resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("refused upgrade: %v, %v", resp, err)
	}
	resp.Body.Close()
	if srv.Connections() != 1 {
		t.Fatalf("Connections() = %d", srv.Connections())
	}
}

func TestSendText(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{})
	c, ss := loggedIn(t, srv)
	if err := ss.SendText("not json {"); err != nil {
		t.Fatal(err)
	}
	if got := string(c.readRaw()); got != "not json {" {
		t.Fatalf("got %q", got)
	}
}

func TestSendBinary(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{})
	c, ss := loggedIn(t, srv)
	if err := ss.SendBinary([]byte{0, 1, 2}); err != nil {
		t.Fatal(err)
	}
	op, b, err := c.ws.ReadMessage()
	if err != nil || op != websocket.BinaryMessage || string(b) != "\x00\x01\x02" {
		t.Fatalf("got %d %q %v", op, b, err)
	}
}

func TestSendOversized(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{})
	c, ss := loggedIn(t, srv)
	if err := ss.SendOversized(10); err == nil {
		t.Fatal("SendOversized below the minimum size succeeded")
	}
	if err := ss.SendOversized(100_000); err != nil {
		t.Fatal(err)
	}
	b := c.readRaw()
	var m struct{ MT, Pad string }
	if len(b) != 100_000 || json.Unmarshal(b, &m) != nil || m.MT != "Oversized" {
		t.Fatalf("got %d bytes: %.40s", len(b), b)
	}
	// A client with a smaller limit refuses it.
	if err := ss.SendOversized(70_000); err != nil {
		t.Fatal(err)
	}
	c.ws.SetReadLimit(65535)
	if err := c.readErr(); !errors.Is(err, websocket.ErrReadLimit) {
		t.Fatalf("oversized message with a read limit: %v", err)
	}
}

// frames parses the server's (unmasked) frames after the HTTP response in a
// recorded stream: opcode, FIN and payload of each.
type wireFrame struct {
	op      byte
	fin     bool
	payload string
}

func parseFrames(t *testing.T, stream []byte) []wireFrame {
	t.Helper()
	i := strings.Index(string(stream), "\r\n\r\n")
	if i < 0 {
		t.Fatal("no HTTP response in the stream")
	}
	b := stream[i+4:]
	var out []wireFrame
	for len(b) >= 2 {
		f := wireFrame{op: b[0] & 0x0f, fin: b[0]&0x80 != 0}
		n, h := uint64(b[1]&0x7f), 2
		switch n {
		case 126:
			n, h = uint64(binary.BigEndian.Uint16(b[2:])), 4
		case 127:
			n, h = binary.BigEndian.Uint64(b[2:]), 10
		}
		if uint64(len(b)-h) < n {
			break
		}
		f.payload = string(b[h : h+int(n)])
		out = append(out, f)
		b = b[h+int(n):]
	}
	return out
}

func TestSendFragmented(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{})
	var rec *recordingConn
	d := dialer(srv, func(c net.Conn) net.Conn { rec = &recordingConn{Conn: c}; return rec })
	c := dialWith(t, d, srv.URL)
	c.login(testApp, testPassword)
	ss := nextSession(t, srv)
	const text = `{"mt":"Fragmented","text":"0123456789"}`
	if err := ss.SendFragmented(text, 3); err != nil {
		t.Fatal(err)
	}
	if got := string(c.readRaw()); got != text {
		t.Fatalf("reassembled %s", got)
	}
	frames := parseFrames(t, rec.bytes())
	frames = frames[len(frames)-3:]
	if frames[0].op != 1 || frames[0].fin || frames[1].op != 0 || frames[1].fin || frames[2].op != 0 || !frames[2].fin {
		t.Fatalf("frames %+v", frames)
	}
	if frames[0].payload+frames[1].payload+frames[2].payload != text {
		t.Fatalf("frames %+v", frames)
	}
}

func TestSendFrameHeader(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{})
	c, ss := loggedIn(t, srv)
	if err := ss.SendFrameHeader(1 << 40); err != nil {
		t.Fatal(err)
	}
	c.ws.SetReadLimit(1 << 20)
	if err := c.readErr(); !errors.Is(err, websocket.ErrReadLimit) {
		t.Fatalf("announced 1 TiB frame: %v", err)
	}
}

func TestBurst(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{})
	c, ss := loggedIn(t, srv)
	const n, size = 200, 1000
	errc := make(chan error, 1)
	go func() { errc <- ss.Burst(n, size) }()
	for i := range n {
		b := c.readRaw()
		var m struct {
			MT string
			N  int
		}
		if err := json.Unmarshal(b, &m); err != nil || m.MT != "Burst" || m.N != i {
			t.Fatalf("message %d: %.60s", i, b)
		}
		if len(b) < size-10 || len(b) > size+10 {
			t.Fatalf("message %d has %d bytes, want about %d", i, len(b), size)
		}
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// TestStall: after Stall the server reads nothing, so the client's writes
// back up until its write deadline; after Resume the messages arrive.
func TestStall(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{Handler: appwstest.Silent, ReadLimit: 1 << 20})
	c, ss := loggedIn(t, srv)
	ss.Stall()
	msg := []byte(`{"mt":"Fill","pad":"` + strings.Repeat("x", 256<<10) + `"}`)
	var err error
	sent := 0
	for sent < 1000 && err == nil {
		c.ws.SetWriteDeadline(time.Now().Add(300 * time.Millisecond))
		if err = c.ws.WriteMessage(websocket.TextMessage, msg); err == nil {
			sent++
		}
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("client wrote %d messages of 256 KiB to a stalled server; last error %v", sent, err)
	}
	if n := len(ss.Received()); n != 0 {
		t.Fatalf("stalled session handled %d messages", n)
	}
	ss.Resume()
	if _, err := ss.WaitReceived(ctx(t), sent); err != nil {
		t.Fatalf("after Resume: %v", err)
	}
}

// TestStopPongs: after StopPongs pings go unanswered while the session
// keeps reading and answering messages. A pong would have been written
// before the reply to a message that followed the ping, so once the reply
// is read, the pongs that were sent have been counted.
func TestStopPongs(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{})
	c, ss := loggedIn(t, srv)
	pongs, msgs := pongCounter(c)
	ping(t, c)
	pongs.wait(t, 1)
	ss.StopPongs()
	ping(t, c)
	c.send(`{"mt":"Still"}`)
	if _, err := ss.WaitReceived(ctx(t), 1); err != nil {
		t.Fatalf("session stopped reading: %v", err)
	}
	select {
	case m := <-msgs:
		if !strings.Contains(string(m), `"StillResult"`) {
			t.Fatalf("got %s, want the reply to Still", m)
		}
	case <-ctx(t).Done():
		t.Fatal("no reply to Still")
	}
	if n := pongs.count(); n != 1 {
		t.Fatalf("%d pongs after StopPongs", n)
	}
	if n := len(ss.Received()); n != 1 {
		t.Fatalf("received %d, want 1", n)
	}
}

// pongCounter reads on a goroutine (pongs are processed while reading) and
// returns the count of the pongs seen and a channel of the messages read.
func pongCounter(c *client) (*pongCount, <-chan []byte) {
	pongs := &pongCount{more: make(chan struct{})}
	msgs := make(chan []byte, 10)
	c.ws.SetPongHandler(func(string) error { pongs.add(); return nil })
	go func() {
		for {
			_, b, err := c.ws.ReadMessage()
			if err != nil {
				return
			}
			select {
			case msgs <- b:
			default:
			}
		}
	}()
	return pongs, msgs
}

// pongCount counts pongs; wait waits for them without polling.
type pongCount struct {
	mu   sync.Mutex
	n    int
	more chan struct{} // closed and replaced at every pong
}

func (p *pongCount) add() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	close(p.more)
	p.more = make(chan struct{})
}

func (p *pongCount) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

// wait waits until n pongs were seen; it fails the test after 5 s.
func (p *pongCount) wait(t *testing.T, n int) {
	t.Helper()
	for {
		p.mu.Lock()
		got, more := p.n, p.more
		p.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-more:
		case <-ctx(t).Done():
			t.Fatalf("%d pongs, want %d", got, n)
		}
	}
}

func ping(t *testing.T, c *client) {
	t.Helper()
	if err := c.ws.WriteControl(websocket.PingMessage, []byte("hi"), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
}

// Bad client input.

func TestMalformedJSONIgnored(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{})
	c := dial(t, srv)
	c.send(`{"mt":`)   // before login
	c.send(`not json`) // before login
	c.login(testApp, testPassword)
	ss := nextSession(t, srv)
	c.send(`{"mt":"A",`)
	c.send(`[1,2]`)
	c.send(`{"src":"no mt"}`)
	c.send(`{"mt":5}`)
	c.send(`{"mt":"Fine"}`)
	if r := c.read(); r["mt"] != "FineResult" {
		t.Fatalf("got %v", r)
	}
	if n := len(ss.Received()); n != 1 {
		t.Fatalf("recorded %d messages, want only the valid one", n)
	}
}

func TestBinaryFromClientCloses1003(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{})
	c, ss := loggedIn(t, srv)
	if err := c.ws.WriteMessage(websocket.BinaryMessage, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	c.expectClose(websocket.CloseUnsupportedData)
	<-ss.Done()
}

func TestOversizedFromClientCloses1009(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{ReadLimit: 1000})
	c, ss := loggedIn(t, srv)
	c.send(`{"mt":"Small","pad":"` + strings.Repeat("x", 900) + `"}`)
	c.read()
	c.send(`{"mt":"Big","pad":"` + strings.Repeat("x", 1000) + `"}`)
	c.expectClose(websocket.CloseMessageTooBig)
	<-ss.Done()
	if n := len(ss.Received()); n != 1 {
		t.Fatalf("recorded %d messages", n)
	}
}

// TestDefaultReadLimit: by default the server takes messages of up to
// 65535 bytes, as innovaphone's servers do, and closes with 1009 on a
// bigger one.
func TestDefaultReadLimit(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{Handler: appwstest.Silent})
	c, ss := loggedIn(t, srv)
	msg := func(n int) string { // a message of exactly n bytes
		head := `{"mt":"Big","pad":"`
		return head + strings.Repeat("x", n-len(head)-2) + `"}`
	}
	c.send(msg(65535))
	if _, err := ss.WaitReceived(ctx(t), 1); err != nil {
		t.Fatal(err)
	}
	c.send(msg(65536))
	c.expectClose(websocket.CloseMessageTooBig)
	<-ss.Done()
	if n := len(ss.Received()); n != 1 {
		t.Fatalf("recorded %d messages", n)
	}
}

func TestInvalidUTF8Closes1007(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{})
	c, _ := loggedIn(t, srv)
	c.send("{\"mt\":\"\xff\"}")
	c.expectClose(websocket.CloseInvalidFramePayloadData)
}
