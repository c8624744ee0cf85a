package rcc_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/appwstest"
	"github.com/appwebsocket/appws/rcc"
	"github.com/appwebsocket/appws/rcc/rcctest"
)

var (
	alice = rcctest.User{GUID: "a1", CN: "alice", DN: "Alice", E164: "10",
		Devices:  []rcctest.Device{{HW: "phone-a", Text: "Desk"}},
		Prefixes: rcctest.Prefixes{Intl: "000", Ntl: "00", Subs: "0", Area: "7031", Country: "49"}}
	bob = rcctest.User{GUID: "b2", CN: "bob", DN: "Bob", E164: "11"}
)

// env is a client logged in to an in-memory fake PBX, with a Monitor fed
// by the test's own event loop (step, until).
type env struct {
	t    *testing.T
	srv  *appwstest.Server
	pbx  *rcctest.Fake
	c    *appws.Client
	m    *rcc.Monitor
	last appws.Event
	seen []rcc.Change // every change so far
}

func newEnv(t *testing.T, cfg rcc.Config, users ...rcctest.User) *env {
	t.Helper()
	return newEnvFake(t, cfg, rcctest.New(users...))
}

func newEnvFake(t *testing.T, cfg rcc.Config, pbx *rcctest.Fake) *env {
	t.Helper()
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
	return &env{t: t, srv: srv, pbx: pbx, c: c, m: rcc.New(cfg)}
}

// step runs the loop once: the next event to the Monitor, Sync, Handled.
func (e *env) step() []rcc.Change {
	e.t.Helper()
	select {
	case ev := <-e.c.Events():
		e.last = ev
		chs := e.m.Handle(ev)
		if err := e.m.Sync(e.t.Context(), e.c); err != nil {
			e.t.Fatalf("Sync: %v", err)
		}
		e.c.Handled(ev)
		e.seen = append(e.seen, chs...)
		return chs
	case <-time.After(10 * time.Second): // fake time: everything is blocked
		e.t.Fatal("no event")
		return nil
	}
}

// until steps until a change of kind came and returns the changes seen,
// without the UserChanged the fake sends for alert and channel.
func (e *env) until(kind rcc.Kind) []rcc.Change {
	e.t.Helper()
	var all []rcc.Change
	for {
		chs := e.step()
		for _, ch := range chs {
			if ch.Kind != rcc.UserChanged || kind == rcc.UserChanged {
				all = append(all, ch)
			}
		}
		for _, ch := range chs {
			if ch.Kind == kind {
				return all
			}
		}
	}
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
// through its states to its end; the PBX's last CallInfo ("del") brings
// nothing back, and alert and channel follow the call.
func TestMonitorFollowsUsersAndCalls(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, rcc.Config{}, alice, bob)
		expect(t, e.until(rcc.Synced), "userAdded alice\nuserAdded bob\nuserWatched alice\nuserWatched bob\nsynced \n")
		id, err := e.pbx.StartCall("alice", rcctest.Party{E164: "200"}, true)
		if err != nil {
			t.Fatal(err)
		}
		expect(t, e.until(rcc.CallAdded), fmt.Sprintf("callAdded alice call %d incoming setup peer 200\n", id))
		for _, phase := range []rcc.State{rcc.StateAlert, rcc.StateConnected} {
			if err := e.pbx.SetCall(id, phase); err != nil {
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
		// The "del" and the user's new counts follow, and change nothing
		// else.
		e.drain()
		if calls := e.m.Calls(); len(calls) != 0 {
			t.Fatalf("Calls() after the end = %+v", calls)
		}
		var counts []string
		for _, ch := range e.seen {
			if ch.Kind == rcc.UserChanged {
				counts = append(counts, fmt.Sprintf("%d/%d", ch.User.Alert, ch.User.Channel))
			}
			if ch.Kind == rcc.CallAdded && ch.Call.Handle == id && ch.Call.State != rcc.StateSetup {
				t.Fatalf("the call came back: %+v", ch.Call)
			}
		}
		// alert/channel: the call came (0/1), rang (1/1), was answered
		// (0/1) and ended (0/0).
		if strings.Join(counts, " ") != "0/1 1/1 0/1 0/0" {
			t.Fatalf("alert/channel of alice: %v", counts)
		}
	})
}

// drain steps until no event is left for now (in synctest: once every
// goroutine of the bubble is blocked).
func (e *env) drain() {
	e.t.Helper()
	for {
		synctest.Wait()
		if len(e.c.Events()) == 0 {
			return
		}
		e.step()
	}
}

