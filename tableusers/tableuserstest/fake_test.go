package tableuserstest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/appwstest"
	"github.com/appwebsocket/appws/tableusers/tableuserstest"
)

// The tests speak the protocol to the fake by hand, with a real client in
// memory inside a synctest bubble.

type conn struct {
	t   *testing.T
	srv *appwstest.Server
	c   *appws.Client
}

func dial(t *testing.T, handler func(*appwstest.Session, appws.Message)) *conn {
	t.Helper()
	srv := appwstest.NewServer(appwstest.Config{Apps: map[string]string{"app": "pw"}, InMemory: true, Handler: handler})
	c, err := appws.Dial(t.Context(), srv.ClientOptions())
	if err != nil {
		srv.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		for range c.Events() {
		}
		srv.Close()
	})
	x := &conn{t: t, srv: srv, c: c}
	x.next() // ConnectComplete
	return x
}

func (x *conn) next() appws.Event {
	x.t.Helper()
	select {
	case ev := <-x.c.Events():
		x.c.Handled(ev)
		return ev
	case <-time.After(time.Minute):
		x.t.Fatal("no event")
		return nil
	}
}

func (x *conn) send(raw string) {
	x.t.Helper()
	if _, err := x.c.Send(x.t.Context(), json.RawMessage(raw)); err != nil {
		x.t.Fatal(err)
	}
}

// read returns the next message as its raw text, keys sorted.
func (x *conn) read() string {
	x.t.Helper()
	for {
		switch ev := x.next().(type) {
		case appws.Message:
			var v any
			if err := json.Unmarshal(ev.Raw, &v); err != nil {
				x.t.Fatal(err)
			}
			b, _ := json.Marshal(v)
			return string(b)
		case appws.Disconnected, appws.Closed:
			x.t.Fatalf("ended: %+v", ev)
		}
	}
}

func (x *conn) expect(want string) {
	x.t.Helper()
	if got := x.read(); got != want {
		x.t.Errorf("got  %s\nwant %s", got, want)
	}
}

func table(n int) *tableuserstest.Fake {
	rows := make([]tableuserstest.Row, n)
	for i := range rows {
		// Added in reverse to show that paging goes by guid.
		g := fmt.Sprintf("g%d", n-1-i)
		rows[i] = tableuserstest.Row{"guid": g, "cn": "User " + g, "pwd": "pw-" + g, "x-custom": i}
	}
	return tableuserstest.New(rows...)
}

const start = `{"api":"PbxTableUsers","mt":"ReplicateStart","add":false,"del":false,"columns":{"guid":{},"cn":{},"dn":{},"x-custom":{},"bogus":{}}}`
const next = `{"api":"PbxTableUsers","mt":"ReplicateNext"}`

// ReplicateStartResult names the columns asked for that the fake
// publishes; each ReplicateNextResult carries one row, as one object with
// the columns asked for; the end carries no columns; a ReplicateNext after
// it is not answered.
func TestPagesOneRowAtATimeInGuidOrder(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		pbx := table(3)
		x := dial(t, pbx.Handler)
		x.send(start)
		x.expect(`{"api":"PbxTableUsers","columns":{"cn":{"update":false},"dn":{"update":false},"guid":{"update":false},"x-custom":{"update":false}},"mt":"ReplicateStartResult"}`)
		for i := range 3 {
			x.send(next)
			x.expect(fmt.Sprintf(`{"api":"PbxTableUsers","columns":{"cn":"User g%d","guid":"g%d","x-custom":%d},"mt":"ReplicateNextResult"}`, i, i, 2-i))
		}
		x.send(next)
		x.expect(`{"api":"PbxTableUsers","mt":"ReplicateNextResult"}`)
		x.send(next)
		x.send(`{"mt":"Hello"}`) // other APIs: Echo
		if got := x.read(); !strings.Contains(got, `"mt":"HelloResult"`) {
			t.Errorf("after the end: %s", got)
		}
		msgs, err := pbx.WaitFor(t.Context(), "ReplicateNext", 5)
		if err != nil || len(pbx.Received()) != 6 || msgs[0].Session != x.srv.Sessions()[0].ID() {
			t.Errorf("received %v %v", pbx.Received(), err)
		}
	})
}

