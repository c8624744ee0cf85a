package tableusers_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/appwstest"
	"github.com/appwebsocket/appws/tableusers"
	"github.com/appwebsocket/appws/tableusers/tableuserstest"
)

// BenchmarkReplicate10k replicates a table of 10,000 users from the fake,
// in memory in one process, one row per ReplicateNextResult as the PBX
// sends them: each op is a whole initial replication (20,004 messages:
// ReplicateStart, 10,001 ReplicateNext and their results) through the real
// client, with the loop of the package (Handle, Sync, Handled). B/user is the heap the finished table holds
// per user; B/op and allocs/op count both ends, the fake included.
func BenchmarkReplicate10k(b *testing.B) {
	const n = 10_000
	rows := make([]tableuserstest.Row, n)
	for i := range rows {
		rows[i] = tableuserstest.Row{
			"guid": fmt.Sprintf("%032x", i), "h323": fmt.Sprintf("user%d", i), "cn": fmt.Sprintf("User %d", i),
			"dn": fmt.Sprintf("User %d", i), "e164": fmt.Sprint(1000 + i), "node": "root", "loc": "master",
			"hide": false, "config": "Config", "apps": "phone,users,softphone",
		}
	}
	srv := appwstest.NewServer(appwstest.Config{
		Apps:     map[string]string{"dir": "pw"},
		InMemory: true,
		Handler:  tableuserstest.New(rows...).Wrap(appwstest.Silent),
	})
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := appws.Dial(ctx, srv.ClientOptions())
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		c.Close()
		for range c.Events() {
		}
	}()
	c.Handled(<-c.Events()) // ConnectComplete

	var retained uint64
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		r := tableusers.New(tableusers.Config{})
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		b.StartTimer()
		var ev appws.Event = appws.ConnectComplete{Session: c.Session()} // starts r in the session up
		for {
			changes := r.Handle(ev)
			if err := r.Sync(ctx, c); err != nil {
				b.Fatal(err)
			}
			c.Handled(ev)
			if len(changes) > 0 && changes[len(changes)-1].Kind == tableusers.Synced {
				break
			}
			ev = <-c.Events()
		}
		if r.Len() != n {
			b.Fatalf("%d users", r.Len())
		}
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&after)
		retained += after.HeapAlloc - min(after.HeapAlloc, before.HeapAlloc)
		runtime.KeepAlive(r)
		b.StartTimer()
	}
	b.ReportMetric(float64(retained)/float64(b.N)/n, "B/user")
}
