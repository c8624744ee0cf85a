package pbxapi_test

import (
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/pbxapi"
)

var (
	bob   = pbxapi.Target{SIP: "bob"}
	carol = pbxapi.Target{Num: "12"}
)

// watching returns a Watcher subscribed to bob and carol, fed
// ConnectComplete(1), whose subscriptions were sent.
func watching(t *testing.T) (*pbxapi.Watcher, *recSender) {
	t.Helper()
	w := pbxapi.New(pbxapi.Config{})
	for _, tg := range []pbxapi.Target{bob, carol} {
		if err := w.SubscribePresence(tg); err != nil {
			t.Fatal(err)
		}
	}
	if chs := w.Handle(appws.ConnectComplete{Session: 1}); chs != nil {
		t.Fatalf("ConnectComplete: %s", summary(chs))
	}
	s := &recSender{}
	mustSync(t, w, s)
	return w, s
}

func TestKindNames(t *testing.T) {
	t.Parallel()
	want := []string{"invalid", "stateChanged", "presenceChanged", "profileChanged",
		"contactAdded", "contactChanged", "contactRemoved", "synced"}
	for i, name := range want {
		k := pbxapi.Kind(i + 1)
		if k.String() != name {
			t.Errorf("Kind(%d) = %q, want %q", i+1, k, name)
		}
		if b, _ := k.MarshalText(); string(b) != name {
			t.Errorf("MarshalText(%d) = %s", i+1, b)
		}
	}
	if s := pbxapi.Kind(0).String(); s != "kind(0)" {
		t.Errorf("Kind(0) = %q", s)
	}
	if s := pbxapi.Kind(len(want) + 1).String(); s != "kind(9)" {
		t.Errorf("Kind(9) = %q", s)
	}
}

// TestSubscriptionsSentWithTheirOwnSrc: Sync sends one SubscribePresence
// per subscription, each with a src of its own, and nothing more.
func TestSubscriptionsSentWithTheirOwnSrc(t *testing.T) {
	t.Parallel()
	w, s := watching(t)
	if len(s.msgs) != 2 {
		t.Fatalf("sent %v", s.msgs)
	}
	if want := `{"api":"PbxApi","mt":"SubscribePresence","sip":"bob","src":"pbxapi-p1"}`; s.msgs[0].Raw != want {
		t.Errorf("sent %s, want %s", s.msgs[0].Raw, want)
	}
	if want := `{"api":"PbxApi","mt":"SubscribePresence","num":"12","src":"pbxapi-p2"}`; s.msgs[1].Raw != want {
		t.Errorf("sent %s, want %s", s.msgs[1].Raw, want)
	}
	if w.Pending() {
		t.Error("still pending after Sync")
	}
	mustSync(t, w, s) // nothing pending: no-op
	if len(s.msgs) != 2 {
		t.Errorf("a second Sync sent %v", s.msgs[2:])
	}
}

// TestPresenceUpdateMatchedBySrc: PresenceUpdate names no user; the
// Watcher gives it to the subscription whose src it carries, and ignores
// srcs it did not send.
func TestPresenceUpdateMatchedBySrc(t *testing.T) {
	t.Parallel()
	w, s := watching(t)
	carolSrc := s.msgs[1].Src
	chs := w.Handle(msg(1, "PresenceUpdate", carolSrc, `"presence":[{"contact":"tel:","activity":"away","note":"lunch"},{"contact":"im:","status":"open","activity":""}]`))
	expect(t, "update for carol", chs, `presenceChanged num:12 2:"away"`)
	sub := chs[0].Subscription
	if cur, ok := sub.Current(); !ok || cur != (pbxapi.Presence{Contact: "tel:", Activity: "away", Note: "lunch"}) {
		t.Errorf("current %+v %v", cur, ok)
	}
	if got, _ := w.Lookup(carol); len(got.Presence) != 2 || got.Presence[1].Status != "open" {
		t.Errorf("Lookup(carol) = %+v", got)
	}
	if got, _ := w.Lookup(bob); got.Presence != nil {
		t.Errorf("bob got carol's presence: %+v", got)
	}
	if chs := w.Handle(msg(1, "PresenceUpdate", "someone-else-7", `"presence":[]`)); chs != nil {
		t.Errorf("foreign src: %s", summary(chs))
	}
}

