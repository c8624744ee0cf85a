package appws

import (
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
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
	// ErrNoReply is the error of a Request whose message was written but
	// whose session ended before the reply came: the server may have acted
	// on it, so retrying is not always safe.
	ErrNoReply = errors.New("appws: session ended after the request was sent, before its reply")
	// ErrPingTimeout ends a session whose server answered no ping in time.
	ErrPingTimeout = errors.New("appws: no pong from the server in time")
	// ErrLoginTimeout matches, with errors.Is, the *TimeoutError of a login
	// that did not complete within Options.LoginTimeout.
	ErrLoginTimeout = errors.New("appws: login timed out")
)

// Limits on server text copied into errors, so that a hostile server cannot
// make an error (or the log line that shows it) megabytes long. Longer text
// is cut at a UTF-8 boundary and marked with cutMark. Error codes are
// numbers or short words, hence the smaller bound.
const (
	maxErrorCode = 64
	maxErrorText = 256
)

// cutMark ends server text that was cut to its limit.
const cutMark = "...[cut]"

// boundText returns s as valid UTF-8 of at most limit bytes of s, followed
// by cutMark when s was longer.
func boundText(s string, limit int) string {
	if len(s) <= limit {
		return strings.ToValidUTF8(s, "\uFFFD")
	}
	n := limit
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return strings.ToValidUTF8(s[:n], "\uFFFD") + cutMark
}

// ConfigError reports invalid Options or an invalid argument; nothing was
// sent when it is returned.
type ConfigError struct {
	Field string // the Options field or argument at fault
	Msg   string
}

// Error describes the error; it starts with "appws: ".
func (e *ConfigError) Error() string {
	return "appws: invalid " + e.Field + ": " + e.Msg
}

// LoginError reports a login the server rejected: an AppLoginResult without
// "ok": true. Code and Text carry the server's "error" and "errorText" when
// present (Code holds the literal JSON text of "error", a number or a
// string). Both are cut to a bound (64 bytes of Code, 256 of Text) at a
// UTF-8 boundary and then end in "...[cut]".
type LoginError struct {
	Code string
	Text string
}

// Error describes the error; it starts with "appws: ".
func (e *LoginError) Error() string { return refusal("appws: login rejected", e.Code, e.Text) }

