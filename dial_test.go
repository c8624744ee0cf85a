package appws_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/appwstest"
)

// The transport under a session, against raw servers that speak bytes, not
// websocket: the upgrade bounded by ctx and by MaxHandshakeBytes, wss:// on
// the same write path as ws://, write deadlines that a slow but steady
// server never trips, and what a refused upgrade reports.

// rawServer listens on 127.0.0.1 and runs handle on every connection (after
// a TLS handshake when it has a certificate). When the test ends it closes
// done, the listener and every connection, and waits for its goroutines.
type rawServer struct {
	ln     net.Listener
	secure bool
	pool   *x509.CertPool // the client's trust for a TLS server
	done   chan struct{}
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  []net.Conn
	n      atomic.Int32 // connections accepted
	handle func(conn net.Conn)
}

// start serves conn.
func (s *rawServer) start(conn net.Conn) {
	s.mu.Lock()
	s.conns = append(s.conns, conn)
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.handle(conn)
	}()
}

// dialPipe is a NetDialContext that connects to s in memory (net.Pipe):
// unlike TCP, nothing buffers between client and server, so the server's
// reads pace the client's writes exactly.
func (s *rawServer) dialPipe(context.Context, string, string) (net.Conn, error) {
	client, server := net.Pipe()
	s.start(server)
	return client, nil
}

func newRawServer(t testing.TB, secure bool, handle func(n int, conn net.Conn)) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawServer{ln: ln, secure: secure, done: make(chan struct{})}
	var cfg *tls.Config
	if secure {
		var cert tls.Certificate
		cert, s.pool = testCert(t)
		cfg = &tls.Config{Certificates: []tls.Certificate{cert}}
	}
	s.handle = func(conn net.Conn) {
		defer conn.Close()
		n := int(s.n.Add(1))
		if cfg != nil {
			tc := tls.Server(conn, cfg)
			if tc.Handshake() != nil {
				return
			}
			conn = tc
		}
		handle(n, conn)
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			s.start(conn)
		}
	}()
	t.Cleanup(func() {
		close(s.done)
		ln.Close()
		s.mu.Lock()
		for _, c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

// options returns client options for s; wss:// ones trust its certificate.
func (s *rawServer) options() appws.Options {
	o := appws.Options{
		URL:      "ws://" + s.ln.Addr().String() + "/appws",
		App:      testApp,
		Password: testPass,
		NoProxy:  true,
	}
	if s.secure {
		o.URL = "wss://" + s.ln.Addr().String() + "/appws"
		o.TLSConfig = &tls.Config{RootCAs: s.pool}
	}
	return o
}

// testCert makes a self-signed certificate for 127.0.0.1.
func testCert(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "rawServer"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// upgrade reads the upgrade request on conn and answers it with gorilla's
// Upgrader; nil when that failed.
func upgrade(conn net.Conn) *websocket.Conn {
	br := bufio.NewReader(conn)
	req, err := http.ReadRequest(br)
	if err != nil {
		return nil
	}
	w := &hijacker{conn: conn, brw: bufio.NewReadWriter(br, bufio.NewWriter(conn)), h: http.Header{}}
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	ws, err := up.Upgrade(w, req, nil)
	if err != nil {
		return nil
	}
	return ws
}

// readRequestThenHang reads the upgrade request, reports it on reached and
// then reads and drops whatever comes, never answering.
func readRequestThenHang(conn net.Conn, reached chan<- struct{}) {
	if _, err := http.ReadRequest(bufio.NewReader(conn)); err != nil {
		return
	}
	reached <- struct{}{}
	_, _ = io.Copy(io.Discard, conn)
}

// TestCancelDuringUpgrade: against a server that accepts the connection (and
// for wss:// completes TLS) but never answers the upgrade request, a cancel
// of Dial's ctx ends Dial at once with context.Canceled, not after
// HandshakeTimeout (10 s).
func TestCancelDuringUpgrade(t *testing.T) {
	for _, secure := range []bool{false, true} {
		t.Run(map[bool]string{false: "ws", true: "wss"}[secure], func(t *testing.T) {
			reached := make(chan struct{}, 1)
			srv := newRawServer(t, secure, func(_ int, conn net.Conn) { readRequestThenHang(conn, reached) })
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			errc := make(chan error, 1)
			go func() {
				c, err := appws.Dial(ctx, srv.options())
				if c != nil {
					c.Close()
				}
				errc <- err
			}()
			<-reached
			start := time.Now()
			cancel()
			err := <-errc
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("Dial returned %v after the cancel, want at once", took)
			}
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Dial = %v, want context.Canceled", err)
			}
		})
	}
}

// TestCloseDuringStuckReconnect: Close while a reconnect waits for an
// upgrade response that never comes returns at once.
func TestCloseDuringStuckReconnect(t *testing.T) {
	reached := make(chan struct{}, 1)
	srv := newRawServer(t, false, func(n int, conn net.Conn) {
		if n > 1 {
			readRequestThenHang(conn, reached)
			return
		}
		if ws := upgrade(conn); ws != nil {
			acceptLogin(ws) // and drop the connection
		}
	})
	o := srv.options()
	o.AutoReconnect = true
	o.MinBackoff, o.MaxBackoff = time.Millisecond, time.Millisecond
	c := dial(t, o)
	nextAs[appws.ConnectComplete](t, c)
	nextAs[appws.Disconnected](t, c)
	<-reached
	start := time.Now()
	c.Close()
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Close took %v during a stuck upgrade, want at once", took)
	}
	if cl := drain(t, c); cl.Err != nil {
		t.Errorf("Closed.Err = %v, want nil", cl.Err)
	}
}

