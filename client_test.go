package appws_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"net"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/appwstest"
	"github.com/appwebsocket/appws/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	testApp  = "echo"
	testPass = "secret-pw"

	// wait bounds anything that should happen now. It exceeds the longest
	// reconnect delay, so that it also serves the synctest tests, where
	// time is fake and waiting costs nothing.
	wait = 90 * time.Second
)

// barrierOnly is a server Handler that answers only Barrier requests (see
// barrier) and swallows everything else.
func barrierOnly(s *appwstest.Session, m appws.Message) {
	if m.MT == "Barrier" {
		_ = s.Send(map[string]string{"mt": "BarrierResult", "src": m.Src})
	}
}

// newServer starts an appwstest server with the test app and closes it
// when the test ends.
func newServer(t testing.TB, cfg appwstest.Config) *appwstest.Server {
	t.Helper()
	if cfg.Apps == nil {
		cfg.Apps = map[string]string{testApp: testPass}
	}
	srv := appwstest.NewServer(cfg)
	t.Cleanup(srv.Close)
	return srv
}

func options(srv *appwstest.Server) appws.Options {
	return appws.Options{
		URL:            srv.URL,
		App:            testApp,
		Password:       testPass,
		NetDialContext: srv.DialContext,
		NoProxy:        true,
	}
}

// dial logs in and arranges for Close and a full drain at the end of the
// test, so goleak sees no goroutine left.
func dial(t testing.TB, opts appws.Options) *appws.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, err := appws.Dial(ctx, opts)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { closeAndDrain(t, c) })
	return c
}

// closeAndDrain closes c and reads its events to the end; it returns the
// Closed event.
func closeAndDrain(t testing.TB, c *appws.Client) appws.Closed {
	t.Helper()
	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	return drain(t, c)
}

// drain reads events until the channel closes and returns the last, which
// must be Closed.
func drain(t testing.TB, c *appws.Client) appws.Closed {
	t.Helper()
	var last appws.Event
	timeout := time.After(wait)
	for {
		select {
		case ev, ok := <-c.Events():
			if !ok {
				if last == nil {
					return appws.Closed{} // drained before
				}
				cl, isClosed := last.(appws.Closed)
				if !isClosed {
					t.Fatalf("last event before the channel closed is %T, want Closed", last)
				}
				return cl
			}
			if _, isClosed := last.(appws.Closed); isClosed {
				t.Fatalf("event %T after Closed", ev)
			}
			last = ev
		case <-timeout:
			t.Fatal("events channel not closed in time")
		}
	}
}

// next returns the next event, failing the test if none comes in time.
func next(t testing.TB, c *appws.Client) appws.Event {
	t.Helper()
	select {
	case ev, ok := <-c.Events():
		if !ok {
			t.Fatal("events channel closed")
		}
		return ev
	case <-time.After(wait):
		t.Fatal("no event in time")
	}
	return nil
}

func nextAs[T appws.Event](t testing.TB, c *appws.Client) T {
	t.Helper()
	ev := next(t, c)
	got, ok := ev.(T)
	if !ok {
		var want T
		t.Fatalf("got %T %+v, want %T", ev, ev, want)
	}
	return got
}

// quiet asserts that no event arrives for a short while. Only a negative
// check can show that something is held back; 50 ms is plenty on loopback
// for an event that was already due.
func quiet(t testing.TB, c *appws.Client) {
	t.Helper()
	select {
	case ev := <-c.Events():
		t.Fatalf("unexpected event %T %+v", ev, ev)
	case <-time.After(50 * time.Millisecond):
	}
}

func nextSession(t testing.TB, srv *appwstest.Server) *appwstest.Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	ss, err := srv.NextSession(ctx)
	if err != nil {
		t.Fatalf("NextSession: %v", err)
	}
	return ss
}

// barrier makes sure every message the server sent before it has been read
// by the client: the Request's reply travels behind them on the same socket.
func barrier(t testing.TB, c *appws.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if _, err := c.Request(ctx, map[string]string{"mt": "Barrier"}); err != nil {
		t.Fatalf("Request: %v", err)
	}
}

