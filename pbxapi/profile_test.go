package pbxapi_test

import (
	"testing"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/pbxapi"
)

// profileWatcher returns a Watcher following the profile in session 1,
// and the src of its SubscribeProfile.
func profileWatcher(t *testing.T) (*pbxapi.Watcher, string) {
	t.Helper()
	w := pbxapi.New(pbxapi.Config{Profile: true})
	w.Handle(appws.ConnectComplete{Session: 1})
	s := &recSender{}
	mustSync(t, w, s)
	if len(s.msgs) != 1 || s.msgs[0].Raw != `{"api":"PbxApi","mt":"SubscribeProfile","src":"pbxapi-profile1"}` {
		t.Fatalf("sent %v", s.msgs)
	}
	return w, s.msgs[0].Src
}

const favourites = `"profile":{"id":4,"name":"Favourites","contacts":[
	{"id":1,"name":"bob","num":"11","dsp":"Bob","presence":true,"dialog":true},
	{"id":2,"num":"004930123","dsp":"Dora","ext":"tel"}]}`

// TestProfileKeptAsATable: the first profile of SubscribeProfileResult
// becomes the table; ProfileContactAdded adds (or, for a known id,
// changes) a favourite, ProfileContactDeleted removes one.
func TestProfileKeptAsATable(t *testing.T) {
	t.Parallel()
	w, src := profileWatcher(t)
	if _, ok := w.Profile(); ok {
		t.Error("a profile before SubscribeProfileResult")
	}
	expect(t, "result", w.Handle(msg(1, "SubscribeProfileResult", src, favourites)),
		`profileChanged 4 "Favourites"|contactAdded #1 Bob|contactAdded #2 Dora|synced`)
	p, ok := w.Profile()
	if !ok || p.ID != 4 || len(p.Contacts) != 2 || p.Contacts[1] != (pbxapi.Contact{ID: 2, Num: "004930123", Dsp: "Dora", Ext: "tel"}) {
		t.Fatalf("Profile %+v %v", p, ok)
	}
	p.Contacts[0].Dsp = "changed by the caller"
	if again, _ := w.Profile(); again.Contacts[0].Dsp != "Bob" {
		t.Error("Profile returned the table, not a copy")
	}

	expect(t, "added", w.Handle(msg(1, "ProfileContactAdded", src, `"profile":{"id":4,"contact":{"id":3,"name":"carol","dsp":"Carol"}}`)),
		"contactAdded #3 Carol")
	chs := w.Handle(msg(1, "ProfileContactAdded", src, `"profile":{"id":4,"contact":{"id":1,"name":"bob","num":"11","dsp":"Bobby","presence":true,"dialog":true}}`))
	expect(t, "added again: an update", chs, "contactChanged #1 Bobby")
	if chs[0].Old == nil || chs[0].Old.Dsp != "Bob" {
		t.Errorf("Old %+v", chs[0].Old)
	}
	expect(t, "the same again", w.Handle(msg(1, "ProfileContactAdded", src, `"profile":{"id":4,"contact":{"id":1,"name":"bob","num":"11","dsp":"Bobby","presence":true,"dialog":true}}`)), "")
	expect(t, "deleted", w.Handle(msg(1, "ProfileContactDeleted", src, `"profile":{"id":4,"contact":{"id":2}}`)), "contactRemoved #2 Dora")
	expect(t, "deleted unknown", w.Handle(msg(1, "ProfileContactDeleted", src, `"profile":{"id":4,"contact":{"id":99}}`)), "")
	expect(t, "without src", w.Handle(msg(1, "ProfileContactDeleted", "", `"profile":{"id":4,"contact":{"id":3}}`)), "contactRemoved #3 Carol")
	expect(t, "another's src", w.Handle(msg(1, "ProfileContactDeleted", "other-1", `"profile":{"id":4,"contact":{"id":1}}`)), "")
	expect(t, "no contact", w.Handle(msg(1, "ProfileContactAdded", src, `"profile":{"id":4}`)), "invalid err")
	expect(t, "bad contact", w.Handle(msg(1, "ProfileContactAdded", src, `"profile":{"id":4,"contact":{"id":"x"}}`)), "invalid err")
	if p, _ := w.Profile(); len(p.Contacts) != 1 || p.Contacts[0].Dsp != "Bobby" {
		t.Errorf("table %+v", p.Contacts)
	}
}

