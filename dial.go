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
		return dialed{}, fmt.Errorf("appws: choose a proxy for %s: %w", redactURL(o.URL), err)
	}
	gorillaTLS := secure && proxyURL != nil

	hctx, cancel := context.WithTimeout(ctx, o.HandshakeTimeout)
	defer cancel()
	netDial := o.NetDialContext
	if netDial == nil {
		netDial = (&net.Dialer{KeepAlive: 30 * time.Second}).DialContext
	}
	var (
		bc   *bufConn
		stop func() bool // ends the watch on hctx
	)
	// dialWire dials TCP and, until the upgrade completes, closes the
	// connection when hctx ends: gorilla 1.5.3 uses only the deadline of
	// its ctx while it writes the request and reads the response.
	dialWire := func(ctx context.Context, network, addr string) (*wireConn, error) {
		conn, err := netDial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		w := &wireConn{Conn: conn, timeout: o.WriteTimeout}
		stop = context.AfterFunc(hctx, func() { _ = w.Close() })
		return w, nil
	}
	limit := o.MaxHandshakeBytes
	if gorillaTLS {
		limit += tlsAllowance
	}
	newBufConn := func(conn net.Conn, w *wireConn) *bufConn {
		bc = &bufConn{Conn: conn, wire: w, handshake: true, hsLeft: limit}
		return bc
	}
	dialer := websocket.Dialer{
		Proxy:           func(*http.Request) (*url.URL, error) { return proxyURL, nil },
		TLSClientConfig: o.TLSConfig, // used only when gorilla makes the TLS connection
		WriteBufferPool: gorillaWritePool,
		WriteBufferSize: maxBuffered + 16,
		// hctx carries HandshakeTimeout.
	}
	if secure && !gorillaTLS {
		dialer.NetDialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			w, err := dialWire(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			cfg := &tls.Config{}
			if o.TLSConfig != nil {
				cfg = o.TLSConfig.Clone()
			}
			if cfg.ServerName == "" {
				cfg.ServerName = u.Hostname()
			}
			// The upgrade is HTTP/1.1: a config shared with net/http may
			// offer h2, which a server would pick.
			cfg.NextProtos = slices.DeleteFunc(slices.Clone(cfg.NextProtos), func(p string) bool { return p != "http/1.1" })
			tc := tls.Client(w, cfg)
			if err := tc.HandshakeContext(ctx); err != nil {
				_ = w.Close()
				return nil, err
			}
			return newBufConn(tc, w), nil
		}
	} else {
		dialer.NetDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			w, err := dialWire(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return newBufConn(w, w), nil
		}
	}

	conn, resp, err := dialer.DialContext(hctx, o.URL, o.Header)
	watching := stop != nil && stop()
	if err == nil && !watching && stop != nil {
		// hctx ended just as the upgrade completed: the connection is
		// closed, or about to be.
		conn.Close()
		err = hctx.Err()
	}
	if err != nil {
		if bc != nil && bc.hsOver {
			return dialed{}, fmt.Errorf("appws: connect to %s: %w", redactURL(o.URL), ErrHandshakeTooLarge)
		}
		if resp != nil && errors.Is(err, websocket.ErrBadHandshake) {
			herr := handshakeError(resp)
			resp.Body.Close()
			return dialed{}, herr
		}
		if ctx.Err() != nil {
			return dialed{}, fmt.Errorf("appws: connect to %s: %w", redactURL(o.URL), ctx.Err())
		}
		if hctx.Err() != nil {
			return dialed{}, fmt.Errorf("appws: connect to %s: websocket handshake timed out after %v: %w",
				redactURL(o.URL), o.HandshakeTimeout, context.DeadlineExceeded)
		}
		return dialed{}, fmt.Errorf("appws: connect to %s: %w", redactURL(o.URL), err)
	}
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	bc.handshake = false
	conn.SetReadLimit(o.ReadLimit)
	return dialed{conn: conn, bc: bc, rawFrames: !gorillaTLS}, nil
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

func redactURL(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	return "the server"
}
