package appws_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/appwstest"
)

// TestSecretsNeverLogged runs a full life at the most verbose log level -
// logins (password and through the PBX), Encrypt/Decrypt/Hash, messages, a
// reconnect, a refused login, a wrong password, a bad URL - and checks that
// no secret appears in any log line, error string or event: not the
// passwords, session keys, digests, challenges, nor what went through
// Encrypt, Decrypt and Hash.
func TestSecretsNeverLogged(t *testing.T) {
	t.Parallel()
	const (
		challenge  = "8539271640192837"
		password   = "pw-Very-Secret-31337"
		wrongPass  = "pw-Wrong-Secret-999"
		urlSecret  = "url-Secret-Pass-777"
		plainEnc   = "plain-Encrypt-Secret-4242"
		plainHash  = "plain-Hash-Secret-5151"
		plainDec   = "plain-Decrypt-Secret-6161"
		target     = "target"
		targetPass = "pw-Target-Secret-8080"
		targetChal = "7364519283746501"
	)
	var logs logBuffer
	var seen []string // error strings and events
	note := func(v any) {
		switch v := v.(type) {
		case nil:
		case error:
			seen = append(seen, v.Error(), fmt.Sprintf("%+v", v))
		default:
			seen = append(seen, fmt.Sprintf("%+v", v))
		}
	}
	expect := func(ev appws.Event) appws.Event { note(ev); return ev }

	srv := newServer(t, appwstest.Config{Apps: map[string]string{testApp: password}, Challenge: challenge})
	o := options(srv)
	o.Password = password
	o.Logger = logs.logger()
	o.AutoReconnect = true
	o.MinBackoff, o.MaxBackoff = time.Millisecond, time.Millisecond
	o.KeepAliveInterval = 10 * time.Millisecond
	c := dial(t, o)
	expect(nextAs[appws.ConnectComplete](t, c))
	ss := nextSession(t, srv)

	// The helpers, both ways, and a Decrypt of bad hex holding a secret.
	enc, err := c.Encrypt("seed", plainEnc)
	note(err)
	if dec, err := c.Decrypt("seed", enc); err != nil || dec != plainEnc {
		t.Fatalf("round trip: %q, %v", dec, err)
	}
	h, err := c.Hash("seed", plainHash)
	note(err)
	if h != appws.Hash(ss.SessionKey(), "seed", plainHash) {
		t.Error("Hash differs from the server's")
	}
	if dec, err := c.Decrypt("seed2", appws.Encrypt(ss.SessionKey(), "seed2", plainDec)); err != nil || dec != plainDec {
		t.Fatalf("Decrypt: %q, %v", dec, err)
	}
	_, err = c.Decrypt("seed", "zz"+plainDec)
	note(err)
	if err == nil {
		t.Error("Decrypt of bad hex gave no error")
	}

	// Messages both ways, a Request, a KeepAlive.
	if _, err := c.Send(context.Background(), map[string]string{"mt": "Note", "api": "A", "src": "s1"}); err != nil {
		t.Fatal(err)
	}
	expect(nextAs[appws.SendResult](t, c))
	c.MessageComplete()
	expect(nextAs[appws.Message](t, c))
	barrier(t, c)
	waitKeepAlive(t, ss)

	// A reconnect.
	ss.Drop()
	expect(nextAs[appws.Disconnected](t, c))
	expect(nextAs[appws.ConnectComplete](t, c))
	ss = nextSession(t, srv)
	_, err = c.Encrypt("seed", plainEnc)
	note(err)

	// A refused login on the next reconnect is reported and retried.
	srv.RefuseLogins(1)
	ss.Drop()
	expect(nextAs[appws.Disconnected](t, c))
	d := expect(nextAs[appws.Disconnected](t, c)).(appws.Disconnected)
	var le *appws.LoginError
	if !errors.As(d.Err, &le) {
		t.Errorf("Disconnected = %+v, want a *LoginError", d)
	}
	expect(nextAs[appws.ConnectComplete](t, c))

	// A wrong password, and a URL with credentials that cannot be reached.
	o2 := options(srv)
	o2.Password = wrongPass
	o2.Logger = logs.logger()
	_, err = appws.Dial(context.Background(), o2)
	note(err)
	if !errors.As(err, &le) {
		t.Errorf("Dial with a wrong password = %v", err)
	}
	o3 := o2
	o3.URL = "ws://user:" + urlSecret + "@127.0.0.1:1/appws"
	o3.NetDialContext = func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("unreachable")
	}
	_, err = appws.Dial(context.Background(), o3)
	note(err)

	// A login obtained from the PBX.
	targetSrv := newServer(t, appwstest.Config{Apps: map[string]string{target: targetPass}, Challenge: targetChal})
	pbxSrv := newServer(t, appwstest.Config{Services: map[string]appwstest.ServiceTarget{
		target: {Password: targetPass, Info: json.RawMessage(`{"x":1}`)},
	}})
	po := options(pbxSrv)
	po.Logger = logs.logger()
	pbx := dial(t, po)
	expect(nextAs[appws.ConnectComplete](t, pbx))
	pbxSession := nextSession(t, pbxSrv)
	to := options(targetSrv)
	to.App, to.Password = target, ""
	to.Authenticator = appws.ServicesAuthenticator(pbx)
	to.Logger = logs.logger()
	tc := dial(t, to)
	expect(nextAs[appws.ConnectComplete](t, tc))
	_, err = tc.Hash("s", plainHash)
	note(err)

	secrets := map[string]string{
		"password":                   password,
		"wrong password":             wrongPass,
		"URL password":               urlSecret,
		"challenge":                  challenge,
		"session key":                appws.SessionKey(challenge, password),
		"Encrypt plaintext":          plainEnc,
		"Hash data":                  plainHash,
		"Decrypt plaintext":          plainDec,
		"target password":            targetPass,
		"target challenge":           targetChal,
		"target session key":         appws.SessionKey(targetChal, targetPass),
		"PBX session key":            pbxSession.SessionKey(),
		"challenge given to the PBX": targetChal,
	}
	for i, l := range srv.Logins() {
		secrets[fmt.Sprintf("digest of login %d", i+1)] = l.Digest
	}
	for i, l := range targetSrv.Logins() {
		secrets[fmt.Sprintf("digest of target login %d", i+1)] = l.Digest
	}
	for i, l := range pbxSrv.Logins() {
		secrets[fmt.Sprintf("digest of PBX login %d", i+1)] = l.Digest
	}
	out := logs.String()
	for _, want := range []string{"appws: sent", "appws: received", "appws: disconnected", "appws: connect failed", "level=DEBUG"} {
		if !strings.Contains(out, want) {
			t.Errorf("the log has no %q: the test does not see what it should", want)
		}
	}
	lines := strings.Split(out, "\n")
	for name, secret := range secrets {
		if secret == "" {
			t.Fatalf("secret %s is empty", name)
		}
		for _, l := range lines {
			if strings.Contains(l, secret) {
				t.Errorf("the %s is in a log line: %s", name, l)
			}
		}
		for _, s := range seen {
			if strings.Contains(s, secret) {
				t.Errorf("the %s is in an error or event: %s", name, s)
			}
		}
	}
	t.Logf("%d log lines and %d errors/events checked for %d secrets", len(lines), len(seen), len(secrets))
}

