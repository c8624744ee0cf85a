package appwstest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/appwebsocket/appws"
	"github.com/gorilla/websocket"
)

// inMemoryHost is the host of an in-memory server's URL. The .invalid
// top-level domain never resolves, so a client that forgot to dial with
// Server.DialContext fails at once instead of reaching something else.
const inMemoryHost = "appwstest.invalid"

// errClosedServer is returned by NextSession after Close.
var errClosedServer = errors.New("appwstest: server closed")

// The size defaults: innovaphone's servers take at most 65535 bytes per
// message (WS_MAX_DATA_SIZE), and innovaphone's C++ websocket client drops
// the connection on a received frame with more than 16384 payload bytes.
const (
	defaultReadLimit    = 65535
	defaultMaxFrameSize = 16384
)

// Config configures a Server. The zero value is a server without apps, at
// which every login fails. A Config must not be changed after NewServer;
// use the Server's methods to change passwords and faults at run time.
type Config struct {
	// Apps maps app names to their passwords.
	Apps map[string]string
	// DomainPasswords maps a domain to a second password, accepted for
	// logins whose "domain" field equals it (whatever the app).
	DomainPasswords map[string]string
	// Domain is the app instance's domain, sent as "domain" in a successful
	// AppLoginResult, as an app service reports the domain it runs in. ""
	// sends no "domain" at all. It is never an echo of the login's own
	// "domain" field.
	Domain string
	// Challenge fixes the challenge, for tests with known digests; "" means
	// a fresh random 16-digit challenge for every AppChallenge.
	Challenge string
	// ChallengeAsNumber sends the challenge as a JSON number, as some old
	// PBX builds did. A fixed Challenge must then be a valid JSON number
	// (digits, no leading zero); random ones never start with 0.
	ChallengeAsNumber bool
	// SysClient adds "sysClient":true to AppChallengeResult; the expected
	// password is then "" for every app (Apps and DomainPasswords are not
	// consulted).
	SysClient bool
	// LoginErrorDetails adds "error" (a LoginErr* number) and "errorText"
	// to a failed AppLoginResult. By default a failed login is answered
	// with just {"mt":"AppLoginResult"}: innovaphone documents only that
	// "ok" is not true on failure, not what else the reply carries, so code
	// that branches on the error is tested against an invented shape only
	// when a test asks for it. LoginRecord.Error tells a test why a login
	// failed either way.
	LoginErrorDetails bool
	// CloseAfterFailedLogin closes the connection with 1008 (policy
	// violation), reason "login failed", after sending a failed
	// AppLoginResult. Whether the real server does this is unknown.
	CloseAfterFailedLogin bool
	// ReplyKeepAlive answers {"mt":"KeepAlive"} with
	// {"mt":"KeepAliveResult"}; by default KeepAlive is consumed silently,
	// as innovaphone's servers do.
	ReplyKeepAlive bool
	// Handler receives the application messages of logged-in sessions:
	// everything except KeepAlive, AppChallenge, AppLogin and, when Services
	// is set, the Services API requests. It runs on the session's reading
	// goroutine, so while it blocks the session reads nothing more (as a busy
	// real server would); it must not call Server.Close. nil means echo:
	// reply {"mt":mt+"Result","api":api,"src":src,"echo":<the received
	// object>} (api and src only when the request had them).
	//
	// The echo answers every message, where a PBX or app service ignores
	// the messages it does not know: a test that passes only because
	// something was answered may fail against a real server, where a
	// Request for an unknown message waits until its ctx ends. Use Silent
	// (or a Handler of your own that ignores what it does not know) to test
	// that case.
	Handler func(s *Session, m appws.Message)
	// Services are the targets of the Services API: with Services non-nil,
	// GetServiceLogin and SubscribeServices (api "Services") are answered by
	// the server (PROTOCOL.md 3.3); keys are the "app" values requested.
	Services map[string]ServiceTarget
	// InMemory serves on an in-memory listener (net.Pipe) instead of
	// 127.0.0.1; clients must dial with Server.DialContext. It works inside
	// a testing/synctest bubble.
	InMemory bool
	// Listener, if set, is the TCP listener to serve on instead of a new
	// one on 127.0.0.1 with a random port (for a standalone server on a
	// chosen address). The server closes it in Close.
	Listener net.Listener
	// Path is the URL path of the websocket endpoint, default "/appws".
	// Other paths answer 404.
	Path string
	// ReadLimit is the largest message the server accepts from a client,
	// default 65535 bytes, the most innovaphone's servers take. A bigger
	// message is not handled: the server answers it with close 1009
	// (message too big), as a websocket server does. Raise it for tests
	// that send bigger messages on purpose (and raise the client's
	// appws.Options.MaxMessageSize with it).
	ReadLimit int64
	// MaxFrameSize is the largest payload of a frame the server writes,
	// default 16384 bytes: innovaphone's C++ websocket client drops the
	// connection on a bigger frame, so real servers fragment larger
	// messages and so does this one (a text frame and continuation frames
	// of MaxFrameSize bytes, the last one shorter). A negative value sends
	// every message in one frame. Session.SendOversized,
	// Session.SendFragmented and Session.SendFrameHeader ignore it: they
	// write the frames they are asked for.
	MaxFrameSize int
	// RecordLimit bounds the messages a Session keeps for Received: the
	// newest RecordLimit of them (WaitReceived still counts them all). 0
	// keeps every one, which suits a test; a server that runs for long
	// (appws serve) or takes a flood of messages should set a limit.
	RecordLimit int
	// Logger receives the server's log; nil discards it.
	Logger *slog.Logger
}