// Add sends the columns asked for, Update every column of the row (pwd
// included, as PbxTableUsers.htm's example), Del the guid; all go to the
// sessions replicating, paging or not, with the src of their
// ReplicateStart, and paging goes on behind the cursor.
func TestChangesGoToReplicatingSessions(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		pbx := table(2)
		a := dial(t, pbx.Handler)
		b := dial(t, pbx.Handler)
		a.send(strings.Replace(start, `"add"`, `"src":"s1","add"`, 1))
		a.read()
		a.send(next) // g0; still paging
		a.read()

		if err := pbx.Add(tableuserstest.Row{"guid": "g9", "cn": "New", "e164": "9", "pwd": "x"}); err != nil {
			t.Fatal(err)
		}
		if err := pbx.Update(tableuserstest.Row{"guid": "g0", "cn": "Renamed", "pwd": "secret", "grps": []string{"a"}}); err != nil {
			t.Fatal(err)
		}
		if !pbx.Del("g1") || pbx.Del("g1") {
			t.Fatal("Del")
		}
		a.expect(`{"api":"PbxTableUsers","columns":{"cn":"New","guid":"g9"},"mt":"ReplicateAdd","src":"s1"}`)
		a.expect(`{"api":"PbxTableUsers","columns":{"cn":"Renamed","grps":["a"],"guid":"g0","pwd":"secret"},"mt":"ReplicateUpdate","src":"s1"}`)
		a.expect(`{"api":"PbxTableUsers","columns":{"guid":"g1"},"mt":"ReplicateDel","src":"s1"}`)
		// Paging goes on behind the cursor: g1 is gone, g9 is new.
		a.send(next)
		a.expect(`{"api":"PbxTableUsers","columns":{"cn":"New","guid":"g9"},"mt":"ReplicateNextResult","src":"s1"}`)
		// b never started a replication: it got nothing.
		b.send(`{"mt":"Ping"}`)
		if got := b.read(); !strings.Contains(got, "PingResult") {
			t.Errorf("b: %s", got)
		}
		if n := pbx.Replicating(); n != 1 {
			t.Errorf("Replicating %d", n)
		}
		if rows := pbx.Rows(); len(rows) != 2 || rows[0]["cn"] != "Renamed" || rows[1]["guid"] != "g9" {
			t.Errorf("rows %v", rows)
		}
	})
}

func TestDropAfterPagesOnce(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		pbx := table(5)
		pbx.DropAfterPages(2)
		x := dial(t, pbx.Handler)
		x.send(start)
		x.read()
		x.send(next)
		x.read()
		x.send(next)
		x.read()
		for {
			if _, ok := x.next().(appws.Closed); ok {
				break
			}
		}
		y := dial(t, pbx.Handler)
		y.send(start)
		y.read()
		for range 6 {
			y.send(next)
			y.read()
		}
		if n := pbx.Replicating(); n != 1 {
			t.Errorf("Replicating %d", n)
		}
	})
}

// Wrap passes other APIs to the handler given; a ReplicateStart whose
// columns is not the Columns object, and a ReplicateNext without a
// ReplicateStart, are recorded and not answered.
func TestWrapAndUnansweredMessages(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		pbx := table(1)
		x := dial(t, pbx.Wrap(appwstest.Silent))
		x.send(next)
		x.send(`{"api":"PbxTableUsers","mt":"ReplicateStart","columns":["guid","cn"]}`)
		x.send(`{"mt":"Hello"}`)
		x.send(start)
		if got := x.read(); !strings.Contains(got, "ReplicateStartResult") {
			t.Errorf("got %s", got)
		}
		if got := pbx.Received(); len(got) != 3 || got[0].MT != "ReplicateNext" {
			t.Errorf("received %v", got)
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if _, err := pbx.WaitFor(ctx, "ReplicateNext", 2); err == nil {
			t.Error("WaitFor: no error")
		}
	})
}

func TestRowsNeedAGuid(t *testing.T) {
	t.Parallel()
	pbx := tableuserstest.New()
	for _, row := range []tableuserstest.Row{{"cn": "x"}, {"guid": ""}, {"guid": 1}, {"guid": "a", "bad": make(chan int)}} {
		if err := pbx.Add(row); err == nil {
			t.Errorf("Add %v: no error", row)
		}
		if err := pbx.Update(row); err == nil {
			t.Errorf("Update %v: no error", row)
		}
	}
	if len(pbx.Rows()) != 0 {
		t.Errorf("rows %v", pbx.Rows())
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "guid") {
			t.Errorf("New: %v", r)
		}
	}()
	tableuserstest.New(tableuserstest.Row{"cn": "x"})
}
