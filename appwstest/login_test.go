package appwstest_test

import (
	"encoding/json"
	"reflect"
	"regexp"
	"testing"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/appwstest"
	"github.com/appwebsocket/appws/internal/testutil"
	"github.com/appwebsocket/appws/wire"
)

// TestLoginDigestVectors logs in with each published digest vector, sending
// the vector's digest (not one computed here), so the server's digest check
// is proven against the official values.
func TestLoginDigestVectors(t *testing.T) {
	t.Parallel()
	v := testutil.LoadVectors(t)
	for i, d := range v.Digest {
		srv := newServer(t, appwstest.Config{
			Apps:      map[string]string{d.App: d.Password},
			Challenge: d.Challenge,
		})
		c := dial(t, srv)
		if got := c.challenge(); got != d.Challenge {
			t.Fatalf("vector %d: challenge %q, want %q", i, got, d.Challenge)
		}
		l := appLogin{App: d.App, Domain: d.Domain, SIP: d.SIP, GUID: d.GUID, DN: d.DN, Digest: d.Digest}
		if d.Info != nil {
			l.Info = json.RawMessage(*d.Info)
		}
		r := c.loginResult(l)
		if r["ok"] != true {
			t.Fatalf("vector %d: login failed: %v", i, r)
		}
		if dom, ok := r["domain"]; ok {
			t.Errorf("vector %d: domain %v without Config.Domain, want none", i, dom)
		}
		logins := srv.Logins()
		if len(logins) != 1 || logins[0].Digest != d.Digest || !logins[0].OK {
			t.Fatalf("vector %d: recorded logins %+v", i, logins)
		}
		ss := nextSession(t, srv)
		if got, want := ss.SessionKey(), appws.SessionKey(d.Challenge, d.Password); got != want {
			t.Errorf("vector %d: session key %s, want %s", i, got, want)
		}
	}
}

// TestSessionKeyByEncryptDecrypt checks the session key the server derives
// by an exchange: the test encrypts under the published session-key vector,
// the server's handler decrypts under Session.SessionKey and answers
// encrypted.
func TestSessionKeyByEncryptDecrypt(t *testing.T) {
	t.Parallel()
	v := testutil.LoadVectors(t).SessionKey
	srv := newServer(t, appwstest.Config{
		Apps:      map[string]string{testApp: v.Password},
		Challenge: v.Challenge,
		Handler: func(s *appwstest.Session, m appws.Message) {
			var req struct{ Seed, Data string }
			_ = m.Decode(&req)
			plain, err := appws.Decrypt(s.SessionKey(), req.Seed, req.Data)
			if err != nil {
				plain = "error: " + err.Error()
			}
			_ = s.Send(map[string]string{"mt": "SecretResult", "data": appws.Encrypt(s.SessionKey(), "reply", plain+"!")})
		},
	})
	c := dial(t, srv)
	c.login(testApp, v.Password)
	c.send(map[string]string{"mt": "Secret", "seed": "seed1", "data": appws.Encrypt(v.Key, "seed1", "Grüße")})
	r := c.read()
	got, err := appws.Decrypt(v.Key, "reply", r["data"].(string))
	if err != nil || got != "Grüße!" {
		t.Fatalf("decrypted reply %q, %v; want %q", got, err, "Grüße!")
	}
}

func TestFreshRandomChallenge(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{})
	c := dial(t, srv)
	digits := regexp.MustCompile(`^[0-9]{16}$`)
	seen := map[string]bool{}
	for range 5 {
		ch := c.challenge()
		if !digits.MatchString(ch) {
			t.Fatalf("challenge %q is not 16 digits", ch)
		}
		if seen[ch] {
			t.Fatalf("challenge %q repeated", ch)
		}
		seen[ch] = true
	}
}

// TestSecondChallengeReplacesFirst: a login with the older of two
// challenges fails, one with the newer succeeds.
func TestSecondChallengeReplacesFirst(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{LoginErrorDetails: true})
	c := dial(t, srv)
	first := c.challenge()
	if second := c.challenge(); second == first {
		t.Fatal("challenges repeat")
	}
	wantFailed(t, c.loginResult(passwordLogin(testApp, "", first, testPassword)), appwstest.LoginErrWrongDigest)
	c.challenge()
	latest := c.challenge()
	if r := c.loginResult(passwordLogin(testApp, "", latest, testPassword)); r["ok"] != true {
		t.Fatalf("login with the latest challenge failed: %v", r)
	}
}