// Server is an AppWebsocket server for tests, in the manner of
// net/http/httptest: it serves as soon as NewServer returns and until Close.
type Server struct {
	// URL is the websocket URL: ws://127.0.0.1:PORT/appws, wss:// for a TLS
	// server, ws://appwstest.invalid/appws for an in-memory one.
	URL string

	cfg       Config
	log       *slog.Logger
	readLimit int64
	maxFrame  int // 0: no fragmentation
	recordMax int // 0: keep every received message
	path      string
	addr      string        // TCP address, "" in memory
	pipe      *pipeListener // nil on TCP
	certPool  *x509.CertPool
	httpSrv   *http.Server
	upgrader  websocket.Upgrader
	wg        sync.WaitGroup
	closeOnce sync.Once
	closedCh  chan struct{}

	mu             sync.Mutex
	closed         bool
	conns          map[*gateConn]struct{} // every accepted socket
	live           map[*Session]struct{}  // upgraded and not ended
	upgrading      int                    // upgrades in progress
	apps           map[string]string
	refuseUpgrades int
	refuseStatus   int
	refuseLogins   int
	loginDelay     time.Duration
	nextID         uint64
	sessions       []*Session // logged in and not ended, in login order
	queue          []*Session // logged in, not yet returned by NextSession
	queueSig       chan struct{}
	logins         []LoginRecord
}

// NewServer starts a server on 127.0.0.1 with a random port (or in memory,
// see Config.InMemory). It panics if it cannot listen or cfg is invalid, as
// httptest.NewServer does.
func NewServer(cfg Config) *Server {
	return newServer(cfg, false)
}

// NewTLSServer is NewServer with TLS (wss://): the certificate is a fresh
// self-signed one for 127.0.0.1, ::1, localhost and appwstest.invalid;
// CertPool returns a pool that trusts it.
func NewTLSServer(cfg Config) *Server {
	return newServer(cfg, true)
}

