package rcctest_test

import (
	"context"
	"encoding/json"
	"testing"
	"testing/synctest"
	"time"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/appwstest"
	"github.com/appwebsocket/appws/rcc"
	"github.com/appwebsocket/appws/rcc/rcctest"
)

var (
	alice = rcctest.User{GUID: "a1", CN: "alice", E164: "10", H323: "alice",
		Devices:  []rcctest.Device{{HW: "ph1", Text: "Desk"}},
		Prefixes: rcctest.Prefixes{Intl: "000", Ntl: "00", Subs: "0", Area: "7031", Country: "49"},
		Mobile:   &rcctest.Mobile{HW: "gsm", E164: "+491701", H323: "alice-gsm"}}
	bob = rcctest.User{GUID: "b2", CN: "bob", E164: "11"}
)

// conn is a client of the fake, read message by message.
type conn struct {
	t *testing.T
	c *appws.Client
}

// dial logs in to a server in memory whose Handler is handler.
func dial(t *testing.T, handler func(*appwstest.Session, appws.Message)) *conn {
	t.Helper()
	srv := appwstest.NewServer(appwstest.Config{Apps: map[string]string{"svc": "pw"}, InMemory: true, Handler: handler})
	t.Cleanup(srv.Close)
	c, err := appws.Dial(t.Context(), srv.ClientOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		for range c.Events() {
		}
	})
	cc := &conn{t, c}
	cc.next() // ConnectComplete
	return cc
}

func (c *conn) next() appws.Event {
	c.t.Helper()
	select {
	case ev := <-c.c.Events():
		c.c.Handled(ev)
		return ev
	case <-time.After(time.Minute): // fake time: everything is blocked
		c.t.Fatal("no event")
		return nil
	}
}

func (c *conn) send(raw string) {
	c.t.Helper()
	if _, err := c.c.Send(c.t.Context(), json.RawMessage(raw)); err != nil {
		c.t.Fatal(err)
	}
}

// read returns the next message, decoded.
func (c *conn) read() map[string]any {
	c.t.Helper()
	for {
		if m, ok := c.next().(appws.Message); ok {
			var v map[string]any
			if err := m.Decode(&v); err != nil {
				c.t.Fatal(err)
			}
			return v
		}
	}
}

// want checks fields of a message read (nil: absent).
func want(t *testing.T, m map[string]any, fields map[string]any) {
	t.Helper()
	for k, v := range fields {
		if got, ok := m[k]; v == nil && ok || v != nil && got != v {
			t.Fatalf("%s = %v, want %v in %v", k, got, v, m)
		}
	}
}

// TestInitializeSendsUsersThenResult: a UserInfo per user with the
// request's src, then InitializeResult; later changes as updates.
func TestInitializeSendsUsersThenResult(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		pbx := rcctest.New(alice, bob)
		c := dial(t, pbx.Handler)
		c.send(`{"api":"RCC","mt":"Initialize","src":"i"}`)
		m := c.read()
		want(t, m, map[string]any{"mt": "UserInfo", "api": "RCC", "src": "i", "cn": "alice", "guid": "a1", "e164": "10",
			"update": nil, "alert": nil, "channel": nil})
		if regs, _ := m["regs"].([]any); len(regs) != 1 || regs[0].(map[string]any)["hw"] != "ph1" {
			t.Fatalf("regs %v", m["regs"])
		}
		want(t, c.read(), map[string]any{"mt": "UserInfo", "cn": "bob"})
		want(t, c.read(), map[string]any{"mt": "InitializeResult", "src": "i"})

		pbx.AddUser(rcctest.User{CN: "carol"})
		want(t, c.read(), map[string]any{"mt": "UserInfo", "cn": "carol", "update": "add", "src": "i"})
		pbx.AddUser(rcctest.User{CN: "carol", DN: "Carol"})
		want(t, c.read(), map[string]any{"mt": "UserInfo", "dn": "Carol", "update": "upd"})
		if !pbx.RemoveUser("carol") || pbx.RemoveUser("nobody") {
			t.Fatal("RemoveUser")
		}
		want(t, c.read(), map[string]any{"mt": "UserInfo", "cn": "carol", "update": "del"})
		if n := len(pbx.Users()); n != 2 {
			t.Fatalf("%d users", n)
		}
	})
}

