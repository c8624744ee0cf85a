package rcc_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/rcc"
)

// msg builds the Message a client delivers for raw in session.
func msg(session uint64, raw string) appws.Message {
	var env struct{ MT, API, Src string }
	if err := json.Unmarshal([]byte(raw), &env); err != nil {
		panic(err)
	}
	return appws.Message{Session: session, MT: env.MT, API: env.API, Src: env.Src, Raw: json.RawMessage(raw)}
}

// recorder is an appws.Sender that keeps what was sent; fail makes the
// Sends from the n-th on fail (0: none).
type recorder struct {
	sent []string
	fail int
}

var errSend = errors.New("send failed")

func (r *recorder) Send(_ context.Context, msg any) (uint64, error) {
	if r.fail > 0 && len(r.sent)+1 >= r.fail {
		return 0, errSend
	}
	b, err := json.Marshal(msg)
	if err != nil {
		return 0, err
	}
	r.sent = append(r.sent, string(b))
	return uint64(len(r.sent)), nil
}

// feed hands raw messages of session 1 to m and returns all changes.
func feed(m *rcc.Monitor, raws ...string) []rcc.Change {
	var out []rcc.Change
	for _, raw := range raws {
		out = append(out, m.Handle(msg(1, raw))...)
	}
	return out
}

// kinds renders changes as "kind cn[ call state msg]" lines.
func kinds(chs []rcc.Change) string {
	var b strings.Builder
	for _, ch := range chs {
		b.WriteString(ch.Kind.String())
		if ch.User.CN != "" {
			b.WriteString(" " + ch.User.CN)
		}
		if c := ch.Call; c != nil {
			fmt.Fprintf(&b, " %d %s %s", c.Handle, c.State, c.Msg)
			if c.Lost {
				b.WriteString(" lost")
			}
		}
		if ch.Err != nil {
			b.WriteString(": " + ch.Err.Error())
		}
		b.WriteString("\n")
	}
	return b.String()
}

func expectKinds(t *testing.T, got []rcc.Change, want string) {
	t.Helper()
	if k := kinds(got); k != want {
		t.Fatalf("changes:\n%swant:\n%s", k, want)
	}
}