func newServer(cfg Config, useTLS bool) *Server {
	if cfg.ChallengeAsNumber && cfg.Challenge != "" {
		var n json.Number
		if json.Unmarshal([]byte(cfg.Challenge), &n) != nil || n.String() != cfg.Challenge {
			panic(fmt.Sprintf("appwstest: Config.Challenge %q is not a JSON number but ChallengeAsNumber is set", cfg.Challenge))
		}
	}
	cfg.Apps = maps.Clone(cfg.Apps)
	cfg.DomainPasswords = maps.Clone(cfg.DomainPasswords)
	cfg.Services = maps.Clone(cfg.Services)
	s := &Server{
		cfg:       cfg,
		log:       cfg.Logger,
		readLimit: cfg.ReadLimit,
		path:      cfg.Path,
		closedCh:  make(chan struct{}),
		conns:     map[*gateConn]struct{}{},
		live:      map[*Session]struct{}{},
		apps:      cfg.Apps,
		queueSig:  make(chan struct{}),
	}
	if s.apps == nil {
		s.apps = map[string]string{}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.readLimit <= 0 {
		s.readLimit = defaultReadLimit
	}
	s.recordMax = max(cfg.RecordLimit, 0)
	switch {
	case cfg.MaxFrameSize == 0:
		s.maxFrame = defaultMaxFrameSize
	case cfg.MaxFrameSize > 0:
		s.maxFrame = cfg.MaxFrameSize
	}
	if s.path == "" {
		s.path = "/appws"
	}
	if s.path[0] != '/' {
		s.path = "/" + s.path
	}
	s.upgrader = websocket.Upgrader{
		CheckOrigin: func(*http.Request) bool { return true },
	}

	var base net.Listener
	host := inMemoryHost
	if cfg.InMemory {
		s.pipe = newPipeListener()
		base = s.pipe
	} else {
		l := cfg.Listener
		if l == nil {
			var err error
			l, err = net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				panic("appwstest: failed to listen on 127.0.0.1: " + err.Error())
			}
		}
		base = l
		s.addr = l.Addr().String()
		host = s.addr
	}
	var ln net.Listener = trackingListener{Listener: base, srv: s}
	scheme := "ws"
	if useTLS {
		cert, pool, err := selfSignedCert()
		if err != nil {
			base.Close()
			panic("appwstest: failed to make a certificate: " + err.Error())
		}
		s.certPool = pool
		ln = tls.NewListener(ln, &tls.Config{
			Certificates: []tls.Certificate{cert},
			NextProtos:   []string{"http/1.1"},
		})
		scheme = "wss"
	}
	s.URL = scheme + "://" + host + s.path
	s.httpSrv = &http.Server{
		Handler:  http.HandlerFunc(s.serveHTTP),
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	s.wg.Go(func() { _ = s.httpSrv.Serve(ln) })
	return s
}

// serveHTTP upgrades requests for the endpoint, unless refused.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != s.path {
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		http.Error(w, "appwstest: server closed", http.StatusServiceUnavailable)
		return
	}
	if s.refuseUpgrades > 0 && websocket.IsWebSocketUpgrade(r) {
		s.refuseUpgrades--
		status := s.refuseStatus
		s.mu.Unlock()
		s.log.Info("appwstest: upgrade refused", "status", status)
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Basic realm="appwstest"`)
		}
		http.Error(w, http.StatusText(status), status)
		return
	}
	s.wg.Add(1) // for the session's goroutine
	// Counted from before the response goes out, so that a client whose
	// upgrade succeeded is always in Connections.
	s.upgrading++
	s.nextID++
	id := s.nextID
	s.mu.Unlock()

	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		s.log.Info("appwstest: upgrade failed", "err", err)
		s.mu.Lock()
		s.upgrading--
		s.mu.Unlock()
		s.wg.Done()
		return
	}
	nc := ws.NetConn()
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	raw := nc.(*gateConn)
	s.mu.Lock()
	s.upgrading--
	if s.closed {
		s.mu.Unlock()
		raw.Close()
		s.wg.Done()
		return
	}
	ss := newSession(s, id, ws, raw)
	s.live[ss] = struct{}{}
	s.mu.Unlock()
	ss.log.Debug("appwstest: connection upgraded", "remote", raw.RemoteAddr().String())
	go ss.serve()
}

// trackConn registers an accepted socket; false once the server is closed.
func (s *Server) trackConn(g *gateConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[g] = struct{}{}
	return true
}

func (s *Server) forgetConn(g *gateConn) {
	s.mu.Lock()
	delete(s.conns, g)
	s.mu.Unlock()
}

// loggedInLocked makes a session visible once it logged in.
func (s *Server) loggedInLocked(ss *Session) {
	s.sessions = append(s.sessions, ss)
	s.queue = append(s.queue, ss)
	close(s.queueSig)
	s.queueSig = make(chan struct{})
}

// endSession forgets a session whose connection ended.
func (s *Server) endSession(ss *Session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.live, ss)
	for i, x := range s.sessions {
		if x == ss {
			s.sessions = append(s.sessions[:i:i], s.sessions[i+1:]...)
			break
		}
	}
}

// passwordsLocked returns the passwords a login for app in domain may use.
func (s *Server) passwordsLocked(app, domain string) []string {
	if s.cfg.SysClient {
		return []string{""}
	}
	var out []string
	if pw, ok := s.apps[app]; ok {
		out = append(out, pw)
	}
	if pw, ok := s.cfg.DomainPasswords[domain]; ok {
		out = append(out, pw)
	}
	return out
}

// CertPool returns a pool trusting a TLS server's certificate, nil for a
// server without TLS.
func (s *Server) CertPool() *x509.CertPool { return s.certPool }

// ClientOptions returns appws.Options that reach the server, as httptest's
// Server.Client returns a client for its server: URL; for a TLS server a
// TLSConfig trusting its certificate; for an in-memory server
// NetDialContext (Server.DialContext), without which the client would try
// to resolve appwstest.invalid and fail; NoProxy, so that a proxy in the
// environment is not asked for 127.0.0.1; and App and Password of the
// first app (by name, in sort order) known now, Config.Apps and SetPassword
// included. Every other field is zero (the documented default); change
// what a test needs, for example MaxMessageSize together with
// Config.ReadLimit for big messages.
func (s *Server) ClientOptions() appws.Options {
	o := appws.Options{URL: s.URL, NoProxy: true}
	if s.certPool != nil {
		o.TLSConfig = &tls.Config{RootCAs: s.certPool}
	}
	if s.pipe != nil {
		o.NetDialContext = s.DialContext
	}
	s.mu.Lock()
	if names := slices.Sorted(maps.Keys(s.apps)); len(names) > 0 {
		o.App, o.Password = names[0], s.apps[names[0]]
	}
	s.mu.Unlock()
	return o
}

// DialContext connects to the server whatever network and addr say: for an
// in-memory server it returns one end of a new net.Pipe, otherwise a TCP
// connection to the server's address. Give it to the client's dialer (for
// gorilla/websocket: Dialer.NetDialContext).
func (s *Server) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if s.pipe != nil {
		return s.pipe.dial(ctx)
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", s.addr)
}

// Close stops the server: it closes the listener and drops every
// connection (upgraded ones too) without a close frame, and returns when
// all of the server's goroutines have ended. It is idempotent. For an
// orderly close of one connection use Session.Close.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		close(s.closedCh)
		s.mu.Unlock()
		_ = s.httpSrv.Close()
		s.dropConns()
		s.wg.Wait()
	})
}

// dropConns closes every accepted socket.
func (s *Server) dropConns() {
	s.mu.Lock()
	conns := make([]*gateConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

// NextSession returns the next session that logged in, in login order; each
// session is returned once. It waits for one until ctx ends or the server
// is closed. The session may have ended already.
func (s *Server) NextSession(ctx context.Context) (*Session, error) {
	for {
		s.mu.Lock()
		if len(s.queue) > 0 {
			ss := s.queue[0]
			s.queue = s.queue[1:]
			s.mu.Unlock()
			return ss, nil
		}
		sig := s.queueSig
		s.mu.Unlock()
		select {
		case <-sig:
		case <-s.closedCh:
			return nil, errClosedServer
		case <-ctx.Done():
			return nil, fmt.Errorf("appwstest: waiting for a session: %w", ctx.Err())
		}
	}
}

// Sessions returns the sessions that are logged in now, in login order.
func (s *Server) Sessions() []*Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Session(nil), s.sessions...)
}

// Push sends msg (as Session.Send) to every logged-in session, to all at
// the same time, and returns when each was written or failed; the errors
// are joined.
func (s *Server) Push(msg any) error {
	b, err := marshal(msg)
	if err != nil {
		return err
	}
	f := s.message(opText, b)
	sessions := s.Sessions()
	errs := make([]error, len(sessions))
	var wg sync.WaitGroup
	for i, ss := range sessions {
		wg.Go(func() {
			if err := ss.enqueue(f...); err != nil {
				errs[i] = fmt.Errorf("appwstest: push to session %d: %w", ss.id, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// SetPassword sets (or adds) the password of app for later logins.
func (s *Server) SetPassword(app, password string) {
	s.mu.Lock()
	s.apps[app] = password
	s.mu.Unlock()
}

// RefuseUpgrades makes the next n websocket upgrade requests fail with the
// HTTP status (0 means 503); a 401 carries a WWW-Authenticate header.
func (s *Server) RefuseUpgrades(n int, status int) {
	if status == 0 {
		status = http.StatusServiceUnavailable
	}
	s.mu.Lock()
	s.refuseUpgrades, s.refuseStatus = n, status
	s.mu.Unlock()
}

// RefuseLogins makes the next n AppLogins fail with LoginErrRefused, even
// with a correct digest. The challenge is used up all the same.
func (s *Server) RefuseLogins(n int) {
	s.mu.Lock()
	s.refuseLogins = n
	s.mu.Unlock()
}

// SetLoginDelay delays every later AppLoginResult, successful or not, by d
// (0: no delay). The session reads nothing meanwhile.
func (s *Server) SetLoginDelay(d time.Duration) {
	s.mu.Lock()
	s.loginDelay = d
	s.mu.Unlock()
}

// DropAll closes every connection, upgraded or not, without a close frame.
// The server keeps accepting new ones.
func (s *Server) DropAll() { s.dropConns() }

// Connections returns the number of open websocket connections, logged in
// or not.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.live) + s.upgrading
}

// Logins returns every AppLogin received so far, in order, successful or
// not.
func (s *Server) Logins() []LoginRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]LoginRecord, len(s.logins))
	for i, r := range s.logins {
		out[i] = r.clone()
	}
	return out
}
