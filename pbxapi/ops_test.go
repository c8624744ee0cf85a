package pbxapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/appwstest"
	"github.com/appwebsocket/appws/pbxapi"
	"github.com/appwebsocket/appws/pbxapi/pbxapitest"
)

// cannedRequester answers every Request with reply (raw: the members
// after api and mt), and records what was requested.
type cannedRequester struct {
	mt, raw string
	asked   []string
}

func (c *cannedRequester) Request(_ context.Context, m any) (appws.Message, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return appws.Message{}, err
	}
	c.asked = append(c.asked, string(b))
	return msg(1, c.mt, "appws-1", c.raw), nil
}

// TestOperationsMarshal: every operation goes out as PbxApi.htm shows it.
func TestOperationsMarshal(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		op   json.Marshaler
		want string
	}{
		{pbxapi.SetPresence{SIP: "alice", Activity: "away", Note: "lunch"},
			`{"api":"PbxApi","mt":"SetPresence","sip":"alice","contact":"tel:","activity":"away","note":"lunch"}`},
		{pbxapi.SetPresence{GUID: "0a1b", Contact: "calendar:"},
			`{"api":"PbxApi","mt":"SetPresence","guid":"0a1b","contact":"calendar:","activity":"","note":""}`},
		{pbxapi.GetNodeInfo{}, `{"api":"PbxApi","mt":"GetNodeInfo"}`},
		{pbxapi.AddProfileContact{ProfileID: 1, Name: "Favs", Contact: pbxapi.NewContact{DN: "Bob", SIP: "bob"}},
			`{"api":"PbxApi","mt":"AddProfileContact","id":1,"name":"Favs","contact":{"dn":"Bob","sip":"bob"}}`},
		{pbxapi.DelProfileContact{ProfileID: 1, ContactID: 7},
			`{"api":"PbxApi","mt":"DelProfileContact","id":1,"contact":{"id":7}}`},
		{pbxapi.UpdateProfileContact{ProfileID: 1, Contact: pbxapi.Contact{ID: 7, Name: "bob", Dsp: "Bob"}},
			`{"api":"PbxApi","mt":"UpdateProfileContact","id":1,"contact":{"id":7,"name":"bob","num":"","dsp":"Bob","presence":false,"dialog":false}}`},
	} {
		b, err := json.Marshal(tc.op)
		if err != nil || string(b) != tc.want {
			t.Errorf("%T:\n got %s %v\nwant %s", tc.op, b, err, tc.want)
		}
	}
}

// TestResultErrors: "error" and "errorText" in a Result make an *Error
// (either one alone too); absent or 0 is success; a reply that is not the
// Result, or an error that is not a number, is an *Error; the server's
// text is bounded.
func TestResultErrors(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 300)
	for _, tc := range []struct {
		mt, raw string
		want    *pbxapi.Error // nil: success
	}{
		{"SetPresenceResult", ``, nil},
		{"SetPresenceResult", `"error":0`, nil},
		{"SetPresenceResult", `"error":null,"errorText":""`, nil},
		{"SetPresenceResult", `"error":5,"errorText":"no such user"`, &pbxapi.Error{Op: "SetPresence", Code: 5, Text: "no such user"}},
		{"SetPresenceResult", `"error":3`, &pbxapi.Error{Op: "SetPresence", Code: 3}},
		{"SetPresenceResult", `"errorText":"refused"`, &pbxapi.Error{Op: "SetPresence", Text: "refused"}},
		{"SetPresenceResult", `"error":"x"`, &pbxapi.Error{Op: "SetPresence", Text: `bad reply: error is "x", not an unsigned number`}},
		{"SetPresenceResult", `"error":-1`, &pbxapi.Error{Op: "SetPresence", Text: `bad reply: error is -1, not an unsigned number`}},
		{"GetNodeInfoResult", ``, &pbxapi.Error{Op: "SetPresence", Text: "unexpected reply GetNodeInfoResult"}},
		{"SetPresenceResult", `"error":1,"errorText":"` + long + `"`, &pbxapi.Error{Op: "SetPresence", Code: 1, Text: strings.Repeat("é", 100) + "..."}},
	} {
		r := &cannedRequester{mt: tc.mt, raw: tc.raw}
		err := pbxapi.SetPresence{SIP: "alice"}.Do(t.Context(), r)
		if tc.want == nil {
			if err != nil {
				t.Errorf("%s: %v", tc.raw, err)
			}
			continue
		}
		var pe *pbxapi.Error
		if !errors.As(err, &pe) || *pe != *tc.want {
			t.Errorf("%s %s:\n got %#v\nwant %#v", tc.mt, tc.raw, err, tc.want)
		}
	}
	e := &pbxapi.Error{Op: "SetPresence", Code: 5, Text: "no such user"}
	if e.Error() != "pbxapi: SetPresence: no such user" {
		t.Errorf("Error() = %q", e.Error())
	}
	if e := (&pbxapi.Error{Op: "SetPresence", Code: 3}); e.Error() != "pbxapi: SetPresence: error 3" {
		t.Errorf("Error() = %q", e.Error())
	}
}