// TestProfileAfterReconnect: the table outlives the session; the profile
// sent again is compared with it and only the difference is reported.
func TestProfileAfterReconnect(t *testing.T) {
	t.Parallel()
	w, src := profileWatcher(t)
	w.Handle(msg(1, "SubscribeProfileResult", src, favourites))
	expect(t, "disconnected", w.Handle(appws.Disconnected{Session: 1}), "")
	if p, ok := w.Profile(); !ok || len(p.Contacts) != 2 {
		t.Fatalf("table not kept: %+v", p)
	}
	w.Handle(appws.ConnectComplete{Session: 2})
	s := &recSender{}
	mustSync(t, w, s)
	if len(s.msgs) != 1 || s.msgs[0].MT != "SubscribeProfile" || s.msgs[0].Src == src {
		t.Fatalf("sent %v", s.msgs)
	}
	// Meanwhile Dora was deleted, Bob renamed and Erin added.
	expect(t, "result", w.Handle(msg(2, "SubscribeProfileResult", s.msgs[0].Src, `"profile":{"id":4,"name":"Favourites","contacts":[
		{"id":5,"name":"erin","dsp":"Erin"},
		{"id":1,"name":"bob","num":"11","dsp":"Robert","presence":true,"dialog":true}]}`)),
		"contactRemoved #2 Dora|contactAdded #5 Erin|contactChanged #1 Robert|synced")
}

// TestProfileDuplicateIDs: of favourites with the same id in one profile
// the last is kept, so the table has one per id.
func TestProfileDuplicateIDs(t *testing.T) {
	t.Parallel()
	w, src := profileWatcher(t)
	expect(t, "result", w.Handle(msg(1, "SubscribeProfileResult", src, `"profile":{"id":1,"contacts":[{"id":7,"dsp":"A"},{"id":7,"dsp":"B"}]}`)),
		`profileChanged 1 ""|contactAdded #7 B|synced`)
}

// TestNoProfile: a SubscribeProfileResult without a profile (the user has
// none) is an empty table; ProfileContactAdded creates it.
func TestNoProfile(t *testing.T) {
	t.Parallel()
	w, src := profileWatcher(t)
	expect(t, "result", w.Handle(msg(1, "SubscribeProfileResult", src, "")), `profileChanged 0 ""|synced`)
	expect(t, "added", w.Handle(msg(1, "ProfileContactAdded", src, `"profile":{"id":2,"contact":{"id":1,"dsp":"Bob"}}`)),
		`profileChanged 2 ""|contactAdded #1 Bob`)
}

// TestUnsubscribeProfile: the table is forgotten and UnsubscribeProfile
// sent with the subscription's src; later profile messages are ignored.
func TestUnsubscribeProfile(t *testing.T) {
	t.Parallel()
	w, src := profileWatcher(t)
	w.Handle(msg(1, "SubscribeProfileResult", src, favourites))
	w.UnsubscribeProfile()
	w.UnsubscribeProfile() // again: nothing
	s := &recSender{}
	mustSync(t, w, s)
	if len(s.msgs) != 1 || s.msgs[0].Raw != `{"api":"PbxApi","mt":"UnsubscribeProfile","src":"`+src+`"}` {
		t.Fatalf("sent %v", s.msgs)
	}
	if _, ok := w.Profile(); ok {
		t.Error("table kept")
	}
	expect(t, "after", w.Handle(msg(1, "ProfileContactAdded", "", `"profile":{"id":4,"contact":{"id":9}}`)), "")

	// Subscribed and unsubscribed before it was sent: nothing goes out.
	w.SubscribeProfile()
	w.SubscribeProfile()
	w.UnsubscribeProfile()
	if w.Pending() {
		t.Error("pending")
	}
}
