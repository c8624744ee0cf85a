package appws

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// The Authenticator that gets logins from the PBX with the Services API
// (PROTOCOL.md 3.3).

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
