package appws_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gorilla/websocket"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/appwstest"
	"github.com/appwebsocket/appws/wire"
)

// Hostile servers: every way a server can misbehave has one defined outcome,
// and one test here shows it. RELIABILITY.md lists them.

// scripted is a websocket server whose every connection is played by a
// script the test writes: unlike appwstest it can break the login protocol.
// Connections are in-memory (net.Pipe), so it also works in a synctest
// bubble; the server side is gorilla/websocket's.
type scripted struct {
	script func(ws *websocket.Conn)
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  []net.Conn
}

// newScripted returns a server running script on every connection; the
// connections are closed and their goroutines awaited when the test ends.
func newScripted(t testing.TB, script func(ws *websocket.Conn)) *scripted {
	s := &scripted{script: script}
	t.Cleanup(s.close)
	return s
}

// options returns client options dialing s.
func (s *scripted) options() appws.Options {
	return appws.Options{
		URL:            "ws://scripted.invalid/appws",
		App:            testApp,
		Password:       testPass,
		NetDialContext: s.dial,
		NoProxy:        true,
		LoginTimeout:   2 * time.Second,
	}
}

func (s *scripted) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	client, server := net.Pipe()
	s.mu.Lock()
	s.conns = append(s.conns, server)
	s.mu.Unlock()
	s.wg.Add(1)
	go s.serve(server)
	return client, nil
}

func (s *scripted) close() {
	s.mu.Lock()
	for _, c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *scripted) serve(conn net.Conn) {
	defer s.wg.Done()
	defer conn.Close()
	br := bufio.NewReader(conn)
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	w := &hijacker{conn: conn, brw: bufio.NewReadWriter(br, bufio.NewWriter(conn)), h: http.Header{}}
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	ws, err := up.Upgrade(w, req, nil)
	if err != nil {
		return
	}
	s.script(ws)
}

// hijacker is the http.ResponseWriter gorilla's Upgrader needs, over a bare
// connection.
type hijacker struct {
	conn net.Conn
	brw  *bufio.ReadWriter
	h    http.Header
}

func (w *hijacker) Header() http.Header         { return w.h }
func (w *hijacker) Write(b []byte) (int, error) { return w.conn.Write(b) }
func (w *hijacker) WriteHeader(int)             {}
func (w *hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return w.conn, w.brw, nil
}

// readMT reads messages until one with mt want arrives; false when the
// connection ended first.
func readMT(ws *websocket.Conn, want string) (json.RawMessage, bool) {
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			return nil, false
		}
		if m, err := wire.ParseMessage(data); err == nil && m.MT == want {
			return data, true
		}
	}
}

func sendText(ws *websocket.Conn, text string) bool {
	return ws.WriteMessage(websocket.TextMessage, []byte(text)) == nil
}

// discard reads until the connection ends, answering the client's close
// frame and pings as gorilla does by default.
func discard(ws *websocket.Conn) {
	for {
		if _, _, err := ws.ReadMessage(); err != nil {
			return
		}
	}
}

// acceptLogin plays a server that accepts any login.
func acceptLogin(ws *websocket.Conn) bool {
	if _, ok := readMT(ws, "AppChallenge"); !ok {
		return false
	}
	if !sendText(ws, `{"mt":"AppChallengeResult","challenge":"1234567890123456"}`) {
		return false
	}
	if _, ok := readMT(ws, "AppLogin"); !ok {
		return false
	}
	return sendText(ws, `{"mt":"AppLoginResult","ok":true}`)
}