func TestDialValidatesOptionsBeforeIO(t *testing.T) {
	noDial := func(context.Context, string, string) (net.Conn, error) {
		t.Error("Dial did network I/O for invalid options")
		return nil, errors.New("no")
	}
	base := appws.Options{URL: "ws://127.0.0.1:1/x", App: "a", Password: "p", NetDialContext: noDial}
	cases := map[string]func(o *appws.Options){
		"no URL":        func(o *appws.Options) { o.URL = "" },
		"http scheme":   func(o *appws.Options) { o.URL = "http://127.0.0.1/x" },
		"no host":       func(o *appws.Options) { o.URL = "ws:///x" },
		"no app":        func(o *appws.Options) { o.App = "" },
		"no credential": func(o *appws.Options) { o.Password = "" },
		"both":          func(o *appws.Options) { o.Authenticator = staticAuth{} },
		"info array":    func(o *appws.Options) { o.Info = json.RawMessage(`[1]`) },
		"info dup key":  func(o *appws.Options) { o.Info = json.RawMessage(`{"a":1,"a":2}`) },
		"bad utf8":      func(o *appws.Options) { o.DN = "\xff" },
		"backoff":       func(o *appws.Options) { o.MinBackoff, o.MaxBackoff = 2*time.Second, time.Second },
		"timeout":       func(o *appws.Options) { o.LoginTimeout = -time.Second },
		"read limit":    func(o *appws.Options) { o.ReadLimit = -1 },
	}
	for name, mod := range cases {
		t.Run(name, func(t *testing.T) {
			o := base
			mod(&o)
			c, err := appws.Dial(context.Background(), o)
			var ce *appws.ConfigError
			if !errors.As(err, &ce) || c != nil {
				t.Fatalf("Dial = %v, %v; want a *ConfigError", c, err)
			}
		})
	}
}

type staticAuth struct{}

func (staticAuth) GetLogin(context.Context, string, string) (*appws.Login, error) {
	return nil, errors.New("unused")
}

func TestDialFirstEventIsConnectComplete(t *testing.T) {
	srv := newServer(t, appwstest.Config{Domain: "example.com"})
	c := dial(t, options(srv))
	cc := nextAs[appws.ConnectComplete](t, c)
	if cc.Session != 1 || cc.Domain != "example.com" || cc.Attempts != 1 {
		t.Errorf("ConnectComplete = %+v", cc)
	}
	if ss := nextSession(t, srv); ss.Login().App != testApp {
		t.Errorf("server saw login for %q", ss.Login().App)
	}
}

// TestLoginRejected: a rejected login is a *LoginError, whether the server
// says why (error, errorText) or, as innovaphone documents, only leaves out
// "ok": true.
func TestLoginRejected(t *testing.T) {
	for _, details := range []bool{false, true} {
		srv := newServer(t, appwstest.Config{LoginErrorDetails: details})
		o := options(srv)
		o.Password = "wrong"
		c, err := appws.Dial(context.Background(), o)
		var le *appws.LoginError
		if !errors.As(err, &le) || c != nil {
			t.Fatalf("details %v: Dial = %v; want a *LoginError", details, err)
		}
		if said := le.Code != "" || le.Text != ""; said != details {
			t.Errorf("details %v: LoginError %+v", details, le)
		}
	}
}

func TestLoginRejectedNotRetriedWithAutoReconnect(t *testing.T) {
	srv := newServer(t, appwstest.Config{})
	o := options(srv)
	o.Password = "wrong"
	o.AutoReconnect = true
	_, err := appws.Dial(context.Background(), o) // no deadline: must return by itself
	var le *appws.LoginError
	if !errors.As(err, &le) {
		t.Fatalf("Dial = %v; want a *LoginError", err)
	}
	if n := len(srv.Logins()); n != 1 {
		t.Errorf("%d logins, want 1", n)
	}
}

func TestLoginChallengeAsNumber(t *testing.T) {
	srv := newServer(t, appwstest.Config{ChallengeAsNumber: true, Challenge: "4711471147114711"})
	c := dial(t, options(srv))
	nextAs[appws.ConnectComplete](t, c)
	ss := nextSession(t, srv)
	if want := appws.SessionKey("4711471147114711", testPass); ss.SessionKey() != want {
		t.Error("session key differs from the server's")
	}
	checkSessionKey(t, c, ss)
}

func TestLoginSysClient(t *testing.T) {
	srv := newServer(t, appwstest.Config{SysClient: true})
	c := dial(t, options(srv)) // the password is ignored: sysClient logs in with ""
	nextAs[appws.ConnectComplete](t, c)
	checkSessionKey(t, c, nextSession(t, srv))
}

// checkSessionKey shows that client and server hold the same session key.
func checkSessionKey(t *testing.T, c *appws.Client, ss *appwstest.Session) {
	t.Helper()
	enc, err := c.Encrypt("seed", "top secret")
	if err != nil {
		t.Fatal(err)
	}
	if dec, err := appws.Decrypt(ss.SessionKey(), "seed", enc); err != nil || dec != "top secret" {
		t.Errorf("server decrypts %q, %v", dec, err)
	}
	h, _ := c.Hash("seed", "data")
	if h != appws.Hash(ss.SessionKey(), "seed", "data") {
		t.Error("Hash differs from the server's")
	}
	dec, err := c.Decrypt("s2", appws.Encrypt(ss.SessionKey(), "s2", "back"))
	if err != nil || dec != "back" {
		t.Errorf("client decrypts %q, %v", dec, err)
	}
}