// TestPresenceStateReported: PresenceState's up and endpoint are reported,
// and the same state again is not.
func TestPresenceStateReported(t *testing.T) {
	t.Parallel()
	w, s := watching(t)
	st := `"up":true,"sip":"bob","num":"11","dn":"Bob","email":"bob@example.com"`
	chs := w.Handle(msg(1, "PresenceState", s.msgs[0].Src, st))
	expect(t, "state", chs, "stateChanged sip:bob up=true")
	if got := *chs[0].Subscription; got.DN != "Bob" || got.Num != "11" || got.Email != "bob@example.com" || got.SIP != "bob" {
		t.Errorf("subscription %+v", got)
	}
	expect(t, "same state", w.Handle(msg(1, "PresenceState", s.msgs[0].Src, st)), "")
	expect(t, "down", w.Handle(msg(1, "PresenceState", s.msgs[0].Src, `"up":false,"sip":"bob"`)), "stateChanged sip:bob up=false")
}

// TestSyncedWhenEveryStateIsComplete: Synced comes once, when every
// subscription of the session has its state: a presence subscription its
// PresenceUpdate (or a PresenceState saying the monitor is down), the
// profile its SubscribeProfileResult. SubscribePresenceResult alone is
// not enough: the state follows it.
func TestSyncedWhenEveryStateIsComplete(t *testing.T) {
	t.Parallel()
	w, s := watching(t)
	w.SubscribeProfile()
	mustSync(t, w, s)
	bobSrc, carolSrc := s.msgs[0].Src, s.msgs[1].Src
	expect(t, "results", w.Handle(msg(1, "SubscribePresenceResult", bobSrc, "")), "")
	expect(t, "results", w.Handle(msg(1, "SubscribePresenceResult", carolSrc, "")), "")
	expect(t, "profile", w.Handle(msg(1, "SubscribeProfileResult", s.msgs[2].Src, `"profile":{"id":1,"name":"Favs"}`)),
		`profileChanged 1 "Favs"`)
	expect(t, "bob up", w.Handle(msg(1, "PresenceState", bobSrc, `"up":true`)), "stateChanged sip:bob up=true")
	expect(t, "bob's presence", w.Handle(msg(1, "PresenceUpdate", bobSrc, `"presence":[]`)), `presenceChanged sip:bob 0:""`)
	expect(t, "carol down", w.Handle(msg(1, "PresenceState", carolSrc, `"up":false,"num":"12"`)), "stateChanged num:12 up=false|synced")
	if err := w.SubscribePresence(pbxapi.Target{SIP: "dave"}); err != nil {
		t.Fatal(err)
	}
	mustSync(t, w, s)
	expect(t, "a later subscription", w.Handle(msg(1, "PresenceUpdate", s.msgs[3].Src, `"presence":[]`)), `presenceChanged sip:dave 0:""`)
}

// TestInvalidPresenceUpdateCompletesTheState: a PresenceUpdate that does
// not decode is reported, and does not hold Synced back.
func TestInvalidPresenceUpdateCompletesTheState(t *testing.T) {
	t.Parallel()
	w := pbxapi.New(pbxapi.Config{})
	_ = w.SubscribePresence(bob)
	w.Handle(appws.ConnectComplete{Session: 1})
	s := &recSender{}
	mustSync(t, w, s)
	expect(t, "bad update", w.Handle(msg(1, "PresenceUpdate", s.msgs[0].Src, `"presence":7`)), "invalid err|synced")
}