// TestEndlessUpgradeHeaders: an upgrade response whose header lines (or one
// header line) never end fails the attempt with ErrHandshakeTooLarge once
// MaxHandshakeBytes are read, long before HandshakeTimeout and with little
// memory. A normal upgrade fits in a small MaxHandshakeBytes.
func TestEndlessUpgradeHeaders(t *testing.T) {
	lines := map[string]string{
		"many lines": strings.Repeat("X-Filler: 0123456789abcdef0123456789abcdef\r\n", 100),
		"one line":   strings.Repeat("0123456789abcdef", 256),
	}
	for name, chunk := range lines {
		t.Run(name, func(t *testing.T) {
			srv := newRawServer(t, false, func(_ int, conn net.Conn) {
				if _, err := http.ReadRequest(bufio.NewReader(conn)); err != nil {
					return
				}
				head := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
				if name == "one line" {
					head += "X-Filler: "
				}
				if _, err := io.WriteString(conn, head); err != nil {
					return
				}
				for {
					if _, err := io.WriteString(conn, chunk); err != nil {
						return
					}
				}
			})
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			_, err := appws.Dial(context.Background(), srv.options())
			took := time.Since(start)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, appws.ErrHandshakeTooLarge) {
				t.Errorf("Dial = %v, want ErrHandshakeTooLarge", err)
			}
			if took > 2*time.Second {
				t.Errorf("Dial took %v, want at once", took)
			}
			if n := after.TotalAlloc - before.TotalAlloc; n > 8<<20 {
				t.Errorf("%d bytes allocated for an endless upgrade response", n)
			}
		})
	}

	t.Run("normal upgrade", func(t *testing.T) {
		srv := newServer(t, appwstest.Config{})
		o := options(srv)
		o.MaxHandshakeBytes = 512
		c := dial(t, o)
		nextAs[appws.ConnectComplete](t, c)
	})
}

// echoSizes sends texts of 5 bytes and 100 KB in Echo requests and checks
// the replies.
func echoSizes(t *testing.T, c *appws.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for _, text := range []string{"small", strings.Repeat("x", 100000)} {
		m, err := c.Request(ctx, map[string]string{"mt": "Echo", "text": text})
		var body struct{ Echo struct{ Text string } }
		if err != nil || m.Decode(&body) != nil || body.Echo.Text != text {
			t.Fatalf("echo of %d bytes: %v", len(text), err)
		}
	}
}