func TestAppLoginOnTheWire(t *testing.T) {
	srv := newServer(t, appwstest.Config{Challenge: "0123456789abcdef"})
	o := options(srv)
	o.Domain, o.SIP, o.GUID, o.DN, o.PbxObj = "example.com", "user", "0123456789abcdef0123456789abcdef", "Some One", "obj"
	o.Info = json.RawMessage("{ \"b\" : \"<\\u00e9>\", \"a\":[1.0e2] }")
	c := dial(t, o)
	nextAs[appws.ConnectComplete](t, c)
	rec := nextSession(t, srv).Login()
	want := []string{"mt", "app", "domain", "sip", "guid", "dn", "info", "digest", "pbxObj"}
	if !slices.Equal(rec.Fields, want) {
		t.Errorf("AppLogin fields %v, want %v", rec.Fields, want)
	}
	if rec.HasKey {
		t.Error("AppLogin carries a key field")
	}
	if got := string(rec.Info); got != `{"b":"<é>","a":[1.0e2]}` {
		t.Errorf("info on the wire %s", got)
	}
	d, _ := wire.Digest(o.App, o.Domain, o.SIP, o.GUID, o.DN, o.Info, "0123456789abcdef", testPass)
	if rec.Digest != d {
		t.Error("digest on the wire is not the expected one")
	}
}

func TestAppLoginWithoutInfoHasNoInfoKey(t *testing.T) {
	srv := newServer(t, appwstest.Config{})
	o := options(srv)
	o.Info = json.RawMessage(`null`)
	c := dial(t, o)
	nextAs[appws.ConnectComplete](t, c)
	rec := nextSession(t, srv).Login()
	if want := []string{"mt", "app", "domain", "sip", "guid", "dn", "digest"}; !slices.Equal(rec.Fields, want) {
		t.Errorf("AppLogin fields %v, want %v", rec.Fields, want)
	}
}

func TestMessageCompleteGatesDelivery(t *testing.T) {
	srv := newServer(t, appwstest.Config{})
	c := dial(t, options(srv))
	nextAs[appws.ConnectComplete](t, c)
	ss := nextSession(t, srv)
	const n = 1000
	go func() { _ = ss.Burst(n, 100) }()
	quiet(t, c) // nothing before the first MessageComplete
	for i := range n {
		c.MessageComplete()
		m := nextAs[appws.Message](t, c)
		var body struct{ N int }
		if err := m.Decode(&body); err != nil || body.N != i || m.MT != "Burst" || m.Session != 1 {
			t.Fatalf("message %d: %+v %v (%s)", i, body, err, m.Raw)
		}
		if i%100 == 0 {
			quiet(t, c) // exactly one per MessageComplete
		}
	}
}

func TestMessageCompleteDoesNotAccumulate(t *testing.T) {
	srv := newServer(t, appwstest.Config{})
	c := dial(t, options(srv))
	for range 5 {
		c.MessageComplete() // counts for session 1: its ConnectComplete is already the next event
	}
	nextAs[appws.ConnectComplete](t, c)
	ss := nextSession(t, srv)
	if err := ss.Burst(3, 50); err != nil {
		t.Fatal(err)
	}
	nextAs[appws.Message](t, c)
	quiet(t, c)
	c.MessageComplete()
	nextAs[appws.Message](t, c)
	quiet(t, c)
}

func heapInUse() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse)
}

