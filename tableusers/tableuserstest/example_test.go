package tableuserstest_test

import (
	"context"
	"fmt"
	"time"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/appwstest"
	"github.com/appwebsocket/appws/tableusers"
	"github.com/appwebsocket/appws/tableusers/tableuserstest"
)

// A test of code that replicates the users table: the Fake serves the
// table, the test changes it and drops the connection in the middle of a
// replication, and checks what the code under test sent.
func Example() {
	pbx := tableuserstest.New(
		tableuserstest.Row{"guid": "01", "cn": "Alice"},
		tableuserstest.Row{"guid": "02", "cn": "Bob"},
		tableuserstest.Row{"guid": "03", "cn": "Carol"},
	)
	pbx.DropAfterPages(2) // the first replication is cut off after two rows
	srv := appwstest.NewServer(appwstest.Config{Apps: map[string]string{"dir": "pw"}, Handler: pbx.Handler})
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	opts := srv.ClientOptions()
	opts.AutoReconnect, opts.MinBackoff, opts.MaxBackoff = true, 10*time.Millisecond, 50*time.Millisecond
	c, err := appws.Dial(ctx, opts)
	if err != nil {
		fmt.Println("dial:", err)
		return
	}
	defer c.Close()

	users := tableusers.New(tableusers.Config{Columns: []string{tableusers.ColCN}})
	for ev := range c.Events() {
		for _, ch := range users.Handle(ev) {
			if ch.GUID == "" { // Synced
				fmt.Println("session", ch.Session, ch.Kind)
			} else {
				fmt.Println("session", ch.Session, ch.Kind, ch.GUID)
			}
			if ch.Kind == tableusers.Synced {
				pbx.Del("02")
			}
			if ch.Kind == tableusers.Removed {
				c.Close()
			}
		}
		if _, ok := ev.(appws.Disconnected); ok {
			fmt.Println("disconnected")
		}
		_ = users.Sync(ctx, c)
		c.Handled(ev)
	}
	starts, _ := pbx.WaitFor(ctx, "ReplicateStart", 2)
	fmt.Println(len(starts), "ReplicateStart,", len(pbx.Received())-len(starts), "ReplicateNext")
	// Output:
	// disconnected
	// session 2 added 01
	// session 2 added 02
	// session 2 added 03
	// session 2 synced
	// session 2 removed 02
	// 2 ReplicateStart, 6 ReplicateNext
}
