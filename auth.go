package appws

import (
	"context"
	"encoding/json"
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