// TestCallInfoToWatchers: after UserInitialize a session gets a CallInfo
// for every change of the user's calls, a release then "del" at the end;
// the Initialize session gets the user's alert and channel counts.
func TestCallInfoToWatchers(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		pbx := rcctest.New(alice)
		early, _ := pbx.StartCall("alice", rcctest.Party{E164: "300"}, false)
		c := dial(t, pbx.Handler)
		c.send(`{"api":"RCC","mt":"UserInitialize","cn":"alice","hw":"gsm","src":"u"}`)
		res := c.read()
		want(t, res, map[string]any{"mt": "UserInitializeResult", "src": "u", "prefixIntl": "000", "prefixNtl": "00",
			"prefixSubs": "0", "area": "7031", "country": "49"})
		if mob, _ := res["mobile"].(map[string]any); mob["e164"] != "+491701" || mob["h323"] != "alice-gsm" {
			t.Fatalf("mobile %v", res["mobile"])
		}
		user := res["user"]
		// The call that was there already.
		want(t, c.read(), map[string]any{"mt": "CallInfo", "src": "u", "user": user, "call": float64(early), "state": float64(1), "msg": "r-setup"})
		c.send(`{"api":"RCC","mt":"Initialize","src":"i"}`)
		want(t, c.read(), map[string]any{"mt": "UserInfo", "cn": "alice", "alert": nil, "channel": float64(1)})
		want(t, c.read(), map[string]any{"mt": "InitializeResult"})

		id, err := pbx.StartCall("alice", rcctest.Party{E164: "200", DN: "Bob"}, true)
		if err != nil {
			t.Fatal(err)
		}
		m := c.read()
		want(t, m, map[string]any{"mt": "CallInfo", "user": user, "call": float64(id), "state": float64(0x81), "msg": "x-setup"})
		if p := m["peer"].(map[string]any); p["e164"] != "200" || p["dn"] != "Bob" || p["type"] != "peer" {
			t.Fatalf("peer %v", p)
		}
		want(t, c.read(), map[string]any{"mt": "UserInfo", "update": "upd", "alert": nil, "channel": float64(2)})
		_ = pbx.SetCall(id, rcc.StateAlert)
		want(t, c.read(), map[string]any{"call": float64(id), "state": float64(0x84), "msg": "r-alert"})
		want(t, c.read(), map[string]any{"mt": "UserInfo", "alert": float64(1), "channel": float64(2)})
		_ = pbx.SetCall(id, rcc.StateConnected)
		want(t, c.read(), map[string]any{"call": float64(id), "state": float64(0x85), "msg": "r-conn"})
		want(t, c.read(), map[string]any{"mt": "UserInfo", "alert": nil, "channel": float64(2)})
		_ = pbx.HoldCall(id, true)
		want(t, c.read(), map[string]any{"call": float64(id), "state": float64(0x185)})
		_ = pbx.EndCall(id)
		want(t, c.read(), map[string]any{"mt": "CallInfo", "call": float64(id), "msg": "r-rel"})
		want(t, c.read(), map[string]any{"mt": "CallInfo", "call": float64(id), "msg": "del"})
		want(t, c.read(), map[string]any{"mt": "UserInfo", "channel": float64(1)})
		if calls := pbx.Calls(); len(calls) != 1 || calls[0].ID != early {
			t.Fatalf("calls %+v", calls)
		}
		if _, err := pbx.StartCall("nobody", rcctest.Party{}, true); err == nil {
			t.Fatal("a call for an unknown user")
		}
		if pbx.EndCall(id) == nil || pbx.SetCall(id, rcc.StateAlert) == nil || pbx.HoldCall(id, true) == nil {
			t.Fatal("a change of an ended call")
		}
	})
}