// waitKeepAlive waits until ss receives a KeepAlive, which the client sends
// after KeepAliveInterval without a message.
func waitKeepAlive(t *testing.T, ss *appwstest.Session) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for n := len(ss.Received()) + 1; ; n++ {
		msgs, err := ss.WaitReceived(ctx, n)
		if err != nil {
			t.Fatalf("no KeepAlive: %v", err)
		}
		if msgs[n-1].MT == "KeepAlive" {
			return
		}
	}
}

// TestURLWithCredentialsIsConfigError: gorilla/websocket refuses URLs with
// user info on every attempt, so Dial must refuse them up front as a
// *ConfigError (API.md: a bad URL is found before any I/O and is never
// retried), without repeating the password.
func TestURLWithCredentialsIsConfigError(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{})
	o := options(srv)
	o.URL = strings.Replace(srv.URL, "://", "://user:url-Secret@", 1)
	o.AutoReconnect = true
	o.NetDialContext = func(context.Context, string, string) (net.Conn, error) {
		t.Error("Dial did network I/O for a URL it cannot use")
		return nil, errors.New("no")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := appws.Dial(ctx, o)
	var ce *appws.ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("Dial = %v, want a *ConfigError", err)
	}
	if strings.Contains(err.Error(), "url-Secret") {
		t.Errorf("error %q repeats the password", err)
	}
}
