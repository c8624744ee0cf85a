package appwstest_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/appwebsocket/appws/appwstest"
	"github.com/appwebsocket/appws/wire"
	"github.com/gorilla/websocket"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// The login the tests use unless they test something else.
const (
	testApp      = "testapp"
	testPassword = "secret"
)

// newServer starts a server closed at the end of the test.
func newServer(t *testing.T, cfg appwstest.Config) *appwstest.Server {
	t.Helper()
	if cfg.Apps == nil {
		cfg.Apps = map[string]string{testApp: testPassword}
	}
	srv := appwstest.NewServer(cfg)
	t.Cleanup(srv.Close)
	return srv
}

// client is a hand-written AppWebsocket client on raw gorilla/websocket, so
// that the server is checked independently of package appws's client.
type client struct {
	t  *testing.T
	ws *websocket.Conn
}

// dialer returns a gorilla dialer that reaches srv (in memory or TCP, TLS or
// not). wrap, if not nil, wraps the client's connection.
func dialer(srv *appwstest.Server, wrap func(net.Conn) net.Conn) *websocket.Dialer {
	return &websocket.Dialer{
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := srv.DialContext(ctx, network, addr)
			if err != nil || wrap == nil {
				return c, err
			}
			return wrap(c), nil
		},
		TLSClientConfig:  &tls.Config{RootCAs: srv.CertPool()},
		HandshakeTimeout: 5 * time.Second,
	}
}

func dial(t *testing.T, srv *appwstest.Server) *client {
	t.Helper()
	return dialWith(t, dialer(srv, nil), srv.URL)
}

func dialWith(t *testing.T, d *websocket.Dialer, url string) *client {
	t.Helper()
	ws, resp, err := d.Dial(url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	resp.Body.Close()
	t.Cleanup(func() { ws.Close() })
	return &client{t: t, ws: ws}
}

// send writes v as a text message (a string is sent as it is).
func (c *client) send(v any) {
	c.t.Helper()
	var b []byte
	switch m := v.(type) {
	case string:
		b = []byte(m)
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			c.t.Fatal(err)
		}
	}
	if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// readRaw reads the next message.
func (c *client) readRaw() []byte {
	c.t.Helper()
	c.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	op, b, err := c.ws.ReadMessage()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	if op != websocket.TextMessage {
		c.t.Fatalf("read: message type %d, want text", op)
	}
	return b
}

// read reads the next message as a JSON object.
func (c *client) read() map[string]any {
	c.t.Helper()
	b := c.readRaw()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		c.t.Fatalf("message %s: %v", b, err)
	}
	return m
}

// readErr reads until the connection fails and returns the error.
func (c *client) readErr() error {
	c.t.Helper()
	c.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		if _, _, err := c.ws.ReadMessage(); err != nil {
			return err
		}
	}
}

// expectClose reads until the connection ends and checks the close code.
func (c *client) expectClose(code int) *websocket.CloseError {
	c.t.Helper()
	err := c.readErr()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) {
		c.t.Fatalf("connection ended with %v, want close %d", err, code)
	}
	if ce.Code != code {
		c.t.Fatalf("close code %d (%q), want %d", ce.Code, ce.Text, code)
	}
	return ce
}

// challenge sends AppChallenge and returns the challenge's literal text.
func (c *client) challenge() string {
	c.t.Helper()
	c.send(`{"mt":"AppChallenge"}`)
	b := c.readRaw()
	var r struct {
		MT        string
		Challenge json.RawMessage
	}
	if err := json.Unmarshal(b, &r); err != nil || r.MT != "AppChallengeResult" {
		c.t.Fatalf("want AppChallengeResult, got %s", b)
	}
	var s string
	if json.Unmarshal(r.Challenge, &s) == nil {
		return s
	}
	return string(r.Challenge)
}

// appLogin is an AppLogin message; the field order is the wire order.
type appLogin struct {
	MT     string          `json:"mt"`
	App    string          `json:"app"`
	Domain string          `json:"domain"`
	SIP    string          `json:"sip"`
	GUID   string          `json:"guid"`
	DN     string          `json:"dn"`
	Info   json.RawMessage `json:"info,omitempty"`
	Digest string          `json:"digest"`
	PbxObj string          `json:"pbxObj,omitempty"`
}

// passwordLogin is the login innovaphone's JS client makes with a password.
func passwordLogin(app, domain, challenge, password string) appLogin {
	l := appLogin{MT: "AppLogin", App: app, Domain: domain, SIP: app, GUID: "00000000000000000000000000000000", DN: "Admin", PbxObj: app}
	l.Digest, _ = wire.Digest(l.App, l.Domain, l.SIP, l.GUID, l.DN, nil, challenge, password)
	return l
}

// loginResult sends l and returns the AppLoginResult.
func (c *client) loginResult(l appLogin) map[string]any {
	c.t.Helper()
	l.MT = "AppLogin"
	c.send(l)
	r := c.read()
	if r["mt"] != "AppLoginResult" {
		c.t.Fatalf("want AppLoginResult, got %v", r)
	}
	return r
}

// login logs in with app and password and fails the test unless it works;
// it returns the challenge used.
func (c *client) login(app, password string) string {
	c.t.Helper()
	ch := c.challenge()
	r := c.loginResult(passwordLogin(app, "", ch, password))
	if r["ok"] != true {
		c.t.Fatalf("login failed: %v", r)
	}
	return ch
}

// wantFailed checks a failed AppLoginResult with the given error number.
func wantFailed(t *testing.T, r map[string]any, code int) {
	t.Helper()
	if _, ok := r["ok"]; ok {
		t.Fatalf("failed login carries ok: %v", r)
	}
	if r["error"] != float64(code) {
		t.Fatalf("error = %v, want %d (%v)", r["error"], code, r)
	}
	if s, _ := r["errorText"].(string); s == "" {
		t.Fatalf("no errorText: %v", r)
	}
}

// ctx returns a context ending with the test, after at most 5 s.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	t.Cleanup(cancel)
	return c
}

// nextSession returns the next logged-in session.
func nextSession(t *testing.T, srv *appwstest.Server) *appwstest.Session {
	t.Helper()
	ss, err := srv.NextSession(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	return ss
}

// loggedIn dials srv, logs in with the test app and returns the client and
// its session.
func loggedIn(t *testing.T, srv *appwstest.Server) (*client, *appwstest.Session) {
	t.Helper()
	c := dial(t, srv)
	c.login(testApp, testPassword)
	return c, nextSession(t, srv)
}

// recordingConn records what the client reads, to inspect frames.
type recordingConn struct {
	net.Conn
	mu  sync.Mutex
	buf []byte
}

func (r *recordingConn) Read(b []byte) (int, error) {
	n, err := r.Conn.Read(b)
	r.mu.Lock()
	r.buf = append(r.buf, b[:n]...)
	r.mu.Unlock()
	return n, err
}

func (r *recordingConn) bytes() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]byte(nil), r.buf...)
}
