package appws

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/gorilla/websocket"
)

// Authenticator obtains logins from elsewhere instead of a password, like the
// C++ IAppWebsocketAuthenticator: typically from the PBX, which can log a
// service in to other services (see ServicesAuthenticator).
//
// GetLogin is called on every (re)connect with the app to log in to and the
// server's challenge. Returning an error wrapping ErrAuthenticatorClosed ends
// the client with Closed{Err: ErrAuthenticatorClosed}; other errors are
// retried like network failures. An Authenticator that also has a method
// Done() <-chan struct{} is watched: when that channel closes, the client
// ends with ErrAuthenticatorClosed at once, even with a session up.
type Authenticator interface {
	GetLogin(ctx context.Context, app, challenge string) (*Login, error)
}

// Login is a login obtained by an Authenticator. The client sends App,
// Domain, SIP, GUID, DN, Info, Digest and PbxObj in AppLogin exactly as they
// are (Info's bytes unchanged), and uses SessionKey, already decrypted, as the
// session key.
type Login struct {
	App, Domain, SIP, GUID, DN, PbxObj string
	Info                               json.RawMessage
	Digest                             string
	SessionKey                         string
}

// loginMsg is one AppLogin to send, with the session key it yields.
type loginMsg struct {
	Login
	info []byte // what goes on the wire as "info" (nil: none)
}

// appendAppLogin encodes the AppLogin message. The session key is never part
// of it.
func (l *loginMsg) appendAppLogin(b []byte) []byte {
	b = append(b, `{"mt":"AppLogin","app":`...)
	b = appendJSONString(b, l.App)
	for _, f := range [...]struct{ k, v string }{
		{"domain", l.Domain}, {"sip", l.SIP}, {"guid", l.GUID}, {"dn", l.DN},
	} {
		b = append(b, ',', '"')
		b = append(b, f.k...)
		b = append(b, '"', ':')
		b = appendJSONString(b, f.v)
	}
	if len(l.info) > 0 {
		b = append(b, `,"info":`...)
		b = append(b, l.info...)
	}
	b = append(b, `,"digest":`...)
	b = appendJSONString(b, l.Digest)
	if l.PbxObj != "" {
		b = append(b, `,"pbxObj":`...)
		b = appendJSONString(b, l.PbxObj)
	}
	return append(b, '}')
}

// maxChallenge bounds the challenge we accept; innovaphone's are 16
// characters.
const maxChallenge = 64

// connect dials the server (dial) and logs in. ctx aborts both. The
// returned session's loops are not started yet.
func (c *Client) connect(ctx context.Context, id uint64) (*session, error) {
	o := &c.opts
	d, err := c.dial(ctx)
	if err != nil {
		return nil, err
	}
	conn, bc := d.conn, d.bc

	lctx, cancel := context.WithTimeout(ctx, o.LoginTimeout)
	defer cancel()
	stop := context.AfterFunc(lctx, bc.closeNow) // ctx or the timeout ends the login
	s := newSession(c, id, conn, bc)
	s.rawFrames = d.rawFrames
	err = c.login(lctx, s)
	if !stop() || err != nil {
		bc.closeNow()
		if err == nil || lctx.Err() != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, &TimeoutError{Op: "login", After: o.LoginTimeout}
		}
		return nil, err
	}
	_ = conn.SetReadDeadline(time.Time{})
	return s, nil
}

// appendAppChallenge encodes the AppChallenge message: exactly
// {"mt":"AppChallenge"}, plus "user" and "appObj" only when set (innovaphone's
// 14r1 and later clients send them). Both are valid UTF-8, as Options
// validation ensures.
func appendAppChallenge(b []byte, user, appObj string) []byte {
	b = append(b, `{"mt":"AppChallenge"`...)
	if user != "" {
		b = append(b, `,"user":`...)
		b = appendJSONString(b, user)
	}
	if appObj != "" {
		b = append(b, `,"appObj":`...)
		b = appendJSONString(b, appObj)
	}
	return append(b, '}')
}

