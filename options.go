package appws

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/appwebsocket/appws/internal/canon"
)

// Options configure a Client. URL, App and one of Password and Authenticator
// are required; every other zero value means the documented default.
type Options struct {
	// URL is the server's websocket endpoint, ws:// or wss://, for example
	// wss://pbx.example.com/PBX0/APPS/websocket.
	URL string
	// App is the service name to log in to (for a PBX API: the PBX App
	// object's name).
	App string
	// Password logs in with the app's password.
	Password string
	// Authenticator logs in with logins obtained elsewhere, for example from
	// the PBX (see ServicesAuthenticator). Exactly one of Password and
	// Authenticator must be set.
	Authenticator Authenticator

	// Domain, SIP, GUID and DN are the AppLogin fields of a password login,
	// covered by the digest; empty fields are sent as "". innovaphone's
	// JavaScript client logs in to an app service with SIP = App, GUID = 32
	// zeros and DN = "Admin".
	Domain, SIP, GUID, DN string
	// PbxObj is the optional AppLogin "pbxObj" field (not covered by the
	// digest).
	PbxObj string
	// User and AppObj are the optional AppChallenge fields "user" and
	// "appObj" that innovaphone's newer clients send (14r1 and later); each
	// is sent only when set.
	User, AppObj string
	// Info is the optional AppLogin "info" object. It is brought to its
	// canonical compact form once, and exactly those bytes are hashed and
	// sent. Not an object, duplicate keys or invalid UTF-8: a *ConfigError.
	Info json.RawMessage

	// AutoReconnect keeps the client connected: a lost session is reported
	// with Disconnected and logged in again after a jittered exponential
	// backoff between MinBackoff and MaxBackoff. Once a session has been up,
	// every failed attempt is retried, a rejected login (*LoginError) and
	// HTTP 401/403/404 (*HandshakeError) included, since a PBX that restarts
	// or updates refuses for a while; only a closed Authenticator or Close
	// ends the client. (Dial still fails at once on those: a wrong password
	// must not retry for ever.) Without AutoReconnect, the first lost session
	// ends the client with Closed.
	AutoReconnect bool
	// MinBackoff and MaxBackoff bound every reconnect delay. Defaults 1 s and
	// 60 s. The delay grows exponentially with jitter and starts over only
	// after a login that stayed up for StableAfter (default 10 s).
	MinBackoff, MaxBackoff, StableAfter time.Duration

	// Logger receives the client's log lines; nil discards them. At Info and
	// above: the AppWebsocket layer (connect, login, disconnect, close). At
	// Debug: also every message in and out (mt, api, src, size). Secrets
	// (password, session key, digest, challenge, Encrypt/Decrypt arguments)
	// never reach it.
	Logger *slog.Logger

	// TLSConfig is used for wss://. Certificates are verified unless it says
	// otherwise.
	TLSConfig *tls.Config
	// Header is added to the websocket upgrade request.
	Header http.Header
	// NetDialContext dials the TCP connection (or any net.Conn, for tests);
	// nil uses a net.Dialer.
	NetDialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// Proxy picks a proxy for the upgrade request; nil uses
	// http.ProxyFromEnvironment. Set NoProxy to connect directly.
	Proxy func(*http.Request) (*url.URL, error)
	// NoProxy ignores the environment's proxy settings.
	NoProxy bool

	// HandshakeTimeout bounds the websocket upgrade. Default 10 s.
	HandshakeTimeout time.Duration
	// MaxHandshakeBytes bounds what is read from the server before the
	// upgrade completes (the HTTP status line and headers); a server that
	// sends more fails the attempt. Default 64 KiB.
	MaxHandshakeBytes int
	// LoginTimeout bounds the login after the upgrade (AppChallenge to
	// AppLoginResult, the Authenticator included). Default 15 s.
	LoginTimeout time.Duration
	// WriteTimeout bounds every write to the socket; a server that does not
	// take our bytes for this long ends the session. Default 10 s.
	WriteTimeout time.Duration
	// CloseTimeout bounds the wait for the server's close frame in Close.
	// Default 1 s.
	CloseTimeout time.Duration

	// PingInterval is how often a websocket ping goes out; a server that
	// sends nothing (no pong, no message) for PingInterval+PongTimeout ends
	// the session with ErrPingTimeout. The clock runs only while the client
	// reads: holding a Message never causes it. Defaults 30 s and 15 s; a
	// negative PingInterval disables pings.
	PingInterval, PongTimeout time.Duration
	// KeepAliveInterval sends the protocol's {"mt":"KeepAlive"} after this
	// long without an outgoing message, as innovaphone's clients do. Default
	// 60 s; negative disables it.
	KeepAliveInterval time.Duration
	// StallWarning is how long received Messages may wait for
	// MessageComplete before the client logs a Warn line ("Messages wait
	// for MessageComplete") and counts a stall in Stats.Stalls: a consumer
	// that forgot MessageComplete (use Client.Handled after every event)
	// stalls the session, not in silence. The check runs every
	// StallWarning, so a stall is reported after between one and two
	// StallWarnings, once. Default DefaultStallWarning; negative disables it.
	// It is also how long a Request whose reply is behind a full read-ahead
	// waits for the consumer to take a Message before it fails with
	// ErrReplyBlocked (DefaultStallWarning when warnings are off).
	StallWarning time.Duration

	// ReadLimit is the largest message accepted from the server; a larger
	// one ends the session with a *ReadLimitError without being read.
	// Default 4 MiB.
	ReadLimit int64
	// MaxMessageSize is the largest message Send, SendText and Request
	// accept; a larger one is a *MessageTooLargeError at the call and is not
	// sent. Default 65535 bytes, the most an innovaphone server accepts
	// (WS_MAX_DATA_SIZE).
	MaxMessageSize int

	// ReadAhead and ReadAheadBytes bound the received Messages that wait
	// for MessageComplete: once either is reached the client stops reading
	// the socket, so TCP pushes back on the server. Defaults 16 messages and
	// 1 MiB (one message may take the bytes over the bound: it is read
	// whole).
	ReadAhead      int
	ReadAheadBytes int
	// RequestReadAhead and RequestReadAheadBytes are how much more may wait
	// while a Request waits for its reply, so that the reply is found behind
	// held Messages. Defaults 256 messages and 1 MiB.
	RequestReadAhead      int
	RequestReadAheadBytes int
	// SendQueue and SendQueueBytes bound the sends accepted but not yet
	// written to the socket; Send waits (up to its ctx) for room. Room is
	// freed when a message is written, never by reading its SendResult.
	// Defaults 256 messages and 1 MiB (a single larger message is accepted
	// into an empty queue).
	SendQueue      int
	SendQueueBytes int
}

