package appws

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/gorilla/websocket"

	"github.com/appwebsocket/appws/internal/canon"
	"github.com/appwebsocket/appws/internal/envelope"
)

// The login (PROTOCOL.md 3): AppChallenge, AppChallengeResult, AppLogin and
// AppLoginResult on a freshly upgraded connection, with a password or with a
// login from an Authenticator. connect runs the dial (dial.go) and then this.

// loginMsg is one AppLogin to send, with the session key it yields.
type loginMsg struct {
	Login
	info []byte // what goes on the wire as "info" (nil: none)
}

// appendAppLogin encodes the AppLogin message. The session key is never part
// of it.
func (l *loginMsg) appendAppLogin(b []byte) []byte {
	b = append(b, `{"mt":"AppLogin","app":`...)
	b = canon.AppendString(b, l.App)
	for _, f := range [...]struct{ k, v string }{
		{"domain", l.Domain}, {"sip", l.SIP}, {"guid", l.GUID}, {"dn", l.DN},
	} {
		b = append(b, ',', '"')
		b = append(b, f.k...)
		b = append(b, '"', ':')
		b = canon.AppendString(b, f.v)
	}
	if len(l.info) > 0 {
		b = append(b, `,"info":`...)
		b = append(b, l.info...)
	}
	b = append(b, `,"digest":`...)
	b = canon.AppendString(b, l.Digest)
	if l.PbxObj != "" {
		b = append(b, `,"pbxObj":`...)
		b = canon.AppendString(b, l.PbxObj)
	}
	return append(b, '}')
}

// maxChallenge bounds the challenge we accept; innovaphone's are 16
// characters.
const maxChallenge = 64

// connect dials the server (dial) and logs in. ctx aborts both. It returns
// the session complete; its loops are not started yet. Every failure is a
// *ConnectError naming its step.
func (c *Client) connect(ctx context.Context, id uint64) (*session, error) {
	o := &c.opts
	d, err := c.dial(ctx)
	if err != nil {
		return nil, err
	}
	lctx, cancel := context.WithTimeout(ctx, o.LoginTimeout)
	defer cancel()
	stop := context.AfterFunc(lctx, d.bc.closeNow) // ctx or the timeout ends the login
	l, err := c.login(lctx, d.conn)
	if !stop() || err != nil {
		d.bc.closeNow()
		switch {
		case ctx.Err() != nil:
			err = ctx.Err()
		case err == nil || lctx.Err() != nil:
			err = &timeoutError{ErrLoginTimeout, o.LoginTimeout}
		case errors.Is(err, ErrAuthenticatorClosed):
			return nil, ErrAuthenticatorClosed
		}
		return nil, connectError("login", err)
	}
	_ = d.conn.SetReadDeadline(time.Time{})
	return newSession(c.sessionEnv(), id, d, l), nil
}

// learned is what a login tells the client: the session key (never logged)
// and the domain the server reported (bounded).
type learned struct {
	key, domain string
}

// appendAppChallenge encodes the AppChallenge message: exactly
// {"mt":"AppChallenge"}, plus "user" and "appObj" only when set (innovaphone's
// 14r1 and later clients send them). Both are valid UTF-8, as Options
// validation ensures.
func appendAppChallenge(b []byte, user, appObj string) []byte {
	b = append(b, `{"mt":"AppChallenge"`...)
	if user != "" {
		b = append(b, `,"user":`...)
		b = canon.AppendString(b, user)
	}
	if appObj != "" {
		b = append(b, `,"appObj":`...)
		b = canon.AppendString(b, appObj)
	}
	return append(b, '}')
}

// login runs the AppChallenge / AppLogin exchange on conn and returns
// what it learned.
func (c *Client) login(ctx context.Context, conn *websocket.Conn) (learned, error) {
	o := &c.opts
	if err := conn.WriteMessage(websocket.TextMessage, appendAppChallenge(nil, o.User, o.AppObj)); err != nil {
		return learned{}, fmt.Errorf("appws: send AppChallenge: %w", err)
	}
	cr, err := c.readLoginReply(conn, "AppChallengeResult")
	if err != nil {
		return learned{}, err
	}
	var sysClient bool
	switch sc := string(bytes.TrimSpace(cr["sysClient"])); sc {
	case "true":
		sysClient = true
	case "", "false", "null":
	default:
		return learned{}, &ProtocolError{"AppChallengeResult's sysClient is not a boolean"}
	}
	challenge, err := parseChallenge(cr["challenge"])
	if err != nil {
		return learned{}, err
	}

	var l loginMsg
	if o.Authenticator != nil {
		got, err := o.Authenticator.GetLogin(ctx, o.App, challenge)
		if err != nil {
			if errors.Is(err, ErrAuthenticatorClosed) {
				return learned{}, ErrAuthenticatorClosed
			}
			return learned{}, fmt.Errorf("appws: authenticator: %w", err)
		}
		if got == nil {
			return learned{}, errors.New("appws: authenticator returned no login")
		}
		l.Login = *got
		if _, err := canon.Info(got.Info); err != nil {
			return learned{}, &ProtocolError{"the login's info is not a JSON object"}
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
		l.Digest = c.loginFields().Digest(challenge, pw)
		l.SessionKey = SessionKey(challenge, pw)
	}
	if err := conn.WriteMessage(websocket.TextMessage, l.appendAppLogin(nil)); err != nil {
		return learned{}, fmt.Errorf("appws: send AppLogin: %w", err)
	}
	lr, err := c.readLoginReply(conn, "AppLoginResult")
	if err != nil {
		return learned{}, err
	}
	if string(bytes.TrimSpace(lr["ok"])) != "true" {
		return learned{}, newLoginError(jsonText(lr["error"]), jsonText(lr["errorText"]))
	}
	return learned{key: l.SessionKey, domain: boundText(jsonText(lr["domain"]), maxServerText)}, nil
}

// readLoginReply reads until the message with mt want and returns its
// top-level members, to be looked up by their exact, case-sensitive keys.
// Other messages before login are dropped, as the protocol says; the other
// login reply out of order is a protocol error.
func (c *Client) readLoginReply(conn *websocket.Conn, want string) (map[string]json.RawMessage, error) {
	for {
		typ, data, err := conn.ReadMessage()
		if err != nil {
			if rl := readLimitError(err, c.opts.ReadLimit); rl != nil {
				return nil, rl
			}
			return nil, fmt.Errorf("appws: waiting for %s: %w", want, disconnectError(err))
		}
		if typ != websocket.TextMessage {
			c.stats.ignored.Add(1)
			c.log.Warn("appws: ignored a binary message before login", "size", len(data))
			continue
		}
		m, err := envelope.Parse(data)
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
		c.log.Warn("appws: dropped a message that came before login", "mt", logText(m.MT), "size", len(data))
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

// loginFields returns the digest's fields of a password login, with the
// canonical info.
func (c *Client) loginFields() canon.Fields {
	o := &c.opts
	return canon.Fields{App: o.App, Domain: o.Domain, SIP: o.SIP, GUID: o.GUID, DN: o.DN, Info: c.info}
}