func TestSendFromManyGoroutines(t *testing.T) {
	srv := newServer(t, appwstest.Config{Handler: barrierOnly})
	c := dial(t, options(srv))
	nextAs[appws.ConnectComplete](t, c)
	ss := nextSession(t, srv)
	const goroutines, each = 50, 40
	ids := make(chan uint64, goroutines*each)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				id, err := c.Send(context.Background(), map[string]any{"mt": "Note", "g": g, "i": i})
				if err != nil {
					t.Errorf("Send: %v", err)
					return
				}
				ids <- id
			}
		}()
	}
	results := map[uint64]int{}
	for len(results) < goroutines*each {
		r := nextAs[appws.SendResult](t, c)
		if r.Err != nil {
			t.Fatalf("SendResult %d: %v", r.ID, r.Err)
		}
		results[r.ID]++
		if results[r.ID] > 1 {
			t.Fatalf("two SendResults for id %d", r.ID)
		}
	}
	wg.Wait()
	close(ids)
	for id := range ids {
		if results[id] != 1 {
			t.Errorf("id %d has %d SendResults", id, results[id])
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if _, err := ss.WaitReceived(ctx, goroutines*each); err != nil {
		t.Fatal(err)
	}
	quiet(t, c)
}

func TestSendRejectsWhatIsNotAMessage(t *testing.T) {
	srv := newServer(t, appwstest.Config{})
	c := dial(t, options(srv))
	nextAs[appws.ConnectComplete](t, c)
	for _, msg := range []any{
		nil, "text", 42, []int{1}, json.RawMessage(`[]`), []byte(`{"mt":1}`), []byte(`{"x":"y"}`),
		json.RawMessage(`{"mt":"a"`), map[string]int{"mt": 1}, struct{ MT string }{"x"}, func() {},
	} {
		id, err := c.Send(context.Background(), msg)
		var ce *appws.ConfigError
		if !errors.As(err, &ce) || id != 0 {
			t.Errorf("Send(%#v) = %d, %v; want a *ConfigError", msg, id, err)
		}
	}
	if _, err := c.SendText(context.Background(), "\xff"); err == nil {
		t.Error("SendText of invalid UTF-8 accepted")
	}
	quiet(t, c) // no SendResult for refused sends
}

func TestSendKinds(t *testing.T) {
	srv := newServer(t, appwstest.Config{Handler: barrierOnly})
	c := dial(t, options(srv))
	nextAs[appws.ConnectComplete](t, c)
	ss := nextSession(t, srv)
	type note struct {
		MT  string `json:"mt"`
		API string `json:"api,omitempty"`
	}
	buf := []byte(`{"mt":"Bytes"}`)
	sends := []func() (uint64, error){
		func() (uint64, error) { return c.Send(context.Background(), note{MT: "Struct", API: "X"}) },
		func() (uint64, error) { return c.Send(context.Background(), &note{MT: "Pointer"}) },
		func() (uint64, error) { return c.Send(context.Background(), map[string]string{"mt": "Map"}) },
		func() (uint64, error) { return c.Send(context.Background(), json.RawMessage(`{"mt":"Raw"}`)) },
		func() (uint64, error) { return c.Send(context.Background(), buf) },
		func() (uint64, error) { return c.SendText(context.Background(), `{"mt":"Text"}`) },
	}
	for _, send := range sends {
		if _, err := send(); err != nil {
			t.Fatal(err)
		}
	}
	copy(buf, `{"mt":"XXXXX"}`) // Send copied the bytes
	for range sends {
		if r := nextAs[appws.SendResult](t, c); r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	got, err := ss.WaitReceived(ctx, len(sends))
	if err != nil {
		t.Fatal(err)
	}
	var mts []string
	for _, m := range got {
		mts = append(mts, m.MT)
	}
	if want := []string{"Struct", "Pointer", "Map", "Raw", "Bytes", "Text"}; !slices.Equal(mts, want) {
		t.Errorf("server received %v, want %v", mts, want)
	}
	if got[0].API != "X" {
		t.Errorf("api %q", got[0].API)
	}
}

// TestSendWaitsForRoom: the send queue holds SendQueue messages not yet
// written; while a stalled server takes nothing, Send waits for room,
// bounded by its ctx, and room comes back when the writes go through.
func TestSendWaitsForRoom(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := memServer(t, appwstest.Config{Handler: barrierOnly})
		o := options(srv)
		o.PingInterval = -1
		o.WriteTimeout = time.Hour
		o.SendQueue = 2
		c := dial(t, o)
		ss := nextSession(t, srv)
		ss.Stall()
		// A write may still meet a read the server had started; after it,
		// SendQueue messages fit: the one blocked in its write and one more.
		accepted := 0
		for ; ; accepted++ {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_, err := c.Send(ctx, map[string]string{"mt": "A"})
			cancel()
			synctest.Wait()
			if errors.Is(err, context.DeadlineExceeded) {
				break
			}
			if err != nil || accepted > o.SendQueue+1 {
				t.Fatalf("send %d with a stalled server = %v, want a wait that ends with ctx", accepted+1, err)
			}
		}
		if accepted < o.SendQueue {
			t.Fatalf("only %d sends accepted before the queue was full", accepted)
		}
		ss.Resume()
		if _, err := c.Send(context.Background(), map[string]string{"mt": "A"}); err != nil {
			t.Fatalf("Send after the writes went through: %v", err)
		}
		nextAs[appws.ConnectComplete](t, c)
		for id := range uint64(accepted + 1) {
			if r := nextAs[appws.SendResult](t, c); r.ID != id+1 || r.Err != nil {
				t.Fatalf("SendResult %+v", r)
			}
		}
	})
}

