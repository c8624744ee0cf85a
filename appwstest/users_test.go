package appwstest_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/appwebsocket/appws/appwstest"
)

func usersTable(n int) *appwstest.UsersTable {
	rows := make([]appwstest.UserRow, n)
	for i := range rows {
		// Added in reverse to show that paging goes by guid.
		rows[i] = appwstest.UserRow{"guid": fmt.Sprintf("g%d", n-1-i), "cn": fmt.Sprintf("User %d", n-1-i), "pwd": "secret"}
	}
	return appwstest.NewUsersTable(rows...)
}

func replicateStart(c *client, columns string) map[string]any {
	c.t.Helper()
	c.send(`{"api":"PbxTableUsers","mt":"ReplicateStart","add":false,"del":false,"columns":` + columns + `}`)
	r := c.read()
	if r["mt"] != "ReplicateStartResult" || r["api"] != "PbxTableUsers" {
		c.t.Fatalf("start: %v", r)
	}
	return r
}

func replicateNext(c *client) map[string]any {
	c.t.Helper()
	c.send(`{"api":"PbxTableUsers","mt":"ReplicateNext"}`)
	r := c.read()
	if r["mt"] != "ReplicateNextResult" || r["api"] != "PbxTableUsers" {
		c.t.Fatalf("next: %v", r)
	}
	return r
}

func TestUsersTablePagesRowsInGuidOrder(t *testing.T) {
	tbl := usersTable(3)
	srv := newServer(t, appwstest.Config{Handler: tbl.Handler(nil)})
	c, _ := loggedIn(t, srv)

	r := replicateStart(c, `{"guid":{},"cn":{},"dn":{}}`)
	if b, _ := json.Marshal(r["columns"]); string(b) != `{"cn":{"update":false},"guid":{"update":false}}` {
		t.Errorf("available columns %s (dn is in no row)", b)
	}
	for i := range 3 {
		r := replicateNext(c)
		cols, _ := r["columns"].(map[string]any)
		if cols["guid"] != fmt.Sprintf("g%d", i) || cols["cn"] != fmt.Sprintf("User %d", i) || len(cols) != 2 {
			t.Fatalf("row %d: %v (pwd was not asked for)", i, r)
		}
	}
	if r := replicateNext(c); r["columns"] != nil {
		t.Fatalf("after the last row: %v", r)
	}
	// Other messages go to the next handler, Echo here.
	c.send(`{"mt":"Hello"}`)
	if r := c.read(); r["mt"] != "HelloResult" {
		t.Fatalf("echo: %v", r)
	}
	msgs := tbl.Received()
	if len(msgs) != 5 || msgs[0].MT != "ReplicateStart" || msgs[4].MT != "ReplicateNext" {
		t.Errorf("received %v", msgs)
	}
}

func TestUsersTablePageSize(t *testing.T) {
	tbl := usersTable(5)
	tbl.SetPageSize(2)
	srv := newServer(t, appwstest.Config{Handler: tbl.Handler(nil)})
	c, _ := loggedIn(t, srv)
	replicateStart(c, `["guid","cn"]`) // the array form of Replication.htm
	var sizes []int
	for {
		r := replicateNext(c)
		rows, _ := r["columns"].([]any)
		if r["columns"] == nil {
			break
		}
		sizes = append(sizes, len(rows))
	}
	if fmt.Sprint(sizes) != "[2 2 1]" {
		t.Errorf("pages %v", sizes)
	}
}

func TestUsersTableLiveChangesGoToReplicatingSessions(t *testing.T) {
	tbl := usersTable(2)
	srv := newServer(t, appwstest.Config{Handler: tbl.Handler(nil)})
	a, _ := loggedIn(t, srv)
	b, _ := loggedIn(t, srv)
	replicateStart(a, `{"guid":{},"cn":{}}`)
	replicateNext(a) // g0; still paging

	if err := tbl.Add(appwstest.UserRow{"guid": "g9", "cn": "New", "e164": "9"}); err != nil {
		t.Fatal(err)
	}
	if err := tbl.Update(appwstest.UserRow{"guid": "g0", "cn": "Renamed"}); err != nil {
		t.Fatal(err)
	}
	if !tbl.Remove("g1") || tbl.Remove("g1") {
		t.Fatal("Remove")
	}
	for _, want := range []string{
		`{"api":"PbxTableUsers","columns":{"cn":"New","guid":"g9"},"mt":"ReplicateAdd"}`,
		`{"api":"PbxTableUsers","columns":{"cn":"Renamed","guid":"g0"},"mt":"ReplicateUpdate"}`,
		`{"api":"PbxTableUsers","columns":{"guid":"g1"},"mt":"ReplicateDel"}`,
	} {
		if got := string(a.readRaw()); got != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	}
	// Paging goes on behind the cursor: g1 is gone, g9 is new.
	if r := replicateNext(a); r["columns"].(map[string]any)["guid"] != "g9" {
		t.Errorf("next: %v", r)
	}
	// b never started a replication: it got nothing.
	b.send(`{"mt":"Ping"}`)
	if r := b.read(); r["mt"] != "PingResult" {
		t.Errorf("b: %v", r)
	}
	if n := tbl.Replicating(); n != 1 {
		t.Errorf("Replicating %d", n)
	}
	if rows := tbl.Rows(); len(rows) != 2 || rows[0]["cn"] != "Renamed" || rows[1]["guid"] != "g9" {
		t.Errorf("rows %v", rows)
	}
}

func TestUsersTableDropAfterPages(t *testing.T) {
	tbl := usersTable(5)
	tbl.DropAfterPages(2)
	srv := newServer(t, appwstest.Config{Handler: tbl.Handler(nil)})
	c, ss := loggedIn(t, srv)
	replicateStart(c, `{"guid":{}}`)
	replicateNext(c)
	replicateNext(c)
	if err := c.readErr(); err == nil {
		t.Fatal("no drop")
	}
	<-ss.Done()
	// Once only.
	c2, _ := loggedIn(t, srv)
	replicateStart(c2, `{"guid":{}}`)
	for range 6 {
		replicateNext(c2)
	}
}

func TestUsersTableRejectsRowWithoutGuid(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	appwstest.NewUsersTable(appwstest.UserRow{"cn": "x"})
}