// monitored returns a Monitor in session 1 watching alice (handle 7), and
// what its Syncs sent.
func monitored(t testing.TB, cfg rcc.Config) (*rcc.Monitor, *recorder) {
	t.Helper()
	m := rcc.New(cfg)
	m.Handle(appws.ConnectComplete{Session: 1})
	r := &recorder{}
	if err := m.Sync(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	feed(m, `{"api":"RCC","mt":"UserInfo","src":"rcc-init-1","guid":"a1","cn":"alice"}`,
		`{"api":"RCC","mt":"InitializeResult","src":"rcc-init-1"}`)
	if err := m.Sync(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if cfg.Calls {
		return m, r
	}
	if len(r.sent) != 2 || r.sent[1] != `{"api":"RCC","mt":"UserInitialize","cn":"alice","src":"rcc-user-1"}` {
		t.Fatalf("sent %q", r.sent)
	}
	if chs := feed(m, `{"api":"RCC","mt":"UserInitializeResult","src":"rcc-user-1","user":7}`); len(chs) != 2 ||
		chs[0].Kind != rcc.UserWatched || chs[1].Kind != rcc.Synced {
		t.Fatalf("UserInitializeResult: %s", kinds(chs))
	}
	return m, r
}

// TestEndedCallNeverComesBack: after the release that ends a call, the
// PBX's last CallInfo ("del") and any other message about the call's
// handle change nothing (bug: the "del" made the call come back as
// CallAdded and stay in Calls() for good).
func TestEndedCallNeverComesBack(t *testing.T) {
	t.Parallel()
	m, _ := monitored(t, rcc.Config{})
	chs := feed(m,
		`{"api":"RCC","mt":"CallInfo","src":"rcc-user-1","user":7,"call":3,"state":129,"msg":"x-setup","peer":{"e164":"200"}}`,
		`{"api":"RCC","mt":"CallInfo","src":"rcc-user-1","user":7,"call":3,"state":133,"msg":"r-conn"}`,
		`{"api":"RCC","mt":"CallInfo","src":"rcc-user-1","user":7,"call":3,"state":133,"msg":"r-rel"}`,
		`{"api":"RCC","mt":"CallInfo","src":"rcc-user-1","user":7,"call":3,"state":133,"msg":"del"}`,
		`{"api":"RCC","mt":"CallInfo","src":"rcc-user-1","user":7,"call":3,"state":133,"msg":"r-conn"}`,
		// "del" alone ends a call too, and so does "active":false.
		`{"api":"RCC","mt":"CallInfo","src":"rcc-user-1","user":7,"call":4,"state":1,"msg":"r-setup"}`,
		`{"api":"RCC","mt":"CallInfo","src":"rcc-user-1","user":7,"call":4,"state":1,"msg":"del"}`,
		`{"api":"RCC","mt":"CallInfo","src":"rcc-user-1","user":7,"call":5,"state":1,"msg":"r-setup"}`,
		`{"api":"RCC","mt":"CallInfo","src":"rcc-user-1","user":7,"call":5,"state":1,"active":false}`,
		`{"api":"RCC","mt":"CallInfo","src":"rcc-user-1","user":7,"call":5,"state":1,"msg":"del"}`,
		// A release of a call never seen is remembered as well.
		`{"api":"RCC","mt":"CallInfo","src":"rcc-user-1","user":7,"call":6,"state":1,"msg":"x-rel"}`,
		`{"api":"RCC","mt":"CallInfo","src":"rcc-user-1","user":7,"call":6,"state":1,"msg":"del"}`,
	)
	expectKinds(t, chs, `callAdded alice 3 setup x-setup
callChanged alice 3 connected r-conn
callEnded alice 3 connected r-rel
callAdded alice 4 setup r-setup
callEnded alice 4 setup del
callAdded alice 5 setup r-setup
callEnded alice 5 setup 
`)
	if calls := m.Calls(); len(calls) != 0 {
		t.Fatalf("Calls() = %+v", calls)
	}
}

// TestEndedCallsMemoryIsBounded: the memory of ended calls keeps the
// newest 4096; a message about an older one is a new call again.
func TestEndedCallsMemoryIsBounded(t *testing.T) {
	t.Parallel()
	m, _ := monitored(t, rcc.Config{})
	end := func(call int) string {
		return fmt.Sprintf(`{"api":"RCC","mt":"CallInfo","user":7,"call":%d,"state":1,"msg":"r-rel"}`, call)
	}
	for call := 1; call <= 4097; call++ {
		feed(m, end(call))
	}
	late := `{"api":"RCC","mt":"CallInfo","user":7,"call":%d,"state":1,"msg":"r-setup"}`
	if chs := feed(m, fmt.Sprintf(late, 2)); len(chs) != 0 {
		t.Fatalf("call 2 came back: %s", kinds(chs))
	}
	if chs := feed(m, fmt.Sprintf(late, 1)); len(chs) != 1 || chs[0].Kind != rcc.CallAdded {
		t.Fatalf("call 1, forgotten: %s", kinds(chs))
	}
}

// TestMonitorIgnoresOtherMessages: anything that is not RCC, not of the
// Monitor's session, or not with its srcs, changes nothing.
func TestMonitorIgnoresOtherMessages(t *testing.T) {
	t.Parallel()
	m, _ := monitored(t, rcc.Config{})
	for _, ev := range []appws.Event{
		msg(1, `{"api":"PbxApi","mt":"CallInfo","user":7,"call":1,"state":1}`),
		msg(1, `{"mt":"HelloResult"}`),
		msg(2, `{"api":"RCC","mt":"CallInfo","user":7,"call":1,"state":1}`),
		msg(1, `{"api":"RCC","mt":"CallInfo","user":8,"call":1,"state":1}`),
		msg(1, `{"api":"RCC","mt":"UserInfo","src":"mine","cn":"bob"}`),
		msg(1, `{"api":"RCC","mt":"UserInfo","src":"rcc-init-0","cn":"bob"}`),
		msg(1, `{"api":"RCC","mt":"InitializeResult","src":"mine"}`),
		msg(1, `{"api":"RCC","mt":"UserInitializeResult","src":"rcc-user-1","user":8}`), // answered already
		msg(1, `{"api":"RCC","mt":"UserCallResult","src":"x","call":1}`),
		msg(1, `{"api":"RCC","mt":"CallAdd","cn":"alice","call":1,"state":1}`), // not in calls mode
		appws.SendResult{ID: 1},
		appws.ConnectComplete{Session: 1},
	} {
		if chs := m.Handle(ev); chs != nil {
			t.Errorf("Handle(%#v) = %s", ev, kinds(chs))
		}
	}
	// A message without src is taken.
	expectKinds(t, feed(m, `{"api":"RCC","mt":"UserInfo","cn":"bob"}`), "userAdded bob\n")
}

// TestInvalidMessages: RCC messages the Monitor cannot use are reported,
// not dropped, and change nothing else.
func TestInvalidMessages(t *testing.T) {
	t.Parallel()
	m, r := monitored(t, rcc.Config{})
	feed(m, `{"api":"RCC","mt":"UserInfo","guid":"b2","cn":"bob"}`, `{"api":"RCC","mt":"UserInfo","guid":"c3","cn":"carol"}`)
	if err := m.Sync(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	chs := feed(m,
		`{"api":"RCC","mt":"UserInfo","cn":5}`,
		`{"api":"RCC","mt":"UserInfo","dn":"nobody"}`,
		`{"api":"RCC","mt":"CallInfo","user":7,"state":1}`,
		`{"api":"RCC","mt":"CallInfo","user":7,"call":"x"}`,
		`{"api":"RCC","mt":"UserInitializeResult","src":"rcc-user-2"}`,
		`{"api":"RCC","mt":"UserInitializeResult","src":"rcc-user-3","error":"no such user"}`,
	)
	want := []string{
		"UserInfo: undecodable: json: cannot unmarshal number into Go struct field",
		"UserInfo: a user without guid and cn",
		"CallInfo: no call handle",
		"CallInfo: undecodable: json: cannot unmarshal string",
		`UserInitializeResult: no user handle for "bob"`,
		"UserInitialize: carol: no such user",
	}
	if len(chs) != len(want) {
		t.Fatalf("changes:\n%s", kinds(chs))
	}
	for i, ch := range chs {
		if ch.Kind != rcc.Invalid || ch.Session != 1 || ch.Err == nil || !strings.HasPrefix(ch.Err.Error(), "rcc: "+want[i]) {
			t.Errorf("change %d: %s, want invalid: rcc: %s...", i, kinds(chs[i:i+1]), want[i])
		}
	}
	if _, ok := m.UserHandle("b2"); ok {
		t.Error("bob has a handle")
	}
	// An InitializeResult with an error (say, calls mode on an object that
	// is not an App object) ends the list all the same.
	m2 := rcc.New(rcc.Config{Calls: true})
	m2.Handle(appws.ConnectComplete{Session: 1})
	expectKinds(t, feed(m2, `{"api":"RCC","mt":"InitializeResult","src":"rcc-init-1","error":"not allowed"}`),
		"invalid: rcc: Initialize: not allowed\nsynced\n")
	if len(m.Users()) != 3 || len(m.Calls()) != 0 {
		t.Errorf("users %v calls %v", m.Users(), m.Calls())
	}
}

// TestUserInfoKeepsEveryField: every documented UserInfo field is kept,
// alert and channel (what the SDK's busy lamp tutorial reads) included,
// and an update that changes only them is reported (bug: they were
// dropped, and such an update was not reported).
func TestUserInfoKeepsEveryField(t *testing.T) {
	t.Parallel()
	m, _ := monitored(t, rcc.Config{})
	full := `{"api":"RCC","mt":"UserInfo","src":"rcc-init-1","update":"upd","guid":"a1","cn":"alice","dn":"Alice",` +
		`"h323":"alice","e164":"10","node":"root","pbx":"master","pseudo":"","regs":[{"hw":"0090333f0001"}],"alert":1,"channel":2}`
	chs := feed(m, full)
	if len(chs) != 1 || chs[0].Kind != rcc.UserChanged || chs[0].Old == nil || chs[0].Old.DN != "" {
		t.Fatalf("changes %s", kinds(chs))
	}
	got, err := json.Marshal(chs[0].User)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"guid":"a1","cn":"alice","dn":"Alice","h323":"alice","e164":"10","node":"root","pbx":"master",` +
		`"regs":[{"hw":"0090333f0001"}],"alert":1,"channel":2}`; string(got) != want {
		t.Fatalf("user %s\nwant %s", got, want)
	}
	for _, c := range []struct{ update, field string }{
		{strings.Replace(full, `"alert":1`, `"alert":0`, 1), "alert"},
		{strings.Replace(full, `"alert":1,"channel":2`, `"channel":1`, 1), "channel"},
	} {
		chs := feed(m, c.update)
		if len(chs) != 1 || chs[0].Kind != rcc.UserChanged {
			t.Fatalf("a change of %s only: %s", c.field, kinds(chs))
		}
	}
	if u, _ := m.User("a1"); u.Alert != 0 || u.Channel != 1 || u.DN != "Alice" {
		t.Fatalf("User(a1) = %+v", u)
	}
	if chs := feed(m, strings.Replace(full, `"alert":1,"channel":2`, `"channel":1`, 1)); len(chs) != 0 {
		t.Fatalf("the same again: %s", kinds(chs))
	}
}

// TestCallStateBits: the state bit field of CallInfo and CallAdd.
func TestCallStateBits(t *testing.T) {
	t.Parallel()
	m, _ := monitored(t, rcc.Config{})
	for _, c := range []struct {
		state int
		want  string
	}{
		{0x1, "setup outgoing"},
		{0x84, "alert incoming"},
		{0x185, "connected incoming hold"},
		{0x205, "connected outgoing heldByPeer"},
		{0x488, "parked incoming waiting"},
		{0x0, "init outgoing"},
		{0x9, "state(9) outgoing"},
	} {
		chs := feed(m, fmt.Sprintf(`{"api":"RCC","mt":"CallInfo","user":7,"call":3,"state":%d}`, c.state))
		if len(chs) != 1 {
			t.Fatalf("state %#x: %s", c.state, kinds(chs))
		}
		call := chs[0].Call
		got := call.State.String() + " " + call.Direction.String()
		for _, f := range []struct {
			on   bool
			name string
		}{{call.Hold, "hold"}, {call.HeldByPeer, "heldByPeer"}, {call.Waiting, "waiting"}} {
			if f.on {
				got += " " + f.name
			}
		}
		if got != c.want || call.RawState != c.state {
			t.Errorf("state %#x: %s (raw %#x), want %s", c.state, got, call.RawState, c.want)
		}
	}
}

// TestClosedEndsCalls: the client's end reports the calls lost; the
// session is over, and nothing is pending.
func TestClosedEndsCalls(t *testing.T) {
	t.Parallel()
	m, r := monitored(t, rcc.Config{})
	feed(m, `{"api":"RCC","mt":"CallInfo","user":7,"call":3,"state":5}`)
	expectKinds(t, m.Handle(appws.Closed{}), "callEnded alice 3 connected  lost\n")
	if m.Session() != 0 || m.Pending() {
		t.Fatal("a session after Closed")
	}
	if err := m.Sync(context.Background(), r); err != nil || len(r.sent) != 2 {
		t.Fatalf("Sync between sessions: %v, sent %d", err, len(r.sent))
	}
}

// TestCallsMode: with Config.Calls, Initialize asks for every call, no
// UserInitialize is sent, and CallAdd, CallUpdate and CallDel (or
// CallDelete) are followed; a CallUpdate keeps the state of the CallAdd.
func TestCallsMode(t *testing.T) {
	t.Parallel()
	m, r := monitored(t, rcc.Config{Calls: true, Watch: func(u rcc.User) bool { return u.CN != "carol" }})
	if len(r.sent) != 1 || r.sent[0] != `{"api":"RCC","mt":"Initialize","calls":true,"src":"rcc-init-1"}` || m.Pending() {
		t.Fatalf("sent %q", r.sent)
	}
	chs := feed(m,
		`{"api":"RCC","mt":"CallAdd","src":"rcc-init-1","guid":"a1","cn":"alice","call":11,"state":129,"conf-id":"c0","call-id":"d0"}`,
		`{"api":"RCC","mt":"CallUpdate","src":"rcc-init-1","call":11,"msg":"r-alert","local":{"e164":"10"},"remote":{"e164":"4930","h323":"x"}}`,
		`{"api":"RCC","mt":"CallAdd","src":"rcc-init-1","guid":"t9","cn":"trunk","call":12,"state":1}`,
		`{"api":"RCC","mt":"CallAdd","src":"rcc-init-1","cn":"carol","call":13,"state":1}`,
		`{"api":"RCC","mt":"CallUpdate","src":"rcc-init-1","call":13,"msg":"r-alert"}`,
		`{"api":"RCC","mt":"CallUpdate","src":"rcc-init-1","call":12,"msg":"r-conn","state":5}`,
		`{"api":"RCC","mt":"CallDel","src":"rcc-init-1","call":11}`,
		`{"api":"RCC","mt":"CallUpdate","src":"rcc-init-1","call":11,"msg":"r-rel"}`,
		`{"api":"RCC","mt":"CallAdd","src":"rcc-init-1","guid":"a1","cn":"alice","call":11,"state":1}`,
		`{"api":"RCC","mt":"CallDelete","src":"rcc-init-1","call":12}`,
		`{"api":"RCC","mt":"CallInfo","src":"rcc-init-1","user":7,"call":14,"state":1}`,
	)
	expectKinds(t, chs, `callAdded alice 11 setup 
callChanged alice 11 setup r-alert
callAdded trunk 12 setup 
callChanged trunk 12 connected r-conn
callEnded alice 11 setup r-alert
callEnded trunk 12 connected r-conn
`)
	c := chs[1].Call
	if c.Direction != rcc.Incoming || c.Conf != "c0" || c.CallID != "d0" || c.User != "a1" ||
		c.Local != (rcc.Endpoint{E164: "10"}) || c.Remote != (rcc.Endpoint{E164: "4930", H323: "x"}) {
		t.Fatalf("call %+v", c)
	}
	if u := chs[2].User; u.GUID != "t9" || u.CN != "trunk" {
		t.Fatalf("the user of a call of an object not in the list: %+v", u)
	}
	if _, ok := m.UserHandle("a1"); ok {
		t.Fatal("a user handle in calls mode")
	}
	// A user removed keeps its calls in this mode; a lost session ends
	// the calls left.
	feed(m, `{"api":"RCC","mt":"CallAdd","cn":"alice","guid":"a1","call":15,"state":5}`)
	expectKinds(t, feed(m, `{"api":"RCC","mt":"UserInfo","update":"del","guid":"a1","cn":"alice"}`), "userRemoved alice\n")
	expectKinds(t, m.Handle(appws.Disconnected{Session: 1}), "callEnded alice 15 connected  lost\n")
}

// TestSyncSendsInOrderAndRetries: Initialize, then UserInitialize in the
// order the users came; a failed Send leaves it and those after it
// pending, and a new session replaces what was pending.
func TestSyncSendsInOrderAndRetries(t *testing.T) {
	t.Parallel()
	m := rcc.New(rcc.Config{Xfer: true, Watch: func(u rcc.User) bool { return u.CN != "bob" }})
	r := &recorder{fail: 1}
	if m.Pending() {
		t.Fatal("pending before a session")
	}
	m.Handle(appws.ConnectComplete{Session: 1})
	if err := m.Sync(context.Background(), r); !errors.Is(err, errSend) || !m.Pending() {
		t.Fatalf("Sync = %v, pending %v", err, m.Pending())
	}
	r.fail = 0
	if err := m.Sync(context.Background(), r); err != nil || m.Pending() {
		t.Fatalf("Sync = %v, pending %v", err, m.Pending())
	}
	feed(m, `{"api":"RCC","mt":"UserInfo","cn":"carol"}`, `{"api":"RCC","mt":"UserInfo","cn":"bob"}`,
		`{"api":"RCC","mt":"UserInfo","cn":"alice"}`, `{"api":"RCC","mt":"UserInfo","cn":"dave"}`)
	feed(m, `{"api":"RCC","mt":"UserInfo","cn":"dave","update":"del"}`)
	r.fail = 3 // Initialize and carol go, alice fails
	if err := m.Sync(context.Background(), r); !errors.Is(err, errSend) || !strings.Contains(err.Error(), "UserInitialize") {
		t.Fatalf("Sync = %v", err)
	}
	r.fail = 0
	if err := m.Sync(context.Background(), r); err != nil || m.Pending() {
		t.Fatalf("Sync = %v, pending %v", err, m.Pending())
	}
	want := []string{
		`{"api":"RCC","mt":"Initialize","src":"rcc-init-1"}`,
		`{"api":"RCC","mt":"UserInitialize","cn":"carol","xfer":true,"src":"rcc-user-1"}`,
		`{"api":"RCC","mt":"UserInitialize","cn":"alice","xfer":true,"src":"rcc-user-3"}`,
	}
	if strings.Join(r.sent, "\n") != strings.Join(want, "\n") {
		t.Fatalf("sent:\n%s\nwant:\n%s", strings.Join(r.sent, "\n"), strings.Join(want, "\n"))
	}
	// A new session: Initialize again, then the users as they come again.
	feed(m, `{"api":"RCC","mt":"UserInfo","cn":"erin"}`)
	m.Handle(appws.ConnectComplete{Session: 2})
	r.sent = nil
	if err := m.Sync(context.Background(), r); err != nil || len(r.sent) != 1 || r.sent[0] != `{"api":"RCC","mt":"Initialize","src":"rcc-init-2"}` {
		t.Fatalf("Sync = %v, sent %q", err, r.sent)
	}
}

// TestUserInitializeResultPrefixes: the prefixes of UserInitializeResult
// (build 132105) are kept per watched user and reported with UserWatched.
func TestUserInitializeResultPrefixes(t *testing.T) {
	t.Parallel()
	m, r := monitored(t, rcc.Config{})
	feed(m, `{"api":"RCC","mt":"UserInfo","guid":"b2","cn":"bob"}`)
	if err := m.Sync(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	chs := feed(m, `{"api":"RCC","mt":"UserInitializeResult","src":"rcc-user-2","user":8,"prefixIntl":"000","prefixNtl":"00",`+
		`"prefixSubs":"0","area":"7031","country":"49","mobile":{"e164":"+491701234","h323":"bob-gsm","off":true}}`)
	want := rcc.Watched{Handle: 8, Session: 1, PrefixIntl: "000", PrefixNtl: "00", PrefixSubs: "0", Area: "7031", Country: "49",
		Mobile: &rcc.Mobile{E164: "+491701234", H323: "bob-gsm", Off: true}}
	if len(chs) != 1 || chs[0].Kind != rcc.UserWatched || chs[0].User.CN != "bob" || !reflect.DeepEqual(*chs[0].Watched, want) {
		t.Fatalf("changes %s %+v", kinds(chs), chs)
	}
	if w, ok := m.Watched("b2"); !ok || !reflect.DeepEqual(w, want) {
		t.Fatalf("Watched(b2) = %+v, %v", w, ok)
	}
	if h, ok := m.UserHandle("b2"); !ok || h != 8 {
		t.Fatalf("UserHandle(b2) = %d, %v", h, ok)
	}
}

// TestDialable: an international number to the digits the user's node
// dials.
func TestDialable(t *testing.T) {
	t.Parallel()
	w := rcc.Watched{PrefixIntl: "000", PrefixNtl: "00", PrefixSubs: "0", Area: "7031", Country: "49"}
	for _, c := range []struct{ in, want, err string }{
		{"+49 7031 730090", "007031730090", ""},
		{"+49 (30) 123-456", "0030123456", ""},
		{"+43 1 234567", "000431234567", ""},
		{"+1 212 555 0100", "00012125550100", ""},
		{"+4", "0004", ""},
		{"07031 730090", "", "not an international number"},
		{"+49 7031 x", "", "digits and separators only"},
		{"+", "", "no digits"},
	} {
		got, err := w.Dialable(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("Dialable(%q) = %q, %v; want an error with %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("Dialable(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	if _, err := (rcc.Watched{Country: "49"}).Dialable("+4930"); err == nil {
		t.Error("Dialable without prefixes: no error")
	}
}

// TestUserHoldSendsRemote: UserHold's flag is "remote" (RCC.htm since build
// 132195), not "hold" (bug). Every bool field is set through reflection,
// so the test reads the same against the old field name.
func TestUserHoldSendsRemote(t *testing.T) {
	t.Parallel()
	op := rcc.UserHold{Call: 4}
	v := reflect.ValueOf(&op).Elem()
	for i := range v.NumField() {
		if v.Field(i).Kind() == reflect.Bool {
			v.Field(i).SetBool(true)
		}
	}
	b, err := json.Marshal(op)
	if err != nil || string(b) != `{"api":"RCC","mt":"UserHold","call":4,"remote":true}` {
		t.Fatalf("UserHold = %s, %v", b, err)
	}
}

// TestOperationEncoding: api and mt come first, then RCC.htm's fields,
// for every operation of the page.
func TestOperationEncoding(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		op   any
		want string
	}{
		{rcc.Initialize{Grp: true, Limit: 20, Calls: true, Src: "s"}, `{"api":"RCC","mt":"Initialize","grp":true,"limit":20,"calls":true,"src":"s"}`},
		{rcc.UserInitialize{CN: "a", Xfer: true, Disc: true, HW: "h", Src: "s"}, `{"api":"RCC","mt":"UserInitialize","cn":"a","xfer":true,"disc":true,"hw":"h","src":"s"}`},
		{rcc.Devices{CN: "a"}, `{"api":"RCC","mt":"Devices","cn":"a"}`},
		{rcc.UserEnd{User: 3}, `{"api":"RCC","mt":"UserEnd","user":3}`},
		{rcc.UserCall{User: 1, FtyNoCF: true, Audio: true, Rc: 2, E164: "1", CN: "c", H323: "h", SrcE164: "9"},
			`{"api":"RCC","mt":"UserCall","user":1,"ftyNoCF":true,"audio":true,"rc":2,"e164":"1","cn":"c","h323":"h","srce164":"9"}`},
		{rcc.UserClear{Call: 4, Cause: 26}, `{"api":"RCC","mt":"UserClear","call":4,"cause":26}`},
		{rcc.UserConnect{Call: 4}, `{"api":"RCC","mt":"UserConnect","call":4}`},
		{rcc.UserRc{Call: 4, Rc: 4}, `{"api":"RCC","mt":"UserRc","call":4,"rc":4}`},
		{rcc.UserInfo{Call: 4, Cdpn: "12", Key: "k", Dsp: "d"}, `{"api":"RCC","mt":"UserInfo","call":4,"cdpn":"12","key":"k","dsp":"d"}`},
		{rcc.UserDTMF{Call: 4, Recv: true, DTMF: "1#"}, `{"api":"RCC","mt":"UserDTMF","call":4,"recv":true,"dtmf":"1#"}`},
		{rcc.UserUUI{Call: 4, Recv: true, UUI: "u"}, `{"api":"RCC","mt":"UserUUI","call":4,"recv":true,"uui":"u"}`},
		{rcc.UserTransfer{A: 1, B: 2}, `{"api":"RCC","mt":"UserTransfer","a":1,"b":2}`},
		{rcc.UserMediaTransfer{A: 1, B: 2, User: true, Peer: true}, `{"api":"RCC","mt":"UserMediaTransfer","a":1,"b":2,"user":true,"peer":true}`},
		{rcc.UserPickup{User: 1, Call: 2, CN: "bob"}, `{"api":"RCC","mt":"UserPickup","user":1,"call":2,"cn":"bob"}`},
		{rcc.UserRedirect{Call: 4, Rc: 1, CN: "c", H323: "h", E164: "1"}, `{"api":"RCC","mt":"UserRedirect","call":4,"rc":1,"cn":"c","h323":"h","e164":"1"}`},
		{rcc.UserReroute{Call: 4, CN: "c", H323: "x", E164: "1"}, `{"api":"RCC","mt":"UserReroute","call":4,"cn":"c","h323":"x","e164":"1"}`},
		{rcc.UserCtrlCall{Call: 4, Info: json.RawMessage(`[{"type":"x"}]`)}, `{"api":"RCC","mt":"UserCtrlCall","call":4,"info":[{"type":"x"}]}`},
		{rcc.UserCtrlCall{Call: 4}, `{"api":"RCC","mt":"UserCtrlCall","call":4}`},
		{rcc.UserCtComplete{Call: 4, E164: "1", H323: "h"}, `{"api":"RCC","mt":"UserCtComplete","call":4,"e164":"1","h323":"h"}`},
		{rcc.UserHold{Call: 4}, `{"api":"RCC","mt":"UserHold","call":4}`},
		{rcc.UserRetrieve{Call: 4}, `{"api":"RCC","mt":"UserRetrieve","call":4}`},
		{rcc.UserPark{Call: 4, CN: "p", Position: -1}, `{"api":"RCC","mt":"UserPark","call":4,"cn":"p","position":-1}`},
	} {
		b, err := json.Marshal(c.op)
		if err != nil || string(b) != c.want {
			t.Errorf("%T: %s, %v; want %s", c.op, b, err, c.want)
		}
	}
}

// requester answers every Request with reply (its mt, or the request's mt
// + "Result" when empty).
type requester struct{ reply string }

func (r requester) Request(_ context.Context, req any) (appws.Message, error) {
	if r.reply == "" {
		return appws.Message{}, errSend
	}
	var env struct{ MT string }
	if json.Unmarshal([]byte(r.reply), &env) != nil {
		env.MT = "UserRedirectResult" // a broken reply
	}
	return appws.Message{Session: 1, MT: env.MT, API: rcc.API, Raw: json.RawMessage(r.reply)}, nil
}

// TestOperationErrors: the errors a Result can carry, and replies that are
// not the Result.
func TestOperationErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ reply, want string }{
		{`{"api":"RCC","mt":"UserRedirectResult"}`, ""},
		{`{"api":"RCC","mt":"UserRedirectResult","error":""}`, ""},
		{`{"api":"RCC","mt":"UserRedirectResult","error":0}`, ""},
		{`{"api":"RCC","mt":"UserRedirectResult","error":false}`, ""},
		{`{"api":"RCC","mt":"UserRedirectResult","error":null}`, ""},
		{`{"api":"RCC","mt":"UserRedirectResult","error":"busy"}`, "rcc: UserRedirect: busy"},
		{`{"api":"RCC","mt":"UserRedirectResult","error":3,"errorText":"no route"}`, "rcc: UserRedirect: no route (code 3)"},
		{`{"api":"RCC","mt":"UserRedirectResult","error":3}`, "rcc: UserRedirect: error 3 (code 3)"},
		{`{"api":"RCC","mt":"UserRedirectResult","error":true}`, "rcc: UserRedirect: failed"},
		{`{"api":"RCC","mt":"UserRedirectResult","error":{"x":1}}`, `rcc: UserRedirect: error {"x":1}`},
		{`{"api":"RCC","mt":"UserRedirectResult","error":"` + strings.Repeat("é", 200) + `"}`, "rcc: UserRedirect: " + strings.Repeat("é", 128) + "..."},
		{`{"api":"RCC","mt":"UserCallResult"}`, `rcc: UserRedirect: unexpected reply "UserCallResult"`},
		{`{"api":"RCC","mt":"UserRedirectResult","error":"x`, "rcc: UserRedirect: bad UserRedirectResult: unexpected end of JSON input"},
		{``, "rcc: UserRedirect: send failed"},
	} {
		err := rcc.UserRedirect{Call: 1, E164: "1"}.Do(context.Background(), requester{c.reply})
		got := ""
		if err != nil {
			got = err.Error()
			var re *rcc.Error
			if errors.As(err, &re) && re.Code != 0 {
				got += fmt.Sprintf(" (code %d)", re.Code)
			}
		}
		if got != c.want {
			t.Errorf("reply %.60s: %q, want %q", c.reply, got, c.want)
		}
	}
	if err := (rcc.UserClear{Call: 1}).Do(context.Background(), requester{""}); !errors.Is(err, errSend) {
		t.Errorf("a failed Request: %v, want errors.Is the client's error", err)
	}
}

func TestStateAndKindNames(t *testing.T) {
	t.Parallel()
	for s, want := range map[rcc.State]string{
		rcc.StateInit: "init", rcc.StateSetup: "setup", rcc.StateSetupAck: "setup-ack", rcc.StateCallProc: "call-proc",
		rcc.StateAlert: "alert", rcc.StateConnected: "connected", rcc.StateDiscSent: "disconnect-sent",
		rcc.StateDiscRecv: "disconnect-received", rcc.StateParked: "parked", 9: "state(9)", -1: "state(-1)",
	} {
		if s.String() != want {
			t.Errorf("%d: %q, want %q", int(s), s.String(), want)
		}
	}
	if rcc.Incoming.String() != "incoming" || rcc.Outgoing.String() != "outgoing" {
		t.Error("Direction names")
	}
	b, err := json.Marshal(rcc.Change{Kind: rcc.CallAdded, Session: 2, Call: &rcc.Call{Handle: 3, State: rcc.StateAlert}})
	if want := `{"kind":"callAdded","session":2,"call":{"user":"","handle":3,"session":0,"state":"alert","direction":"outgoing","rawState":0}}`; err != nil || string(b) != want {
		t.Errorf("a Change in JSON: %s, %v\nwant %s", b, err, want)
	}
	for k, want := range map[rcc.Kind]string{rcc.UserAdded: "userAdded", rcc.UserWatched: "userWatched", rcc.Synced: "synced",
		rcc.Invalid: "invalid", 0: "kind(0)", 99: "kind(99)"} {
		if k.String() != want {
			t.Errorf("Kind %d: %q, want %q", int(k), k.String(), want)
		}
	}
}

// TestConcurrentUse: Handle on the event loop, Sync, Pending and the
// accessors on other goroutines (run with -race).
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	m := rcc.New(rcc.Config{})
	m.Handle(appws.ConnectComplete{Session: 1})
	done := make(chan struct{})
	var sent int
	go func() {
		defer close(done)
		r := &recorder{}
		for range 200 {
			if err := m.Sync(context.Background(), r); err != nil {
				t.Error(err)
			}
			m.Pending()
			m.Users()
			m.Calls()
			m.UserHandle("g1")
		}
		sent = len(r.sent)
	}()
	for i := range 200 {
		s := strconv.Itoa(i)
		m.Handle(msg(1, `{"api":"RCC","mt":"UserInfo","src":"rcc-init-1","guid":"g`+s+`","cn":"u`+s+`"}`))
		m.Handle(msg(1, `{"api":"RCC","mt":"CallInfo","src":"rcc-user-1","user":1,"call":`+strconv.Itoa(i+1)+`,"state":1}`))
	}
	<-done
	r := &recorder{}
	if err := m.Sync(context.Background(), r); err != nil || sent+len(r.sent) != 201 {
		t.Fatalf("sent %d+%d messages, want Initialize and 200 UserInitialize (%v)", sent, len(r.sent), err)
	}
}

// sessionRecorder is a recorder whose Session method says which session
// it is on, as *appws.Client's does.
type sessionRecorder struct {
	recorder
	cur uint64
}

func (s *sessionRecorder) Session() uint64 { return s.cur }

// TestSyncSendsNothingForAGoneSession: a client already on another
// session than the one the Monitor was last fed (the consumer is behind)
// gets nothing; the messages stay pending for the session they are for.
func TestSyncSendsNothingForAGoneSession(t *testing.T) {
	t.Parallel()
	m := rcc.New(rcc.Config{})
	m.Handle(appws.ConnectComplete{Session: 1})
	for _, cur := range []uint64{2, 0} { // on session 2; between sessions
		s := &sessionRecorder{cur: cur}
		if err := m.Sync(context.Background(), s); err != nil || len(s.sent) != 0 || !m.Pending() {
			t.Fatalf("client on session %d: Sync %v, sent %v, pending %v", cur, err, s.sent, m.Pending())
		}
	}
	s := &sessionRecorder{cur: 1}
	if err := m.Sync(context.Background(), s); err != nil || len(s.sent) != 1 || !strings.Contains(s.sent[0], `"mt":"Initialize"`) {
		t.Fatalf("Sync %v, sent %v", err, s.sent)
	}
}