// TestMonitorUserUpdates: users added, changed and deleted after the
// initial list; a deleted user's calls end.
func TestMonitorUserUpdates(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, rcc.Config{}, alice)
		e.until(rcc.Synced)
		id, _ := e.pbx.StartCall("alice", rcctest.Party{E164: "300"}, false)
		e.until(rcc.CallAdded)
		e.pbx.AddUser(bob)
		expect(t, e.until(rcc.UserWatched), "userAdded bob\nuserWatched bob\n")
		changed := alice
		changed.DN = "Alice Smith"
		e.pbx.AddUser(changed)
		got := e.until(rcc.UserChanged)
		if ch := got[len(got)-1]; ch.User.DN != "Alice Smith" || ch.Old.DN != "Alice" {
			t.Fatalf("UserChanged %+v", ch)
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
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, rcc.Config{Watch: func(u rcc.User) bool { return u.CN == "bob" }}, alice, bob)
		e.until(rcc.Synced)
		if _, ok := e.m.UserHandle("a1"); ok {
			t.Fatal("alice has a handle though not watched")
		}
		if _, ok := e.m.UserHandle("b2"); !ok {
			t.Fatal("bob has no handle after Synced")
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
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, rcc.Config{}, alice)
		e.until(rcc.Synced)
		ctx := t.Context()
		w, _ := e.m.Watched("a1")
		if w.Country != "49" || w.PrefixIntl != "000" {
			t.Fatalf("Watched(a1) = %+v", w)
		}
		number, err := w.Dialable("+49 30 1234")
		if err != nil {
			t.Fatal(err)
		}
		call, err := rcc.UserCall{User: w.Handle, E164: number, SrcE164: "99"}.Do(ctx, e.c)
		if err != nil || call == 0 {
			t.Fatalf("UserCall = %d, %v", call, err)
		}
		sent, _ := e.pbx.WaitFor(ctx, "UserCall", 1)
		if !strings.Contains(string(sent[0].Raw), fmt.Sprintf(`"user":%d,"e164":"00301234","srce164":"99"`, w.Handle)) {
			t.Fatalf("UserCall sent %s", sent[0].Raw)
		}
		expect(t, e.until(rcc.CallAdded), fmt.Sprintf("callAdded alice call %d outgoing setup peer 00301234\n", call))

		if err := (rcc.UserConnect{Call: call}).Do(ctx, e.c); err != nil {
			t.Fatal(err)
		}
		expect(t, e.until(rcc.CallChanged), fmt.Sprintf("callChanged alice call %d outgoing connected peer 00301234\n", call))
		if err := (rcc.UserHold{Call: call, Remote: true}).Do(ctx, e.c); err != nil {
			t.Fatal(err)
		}
		expect(t, e.until(rcc.CallChanged), fmt.Sprintf("callChanged alice call %d outgoing connected peer 00301234 hold\n", call))
		if held, _ := e.pbx.WaitFor(ctx, "UserHold", 1); !strings.Contains(string(held[0].Raw), `"remote":true`) {
			t.Fatalf("UserHold sent %s", held[0].Raw)
		}
		if err := (rcc.UserRetrieve{Call: call}).Do(ctx, e.c); err != nil {
			t.Fatal(err)
		}
		e.until(rcc.CallChanged)
		for _, op := range []interface {
			Do(context.Context, appws.Requester) error
		}{
			rcc.UserDTMF{Call: call, DTMF: "123"}, rcc.UserUUI{Call: call, UUI: "hi"},
			rcc.UserCtrlCall{Call: call, Info: json.RawMessage(`[]`)}, rcc.UserCtComplete{Call: call, E164: "5"},
			rcc.UserMediaTransfer{A: call, B: call, Peer: true}, rcc.UserInfo{Call: call, Cdpn: "1"},
			rcc.UserRc{Call: call, Rc: 4},
		} {
			if err := op.Do(ctx, e.c); err != nil {
				t.Fatalf("%T: %v", op, err)
			}
		}
		devs, err := rcc.Devices{CN: "alice"}.Do(ctx, e.c)
		if err != nil || len(devs) != 1 || devs[0] != (rcc.Device{HW: "phone-a", Text: "Desk"}) {
			t.Fatalf("Devices = %+v, %v", devs, err)
		}
		var re *rcc.Error
		if err := (rcc.UserRedirect{Call: 999, E164: "1"}).Do(ctx, e.c); !errors.As(err, &re) || re.Op != "UserRedirect" || re.Text != "no such call" {
			t.Fatalf("UserRedirect of an unknown call = %v, want an *rcc.Error", err)
		}
		if err := (rcc.UserClear{Call: call, Cause: 16}).Do(ctx, e.c); err != nil {
			t.Fatal(err)
		}
		expect(t, e.until(rcc.CallEnded), fmt.Sprintf("callEnded alice call %d outgoing connected peer 00301234\n", call))
	})
}

