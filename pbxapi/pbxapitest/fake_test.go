package pbxapitest_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/appwstest"
	"github.com/appwebsocket/appws/pbxapi"
	"github.com/appwebsocket/appws/pbxapi/pbxapitest"
)

// These tests speak the raw protocol to the fake, as a PBX client would.

func users() []pbxapitest.User {
	return []pbxapitest.User{
		{SIP: "bob", Num: "11", DN: "Bob", Email: "bob@example.com", GUID: "b0b",
			Presence: []pbxapi.Presence{{Contact: "im:", Status: "open"}}},
		{SIP: "carol", Num: "12", DN: "Carol"},
	}
}

// server starts an in-memory server with handler and apps alice and dave
// (their logins have no sip: the fake takes the app as the user).
func server(t *testing.T, handler func(*appwstest.Session, appws.Message)) *appwstest.Server {
	t.Helper()
	srv := appwstest.NewServer(appwstest.Config{Apps: map[string]string{"alice": "pw", "dave": "pw"}, InMemory: true, Handler: handler})
	t.Cleanup(srv.Close)
	return srv
}

// client is a logged-in client whose messages the test reads one by one.
type client struct {
	t *testing.T
	c *appws.Client
}

func connect(t *testing.T, srv *appwstest.Server, app string) *client {
	t.Helper()
	opts := srv.ClientOptions()
	opts.App, opts.Password = app, "pw"
	c, err := appws.Dial(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		for range c.Events() {
		}
	})
	cl := &client{t, c}
	cl.next("") // ConnectComplete
	return cl
}

func (c *client) send(raw string) {
	c.t.Helper()
	if _, err := c.c.Send(c.t.Context(), json.RawMessage(raw)); err != nil {
		c.t.Fatal(err)
	}
}

// next returns the next Message (a ConnectComplete when mt is "") as a
// map, and checks its mt.
func (c *client) next(mt string) map[string]any {
	c.t.Helper()
	timeout := time.NewTimer(time.Minute)
	defer timeout.Stop()
	for {
		select {
		case ev, ok := <-c.c.Events():
			if !ok {
				c.t.Fatalf("client ended waiting for %q", mt)
			}
			c.c.Handled(ev)
			switch ev := ev.(type) {
			case appws.ConnectComplete:
				if mt == "" {
					return nil
				}
			case appws.Message:
				var m map[string]any
				if err := ev.Decode(&m); err != nil {
					c.t.Fatal(err)
				}
				if ev.MT != mt {
					c.t.Fatalf("got %s, want mt %s", ev.Raw, mt)
				}
				return m
			}
		case <-timeout.C:
			c.t.Fatalf("no %q within a minute", mt)
		}
	}
}

