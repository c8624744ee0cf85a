// Package wire is what a server, or a test server, needs of the
// AppWebsocket protocol beyond the client: ParseMessage reads a message's
// envelope (PROTOCOL.md 2), CanonicalInfo puts an AppLogin "info" object in
// the form the digest covers, and LoginFields.Digest and Digest compute the
// login digest (PROTOCOL.md 3.1) a server checks an AppLogin against.
//
// The client does all of this itself; a client user needs none of it. Package
// appwstest is built on it. The session-key helpers (SessionKey, Encrypt,
// Decrypt, Hash) are the root package's, since clients use them too.
package wire

import (
	"encoding/json"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/internal/canon"
	"github.com/appwebsocket/appws/internal/envelope"
)

// ParseMessage parses one AppWebsocket message: raw must hold exactly one
// JSON object in valid UTF-8 whose "mt" is a string. MT, API and Src are the
// values of the exact, case-sensitive keys "mt", "api" and "src" (the last
// one when a key repeats; "" for a non-string api or src). The returned
// Message's Raw aliases raw, and its Session is 0. It is what the client does
// with every message it receives.
func ParseMessage(raw []byte) (appws.Message, error) {
	p, err := envelope.Parse(raw)
	if err != nil {
		return appws.Message{}, err
	}
	return appws.Message{MT: p.MT, API: p.API, Src: p.Src, Raw: p.Raw}, nil
}

// CanonicalInfo returns info in the canonical compact form that enters the
// login digest and the AppLogin message: no whitespace, member order and
// number literals kept, and only '"', '\' and U+0000-U+001F escaped. Empty
// input and the JSON literal null give nil (no info). Anything but one JSON
// object, an object with a duplicate key, invalid UTF-8 and lone surrogates
// are errors. The client applies it to Options.Info; a server applies it to
// an AppLogin's info before it checks the digest.
func CanonicalInfo(info json.RawMessage) (json.RawMessage, error) {
	return canon.Info(info)
}

// LoginFields are the AppLogin fields the login digest covers (PROTOCOL.md
// 3.1), in one value instead of a row of strings: a server checks an
// AppLogin, or writes a GetServiceLoginResult, with them.
type LoginFields struct {
	App, Domain, SIP, GUID, DN string
	// Info is the optional info object; it is hashed in its canonical form
	// (CanonicalInfo).
	Info json.RawMessage
}

// Digest returns the login digest of f for challenge and password: the
// lowercase hex SHA-256 of app:domain:sip:guid:dn:info:challenge:password,
// where info is in its canonical form and, when empty or null, left out
// together with its colon. It fails only when Info is not a valid JSON
// object.
func (f LoginFields) Digest(challenge, password string) (string, error) {
	info, err := canon.Info(f.Info)
	if err != nil {
		return "", err
	}
	f.Info = info
	return canon.Fields(f).Digest(challenge, password), nil
}

// Digest returns the login digest of PROTOCOL.md 3.1; it is
// LoginFields{app, domain, sip, guid, dn, info}.Digest(challenge, password).
func Digest(app, domain, sip, guid, dn string, info json.RawMessage, challenge, password string) (string, error) {
	return LoginFields{App: app, Domain: domain, SIP: sip, GUID: guid, DN: dn, Info: info}.Digest(challenge, password)
}
