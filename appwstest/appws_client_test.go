package appwstest_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/appwstest"
)

// These tests drive the server with package appws's client, the way users
// do, next to the hand-written gorilla client of helpers_test.go.

// appwsDial logs in with opts and closes the client and drains its events
// at the end of the test, so that goleak (or the synctest bubble) sees no
// goroutine left.
func appwsDial(t *testing.T, opts appws.Options) *appws.Client {
	t.Helper()
	c, err := appws.Dial(ctx(t), opts)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() {
		c.Close()
		for range c.Events() {
		}
	})
	if _, ok := nextEvent(t, c).(appws.ConnectComplete); !ok {
		t.Fatal("first event is not ConnectComplete")
	}
	return c
}

// nextEvent returns the client's next event, failing after 5 s.
func nextEvent(t *testing.T, c *appws.Client) appws.Event {
	t.Helper()
	select {
	case ev, ok := <-c.Events():
		if !ok {
			t.Fatal("events closed")
		}
		return ev
	case <-ctx(t).Done():
		t.Fatal("no event in 5 s")
		return nil
	}
}

// nextMessage releases and returns the client's next Message.
func nextMessage(t *testing.T, c *appws.Client) appws.Message {
	t.Helper()
	c.MessageComplete()
	for {
		switch ev := nextEvent(t, c).(type) {
		case appws.Message:
			return ev
		case appws.SendResult:
		default:
			t.Fatalf("got %T %+v, want a Message", ev, ev)
		}
	}
}

// message returns a JSON object of exactly n bytes with the given mt.
func message(mt string, n int) string {
	head := `{"mt":"` + mt + `","pad":"`
	return head + strings.Repeat("x", n-len(head)-2) + `"}`
}

// TestLargeReplyIsFragmented: innovaphone's C++ client drops a connection on
// a frame over 16384 payload bytes, so a 40 KB message goes out as three
// frames (16384 + 16384 + the rest), which gorilla and the appws client
// reassemble.
func TestLargeReplyIsFragmented(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{})
	var rec *recordingConn
	c := dialWith(t, dialer(srv, func(c net.Conn) net.Conn { rec = &recordingConn{Conn: c}; return rec }), srv.URL)
	c.login(testApp, testPassword)
	ss := nextSession(t, srv)
	before := len(parseFrames(t, rec.bytes()))
	big := message("Big", 40<<10)
	if err := ss.SendText(big); err != nil {
		t.Fatal(err)
	}
	if got := string(c.readRaw()); got != big {
		t.Fatalf("reassembled %d bytes, want %d", len(got), len(big))
	}
	frames := parseFrames(t, rec.bytes())[before:]
	if len(frames) != 3 {
		t.Fatalf("%d frames, want 3", len(frames))
	}
	for i, want := range []struct {
		op  byte
		fin bool
		n   int
	}{{1, false, 16384}, {0, false, 16384}, {0, true, 40<<10 - 2*16384}} {
		if f := frames[i]; f.op != want.op || f.fin != want.fin || len(f.payload) != want.n {
			t.Errorf("frame %d: op %d fin %v %d bytes, want op %d fin %v %d bytes", i, f.op, f.fin, len(f.payload), want.op, want.fin, want.n)
		}
	}

	// The appws client gets it whole.
	ac := appwsDial(t, srv.ClientOptions())
	if err := nextSession(t, srv).SendText(big); err != nil {
		t.Fatal(err)
	}
	if m := nextMessage(t, ac); string(m.Raw) != big {
		t.Fatalf("appws client got %d bytes, want %d", len(m.Raw), len(big))
	}
}