// TestWSSSendAndReceive: over wss:// (with the scheme in any case)
// messages of 5 bytes and 100 KB go both ways; the server's certificate is
// verified unless TLSConfig says otherwise.
func TestWSSSendAndReceive(t *testing.T) {
	srv := appwstest.NewTLSServer(appwstest.Config{Apps: map[string]string{testApp: testPass}, ReadLimit: 1 << 20})
	defer srv.Close()
	o := options(srv)
	o.MaxMessageSize = 200000

	var cv *tls.CertificateVerificationError
	if _, err := appws.Dial(context.Background(), o); !errors.As(err, &cv) {
		t.Fatalf("Dial without the server's CA = %v, want a certificate error", err)
	}

	o.TLSConfig = tlsConfig(srv)
	for _, scheme := range []string{"wss", "WSS", "Wss"} {
		t.Run(scheme, func(t *testing.T) {
			o := o
			o.URL = scheme + strings.TrimPrefix(srv.URL, "wss")
			c := dial(t, o)
			nextAs[appws.ConnectComplete](t, c)
			echoSizes(t, c)
		})
	}
}

// TestWSSThroughProxy: wss:// through an HTTP proxy (CONNECT), the one case
// where gorilla makes the TLS connection, works both ways too.
func TestWSSThroughProxy(t *testing.T) {
	srv := appwstest.NewTLSServer(appwstest.Config{Apps: map[string]string{testApp: testPass}, ReadLimit: 1 << 20})
	defer srv.Close()
	var connects atomic.Int32
	proxy := connectProxy(t, srv, &connects)
	o := options(srv)
	o.NetDialContext = nil
	o.NoProxy = false
	o.Proxy = http.ProxyURL(&url.URL{Scheme: "http", Host: proxy})
	o.TLSConfig = tlsConfig(srv)
	o.MaxMessageSize = 200000
	c := dial(t, o)
	nextAs[appws.ConnectComplete](t, c)
	echoSizes(t, c)
	if n := connects.Load(); n != 1 {
		t.Errorf("%d CONNECTs through the proxy, want 1", n)
	}
}

// slowServer logs in any client and then, unless stalled, reads what comes
// 2 KiB every 5 ms (400 KiB/s). Clients must dial it with dialPipe, so that
// their writes wait for it.
func slowServer(t *testing.T, secure, stalled bool) *rawServer {
	stop := make(chan struct{})
	srv := newRawServer(t, secure, func(_ int, conn net.Conn) {
		ws := upgrade(conn)
		if ws == nil || !acceptLogin(ws) {
			return
		}
		if stalled {
			<-stop
			return
		}
		buf := make([]byte, 2<<10)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for range tick.C {
			if _, err := ws.NetConn().Read(buf); err != nil {
				return
			}
		}
	})
	t.Cleanup(func() { close(stop) }) // before srv's cleanup, which waits for the handler
	return srv
}

// sendLarge sends n messages of 60 KB and returns their ids.
func sendLarge(t *testing.T, c *appws.Client, n int) map[uint64]bool {
	t.Helper()
	msg := fmt.Sprintf(`{"mt":"Large","data":"%s"}`, strings.Repeat("z", 60000))
	ids := map[uint64]bool{}
	for range n {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		id, err := c.SendText(ctx, msg)
		cancel()
		if err != nil {
			t.Fatalf("SendText: %v", err)
		}
		ids[id] = true
	}
	return ids
}

