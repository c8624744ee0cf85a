package appws_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/appwstest"
)

// fakeAuth is an Authenticator that answers every GetLogin with login, err.
type fakeAuth struct {
	login *appws.Login
	err   error
}

func (a fakeAuth) GetLogin(context.Context, string, string) (*appws.Login, error) {
	return a.login, a.err
}

// TestAuthenticatorFailureFailsTheLogin: an Authenticator's error ends the
// login attempt with that error wrapped (ErrAuthenticatorClosed as itself);
// an Authenticator that returns neither login nor error is an error too,
// not a nil dereference.
func TestAuthenticatorFailureFailsTheLogin(t *testing.T) {
	t.Parallel()
	errPBX := errors.New("the PBX says no")
	for _, tc := range []struct {
		name string
		auth fakeAuth
		is   error
		text string
	}{
		{"error", fakeAuth{err: errPBX}, errPBX, "appws: login: authenticator: the PBX says no"},
		{"closed", fakeAuth{err: fmt.Errorf("gone: %w", appws.ErrAuthenticatorClosed)}, appws.ErrAuthenticatorClosed, appws.ErrAuthenticatorClosed.Error()},
		{"no login", fakeAuth{}, nil, "appws: login: authenticator returned no login"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, appwstest.Config{InMemory: true})
			o := options(srv)
			o.Password = ""
			o.Authenticator = tc.auth
			_, err := appws.Dial(context.Background(), o)
			if err == nil || tc.is != nil && !errors.Is(err, tc.is) || err.Error() != tc.text {
				t.Fatalf("Dial = %v, want %q", err, tc.text)
			}
		})
	}
}