// login runs the AppChallenge / AppLogin exchange on s's connection.
func (c *Client) login(ctx context.Context, s *session) error {
	o := &c.opts
	if err := s.conn.WriteMessage(websocket.TextMessage, appendAppChallenge(nil, o.User, o.AppObj)); err != nil {
		return fmt.Errorf("appws: send AppChallenge: %w", err)
	}
	cr, err := c.readLoginReply(s, "AppChallengeResult")
	if err != nil {
		return err
	}
	var sysClient bool
	switch sc := string(bytes.TrimSpace(cr["sysClient"])); sc {
	case "true":
		sysClient = true
	case "", "false", "null":
	default:
		return &ProtocolError{"AppChallengeResult's sysClient is not a boolean"}
	}
	challenge, err := parseChallenge(cr["challenge"])
	if err != nil {
		return err
	}

	var l loginMsg
	if o.Authenticator != nil {
		got, err := o.Authenticator.GetLogin(ctx, o.App, challenge)
		if err != nil {
			if errors.Is(err, ErrAuthenticatorClosed) {
				return ErrAuthenticatorClosed
			}
			return fmt.Errorf("appws: authenticator: %w", err)
		}
		if got == nil {
			return errors.New("appws: authenticator returned no login")
		}
		l.Login = *got
		if _, err := CanonicalInfo(got.Info); err != nil {
			return &ProtocolError{"the login's info is not a JSON object"}
		}
		if t := bytes.TrimSpace(got.Info); len(t) > 0 && string(t) != "null" {
			l.info = got.Info
		}
	} else {
		pw := o.Password
		if sysClient {
			pw = ""
		}
		l.Login = Login{App: o.App, Domain: o.Domain, SIP: o.SIP, GUID: o.GUID, DN: o.DN, PbxObj: o.PbxObj}
		l.info = c.info
		l.Digest = digestCanonical(o.App, o.Domain, o.SIP, o.GUID, o.DN, c.info, challenge, pw)
		l.SessionKey = SessionKey(challenge, pw)
	}
	if err := s.conn.WriteMessage(websocket.TextMessage, l.appendAppLogin(nil)); err != nil {
		return fmt.Errorf("appws: send AppLogin: %w", err)
	}
	lr, err := c.readLoginReply(s, "AppLoginResult")
	if err != nil {
		return err
	}
	if string(bytes.TrimSpace(lr["ok"])) != "true" {
		return newLoginError(jsonText(lr["error"]), jsonText(lr["errorText"]))
	}
	s.key = l.SessionKey
	s.domain = jsonText(lr["domain"])
	return nil
}

// readLoginReply reads until the message with mt want and returns its
// top-level members, to be looked up by their exact, case-sensitive keys.
// Other messages before login are dropped, as the protocol says; the other
// login reply out of order is a protocol error.
func (c *Client) readLoginReply(s *session, want string) (map[string]json.RawMessage, error) {
	for {
		typ, data, err := s.conn.ReadMessage()
		if err != nil {
			if errors.Is(err, websocket.ErrReadLimit) {
				return nil, &ReadLimitError{Limit: c.opts.ReadLimit}
			}
			return nil, fmt.Errorf("appws: waiting for %s: %w", want, disconnectError(err))
		}
		if typ != websocket.TextMessage {
			c.stats.ignored.Add(1)
			c.log.Warn("appws: ignored a binary message before login", "size", len(data))
			continue
		}
		m, err := ParseMessage(data)
		switch {
		case err != nil:
			c.stats.ignored.Add(1)
			c.log.Warn("appws: ignored a message before login", "size", len(data), "reason", err.Error())
			continue
		case m.MT == want:
			var fields map[string]json.RawMessage
			if err := json.Unmarshal(data, &fields); err != nil {
				return nil, &ProtocolError{want + " cannot be decoded"}
			}
			return fields, nil
		case m.MT == "AppChallengeResult" || m.MT == "AppLoginResult":
			return nil, &ProtocolError{m.MT + " while waiting for " + want}
		}
		c.stats.ignored.Add(1)
		c.log.Warn("appws: dropped a message that came before login", "mt", m.MT, "size", len(data))
	}
}

// parseChallenge accepts the challenge as a string or, as old PBX builds sent
// it, a JSON number (its literal text). The error never shows the challenge.
func parseChallenge(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	var ch string
	switch {
	case len(raw) == 0:
		return "", &ProtocolError{"AppChallengeResult has no challenge"}
	case raw[0] == '"':
		if err := json.Unmarshal(raw, &ch); err != nil {
			return "", &ProtocolError{"AppChallengeResult has a bad challenge"}
		}
	case raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9'):
		ch = string(raw)
	default:
		return "", &ProtocolError{"AppChallengeResult's challenge is neither string nor number"}
	}
	if ch == "" || len(ch) > maxChallenge {
		return "", &ProtocolError{"AppChallengeResult's challenge has " + strconv.Itoa(len(ch)) + " characters"}
	}
	for i := 0; i < len(ch); i++ {
		if ch[i] < 0x21 || ch[i] > 0x7e {
			return "", &ProtocolError{"AppChallengeResult's challenge has a character that is not printable ASCII"}
		}
	}
	return ch, nil
}