// TestSlowSteadyServerKeepsSession: a server that takes our bytes slowly
// but steadily (400 KiB/s) never trips WriteTimeout (100 ms), although one
// 64 KiB write to it takes longer than that: only a server that took no
// bytes for WriteTimeout ends a session. Over TLS too, where the deadline
// must not break the tls.Conn.
func TestSlowSteadyServerKeepsSession(t *testing.T) {
	for _, secure := range []bool{false, true} {
		t.Run(map[bool]string{false: "ws", true: "wss"}[secure], func(t *testing.T) {
			srv := slowServer(t, secure, false)
			o := srv.options()
			o.NetDialContext = srv.dialPipe
			o.WriteTimeout = 100 * time.Millisecond
			o.CloseTimeout = 100 * time.Millisecond
			o.PingInterval = -1
			o.MaxMessageSize = 100000
			c := dial(t, o)
			nextAs[appws.ConnectComplete](t, c)
			start := time.Now()
			ids := sendLarge(t, c, 7) // 420 KB: about 1 s at 400 KiB/s
			for len(ids) > 0 {
				switch ev := next(t, c).(type) {
				case appws.SendResult:
					if ev.Err != nil {
						t.Fatalf("SendResult %d: %v after %v", ev.ID, ev.Err, time.Since(start))
					}
					delete(ids, ev.ID)
				default:
					t.Fatalf("%T %+v while sending", ev, ev)
				}
			}
			t.Logf("420 KB written in %v", time.Since(start))
		})
	}
}

// TestStalledServerEndsSession: a server that stops taking bytes ends the
// session after WriteTimeout.
func TestStalledServerEndsSession(t *testing.T) {
	for _, secure := range []bool{false, true} {
		t.Run(map[bool]string{false: "ws", true: "wss"}[secure], func(t *testing.T) {
			srv := slowServer(t, secure, true)
			o := srv.options()
			o.NetDialContext = srv.dialPipe
			o.WriteTimeout = 200 * time.Millisecond
			o.PingInterval = -1
			o.MaxMessageSize = 100000
			c := dial(t, o)
			nextAs[appws.ConnectComplete](t, c)
			start := time.Now()
			sendLarge(t, c, 3)
			for {
				cl, ok := next(t, c).(appws.Closed)
				if !ok {
					continue
				}
				took := time.Since(start)
				if !errors.Is(cl.Err, os.ErrDeadlineExceeded) || took < o.WriteTimeout || took > o.WriteTimeout+time.Second {
					t.Errorf("Closed{%v} after %v, want a timeout after %v", cl.Err, took, o.WriteTimeout)
				}
				return
			}
		})
	}
}

// TestHandshakeErrorDetails: a refused upgrade reports its status, headers
// and the start of its body (at most 512 bytes read, valid UTF-8); the
// error text shows only the status.
func TestHandshakeErrorDetails(t *testing.T) {
	// 510 bytes with an invalid one, then a 3-byte character cut by the
	// 512-byte bound.
	body := "ok\xffok" + strings.Repeat("x", 505) + "€" + strings.Repeat("y", 5000)
	srv := newRawServer(t, false, func(_ int, conn net.Conn) {
		if _, err := http.ReadRequest(bufio.NewReader(conn)); err != nil {
			return
		}
		_, _ = fmt.Fprintf(conn, "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 7\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	})
	_, err := appws.Dial(context.Background(), srv.options())
	var he *appws.HandshakeError
	if !errors.As(err, &he) {
		t.Fatalf("Dial = %v, want a *HandshakeError", err)
	}
	if he.StatusCode != 503 || he.Status != "503 Service Unavailable" || he.Header.Get("Retry-After") != "7" {
		t.Errorf("HandshakeError %d %q, headers %v", he.StatusCode, he.Status, he.Header)
	}
	if want := "ok\uFFFDok" + strings.Repeat("x", 505); he.Body != want {
		t.Errorf("Body = %q (%d bytes), want %q", he.Body, len(he.Body), want)
	}
	if !utf8.ValidString(he.Body) {
		t.Error("Body is not valid UTF-8")
	}
	if s := err.Error(); strings.Contains(s, "xxx") || !strings.Contains(s, "503") {
		t.Errorf("Error() = %q, want the status only", s)
	}
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
