package tableusers_test

import (
	"context"
	"fmt"
	"time"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/appwstest"
	"github.com/appwebsocket/appws/tableusers"
)

// A directory service keeps the PBX's users in memory: the Replicator takes
// every event of the client, sends what the replication needs, and returns
// the changes. appwstest's UsersTable stands in for the PBX.
func Example() {
	pbx := appwstest.NewUsersTable(
		appwstest.UserRow{"guid": "01", "h323": "alice", "cn": "Alice", "e164": "201"},
		appwstest.UserRow{"guid": "02", "h323": "bob", "cn": "Bob", "e164": "202"},
	)
	srv := appwstest.NewServer(appwstest.Config{
		Apps:    map[string]string{"dir": "pw"},
		Handler: pbx.Handler(nil),
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

	users := tableusers.New(c, tableusers.Options{}) // the typed columns
	for ev := range c.Events() {
		changes, err := users.Handle(ctx, ev)
		if err != nil {
			fmt.Println("replication:", err)
		}
		for _, ch := range changes {
			switch ch.Kind {
			case tableusers.Added:
				fmt.Println("added", ch.New.CN, ch.New.E164)
			case tableusers.Changed:
				fmt.Println("changed", ch.Old.CN, "->", ch.New.CN)
				c.Close()
			case tableusers.Removed:
				fmt.Println("removed", ch.Old.CN)
			case tableusers.Synced:
				fmt.Println("synced:", users.Len(), "users")
				// Someone edits a user on the PBX.
				_ = pbx.Update(appwstest.UserRow{"guid": "02", "h323": "bob", "cn": "Robert", "e164": "202"})
			}
		}
		switch ev.(type) {
		case appws.ConnectComplete, appws.Message:
			c.MessageComplete() // Handle never does
		}
	}
	// Output:
	// added Alice 201
	// added Bob 202
	// synced: 2 users
	// changed Bob -> Robert
}

// After a reconnect the table is replicated again, and Handle reports what
// changed while the connection was down, not a reload.
func Example_reconnect() {
	pbx := appwstest.NewUsersTable(
		appwstest.UserRow{"guid": "01", "cn": "Alice"},
		appwstest.UserRow{"guid": "02", "cn": "Bob"},
	)
	srv := appwstest.NewServer(appwstest.Config{
		Apps:    map[string]string{"dir": "pw"},
		Handler: pbx.Handler(nil),
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

	users := tableusers.New(c, tableusers.Options{Columns: []string{"guid", "cn"}})
	for ev := range c.Events() {
		changes, _ := users.Handle(ctx, ev)
		for _, ch := range changes {
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
		switch ev.(type) {
		case appws.ConnectComplete, appws.Message:
			c.MessageComplete()
		case appws.Disconnected:
			// Meanwhile, on the PBX:
			pbx.Remove("02")
			_ = pbx.Add(appwstest.UserRow{"guid": "03", "cn": "Carol"})
			fmt.Println("disconnected; still", users.Len(), "users")
		}
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