func TestLoginWithoutChallengeRejected(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{LoginErrorDetails: true, Challenge: "1234"})
	c := dial(t, srv)
	wantFailed(t, c.loginResult(passwordLogin(testApp, "", "1234", testPassword)), appwstest.LoginErrNoChallenge)
	if l := srv.Logins(); len(l) != 1 || l[0].OK {
		t.Fatalf("logins %+v", l)
	}
}

func TestChallengeIsSingleUse(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{LoginErrorDetails: true, Challenge: "1234"})
	c := dial(t, srv)
	c.challenge()
	wantFailed(t, c.loginResult(passwordLogin(testApp, "", "1234", "wrong")), appwstest.LoginErrWrongDigest)
	wantFailed(t, c.loginResult(passwordLogin(testApp, "", "1234", testPassword)), appwstest.LoginErrNoChallenge)
	c.challenge()
	if r := c.loginResult(passwordLogin(testApp, "", "1234", testPassword)); r["ok"] != true {
		t.Fatalf("login with a new challenge failed: %v", r)
	}
}

func TestWrongPasswordRejected(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{LoginErrorDetails: true})
	c := dial(t, srv)
	ch := c.challenge()
	wantFailed(t, c.loginResult(passwordLogin(testApp, "", ch, "wrong")), appwstest.LoginErrWrongDigest)
	if n := len(srv.Sessions()); n != 0 {
		t.Fatalf("%d sessions after a failed login", n)
	}
	if l := srv.Logins(); len(l) != 1 || l[0].OK || l[0].App != testApp {
		t.Fatalf("logins %+v", l)
	}
}

func TestUnknownAppRejected(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{LoginErrorDetails: true})
	c := dial(t, srv)
	ch := c.challenge()
	wantFailed(t, c.loginResult(passwordLogin("other", "", ch, testPassword)), appwstest.LoginErrUnknownApp)
}

func TestLoginFieldOfWrongTypeRejected(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{LoginErrorDetails: true, Challenge: "1234"})
	c := dial(t, srv)
	c.challenge()
	c.send(`{"mt":"AppLogin","app":"testapp","sip":5,"digest":"x"}`)
	wantFailed(t, c.read(), appwstest.LoginErrBadMessage)
	c.challenge()
	c.send(`{"mt":"AppLogin","app":"testapp","info":[1],"digest":"x"}`)
	wantFailed(t, c.read(), appwstest.LoginErrBadMessage)
}

func TestMissingFieldsCountAsEmpty(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{Challenge: "1234"})
	c := dial(t, srv)
	c.challenge()
	d, _ := wire.Digest(testApp, "", "", "", "", nil, "1234", testPassword)
	c.send(`{"mt":"AppLogin","app":"testapp","digest":"` + d + `"}`)
	if r := c.read(); r["ok"] != true {
		t.Fatalf("login without domain/sip/guid/dn failed: %v", r)
	}
}

// TestInfoCanonicalised sends info with whitespace and escapes that the
// canonical form (PROTOCOL.md 3.1) removes; the digest over the canonical
// form must be accepted and the raw bytes recorded.
func TestInfoCanonicalised(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{Challenge: "1234"})
	c := dial(t, srv)
	c.challenge()
	info := `{ "b" : "\u00e9\/<>", "a" : [1, 2] }`
	canon, err := wire.CanonicalInfo(json.RawMessage(info))
	if err != nil {
		t.Fatal(err)
	}
	d, _ := wire.Digest(testApp, "", "", "", "", canon, "1234", testPassword)
	c.send(`{"mt":"AppLogin","app":"testapp","info":` + info + `,"digest":"` + d + `"}`)
	if r := c.read(); r["ok"] != true {
		t.Fatalf("login with non-canonical info failed: %v", r)
	}
	if got := string(srv.Logins()[0].Info); got != info {
		t.Fatalf("recorded info %s, want %s", got, info)
	}
}

func TestChallengeAsNumber(t *testing.T) {
	t.Parallel()
	for _, fixed := range []string{"", "9876543210123456"} {
		srv := newServer(t, appwstest.Config{ChallengeAsNumber: true, Challenge: fixed})
		c := dial(t, srv)
		c.send(`{"mt":"AppChallenge"}`)
		raw := string(c.readRaw())
		m := regexp.MustCompile(`"challenge":([1-9][0-9]{15})[,}]`).FindStringSubmatch(raw)
		if m == nil {
			t.Fatalf("challenge is not a 16-digit JSON number: %s", raw)
		}
		if fixed != "" && m[1] != fixed {
			t.Fatalf("challenge %s, want %s", m[1], fixed)
		}
		if r := c.loginResult(passwordLogin(testApp, "", m[1], testPassword)); r["ok"] != true {
			t.Fatalf("login with the number's literal text failed: %v", r)
		}
	}
}

