package appws_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/appwstest"
)

// Tests for paths no other test reached (issue 12): each names the rule it
// holds the code to.

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

// connectProxy is an HTTP proxy that tunnels CONNECT requests to srv (the
// one setup in which gorilla, not appws, writes a wss session's frames); it
// returns its address and counts the tunnels in connects, if not nil.
func connectProxy(t *testing.T, srv *appwstest.Server, connects *atomic.Int32) string {
	t.Helper()
	proxy := newRawServer(t, false, func(_ int, conn net.Conn) {
		br := bufio.NewReader(conn)
		req, err := http.ReadRequest(br)
		if err != nil || req.Method != http.MethodConnect {
			return
		}
		if connects != nil {
			connects.Add(1)
		}
		target, err := srv.DialContext(context.Background(), "tcp", req.Host)
		if err != nil {
			return
		}
		defer target.Close()
		if _, err := io.WriteString(conn, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
			return
		}
		go func() {
			_, _ = io.Copy(target, br)
			target.Close()
		}()
		_, _ = io.Copy(conn, target)
	})
	return proxy.ln.Addr().String()
}

// TestWSSWriteFailureEndsTheSession: when a write fails on a wss session,
// through a proxy (gorilla's TLS) or not (appws's own framing), the session
// ends with a typed *ConnectionError that unwraps to the cause, and the
// send that failed gets a SendResult whose Err wraps ErrSessionEnded and
// the cause and says why.
func TestWSSWriteFailureEndsTheSession(t *testing.T) {
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

// fakeAuth is an Authenticator that answers every GetLogin with login, err.
type fakeAuth struct {
	login *appws.Login
	err   error
}

func (a fakeAuth) GetLogin(context.Context, string, string) (*appws.Login, error) {
	return a.login, a.err
}

// TestAuthenticatorFailureFailsTheLogin: an Authenticator's error ends the
// login attempt with that error wrapped (ErrAuthenticatorClosed as itself);
// an Authenticator that returns neither login nor error is an error too,
// not a nil dereference.
func TestAuthenticatorFailureFailsTheLogin(t *testing.T) {
	errPBX := errors.New("the PBX says no")
	for _, tc := range []struct {
		name string
		auth fakeAuth
		is   error
		text string
	}{
		{"error", fakeAuth{err: errPBX}, errPBX, "appws: login: authenticator: the PBX says no"},
		{"closed", fakeAuth{err: fmt.Errorf("gone: %w", appws.ErrAuthenticatorClosed)}, appws.ErrAuthenticatorClosed, appws.ErrAuthenticatorClosed.Error()},
		{"no login", fakeAuth{}, nil, "appws: login: authenticator returned no login"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, appwstest.Config{InMemory: true})
			o := options(srv)
			o.Password = ""
			o.Authenticator = tc.auth
			_, err := appws.Dial(context.Background(), o)
			if err == nil || tc.is != nil && !errors.Is(err, tc.is) || err.Error() != tc.text {
				t.Fatalf("Dial = %v, want %q", err, tc.text)
			}
		})
	}
}

// TestServicesAuthenticatorOfAClosedPBXIsClosed: once the PBX client has
// ended, GetLogin says ErrAuthenticatorClosed (and a client using it ends
// with Closed{Err: ErrAuthenticatorClosed}, API.md rule 6).
func TestServicesAuthenticatorOfAClosedPBXIsClosed(t *testing.T) {
	srv := newServer(t, appwstest.Config{InMemory: true})
	pbx := dial(t, options(srv))
	closeAndDrain(t, pbx)
	_, err := appws.ServicesAuthenticator(pbx).GetLogin(context.Background(), "target", "1234")
	if !errors.Is(err, appws.ErrAuthenticatorClosed) {
		t.Fatalf("GetLogin on a closed PBX client = %v, want ErrAuthenticatorClosed", err)
	}
}

