package rcc_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/appwstest"
	"github.com/appwebsocket/appws/rcc"
)

var (
	alice = appwstest.RCCUser{GUID: "a1", CN: "alice", DN: "Alice", E164: "10",
		Devices: []appwstest.RCCDevice{{HW: "phone-a", Text: "Desk"}}}
	bob = appwstest.RCCUser{GUID: "b2", CN: "bob", DN: "Bob", E164: "11"}
)

// env is a client logged in to an in-memory fake PBX, with a Monitor fed
// by the test's own event loop (step, until).
type env struct {
	t    *testing.T
	srv  *appwstest.Server
	pbx  *appwstest.RCC
	c    *appws.Client
	m    *rcc.Monitor
	last appws.Event
}

func newEnv(t *testing.T, cfg rcc.Config, users ...appwstest.RCCUser) *env {
	t.Helper()
	pbx := appwstest.NewRCC(users...)
	srv := appwstest.NewServer(appwstest.Config{
		Apps: map[string]string{"svc": "pw"}, InMemory: true, Handler: pbx.Handler,
	})
	t.Cleanup(srv.Close)
	o := srv.ClientOptions()
	o.AutoReconnect = true
	o.MinBackoff, o.MaxBackoff = 10*time.Millisecond, 20*time.Millisecond
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c, err := appws.Dial(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		for range c.Events() {
		}
	})
	return &env{t: t, srv: srv, pbx: pbx, c: c, m: rcc.NewMonitor(cfg)}
}

// step runs the loop once: the next event to the Monitor, Sync, and
// permission for the next Message.
func (e *env) step() []rcc.Change {
	e.t.Helper()
	select {
	case ev := <-e.c.Events():
		e.last = ev
		chs := e.m.Handle(ev)
		if e.m.Pending() {
			if err := e.m.Sync(e.t.Context(), e.c); err != nil {
				e.t.Fatalf("Sync: %v", err)
			}
		}
		switch ev.(type) {
		case appws.ConnectComplete, appws.Message:
			e.c.MessageComplete()
		}
		return chs
	case <-time.After(10 * time.Second): // fake time: everything is blocked
		e.t.Fatal("no event")
		return nil
	}
}

// until steps until a change of kind came and returns the changes seen.
func (e *env) until(kind rcc.Kind) []rcc.Change {
	e.t.Helper()
	var all []rcc.Change
	for {
		chs := e.step()
		all = append(all, chs...)
		for _, ch := range chs {
			if ch.Kind == kind {
				return all
			}
		}
	}
}

// ready steps until the user list is complete and every watched user has
// a handle.
func (e *env) ready(users ...string) []rcc.Change {
	e.t.Helper()
	all := e.until(rcc.UsersComplete)
	for _, key := range users {
		for {
			if _, ok := e.m.UserHandle(key); ok {
				break
			}
			all = append(all, e.step()...)
		}
	}
	return all
}

// describe renders changes one per line for comparison.
func describe(chs []rcc.Change) string {
	var b strings.Builder
	for _, ch := range chs {
		fmt.Fprintf(&b, "%s %s", ch.Kind, ch.User.CN)
		if c := ch.Call; c != nil {
			fmt.Fprintf(&b, " call %d %s %s peer %s", c.Handle, c.Direction, c.State, c.Peer.E164)
			if c.Hold {
				b.WriteString(" hold")
			}
			if c.Lost {
				b.WriteString(" lost")
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

func expect(t *testing.T, got []rcc.Change, want string) {
	t.Helper()
	if d := describe(got); d != want {
		t.Fatalf("changes:\n%s\nwant:\n%s", d, want)
	}
}

// TestMonitorFollowsUsersAndCalls: the users of Initialize, then one call
// through its states to its end.
func TestMonitorFollowsUsersAndCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, rcc.Config{}, alice, bob)
		expect(t, e.ready("a1", "b2"), "syncNeeded \nuserAdded alice\nsyncNeeded \nuserAdded bob\nsyncNeeded \nusersComplete \n")
		if _, err := e.pbx.WaitFor(t.Context(), "UserInitialize", 2); err != nil {
			t.Fatal(err)
		}
		id, err := e.pbx.StartCall("alice", appwstest.RCCParty{E164: "200"}, true)
		if err != nil {
			t.Fatal(err)
		}
		expect(t, e.until(rcc.CallAdded), fmt.Sprintf("callAdded alice call %d incoming setup peer 200\n", id))
		for _, phase := range []rcc.State{rcc.StateAlert, rcc.StateConnected} {
			if err := e.pbx.SetCall(id, int(phase)); err != nil {
				t.Fatal(err)
			}
			expect(t, e.until(rcc.CallChanged), fmt.Sprintf("callChanged alice call %d incoming %s peer 200\n", id, phase))
		}
		_ = e.pbx.HoldCall(id, true)
		expect(t, e.until(rcc.CallChanged), fmt.Sprintf("callChanged alice call %d incoming connected peer 200 hold\n", id))
		if calls := e.m.Calls(); len(calls) != 1 || calls[0].Handle != id || !calls[0].Hold {
			t.Fatalf("Calls() = %+v", calls)
		}
		_ = e.pbx.EndCall(id)
		expect(t, e.until(rcc.CallEnded), fmt.Sprintf("callEnded alice call %d incoming connected peer 200 hold\n", id))
		if calls := e.m.Calls(); len(calls) != 0 {
			t.Fatalf("Calls() after the end = %+v", calls)
		}
	})
}

