package appwstest_test

import (
	"encoding/json"
	"testing"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/appwstest"
	"github.com/appwebsocket/appws/wire"
)

// TestGetServiceLogin plays the whole login obtained from the PBX
// (PROTOCOL.md 3.3): challenge from the target, GetServiceLogin at the PBX,
// session key decrypted with the PBX session key, AppLogin at the target
// with the received fields.
func TestGetServiceLogin(t *testing.T) {
	t.Parallel()
	info := json.RawMessage(`{ "appobj" : "users", "x": "<\u00e9>" }`)
	target := newServer(t, appwstest.Config{Apps: map[string]string{"users": "targetpw"}})
	pbx := newServer(t, appwstest.Config{Services: map[string]appwstest.ServiceTarget{
		"users@example.com": {App: "users", Domain: "example.com", SIP: "svc", GUID: "0123", DN: "Users", PbxObj: "usersobj", Password: "targetpw", Info: info},
	}})
	p := dial(t, pbx)
	p.login(testApp, testPassword)
	pbxKey := nextSession(t, pbx).SessionKey()

	tc := dial(t, target)
	ch := tc.challenge()
	p.send(map[string]string{"api": "Services", "mt": "GetServiceLogin", "app": "users@example.com", "challenge": ch, "src": "s9"})
	raw := p.readRaw()
	var r struct {
		API, MT, Src                       string
		App, Domain, SIP, GUID, DN, PbxObj string
		Info                               json.RawMessage
		Digest, Salt, Key                  string
		Error                              *string
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	if r.API != "Services" || r.MT != "GetServiceLoginResult" || r.Src != "s9" || r.Error != nil {
		t.Fatalf("result %s", raw)
	}
	if r.App != "users" || r.Domain != "example.com" || r.SIP != "svc" || r.GUID != "0123" || r.DN != "Users" || r.PbxObj != "usersobj" {
		t.Fatalf("result fields %s", raw)
	}
	if string(r.Info) != `{"appobj":"users","x":"<é>"}` {
		t.Fatalf("info not canonical: %s", r.Info)
	}
	if r.Salt == "" || r.Key == "" {
		t.Fatalf("no salt or key: %s", raw)
	}
	key, err := appws.Decrypt(pbxKey, r.Salt, r.Key)
	if err != nil {
		t.Fatal(err)
	}
	if want := appws.SessionKey(ch, "targetpw"); key != want {
		t.Fatalf("decrypted key %s, want %s", key, want)
	}

	res := tc.loginResult(appLogin{App: r.App, Domain: r.Domain, SIP: r.SIP, GUID: r.GUID, DN: r.DN, Info: r.Info, Digest: r.Digest, PbxObj: r.PbxObj})
	if res["ok"] != true {
		t.Fatalf("login at the target with the PBX's login failed: %v", res)
	}
	if got := nextSession(t, target).SessionKey(); got != key {
		t.Fatalf("target session key %s, want the decrypted %s", got, key)
	}
}

func TestGetServiceLoginErrors(t *testing.T) {
	t.Parallel()
	pbx := newServer(t, appwstest.Config{Services: map[string]appwstest.ServiceTarget{"known": {Password: "pw"}}})
	c, _ := loggedIn(t, pbx)
	for _, req := range []string{
		`{"api":"Services","mt":"GetServiceLogin","app":"unknown","challenge":"123","src":"e1"}`,
		`{"api":"Services","mt":"GetServiceLogin","app":"known","src":"e1"}`,
	} {
		c.send(req)
		r := c.read()
		if r["mt"] != "GetServiceLoginResult" || r["src"] != "e1" || r["error"] == nil || r["digest"] != nil {
			t.Fatalf("%s: got %v", req, r)
		}
	}
	// App "" means the key.
	c.send(`{"api":"Services","mt":"GetServiceLogin","app":"known","challenge":"123"}`)
	r := c.read()
	want, _ := wire.Digest("known", "", "", "", "", nil, "123", "pw")
	if r["app"] != "known" || r["digest"] != want {
		t.Fatalf("got %v", r)
	}
	if _, ok := r["info"]; ok {
		t.Fatalf("info without one configured: %v", r)
	}
}

func TestSubscribeServices(t *testing.T) {
	t.Parallel()
	pbx := newServer(t, appwstest.Config{Services: map[string]appwstest.ServiceTarget{
		"b": {DN: "B", Info: json.RawMessage(`{"k":1}`)},
		"a": {DN: "A"},
	}})
	c, _ := loggedIn(t, pbx)
	c.send(`{"api":"Services","mt":"SubscribeServices","src":"sub"}`)
	if got := string(c.readRaw()); got != `{"api":"Services","mt":"SubscribeServicesResult","src":"sub"}` {
		t.Fatalf("got %s", got)
	}
	want := `{"api":"Services","mt":"ServicesInfo","src":"sub","services":[{"name":"a","title":"A"},{"name":"b","title":"B","info":{"k":1}}]}`
	if got := string(c.readRaw()); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

// TestServicesAPIWithoutTargetsGoesToHandler: without Config.Services the
// Services API is an ordinary application API (echoed by default).
func TestServicesAPIWithoutTargetsGoesToHandler(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{})
	c, _ := loggedIn(t, srv)
	c.send(`{"api":"Services","mt":"GetServiceLogin","app":"x","challenge":"1"}`)
	if r := c.read(); r["mt"] != "GetServiceLoginResult" || r["echo"] == nil {
		t.Fatalf("got %v", r)
	}
}