// TestSyncedAtOnceWithoutSubscriptions: with nothing to subscribe, the
// session is synced when it starts.
func TestSyncedAtOnceWithoutSubscriptions(t *testing.T) {
	t.Parallel()
	w := pbxapi.New(pbxapi.Config{})
	expect(t, "connect", w.Handle(appws.ConnectComplete{Session: 1}), "synced")
	if w.Pending() {
		t.Error("pending with nothing to send")
	}
}

// TestReconnectResubscribesAndReportsTheDifference: a lost session ends
// the live state of its subscriptions (StateChanged, Lost); the next one
// subscribes again with fresh srcs, and only what changed meanwhile is
// reported, then Synced.
func TestReconnectResubscribesAndReportsTheDifference(t *testing.T) {
	t.Parallel()
	w, s := watching(t)
	bobSrc, carolSrc := s.msgs[0].Src, s.msgs[1].Src
	w.Handle(msg(1, "SubscribePresenceResult", bobSrc, ""))
	w.Handle(msg(1, "PresenceState", bobSrc, `"up":true,"sip":"bob","dn":"Bob"`))
	w.Handle(msg(1, "PresenceUpdate", bobSrc, `"presence":[{"contact":"tel:","activity":"busy"}]`))
	// carol's subscription was never answered: nothing of it was live.

	expect(t, "disconnected", w.Handle(appws.Disconnected{Session: 1}), "stateChanged sip:bob up=false lost")
	if got, _ := w.Lookup(bob); got.Up || got.DN != "Bob" || len(got.Presence) != 1 {
		t.Errorf("kept state of bob: %+v", got)
	}
	if w.Pending() {
		t.Error("pending between sessions")
	}
	expect(t, "a failed attempt's Disconnected", w.Handle(appws.Disconnected{Session: 1}), "")

	expect(t, "connect 2", w.Handle(appws.ConnectComplete{Session: 2}), "")
	mustSync(t, w, s)
	again := s.msgs[2:]
	if len(again) != 2 || again[0].MT != "SubscribePresence" || again[1].MT != "SubscribePresence" {
		t.Fatalf("resent %v", again)
	}
	if again[0].Src == bobSrc || again[1].Src == carolSrc {
		t.Errorf("srcs reused: %v", again)
	}
	expect(t, "old src in the new session", w.Handle(msg(2, "PresenceUpdate", bobSrc, `"presence":[]`)), "")
	expect(t, "message of the old session", w.Handle(msg(1, "PresenceUpdate", again[0].Src, `"presence":[]`)), "")

	nb := again[0].Src
	expect(t, "result", w.Handle(msg(2, "SubscribePresenceResult", nb, "")), "")
	expect(t, "up again", w.Handle(msg(2, "PresenceState", nb, `"up":true,"sip":"bob","dn":"Bob"`)), "stateChanged sip:bob up=true")
	expect(t, "same presence", w.Handle(msg(2, "PresenceUpdate", nb, `"presence":[{"contact":"tel:","activity":"busy"}]`)), "")
	expect(t, "carol's result", w.Handle(msg(2, "SubscribePresenceResult", again[1].Src, "")), "")
	expect(t, "carol's presence", w.Handle(msg(2, "PresenceUpdate", again[1].Src, `"presence":[]`)), `presenceChanged num:12 0:""|synced`)
	expect(t, "changed presence", w.Handle(msg(2, "PresenceUpdate", nb, `"presence":[{"contact":"tel:","activity":"away"}]`)),
		`presenceChanged sip:bob 1:"away"`)
}

// TestNewerConnectCompleteEndsTheOldSession (events.go rule 8): a
// consumer far behind may see ConnectComplete(N+k) without the
// Disconnected(N) before it; the loss is reported all the same.
func TestNewerConnectCompleteEndsTheOldSession(t *testing.T) {
	t.Parallel()
	w, s := watching(t)
	w.Handle(msg(1, "PresenceState", s.msgs[0].Src, `"up":true`))
	expect(t, "connect 3", w.Handle(appws.ConnectComplete{Session: 3}), "stateChanged sip:bob up=false lost")
	if w.Session() != 3 || !w.Pending() {
		t.Fatalf("session %d, pending %v", w.Session(), w.Pending())
	}
	expect(t, "the same ConnectComplete again", w.Handle(appws.ConnectComplete{Session: 3}), "")
}

