package appwstest_test

import (
	"errors"
	"net"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/appwebsocket/appws/appwstest"
	"github.com/gorilla/websocket"
)

// These tests run an in-memory server inside a testing/synctest bubble:
// time is fake, and the bubble fails if any goroutine outlives Close.

func newMemServer(cfg appwstest.Config) *appwstest.Server {
	cfg.InMemory = true
	if cfg.Apps == nil {
		cfg.Apps = map[string]string{testApp: testPassword}
	}
	return appwstest.NewServer(cfg)
}

func TestInMemoryServerInSynctest(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv := newMemServer(appwstest.Config{})
		defer srv.Close()
		if srv.URL != "ws://appwstest.invalid/appws" {
			t.Fatalf("URL %s", srv.URL)
		}
		c := dial(t, srv)
		c.login(testApp, testPassword)
		ss := nextSession(t, srv)
		c.send(`{"mt":"Hi","src":"s"}`)
		if r := c.read(); r["mt"] != "HiResult" || r["src"] != "s" {
			t.Fatalf("echo %v", r)
		}
		// A net.Pipe buffers nothing: a send completes when the client
		// reads, so send from another goroutine.
		errc := make(chan error, 1)
		go func() { errc <- srv.Push(map[string]string{"mt": "All"}) }()
		if r := c.read(); r["mt"] != "All" {
			t.Fatalf("push %v", r)
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		go ss.Close(1000, "done")
		c.expectClose(1000)
		<-ss.Done()
		srv.Close()
		if _, err := srv.DialContext(t.Context(), "tcp", "ignored:1"); err == nil {
			t.Fatal("dial after Close succeeded")
		}
	})
}

func TestInMemoryTLSServerInSynctest(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv := appwstest.NewTLSServer(appwstest.Config{InMemory: true, Apps: map[string]string{testApp: testPassword}})
		defer srv.Close()
		if !strings.HasPrefix(srv.URL, "wss://appwstest.invalid/") {
			t.Fatalf("URL %s", srv.URL)
		}
		dial(t, srv).login(testApp, testPassword)
	})
}

// TestLoginDelayInSynctest: SetLoginDelay holds back the AppLoginResult by
// the delay, exactly; SetLoginDelay(0) ends that.
func TestLoginDelayInSynctest(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv := newMemServer(appwstest.Config{})
		defer srv.Close()
		srv.SetLoginDelay(3 * time.Second)
		c := dial(t, srv)
		ch := c.challenge()
		start := time.Now()
		if r := c.loginResult(passwordLogin(testApp, "", ch, testPassword)); r["ok"] != true {
			t.Fatalf("login failed: %v", r)
		}
		if d := time.Since(start); d != 3*time.Second {
			t.Fatalf("login result after %v, want 3s", d)
		}
		srv.SetLoginDelay(0)
		start = time.Now()
		dial(t, srv).login(testApp, testPassword)
		if d := time.Since(start); d != 0 {
			t.Fatalf("login after SetLoginDelay(0) took %v", d)
		}
	})
}

// TestBurstBlocksUntilRead: Burst returns only when the client has taken
// every byte (a net.Pipe buffers nothing).
func TestBurstBlocksUntilRead(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv := newMemServer(appwstest.Config{})
		defer srv.Close()
		c, ss := loggedIn(t, srv)
		errc := make(chan error, 1)
		go func() { errc <- ss.Burst(3, 100) }()
		synctest.Wait()
		select {
		case err := <-errc:
			t.Fatalf("Burst returned %v before the client read", err)
		default:
		}
		for i := range 3 {
			if r := c.read(); r["n"] != float64(i) {
				t.Fatalf("message %d: %v", i, r)
			}
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	})
}

// TestStallInSynctest: a stalled in-memory session takes no more bytes, so
// the client's write runs into its deadline. The read that was in progress
// when Stall was called still completes (the first write), but its data is
// held back until Resume.
func TestStallInSynctest(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv := newMemServer(appwstest.Config{})
		defer srv.Close()
		c, ss := loggedIn(t, srv)
		synctest.Wait() // the session is now blocked reading
		ss.Stall()
		c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if err := c.ws.WriteMessage(websocket.TextMessage, []byte(`{"mt":"Held"}`)); err != nil {
			t.Fatalf("first write: %v", err)
		}
		err := c.ws.WriteMessage(websocket.TextMessage, []byte(`{"mt":"Blocked"}`))
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("write to a stalled session: %v", err)
		}
		synctest.Wait()
		if n := len(ss.Received()); n != 0 {
			t.Fatalf("stalled session received %d", n)
		}
		ss.Resume()
		msgs, err := ss.WaitReceived(t.Context(), 1)
		if err != nil || msgs[0].MT != "Held" {
			t.Fatalf("after Resume: %v, %v", msgs, err)
		}
	})
}

// TestSessionCloseClientNotReading: Close does not hang when the client
// reads nothing: after a second the connection is dropped.
func TestSessionCloseClientNotReading(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv := newMemServer(appwstest.Config{})
		defer srv.Close()
		_, ss := loggedIn(t, srv)
		start := time.Now()
		ss.Close(1000, "")
		<-ss.Done()
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("session ended %v after Close", d)
		}
	})
}

// TestCloseWaitsForClosingHandshake: after its close frame the server waits
// for the client's close frame (up to a second) before closing the socket.
func TestCloseWaitsForClosingHandshake(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv := newMemServer(appwstest.Config{})
		defer srv.Close()
		c, ss := loggedIn(t, srv)
		go ss.Close(4000, "bye")
		c.ws.SetReadDeadline(time.Now().Add(time.Minute))
		_, _, err := c.ws.ReadMessage() // gorilla answers the close frame
		if !websocket.IsCloseError(err, 4000) {
			t.Fatalf("read: %v", err)
		}
		start := time.Now()
		<-ss.Done()
		if d := time.Since(start); d != 0 {
			t.Fatalf("session ended %v after the client's close frame", d)
		}
	})
}

// TestStallWithoutPings: a stalled session answers no pings; after Resume it
// does. In the bubble "no pong" is a fact once every goroutine is blocked,
// not a guess after a sleep.
func TestStallWithoutPings(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv := newMemServer(appwstest.Config{})
		defer srv.Close()
		c, ss := loggedIn(t, srv)
		pongs, _ := pongCounter(c)
		synctest.Wait() // the session is now blocked reading
		ss.Stall()
		ping(t, c) // taken by the read in progress, held by the stall
		synctest.Wait()
		if n := pongs.count(); n != 0 {
			t.Fatalf("stalled session answered %d pings", n)
		}
		ss.Resume()
		synctest.Wait()
		if n := pongs.count(); n != 1 {
			t.Fatalf("%d pongs after Resume, want 1", n)
		}
	})
}