// TestMonitorUserUpdates: users added, changed and deleted after the
// initial list; a deleted user's calls end.
func TestMonitorUserUpdates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, rcc.Config{}, alice)
		e.ready("a1")
		id, _ := e.pbx.StartCall("alice", appwstest.RCCParty{E164: "300"}, false)
		e.until(rcc.CallAdded)
		e.pbx.AddUser(bob)
		expect(t, e.until(rcc.UserAdded), "userAdded bob\nsyncNeeded \n")
		changed := alice
		changed.DN = "Alice Smith"
		e.pbx.AddUser(changed)
		got := e.until(rcc.UserChanged)
		if got[0].User.DN != "Alice Smith" {
			t.Fatalf("UserChanged %+v", got[0].User)
		}
		e.pbx.RemoveUser("alice")
		expect(t, e.until(rcc.UserRemoved), fmt.Sprintf("callEnded alice call %d outgoing setup peer 300\nuserRemoved alice\n", id))
		if us := e.m.Users(); len(us) != 1 || us[0].CN != "bob" {
			t.Fatalf("Users() = %+v", us)
		}
	})
}

// TestMonitorWatch: only the users Watch selects get UserInitialize.
func TestMonitorWatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, rcc.Config{Watch: func(u rcc.User) bool { return u.CN == "bob" }}, alice, bob)
		e.ready("b2")
		if _, ok := e.m.UserHandle("a1"); ok {
			t.Fatal("alice has a handle though not watched")
		}
		for _, m := range e.pbx.Received() {
			if m.MT == "UserInitialize" && strings.Contains(string(m.Raw), "alice") {
				t.Fatalf("sent %s", m.Raw)
			}
		}
	})
}

// TestOperationsReachThePBX: the typed operations send the documented
// fields, and their Results come back typed.
func TestOperationsReachThePBX(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, rcc.Config{}, alice)
		e.ready("a1")
		ctx := t.Context()
		h, _ := e.m.UserHandle("a1")
		call, err := rcc.UserCall{User: h, E164: "200", SrcE164: "99"}.Do(ctx, e.c)
		if err != nil || call == 0 {
			t.Fatalf("UserCall = %d, %v", call, err)
		}
		sent, _ := e.pbx.WaitFor(ctx, "UserCall", 1)
		var uc struct {
			API     string `json:"api"`
			User    int    `json:"user"`
			E164    string `json:"e164"`
			SrcE164 string `json:"srce164"`
		}
		if err := sent[0].Decode(&uc); err != nil || uc != (struct {
			API     string `json:"api"`
			User    int    `json:"user"`
			E164    string `json:"e164"`
			SrcE164 string `json:"srce164"`
		}{"RCC", h, "200", "99"}) {
			t.Fatalf("UserCall sent %s", sent[0].Raw)
		}
		expect(t, e.until(rcc.CallAdded), fmt.Sprintf("callAdded alice call %d outgoing setup peer 200\n", call))

		if err := (rcc.UserConnect{Call: call}).Do(ctx, e.c); err != nil {
			t.Fatal(err)
		}
		expect(t, e.until(rcc.CallChanged), fmt.Sprintf("callChanged alice call %d outgoing connected peer 200\n", call))
		if err := (rcc.UserHold{Call: call}).Do(ctx, e.c); err != nil {
			t.Fatal(err)
		}
		e.until(rcc.CallChanged)
		if err := (rcc.UserRetrieve{Call: call}).Do(ctx, e.c); err != nil {
			t.Fatal(err)
		}
		e.until(rcc.CallChanged)
		if err := (rcc.UserDTMF{Call: call, DTMF: "123"}).Do(ctx, e.c); err != nil {
			t.Fatal(err)
		}
		devs, err := rcc.Devices{CN: "alice"}.Do(ctx, e.c)
		if err != nil || len(devs) != 1 || devs[0] != (rcc.Device{HW: "phone-a", Text: "Desk"}) {
			t.Fatalf("Devices = %+v, %v", devs, err)
		}
		var re *rcc.Error
		if err := (rcc.UserRedirect{Call: 999, E164: "1"}).Do(ctx, e.c); !errors.As(err, &re) || re.Op != "UserRedirect" {
			t.Fatalf("UserRedirect of an unknown call = %v, want an *rcc.Error", err)
		}
		if err := (rcc.UserClear{Call: call, Cause: 16}).Do(ctx, e.c); err != nil {
			t.Fatal(err)
		}
		expect(t, e.until(rcc.CallEnded), fmt.Sprintf("callEnded alice call %d outgoing connected peer 200\n", call))
	})
}