// TestClosedEndsTheSession: Closed reports the loss; nothing is sent after.
func TestClosedEndsTheSession(t *testing.T) {
	t.Parallel()
	w, s := watching(t)
	w.Handle(msg(1, "PresenceUpdate", s.msgs[1].Src, `"presence":[]`))
	expect(t, "closed", w.Handle(appws.Closed{}), "stateChanged num:12 up=false lost")
	if w.Pending() || w.Session() != 0 {
		t.Error("still in a session after Closed")
	}
	mustSync(t, w, s)
	if len(s.msgs) != 2 {
		t.Errorf("sent after Closed: %v", s.msgs[2:])
	}
}

// TestInvalidMessagesReported: a message meant for the Watcher that does
// not decode is reported Invalid with a *DecodeError and skipped; so is a
// presence message without src, which no subscription can own.
func TestInvalidMessagesReported(t *testing.T) {
	t.Parallel()
	w, s := watching(t)
	bobSrc := s.msgs[0].Src
	chs := w.Handle(msg(1, "PresenceUpdate", bobSrc, `"presence":{"contact":"tel:"}`))
	expect(t, "presence not an array", chs, "invalid err")
	var de *pbxapi.DecodeError
	if !errors.As(chs[0].Err, &de) || de.MT != "PresenceUpdate" || de.Src != bobSrc {
		t.Fatalf("Err %#v", chs[0].Err)
	}
	line, err := json.Marshal(chs[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(line), `"kind":"invalid"`) || !strings.Contains(string(line), `"err":"pbxapi: PresenceUpdate (src \"pbxapi-p1\"): json: cannot unmarshal`) {
		t.Errorf("JSON %s", line)
	}
	expect(t, "up not a boolean", w.Handle(msg(1, "PresenceState", bobSrc, `"up":"yes"`)), "invalid err")
	expect(t, "no src", w.Handle(msg(1, "PresenceUpdate", "", `"presence":[]`)), "invalid err")
	if got, _ := w.Lookup(bob); got.Up || got.Presence != nil {
		t.Errorf("invalid messages changed bob: %+v", got)
	}
	expect(t, "a valid one after", w.Handle(msg(1, "PresenceUpdate", bobSrc, `"presence":[]`)), `presenceChanged sip:bob 0:""`)
}

// TestOtherEventsIgnored: other APIs, other sessions and SendResults
// change nothing.
func TestOtherEventsIgnored(t *testing.T) {
	t.Parallel()
	w, s := watching(t)
	other := msg(1, "PresenceUpdate", s.msgs[0].Src, `"presence":[]`)
	other.API = "RCC"
	for _, ev := range []appws.Event{other, msg(7, "PresenceUpdate", s.msgs[0].Src, `"presence":[]`), appws.SendResult{ID: 1}} {
		if chs := w.Handle(ev); chs != nil {
			t.Errorf("%#v: %s", ev, summary(chs))
		}
	}
	before := pbxapi.New(pbxapi.Config{})
	if chs := before.Handle(msg(1, "PresenceUpdate", "pbxapi-p1", `"presence":[]`)); chs != nil {
		t.Errorf("before any session: %s", summary(chs))
	}
}

// TestSyncFailureKeepsThePending: a Send that fails leaves its message and
// those after it for the next Sync.
func TestSyncFailureKeepsThePending(t *testing.T) {
	t.Parallel()
	w := pbxapi.New(pbxapi.Config{Profile: true})
	for _, tg := range []pbxapi.Target{bob, carol} {
		_ = w.SubscribePresence(tg)
	}
	w.Handle(appws.ConnectComplete{Session: 1})
	s := &recSender{fail: func(n int) bool { return n == 2 }}
	if err := w.Sync(t.Context(), s); !errors.Is(err, errSend) {
		t.Fatalf("Sync: %v", err)
	}
	if !w.Pending() || len(s.msgs) != 1 {
		t.Fatalf("pending %v, sent %v", w.Pending(), s.msgs)
	}
	mustSync(t, w, s)
	var mts []string
	for _, m := range s.msgs {
		mts = append(mts, m.MT+" "+m.Src)
	}
	if got := strings.Join(mts, ","); got != "SubscribePresence pbxapi-p1,SubscribePresence pbxapi-p2,SubscribeProfile pbxapi-profile3" {
		t.Errorf("sent %s", got)
	}
}

// TestSyncSendsNothingForAGoneSession: a Sender in another session than
// the Watcher was last fed (the consumer is behind) gets nothing.
func TestSyncSendsNothingForAGoneSession(t *testing.T) {
	t.Parallel()
	w := pbxapi.New(pbxapi.Config{})
	_ = w.SubscribePresence(bob)
	w.Handle(appws.ConnectComplete{Session: 1})
	s := &sessionSender{recSender: &recSender{}, cur: 2}
	mustSync(t, w, s)
	if len(s.msgs) != 0 || !w.Pending() {
		t.Fatalf("sent %v, pending %v", s.msgs, w.Pending())
	}
	s.cur = 1
	mustSync(t, w, s)
	if len(s.msgs) != 1 {
		t.Fatalf("sent %v", s.msgs)
	}
}

// TestUnsubscribe: a subscription not yet sent is just dropped; one sent
// is undone with UnsubscribePresence carrying its src, and its messages
// are no longer the Watcher's; neither comes back in the next session.
func TestUnsubscribe(t *testing.T) {
	t.Parallel()
	w, s := watching(t)
	dave := pbxapi.Target{SIP: "dave"}
	_ = w.SubscribePresence(dave)
	if err := w.UnsubscribePresence(dave); err != nil {
		t.Fatal(err)
	}
	if w.Pending() {
		t.Error("the dropped subscription is still pending")
	}
	if err := w.UnsubscribePresence(bob); err != nil {
		t.Fatal(err)
	}
	mustSync(t, w, s)
	if len(s.msgs) != 3 || s.msgs[2].Raw != `{"api":"PbxApi","mt":"UnsubscribePresence","sip":"bob","src":"pbxapi-p1"}` {
		t.Fatalf("sent %v", s.msgs)
	}
	expect(t, "bob's update after", w.Handle(msg(1, "PresenceUpdate", s.msgs[0].Src, `"presence":[]`)), "")
	if err := w.UnsubscribePresence(bob); !errors.Is(err, pbxapi.ErrNotSubscribed) {
		t.Errorf("again: %v", err)
	}
	if err := w.UnsubscribePresence(pbxapi.Target{}); !errors.Is(err, pbxapi.ErrNoTarget) {
		t.Errorf("empty target: %v", err)
	}
	if err := w.SubscribePresence(pbxapi.Target{}); !errors.Is(err, pbxapi.ErrNoTarget) {
		t.Errorf("subscribe empty target: %v", err)
	}
	w.Handle(appws.Disconnected{Session: 1})
	_ = w.UnsubscribePresence(carol) // between sessions: nothing to send
	w.Handle(appws.ConnectComplete{Session: 2})
	if w.Pending() {
		mustSync(t, w, s)
		t.Errorf("sent in session 2: %v", s.msgs[3:])
	}
	if subs := w.Subscriptions(); len(subs) != 0 {
		t.Errorf("subscriptions %v", subs)
	}
}

// TestUnsubscribeWhileItsSubscribeIsSent: an UnsubscribePresence made
// while Sync sends the SubscribePresence (Sync holds no lock while it
// sends) cannot take the message back, so it sends UnsubscribePresence.
func TestUnsubscribeWhileItsSubscribeIsSent(t *testing.T) {
	t.Parallel()
	w := pbxapi.New(pbxapi.Config{})
	_ = w.SubscribePresence(bob)
	w.Handle(appws.ConnectComplete{Session: 1})
	s := &recSender{}
	s.onSend = func() {
		s.onSend = nil
		if err := w.UnsubscribePresence(bob); err != nil {
			t.Error(err)
		}
	}
	mustSync(t, w, s)
	if got := s.srcs("UnsubscribePresence"); len(s.msgs) != 2 || len(got) != 1 || got[0] != s.msgs[0].Src {
		t.Fatalf("sent %v", s.msgs)
	}
	expect(t, "Synced: the removed subscription is owed nothing", w.Handle(msg(1, "UnsubscribePresenceResult", s.msgs[0].Src, "")), "synced")
}

// TestSubscribeTwiceChangesNothing: a second SubscribePresence of the
// same target is a no-op.
func TestSubscribeTwiceChangesNothing(t *testing.T) {
	t.Parallel()
	w, _ := watching(t)
	if err := w.SubscribePresence(bob); err != nil {
		t.Fatal(err)
	}
	if w.Pending() || len(w.Subscriptions()) != 2 {
		t.Errorf("pending %v, %d subscriptions", w.Pending(), len(w.Subscriptions()))
	}
}

// TestChangeJSON: json.Marshal(change) is the CLI's line, lowerCamel.
func TestChangeJSON(t *testing.T) {
	t.Parallel()
	w, s := watching(t)
	chs := w.Handle(msg(1, "PresenceUpdate", s.msgs[0].Src, `"presence":[{"contact":"tel:","activity":"","note":"in"}]`))
	b, err := json.Marshal(chs[0])
	if err != nil {
		t.Fatal(err)
	}
	want := `{"kind":"presenceChanged","session":1,"subscription":{"target":{"sip":"bob"},"up":false,"presence":[{"contact":"tel:","activity":"","note":"in"}]}}`
	if string(b) != want {
		t.Errorf("JSON\n got %s\nwant %s", b, want)
	}
}

// TestAccessorsFromOtherGoroutines: the accessors and the subscribing
// calls may run while the event loop handles events (run with -race).
func TestAccessorsFromOtherGoroutines(t *testing.T) {
	t.Parallel()
	w, s := watching(t)
	w.SubscribeProfile()
	mustSync(t, w, s)
	src := s.msgs[0].Src
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 50 {
				_ = w.Subscriptions()
				_, _ = w.Lookup(bob)
				_, _ = w.Profile()
				_ = w.Pending()
				tg := pbxapi.Target{SIP: "u" + string(rune('a'+i)), Num: string(rune('0' + j%10))}
				_ = w.SubscribePresence(tg)
				_ = w.UnsubscribePresence(tg)
			}
		})
	}
	for i := range 200 {
		act := []string{"away", "busy"}[i%2]
		if chs := w.Handle(msg(1, "PresenceUpdate", src, `"presence":[{"contact":"tel:","activity":"`+act+`"}]`)); len(chs) != 1 {
			t.Errorf("update %d: %s", i, summary(chs))
		}
		w.Handle(msg(1, "ProfileContactAdded", "", `"profile":{"id":1,"contact":{"id":`+string(rune('1'+i%9))+`}}`))
		_ = w.Sync(t.Context(), s)
	}
	wg.Wait()
	if subs := w.Subscriptions(); len(subs) != 2 {
		t.Errorf("subscriptions %d", len(subs))
	}
}

// TestPresenceUpdateWithoutPresence: a PresenceUpdate without "presence"
// is an empty list, reported the first time like any other.
func TestPresenceUpdateWithoutPresence(t *testing.T) {
	t.Parallel()
	w, s := watching(t)
	expect(t, "no presence", w.Handle(msg(1, "PresenceUpdate", s.msgs[0].Src, "")), `presenceChanged sip:bob 0:""`)
	expect(t, "an empty list: the same", w.Handle(msg(1, "PresenceUpdate", s.msgs[0].Src, `"presence":[]`)), "")
}
