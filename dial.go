package appws

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
)

// ErrHandshakeTooLarge fails a connection attempt whose server sent more
// than Options.MaxHandshakeBytes before the websocket upgrade completed
// (endless header lines, say). It is retried like a network failure.
var ErrHandshakeTooLarge = errors.New("appws: the server sent more than MaxHandshakeBytes before the websocket upgrade completed")

// tlsAllowance is added to MaxHandshakeBytes when gorilla makes the TLS
// connection (wss:// through a proxy): then the TLS handshake passes through
// bufConn too, and its certificate message may be this large (crypto/tls's
// own bound).
const tlsAllowance = 256 << 10

// maxErrorBody bounds the response body a HandshakeError keeps.
const maxErrorBody = 512

// dialed is an upgraded websocket connection, not logged in yet.
type dialed struct {
	conn *websocket.Conn
	bc   *bufConn
	// rawFrames: bufConn is above TLS (or there is none), so the writer may
	// frame data messages into it itself.
	rawFrames bool
}

// dial opens the websocket connection: TCP (Options.NetDialContext or a
// net.Dialer), TLS for wss://, and the HTTP upgrade. ctx and
// HandshakeTimeout bound all of it; a cancel ends it at once, whatever the
// server does.
//
// The layers, bottom up: wireConn (write deadlines), tls.Conn, bufConn,
// gorilla's Conn. With bufConn above TLS, ws:// and wss:// share one write
// path (the writer frames into bufConn). gorilla 1.5.3 cannot combine its
// NetDialTLSContext with a proxy (it would speak TLS to the proxy), so for
// wss:// through an HTTP proxy gorilla makes the TLS connection over
// bufConn, and data messages go through gorilla's writer (rawFrames false).
func (c *Client) dial(ctx context.Context) (dialed, error) {
	o := &c.opts
	u, err := url.Parse(o.URL) // normalize checked it; Parse lowers the scheme
	if err != nil {
		return dialed{}, &ConfigError{"URL", "cannot be parsed"}
	}
	secure := u.Scheme == "wss"
	proxyURL, err := c.proxyFor(u)
	if err != nil {
		return dialed{}, &ConnectError{Step: "dial", Err: fmt.Errorf("choose a proxy: %w", err)}
	}
	gorillaTLS := secure && proxyURL != nil

	hctx, cancel := context.WithTimeout(ctx, o.HandshakeTimeout)
	defer cancel()
	up := &upgrade{o: o, host: u.Hostname(), hctx: hctx, limit: o.MaxHandshakeBytes, netDial: o.NetDialContext}
	if up.netDial == nil {
		up.netDial = (&net.Dialer{KeepAlive: 30 * time.Second}).DialContext
	}
	if gorillaTLS {
		up.limit += tlsAllowance
	}
	dialer := websocket.Dialer{
		Proxy:           func(*http.Request) (*url.URL, error) { return proxyURL, nil },
		TLSClientConfig: o.TLSConfig, // used only when gorilla makes the TLS connection
		WriteBufferPool: gorillaWritePool,
		WriteBufferSize: maxBuffered + 16,
		// hctx carries HandshakeTimeout.
	}
	if secure && !gorillaTLS {
		dialer.NetDialTLSContext = up.dialTLS
	} else {
		dialer.NetDialContext = up.dialPlain
	}

	conn, resp, err := dialer.DialContext(hctx, o.URL, o.Header)
	watching := up.stop != nil && up.stop()
	if err == nil && !watching && up.stop != nil {
		// hctx ended just as the upgrade completed: the connection is
		// closed, or about to be.
		conn.Close()
		err = hctx.Err()
	}
	if err != nil {
		return dialed{}, up.failed(ctx, resp, err)
	}
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	up.bc.handshake = false
	conn.SetReadLimit(o.ReadLimit)
	return dialed{conn: conn, bc: up.bc, rawFrames: !gorillaTLS}, nil
}

// upgrade is one websocket upgrade in progress: how it dials, the bufConn it
// puts under gorilla, and the watch that closes the connection when the
// attempt's ctx (Dial's, or Close's, with HandshakeTimeout) ends.
type upgrade struct {
	o       *Options
	host    string // the URL's host, the TLS ServerName by default
	hctx    context.Context
	limit   int // MaxHandshakeBytes, and more through a proxy
	netDial func(ctx context.Context, network, addr string) (net.Conn, error)
	bc      *bufConn
	stop    func() bool // ends the watch on hctx
}