// quiet checks that nothing came before the answer to a marker request.
func (c *client) quiet() {
	c.t.Helper()
	c.send(`{"mt":"Marker","src":"marker"}`)
	c.next("MarkerResult")
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestSubscribePresence: Result, then PresenceState with the endpoint and
// PresenceUpdate with the items, all with the request's src; an unknown
// user gets a PresenceState with up false.
func TestSubscribePresence(t *testing.T) {
	t.Parallel()
	pbx := pbxapitest.New(users()...)
	c := connect(t, server(t, pbx.Handler), "alice")
	c.send(`{"api":"PbxApi","mt":"SubscribePresence","sip":"bob","src":"s1"}`)
	if m := c.next("SubscribePresenceResult"); m["src"] != "s1" || m["api"] != "PbxApi" {
		t.Errorf("result %v", m)
	}
	if m := jsonOf(c.next("PresenceState")); m != `{"api":"PbxApi","dn":"Bob","email":"bob@example.com","mt":"PresenceState","num":"11","sip":"bob","src":"s1","up":true}` {
		t.Errorf("state %s", m)
	}
	if m := jsonOf(c.next("PresenceUpdate")); m != `{"api":"PbxApi","mt":"PresenceUpdate","presence":[{"activity":"","contact":"im:","status":"open"}],"src":"s1"}` {
		t.Errorf("update %s", m)
	}
	c.send(`{"api":"PbxApi","mt":"SubscribePresence","num":"12","src":"s2"}`)
	c.next("SubscribePresenceResult")
	if m := c.next("PresenceState"); m["sip"] != "carol" || m["up"] != true {
		t.Errorf("by num: %v", m)
	}
	if m := jsonOf(c.next("PresenceUpdate")); !strings.Contains(m, `"presence":[]`) {
		t.Errorf("no presence: %s", m)
	}
	c.send(`{"api":"PbxApi","mt":"SubscribePresence","sip":"nobody","src":"s3"}`)
	c.next("SubscribePresenceResult")
	if m := jsonOf(c.next("PresenceState")); m != `{"api":"PbxApi","mt":"PresenceState","num":"","sip":"nobody","src":"s3","up":false}` {
		t.Errorf("unknown user: %s", m)
	}
	c.quiet()
	if got, _ := pbx.WaitFor(t.Context(), "SubscribePresence", 3); len(got) != 3 || got[2].Src != "s3" {
		t.Errorf("WaitFor %v", got)
	}
}

// TestSetPresencePushesToEverySubscription: SetPresence from one session
// puts the item first, replacing the one with its contact, and every
// subscription gets a PresenceUpdate with its own src.
func TestSetPresencePushesToEverySubscription(t *testing.T) {
	t.Parallel()
	pbx := pbxapitest.New(users()...)
	srv := server(t, pbx.Handler)
	a, d := connect(t, srv, "alice"), connect(t, srv, "dave")
	for _, x := range []struct {
		c   *client
		src string
	}{{a, "a1"}, {d, "d1"}} {
		x.c.send(`{"api":"PbxApi","mt":"SubscribePresence","sip":"bob","src":"` + x.src + `"}`)
		x.c.next("SubscribePresenceResult")
		x.c.next("PresenceState")
		x.c.next("PresenceUpdate")
	}
	reply, err := a.c.Request(t.Context(), json.RawMessage(`{"api":"PbxApi","mt":"SetPresence","sip":"bob","contact":"","activity":"away","note":"lunch"}`))
	if err != nil || reply.MT != "SetPresenceResult" || strings.Contains(string(reply.Raw), "error") {
		t.Fatalf("reply %s %v", reply.Raw, err)
	}
	want := `"presence":[{"activity":"away","contact":"tel:","note":"lunch"},{"activity":"","contact":"im:","status":"open"}]`
	for _, x := range []struct {
		c   *client
		src string
	}{{a, "a1"}, {d, "d1"}} {
		m := x.c.next("PresenceUpdate")
		if m["src"] != x.src || !strings.Contains(jsonOf(m), want) {
			t.Errorf("push %s", jsonOf(m))
		}
	}
	reply, _ = d.c.Request(t.Context(), json.RawMessage(`{"api":"PbxApi","mt":"SetPresence","guid":"b0b","contact":"tel:","activity":"busy"}`))
	if strings.Contains(string(reply.Raw), "error") {
		t.Fatalf("by guid: %s", reply.Raw)
	}
	if m := jsonOf(a.next("PresenceUpdate")); !strings.Contains(m, `"presence":[{"activity":"busy","contact":"tel:"},{"activity":"","contact":"im:","status":"open"}]`) {
		t.Errorf("replaced tel: %s", m)
	}
	d.next("PresenceUpdate")
	for req, want := range map[string]string{
		`{"api":"PbxApi","mt":"SetPresence","sip":"nobody","activity":"away"}`: `"error":1,"errorText":"no such user"`,
		`{"api":"PbxApi","mt":"SetPresence","activity":"away"}`:                `"error":2,"errorText":"sip or guid required"`,
	} {
		reply, _ := a.c.Request(t.Context(), json.RawMessage(req))
		if !strings.Contains(string(reply.Raw), want) {
			t.Errorf("%s: %s", req, reply.Raw)
		}
	}
	a.quiet()
}

// TestUnsubscribePresenceStopsThePushes.
func TestUnsubscribePresenceStopsThePushes(t *testing.T) {
	t.Parallel()
	pbx := pbxapitest.New(users()...)
	c := connect(t, server(t, pbx.Handler), "alice")
	c.send(`{"api":"PbxApi","mt":"SubscribePresence","sip":"bob","src":"s1"}`)
	c.next("SubscribePresenceResult")
	c.next("PresenceState")
	c.next("PresenceUpdate")
	c.send(`{"api":"PbxApi","mt":"UnsubscribePresence","sip":"bob","src":"s1"}`)
	if m := c.next("UnsubscribePresenceResult"); m["src"] != "s1" {
		t.Errorf("result %v", m)
	}
	if err := pbx.SetPresence("bob", pbxapi.Presence{Activity: "away"}); err != nil {
		t.Fatal(err)
	}
	c.quiet()
}

// TestScriptedUsers: AddUser pushes the monitor up and the presence,
// RemoveUser the monitor down; SetPresence pushes the presence.
func TestScriptedUsers(t *testing.T) {
	t.Parallel()
	pbx := pbxapitest.New()
	c := connect(t, server(t, pbx.Handler), "alice")
	c.send(`{"api":"PbxApi","mt":"SubscribePresence","sip":"erin","src":"e"}`)
	c.next("SubscribePresenceResult")
	if m := c.next("PresenceState"); m["up"] != false {
		t.Errorf("state %v", m)
	}
	pbx.AddUser(pbxapitest.User{SIP: "erin", DN: "Erin"})
	if m := c.next("PresenceState"); m["up"] != true || m["dn"] != "Erin" || m["src"] != "e" {
		t.Errorf("added: %v", m)
	}
	c.next("PresenceUpdate")
	if err := pbx.SetPresence("erin", pbxapi.Presence{Contact: "calendar:", Activity: "busy", Note: "meeting"}); err != nil {
		t.Fatal(err)
	}
	if m := jsonOf(c.next("PresenceUpdate")); !strings.Contains(m, `"presence":[{"activity":"busy","contact":"calendar:","note":"meeting"}]`) {
		t.Errorf("scripted: %s", m)
	}
	if u, ok := pbx.User("erin"); !ok || len(u.Presence) != 1 {
		t.Errorf("User %+v", u)
	}
	if !pbx.RemoveUser("erin") || pbx.RemoveUser("erin") {
		t.Error("RemoveUser")
	}
	if m := c.next("PresenceState"); m["up"] != false {
		t.Errorf("removed: %v", m)
	}
	if err := pbx.SetPresence("erin", pbxapi.Presence{}); err == nil {
		t.Error("SetPresence of a removed user")
	}
	c.quiet()
}

// TestProfiles: SubscribeProfileResult carries the first profile of the
// session's user; changes to it are pushed (an update as
// ProfileContactAdded with the same id), to its user only.
func TestProfiles(t *testing.T) {
	t.Parallel()
	pbx := pbxapitest.New(users()...)
	pbx.SetProfile("alice", pbxapi.Profile{ID: 3, Name: "Favs", Contacts: []pbxapi.Contact{{ID: 5, Name: "bob", Dsp: "Bob"}}})
	srv := server(t, pbx.Handler)
	a, d := connect(t, srv, "alice"), connect(t, srv, "dave")
	a.send(`{"api":"PbxApi","mt":"SubscribeProfile","src":"pa"}`)
	if m := jsonOf(a.next("SubscribeProfileResult")); m != `{"api":"PbxApi","mt":"SubscribeProfileResult","profile":{"contacts":[{"dsp":"Bob","id":5,"name":"bob"}],"id":3,"name":"Favs"},"src":"pa"}` {
		t.Errorf("result %s", m)
	}
	d.send(`{"api":"PbxApi","mt":"SubscribeProfile","src":"pd"}`)
	if m := d.next("SubscribeProfileResult"); m["profile"] != nil {
		t.Errorf("dave's profile %v", m)
	}

	nc := pbx.AddContact("alice", pbxapi.NewContact{SIP: "carol", DN: "Carol"})
	if nc != (pbxapi.Contact{ID: 6, Name: "carol", Dsp: "Carol", Presence: true, Dialog: true}) {
		t.Errorf("AddContact %+v", nc)
	}
	if m := jsonOf(a.next("ProfileContactAdded")); m != `{"api":"PbxApi","mt":"ProfileContactAdded","profile":{"contact":{"dialog":true,"dsp":"Carol","id":6,"name":"carol","presence":true},"id":3},"src":"pa"}` {
		t.Errorf("added %s", m)
	}
	nc.Dsp = "Caroline"
	if err := pbx.UpdateContact("alice", nc); err != nil {
		t.Fatal(err)
	}
	if m := jsonOf(a.next("ProfileContactAdded")); !strings.Contains(m, `"dsp":"Caroline","id":6`) {
		t.Errorf("updated %s", m)
	}
	if err := pbx.DeleteContact("alice", 5); err != nil {
		t.Fatal(err)
	}
	if m := jsonOf(a.next("ProfileContactDeleted")); m != `{"api":"PbxApi","mt":"ProfileContactDeleted","profile":{"contact":{"id":5},"id":3},"src":"pa"}` {
		t.Errorf("deleted %s", m)
	}
	if err := pbx.DeleteContact("alice", 5); err == nil {
		t.Error("deleted twice")
	}
	if err := pbx.UpdateContact("dave", nc); err == nil {
		t.Error("updated a favourite dave does not have")
	}

	// The operations, from dave: his profile 1 is created by the add.
	for _, req := range []string{
		`{"api":"PbxApi","mt":"AddProfileContact","id":1,"name":"Mine","contact":{"dn":"Bob","sip":"bob"}}`,
		`{"api":"PbxApi","mt":"UpdateProfileContact","id":1,"contact":{"id":7,"name":"bob","dsp":"Bobby","presence":true}}`,
		`{"api":"PbxApi","mt":"DelProfileContact","id":1,"contact":{"id":7}}`,
	} {
		reply, err := d.c.Request(t.Context(), json.RawMessage(req))
		if err != nil || strings.Contains(string(reply.Raw), "error") {
			t.Fatalf("%s: %s %v", req, reply.Raw, err)
		}
	}
	d.next("ProfileContactAdded")
	if m := jsonOf(d.next("ProfileContactAdded")); !strings.Contains(m, `"dsp":"Bobby"`) {
		t.Errorf("dave's update %s", m)
	}
	d.next("ProfileContactDeleted")
	if p, ok := pbx.Profile("dave"); !ok || p.ID != 1 || p.Name != "Mine" || len(p.Contacts) != 0 {
		t.Errorf("dave's profile %+v", p)
	}
	for req, want := range map[string]string{
		`{"api":"PbxApi","mt":"DelProfileContact","id":1,"contact":{"id":99}}`:           `"error":1`,
		`{"api":"PbxApi","mt":"UpdateProfileContact","id":9,"contact":{"id":6}}`:         `"error":1`,
		`{"api":"PbxApi","mt":"AddProfileContact","id":1,"contact":{}}`:                  `"error":2`,
		`{"api":"PbxApi","mt":"AddProfileContact","id":1,"contact":{"dn":["not text"]}}`: `"error":3`,
	} {
		reply, _ := d.c.Request(t.Context(), json.RawMessage(req))
		if !strings.Contains(string(reply.Raw), want) {
			t.Errorf("%s: %s", req, reply.Raw)
		}
	}
	a.send(`{"api":"PbxApi","mt":"UnsubscribeProfile","src":"pa"}`)
	a.next("UnsubscribeProfileResult")
	pbx.AddContact("alice", pbxapi.NewContact{Num: "0301234"})
	a.quiet()
	d.quiet()
}

// TestGetNodeInfo: the fields PbxApi.htm lists; area_code only when set.
func TestGetNodeInfo(t *testing.T) {
	t.Parallel()
	pbx := pbxapitest.New()
	c := connect(t, server(t, pbx.Handler), "alice")
	reply, err := c.c.Request(t.Context(), pbxapi.GetNodeInfo{})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	_ = reply.Decode(&m)
	delete(m, "src")
	if got := jsonOf(m); got != `{"api":"PbxApi","country_code":"49","mt":"GetNodeInfoResult","name":"master","prefix_intl":"000","prefix_ntl":"00","prefix_subs":""}` {
		t.Errorf("reply %s", got)
	}
	pbx.SetNodeInfo(pbxapi.NodeInfo{Name: "n", AreaCode: "30"})
	reply, _ = c.c.Request(t.Context(), pbxapi.GetNodeInfo{})
	if !strings.Contains(string(reply.Raw), `"area_code":"30"`) {
		t.Errorf("reply %s", reply.Raw)
	}
}

// TestOtherAPIs: Handler passes other APIs to Echo, Wrap to the next
// handler; unknown PbxApi messages are recorded and not answered.
func TestOtherAPIs(t *testing.T) {
	t.Parallel()
	pbx := pbxapitest.New()
	c := connect(t, server(t, pbx.Handler), "alice")
	reply, err := c.c.Request(t.Context(), json.RawMessage(`{"api":"RCC","mt":"Initialize"}`))
	if err != nil || reply.MT != "InitializeResult" || !strings.Contains(string(reply.Raw), `"echo"`) {
		t.Errorf("echo %s %v", reply.Raw, err)
	}
	c.send(`{"api":"PbxApi","mt":"Unknown","src":"u"}`)
	c.quiet()
	if got := pbx.Received(); len(got) != 1 || got[0].MT != "Unknown" {
		t.Errorf("Received %v", got)
	}

	// Wrapped around Silent: the Marker gets no answer, so the next
	// message is the fake's.
	silent := connect(t, server(t, pbx.Wrap(appwstest.Silent)), "alice")
	silent.send(`{"mt":"Marker","src":"m"}`)
	silent.send(`{"api":"PbxApi","mt":"SubscribePresence","sip":"nobody","src":"s"}`)
	silent.next("SubscribePresenceResult")
	echo := connect(t, server(t, pbx.Wrap(nil)), "alice")
	echo.quiet()
}

// TestWaitForEndsWithItsContext.
func TestWaitForEndsWithItsContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := pbxapitest.New().WaitFor(ctx, "SetPresence", 1)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "waiting for 1 SetPresence, have 0") {
		t.Errorf("err %v", err)
	}
}
