package appws

import (
	"crypto/tls"
	"errors"
	"net/http"
	"strconv"
)

var (
	// ErrClosed is returned by calls on a client that has ended, through
	// Close or by itself.
	ErrClosed = errors.New("appws: client closed")
	// ErrNotConnected is returned by calls that need a session while none is
	// up (between a drop and the next successful login).
	ErrNotConnected = errors.New("appws: not connected")
	// ErrAuthenticatorClosed is returned by an Authenticator that can no
	// longer give logins; a client using it then ends with this error.
	ErrAuthenticatorClosed = errors.New("appws: authenticator closed")
	// ErrSessionEnded is the SendResult error of a message accepted into a
	// session that ended before the message could be written. Such messages
	// are never replayed into a later session.
	ErrSessionEnded = errors.New("appws: session ended before the message was sent")
	// ErrPingTimeout ends a session whose server answered no ping in time.
	ErrPingTimeout = errors.New("appws: no pong from the server in time")
)

// ConfigError reports invalid Options or an invalid argument; nothing was
// sent when it is returned.
type ConfigError struct {
	Field string // the Options field or argument at fault
	Msg   string
}

func (e *ConfigError) Error() string {
	return "appws: invalid " + e.Field + ": " + e.Msg
}

// LoginError reports a login the server rejected: an AppLoginResult without
// "ok": true. Code and Text carry the server's "error" and "errorText" when
// present (Code holds the literal JSON text of "error", a number or a
// string).
type LoginError struct {
	Code string
	Text string
}

func (e *LoginError) Error() string {
	s := "appws: login rejected"
	if e.Code != "" {
		s += ": error " + e.Code
	}
	if e.Text != "" {
		s += ": " + strconv.Quote(e.Text)
	}
	return s
}

// HandshakeError reports a websocket upgrade the server refused with an HTTP
// status. A 4xx status other than 408 and 429 (401, 403 and 404 above all)
// is permanent for a first Dial: it fails at once instead of retrying. 5xx
// and the rest are retried.
//
// Header and Body are what the server answered, for diagnosis (a 503's
// Retry-After, a proxy's explanation). Error shows only the status, so that
// nothing the server echoes ends up in logs.
type HandshakeError struct {
	StatusCode int
	Status     string      // the status line's text, e.g. "503 Service Unavailable" (at most 100 bytes)
	Header     http.Header // the response headers
	Body       string      // the start of the response body: at most 512 bytes read, made valid UTF-8
}

func (e *HandshakeError) Error() string {
	return "appws: websocket handshake refused: HTTP " + e.Status
}

// permanent reports whether the server refuses for good: retrying cannot help.
func (e *HandshakeError) permanent() bool {
	switch e.StatusCode {
	case 401, 403, 404:
		return true
	}
	return e.StatusCode >= 400 && e.StatusCode < 500 && e.StatusCode != 408 && e.StatusCode != 429
}

// ProtocolError reports a server that broke the AppWebsocket protocol, for
// example a login reply out of order or a challenge that cannot be one.
type ProtocolError struct {
	Msg string
}

func (e *ProtocolError) Error() string { return "appws: protocol error: " + e.Msg }

// ReadLimitError ends a session whose server sent a message larger than
// Options.ReadLimit. The message is not read into memory.
type ReadLimitError struct {
	Limit int64
}

func (e *ReadLimitError) Error() string {
	return "appws: message from server exceeds the read limit of " + strconv.FormatInt(e.Limit, 10) + " bytes"
}

// isPermanent reports whether err ends a reconnecting client instead of
// being retried.
func isPermanent(err error) bool {
	var le *LoginError
	var he *HandshakeError
	var ce *ConfigError
	var cv *tls.CertificateVerificationError
	switch {
	case errors.As(err, &le), errors.As(err, &ce), errors.Is(err, ErrAuthenticatorClosed):
		return true
	case errors.As(err, &cv):
		// The server's certificate is not trusted: a matter of
		// configuration, which retrying does not change.
		return true
	case errors.As(err, &he):
		return he.permanent()
	}
	return false
}

// MessageTooLargeError is returned by Send, SendText and Request for a
// message over Options.MaxMessageSize. Nothing was sent and no SendResult
// follows.
type MessageTooLargeError struct {
	Size, Limit int
}

func (e *MessageTooLargeError) Error() string {
	return "appws: message of " + strconv.Itoa(e.Size) + " bytes exceeds MaxMessageSize of " + strconv.Itoa(e.Limit)
}