func TestCloseFromEventLoop(t *testing.T) {
	srv := newServer(t, appwstest.Config{})
	c := dial(t, options(srv))
	for ev := range c.Events() {
		switch ev := ev.(type) {
		case appws.ConnectComplete:
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
		case appws.Closed:
			if ev.Err != nil {
				t.Errorf("Closed.Err = %v after Close", ev.Err)
			}
		}
	}
	if _, err := c.Send(context.Background(), map[string]string{"mt": "x"}); !errors.Is(err, appws.ErrClosed) {
		t.Errorf("Send after Close = %v, want ErrClosed", err)
	}
	if _, err := c.Encrypt("s", "d"); !errors.Is(err, appws.ErrClosed) {
		t.Errorf("Encrypt after Close = %v, want ErrClosed", err)
	}
}

func TestCloseFromOtherGoroutineTwice(t *testing.T) {
	srv := newServer(t, appwstest.Config{})
	c := dial(t, options(srv))
	ss := nextSession(t, srv)
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.Close(); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if err := c.Close(); err != nil {
		t.Error(err)
	}
	nextAs[appws.ConnectComplete](t, c)
	if cl := drain(t, c); cl.Err != nil {
		t.Errorf("Closed.Err = %v", cl.Err)
	}
	select {
	case <-ss.Done():
	case <-time.After(wait):
		t.Error("server still has the connection after Close")
	}
}

// TestCloseNeverWaitsForTheConsumer: nobody reads Events, yet Close
// returns, and the events are still all there afterwards.
func TestCloseNeverWaitsForTheConsumer(t *testing.T) {
	srv := newServer(t, appwstest.Config{Handler: barrierOnly})
	o := options(srv)
	o.SendQueue = 4
	c := dial(t, o)
	for range 4 {
		if _, err := c.Send(context.Background(), map[string]string{"mt": "x"}); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan struct{})
	go func() { c.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(wait):
		t.Fatal("Close waited for the consumer")
	}
	nextAs[appws.ConnectComplete](t, c)
	for range 4 {
		nextAs[appws.SendResult](t, c)
	}
	nextAs[appws.Closed](t, c)
	if _, ok := <-c.Events(); ok {
		t.Error("channel not closed after Closed")
	}
}

// TestCloseIsPromptWhenTheServerDoesNotRead: a write blocked on a stalled
// server does not hold Close for WriteTimeout.
func TestCloseIsPromptWhenTheServerDoesNotRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := memServer(t, appwstest.Config{})
		o := options(srv)
		o.PingInterval = -1
		o.WriteTimeout = time.Minute
		o.MaxMessageSize = 1 << 20
		c := dial(t, o)
		nextAs[appws.ConnectComplete](t, c)
		nextSession(t, srv).Stall()
		big := map[string]string{"mt": "x", "pad": strings.Repeat("p", 200000)}
		if _, err := c.Send(context.Background(), big); err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // the writer is blocked: the in-memory pipe buffers nothing
		start := time.Now()
		c.Close()
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("Close took %v with a server that does not read", d)
		}
		if r := nextAs[appws.SendResult](t, c); r.Err == nil {
			t.Error("the blocked send reported success")
		}
	})
}

func TestCloseDropsUndeliveredMessages(t *testing.T) {
	srv := newServer(t, appwstest.Config{})
	c := dial(t, options(srv))
	nextAs[appws.ConnectComplete](t, c)
	ss := nextSession(t, srv)
	if err := ss.Burst(5, 50); err != nil {
		t.Fatal(err)
	}
	barrier(t, c)
	if cl := closeAndDrain(t, c); cl.Dropped != 5 || cl.Err != nil {
		t.Errorf("Closed = %+v, want Dropped 5", cl)
	}
}

func TestDialCanceledDuringLogin(t *testing.T) {
	srv := newServer(t, appwstest.Config{})
	srv.SetLoginDelay(time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := appws.Dial(ctx, options(srv))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Dial = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Dial took %v after its ctx ended", d)
	}
}

// TestDropCountsReadAhead: messages read ahead but not delivered when a
// session drops are dropped with it and counted in the event that reports
// the end (rule 5); the one already delivered is not.
func TestDropCountsReadAhead(t *testing.T) {
	srv := newServer(t, appwstest.Config{})
	c := dial(t, options(srv))
	nextAs[appws.ConnectComplete](t, c)
	ss := nextSession(t, srv)
	if err := ss.Burst(3, 50); err != nil {
		t.Fatal(err)
	}
	barrier(t, c)
	c.MessageComplete()
	if m := nextAs[appws.Message](t, c); m.MT != "Burst" {
		t.Fatalf("message: %s", m.Raw)
	}
	ss.Drop()
	cl := nextAs[appws.Closed](t, c)
	if cl.Err == nil || cl.Dropped != 2 {
		t.Errorf("Closed = %+v, want an error and Dropped 2", cl)
	}
	if st := c.Stats(); st.Dropped != 2 || st.MsgsIn != 4 {
		t.Errorf("Stats = %+v, want Dropped 2, MsgsIn 4 (3 and the barrier's reply)", st)
	}
}