// wire dials TCP and, until the upgrade completes, closes the connection
// when hctx ends: gorilla 1.5.3 uses only the deadline of its ctx while it
// writes the request and reads the response.
func (up *upgrade) wire(ctx context.Context, network, addr string) (*wireConn, error) {
	conn, err := up.netDial(ctx, network, addr)
	if err != nil {
		return nil, &ConnectError{Step: "dial", Err: err}
	}
	w := &wireConn{Conn: conn, timeout: up.o.WriteTimeout}
	up.stop = context.AfterFunc(up.hctx, func() { _ = w.Close() })
	return w, nil
}

func (up *upgrade) newBufConn(conn net.Conn, w *wireConn) *bufConn {
	up.bc = &bufConn{Conn: conn, wire: w, handshake: true, hsLeft: up.limit}
	return up.bc
}

// dialPlain is gorilla's NetDialContext: ws://, and wss:// through a proxy
// (gorilla then makes the TLS connection above bufConn).
func (up *upgrade) dialPlain(ctx context.Context, network, addr string) (net.Conn, error) {
	w, err := up.wire(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return up.newBufConn(w, w), nil
}

// dialTLS is gorilla's NetDialTLSContext for wss://: appws makes the TLS
// connection itself, so bufConn frames above it.
func (up *upgrade) dialTLS(ctx context.Context, network, addr string) (net.Conn, error) {
	w, err := up.wire(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{}
	if up.o.TLSConfig != nil {
		cfg = up.o.TLSConfig.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = up.host
	}
	// The upgrade is HTTP/1.1: a config shared with net/http may offer h2,
	// which a server would pick.
	cfg.NextProtos = slices.DeleteFunc(slices.Clone(cfg.NextProtos), func(p string) bool { return p != "http/1.1" })
	tc := tls.Client(w, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = w.Close()
		return nil, &ConnectError{Step: "tls", Err: err}
	}
	return up.newBufConn(tc, w), nil
}

// failed turns a failed attempt into its *ConnectError: the step that
// failed (dial and tls name themselves, the rest is the upgrade), and as
// the cause the caller's ctx or HandshakeTimeout when either ended it,
// whatever error that made the step return.
func (up *upgrade) failed(ctx context.Context, resp *http.Response, err error) error {
	step := "upgrade"
	var ce *ConnectError
	if errors.As(err, &ce) {
		step, err = ce.Step, ce.Err
	}
	switch {
	case up.bc != nil && up.bc.hsOver:
		err = ErrHandshakeTooLarge
	case resp != nil && errors.Is(err, websocket.ErrBadHandshake):
		err = handshakeError(resp)
		resp.Body.Close()
	case ctx.Err() != nil:
		err = ctx.Err()
	case up.hctx.Err() != nil:
		err = &timeoutError{ErrHandshakeTimeout, up.o.HandshakeTimeout}
	}
	return &ConnectError{Step: step, Err: err}
}

// proxyFor returns the proxy for u (nil: connect directly), chosen the way
// gorilla would: Options.Proxy, or the environment's unless NoProxy.
func (c *Client) proxyFor(u *url.URL) (*url.URL, error) {
	o := &c.opts
	proxy := o.Proxy
	switch {
	case o.NoProxy:
		return nil, nil
	case proxy == nil:
		proxy = http.ProxyFromEnvironment
	}
	// gorilla asks with the http(s) URL of the upgrade request.
	hu := *u
	hu.Scheme = map[string]string{"ws": "http", "wss": "https"}[u.Scheme]
	return proxy(&http.Request{Method: http.MethodGet, URL: &hu, Header: http.Header{}, Host: u.Host})
}

// handshakeError describes resp, an upgrade the server refused, with a
// bounded excerpt of its body.
func handshakeError(resp *http.Response) *HandshakeError {
	e := &HandshakeError{StatusCode: resp.StatusCode, Status: boundText(resp.Status, 100), Header: resp.Header.Clone()}
	if resp.Body != nil {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		body := string(b)
		if len(b) == maxErrorBody {
			body = dropCutRune(body) // the body may go on
		}
		e.Body = strings.ToValidUTF8(body, "\uFFFD")
	}
	return e
}

// dropCutRune drops the start of a character that s ends with, cut off
// after it, rather than have it marked invalid.
func dropCutRune(s string) string {
	for i := len(s) - 1; i >= 0 && i >= len(s)-utf8.UTFMax; i-- {
		if utf8.RuneStart(s[i]) {
			if !utf8.FullRuneInString(s[i:]) {
				return s[:i]
			}
			break
		}
	}
	return s
}
