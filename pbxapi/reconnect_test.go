package pbxapi_test

import (
	"testing"
	"testing/synctest"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/appwstest"
	"github.com/appwebsocket/appws/pbxapi"
	"github.com/appwebsocket/appws/pbxapi/pbxapitest"
)

// TestSubscriptionsOutliveAReconnect, against the fake with a real client
// (in a synctest bubble, so the backoff takes no time): the drop is
// reported (Lost), the subscriptions are made again in the new session
// with new srcs, and what changed while the connection was down (bob went
// away, a favourite was added) is reported, then Synced.
func TestSubscriptionsOutliveAReconnect(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		pbx := pbxapitest.New(
			pbxapitest.User{SIP: "bob", Num: "11", DN: "Bob", Presence: []pbxapi.Presence{{Contact: "tel:", Activity: "busy"}}},
			pbxapitest.User{SIP: "carol", Num: "12", DN: "Carol"})
		pbx.SetProfile("svc", pbxapi.Profile{ID: 1, Name: "Favs"})
		srv := appwstest.NewServer(appwstest.Config{Apps: map[string]string{"svc": "pw"}, InMemory: true, Handler: pbx.Handler})
		defer srv.Close()
		opts := srv.ClientOptions()
		opts.AutoReconnect = true
		c, err := appws.Dial(t.Context(), opts)
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			c.Close()
			for range c.Events() {
			}
		}()
		l := &live{t: t, pbx: pbx, srv: srv, c: c, w: pbxapi.New(pbxapi.Config{Profile: true})}
		_ = l.w.SubscribePresence(pbxapi.Target{SIP: "bob"})
		_ = l.w.SubscribePresence(pbxapi.Target{Num: "12"})
		// The fake answers in order: each subscription's Result, state and
		// presence, then the profile; Synced comes after the last Result.
		expect(t, "session 1", l.until(pbxapi.Synced), `stateChanged sip:bob up=true|presenceChanged sip:bob 1:"busy"|`+
			`stateChanged num:12 up=true|presenceChanged num:12 0:""|profileChanged 1 "Favs"|synced`)

		ss, err := srv.NextSession(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		ss.Drop()
		expect(t, "lost", l.until(pbxapi.StateChanged), "stateChanged sip:bob up=false lost|stateChanged num:12 up=false lost")

		// While the client is down: bob goes away, a favourite is added.
		if err := pbx.SetPresence("bob", pbxapi.Presence{Activity: "away"}); err != nil {
			t.Fatal(err)
		}
		pbx.AddContact("svc", pbxapi.NewContact{SIP: "carol", DN: "Carol"})

		// Only the difference: both monitors are up again, bob's presence
		// changed, carol's did not; the new favourite.
		expect(t, "session 2", l.until(pbxapi.Synced), `stateChanged sip:bob up=true|presenceChanged sip:bob 1:"away"|`+
			`stateChanged num:12 up=true|contactAdded #1 Carol|synced`)
		subs, _ := pbx.WaitFor(t.Context(), "SubscribePresence", 4)
		if subs[0].Src == subs[2].Src || subs[1].Src == subs[3].Src {
			t.Errorf("srcs reused in session 2: %s %s", subs[2].Raw, subs[3].Raw)
		}
	})
}