// TestHostileMessagesAreIgnored: after login, text that is not JSON, JSON
// that is not an object, a missing or non-string mt, and binary messages are
// dropped and logged; the session stays up and the next good message is
// delivered.
func TestHostileMessagesAreIgnored(t *testing.T) {
	t.Parallel()
	cases := map[string]func(ss *appwstest.Session) error{
		"non-JSON text":    func(ss *appwstest.Session) error { return ss.SendText(`{"mt":"Cut`) },
		"not UTF-8":        func(ss *appwstest.Session) error { return ss.SendText("\xff\xfe") },
		"empty text":       func(ss *appwstest.Session) error { return ss.SendText("") },
		"JSON array":       func(ss *appwstest.Session) error { return ss.SendText(`[{"mt":"A"}]`) },
		"JSON string":      func(ss *appwstest.Session) error { return ss.SendText(`"mt"`) },
		"JSON null":        func(ss *appwstest.Session) error { return ss.SendText(`null`) },
		"missing mt":       func(ss *appwstest.Session) error { return ss.SendText(`{"api":"X","src":"s"}`) },
		"mt of other case": func(ss *appwstest.Session) error { return ss.SendText(`{"MT":"A"}`) },
		"mt number":        func(ss *appwstest.Session) error { return ss.SendText(`{"mt":5}`) },
		"mt null":          func(ss *appwstest.Session) error { return ss.SendText(`{"mt":null}`) },
		"mt object":        func(ss *appwstest.Session) error { return ss.SendText(`{"mt":{"mt":"A"}}`) },
		"two objects":      func(ss *appwstest.Session) error { return ss.SendText(`{"mt":"A"}{"mt":"B"}`) },
		"binary":           func(ss *appwstest.Session) error { return ss.SendBinary([]byte(`{"mt":"Binary"}`)) },
		"large binary":     func(ss *appwstest.Session) error { return ss.SendBinary(make([]byte, 1<<20)) },
		"deeply nested":    func(ss *appwstest.Session) error { return ss.SendText(strings.Repeat("[", 100000)) },
		"deep but no mt": func(ss *appwstest.Session) error {
			return ss.SendText(`{"x":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}`)
		},
		"fragmented badly":  func(ss *appwstest.Session) error { return ss.SendFragmented(`{"mt":`, 6) },
		"mt duplicate last": func(ss *appwstest.Session) error { return ss.SendText(`{"mt":"A","mt":7}`) },
	}
	srv := newServer(t, appwstest.Config{})
	for name, send := range cases {
		t.Run(name, func(t *testing.T) {
			var logs logBuffer
			o := options(srv)
			o.Logger = logs.logger()
			c := dial(t, o)
			nextAs[appws.ConnectComplete](t, c)
			ss := nextSession(t, srv)
			if err := send(ss); err != nil {
				t.Fatal(err)
			}
			if err := ss.SendFragmented(`{"mt":"Good","pad":"0123456789"}`, 7); err != nil {
				t.Fatal(err)
			}
			barrier(t, c)
			c.MessageComplete()
			if m := nextAs[appws.Message](t, c); m.MT != "Good" {
				t.Errorf("first delivered message %s, want Good", m.Raw)
			}
			quiet(t, c)
			if !strings.Contains(logs.String(), "appws: ignored") {
				t.Errorf("nothing logged about the ignored message:\n%s", logs.String())
			}
		})
	}
}

// TestHostileMessagesBeforeLogin: junk before and between the login
// replies is dropped, and the login still succeeds.
func TestHostileMessagesBeforeLogin(t *testing.T) {
	t.Parallel()
	junk := func(ws *websocket.Conn) bool {
		return ws.WriteMessage(websocket.BinaryMessage, []byte{0, 1, 2}) == nil &&
			sendText(ws, `not json`) && sendText(ws, `[1]`) && sendText(ws, `{"mt":1}`) &&
			sendText(ws, `{"mt":"PbxInfo"}`) && sendText(ws, `{"mt":"AppChallenge"}`)
	}
	srv := newScripted(t, func(ws *websocket.Conn) {
		if _, ok := readMT(ws, "AppChallenge"); !ok || !junk(ws) ||
			!sendText(ws, `{"mt":"AppChallengeResult","challenge":"1234"}`) {
			return
		}
		if _, ok := readMT(ws, "AppLogin"); !ok || !junk(ws) ||
			!sendText(ws, `{"mt":"AppLoginResult","ok":true,"domain":"d"}`) ||
			!sendText(ws, `{"mt":"After"}`) {
			return
		}
		discard(ws)
	})
	c := dial(t, srv.options())
	if cc := nextAs[appws.ConnectComplete](t, c); cc.Domain != "d" {
		t.Errorf("ConnectComplete %+v", cc)
	}
	c.MessageComplete()
	if m := nextAs[appws.Message](t, c); m.MT != "After" {
		t.Errorf("got %s", m.Raw)
	}
}