// TestCallsMode: Initialize with calls: every call as CallAdd (those up
// already after InitializeResult), CallUpdate without state, CallDel.
func TestCallsMode(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		pbx := rcctest.New(alice)
		early, _ := pbx.StartCall("alice", rcctest.Party{E164: "300"}, true)
		c := dial(t, pbx.Handler)
		c.send(`{"api":"RCC","mt":"Initialize","calls":true,"src":"i"}`)
		want(t, c.read(), map[string]any{"mt": "UserInfo", "cn": "alice"})
		want(t, c.read(), map[string]any{"mt": "InitializeResult", "src": "i"})
		want(t, c.read(), map[string]any{"mt": "CallAdd", "src": "i", "guid": "a1", "cn": "alice", "call": float64(early),
			"state": float64(0x81), "conf-id": "00000000000000000000000000000001", "call-id": "00000000000000000000000000100001"})
		_ = pbx.SetCall(early, rcc.StateConnected)
		m := c.read()
		want(t, m, map[string]any{"mt": "CallUpdate", "src": "i", "call": float64(early), "msg": "r-conn", "state": nil})
		if l, r := m["local"].(map[string]any), m["remote"].(map[string]any); l["e164"] != "10" || l["h323"] != "alice" || r["e164"] != "300" {
			t.Fatalf("CallUpdate %v", m)
		}
		_ = pbx.EndCall(early)
		want(t, c.read(), map[string]any{"mt": "CallUpdate", "call": float64(early), "msg": "r-rel"})
		want(t, c.read(), map[string]any{"mt": "CallDel", "src": "i", "call": float64(early)})
		want(t, c.read(), map[string]any{"mt": "UserInfo", "update": "upd", "channel": nil})
	})
}

// TestClientOperations: UserCall places a call, UserClear ends it; an
// unknown call or user is an error in the Result; what the client sent is
// recorded.
func TestClientOperations(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		pbx := rcctest.New(alice)
		c := dial(t, pbx.Handler)
		c.send(`{"api":"RCC","mt":"UserInitialize","cn":"nobody","src":"n"}`)
		want(t, c.read(), map[string]any{"mt": "UserInitializeResult", "src": "n", "user": nil})
		c.send(`{"api":"RCC","mt":"UserInitialize","cn":"alice","src":"u"}`)
		res := c.read()
		want(t, res, map[string]any{"mobile": nil})
		user := res["user"]
		b, _ := json.Marshal(map[string]any{"api": "RCC", "mt": "UserCall", "src": "c", "user": user, "e164": "200"})
		c.send(string(b))
		res = c.read()
		want(t, res, map[string]any{"mt": "UserCallResult", "src": "c", "error": nil})
		call := res["call"]
		want(t, c.read(), map[string]any{"mt": "CallInfo", "call": call, "state": float64(1)})
		sent, err := pbx.WaitFor(t.Context(), "UserCall", 1)
		if err != nil || len(sent) != 1 || sent[0].Src != "c" {
			t.Fatal(sent, err)
		}
		b, _ = json.Marshal(map[string]any{"api": "RCC", "mt": "UserClear", "call": call})
		c.send(string(b))
		want(t, c.read(), map[string]any{"mt": "UserClearResult", "error": nil})
		want(t, c.read(), map[string]any{"mt": "CallInfo", "call": call, "msg": "x-rel"})
		want(t, c.read(), map[string]any{"mt": "CallInfo", "call": call, "msg": "del"})
		c.send(string(b))
		want(t, c.read(), map[string]any{"mt": "UserClearResult", "error": "no such call"})
		c.send(`{"api":"RCC","mt":"UserCall","user":99}`)
		want(t, c.read(), map[string]any{"mt": "UserCallResult", "error": "no such user"})
		c.send(`{"api":"RCC","mt":"UserTransfer","a":1,"b":2}`)
		want(t, c.read(), map[string]any{"mt": "UserTransferResult", "error": "no such call"})
		c.send(`{"api":"RCC","mt":"Devices","cn":"alice"}`)
		if d := c.read()["devices"].([]any); len(d) != 1 || d[0].(map[string]any)["text"] != "Desk" {
			t.Fatalf("devices %v", d)
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if got, err := pbx.WaitFor(ctx, "UserCall", 3); err == nil || len(got) != 2 {
			t.Fatalf("WaitFor more than came: %d, %v", len(got), err)
		}
	})
}

// TestPassesOtherAPIsOn: RCC messages the fake does not know are
// ignored, as a PBX does; other APIs go to the wrapped Handler.
func TestPassesOtherAPIsOn(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		pbx := rcctest.New()
		c := dial(t, pbx.Wrap(nil))
		c.send(`{"api":"RCC","mt":"Nonsense","src":"x"}`)
		c.send(`{"mt":"Hi","src":"y"}`)
		want(t, c.read(), map[string]any{"mt": "HiResult", "src": "y"})
		if got := pbx.Received(); len(got) != 1 || got[0].MT != "Nonsense" {
			t.Fatalf("received %v", got)
		}
	})
}
