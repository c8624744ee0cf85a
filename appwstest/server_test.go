package appwstest_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/appwstest"
	"github.com/gorilla/websocket"
)

func TestURL(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{})
	if !strings.HasPrefix(srv.URL, "ws://127.0.0.1:") || !strings.HasSuffix(srv.URL, "/appws") {
		t.Fatalf("URL %s", srv.URL)
	}
	if srv.CertPool() != nil {
		t.Fatal("CertPool of a server without TLS")
	}
	srv = newServer(t, appwstest.Config{Path: "/PBX0/APPS/websocket"})
	if !strings.HasSuffix(srv.URL, "/PBX0/APPS/websocket") {
		t.Fatalf("URL %s", srv.URL)
	}
	dial(t, srv).login(testApp, testPassword)
}

func TestOtherPathNotFound(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{})
	_, resp, err := dialer(srv, nil).Dial(strings.TrimSuffix(srv.URL, "/appws")+"/other", nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("dial of another path: %v, %v", resp, err)
	}
	resp.Body.Close()
}

func TestTLSServer(t *testing.T) {
	t.Parallel()
	srv := appwstest.NewTLSServer(appwstest.Config{Apps: map[string]string{testApp: testPassword}})
	t.Cleanup(srv.Close)
	if !strings.HasPrefix(srv.URL, "wss://127.0.0.1:") || srv.CertPool() == nil {
		t.Fatalf("URL %s, pool %v", srv.URL, srv.CertPool())
	}
	dial(t, srv).login(testApp, testPassword)
	// localhost is in the certificate too.
	localhost := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	dialWith(t, dialer(srv, nil), localhost).login(testApp, testPassword)
	// Without the pool the certificate is not trusted.
	d := dialer(srv, nil)
	d.TLSClientConfig = &tls.Config{}
	if ws, _, err := d.Dial(srv.URL, nil); err == nil {
		ws.Close()
		t.Fatal("TLS handshake succeeded without trusting the certificate")
	}
}

func TestEchoHandler(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{})
	c, _ := loggedIn(t, srv)
	c.send(`{"api":"PbxSignal","mt":"Foo","src":"src7","x":[1,"<&>"]}`)
	got := string(c.readRaw())
	want := `{"mt":"FooResult","api":"PbxSignal","src":"src7","echo":{"api":"PbxSignal","mt":"Foo","src":"src7","x":[1,"<&>"]}}`
	if got != want {
		t.Fatalf("echo\n got %s\nwant %s", got, want)
	}
	c.send(`{"mt":"Bar"}`)
	if got := string(c.readRaw()); got != `{"mt":"BarResult","echo":{"mt":"Bar"}}` {
		t.Fatalf("echo without api and src: %s", got)
	}
}

func TestHandler(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{Handler: func(s *appwstest.Session, m appws.Message) {
		_ = s.Send(map[string]string{"mt": "Got", "what": m.MT, "src": m.Src})
	}})
	c, _ := loggedIn(t, srv)
	c.send(`{"mt":"Thing","src":"s1"}`)
	if r := c.read(); r["mt"] != "Got" || r["what"] != "Thing" || r["src"] != "s1" {
		t.Fatalf("handler reply %v", r)
	}
}

func TestKeepAliveConsumedSilently(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{})
	c, ss := loggedIn(t, srv)
	c.send(`{"mt":"KeepAlive"}`)
	c.send(`{"mt":"After"}`)
	if r := c.read(); r["mt"] != "AfterResult" {
		t.Fatalf("KeepAlive was answered: %v", r)
	}
	msgs := ss.Received()
	if len(msgs) != 2 || msgs[0].MT != "KeepAlive" || msgs[1].MT != "After" {
		t.Fatalf("received %v", msgs)
	}
}

func TestReplyKeepAlive(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{ReplyKeepAlive: true})
	c, _ := loggedIn(t, srv)
	c.send(`{"mt":"KeepAlive"}`)
	if got := string(c.readRaw()); got != `{"mt":"KeepAliveResult"}` {
		t.Fatalf("got %s", got)
	}
}

