package appws_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/appwstest"
)

// TestServicesAuthenticatorOfAClosedPBXIsClosed: once the PBX client has
// ended, GetLogin says ErrAuthenticatorClosed (and a client using it ends
// with Closed{Err: ErrAuthenticatorClosed}, API.md rule 6).
func TestServicesAuthenticatorOfAClosedPBXIsClosed(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{InMemory: true})
	pbx := dial(t, options(srv))
	closeAndDrain(t, pbx)
	_, err := appws.ServicesAuthenticator(pbx).GetLogin(context.Background(), "target", "1234")
	if !errors.Is(err, appws.ErrAuthenticatorClosed) {
		t.Fatalf("GetLogin on a closed PBX client = %v, want ErrAuthenticatorClosed", err)
	}
}

// TestAuthenticatorClosedWhileWaitingToReconnect: a client that logs in
// through a Services authenticator and lost its session ends with
// Closed{Err: ErrAuthenticatorClosed} when the PBX client ends during the
// reconnect backoff, without waiting for the next attempt (API.md rule 6).
func TestAuthenticatorClosedWhileWaitingToReconnect(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		const target = "target-app"
		srv := memServer(t, appwstest.Config{
			Apps:     map[string]string{"pbx": "pbx-pw", target: "target-pw"},
			Services: map[string]appwstest.ServiceTarget{target: {Password: "target-pw"}},
		})
		po := options(srv)
		po.App, po.Password = "pbx", "pbx-pw"
		pbx := dial(t, po)
		nextAs[appws.ConnectComplete](t, pbx)
		nextSession(t, srv)

		bo := options(srv)
		bo.App, bo.Password = target, ""
		bo.Authenticator = appws.ServicesAuthenticator(pbx)
		bo.AutoReconnect = true
		bo.PingInterval = -1
		b := dial(t, bo)
		nextAs[appws.ConnectComplete](t, b)
		nextSession(t, srv).Drop()
		if d := nextAs[appws.Disconnected](t, b); d.RetryIn <= 0 {
			t.Fatalf("Disconnected %+v, want a backoff", d)
		}

		closeAndDrain(t, pbx)
		if cl := nextAs[appws.Closed](t, b); !errors.Is(cl.Err, appws.ErrAuthenticatorClosed) {
			t.Errorf("Closed.Err = %v, want ErrAuthenticatorClosed", cl.Err)
		}
	})
}

func TestServicesAuthenticatorEndToEnd(t *testing.T) {
	t.Parallel()
	const target = "target-app"
	srv := newServer(t, appwstest.Config{
		Apps:     map[string]string{"pbx": "pbx-pw", target: "target-pw"},
		Services: map[string]appwstest.ServiceTarget{target: {Domain: "example.com", SIP: "svc", GUID: "0123", DN: "Svc", Password: "target-pw", Info: []byte(`{"appobj":"x","n":1}`)}},
	})
	po := options(srv)
	po.App, po.Password = "pbx", "pbx-pw"
	pbx, err := appws.Dial(context.Background(), po)
	if err != nil {
		t.Fatal(err)
	}
	nextAs[appws.ConnectComplete](t, pbx)
	nextSession(t, srv)

	bo := options(srv)
	bo.App, bo.Password = target, ""
	bo.Authenticator = appws.ServicesAuthenticator(pbx)
	bo.AutoReconnect = true
	b := dial(t, bo)
	nextAs[appws.ConnectComplete](t, b)
	ss := nextSession(t, srv)
	if l := ss.Login(); l.App != target || l.SIP != "svc" || string(l.Info) != `{"appobj":"x","n":1}` || l.HasKey {
		t.Errorf("login through the PBX: %+v", l)
	}
	enc, err := b.Encrypt("seed", "hello")
	if err != nil {
		t.Fatal(err)
	}
	if dec, err := appws.Decrypt(ss.SessionKey(), "seed", enc); err != nil || dec != "hello" {
		t.Errorf("server decrypts %q, %v", dec, err)
	}

	closeAndDrain(t, pbx)
	cl := nextAs[appws.Closed](t, b)
	if !errors.Is(cl.Err, appws.ErrAuthenticatorClosed) {
		t.Errorf("Closed.Err = %v, want ErrAuthenticatorClosed", cl.Err)
	}
}

func TestServicesAuthenticatorUnknownTarget(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{Apps: map[string]string{"pbx": "pbx-pw"}})
	po := options(srv)
	po.App, po.Password = "pbx", "pbx-pw"
	pbx := dial(t, po)
	bo := options(srv)
	bo.App, bo.Password = "nobody", ""
	bo.Authenticator = appws.ServicesAuthenticator(pbx)
	_, err := appws.Dial(context.Background(), bo)
	if err == nil || errors.Is(err, appws.ErrAuthenticatorClosed) {
		t.Fatalf("Dial = %v, want the PBX's refusal", err)
	}
}
