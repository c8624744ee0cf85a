package rcc_test

import (
	"context"
	"fmt"
	"time"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/appwstest"
	"github.com/appwebsocket/appws/rcc"
)

// A service watches the calls of the PBX's users: every event goes to the
// Monitor, whose changes the loop acts on; Sync sends what the Monitor
// needs (Initialize, UserInitialize). appwstest's RCC fake plays the PBX,
// and the example scripts a call on it.
func Example() {
	pbx := appwstest.NewRCC(appwstest.RCCUser{GUID: "a1", CN: "alice", E164: "10"})
	srv := appwstest.NewServer(appwstest.Config{Apps: map[string]string{"svc": "pw"}, Handler: pbx.Handler})
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := appws.Dial(ctx, appws.Options{URL: srv.URL, App: "svc", Password: "pw"})
	if err != nil {
		fmt.Println("dial:", err)
		return
	}
	defer c.Close()

	m := rcc.NewMonitor(rcc.Config{})
	var call int
	for ev := range c.Events() {
		for _, ch := range m.Handle(ev) {
			switch ch.Kind {
			case rcc.UserAdded:
				fmt.Println("user", ch.User.CN, ch.User.E164)
			case rcc.UsersComplete:
				// The fake PBX: a call comes in for alice.
				_, _ = pbx.WaitFor(ctx, "UserInitialize", 1)
				call, _ = pbx.StartCall("alice", appwstest.RCCParty{E164: "200", DN: "Bob"}, true)
			case rcc.CallAdded, rcc.CallChanged:
				fmt.Println(ch.Kind, ch.User.CN, ch.Call.Direction, ch.Call.State, "peer", ch.Call.Peer.E164)
				switch ch.Call.State {
				case rcc.StateSetup:
					_ = pbx.SetCall(call, int(rcc.StateConnected)) // alice answers
				case rcc.StateConnected:
					_ = pbx.EndCall(call) // Bob hangs up
				}
			case rcc.CallEnded:
				fmt.Println(ch.Kind, ch.User.CN, ch.Call.Msg)
				c.Close()
			}
		}
		if m.Pending() {
			if err := m.Sync(ctx, c); err != nil {
				fmt.Println("sync:", err)
			}
		}
		switch ev.(type) {
		case appws.ConnectComplete, appws.Message:
			c.MessageComplete() // ready for the next message
		}
	}
	// Output:
	// user alice 10
	// callAdded alice incoming setup peer 200
	// callChanged alice incoming connected peer 200
	// callEnded alice r-rel
}

// The operations are typed: Do sends one with Client.Request and decodes
// its Result. The user handle comes from the Monitor once the PBX answered
// its UserInitialize.
func ExampleUserCall() {
	pbx := appwstest.NewRCC(appwstest.RCCUser{GUID: "a1", CN: "alice", E164: "10"})
	srv := appwstest.NewServer(appwstest.Config{Apps: map[string]string{"svc": "pw"}, Handler: pbx.Handler})
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := appws.Dial(ctx, appws.Options{URL: srv.URL, App: "svc", Password: "pw"})
	if err != nil {
		fmt.Println("dial:", err)
		return
	}
	defer func() {
		c.Close()
		for range c.Events() {
		}
	}()

	m := rcc.NewMonitor(rcc.Config{})
	for ev := range c.Events() {
		m.Handle(ev)
		_ = m.Sync(ctx, c)
		c.MessageComplete()
		if h, ok := m.UserHandle("a1"); ok {
			call, err := rcc.UserCall{User: h, E164: "200"}.Do(ctx, c)
			fmt.Println("call", call, "error", err)
			sent, _ := pbx.WaitFor(ctx, "UserCall", 1)
			fmt.Println(string(sent[0].Raw))
			break
		}
	}
	// Output:
	// call 1 error <nil>
	// {"api":"RCC","mt":"UserCall","user":1,"e164":"200","src":"appws-1"}
}