// TestReceivedAndWaitReceived: WaitReceived returns the messages once
// they are there, waits for its ctx when they never come, and ends with
// the session. In memory and fake time: "never" is a fact once everything
// is blocked, not a guess after a pause.
func TestReceivedAndWaitReceived(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv := newMemServer(appwstest.Config{Handler: appwstest.Silent})
		defer srv.Close()
		c, ss := loggedIn(t, srv)
		go func() {
			for i := range 3 {
				_ = c.ws.WriteMessage(websocket.TextMessage, []byte(`{"mt":"M","src":"`+string(rune('a'+i))+`"}`))
			}
		}()
		msgs, err := ss.WaitReceived(ctx(t), 3)
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range msgs {
			if m.MT != "M" || m.Src != string(rune('a'+i)) || m.Session != ss.ID() {
				t.Fatalf("message %d: %+v", i, m)
			}
		}
		msgs[0].Raw[0] = 'X' // a copy: the record stays intact
		if ss.Received()[0].Raw[0] != '{' {
			t.Fatal("Received returned the record itself")
		}
		short, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if _, err := ss.WaitReceived(short, 4); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("WaitReceived for a message never sent: %v", err)
		}
		ss.Drop()
		if _, err := ss.WaitReceived(ctx(t), 4); !errors.Is(err, appwstest.ErrSessionClosed) {
			t.Fatalf("WaitReceived on an ended session: %v", err)
		}
	})
}

// TestSessionsInLoginOrder: NextSession hands out sessions in the order they
// logged in (not connected), each once; Sessions lists the live ones.
func TestSessionsInLoginOrder(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv := newMemServer(appwstest.Config{})
		defer srv.Close()
		a := dial(t, srv)
		b := dial(t, srv)
		b.login(testApp, testPassword)
		a.login(testApp, testPassword)
		first, second := nextSession(t, srv), nextSession(t, srv)
		if first.ID() != 2 || second.ID() != 1 {
			t.Fatalf("NextSession order: ids %d, %d; want 2, 1", first.ID(), second.ID())
		}
		if s := srv.Sessions(); len(s) != 2 || s[0] != first || s[1] != second {
			t.Fatalf("Sessions() = %v", s)
		}
		short, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if _, err := srv.NextSession(short); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("NextSession returned a session twice: %v", err)
		}
		first.Drop()
		<-first.Done()
		if s := srv.Sessions(); len(s) != 1 || s[0] != second {
			t.Fatalf("Sessions() after a drop = %v", s)
		}
	})
}

func TestPush(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{})
	a, _ := loggedIn(t, srv)
	b, _ := loggedIn(t, srv)
	dial(t, srv) // not logged in: gets nothing
	if err := srv.Push(map[string]any{"mt": "News", "n": 1}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*client{a, b} {
		if got := string(c.readRaw()); got != `{"mt":"News","n":1}` {
			t.Fatalf("pushed %s", got)
		}
	}
}

func TestSessionSend(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{})
	c, ss := loggedIn(t, srv)
	if err := ss.Send(map[string]string{"mt": "A", "s": "<&>"}); err != nil {
		t.Fatal(err)
	}
	if err := ss.Send([]byte(`{"mt":"B"}`)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`{"mt":"A","s":"<&>"}`, `{"mt":"B"}`} {
		if got := string(c.readRaw()); got != want {
			t.Fatalf("got %s, want %s", got, want)
		}
	}
	if err := ss.Send(func() {}); err == nil {
		t.Fatal("Send of a value JSON cannot encode succeeded")
	}
}

// TestConnections counts the connections, logged in or not, until they
// end, whichever side ends them. In memory: once every goroutine is
// blocked, the server has seen the client's close.
func TestConnections(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv := newMemServer(appwstest.Config{})
		defer srv.Close()
		c := dial(t, srv)
		_, ss := loggedIn(t, srv)
		if n := srv.Connections(); n != 2 {
			t.Fatalf("Connections() = %d, want 2", n)
		}
		ss.Drop()
		<-ss.Done()
		if n := srv.Connections(); n != 1 {
			t.Fatalf("Connections() = %d after a drop, want 1", n)
		}
		c.ws.Close()
		synctest.Wait()
		if n := srv.Connections(); n != 0 {
			t.Fatalf("Connections() = %d after the client closed, want 0", n)
		}
	})
}