func TestChallengeAsNumberRejectsNonNumber(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Fatal("NewServer accepted a hex challenge to be sent as a number")
		}
	}()
	appwstest.NewServer(appwstest.Config{ChallengeAsNumber: true, Challenge: "0123456789abcdef"}).Close()
}

func TestSysClient(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{LoginErrorDetails: true, SysClient: true})
	c := dial(t, srv)
	c.send(`{"mt":"AppChallenge"}`)
	r := c.read()
	if r["sysClient"] != true {
		t.Fatalf("no sysClient in %v", r)
	}
	ch := r["challenge"].(string)
	wantFailed(t, c.loginResult(passwordLogin(testApp, "", ch, testPassword)), appwstest.LoginErrWrongDigest)
	ch = c.challenge()
	if r := c.loginResult(passwordLogin(testApp, "", ch, "")); r["ok"] != true {
		t.Fatalf("sysClient login with the empty password failed: %v", r)
	}
	if got, want := nextSession(t, srv).SessionKey(), appws.SessionKey(ch, ""); got != want {
		t.Fatalf("session key %s, want %s", got, want)
	}
}

func TestDomainPassword(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{LoginErrorDetails: true, DomainPasswords: map[string]string{"example.com": "domainpw"}})
	c := dial(t, srv)
	ch := c.challenge()
	if r := c.loginResult(passwordLogin(testApp, "example.com", ch, "domainpw")); r["ok"] != true {
		t.Fatalf("login with the domain password failed: %v", r)
	}
	if got, want := nextSession(t, srv).SessionKey(), appws.SessionKey(ch, "domainpw"); got != want {
		t.Fatalf("session key %s, want %s", got, want)
	}
	c = dial(t, srv)
	ch = c.challenge()
	wantFailed(t, c.loginResult(passwordLogin(testApp, "other.com", ch, "domainpw")), appwstest.LoginErrWrongDigest)
	c = dial(t, srv)
	ch = c.challenge()
	if r := c.loginResult(passwordLogin(testApp, "example.com", ch, testPassword)); r["ok"] != true {
		t.Fatalf("login with the app password in a domain with a password failed: %v", r)
	}
}

// TestLoginResultDomain: AppLoginResult carries the app instance's domain
// (Config.Domain), never an echo of the login's domain, and no domain when
// none is configured.
func TestLoginResultDomain(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{})
	c := dial(t, srv)
	ch := c.challenge()
	if r := c.loginResult(passwordLogin(testApp, "given.com", ch, testPassword)); r["ok"] != true || r["domain"] != nil {
		t.Fatalf("AppLoginResult %v, want ok and no domain without Config.Domain", r)
	}
	srv = newServer(t, appwstest.Config{Domain: "fixed.com"})
	c = dial(t, srv)
	ch = c.challenge()
	if r := c.loginResult(passwordLogin(testApp, "given.com", ch, testPassword)); r["domain"] != "fixed.com" {
		t.Fatalf("domain %v, want Config.Domain", r["domain"])
	}
}

// TestFailedLoginResultIsMinimalByDefault: innovaphone documents only that
// a failed AppLoginResult has no "ok":true, so by default it is exactly
// {"mt":"AppLoginResult"}; the reason is still in Server.Logins. With
// Config.LoginErrorDetails it carries error and errorText.
func TestFailedLoginResultIsMinimalByDefault(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{})
	c := dial(t, srv)
	ch := c.challenge()
	c.send(passwordLogin(testApp, "", ch, "wrong"))
	if got := string(c.readRaw()); got != `{"mt":"AppLoginResult"}` {
		t.Fatalf("failed AppLoginResult %s, want {\"mt\":\"AppLoginResult\"}", got)
	}
	c.send(passwordLogin(testApp, "", ch, testPassword)) // the challenge is used up
	if got := string(c.readRaw()); got != `{"mt":"AppLoginResult"}` {
		t.Fatalf("failed AppLoginResult %s", got)
	}
	logins := srv.Logins()
	if len(logins) != 2 || logins[0].Error != appwstest.LoginErrWrongDigest || logins[1].Error != appwstest.LoginErrNoChallenge || logins[0].OK {
		t.Fatalf("recorded logins %+v", logins)
	}

	srv = newServer(t, appwstest.Config{LoginErrorDetails: true})
	c = dial(t, srv)
	ch = c.challenge()
	c.send(passwordLogin(testApp, "", ch, "wrong"))
	if got := string(c.readRaw()); got != `{"mt":"AppLoginResult","error":4,"errorText":"wrong digest"}` {
		t.Fatalf("detailed failed AppLoginResult %s", got)
	}
	c.login(testApp, testPassword)
	if l := srv.Logins(); len(l) != 2 || l[1].Error != 0 || !l[1].OK {
		t.Fatalf("recorded logins %+v", l)
	}
}

