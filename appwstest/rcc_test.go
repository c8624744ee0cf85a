package appwstest_test

import (
	"testing"

	"github.com/appwebsocket/appws/appwstest"
)

var (
	rccAlice = appwstest.RCCUser{GUID: "a1", CN: "alice", E164: "10", Devices: []appwstest.RCCDevice{{HW: "ph1", Text: "Desk"}}}
	rccBob   = appwstest.RCCUser{GUID: "b2", CN: "bob", E164: "11"}
)

func rccServer(t *testing.T, users ...appwstest.RCCUser) (*appwstest.RCC, *client) {
	t.Helper()
	pbx := appwstest.NewRCC(users...)
	srv := newServer(t, appwstest.Config{Handler: pbx.Handler})
	c, _ := loggedIn(t, srv)
	return pbx, c
}

// want checks the fields of a message read.
func want(t *testing.T, m map[string]any, fields map[string]any) {
	t.Helper()
	for k, v := range fields {
		if got, ok := m[k]; v == nil && ok || v != nil && got != v {
			t.Fatalf("%s = %v, want %v in %v", k, got, v, m)
		}
	}
}

// TestRCCInitializeSendsUsersThenResult: a UserInfo per user with the
// request's src, then InitializeResult; later changes as updates.
func TestRCCInitializeSendsUsersThenResult(t *testing.T) {
	pbx, c := rccServer(t, rccAlice, rccBob)
	c.send(`{"api":"RCC","mt":"Initialize","src":"i"}`)
	m := c.read()
	want(t, m, map[string]any{"mt": "UserInfo", "api": "RCC", "src": "i", "cn": "alice", "guid": "a1", "e164": "10", "update": nil})
	if regs, _ := m["regs"].([]any); len(regs) != 1 || regs[0].(map[string]any)["hw"] != "ph1" {
		t.Fatalf("regs %v", m["regs"])
	}
	want(t, c.read(), map[string]any{"mt": "UserInfo", "cn": "bob"})
	want(t, c.read(), map[string]any{"mt": "InitializeResult", "src": "i"})

	pbx.AddUser(appwstest.RCCUser{CN: "carol"})
	want(t, c.read(), map[string]any{"mt": "UserInfo", "cn": "carol", "update": "add", "src": "i"})
	pbx.AddUser(appwstest.RCCUser{CN: "carol", DN: "Carol"})
	want(t, c.read(), map[string]any{"mt": "UserInfo", "dn": "Carol", "update": "upd"})
	if !pbx.RemoveUser("carol") || pbx.RemoveUser("nobody") {
		t.Fatal("RemoveUser")
	}
	want(t, c.read(), map[string]any{"mt": "UserInfo", "cn": "carol", "update": "del"})
	if n := len(pbx.Users()); n != 2 {
		t.Fatalf("%d users", n)
	}
}

// TestRCCCallInfoToWatchers: after UserInitialize a session gets a
// CallInfo for every change of the user's calls.
func TestRCCCallInfoToWatchers(t *testing.T) {
	pbx, c := rccServer(t, rccAlice)
	early, _ := pbx.StartCall("alice", appwstest.RCCParty{E164: "300"}, false)
	c.send(`{"api":"RCC","mt":"UserInitialize","cn":"alice","src":"u"}`)
	res := c.read()
	want(t, res, map[string]any{"mt": "UserInitializeResult", "src": "u"})
	user := res["user"]
	// The call that was there already.
	want(t, c.read(), map[string]any{"mt": "CallInfo", "src": "u", "user": user, "call": float64(early), "state": float64(1), "msg": "r-setup"})

	id, err := pbx.StartCall("alice", appwstest.RCCParty{E164: "200", DN: "Bob"}, true)
	if err != nil {
		t.Fatal(err)
	}
	m := c.read()
	want(t, m, map[string]any{"mt": "CallInfo", "user": user, "call": float64(id), "state": float64(0x81), "msg": "x-setup"})
	if p := m["peer"].(map[string]any); p["e164"] != "200" || p["dn"] != "Bob" || p["type"] != "peer" {
		t.Fatalf("peer %v", p)
	}
	_ = pbx.SetCall(id, 5)
	want(t, c.read(), map[string]any{"call": float64(id), "state": float64(0x85), "msg": "r-conn"})
	_ = pbx.HoldCall(id, true)
	want(t, c.read(), map[string]any{"call": float64(id), "state": float64(0x185)})
	_ = pbx.EndCall(id)
	want(t, c.read(), map[string]any{"call": float64(id), "msg": "r-rel"})
	if calls := pbx.Calls(); len(calls) != 1 || calls[0].ID != early {
		t.Fatalf("calls %+v", calls)
	}
	if _, err := pbx.StartCall("nobody", appwstest.RCCParty{}, true); err == nil {
		t.Fatal("a call for an unknown user")
	}
	if pbx.EndCall(id) == nil {
		t.Fatal("EndCall of an ended call")
	}
}

// TestRCCClientOperations: UserCall places a call, UserClear ends it; what
// the client sent is recorded.
func TestRCCClientOperations(t *testing.T) {
	pbx, c := rccServer(t, rccAlice)
	c.send(`{"api":"RCC","mt":"UserInitialize","cn":"alice","src":"u"}`)
	user := c.read()["user"]
	c.send(map[string]any{"api": "RCC", "mt": "UserCall", "src": "c", "user": user, "e164": "200"})
	res := c.read()
	want(t, res, map[string]any{"mt": "UserCallResult", "src": "c"})
	call := res["call"]
	want(t, c.read(), map[string]any{"mt": "CallInfo", "call": call, "state": float64(1)})
	sent, err := pbx.WaitFor(ctx(t), "UserCall", 1)
	if err != nil || len(sent) != 1 {
		t.Fatal(sent, err)
	}
	var uc struct{ E164 string }
	if sent[0].Decode(&uc); uc.E164 != "200" {
		t.Fatalf("UserCall %s", sent[0].Raw)
	}
	c.send(map[string]any{"api": "RCC", "mt": "UserClear", "call": call})
	want(t, c.read(), map[string]any{"mt": "UserClearResult", "error": nil})
	want(t, c.read(), map[string]any{"mt": "CallInfo", "call": call, "msg": "x-rel"})
	c.send(map[string]any{"api": "RCC", "mt": "UserConnect", "call": call})
	want(t, c.read(), map[string]any{"mt": "UserConnectResult", "error": "no such call"})
	c.send(`{"api":"RCC","mt":"Devices","cn":"alice"}`)
	if d := c.read()["devices"].([]any); len(d) != 1 {
		t.Fatalf("devices %v", d)
	}
}

// TestRCCPassesOtherAPIsOn: RCC messages the fake does not know are
// ignored, as a PBX does; other APIs go to the wrapped Handler.
func TestRCCPassesOtherAPIsOn(t *testing.T) {
	pbx := appwstest.NewRCC()
	srv := newServer(t, appwstest.Config{Handler: pbx.Wrap(nil)})
	c, _ := loggedIn(t, srv)
	c.send(`{"api":"RCC","mt":"Nonsense","src":"x"}`)
	c.send(`{"mt":"Hi","src":"y"}`)
	want(t, c.read(), map[string]any{"mt": "HiResult", "src": "y"})
	if got := pbx.Received(); len(got) != 1 || got[0].MT != "Nonsense" {
		t.Fatalf("received %v", got)
	}
}