// TestMaxFrameSize: Config.MaxFrameSize sets the fragment size; negative
// sends every message in one frame. It applies to replies of the server
// too (here the echo).
func TestMaxFrameSize(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		max, frames int
	}{{1000, 3}, {-1, 1}, {0, 1}} {
		srv := newServer(t, appwstest.Config{MaxFrameSize: tc.max})
		var rec *recordingConn
		c := dialWith(t, dialer(srv, func(c net.Conn) net.Conn { rec = &recordingConn{Conn: c}; return rec }), srv.URL)
		c.login(testApp, testPassword)
		before := len(parseFrames(t, rec.bytes()))
		c.send(message("Req", 2500))
		if r := c.read(); r["mt"] != "ReqResult" {
			t.Fatalf("MaxFrameSize %d: reply %v", tc.max, r)
		}
		if n := len(parseFrames(t, rec.bytes())[before:]); n != tc.frames {
			t.Errorf("MaxFrameSize %d: reply of about 2550 bytes in %d frames, want %d", tc.max, n, tc.frames)
		}
	}
}

// TestLoginErrorFromMinimalReply: against the default, documented minimum
// reply the appws client fails with a *LoginError without code or text.
func TestLoginErrorFromMinimalReply(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{})
	o := srv.ClientOptions()
	o.Password = "wrong"
	_, err := appws.Dial(ctx(t), o)
	var le *appws.LoginError
	if !errors.As(err, &le) || le.Code != "" || le.Text != "" {
		t.Fatalf("Dial = %v, want a *LoginError without code and text", err)
	}
	if l := srv.Logins(); len(l) != 1 || l[0].Error != appwstest.LoginErrWrongDigest {
		t.Fatalf("recorded logins %+v", l)
	}
}

// TestSilentAnswersNothing: with Silent, as against a PBX that does not
// know a message, a Request waits until its ctx ends; the message is still
// recorded and the test can answer it itself.
func TestSilentAnswersNothing(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv := newMemServer(appwstest.Config{Handler: appwstest.Silent})
		defer srv.Close()
		c := appwsDial(t, srv.ClientOptions())
		ss := nextSession(t, srv)
		rctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		start := time.Now()
		if _, err := c.Request(rctx, map[string]string{"mt": "Unknown"}); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Request against Silent = %v, want the ctx's deadline", err)
		}
		if d := time.Since(start); d != 10*time.Second {
			t.Fatalf("Request returned after %v, want at its deadline", d)
		}
		msgs, err := ss.WaitReceived(t.Context(), 1)
		if err != nil || msgs[0].MT != "Unknown" {
			t.Fatalf("received %v, %v", msgs, err)
		}
		// Nothing was sent before what the test sends now.
		go func() { _ = ss.Send(map[string]string{"mt": "FromTest"}) }()
		if m := nextMessage(t, c); m.MT != "FromTest" {
			t.Fatalf("first message after the Request: %s", m.Raw)
		}
	})
}

// TestPingAnsweredByClient: Session.Ping returns once the appws client's
// pong came back; a client that does not read never answers, and Ping
// ends with its ctx or with the session.
func TestPingAnsweredByClient(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{})
	appwsDial(t, srv.ClientOptions())
	ss := nextSession(t, srv)
	for _, data := range []string{"p1", "", strings.Repeat("x", 125)} {
		if err := ss.Ping(ctx(t), []byte(data)); err != nil {
			t.Fatalf("Ping(%q): %v", data, err)
		}
	}
	if err := ss.Ping(ctx(t), make([]byte, 126)); err == nil {
		t.Fatal("Ping with 126 bytes of data succeeded")
	}

	// A raw client that does not read sends no pong.
	_, raw := loggedIn(t, srv)
	short, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := raw.Ping(short, []byte("unread")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Ping of a client that does not read = %v", err)
	}
	raw.Drop()
	<-raw.Done()
	if err := raw.Ping(ctx(t), nil); !errors.Is(err, appwstest.ErrSessionClosed) {
		t.Fatalf("Ping after Drop = %v", err)
	}
}

// TestPingInSynctest: the ping round trip also works in memory, inside a
// bubble.
func TestPingInSynctest(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv := newMemServer(appwstest.Config{})
		defer srv.Close()
		appwsDial(t, srv.ClientOptions())
		if err := nextSession(t, srv).Ping(t.Context(), []byte("mem")); err != nil {
			t.Fatal(err)
		}
	})
}