// TestHostileLoginReplies: a server that breaks the login exchange fails
// Dial with a typed error and never hangs it.
func TestHostileLoginReplies(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("7", 10000)
	cases := []struct {
		name      string
		challenge string // the reply to AppChallenge ("" sends nothing)
		login     string // the reply to AppLogin
		want      loginOutcome
	}{
		{"AppLoginResult before AppChallengeResult", `{"mt":"AppLoginResult","ok":true}`, ``, protocol},
		{"AppChallengeResult twice", `{"mt":"AppChallengeResult","challenge":"1"}`, `{"mt":"AppChallengeResult","challenge":"2"}`, protocol},
		{"10000-character challenge", `{"mt":"AppChallengeResult","challenge":"` + long + `"}`, ``, protocol},
		{"10000-digit number challenge", `{"mt":"AppChallengeResult","challenge":` + long + `}`, ``, protocol},
		{"empty challenge", `{"mt":"AppChallengeResult","challenge":""}`, ``, protocol},
		{"no challenge", `{"mt":"AppChallengeResult"}`, ``, protocol},
		{"null challenge", `{"mt":"AppChallengeResult","challenge":null}`, ``, protocol},
		{"object challenge", `{"mt":"AppChallengeResult","challenge":{"a":1}}`, ``, protocol},
		{"boolean challenge", `{"mt":"AppChallengeResult","challenge":true}`, ``, protocol},
		{"challenge with a space", `{"mt":"AppChallengeResult","challenge":"12 34"}`, ``, protocol},
		{"challenge with a newline", `{"mt":"AppChallengeResult","challenge":"12\n34"}`, ``, protocol},
		{"non-ASCII challenge", `{"mt":"AppChallengeResult","challenge":"12é"}`, ``, protocol},
		{"sysClient of the wrong type", `{"mt":"AppChallengeResult","challenge":"12","sysClient":"yes"}`, ``, protocol},
		{"ok as a string", `{"mt":"AppChallengeResult","challenge":"12"}`, `{"mt":"AppLoginResult","ok":"true"}`, login},
		{"ok as 1", `{"mt":"AppChallengeResult","challenge":"12"}`, `{"mt":"AppLoginResult","ok":1}`, login},
		{"ok false", `{"mt":"AppChallengeResult","challenge":"12"}`, `{"mt":"AppLoginResult","ok":false,"error":7,"errorText":"no"}`, login},
		{"no ok", `{"mt":"AppChallengeResult","challenge":"12"}`, `{"mt":"AppLoginResult"}`, login},
		{"huge errorText", `{"mt":"AppChallengeResult","challenge":"12"}`, `{"mt":"AppLoginResult","errorText":"` + strings.Repeat("e", 10000) + `"}`, login},
		{"no reply to AppChallenge", ``, ``, timeout},
		{"no reply to AppLogin", `{"mt":"AppChallengeResult","challenge":"12"}`, ``, timeout},
		{"only junk", `{"mt":"Junk"}`, ``, timeout},
		{"close instead of a challenge", `close`, ``, ended},
		{"close instead of a login result", `{"mt":"AppChallengeResult","challenge":"12"}`, `close`, ended},
		{"oversized login reply", `{"mt":"AppChallengeResult","challenge":"12"}`, `{"mt":"AppLoginResult","pad":"` + strings.Repeat("x", 40000) + `"}`, readLimit},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var srv *scripted
				srv = newScripted(t, func(ws *websocket.Conn) {
					var wmu sync.Mutex
					reply := func(text string) bool {
						switch text {
						case "":
							discard(ws)
							return false
						case "close":
							msg := websocket.FormatCloseMessage(4000, "go away")
							_ = ws.WriteControl(websocket.CloseMessage, msg, time.Time{})
							return false
						}
						// Write while reading on: a net.Pipe buffers nothing,
						// and a client that gives up on a message too large
						// writes its close frame while we still write.
						srv.wg.Add(1)
						go func() {
							defer srv.wg.Done()
							wmu.Lock()
							defer wmu.Unlock()
							sendText(ws, text)
						}()
						return true
					}
					if _, ok := readMT(ws, "AppChallenge"); !ok || !reply(tc.challenge) {
						return
					}
					if _, ok := readMT(ws, "AppLogin"); !ok || !reply(tc.login) {
						return
					}
					discard(ws)
				})
				o := srv.options()
				o.ReadLimit = 32 << 10
				start := time.Now()
				c, err := appws.Dial(context.Background(), o)
				if c != nil {
					closeAndDrain(t, c)
					t.Fatal("Dial succeeded")
				}
				if d := time.Since(start); d > o.LoginTimeout+time.Second {
					t.Errorf("Dial took %v", d)
				}
				if got := kindOf(err); got != tc.want {
					t.Errorf("Dial = %v (%T): kind %d, want %d", err, err, got, tc.want)
				}
				if err != nil && !strings.HasPrefix(err.Error(), "appws: ") {
					t.Errorf("error %q lacks the appws: prefix", err)
				}
				// No large echo of what the server sent: the error of a
				// 10,000-character challenge says how long it was, not what.
				if err != nil && tc.want != login && len(err.Error()) > 200 {
					t.Errorf("error of %d bytes: %.100q...", len(err.Error()), err)
				}
				if err != nil && strings.Contains(err.Error(), "7777777777") {
					t.Errorf("error repeats the server's challenge: %.100q", err)
				}
			})
		})
	}
}