func TestServerCloseEndsClientWithoutAutoReconnect(t *testing.T) {
	srv := newServer(t, appwstest.Config{})
	c := dial(t, options(srv))
	nextAs[appws.ConnectComplete](t, c)
	nextSession(t, srv).Close(4000, "bye")
	cl := nextAs[appws.Closed](t, c)
	if appws.CloseStatus(cl.Err) != 4000 {
		t.Fatalf("Closed = %+v, want close code 4000", cl)
	}
	if _, err := c.Send(context.Background(), map[string]string{"mt": "x"}); !errors.Is(err, appws.ErrClosed) {
		t.Errorf("Send after the end = %v, want ErrClosed", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close after the end = %v", err)
	}
}

func TestRequestReply(t *testing.T) {
	srv := newServer(t, appwstest.Config{})
	c := dial(t, options(srv))
	nextAs[appws.ConnectComplete](t, c)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	m, err := c.Request(ctx, json.RawMessage(`{"mt":"Ping","src":"mine","x":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if m.MT != "PingResult" || m.Src == "" || m.Src == "mine" {
		t.Errorf("reply %+v", m)
	}
	quiet(t, c) // the reply went to Request, not to Events, and no SendResult
}

// TestRequestWhileHoldingMessage: a reply is found behind more held
// Messages than ReadAhead.
func TestRequestWhileHoldingMessage(t *testing.T) {
	srv := newServer(t, appwstest.Config{})
	o := options(srv)
	o.ReadAhead = 4
	c := dial(t, o)
	nextAs[appws.ConnectComplete](t, c)
	ss := nextSession(t, srv)
	if err := ss.Burst(20, 50); err != nil {
		t.Fatal(err)
	}
	c.MessageComplete()
	held := nextAs[appws.Message](t, c)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if _, err := c.Request(ctx, map[string]string{"mt": "Q"}); err != nil {
		t.Fatalf("Request while holding %s: %v", held.Raw, err)
	}
	for i := 1; i < 20; i++ {
		c.MessageComplete()
		nextAs[appws.Message](t, c)
	}
}

// TestRequestFailsWhenSessionEnds: a Request whose message was written
// fails with ErrNoReply (the server may have acted on it); one that was never
// written fails with ErrSessionEnded (safe to retry).
func TestRequestFailsWhenSessionEnds(t *testing.T) {
	t.Run("written", func(t *testing.T) {
		srv := newServer(t, appwstest.Config{Handler: func(s *appwstest.Session, m appws.Message) { s.Drop() }})
		c := dial(t, options(srv))
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		_, err := c.Request(ctx, map[string]string{"mt": "Q"})
		if !errors.Is(err, appws.ErrNoReply) || errors.Is(err, appws.ErrSessionEnded) {
			t.Fatalf("Request = %v, want ErrNoReply", err)
		}
	})
	t.Run("not written", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			srv := memServer(t, appwstest.Config{Handler: barrierOnly})
			o := options(srv)
			o.PingInterval = -1
			c := dial(t, o)
			ss := nextSession(t, srv)
			ss.Stall() // the first message's write blocks; the Request waits behind it
			if _, err := c.Send(context.Background(), map[string]string{"mt": "First"}); err != nil {
				t.Fatal(err)
			}
			synctest.Wait()
			errc := make(chan error, 1)
			go func() {
				_, err := c.Request(context.Background(), map[string]string{"mt": "Q"})
				errc <- err
			}()
			synctest.Wait()
			ss.Drop()
			if err := <-errc; !errors.Is(err, appws.ErrSessionEnded) || errors.Is(err, appws.ErrNoReply) {
				t.Fatalf("Request = %v, want ErrSessionEnded", err)
			}
		})
	})
}

func TestBinaryAndInvalidMessagesAreIgnored(t *testing.T) {
	srv := newServer(t, appwstest.Config{})
	c := dial(t, options(srv))
	nextAs[appws.ConnectComplete](t, c)
	ss := nextSession(t, srv)
	_ = ss.SendBinary([]byte{1, 2, 3})
	for _, text := range []string{`not json`, `[1,2]`, `{"x":1}`, `{"mt":5}`, `{"mt":"Good"}`} {
		if err := ss.SendText(text); err != nil {
			t.Fatal(err)
		}
	}
	c.MessageComplete()
	if m := nextAs[appws.Message](t, c); m.MT != "Good" {
		t.Errorf("got %s", m.Raw)
	}
	if n := c.Stats().Ignored; n != 5 {
		t.Errorf("Ignored() = %d, want 5", n)
	}
}

func TestReadLimitEndsSession(t *testing.T) {
	srv := newServer(t, appwstest.Config{})
	o := options(srv)
	o.ReadLimit = 1000
	c := dial(t, o)
	nextAs[appws.ConnectComplete](t, c)
	if err := nextSession(t, srv).SendOversized(5000); err != nil {
		t.Fatal(err)
	}
	cl := nextAs[appws.Closed](t, c)
	var rl *appws.ReadLimitError
	if !errors.As(cl.Err, &rl) || rl.Limit != 1000 {
		t.Errorf("Closed.Err = %v, want a *ReadLimitError", cl.Err)
	}
}

func TestHandshakeRefused(t *testing.T) {
	srv := newServer(t, appwstest.Config{})
	for _, status := range []int{503, 401} {
		srv.RefuseUpgrades(1, status)
		_, err := appws.Dial(context.Background(), options(srv))
		var he *appws.HandshakeError
		if !errors.As(err, &he) || he.StatusCode != status {
			t.Errorf("Dial = %v, want a *HandshakeError %d", err, status)
		}
	}
}

func TestNotConnectedAfterDrop(t *testing.T) {
	srv := newServer(t, appwstest.Config{})
	o := options(srv)
	o.AutoReconnect = true
	o.MinBackoff, o.MaxBackoff = time.Hour, time.Hour // stay disconnected
	c := dial(t, o)
	nextAs[appws.ConnectComplete](t, c)
	nextSession(t, srv).Drop()
	d := nextAs[appws.Disconnected](t, c)
	if d.Session != 1 || d.Attempt != 0 || d.Err == nil || d.RetryIn != time.Hour {
		t.Errorf("Disconnected = %+v", d)
	}
	if _, err := c.Send(context.Background(), map[string]string{"mt": "x"}); !errors.Is(err, appws.ErrNotConnected) {
		t.Errorf("Send = %v, want ErrNotConnected", err)
	}
	if _, err := c.Encrypt("s", "d"); !errors.Is(err, appws.ErrNotConnected) {
		t.Errorf("Encrypt = %v, want ErrNotConnected", err)
	}
}

// TestSendSizes: the writer frames messages of every length class (7-bit,
// 16-bit and 64-bit payload lengths, and across the batch buffer).
func TestSendSizes(t *testing.T) {
	srv := newServer(t, appwstest.Config{ReadLimit: 1 << 20})
	o := options(srv)
	o.MaxMessageSize = 1 << 20
	c := dial(t, o)
	nextAs[appws.ConnectComplete](t, c)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for _, n := range []int{0, 1, 100, 125, 126, 65535, 65536, 70000, 200000} {
		text := strings.Repeat("y", n)
		m, err := c.Request(ctx, map[string]string{"mt": "Echo", "text": text})
		var body struct{ Echo struct{ Text string } }
		if err != nil || m.Decode(&body) != nil || body.Echo.Text != text {
			t.Fatalf("echo of %d bytes: %v", n, err)
		}
	}
}

// TestSendRefusesMessagesOverMaxMessageSize: innovaphone servers take at
// most 65535 bytes a message; a larger one is an error at the call, for Send,
// SendText and Request alike, and gets no SendResult.
func TestSendRefusesMessagesOverMaxMessageSize(t *testing.T) {
	srv := newServer(t, appwstest.Config{Handler: barrierOnly})
	c := dial(t, options(srv))
	nextAs[appws.ConnectComplete](t, c)
	ctx := context.Background()
	msg := func(n int) []byte { // a message of exactly n bytes
		head := `{"mt":"x","pad":"`
		return []byte(head + strings.Repeat("p", n-len(head)-2) + `"}`)
	}
	var tooLarge *appws.MessageTooLargeError
	if _, err := c.Send(ctx, json.RawMessage(msg(65536))); !errors.As(err, &tooLarge) || tooLarge.Size != 65536 || tooLarge.Limit != 65535 {
		t.Errorf("Send of 65536 bytes = %v, want *MessageTooLargeError", err)
	}
	if _, err := c.SendText(ctx, string(msg(70000))); !errors.As(err, &tooLarge) {
		t.Errorf("SendText of 70000 bytes = %v, want *MessageTooLargeError", err)
	}
	if _, err := c.Request(ctx, json.RawMessage(msg(65530))); !errors.As(err, &tooLarge) {
		t.Errorf("Request growing to over 65535 bytes with its src = %v, want *MessageTooLargeError", err)
	}
	id, err := c.Send(ctx, json.RawMessage(msg(65535)))
	if err != nil {
		t.Fatalf("Send of 65535 bytes: %v", err)
	}
	if r := nextAs[appws.SendResult](t, c); r.ID != id || r.Err != nil {
		t.Errorf("first SendResult %+v, want the one for id %d: refused sends get none", r, id)
	}
}

func TestTLSVerifiesByDefault(t *testing.T) {
	srv := appwstest.NewTLSServer(appwstest.Config{Apps: map[string]string{testApp: testPass}, ReadLimit: 1 << 20})
	defer srv.Close()
	o := options(srv)
	if _, err := appws.Dial(context.Background(), o); err == nil {
		t.Fatal("Dial to a self-signed server succeeded without its CA")
	}
	o.AutoReconnect = true // an untrusted certificate is permanent: no retries, no deadline needed
	var cv *tls.CertificateVerificationError
	if _, err := appws.Dial(context.Background(), o); !errors.As(err, &cv) {
		t.Fatalf("Dial with AutoReconnect = %v, want a certificate error at once", err)
	}
	o.AutoReconnect = false
	o.TLSConfig = tlsConfig(srv)
	o.MaxMessageSize = 1 << 20
	c, err := appws.Dial(context.Background(), o)
	if err != nil {
		t.Fatalf("Dial with the CA: %v", err)
	}
	defer closeAndDrain(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	big := strings.Repeat("x", 100000)
	for _, text := range []string{"small", big} { // through gorilla's framing under TLS
		m, err := c.Request(ctx, map[string]string{"mt": "Echo", "text": text})
		var body struct{ Echo struct{ Text string } }
		if err != nil || m.Decode(&body) != nil || body.Echo.Text != text {
			t.Fatalf("Request over wss: %v", err)
		}
	}
}

func tlsConfig(srv *appwstest.Server) *tls.Config {
	return &tls.Config{RootCAs: srv.CertPool()}
}

// TestKeepAliveWhenIdle: after KeepAliveInterval without a message out, the
// client sends {"mt":"KeepAlive"}.
func TestKeepAliveWhenIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := memServer(t, appwstest.Config{ReplyKeepAlive: true})
		o := options(srv)
		o.PingInterval = -1
		c := dial(t, o)
		nextAs[appws.ConnectComplete](t, c)
		c.MessageComplete()
		start := time.Now()
		m := nextAs[appws.Message](t, c)
		if m.MT != "KeepAliveResult" {
			t.Fatalf("got %s", m.Raw)
		}
		if d := time.Since(start); d < 60*time.Second || d > 61*time.Second {
			t.Errorf("KeepAlive after %v of silence, want 60 s", d)
		}
	})
}

// TestHoldingAMessageNeverTriggersThePingTimeout (rule 4): the reader is
// paused for ten minutes of (fake) time while pings are due every second.
func TestHoldingAMessageNeverTriggersThePingTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := memServer(t, appwstest.Config{})
		o := options(srv)
		o.PingInterval, o.PongTimeout = time.Second, time.Second
		o.ReadAhead = 2
		c := dial(t, o)
		nextAs[appws.ConnectComplete](t, c)
		ss := nextSession(t, srv)
		go func() { _ = ss.Burst(50, 100) }()
		c.MessageComplete()
		nextAs[appws.Message](t, c) // held
		time.Sleep(10 * time.Minute)
		for range 49 {
			c.MessageComplete()
			nextAs[appws.Message](t, c)
		}
		quiet(t, c) // no Closed: the session is still up
		if _, err := c.Send(context.Background(), map[string]string{"mt": "x"}); err != nil {
			t.Errorf("Send after holding: %v", err)
		}
	})
}

// TestPingTimeoutFindsADeadServer: a server that stops answering (a
// half-open connection) is given up after PingInterval+PongTimeout.
func TestPingTimeoutFindsADeadServer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := memServer(t, appwstest.Config{})
		o := options(srv)
		o.PingInterval, o.PongTimeout = 10*time.Second, 5*time.Second
		c := dial(t, o)
		nextAs[appws.ConnectComplete](t, c)
		nextSession(t, srv).StopPongs()
		start := time.Now()
		cl := nextAs[appws.Closed](t, c)
		if !errors.Is(cl.Err, appws.ErrPingTimeout) {
			t.Errorf("Closed.Err = %v, want ErrPingTimeout", cl.Err)
		}
		if d := time.Since(start); d < 15*time.Second || d > 16*time.Second {
			t.Errorf("gave up after %v, want 15 s", d)
		}
	})
}