// DefaultStallWarning is the default of Options.StallWarning.
const DefaultStallWarning = 30 * time.Second

// normalize checks o and fills in defaults. It does no I/O.
func (o Options) normalize() (Options, []byte, error) {
	if err := o.checkLogin(); err != nil {
		return o, nil, err
	}
	info, err := canon.Info(o.Info)
	if err != nil {
		return o, nil, &ConfigError{"Info", strings.TrimPrefix(err.Error(), "appws: info: ")}
	}
	if err := o.defaultDurations(); err != nil {
		return o, nil, err
	}
	if err := o.defaultSizes(); err != nil {
		return o, nil, err
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o, info, nil
}

// checkLogin checks the URL and the login's fields.
func (o *Options) checkLogin() error {
	u, err := url.Parse(o.URL)
	switch {
	case o.URL == "":
		return &ConfigError{"URL", "empty"}
	case err != nil:
		return &ConfigError{"URL", "cannot be parsed"}
	case u.Scheme != "ws" && u.Scheme != "wss":
		return &ConfigError{"URL", "scheme must be ws or wss, not " + quoteShort(u.Scheme)}
	case u.Host == "":
		return &ConfigError{"URL", "has no host"}
	case u.User != nil:
		return &ConfigError{"URL", "must not contain a user or password (websocket URLs cannot carry them)"}
	case o.App == "":
		return &ConfigError{"App", "empty"}
	case o.Password == "" && o.Authenticator == nil:
		return &ConfigError{"Password", "neither Password nor Authenticator is set"}
	case o.Password != "" && o.Authenticator != nil:
		return &ConfigError{"Authenticator", "Password and Authenticator are both set"}
	}
	for _, f := range []struct{ name, v string }{
		{"App", o.App}, {"Domain", o.Domain}, {"SIP", o.SIP}, {"GUID", o.GUID}, {"DN", o.DN}, {"PbxObj", o.PbxObj},
		{"User", o.User}, {"AppObj", o.AppObj},
	} {
		if !utf8.ValidString(f.v) {
			return &ConfigError{f.name, "not valid UTF-8"}
		}
	}
	return nil
}

// defaultDurations fills in the default timeouts and backoff bounds and
// refuses negative ones (a negative PingInterval or KeepAliveInterval turns
// them off).
func (o *Options) defaultDurations() error {
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
		neg  bool // negative allowed here (off, or checked below)
	}{
		{"MinBackoff", &o.MinBackoff, time.Second, true},
		{"MaxBackoff", &o.MaxBackoff, 60 * time.Second, true},
		{"StableAfter", &o.StableAfter, 10 * time.Second, false},
		{"HandshakeTimeout", &o.HandshakeTimeout, 10 * time.Second, false},
		{"LoginTimeout", &o.LoginTimeout, 15 * time.Second, false},
		{"WriteTimeout", &o.WriteTimeout, 10 * time.Second, false},
		{"CloseTimeout", &o.CloseTimeout, time.Second, false},
		{"PingInterval", &o.PingInterval, 30 * time.Second, true},
		{"PongTimeout", &o.PongTimeout, 15 * time.Second, false},
		{"KeepAliveInterval", &o.KeepAliveInterval, 60 * time.Second, true},
		{"StallWarning", &o.StallWarning, DefaultStallWarning, true},
	} {
		switch {
		case *d.v == 0:
			*d.v = d.def
		case *d.v < 0 && !d.neg:
			return &ConfigError{d.name, "negative"}
		}
	}
	if o.MinBackoff < 0 || o.MaxBackoff < o.MinBackoff {
		return &ConfigError{"MaxBackoff", "must not be below MinBackoff"}
	}
	return nil
}

// defaultSizes fills in the default limits and refuses negative ones.
func (o *Options) defaultSizes() error {
	if o.ReadLimit < 0 {
		return &ConfigError{"ReadLimit", "negative"}
	}
	if o.ReadLimit == 0 {
		o.ReadLimit = 4 << 20
	}
	for _, n := range []struct {
		name string
		v    *int
		def  int
	}{
		{"MaxMessageSize", &o.MaxMessageSize, 65535},
		{"MaxHandshakeBytes", &o.MaxHandshakeBytes, 64 << 10},
		{"ReadAhead", &o.ReadAhead, 16},
		{"ReadAheadBytes", &o.ReadAheadBytes, 1 << 20},
		{"RequestReadAhead", &o.RequestReadAhead, 256},
		{"RequestReadAheadBytes", &o.RequestReadAheadBytes, 1 << 20},
		{"SendQueue", &o.SendQueue, 256},
		{"SendQueueBytes", &o.SendQueueBytes, 1 << 20},
	} {
		switch {
		case *n.v < 0:
			return &ConfigError{n.name, "negative"}
		case *n.v == 0:
			*n.v = n.def
		}
	}
	return nil
}