// loginOutcome classifies a failed login.
type loginOutcome int

const (
	protocol  loginOutcome = iota // *ProtocolError
	login                         // *LoginError
	timeout                       // the login timed out
	ended                         // the connection ended (or another error)
	readLimit                     // *ReadLimitError
)

func kindOf(err error) loginOutcome {
	var pe *appws.ProtocolError
	var le *appws.LoginError
	var rl *appws.ReadLimitError
	switch {
	case errors.As(err, &pe):
		return protocol
	case errors.As(err, &le):
		return login
	case errors.As(err, &rl):
		return readLimit
	case err != nil && strings.Contains(err.Error(), "timed out"):
		return timeout
	}
	return ended
}

// TestReadLimitEndsSessionWithoutReadingIt: a message over ReadLimit ends
// the session with a *ReadLimitError; with AutoReconnect the client logs in
// again. The message is never read into memory.
func TestReadLimitEndsSessionWithoutReadingIt(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{})
	o := options(srv)
	o.AutoReconnect = true
	o.MinBackoff, o.MaxBackoff = time.Millisecond, time.Millisecond
	o.ReadLimit = 64 << 10
	c := dial(t, o)
	nextAs[appws.ConnectComplete](t, c)
	ss := nextSession(t, srv)
	go func() { _ = ss.SendOversized(4 << 20) }()
	d := nextAs[appws.Disconnected](t, c)
	var rl *appws.ReadLimitError
	if !errors.As(d.Err, &rl) || rl.Limit != o.ReadLimit || d.Session != 1 {
		t.Errorf("Disconnected = %+v, want a *ReadLimitError", d)
	}
	if cc := nextAs[appws.ConnectComplete](t, c); cc.Session != 2 {
		t.Errorf("ConnectComplete %+v", cc)
	}
}