// TestLoginRecord checks what is recorded of an AppLogin, including a "key"
// field, which the server ignores but a client must never send.
func TestLoginRecord(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{Challenge: "1234"})
	c := dial(t, srv)
	c.challenge()
	l := passwordLogin(testApp, "d.com", "1234", testPassword)
	raw := `{"mt":"AppLogin","app":"testapp","domain":"d.com","sip":"testapp","guid":"00000000000000000000000000000000","dn":"Admin","digest":"` + l.Digest + `","pbxObj":"obj","key":"leaked"}`
	c.send(raw)
	if r := c.read(); r["ok"] != true {
		t.Fatalf("login with a key field failed: %v", r)
	}
	got := nextSession(t, srv).Login()
	want := appwstest.LoginRecord{
		App: testApp, Domain: "d.com", SIP: testApp, GUID: l.GUID, DN: "Admin", PbxObj: "obj", Digest: l.Digest,
		HasKey: true,
		Fields: []string{"mt", "app", "domain", "sip", "guid", "dn", "digest", "pbxObj", "key"},
		Raw:    json.RawMessage(raw),
		OK:     true,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("login record\n got %+v\nwant %+v", got, want)
	}
	if logins := srv.Logins(); len(logins) != 1 || !reflect.DeepEqual(logins[0], want) {
		t.Fatalf("Logins() = %+v", logins)
	}
}

func TestMessagesBeforeLoginIgnored(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{})
	c := dial(t, srv)
	c.send(`{"mt":"Hello","src":"s1"}`)
	c.send(`{"mt":"KeepAlive"}`)
	// The next answer is the challenge's: the others were dropped.
	if ch := c.challenge(); ch == "" {
		t.Fatal("no challenge")
	}
}

// TestSecondLoginOnLoggedInSession: AppChallenge after login is answered,
// AppLogin after login fails with LoginErrAlreadyLoggedIn and the session
// stays logged in.
func TestSecondLoginOnLoggedInSession(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{LoginErrorDetails: true})
	c, ss := loggedIn(t, srv)
	key := ss.SessionKey()
	ch := c.challenge()
	wantFailed(t, c.loginResult(passwordLogin(testApp, "", ch, testPassword)), appwstest.LoginErrAlreadyLoggedIn)
	if ss.SessionKey() != key || len(srv.Sessions()) != 1 {
		t.Fatal("the second login changed the session")
	}
	c.send(`{"mt":"Ping","src":"a"}`)
	if r := c.read(); r["mt"] != "PingResult" {
		t.Fatalf("session unusable after a second login: %v", r)
	}
}

func TestCloseAfterFailedLogin(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{LoginErrorDetails: true, CloseAfterFailedLogin: true})
	c := dial(t, srv)
	ch := c.challenge()
	wantFailed(t, c.loginResult(passwordLogin(testApp, "", ch, "wrong")), appwstest.LoginErrWrongDigest)
	if ce := c.expectClose(1008); ce.Text != "login failed" {
		t.Fatalf("close reason %q", ce.Text)
	}
}

func TestFailedLoginKeepsConnectionByDefault(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{LoginErrorDetails: true})
	c := dial(t, srv)
	ch := c.challenge()
	wantFailed(t, c.loginResult(passwordLogin(testApp, "", ch, "wrong")), appwstest.LoginErrWrongDigest)
	c.login(testApp, testPassword)
}

func TestRefuseLogins(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{LoginErrorDetails: true})
	srv.RefuseLogins(2)
	for range 2 {
		c := dial(t, srv)
		ch := c.challenge()
		wantFailed(t, c.loginResult(passwordLogin(testApp, "", ch, testPassword)), appwstest.LoginErrRefused)
	}
	dial(t, srv).login(testApp, testPassword)
}

func TestSetPassword(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{LoginErrorDetails: true})
	srv.SetPassword(testApp, "new")
	srv.SetPassword("added", "pw2")
	c := dial(t, srv)
	ch := c.challenge()
	wantFailed(t, c.loginResult(passwordLogin(testApp, "", ch, testPassword)), appwstest.LoginErrWrongDigest)
	c.login(testApp, "new")
	dial(t, srv).login("added", "pw2")
}