// TestSessionKeyHelpersAfterClose: Encrypt, Decrypt and Hash say ErrClosed
// once the client ended (API.md rule 9), and Session is 0.
func TestSessionKeyHelpersAfterClose(t *testing.T) {
	srv := newServer(t, appwstest.Config{InMemory: true})
	c := dial(t, options(srv))
	nextAs[appws.ConnectComplete](t, c)
	if c.Session() != 1 {
		t.Errorf("Session() = %d while session 1 is up", c.Session())
	}
	closeAndDrain(t, c)
	if _, err := c.Encrypt("s", "d"); !errors.Is(err, appws.ErrClosed) {
		t.Errorf("Encrypt after Close: %v", err)
	}
	if _, err := c.Decrypt("s", "00"); !errors.Is(err, appws.ErrClosed) {
		t.Errorf("Decrypt after Close: %v", err)
	}
	if _, err := c.Hash("s", "d"); !errors.Is(err, appws.ErrClosed) {
		t.Errorf("Hash after Close: %v", err)
	}
	if s := c.Session(); s != 0 {
		t.Errorf("Session() = %d after Close, want 0", s)
	}
}

// TestRequestErrors: a Request that is not a valid message fails at the
// call; one over MaxMessageSize says its size and the limit; one whose
// session ends after the write says ErrNoReply and why.
func TestRequestErrors(t *testing.T) {
	srv := newServer(t, appwstest.Config{InMemory: true, Handler: func(s *appwstest.Session, m appws.Message) {
		if m.MT == "Crash" {
			s.Drop()
		}
	}})
	o := options(srv)
	o.MaxMessageSize = 100
	c := dial(t, o)
	nextAs[appws.ConnectComplete](t, c)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()

	var ce *appws.ConfigError
	if _, err := c.Request(ctx, map[string]int{"mt": 1}); !errors.As(err, &ce) {
		t.Errorf("Request without a string mt = %v, want a *ConfigError", err)
	}
	_, err := c.Request(ctx, map[string]string{"mt": "Big", "text": strings.Repeat("x", 200)})
	var tl *appws.MessageTooLargeError
	if !errors.As(err, &tl) || tl.Limit != 100 ||
		err.Error() != fmt.Sprintf("appws: message of %d bytes exceeds MaxMessageSize of 100", tl.Size) {
		t.Errorf("Request over MaxMessageSize = %v", err)
	}
	_, err = c.Request(ctx, map[string]string{"mt": "Crash"})
	var le *appws.ConnectionError
	if !errors.Is(err, appws.ErrNoReply) || !errors.As(err, &le) ||
		!strings.HasPrefix(err.Error(), appws.ErrNoReply.Error()+": ") {
		t.Errorf("Request whose session dropped = %v, want ErrNoReply and the ConnectionError", err)
	}
}

// TestAuthenticatorClosedWhileWaitingToReconnect: a client that logs in
// through a Services authenticator and lost its session ends with
// Closed{Err: ErrAuthenticatorClosed} when the PBX client ends during the
// reconnect backoff, without waiting for the next attempt (API.md rule 6).
func TestAuthenticatorClosedWhileWaitingToReconnect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const target = "target-app"
		srv := memServer(t, appwstest.Config{
			Apps:     map[string]string{"pbx": "pbx-pw", target: "target-pw"},
			Services: map[string]appwstest.ServiceTarget{target: {Password: "target-pw"}},
		})
		po := options(srv)
		po.App, po.Password = "pbx", "pbx-pw"
		pbx := dial(t, po)
		nextAs[appws.ConnectComplete](t, pbx)
		nextSession(t, srv)

		bo := options(srv)
		bo.App, bo.Password = target, ""
		bo.Authenticator = appws.ServicesAuthenticator(pbx)
		bo.AutoReconnect = true
		bo.PingInterval = -1
		b := dial(t, bo)
		nextAs[appws.ConnectComplete](t, b)
		nextSession(t, srv).Drop()
		if d := nextAs[appws.Disconnected](t, b); d.RetryIn <= 0 {
			t.Fatalf("Disconnected %+v, want a backoff", d)
		}

		closeAndDrain(t, pbx)
		if cl := nextAs[appws.Closed](t, b); !errors.Is(cl.Err, appws.ErrAuthenticatorClosed) {
			t.Errorf("Closed.Err = %v, want ErrAuthenticatorClosed", cl.Err)
		}
	})
}