// TestFrameHeaderAnnouncing100MB: a frame header that announces 100 MB
// beyond ReadLimit ends the session at once with a *ReadLimitError, and the
// client allocates nothing near that size.
func TestFrameHeaderAnnouncing100MB(t *testing.T) {
	// Not parallel: TotalAlloc counts what every goroutine of the process
	// allocates. In a synctest bubble with the in-memory server, the count
	// starts once the bubble is idle: it holds the header's work only.
	synctest.Test(t, func(t *testing.T) {
		srv := newServer(t, appwstest.Config{InMemory: true})
		c := dial(t, options(srv)) // default ReadLimit: 4 MiB
		nextAs[appws.ConnectComplete](t, c)
		ss := nextSession(t, srv)
		synctest.Wait()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		go func() { _ = ss.SendFrameHeader(100 << 20) }() // a net.Pipe write waits for the reader
		cl := nextAs[appws.Closed](t, c)
		synctest.Wait()
		runtime.ReadMemStats(&after)
		var rl *appws.ReadLimitError
		if !errors.As(cl.Err, &rl) {
			t.Errorf("Closed.Err = %v, want a *ReadLimitError", cl.Err)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 8<<20 {
			t.Errorf("%d bytes allocated after a 100 MB frame header", n)
		}
	})
}

// TestFrameHeaderWithinReadLimitNeverCompleted: with a ReadLimit above the
// announced 100 MB, the client waits for the payload; it grows its buffer
// only as bytes arrive, and the ping deadline ends the session when they
// stop (the server's pongs are read as payload, so they don't count).
func TestFrameHeaderWithinReadLimitNeverCompleted(t *testing.T) {
	// Not parallel: TotalAlloc counts what every goroutine of the process
	// allocates.
	synctest.Test(t, func(t *testing.T) {
		srv := newServer(t, appwstest.Config{InMemory: true})
		o := options(srv)
		o.ReadLimit = 200 << 20
		o.PingInterval, o.PongTimeout = 10*time.Second, 5*time.Second
		c := dial(t, o)
		nextAs[appws.ConnectComplete](t, c)
		ss := nextSession(t, srv)
		synctest.Wait()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		if err := ss.SendFrameHeader(100 << 20); err != nil {
			t.Fatal(err)
		}
		_ = ss.SendText(`{"mt":"PartOfThePayload"}`)
		start := time.Now()
		cl := nextAs[appws.Closed](t, c)
		if !errors.Is(cl.Err, appws.ErrPingTimeout) {
			t.Errorf("Closed.Err = %v, want ErrPingTimeout", cl.Err)
		}
		if d := time.Since(start); d > 16*time.Second {
			t.Errorf("gave up after %v, want at most 15 s", d)
		}
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		if n := after.TotalAlloc - before.TotalAlloc; n > 8<<20 {
			t.Errorf("%d bytes allocated for a payload that never came", n)
		}
	})
}

// TestOddCloseCodes: a close frame with any code, valid or not, ends the
// session: Closed with an error without AutoReconnect, Disconnected and a
// new login with it.
func TestOddCloseCodes(t *testing.T) {
	t.Parallel()
	codes := []int{0, 1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014,
		3000, 4000, 4999, // valid on the wire
		1, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535, // invalid on the wire
	}
	srv := newServer(t, appwstest.Config{})
	for _, code := range codes {
		for _, auto := range []bool{false, true} {
			o := options(srv)
			o.AutoReconnect = auto
			o.MinBackoff, o.MaxBackoff = time.Millisecond, time.Millisecond
			c := dial(t, o)
			nextAs[appws.ConnectComplete](t, c)
			nextSession(t, srv).Close(code, strings.Repeat("r", 200))
			var err error
			if auto {
				d := nextAs[appws.Disconnected](t, c)
				err = d.Err
				if cc := nextAs[appws.ConnectComplete](t, c); cc.Session != 2 {
					t.Errorf("code %d: ConnectComplete %+v", code, cc)
				}
				nextSession(t, srv)
				closeAndDrain(t, c)
			} else {
				err = nextAs[appws.Closed](t, c).Err
			}
			if err == nil {
				t.Errorf("code %d: session ended without an error", code)
			}
			// The codes gorilla accepts from a peer.
			valid := code >= 1000 && code != 1004 && code != 1005 && code != 1006 && code < 1014 || code >= 3000 && code < 5000
			switch got := appws.CloseStatus(err); {
			case code == 0 && got != 1005: // a close frame without a status
				t.Errorf("code 0: CloseStatus %d (%v), want 1005", got, err)
			case valid && got != code:
				t.Errorf("code %d: CloseStatus %d (%v)", code, got, err)
			}
		}
	}
}

// TestMalformedCloseFrames: close frames that break RFC 6455 (a one-byte
// payload, a reason that is not UTF-8, more than 125 bytes, a fragmented
// control frame) end the session with an error; nothing panics.
func TestMalformedCloseFrames(t *testing.T) {
	t.Parallel()
	frames := map[string][]byte{
		"one-byte payload":   {0x88, 0x01, 0x03},
		"reason not UTF-8":   {0x88, 0x04, 0x03, 0xe8, 0xff, 0xfe},
		"126-byte payload":   append([]byte{0x88, 0x7e, 0x00, 0x7e, 0x03, 0xe8}, bytes.Repeat([]byte{'r'}, 124)...),
		"fragmented close":   {0x08, 0x02, 0x03, 0xe8},
		"reserved opcode":    {0x83, 0x00},
		"RSV bits":           {0xf1, 0x00},
		"masked from server": {0x81, 0x81, 1, 2, 3, 4, 'x'},
	}
	for name, raw := range frames {
		t.Run(name, func(t *testing.T) {
			srv := newScripted(t, func(ws *websocket.Conn) {
				if acceptLogin(ws) {
					_, _ = ws.NetConn().Write(raw)
					discard(ws)
				}
			})
			c := dial(t, srv.options())
			nextAs[appws.ConnectComplete](t, c)
			if cl := nextAs[appws.Closed](t, c); cl.Err == nil {
				t.Error("Closed without an error")
			}
		})
	}
}

// TestHalfOpenConnectionReconnects: a server that stops answering pings is
// found by the ping deadline; with AutoReconnect the client reports
// ErrPingTimeout and logs in again.
func TestHalfOpenConnectionReconnects(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv := newServer(t, appwstest.Config{InMemory: true})
		o := options(srv)
		o.AutoReconnect = true
		o.PingInterval, o.PongTimeout = 30*time.Second, 15*time.Second
		c := dial(t, o)
		nextAs[appws.ConnectComplete](t, c)
		nextSession(t, srv).StopPongs()
		start := time.Now()
		d := nextAs[appws.Disconnected](t, c)
		if !errors.Is(d.Err, appws.ErrPingTimeout) || d.Session != 1 {
			t.Errorf("Disconnected = %+v, want ErrPingTimeout", d)
		}
		if took := time.Since(start); took < 44*time.Second || took > 46*time.Second {
			t.Errorf("found after %v, want 45 s", took)
		}
		if cc := nextAs[appws.ConnectComplete](t, c); cc.Session != 2 {
			t.Errorf("ConnectComplete %+v", cc)
		}
		nextSession(t, srv)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := c.Request(ctx, map[string]string{"mt": "Ping"}); err != nil {
			t.Errorf("Request on the new session: %v", err)
		}
	})
}

