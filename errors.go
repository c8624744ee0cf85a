package appws

import (
	"context"
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
	// ErrSessionEnded is the SendResult error (this very value) of a
	// message accepted into a session that ended before the socket accepted
	// all of its bytes: the server cannot have it whole, so sending it again
	// is safe. Such messages are never replayed into a later session. A
	// Request's error matches it the same way, and names the cause.
	ErrSessionEnded = errors.New("appws: session ended before the message was sent")
	// ErrNoReply is the error of a Request whose message was written but
	// whose session ended before the reply came: the server may have acted
	// on it, so retrying is not always safe.
	ErrNoReply = errors.New("appws: session ended after the request was sent, before its reply")
	// ErrPingTimeout ends a session whose server answered no ping in time.
	ErrPingTimeout = errors.New("appws: no pong from the server in time")
	// ErrLoginTimeout matches, with errors.Is, the *ConnectError of a
	// login that did not complete within Options.LoginTimeout.
	ErrLoginTimeout = errors.New("appws: login timed out")
	// ErrHandshakeTimeout matches, with errors.Is, the *ConnectError of a
	// connection whose TCP, TLS and websocket upgrade did not complete
	// within Options.HandshakeTimeout.
	ErrHandshakeTimeout = errors.New("appws: websocket handshake timed out")
	// ErrBacklog is returned by Send and SendText while the consumer is so
	// far behind that the SendResults waiting for it no longer fit their
	// bound (rule 8 of Event): read Events. Nothing was sent.
	ErrBacklog = errors.New("appws: too many SendResults wait for the consumer: read Events")
	// ErrReplyBlocked is the error of a Request whose reply cannot come:
	// the read-ahead is full of Messages waiting for MessageComplete, the
	// reply would be behind them, and the consumer took none of them for
	// Options.StallWarning (DefaultStallWarning when warnings are off). The
	// message was written, so the server may have acted on it, as with
	// ErrNoReply.
	ErrReplyBlocked = errors.New("appws: the reply is behind Messages waiting for MessageComplete (read-ahead full, consumer stalled)")
)

// ConnectError reports a failed connection attempt and names its step:
// "dial" (name resolution, TCP, a proxy), "tls" (the TLS handshake of
// wss://), "upgrade" (the websocket upgrade, HTTP) or "login" (AppChallenge
// to AppLoginResult). Err is the cause: a *net.OpError or *net.DNSError, a
// *tls.CertificateVerificationError, a *HandshakeError, a *LoginError, the
// ctx's error, ErrLoginTimeout, ..., all found through it with errors.Is and
// errors.As.
type ConnectError struct {
	Step string
	Err  error
}

// Error describes the error; it starts with "appws: " and the step ("appws:
// dial: ...", or "appws: login rejected: ..." where the cause names the
// step itself).
func (e *ConnectError) Error() string {
	why := e.Err.Error()
	if strings.HasPrefix(why, "appws: "+e.Step+" ") { // "appws: login rejected: ..."
		return why
	}
	return "appws: " + e.Step + ": " + strings.TrimPrefix(why, "appws: ")
}

// Unwrap returns the cause.
func (e *ConnectError) Unwrap() error { return e.Err }

// Timeout reports whether the step failed because it took too long: a
// timeout of the Options, of the network, or the caller's ctx deadline.
func (e *ConnectError) Timeout() bool {
	var ne interface{ Timeout() bool }
	return errors.Is(e.Err, context.DeadlineExceeded) || (errors.As(e.Err, &ne) && ne.Timeout())
}

// connectError returns err as the *ConnectError of step, unless it is one
// already (which keeps its own step).
func connectError(step string, err error) error {
	var ce *ConnectError
	if err == nil || errors.As(err, &ce) {
		return err
	}
	return &ConnectError{Step: step, Err: err}
}

// Temporary reports false; it is here because net.Error asks for it.
func (e *ConnectError) Temporary() bool { return false }

// Limits on server text copied into errors, so that a hostile server cannot
// make an error (or the log line that shows it) megabytes long. Longer text
// is cut at a UTF-8 boundary and marked with cutMark. Error codes are
// numbers or short words, hence the smaller bound.
const (
	maxErrorCode = 64
	maxErrorText = 256
	// maxServerText bounds other server text the client keeps, such as
	// ConnectComplete.Domain.
	maxServerText = 256
	// maxLogText bounds a message's strings (mt, api, src) in a log line.
	maxLogText = 128
)

// logText bounds s for a log line.
func logText(s string) string { return boundText(s, maxLogText) }

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

// readLimitError returns the *ReadLimitError for a read that failed on the
// read limit, nil for any other failure.
func readLimitError(err error, limit int64) error {
	if errors.Is(err, websocket.ErrReadLimit) {
		return &ReadLimitError{Limit: limit}
	}
	return nil
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

// timeoutError is the cause of a connect step that did not complete in the
// time the Options allow it (LoginTimeout, HandshakeTimeout). It matches
// its sentinel, not context.DeadlineExceeded: that is the caller's ctx.
type timeoutError struct {
	sentinel error
	after    time.Duration
}

func (e *timeoutError) Error() string        { return "appws: timed out after " + e.after.String() }
func (e *timeoutError) Is(target error) bool { return target == e.sentinel }
func (e *timeoutError) Timeout() bool        { return true }

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
	)
	return errors.As(err, &ce) || errors.As(err, &co) || errors.As(err, &rl) ||
		errors.As(err, &pe) ||
		errors.Is(err, ErrPingTimeout) || errors.Is(err, ErrClosed) ||
		errors.Is(err, ErrSessionEnded) || errors.Is(err, ErrAuthenticatorClosed)
}