// jsonText returns a JSON string's value, or any other JSON value's literal
// text; "" for none or null.
func jsonText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if raw[0] == '"' && json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// ServicesAuthenticator returns an Authenticator that obtains logins from the
// PBX over pbx, a client whose connection comes from or goes to the PBX with
// the Services API: it sends GetServiceLogin for the target app and the
// target's challenge, and decrypts the target's session key from the reply
// with the salt under pbx's session key (PROTOCOL: "Login obtained from the
// PBX"). A GetServiceLoginResult with an "error" is a *ServiceLoginError.
// It reports itself closed when pbx has ended.
func ServicesAuthenticator(pbx *Client) Authenticator {
	return &servicesAuth{pbx: pbx}
}

type servicesAuth struct{ pbx *Client }

// Done is closed when the PBX client has ended.
func (a *servicesAuth) Done() <-chan struct{} { return a.pbx.done }

func (a *servicesAuth) GetLogin(ctx context.Context, app, challenge string) (*Login, error) {
	m, err := a.pbx.Request(ctx, struct {
		API       string `json:"api"`
		MT        string `json:"mt"`
		App       string `json:"app"`
		Challenge string `json:"challenge"`
	}{"Services", "GetServiceLogin", app, challenge})
	if errors.Is(err, ErrClosed) {
		return nil, ErrAuthenticatorClosed
	}
	if err != nil {
		return nil, err
	}
	var f map[string]json.RawMessage
	if err := m.Decode(&f); err != nil {
		return nil, &ProtocolError{"GetServiceLoginResult cannot be decoded"}
	}
	str := func(key string) (string, bool) {
		raw, ok := f[key]
		if !ok || string(raw) == "null" {
			return "", true
		}
		var v string
		return v, json.Unmarshal(raw, &v) == nil
	}
	var r Login
	var salt, encKey string
	for _, fld := range [...]struct {
		key string
		dst *string
	}{
		{"app", &r.App}, {"domain", &r.Domain}, {"sip", &r.SIP}, {"guid", &r.GUID}, {"dn", &r.DN},
		{"pbxObj", &r.PbxObj}, {"digest", &r.Digest}, {"salt", &salt}, {"key", &encKey},
	} {
		v, ok := str(fld.key)
		if !ok {
			return nil, &ProtocolError{"GetServiceLoginResult's " + fld.key + " is not a string"}
		}
		*fld.dst = v
	}
	if e := bytes.TrimSpace(f["error"]); len(e) > 0 && string(e) != "null" && string(e) != "false" {
		text, _ := str("errorText")
		return nil, &ServiceLoginError{
			App:  boundText(app, maxErrorText),
			Code: boundText(jsonText(e), maxErrorCode),
			Text: boundText(text, maxErrorText),
		}
	}
	switch {
	case m.MT != "GetServiceLoginResult":
		return nil, &ProtocolError{"reply to GetServiceLogin is " + quoteShort(m.MT)}
	case r.Digest == "" || encKey == "":
		return nil, &ProtocolError{"GetServiceLoginResult has no digest or key"}
	}
	if info := bytes.TrimSpace(f["info"]); len(info) > 0 && string(info) != "null" {
		r.Info = f["info"]
	}
	key, err := a.pbx.sessionKeyOf(m.Session)
	if err != nil {
		return nil, err
	}
	r.SessionKey, err = Decrypt(key, salt, encKey)
	if err != nil {
		return nil, &ProtocolError{"GetServiceLoginResult's key is not hex"}
	}
	return &r, nil
}

// sessionKeyOf returns the key of session id if it is still the one up.
func (c *Client) sessionKeyOf(id uint64) (string, error) {
	s, err := c.session()
	if err != nil {
		return "", err
	}
	if s.id != id {
		return "", fmt.Errorf("appws: %w: the PBX session changed", ErrSessionEnded)
	}
	return s.key, nil
}

func redactURL(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	return "the server"
}