// TestGarbageServiceLoginResult: a PBX that answers GetServiceLogin with
// garbage makes the login through ServicesAuthenticator fail with a typed
// error (or a login the target rejects); the PBX connection stays up.
func TestGarbageServiceLoginResult(t *testing.T) {
	t.Parallel()
	const target = "target"
	garbage := map[string]struct {
		reply string // the reply's fields after mt and src
		want  string // "protocol", "refused", "login" or "timeout"
	}{
		"no fields":       {``, "protocol"},
		"key not hex":     {`,"digest":"d","key":"zz","salt":"s"`, "protocol"},
		"key odd length":  {`,"digest":"d","key":"abc","salt":"s"`, "protocol"},
		"digest a number": {`,"digest":5,"key":"00"`, "protocol"},
		"key an object":   {`,"digest":"d","key":{"a":1}`, "protocol"},
		"info an array":   {`,"digest":"d","key":"00","info":[1,2]`, "protocol"},
		"info a string":   {`,"digest":"d","key":"00","info":"x"`, "protocol"},
		"info duplicate":  {`,"digest":"d","key":"00","info":{"a":1,"a":2}`, "protocol"},
		"error string":    {`,"error":"` + strings.Repeat("e", 5000) + `"`, "refused"},
		"error number":    {`,"error":3,"errorText":"nope"`, "refused"},
		"wrong digest":    {`,"app":"` + target + `","digest":"00","key":"0011","salt":"s"`, "login"},
		"wrong mt":        {`X`, "protocol"},
		"not an object":   {`not json`, "timeout"},
		"huge key":        {`,"digest":"d","key":"` + strings.Repeat("ab", 50000) + `","salt":"s"`, "login"},
	}
	for name, g := range garbage {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				pbxSrv := newServer(t, appwstest.Config{InMemory: true, Handler: func(s *appwstest.Session, m appws.Message) {
					src, _ := json.Marshal(m.Src)
					switch {
					case m.MT != "GetServiceLogin":
						_ = s.SendText(`{"mt":"` + m.MT + `Result","src":` + string(src) + `}`)
					case g.reply == "not json":
						_ = s.SendText(`{"mt":"GetServiceLoginResult","src":` + string(src) + `,`)
					case g.reply == "X":
						_ = s.SendText(`{"api":"Services","mt":"Surprise","src":` + string(src) + `,"digest":"d","key":"00"}`)
					default:
						_ = s.SendText(`{"api":"Services","mt":"GetServiceLoginResult","src":` + string(src) + g.reply + `}`)
					}
				}})
				targetSrv := newServer(t, appwstest.Config{InMemory: true, Apps: map[string]string{target: "target-pw"}})
				pbx := dial(t, options(pbxSrv))
				nextAs[appws.ConnectComplete](t, pbx)
				o := options(targetSrv)
				o.App, o.Password = target, ""
				o.Authenticator = appws.ServicesAuthenticator(pbx)
				o.LoginTimeout = 500 * time.Millisecond
				c, err := appws.Dial(context.Background(), o)
				if c != nil {
					closeAndDrain(t, c)
					t.Fatal("Dial succeeded")
				}
				var pe *appws.ProtocolError
				var le *appws.LoginError
				switch g.want {
				case "protocol":
					if !errors.As(err, &pe) {
						t.Errorf("Dial = %v, want a *ProtocolError", err)
					}
				case "login":
					if !errors.As(err, &le) {
						t.Errorf("Dial = %v, want a *LoginError", err)
					}
				case "refused":
					if err == nil || !strings.Contains(err.Error(), "refused") || errors.As(err, &pe) {
						t.Errorf("Dial = %v, want a refusal", err)
					}
				case "timeout":
					if err == nil || !strings.Contains(err.Error(), "timed out") {
						t.Errorf("Dial = %v, want a login timeout", err)
					}
				}
				if err != nil && len(err.Error()) > 200 {
					t.Errorf("error of %d bytes echoes the reply: %.100q", len(err.Error()), err)
				}
				// The PBX connection is unharmed.
				ctx, cancel := context.WithTimeout(context.Background(), wait)
				defer cancel()
				if _, err := pbx.Request(ctx, map[string]string{"mt": "Check"}); err != nil {
					t.Errorf("PBX Request after the garbage: %v", err)
				}
			})
		})
	}
}