// TestCloseDropsHijackedConnections: Close returns only when every
// connection, upgraded or not, is closed; it is idempotent.
func TestCloseDropsHijackedConnections(t *testing.T) {
	t.Parallel()
	srv := appwstest.NewServer(appwstest.Config{Apps: map[string]string{testApp: testPassword}})
	c, ss := loggedIn(t, srv)
	idle := dial(t, srv)
	srv.Close()
	select {
	case <-ss.Done():
	default:
		t.Fatal("Close returned before the session ended")
	}
	if srv.Connections() != 0 {
		t.Fatal("connections after Close")
	}
	for _, cl := range []*client{c, idle} {
		if err := cl.readErr(); err == nil || websocket.IsCloseError(err, websocket.CloseGoingAway) {
			t.Fatalf("client saw %v, want a dropped connection", err)
		}
	}
	srv.Close()
	if _, err := srv.NextSession(ctx(t)); err == nil {
		t.Fatal("NextSession after Close succeeded")
	}
	if _, _, err := dialer(srv, nil).Dial(srv.URL, nil); err == nil {
		t.Fatal("dial after Close succeeded")
	}
}

// TestClientClose: the server answers the client's close frame with the
// same code and ends the session.
func TestClientClose(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{})
	c, ss := loggedIn(t, srv)
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye")
	if err := c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	c.expectClose(websocket.CloseNormalClosure)
	select {
	case <-ss.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("session did not end after the closing handshake")
	}
	if err := ss.Send(map[string]string{"mt": "Late"}); !errors.Is(err, appwstest.ErrSessionClosed) {
		t.Fatalf("Send on an ended session: %v", err)
	}
}

func TestPingAnswered(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{})
	c, _ := loggedIn(t, srv)
	pongs := make(chan string, 1)
	c.ws.SetPongHandler(func(s string) error { pongs <- s; return nil })
	if err := c.ws.WriteControl(websocket.PingMessage, []byte("p1"), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	c.send(`{"mt":"X"}`)
	c.read() // processes the pong on the way
	select {
	case p := <-pongs:
		if p != "p1" {
			t.Fatalf("pong %q", p)
		}
	default:
		t.Fatal("no pong before the reply")
	}
}

// TestRecordLimitKeepsTheNewest: with RecordLimit a session keeps only the
// newest messages for Received, while WaitReceived counts them all.
func TestRecordLimitKeepsTheNewest(t *testing.T) {
	t.Parallel()
	srv := appwstest.NewServer(appwstest.Config{Apps: map[string]string{"app": "pw"}, RecordLimit: 3, Handler: appwstest.Silent})
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := appws.Dial(ctx, srv.ClientOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		c.Close()
		for range c.Events() {
		}
	}()
	ss, err := srv.NextSession(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if _, err := c.Send(ctx, map[string]any{"mt": "N", "n": i}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ss.WaitReceived(ctx, 10); err != nil {
		t.Fatal(err)
	}
	got := ss.Received()
	if len(got) != 3 {
		t.Fatalf("Received() holds %d messages, want the newest 3", len(got))
	}
	for i, m := range got {
		var v struct{ N int }
		if err := m.Decode(&v); err != nil || v.N != 7+i {
			t.Errorf("message %d: %s, want n=%d", i, m.Raw, 7+i)
		}
	}
}

// TestRecordSpansSessionsAndWaits: a Record keeps the messages of every
// session in order, filters by mt, and WaitFor returns once enough came,
// or with ctx's error and what it has.
func TestRecordSpansSessionsAndWaits(t *testing.T) {
	t.Parallel()
	var rec appwstest.Record
	srv := newServer(t, appwstest.Config{Handler: func(ss *appwstest.Session, m appws.Message) { rec.Add(ss, m) }})
	var want []string
	for range 2 {
		c, ss := loggedIn(t, srv)
		for _, mt := range []string{"A", "B"} {
			c.send(map[string]string{"mt": mt})
			want = append(want, fmt.Sprintf("%s@%d", mt, ss.ID()))
		}
		if _, err := rec.WaitFor(ctx(t), "B", len(want)/2); err != nil {
			t.Fatal(err)
		}
		ss.Drop()
	}
	var got []string
	for _, m := range rec.Messages("") {
		got = append(got, fmt.Sprintf("%s@%d", m.MT, m.Session))
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("recorded %v, want %v", got, want)
	}
	if as := rec.Messages("A"); len(as) != 2 || as[0].MT != "A" || as[1].MT != "A" {
		t.Errorf("Messages(A) = %+v", as)
	}
	ended, stop := context.WithCancel(context.Background())
	stop()
	as, err := rec.WaitFor(ended, "A", 3)
	if !errors.Is(err, context.Canceled) || len(as) != 2 || !strings.HasPrefix(err.Error(), "appwstest: waiting for 3 A, have 2: ") {
		t.Errorf("WaitFor beyond what came: %d messages, %v", len(as), err)
	}
}