// TestReconnectDuringActiveCalls: a dropped session ends the calls it
// reported (Lost); after the new login one Sync re-initializes, the user
// list is compared (a user deleted meanwhile is removed) and the calls
// still up come back with new handles.
func TestReconnectDuringActiveCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		carol := appwstest.RCCUser{GUID: "c3", CN: "carol", E164: "12"}
		e := newEnv(t, rcc.Config{}, alice, bob, carol)
		e.ready("a1", "b2", "c3")
		a, _ := e.pbx.StartCall("alice", appwstest.RCCParty{E164: "200"}, true)
		e.until(rcc.CallAdded)
		_ = e.pbx.SetCall(a, int(rcc.StateConnected))
		e.until(rcc.CallChanged)
		c, _ := e.pbx.StartCall("carol", appwstest.RCCParty{E164: "300"}, false)
		e.until(rcc.CallAdded)
		first := e.m.Session()

		e.srv.Sessions()[0].Drop()
		lost := e.until(rcc.CallEnded)
		for len(lost) < 2 {
			lost = append(lost, e.step()...)
		}
		expect(t, lost, fmt.Sprintf("callEnded alice call %d incoming connected peer 200 lost\ncallEnded carol call %d outgoing setup peer 300 lost\n", a, c))
		if _, ok := e.last.(appws.Disconnected); !ok {
			t.Fatalf("calls ended on %T, want Disconnected", e.last)
		}
		if e.m.Pending() || e.m.Sync(t.Context(), e.c) != rcc.ErrNoSession {
			t.Fatal("Sync between sessions should have nothing to do and say ErrNoSession")
		}
		e.pbx.RemoveUser("bob") // while the client is away

		got := e.until(rcc.SyncNeeded)
		if cc, ok := e.last.(appws.ConnectComplete); !ok || cc.Session == first {
			t.Fatalf("SyncNeeded on %#v", e.last)
		}
		got = append(got, e.until(rcc.UsersComplete)...)
		// alice and carol come again, unchanged: UserInitialize is due for them.
		expect(t, got, "syncNeeded \nsyncNeeded \nsyncNeeded \nuserRemoved bob\nusersComplete \n")
		if inits, _ := e.pbx.WaitFor(t.Context(), "Initialize", 2); len(inits) != 2 {
			t.Fatalf("Initialize sent %d times", len(inits))
		}
		var back []rcc.Change
		for len(back) < 2 {
			for _, ch := range e.step() {
				if ch.Kind == rcc.CallAdded {
					back = append(back, ch)
				}
			}
		}
		expect(t, back, fmt.Sprintf("callAdded alice call %d incoming connected peer 200\ncallAdded carol call %d outgoing setup peer 300\n", a, c))
		for _, ch := range back {
			if ch.Call.Session != e.m.Session() || ch.Call.Session == first {
				t.Fatalf("call of session %d after the reconnect", ch.Call.Session)
			}
		}
		// The new handles control the calls.
		if err := (rcc.UserClear{Call: a}).Do(t.Context(), e.c); err != nil {
			t.Fatal(err)
		}
		e.until(rcc.CallEnded)
	})
}
