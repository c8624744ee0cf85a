package tableusers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/appwstest"
	"github.com/appwebsocket/appws/tableusers"
	"github.com/appwebsocket/appws/tableusers/tableuserstest"
)

// A directory service keeps the PBX's users in memory. The Replicator
// takes every event of the client and returns the changes; Sync sends what
// the replication needs; Handled releases the next message. The loop is
// the one of README.md. tableuserstest's Fake stands in for the PBX; like
// the real one, it sends the user's pwd in ReplicateUpdate, unasked: the
// Replicator does not keep it.
func Example() {
	pbx := tableuserstest.New(
		tableuserstest.Row{"guid": "01", "h323": "alice", "cn": "Alice", "e164": "201", "pwd": "05a14fa93ec663b0"},
		tableuserstest.Row{"guid": "02", "h323": "bob", "cn": "Bob", "e164": "202", "pwd": "4deaf54277b1eb87"},
	)
	srv := appwstest.NewServer(appwstest.Config{
		Apps:    map[string]string{"dir": "pw"},
		Handler: pbx.Handler,
	})
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := appws.Dial(ctx, appws.Options{URL: srv.URL, App: "dir", Password: "pw", AutoReconnect: true})
	if err != nil {
		fmt.Println("dial:", err)
		return
	}
	defer c.Close()

	// The example's script: once synced, someone renames Bob on the PBX;
	// once that arrived, the example ends.
	script := func(ch tableusers.Change) {
		switch ch.Kind {
		case tableusers.Synced:
			_ = pbx.Update(tableuserstest.Row{"guid": "02", "h323": "bob", "cn": "Robert", "e164": "202", "pwd": "4deaf54277b1eb87"})
		case tableusers.Changed:
			c.Close()
		}
	}

	users := tableusers.New(tableusers.Config{}) // the typed columns; pwd is never replicated
	for ev := range c.Events() {
		for _, ch := range users.Handle(ev) { // nil for events of other APIs
			switch ch.Kind {
			case tableusers.Added:
				fmt.Println("added", ch.New.CN, ch.New.E164)
			case tableusers.Changed:
				fmt.Println("changed", ch.Old.CN, "->", ch.New.CN)
			case tableusers.Removed:
				fmt.Println("removed", ch.Old.CN)
			case tableusers.Synced: // the whole table is here, and live
				fmt.Println("synced:", users.Len(), "users")
			case tableusers.Invalid:
				fmt.Println("skipped:", ch.Err)
			}
			script(ch)
		}
		if err := users.Sync(ctx, c); err != nil { // sends ReplicateStart, ReplicateNext
			fmt.Println("sync:", err) // retried by the next Sync
		}
		c.Handled(ev)
	}

	u, _ := users.Lookup("02")
	b, _ := json.Marshal(u)
	fmt.Println(string(b))
	// Output:
	// added Alice 201
	// added Bob 202
	// synced: 2 users
	// changed Bob -> Robert
	// {"guid":"02","h323":"bob","cn":"Robert","e164":"202"}
}

// After a reconnect the table is replicated again, and Handle reports what
// changed while the connection was down, not a reload.
func Example_reconnect() {
	pbx := tableuserstest.New(
		tableuserstest.Row{"guid": "01", "cn": "Alice"},
		tableuserstest.Row{"guid": "02", "cn": "Bob"},
	)
	srv := appwstest.NewServer(appwstest.Config{
		Apps:    map[string]string{"dir": "pw"},
		Handler: pbx.Handler,
	})
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := appws.Dial(ctx, appws.Options{
		URL: srv.URL, App: "dir", Password: "pw", AutoReconnect: true,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
	})
	if err != nil {
		fmt.Println("dial:", err)
		return
	}
	defer c.Close()

	users := tableusers.New(tableusers.Config{Columns: []string{tableusers.ColCN}})
	for ev := range c.Events() {
		for _, ch := range users.Handle(ev) {
			switch ch.Kind {
			case tableusers.Added:
				fmt.Println("session", ch.Session, "added", ch.New.CN)
			case tableusers.Removed:
				fmt.Println("session", ch.Session, "removed", ch.Old.CN)
			case tableusers.Synced:
				fmt.Println("session", ch.Session, "synced:", users.Len(), "users")
				if ch.Session == 1 {
					srv.DropAll() // the network fails
				} else {
					c.Close()
				}
			}
		}
		if err := users.Sync(ctx, c); err != nil {
			fmt.Println("sync:", err)
		}
		if _, ok := ev.(appws.Disconnected); ok {
			// Meanwhile, on the PBX:
			pbx.Del("02")
			_ = pbx.Add(tableuserstest.Row{"guid": "03", "cn": "Carol"})
			fmt.Println("disconnected; still", users.Len(), "users")
		}
		c.Handled(ev)
	}
	// Output:
	// session 1 added Alice
	// session 1 added Bob
	// session 1 synced: 2 users
	// disconnected; still 2 users
	// session 2 removed Bob
	// session 2 added Carol
	// session 2 synced: 2 users
}