// TestNoTargetSendsNothing: SetPresence without sip or guid, and
// AddProfileContact without a contact, fail at the call.
func TestNoTargetSendsNothing(t *testing.T) {
	t.Parallel()
	r := &cannedRequester{mt: "SetPresenceResult"}
	if err := (pbxapi.SetPresence{Activity: "away"}).Do(t.Context(), r); !errors.Is(err, pbxapi.ErrNoTarget) {
		t.Errorf("SetPresence: %v", err)
	}
	if err := (pbxapi.AddProfileContact{ProfileID: 1}).Do(t.Context(), r); !errors.Is(err, pbxapi.ErrNoTarget) {
		t.Errorf("AddProfileContact: %v", err)
	}
	if len(r.asked) != 0 {
		t.Errorf("sent %v", r.asked)
	}
}

// live is a client logged in to a server with the fake, its Watcher and
// its events, driven by the test.
type live struct {
	t   *testing.T
	pbx *pbxapitest.Fake
	srv *appwstest.Server
	c   *appws.Client
	w   *pbxapi.Watcher
}

// dial starts a server with pbx (in memory) and a client logged in as
// alice, with a Watcher of cfg fed its ConnectComplete.
func dial(t *testing.T, pbx *pbxapitest.Fake, cfg pbxapi.Config, targets ...pbxapi.Target) *live {
	t.Helper()
	srv := appwstest.NewServer(appwstest.Config{Apps: map[string]string{"svc": "pw"}, InMemory: true, Handler: pbx.Handler})
	opts := srv.ClientOptions()
	opts.SIP = "alice"
	c, err := appws.Dial(t.Context(), opts)
	if err != nil {
		srv.Close()
		t.Fatal(err)
	}
	l := &live{t: t, pbx: pbx, srv: srv, c: c, w: pbxapi.New(cfg)}
	t.Cleanup(func() {
		c.Close()
		for range c.Events() {
		}
		srv.Close()
	})
	for _, tg := range targets {
		if err := l.w.SubscribePresence(tg); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

// until feeds events to the Watcher until a change of kind k comes, and
// returns the changes up to it. It gives up after a minute without an
// event (a failing test, not a pace: in a synctest bubble no real time
// passes).
func (l *live) until(k pbxapi.Kind) []pbxapi.Change {
	l.t.Helper()
	var got []pbxapi.Change
	timeout := time.NewTimer(time.Minute)
	defer timeout.Stop()
	for {
		var ev appws.Event
		var ok bool
		select {
		case ev, ok = <-l.c.Events():
		case <-timeout.C:
			l.t.Fatalf("no %v within a minute; got %s", k, summary(got))
		}
		if !ok {
			l.t.Fatalf("events ended before %v; got %s", k, summary(got))
		}
		timeout.Reset(time.Minute)
		chs := l.w.Handle(ev)
		got = append(got, chs...)
		if err := l.w.Sync(l.t.Context(), l.c); err != nil {
			l.t.Fatalf("Sync: %v", err)
		}
		l.c.Handled(ev)
		for _, ch := range chs {
			if ch.Kind == k {
				return got
			}
		}
	}
}

// TestSetPresenceAgainstTheFake: SetPresence changes the user's presence
// at the fake, and a subscription to the user sees it.
func TestSetPresenceAgainstTheFake(t *testing.T) {
	t.Parallel()
	pbx := pbxapitest.New(pbxapitest.User{SIP: "alice", Num: "10", DN: "Alice"})
	l := dial(t, pbx, pbxapi.Config{}, pbxapi.Target{SIP: "alice"})
	expect(t, "subscribed", l.until(pbxapi.Synced), `stateChanged sip:alice up=true|presenceChanged sip:alice 0:""|synced`)

	if err := (pbxapi.SetPresence{SIP: "alice", Activity: "dnd", Note: "focus"}).Do(t.Context(), l.c); err != nil {
		t.Fatal(err)
	}
	chs := l.until(pbxapi.PresenceChanged)
	expect(t, "after SetPresence", chs, `presenceChanged sip:alice 1:"dnd"`)
	if u, _ := pbx.User("alice"); len(u.Presence) != 1 || u.Presence[0] != (pbxapi.Presence{Contact: "tel:", Activity: "dnd", Note: "focus"}) {
		t.Errorf("fake's user %+v", u)
	}

	err := (pbxapi.SetPresence{SIP: "nobody", Activity: "away"}).Do(t.Context(), l.c)
	var pe *pbxapi.Error
	if !errors.As(err, &pe) || pe.Code != 1 || pe.Text != "no such user" {
		t.Errorf("unknown user: %v", err)
	}
}

// TestGetNodeInfoAgainstTheFake: the node's fields, area_code when sent.
func TestGetNodeInfoAgainstTheFake(t *testing.T) {
	t.Parallel()
	pbx := pbxapitest.New()
	l := dial(t, pbx, pbxapi.Config{})
	info, err := pbxapi.GetNodeInfo{}.Do(t.Context(), l.c)
	if err != nil || info != pbxapitest.DefaultNodeInfo {
		t.Fatalf("GetNodeInfo = %+v, %v", info, err)
	}
	want := pbxapi.NodeInfo{Name: "berlin", PrefixIntl: "00", PrefixNtl: "0", PrefixSubs: "", CountryCode: "49", AreaCode: "30"}
	pbx.SetNodeInfo(want)
	if info, err := (pbxapi.GetNodeInfo{}).Do(t.Context(), l.c); err != nil || info != want {
		t.Fatalf("GetNodeInfo = %+v, %v", info, err)
	}
}

// TestProfileOperationsAgainstTheFake: Add, Update and DelProfileContact
// change the fake's profile, and the Watcher's table follows the pushes.
func TestProfileOperationsAgainstTheFake(t *testing.T) {
	t.Parallel()
	pbx := pbxapitest.New(pbxapitest.User{SIP: "bob", Num: "11", DN: "Bob"})
	pbx.SetProfile("alice", pbxapi.Profile{ID: 1, Name: "Favourites", Contacts: []pbxapi.Contact{{ID: 1, Num: "0301234", Dsp: "Dora"}}})
	l := dial(t, pbx, pbxapi.Config{Profile: true})
	expect(t, "subscribed", l.until(pbxapi.Synced), `profileChanged 1 "Favourites"|contactAdded #1 Dora|synced`)

	ctx := t.Context()
	if err := (pbxapi.AddProfileContact{ProfileID: 1, Contact: pbxapi.NewContact{DN: "Bob", SIP: "bob"}}).Do(ctx, l.c); err != nil {
		t.Fatal(err)
	}
	chs := l.until(pbxapi.ContactAdded)
	expect(t, "added", chs, "contactAdded #2 Bob")
	bobContact := *chs[0].Contact
	if bobContact != (pbxapi.Contact{ID: 2, Name: "bob", Dsp: "Bob", Presence: true, Dialog: true}) {
		t.Errorf("contact %+v", bobContact)
	}
	bobContact.Dsp = "Robert"
	if err := (pbxapi.UpdateProfileContact{ProfileID: 1, Contact: bobContact}).Do(ctx, l.c); err != nil {
		t.Fatal(err)
	}
	expect(t, "updated", l.until(pbxapi.ContactChanged), "contactChanged #2 Robert")
	if err := (pbxapi.DelProfileContact{ProfileID: 1, ContactID: 1}).Do(ctx, l.c); err != nil {
		t.Fatal(err)
	}
	expect(t, "deleted", l.until(pbxapi.ContactRemoved), "contactRemoved #1 Dora")
	p, _ := l.w.Profile()
	if fp, _ := pbx.Profile("alice"); len(p.Contacts) != 1 || len(fp.Contacts) != 1 || p.Contacts[0] != fp.Contacts[0] {
		t.Errorf("Watcher %+v, fake %+v", p, fp)
	}

	err := (pbxapi.DelProfileContact{ProfileID: 1, ContactID: 99}).Do(ctx, l.c)
	var pe *pbxapi.Error
	if !errors.As(err, &pe) || pe.Op != "DelProfileContact" || pe.Code != 1 {
		t.Errorf("unknown favourite: %v", err)
	}
}

// TestDoWithoutAReply: an operation the PBX does not answer waits for
// its ctx only, and says so (in a synctest bubble: no real time passes).
func TestDoWithoutAReply(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv := appwstest.NewServer(appwstest.Config{Apps: map[string]string{"svc": "pw"}, InMemory: true, Handler: appwstest.Silent})
		defer srv.Close()
		c, err := appws.Dial(t.Context(), srv.ClientOptions())
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			c.Close()
			for range c.Events() {
			}
		}()
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		_, err = pbxapi.GetNodeInfo{}.Do(ctx, c)
		if !errors.Is(err, context.DeadlineExceeded) || !strings.HasPrefix(err.Error(), "pbxapi: GetNodeInfo: ") {
			t.Errorf("err %v", err)
		}
	})
}