// TestReconnectDuringActiveCalls: a dropped session ends the calls it
// reported (Lost); after the new login one Sync re-initializes, the user
// list is compared (a user deleted meanwhile is removed), Synced ends the
// difference, and the calls still up come back with their new handles.
func TestReconnectDuringActiveCalls(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		carol := rcctest.User{GUID: "c3", CN: "carol", E164: "12"}
		e := newEnv(t, rcc.Config{}, alice, bob, carol)
		e.until(rcc.Synced)
		a, _ := e.pbx.StartCall("alice", rcctest.Party{E164: "200"}, true)
		e.until(rcc.CallAdded)
		_ = e.pbx.SetCall(a, rcc.StateConnected)
		e.until(rcc.CallChanged)
		c, _ := e.pbx.StartCall("carol", rcctest.Party{E164: "300"}, false)
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
		if e.m.Pending() || e.m.Session() != 0 {
			t.Fatal("pending between sessions")
		}
		e.pbx.RemoveUser("bob") // while the client is away

		got := e.until(rcc.Synced)
		if e.m.Session() == first {
			t.Fatal("no new session")
		}
		// alice and carol come again, unchanged: only the difference, and
		// their new handles (the calls may come before or after Synced).
		var diff []rcc.Change
		for _, ch := range got {
			if ch.Kind != rcc.CallAdded {
				diff = append(diff, ch)
			}
		}
		expect(t, diff, "userRemoved bob\nuserWatched alice\nuserWatched carol\nsynced \n")
		if inits, _ := e.pbx.WaitFor(t.Context(), "Initialize", 2); len(inits) != 2 {
			t.Fatalf("Initialize sent %d times", len(inits))
		}
		var back []rcc.Change
		for _, ch := range got {
			if ch.Kind == rcc.CallAdded {
				back = append(back, ch)
			}
		}
		for len(back) < 2 {
			back = append(back, e.until(rcc.CallAdded)...)
		}
		slices.SortFunc(back, func(x, y rcc.Change) int { return strings.Compare(x.User.CN, y.User.CN) })
		expect(t, back, fmt.Sprintf("callAdded alice call %d incoming connected peer 200\ncallAdded carol call %d outgoing setup peer 300\n", a, c))
		for _, ch := range back {
			if ch.Call.Session != e.m.Session() || ch.Session != e.m.Session() {
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

// TestCallsModeOnTheFake: calls mode against the fake: the calls up at
// Initialize come as CallAdd, changes as CallUpdate, the end as CallDel,
// and no UserInitialize goes out.
func TestCallsModeOnTheFake(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		pbx := rcctest.New(alice, bob)
		early, _ := pbx.StartCall("bob", rcctest.Party{E164: "400"}, true)
		e := newEnvFake(t, rcc.Config{Calls: true}, pbx)
		got := e.until(rcc.Synced)
		for len(e.m.Calls()) == 0 {
			got = append(got, e.until(rcc.CallAdded)...)
		}
		expect(t, got, fmt.Sprintf("userAdded alice\nuserAdded bob\nsynced \ncallAdded bob call %d incoming setup peer \n", early))
		id, _ := pbx.StartCall("alice", rcctest.Party{E164: "200"}, false)
		expect(t, e.until(rcc.CallAdded), fmt.Sprintf("callAdded alice call %d outgoing setup peer \n", id))
		_ = pbx.SetCall(id, rcc.StateConnected)
		ch := e.until(rcc.CallChanged)
		if call := ch[0].Call; call.Msg != "x-conn" || call.Remote.E164 != "200" || call.Local.E164 != "10" || call.State != rcc.StateSetup {
			t.Fatalf("CallUpdate: %+v", call)
		}
		_ = pbx.EndCall(id)
		ended := e.until(rcc.CallEnded)
		if last := ended[len(ended)-1].Call; last.Handle != id || last.Msg != "r-rel" {
			t.Fatalf("CallEnded %+v", last)
		}
		if calls := e.m.Calls(); len(calls) != 1 || calls[0].Handle != early {
			t.Fatalf("Calls() = %+v", calls)
		}
		if n := len(pbx.Received()); n != 1 {
			t.Fatalf("%d messages sent, want Initialize only: %v", n, pbx.Received())
		}
	})
}