// TestServiceLoginThroughPBX is the good case next to the garbage: the login
// obtained from the PBX logs in to the target, and both sides agree on the
// session key.
func TestServiceLoginThroughPBX(t *testing.T) {
	t.Parallel()
	const target = "target"
	targetSrv := newServer(t, appwstest.Config{Apps: map[string]string{target: "target-pw"}})
	pbxSrv := newServer(t, appwstest.Config{Services: map[string]appwstest.ServiceTarget{
		target: {Password: "target-pw", Domain: "example.com", SIP: "svc", DN: "Service", Info: json.RawMessage(`{"b":1,"a":"<é>"}`)},
	}})
	pbx := dial(t, options(pbxSrv))
	nextAs[appws.ConnectComplete](t, pbx)
	o := options(targetSrv)
	o.App, o.Password = target, ""
	o.Authenticator = appws.ServicesAuthenticator(pbx)
	c := dial(t, o)
	nextAs[appws.ConnectComplete](t, c)
	checkSessionKey(t, c, nextSession(t, targetSrv))
}

// TestUnknownCertificate: wss to a server whose certificate the client does
// not trust fails, with an error that says why (x509), and works with the
// server's CA in TLSConfig.
func TestUnknownCertificate(t *testing.T) {
	t.Parallel()
	srv := appwstest.NewTLSServer(appwstest.Config{Apps: map[string]string{testApp: testPass}})
	defer srv.Close()
	o := options(srv)
	_, err := appws.Dial(context.Background(), o)
	var ua x509.UnknownAuthorityError
	if !errors.As(err, &ua) {
		t.Errorf("Dial = %v, want an x509.UnknownAuthorityError", err)
	}
	o.TLSConfig = tlsConfig(srv)
	o.TLSConfig.ServerName = "wrong.example"
	var he x509.HostnameError
	if _, err := appws.Dial(context.Background(), o); !errors.As(err, &he) {
		t.Errorf("Dial with a wrong ServerName = %v, want an x509.HostnameError", err)
	}
	o.TLSConfig = tlsConfig(srv)
	c := dial(t, o)
	nextAs[appws.ConnectComplete](t, c)
}