// refusal is the text of an error that carries a server's error code and
// text.
func refusal(what, code, text string) string {
	if code != "" {
		what += ": error " + code
	}
	if text != "" {
		what += ": " + strconv.Quote(text)
	}
	return what
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

// Error describes the error; it starts with "appws: ".
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

// Error describes the error; it starts with "appws: ".
func (e *ProtocolError) Error() string { return "appws: protocol error: " + e.Msg }

// ReadLimitError ends a session whose server sent a message larger than
// Options.ReadLimit. The message is not read into memory.
type ReadLimitError struct {
	Limit int64
}

// Error describes the error; it starts with "appws: ".
func (e *ReadLimitError) Error() string {
	return "appws: message from server exceeds the read limit of " + strconv.FormatInt(e.Limit, 10) + " bytes"
}

// isPermanent reports whether err fails the first Dial at once instead of
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

// Error describes the error; it starts with "appws: ".
func (e *MessageTooLargeError) Error() string {
	return "appws: message of " + strconv.Itoa(e.Size) + " bytes exceeds MaxMessageSize of " + strconv.Itoa(e.Limit)
}

// newLoginError returns the LoginError for a server's "error" and
// "errorText", bounded.
func newLoginError(code, text string) *LoginError {
	return &LoginError{Code: boundText(code, maxErrorCode), Text: boundText(text, maxErrorText)}
}

// TimeoutError reports a step that did not complete in the time the Options
// allow it. Op names the step ("login"); After is the limit that was
// exceeded. A login timeout also matches ErrLoginTimeout with errors.Is.
// Timeouts are transient: a reconnecting client retries them.
type TimeoutError struct {
	Op    string
	After time.Duration
}

// Error describes the error; it starts with "appws: ".
func (e *TimeoutError) Error() string {
	return "appws: " + e.Op + " timed out after " + e.After.String()
}

// Timeout reports true, as net.Error's Timeout does.
func (e *TimeoutError) Timeout() bool { return true }

// Is makes a login timeout match ErrLoginTimeout.
func (e *TimeoutError) Is(target error) bool {
	return target == ErrLoginTimeout && e.Op == "login"
}

// ServiceLoginError reports a GetServiceLogin the PBX refused: its
// GetServiceLoginResult carried an "error". App is the app the login was
// asked for; Code and Text carry the PBX's "error" (its literal JSON text
// when not a string) and "errorText", bounded like LoginError's.
type ServiceLoginError struct {
	App  string
	Code string
	Text string
}

// Error describes the error; it starts with "appws: ".
func (e *ServiceLoginError) Error() string {
	return refusal("appws: GetServiceLogin for "+strconv.Quote(e.App)+" refused", e.Code, e.Text)
}

// CloseError reports a session that the server ended with a websocket close
// frame. Code is the close code (1000 normal closure, 1001 going away, 1005
// when the frame carried none, ...); Text is the reason the server gave,
// cut to 256 bytes. CloseStatus finds the code through any wrapping.
type CloseError struct {
	Code int
	Text string
}

// Error describes the error; it starts with "appws: ".
func (e *CloseError) Error() string {
	s := "appws: connection closed by the server with code " + strconv.Itoa(e.Code)
	if e.Text != "" {
		s += ": " + strconv.Quote(e.Text)
	}
	return s
}

// CloseStatus returns the websocket close code of the CloseError in err's
// chain, or -1 when err did not come from a close frame: a connection that
// dropped without one (a *ConnectionError) has no close code, not 1006.
func CloseStatus(err error) int {
	var ce *CloseError
	if errors.As(err, &ce) {
		return ce.Code
	}
	var we *websocket.CloseError
	if errors.As(err, &we) && we.Code != websocket.CloseAbnormalClosure {
		return we.Code
	}
	return -1
}

// ConnectionError reports a connection lost without a close frame: the
// server or the network dropped it (EOF, connection reset, ...), or it
// broke the websocket protocol. Op says what the client was doing. Err is
// the underlying error: errors.Is(err, io.EOF) and errors.As for *net.OpError
// and the like see through a ConnectionError.
type ConnectionError struct {
	Op  string
	Err error
}

// Error describes the error; it starts with "appws: ".
func (e *ConnectionError) Error() string {
	if e.Err == nil {
		return "appws: connection lost during " + e.Op
	}
	why := e.Err.Error()
	if errors.Is(e.Err, io.EOF) || errors.Is(e.Err, io.ErrUnexpectedEOF) {
		why = "closed without a close frame (" + why + ")"
	}
	return "appws: connection lost during " + e.Op + ": " + why
}

// Unwrap returns the underlying error.
func (e *ConnectionError) Unwrap() error { return e.Err }

// disconnectError turns the error that ended a session's reads into a typed
// appws error: a close frame becomes a *CloseError, anything else from the
// connection (EOF, a network error, a websocket protocol violation) a
// *ConnectionError wrapping it. Errors that are already appws's own pass
// unchanged; nil stays nil.
func disconnectError(err error) error {
	var we *websocket.CloseError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &we) && we.Code == websocket.CloseAbnormalClosure:
		// gorilla's stand-in for a connection that ended without a close
		// frame: code 1006 is never sent on the wire.
		return &ConnectionError{Op: "read", Err: io.ErrUnexpectedEOF}
	case errors.As(err, &we):
		return &CloseError{Code: we.Code, Text: boundText(we.Text, maxErrorText)}
	case isTyped(err):
		return err
	}
	return &ConnectionError{Op: "read", Err: err}
}

// isTyped reports whether err is one of appws's own session-ending errors.
func isTyped(err error) bool {
	var (
		ce *CloseError
		co *ConnectionError
		rl *ReadLimitError
		pe *ProtocolError
		te *TimeoutError
	)
	return errors.As(err, &ce) || errors.As(err, &co) || errors.As(err, &rl) ||
		errors.As(err, &pe) || errors.As(err, &te) ||
		errors.Is(err, ErrPingTimeout) || errors.Is(err, ErrClosed) ||
		errors.Is(err, ErrSessionEnded) || errors.Is(err, ErrAuthenticatorClosed)
}
