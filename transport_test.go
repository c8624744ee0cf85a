package appws_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gorilla/websocket"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/appwstest"
)

// TestEndlessEmptyContinuationFramesEndTheSession: a server that starts a
// message and then sends nothing but empty continuation frames and pings
// keeps no session alive: within a message only payload counts as a sign of
// life, so it ends with ErrPingTimeout after PingInterval+PongTimeout.
func TestEndlessEmptyContinuationFramesEndTheSession(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newScripted(t, func(ws *websocket.Conn) {
			if !acceptLogin(ws) {
				return
			}
			defer readAlong(ws)()
			conn := ws.UnderlyingConn()
			if _, err := conn.Write([]byte{0x01, 0x01, '{'}); err != nil { // text, not final
				return
			}
			for range 3600 { // an hour of fake time, if nothing stops it
				time.Sleep(100 * time.Millisecond)
				// An empty continuation frame, then a ping.
				if _, err := conn.Write([]byte{0x00, 0x00, 0x89, 0x00}); err != nil {
					return
				}
			}
		})
		o := srv.options()
		o.PingInterval, o.PongTimeout = 10*time.Second, 5*time.Second
		c := dial(t, o)
		nextAs[appws.ConnectComplete](t, c)
		start := time.Now()
		cl := nextAs[appws.Closed](t, c)
		if !errors.Is(cl.Err, appws.ErrPingTimeout) {
			t.Errorf("Closed.Err = %v, want ErrPingTimeout", cl.Err)
		}
		if d := time.Since(start); d > 16*time.Second {
			t.Errorf("the session lived %v on empty frames, want at most 15 s", d)
		}
	})
}

// readAlong reads (and so answers the client's pings) while a script
// writes; the returned func closes the connection and waits for the reader.
func readAlong(ws *websocket.Conn) func() {
	// Pongs without a write deadline: gorilla's default one would be left
	// on the connection and fail the script's own raw writes.
	ws.SetPingHandler(func(data string) error {
		return ws.WriteControl(websocket.PongMessage, []byte(data), time.Time{})
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		discard(ws)
	}()
	return func() {
		ws.UnderlyingConn().Close()
		<-done
	}
}

// TestSlowMessageIsReadToItsEnd: a big message that trickles in (1 KiB per
// second, 60 KiB in all, far longer than PingInterval+PongTimeout) is
// payload all along: it is read whole.
func TestSlowMessageIsReadToItsEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const size = 60 << 10
		srv := newScripted(t, func(ws *websocket.Conn) {
			if !acceptLogin(ws) {
				return
			}
			defer readAlong(ws)()
			w, err := ws.NextWriter(websocket.TextMessage)
			if err != nil {
				return
			}
			payload := []byte(`{"mt":"Slow","pad":"`)
			pad := make([]byte, size-len(payload)-2)
			for i := range pad {
				pad[i] = 'x'
			}
			payload = append(append(payload, pad...), '"', '}')
			for len(payload) > 0 {
				n := min(1<<10, len(payload))
				if _, err := w.Write(payload[:n]); err != nil {
					return
				}
				payload = payload[n:]
				time.Sleep(time.Second)
			}
			_ = w.Close()
			time.Sleep(time.Hour) // until the test ends
		})
		o := srv.options()
		o.PingInterval, o.PongTimeout = 10*time.Second, 5*time.Second
		c := dial(t, o)
		nextAs[appws.ConnectComplete](t, c)
		c.MessageComplete()
		if m := nextAs[appws.Message](t, c); m.MT != "Slow" || len(m.Raw) != size {
			t.Fatalf("got %s of %d bytes", m.MT, len(m.Raw))
		}
	})
}

// TestKeepAliveAfterExactlyTheIntervalOfSilence: like innovaphone's
// clients, the KeepAlive goes out KeepAliveInterval after the last message
// in either direction, not on a fixed tick: messages received and sent
// push it back.
func TestKeepAliveAfterExactlyTheIntervalOfSilence(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, ss := memLoggedIn(t, appwstest.Config{Handler: barrierOnly})
		keepAlives := func() int {
			n := 0
			for _, m := range ss.Received() {
				if m.MT == "KeepAlive" {
					n++
				}
			}
			return n
		}
		time.Sleep(40 * time.Second)
		if _, err := c.Send(context.Background(), map[string]string{"mt": "Note"}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(40 * time.Second) // 80 s in, 40 s after the send
		synctest.Wait()
		if n := keepAlives(); n != 0 {
			t.Fatalf("%d KeepAlives 40 s after a send, want none", n)
		}
		if err := ss.Send(map[string]string{"mt": "Push"}); err != nil { // received at 80 s
			t.Fatal(err)
		}
		time.Sleep(59 * time.Second)
		synctest.Wait()
		if n := keepAlives(); n != 0 {
			t.Fatalf("%d KeepAlives 59 s after a received message, want none", n)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if n := keepAlives(); n != 1 {
			t.Fatalf("%d KeepAlives 61 s after the last message, want 1", n)
		}
	})
}