// TestClientOptionsInMemory: an in-memory server is reachable with just
// ClientOptions; without its NetDialContext the client cannot resolve the
// server's host.
func TestClientOptionsInMemory(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv := newMemServer(appwstest.Config{Apps: map[string]string{"b": "pb", "a": "pa"}})
		defer srv.Close()
		o := srv.ClientOptions()
		if o.URL != srv.URL || o.App != "a" || o.Password != "pa" || !o.NoProxy || o.NetDialContext == nil || o.TLSConfig != nil {
			t.Fatalf("ClientOptions() = %+v", o)
		}
		c := appwsDial(t, o)
		if _, err := c.Send(t.Context(), map[string]string{"mt": "Hi"}); err != nil {
			t.Fatal(err)
		}
		if m := nextMessage(t, c); m.MT != "HiResult" {
			t.Fatalf("echo %s", m.Raw)
		}
		if l := nextSession(t, srv).Login(); l.App != "a" {
			t.Fatalf("logged in as %q", l.App)
		}
	})
	srv := newServer(t, appwstest.Config{InMemory: true})
	o := srv.ClientOptions()
	o.NetDialContext = nil
	if _, err := appws.Dial(ctx(t), o); err == nil {
		t.Fatal("Dial of an in-memory server without its NetDialContext succeeded")
	}
}

// TestClientOptionsTLS: a TLS server is reachable with just ClientOptions,
// which trusts its certificate; the first app by name is picked, apps added
// with SetPassword included.
func TestClientOptionsTLS(t *testing.T) {
	t.Parallel()
	srv := appwstest.NewTLSServer(appwstest.Config{Apps: map[string]string{testApp: testPassword}})
	t.Cleanup(srv.Close)
	srv.SetPassword("added", "pw2")
	o := srv.ClientOptions()
	if o.TLSConfig == nil || o.NetDialContext != nil || o.App != "added" || o.Password != "pw2" {
		t.Fatalf("ClientOptions() = %+v", o)
	}
	c := appwsDial(t, o)
	if _, err := c.Send(ctx(t), map[string]string{"mt": "Hi"}); err != nil {
		t.Fatal(err)
	}
	if m := nextMessage(t, c); m.MT != "HiResult" {
		t.Fatalf("echo %s", m.Raw)
	}
	// The options of a plain server carry no TLS config.
	if o := newServer(t, appwstest.Config{}).ClientOptions(); o.TLSConfig != nil || o.NetDialContext != nil || o.App != testApp {
		t.Fatalf("ClientOptions() of a plain server = %+v", o)
	}
}

// TestClientOptionsWithoutApps: a server without apps gives options
// without App and Password, which Dial refuses before any I/O.
func TestClientOptionsWithoutApps(t *testing.T) {
	t.Parallel()
	srv := appwstest.NewServer(appwstest.Config{})
	t.Cleanup(srv.Close)
	var ce *appws.ConfigError
	if _, err := appws.Dial(ctx(t), srv.ClientOptions()); !errors.As(err, &ce) {
		t.Fatalf("Dial = %v, want a *ConfigError", err)
	}
}

// TestPackageDocExample is the example of the package documentation.
func TestPackageDocExample(t *testing.T) {
	t.Parallel()
	srv := appwstest.NewServer(appwstest.Config{
		Apps: map[string]string{"myapp": "secret"},
	})
	defer srv.Close()

	c, err := appws.Dial(t.Context(), srv.ClientOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		c.Close()
		for range c.Events() {
		}
	}()
	<-c.Events() // ConnectComplete

	ss, err := srv.NextSession(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if ss.Login().HasKey {
		t.Error("the client sent its session key")
	}

	reply, err := c.Request(t.Context(), map[string]string{"mt": "Hello"})
	if err != nil {
		t.Fatal(err)
	}
	if reply.MT != "HelloResult" {
		t.Errorf("reply %s", reply.Raw)
	}
}
