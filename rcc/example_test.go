package rcc_test

import (
	"context"
	"fmt"
	"time"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/appwstest"
	"github.com/appwebsocket/appws/rcc"
	"github.com/appwebsocket/appws/rcc/rcctest"
)

// The loop of the package doc: every event goes to the Monitor, whose
// changes the loop acts on; Sync sends what the Monitor needs (Initialize,
// UserInitialize); Handled asks for the next message. The fake PBX of
// package rcctest plays the PBX, and the example scripts a call on it.
func Example() {
	pbx := rcctest.New(rcctest.User{GUID: "a1", CN: "alice", E164: "10"})
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

	m := rcc.New(rcc.Config{})
	var call int
	for ev := range c.Events() {
		for _, ch := range m.Handle(ev) {
			switch ch.Kind {
			case rcc.UserAdded:
				fmt.Println(ch.Kind, ch.User.CN, ch.User.E164)
			case rcc.Synced:
				fmt.Println(ch.Kind)
				// The fake PBX: a call comes in for alice.
				call, _ = pbx.StartCall("alice", rcctest.Party{E164: "200", DN: "Bob"}, true)
			case rcc.CallAdded, rcc.CallChanged:
				fmt.Println(ch.Kind, ch.User.CN, ch.Call.Direction, ch.Call.State, "peer", ch.Call.Peer.E164)
				switch ch.Call.State {
				case rcc.StateSetup:
					_ = pbx.SetCall(call, rcc.StateConnected) // alice answers
				case rcc.StateConnected:
					_ = pbx.EndCall(call) // Bob hangs up
				}
			case rcc.CallEnded:
				fmt.Println(ch.Kind, ch.User.CN, ch.Call.Msg)
				c.Close()
			}
		}
		if err := m.Sync(ctx, c); err != nil {
			fmt.Println("sync:", err) // sent again by the next Sync
		}
		c.Handled(ev)
	}
	// Output:
	// userAdded alice 10
	// synced
	// callAdded alice incoming setup peer 200
	// callChanged alice incoming connected peer 200
	// callEnded alice r-rel
}

// The operations are typed: Do sends one with Client.Request and decodes
// its Result. The user handle comes from the Monitor once the PBX answered
// its UserInitialize: Synced says every watched user has one.
func ExampleUserCall() {
	pbx := rcctest.New(rcctest.User{GUID: "a1", CN: "alice", E164: "10"})
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

	m := rcc.New(rcc.Config{})
	for ev := range c.Events() {
		for _, ch := range m.Handle(ev) {
			if ch.Kind != rcc.Synced {
				continue
			}
			h, _ := m.UserHandle("a1")
			call, err := rcc.UserCall{User: h, E164: "200"}.Do(ctx, c)
			fmt.Println("call", call, "error", err)
			sent, _ := pbx.WaitFor(ctx, "UserCall", 1)
			fmt.Println(string(sent[0].Raw))
			c.Close()
		}
		_ = m.Sync(ctx, c)
		c.Handled(ev)
	}
	// Output:
	// call 1 error <nil>
	// {"api":"RCC","mt":"UserCall","user":1,"e164":"200","src":"appws-1"}
}

// Calls mode: one Initialize with "calls":true, and every call of the PBX
// comes as CallAdd, CallUpdate and CallDel, without a UserInitialize per
// user. A CallUpdate carries no state: Call.Msg says what happened.
func Example_callsMode() {
	pbx := rcctest.New(rcctest.User{GUID: "a1", CN: "alice", E164: "10"})
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

	m := rcc.New(rcc.Config{Calls: true})
	var call int
	for ev := range c.Events() {
		for _, ch := range m.Handle(ev) {
			switch ch.Kind {
			case rcc.Synced:
				call, _ = pbx.StartCall("alice", rcctest.Party{E164: "200"}, false)
			case rcc.CallAdded, rcc.CallChanged:
				fmt.Printf("%s %s %s msg=%q remote=%q\n", ch.Kind, ch.User.CN, ch.Call.State, ch.Call.Msg, ch.Call.Remote.E164)
				switch ch.Call.Msg {
				case "":
					_ = pbx.SetCall(call, rcc.StateAlert) // a CallAdd: the peer's phone rings
				case "x-alert":
					_ = pbx.EndCall(call) // and hangs up
				}
			case rcc.CallEnded:
				fmt.Println(ch.Kind, ch.User.CN, ch.Call.Msg)
				c.Close()
			}
		}
		_ = m.Sync(ctx, c)
		c.Handled(ev)
	}
	sent, _ := pbx.WaitFor(ctx, "Initialize", 1)
	fmt.Println(string(sent[0].Raw), len(pbx.Received()), "message sent")
	// Output:
	// callAdded alice setup msg="" remote=""
	// callChanged alice setup msg="x-alert" remote="200"
	// callChanged alice setup msg="r-rel" remote="200"
	// callEnded alice r-rel
	// {"api":"RCC","mt":"Initialize","calls":true,"src":"rcc-init-1"} 1 message sent
}

// Dialable turns an international number into the digits the user's node
// dials, from the prefixes the PBX sent with UserInitializeResult.
func ExampleWatched_Dialable() {
	w := rcc.Watched{PrefixIntl: "000", PrefixNtl: "00", PrefixSubs: "0", Area: "7031", Country: "49"}
	for _, n := range []string{"+49 7031 730090", "+43 1 234567", "7031"} {
		d, err := w.Dialable(n)
		fmt.Printf("%q %q %v\n", n, d, err)
	}
	// Output:
	// "+49 7031 730090" "007031730090" <nil>
	// "+43 1 234567" "000431234567" <nil>
	// "7031" "" rcc: Dialable: not an international number starting with +
}
