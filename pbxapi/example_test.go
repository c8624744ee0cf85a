package pbxapi_test

import (
	"context"
	"fmt"
	"time"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/appwstest"
	"github.com/appwebsocket/appws/pbxapi"
	"github.com/appwebsocket/appws/pbxapi/pbxapitest"
)

// dialFake starts an in-memory server with the fake PBX and logs in to it
// as alice. Against a real PBX: appws.Dial with the PBX's URL and an app
// object enabled for the PbxApi.
func dialFake(ctx context.Context, pbx *pbxapitest.Fake) (*appws.Client, func(), error) {
	srv := appwstest.NewServer(appwstest.Config{Apps: map[string]string{"svc": "pw"}, InMemory: true, Handler: pbx.Handler})
	opts := srv.ClientOptions()
	opts.SIP = "alice"
	c, err := appws.Dial(ctx, opts)
	if err != nil {
		srv.Close()
		return nil, nil, err
	}
	return c, func() {
		c.Close()
		for range c.Events() {
		}
		srv.Close()
	}, nil
}

// A service watches bob's presence: every event goes to the Watcher, its
// changes to the service, and Sync sends the subscriptions (again after
// every reconnect). The fake PBX plays bob going to lunch.
func Example() {
	pbx := pbxapitest.New(pbxapitest.User{SIP: "bob", Num: "11", DN: "Bob"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, done, err := dialFake(ctx, pbx)
	if err != nil {
		fmt.Println("dial:", err)
		return
	}
	defer done()

	w := pbxapi.New(pbxapi.Config{})
	_ = w.SubscribePresence(pbxapi.Target{SIP: "bob"})
	for ev := range c.Events() {
		for _, ch := range w.Handle(ev) {
			switch ch.Kind {
			case pbxapi.StateChanged:
				fmt.Println(ch.Kind, ch.Subscription.DN, "up", ch.Subscription.Up, "lost", ch.Lost)
			case pbxapi.PresenceChanged:
				p, _ := ch.Subscription.Current()
				fmt.Printf("%s %s %q %q\n", ch.Kind, ch.Subscription.DN, p.Activity, p.Note)
				if p.Activity == "away" {
					c.Close()
				}
			case pbxapi.Synced:
				fmt.Println(ch.Kind)
				_ = pbx.SetPresence("bob", pbxapi.Presence{Activity: "away", Note: "lunch"})
			}
		}
		if err := w.Sync(ctx, c); err != nil {
			fmt.Println("sync:", err) // sent again by the next Sync
		}
		c.Handled(ev)
	}
	// Output:
	// stateChanged Bob up true lost false
	// presenceChanged Bob "" ""
	// synced
	// presenceChanged Bob "away" "lunch"
	// stateChanged Bob up false lost true
}

// SetPresence sets the presence of a user (here alice's own); the
// subscriptions to her see it.
func ExampleSetPresence_Do() {
	pbx := pbxapitest.New(pbxapitest.User{SIP: "alice", Num: "10", DN: "Alice"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, done, err := dialFake(ctx, pbx)
	if err != nil {
		fmt.Println("dial:", err)
		return
	}
	defer done()

	w := pbxapi.New(pbxapi.Config{})
	_ = w.SubscribePresence(pbxapi.Target{SIP: "alice"})
	for ev := range c.Events() {
		for _, ch := range w.Handle(ev) {
			switch ch.Kind {
			case pbxapi.Synced:
				err := pbxapi.SetPresence{SIP: "alice", Activity: "busy", Note: "in a meeting"}.Do(ctx, c)
				fmt.Println("SetPresence:", err)
				err = pbxapi.SetPresence{SIP: "nobody", Activity: "away"}.Do(ctx, c)
				fmt.Println("SetPresence:", err)
			case pbxapi.PresenceChanged:
				if p, ok := ch.Subscription.Current(); ok {
					fmt.Println(ch.Subscription.DN, p.Contact, p.Activity, p.Note)
					c.Close()
				}
			}
		}
		_ = w.Sync(ctx, c)
		c.Handled(ev)
	}
	// Output:
	// SetPresence: <nil>
	// SetPresence: pbxapi: SetPresence: no such user
	// Alice tel: busy in a meeting
}

// GetNodeInfo returns the node of the logged-in user.
func ExampleGetNodeInfo_Do() {
	pbx := pbxapitest.New()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, done, err := dialFake(ctx, pbx)
	if err != nil {
		fmt.Println("dial:", err)
		return
	}
	defer done()

	for ev := range c.Events() {
		if _, ok := ev.(appws.ConnectComplete); ok {
			info, err := pbxapi.GetNodeInfo{}.Do(ctx, c)
			fmt.Printf("%+v %v\n", info, err)
			c.Close()
		}
		c.Handled(ev)
	}
	// Output:
	// {Name:master PrefixIntl:000 PrefixNtl:00 PrefixSubs: CountryCode:49 AreaCode:} <nil>
}

// profileLoop runs the event loop of a Watcher following alice's
// favourites: do runs once they are synced, and the loop ends after the
// change of kind last.
func profileLoop(ctx context.Context, c *appws.Client, last pbxapi.Kind, do func() error) {
	w := pbxapi.New(pbxapi.Config{Profile: true})
	for ev := range c.Events() {
		for _, ch := range w.Handle(ev) {
			switch ch.Kind {
			case pbxapi.Synced:
				if err := do(); err != nil {
					fmt.Println(err)
					c.Close()
				}
			case pbxapi.ContactAdded, pbxapi.ContactChanged, pbxapi.ContactRemoved:
				fmt.Println(ch.Kind, ch.Contact.ID, ch.Contact.Dsp, ch.Contact.Name)
				if ch.Kind == last {
					p, _ := w.Profile()
					fmt.Println("favourites:", len(p.Contacts))
					c.Close()
				}
			}
		}
		_ = w.Sync(ctx, c)
		c.Handled(ev)
	}
}

// AddProfileContact adds a favourite; the Watcher's profile table gets
// it from the PBX's ProfileContactAdded.
func ExampleAddProfileContact_Do() {
	pbx := pbxapitest.New(pbxapitest.User{SIP: "bob", Num: "11", DN: "Bob"})
	pbx.SetProfile("alice", pbxapi.Profile{ID: 1, Name: "Favourites"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, done, err := dialFake(ctx, pbx)
	if err != nil {
		fmt.Println("dial:", err)
		return
	}
	defer done()

	profileLoop(ctx, c, pbxapi.ContactAdded, func() error {
		return pbxapi.AddProfileContact{ProfileID: 1, Contact: pbxapi.NewContact{SIP: "bob", DN: "Bob"}}.Do(ctx, c)
	})
	// Output:
	// contactAdded 1 Bob bob
	// favourites: 1
}

// UpdateProfileContact changes a favourite; every field is sent.
func ExampleUpdateProfileContact_Do() {
	pbx := pbxapitest.New()
	pbx.SetProfile("alice", pbxapi.Profile{ID: 1, Contacts: []pbxapi.Contact{{ID: 7, Name: "bob", Dsp: "Bob"}}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, done, err := dialFake(ctx, pbx)
	if err != nil {
		fmt.Println("dial:", err)
		return
	}
	defer done()

	profileLoop(ctx, c, pbxapi.ContactChanged, func() error {
		return pbxapi.UpdateProfileContact{ProfileID: 1, Contact: pbxapi.Contact{ID: 7, Name: "bob", Dsp: "Robert"}}.Do(ctx, c)
	})
	// Output:
	// contactAdded 7 Bob bob
	// contactChanged 7 Robert bob
	// favourites: 1
}

// DelProfileContact deletes a favourite by its id.
func ExampleDelProfileContact_Do() {
	pbx := pbxapitest.New()
	pbx.SetProfile("alice", pbxapi.Profile{ID: 1, Contacts: []pbxapi.Contact{{ID: 7, Name: "bob", Dsp: "Bob"}}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, done, err := dialFake(ctx, pbx)
	if err != nil {
		fmt.Println("dial:", err)
		return
	}
	defer done()

	profileLoop(ctx, c, pbxapi.ContactRemoved, func() error {
		return pbxapi.DelProfileContact{ProfileID: 1, ContactID: 7}.Do(ctx, c)
	})
	// Output:
	// contactAdded 7 Bob bob
	// contactRemoved 7 Bob bob
	// favourites: 0
}