// TestInvalidUTF8MessageIsIgnored: a text message that is not UTF-8 is not
// an AppWebsocket message (PROTOCOL.md 1: "one UTF-8 JSON object"). It is
// ignored like non-JSON text, so that Message.MT never holds invalid UTF-8
// that Message.Decode would read differently.
func TestInvalidUTF8MessageIsIgnored(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{})
	c := dial(t, options(srv))
	nextAs[appws.ConnectComplete](t, c)
	ss := nextSession(t, srv)
	for _, text := range []string{"{\"mt\":\"A\xff\"}", "{\"mt\":\"B\",\"x\":\"\xc0\"}", `{"mt":"Good"}`} {
		if err := ss.SendText(text); err != nil {
			t.Fatal(err)
		}
	}
	c.MessageComplete()
	if m := nextAs[appws.Message](t, c); m.MT != "Good" {
		var body struct{ MT string }
		_ = m.Decode(&body)
		t.Errorf("delivered %q: MT %q, Decode sees mt %q", m.Raw, m.MT, body.MT)
	}
}

// TestLoginResultKeysAreExact: "ok" means the key "ok" exactly
// (PROTOCOL.md 3: success is exactly "ok": true), as mt, api and src are
// matched exactly; "OK": true is not a successful login.
func TestLoginResultKeysAreExact(t *testing.T) {
	t.Parallel()
	for _, reply := range []string{
		`{"mt":"AppLoginResult","OK":true}`,
		`{"mt":"AppLoginResult","Ok":true}`,
		`{"mt":"AppLoginResult","ok":false,"oK":true}`,
	} {
		srv := newScripted(t, func(ws *websocket.Conn) {
			if _, ok := readMT(ws, "AppChallenge"); !ok || !sendText(ws, `{"mt":"AppChallengeResult","challenge":"12"}`) {
				return
			}
			if _, ok := readMT(ws, "AppLogin"); ok && sendText(ws, reply) {
				discard(ws)
			}
		})
		c, err := appws.Dial(context.Background(), srv.options())
		if c != nil {
			closeAndDrain(t, c)
		}
		var le *appws.LoginError
		if !errors.As(err, &le) {
			t.Errorf("reply %s: Dial = %v, want a *LoginError", reply, err)
		}
	}
}