// TestServerCloseCodeWithoutGorilla: the close code the server sent is
// found with appws.CloseStatus, without importing gorilla.
func TestServerCloseCodeWithoutGorilla(t *testing.T) {
	srv := newServer(t, appwstest.Config{})
	c := dial(t, options(srv))
	nextAs[appws.ConnectComplete](t, c)
	nextSession(t, srv).Close(4000, "bye")
	cl := nextAs[appws.Closed](t, c)
	var ce *appws.CloseError
	if !errors.As(cl.Err, &ce) || ce.Code != 4000 || ce.Text != "bye" || appws.CloseStatus(cl.Err) != 4000 {
		t.Fatalf("Closed.Err = %v, want a *CloseError 4000 \"bye\"", cl.Err)
	}
}

// TestDropIsAConnectionError: a connection lost without a close frame is a
// *ConnectionError, with no close status.
func TestDropIsAConnectionError(t *testing.T) {
	srv := newServer(t, appwstest.Config{})
	c := dial(t, options(srv))
	nextAs[appws.ConnectComplete](t, c)
	nextSession(t, srv).Drop()
	cl := nextAs[appws.Closed](t, c)
	var ce *appws.ConnectionError
	if !errors.As(cl.Err, &ce) || appws.CloseStatus(cl.Err) != -1 {
		t.Fatalf("Closed.Err = %v, want a *ConnectionError without close status", cl.Err)
	}
}

// errInjected is the write error a failingConn returns once armed.
var errInjected = errors.New("injected write failure")

// failingConn is a connection whose writes fail once fail is set, as a
// socket does after the network broke.
type failingConn struct {
	net.Conn
	fail *atomic.Bool
}

func (c failingConn) Write(p []byte) (int, error) {
	if c.fail.Load() {
		return 0, errInjected
	}
	return c.Conn.Write(p)
}

// TestWSSWriteFailureEndsTheSession: when a write fails on a wss session,
// through a proxy (gorilla's TLS) or not (appws's own framing), the session
// ends with a typed *ConnectionError that unwraps to the cause, and the
// send that failed gets a SendResult whose Err wraps ErrSessionEnded and
// the cause and says why.
func TestWSSWriteFailureEndsTheSession(t *testing.T) {
	t.Parallel()
	for _, viaProxy := range []bool{false, true} {
		name := "direct"
		if viaProxy {
			name = "proxy"
		}
		t.Run(name, func(t *testing.T) {
			srv := appwstest.NewTLSServer(appwstest.Config{Apps: map[string]string{testApp: testPass}, Handler: barrierOnly})
			defer srv.Close()
			var fail atomic.Bool
			o := options(srv)
			o.TLSConfig = tlsConfig(srv)
			o.PingInterval = -1
			o.MaxMessageSize = 200000
			o.NetDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
				var d net.Dialer
				conn, err := d.DialContext(ctx, network, addr)
				if err != nil {
					return nil, err
				}
				return failingConn{Conn: conn, fail: &fail}, nil
			}
			if viaProxy {
				proxyAddr := connectProxy(t, srv, nil)
				o.NoProxy = false
				o.Proxy = http.ProxyURL(&url.URL{Scheme: "http", Host: proxyAddr})
			}
			c, err := appws.Dial(context.Background(), o)
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			defer closeAndDrain(t, c)
			nextAs[appws.ConnectComplete](t, c)

			// Bigger than the write batch, so that the write itself fails,
			// not only the flush after it.
			fail.Store(true)
			id, err := c.Send(context.Background(), map[string]string{"mt": "Lost", "text": strings.Repeat("x", 100000)})
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			// The SendResult says what became of the message (ErrSessionEnded,
			// the one value, so that the runs of many sessions join); the event
			// that ends the session says why.
			res := nextAs[appws.SendResult](t, c)
			if res.ID != id || res.Err != appws.ErrSessionEnded {
				t.Fatalf("SendResult %+v, want id %d failed with ErrSessionEnded", res, id)
			}
			closed := nextAs[appws.Closed](t, c)
			var ce *appws.ConnectionError
			if !errors.As(closed.Err, &ce) || !errors.Is(closed.Err, errInjected) {
				t.Fatalf("Closed.Err = %v (%T), want a *ConnectionError wrapping the write error", closed.Err, closed.Err)
			}
			if appws.CloseStatus(closed.Err) != -1 {
				t.Errorf("a write failure has close status %d, want -1", appws.CloseStatus(closed.Err))
			}
		})
	}
}
