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
)

// BenchmarkReplicate10k replicates a table of 10,000 users from the fake,
// in memory in one process, one row per ReplicateNextResult as the PBX
// sends them: each op is a whole initial replication (20,004 messages: ReplicateStart, 10,001 ReplicateNext and their results)
// through the real client. B/user is the heap the finished table holds
// per user; B/op and allocs/op count both ends, the fake included.
func BenchmarkReplicate10k(b *testing.B) {
	const n = 10_000
	rows := make([]appwstest.UserRow, n)
	for i := range rows {
		rows[i] = appwstest.UserRow{
			"guid": fmt.Sprintf("%032x", i), "h323": fmt.Sprintf("user%d", i), "cn": fmt.Sprintf("User %d", i),
			"dn": fmt.Sprintf("User %d", i), "e164": fmt.Sprint(1000 + i), "node": "root", "loc": "master",
			"hide": false, "config": "Config", "apps": "phone,users,softphone",
		}
	}
	srv := appwstest.NewServer(appwstest.Config{
		Apps:     map[string]string{"dir": "pw"},
		InMemory: true,
		Handler:  appwstest.NewUsersTable(rows...).Handler(appwstest.Silent),
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
	<-c.Events() // ConnectComplete
	c.MessageComplete()

	var retained uint64
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		r := tableusers.New(c, tableusers.Options{})
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		b.StartTimer()
		if err := r.Start(ctx, c.Session()); err != nil {
			b.Fatal(err)
		}
		for synced := false; !synced; {
			ev := <-c.Events()
			changes, err := r.Handle(ctx, ev)
			if err != nil {
				b.Fatal(err)
			}
			if _, ok := ev.(appws.Message); ok {
				c.MessageComplete()
			}
			synced = len(changes) > 0 && changes[len(changes)-1].Kind == tableusers.Synced
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
