package tableusers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/appwstest"
	"github.com/appwebsocket/appws/tableusers"
)

// The tests run the real client against the appwstest fake, in memory and
// inside a synctest bubble: time is fake, so a test that waits for
// something that never comes fails after a minute of fake time, at once.

// harness is a client replicating a fake table.
type harness struct {
	t    *testing.T
	srv  *appwstest.Server
	tbl  *appwstest.UsersTable
	c    *appws.Client
	r    *tableusers.Replicator
	ctx  context.Context
	errs []error // from Handle
}

func start(t *testing.T, tbl *appwstest.UsersTable, opts tableusers.Options) *harness {
	t.Helper()
	srv := appwstest.NewServer(appwstest.Config{
		Apps:     map[string]string{"app": "pw"},
		InMemory: true,
		Handler:  tbl.Handler(appwstest.Silent),
	})
	o := srv.ClientOptions()
	o.AutoReconnect = true
	o.MinBackoff, o.MaxBackoff = 100*time.Millisecond, time.Second
	c, err := appws.Dial(t.Context(), o)
	if err != nil {
		srv.Close()
		t.Fatal(err)
	}
	h := &harness{t: t, srv: srv, tbl: tbl, c: c, r: tableusers.New(c, opts), ctx: t.Context()}
	t.Cleanup(func() {
		c.Close()
		for range c.Events() {
		}
		srv.Close()
	})
	return h
}

// until feeds events to the replicator until stop says so, and returns the
// changes seen. step, if set, sees every event first.
func (h *harness) until(stop func(ev appws.Event, changes []tableusers.Change) bool) []tableusers.Change {
	h.t.Helper()
	var all []tableusers.Change
	timeout := time.After(time.Minute)
	for {
		var ev appws.Event
		select {
		case ev = <-h.c.Events():
		case <-timeout:
			h.t.Fatalf("no end after a minute; changes so far: %s", summary(all))
		}
		ch, err := h.r.Handle(h.ctx, ev)
		if err != nil {
			h.errs = append(h.errs, err)
		}
		all = append(all, ch...)
		switch ev.(type) {
		case appws.ConnectComplete, appws.Message:
			h.c.MessageComplete()
		case appws.Closed:
			h.t.Fatalf("client closed: %v", ev)
		}
		if stop(ev, all) {
			return all
		}
	}
}

// untilSynced runs until the next Synced change.
func (h *harness) untilSynced() []tableusers.Change {
	h.t.Helper()
	return h.until(func(_ appws.Event, ch []tableusers.Change) bool {
		return len(ch) > 0 && ch[len(ch)-1].Kind == tableusers.Synced
	})
}

// untilChanges runs until n changes came.
func (h *harness) untilChanges(n int) []tableusers.Change {
	h.t.Helper()
	return h.until(func(_ appws.Event, ch []tableusers.Change) bool { return len(ch) >= n })
}

func user(guid, cn string) appwstest.UserRow {
	return appwstest.UserRow{"guid": guid, "h323": strings.ToLower(cn), "cn": cn, "e164": "2" + guid, "hide": false}
}

func users(n int) []appwstest.UserRow {
	rows := make([]appwstest.UserRow, n)
	for i := range rows {
		rows[i] = user(fmt.Sprintf("g%02d", i), fmt.Sprintf("User%d", i))
	}
	return rows
}

// summary writes changes as "added g01, changed g02 ..." for comparison.
func summary(changes []tableusers.Change) string {
	var parts []string
	for _, c := range changes {
		if c.Kind == tableusers.Synced {
			parts = append(parts, "synced")
		} else {
			parts = append(parts, c.Kind.String()+" "+c.GUID)
		}
	}
	return strings.Join(parts, ", ")
}

// checkConverged fails unless the replica equals the fake's table.
func (h *harness) checkConverged() {
	h.t.Helper()
	snap := h.r.Snapshot()
	rows := h.tbl.Rows()
	for _, row := range rows { // the fake sends the requested columns only
		for c := range row {
			if !slices.Contains(tableusers.DefaultColumns, c) {
				delete(row, c)
			}
		}
	}
	if len(snap) != len(rows) {
		h.t.Fatalf("replica has %d users, the table %d", len(snap), len(rows))
	}
	for _, row := range rows {
		b, _ := json.Marshal(row)
		var want tableusers.User
		if err := json.Unmarshal(b, &want); err != nil {
			h.t.Fatal(err)
		}
		if got := snap[want.GUID]; !got.Equal(want) {
			h.t.Errorf("user %s: replica %+v, table %+v", want.GUID, got, want)
		}
	}
}

func count(msgs []appws.Message, mt string) int {
	n := 0
	for _, m := range msgs {
		if m.MT == mt {
			n++
		}
	}
	return n
}

func TestInitialReplicationReportsAddedThenSynced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, appwstest.NewUsersTable(users(3)...), tableusers.Options{})
		if h.r.Synced() {
			t.Fatal("synced before anything was replicated")
		}
		got := h.untilSynced()
		if s := summary(got); s != "added g00, added g01, added g02, synced" {
			t.Fatalf("changes: %s", s)
		}
		if got[1].New.CN != "User1" || got[1].New.E164 != "2g01" || got[1].Session != 1 {
			t.Errorf("added %+v", got[1])
		}
		if !h.r.Synced() || h.r.Len() != 3 {
			t.Fatalf("synced %v, len %d", h.r.Synced(), h.r.Len())
		}
		h.checkConverged()
		if u, ok := h.r.Lookup("g02"); !ok || u.H323 != "user2" {
			t.Errorf("Lookup g02: %+v %v", u, ok)
		}
		if _, ok := h.r.Available()["cn"]; !ok {
			t.Errorf("Available: %v", h.r.Available())
		}

		msgs := h.tbl.Received()
		if count(msgs, "ReplicateStart") != 1 || count(msgs, "ReplicateNext") != 4 {
			t.Errorf("received %d starts, %d nexts", count(msgs, "ReplicateStart"), count(msgs, "ReplicateNext"))
		}
		var startMsg struct {
			API, MT  string
			Add, Del *bool
			Columns  map[string]json.RawMessage
		}
		if err := json.Unmarshal(msgs[0].Raw, &startMsg); err != nil {
			t.Fatal(err)
		}
		if startMsg.API != "PbxTableUsers" || startMsg.MT != "ReplicateStart" || startMsg.Add == nil || *startMsg.Add ||
			startMsg.Del == nil || *startMsg.Del || startMsg.Columns["guid"] == nil || startMsg.Columns["cn"] == nil ||
			startMsg.Columns["pwd"] != nil {
			t.Errorf("ReplicateStart %s", msgs[0].Raw)
		}
	})
}

func TestLiveChangesAfterSync(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, appwstest.NewUsersTable(users(2)...), tableusers.Options{})
		h.untilSynced()

		if err := h.tbl.Add(user("g10", "New")); err != nil {
			t.Fatal(err)
		}
		changed := user("g00", "Renamed")
		changed["grps"] = []map[string]string{{"name": "sales"}}
		if err := h.tbl.Update(changed); err != nil {
			t.Fatal(err)
		}
		h.tbl.Remove("g01")
		got := h.untilChanges(3)
		if s := summary(got); s != "added g10, changed g00, removed g01" {
			t.Fatalf("changes: %s", s)
		}
		if got[1].Old.CN != "User0" || got[1].New.CN != "Renamed" {
			t.Errorf("changed: old %+v new %+v", got[1].Old, got[1].New)
		}
		if got[2].Old.CN != "User1" {
			t.Errorf("removed: old %+v", got[2].Old)
		}
		// grps was not asked for: the fake leaves it out, as the PBX does.
		if _, ok := got[1].New.Extra["grps"]; ok {
			t.Errorf("unrequested column: %+v", got[1].New.Extra)
		}

		// An update that changes nothing is no change.
		if err := h.tbl.Update(user("g10", "New")); err != nil {
			t.Fatal(err)
		}
		if err := h.tbl.Update(user("g10", "Newer")); err != nil {
			t.Fatal(err)
		}
		if s := summary(h.untilChanges(1)); s != "changed g10" {
			t.Fatalf("changes: %s", s)
		}
		h.checkConverged()
	})
}

func TestExtraColumnsKeptRaw(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		row := user("g00", "A")
		row["grps"] = []map[string]string{{"name": "sales", "mode": "active"}}
		row["future"] = 42
		h := start(t, appwstest.NewUsersTable(row), tableusers.Options{
			Columns: []string{"cn", "grps", "future"},
		})
		got := h.untilSynced()
		u := got[0].New
		if u.GUID != "g00" || u.CN != "A" || u.E164 != "" {
			t.Errorf("typed columns %+v", u)
		}
		if string(u.Extra["grps"]) != `[{"mode":"active","name":"sales"}]` || string(u.Extra["future"]) != "42" {
			t.Errorf("extra %q", u.Extra)
		}
	})
}

func TestPagesOfSeveralRows(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tbl := appwstest.NewUsersTable(users(10)...)
		tbl.SetPageSize(4)
		h := start(t, tbl, tableusers.Options{})
		if got := h.untilSynced(); len(got) != 11 {
			t.Fatalf("changes: %s", summary(got))
		}
		h.checkConverged()
		if n := count(tbl.Received(), "ReplicateNext"); n != 4 {
			t.Errorf("%d ReplicateNext for 10 rows in pages of 4", n)
		}
	})
}

func TestChangesWhilePaging(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, appwstest.NewUsersTable(users(6)...), tableusers.Options{})
		pages := 0
		got := h.until(func(ev appws.Event, ch []tableusers.Change) bool {
			if m, ok := ev.(appws.Message); ok && m.MT == "ReplicateNextResult" {
				if pages++; pages == 2 {
					// g00 and g01 are paged already, g05 not yet.
					_ = h.tbl.Update(user("g00", "Changed"))
					h.tbl.Remove("g05")
					_ = h.tbl.Add(user("g07", "Late"))
				}
			}
			return len(ch) > 0 && ch[len(ch)-1].Kind == tableusers.Synced
		})
		if s := summary(got); s != "added g00, added g01, added g02, added g03, added g04, added g07, synced" {
			t.Fatalf("changes: %s", s)
		}
		if got[0].New.CN != "Changed" {
			t.Errorf("g00: %+v", got[0].New)
		}
		h.checkConverged()
	})
}

// A drop in the middle of the first replication: the replica reports
// nothing until a replication completed, then exactly the table as it is.
func TestDropInMiddleOfInitialReplication(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tbl := appwstest.NewUsersTable(users(8)...)
		tbl.DropAfterPages(3)
		h := start(t, tbl, tableusers.Options{})
		got := h.until(func(ev appws.Event, _ []tableusers.Change) bool {
			_, ok := ev.(appws.Disconnected)
			return ok
		})
		if len(got) != 0 || h.r.Synced() || h.r.Len() != 0 {
			t.Fatalf("before the drop: %s, len %d", summary(got), h.r.Len())
		}
		// While disconnected: g01 (paged before the drop) is removed, g02
		// changed, g09 added.
		tbl.Remove("g01")
		_ = tbl.Update(user("g02", "Changed"))
		_ = tbl.Add(user("g09", "New"))

		got = h.untilSynced()
		if s := summary(got); s != "added g00, added g02, added g03, added g04, added g05, added g06, added g07, added g09, synced" {
			t.Fatalf("changes: %s", s)
		}
		if got[len(got)-1].Session != 2 || got[1].New.CN != "Changed" {
			t.Errorf("synced in session %d, g02 %+v", got[len(got)-1].Session, got[1].New)
		}
		h.checkConverged()
		if n := count(tbl.Received(), "ReplicateStart"); n != 2 {
			t.Errorf("%d ReplicateStart", n)
		}
	})
}

// After a reconnect the replica reports what changed while it was away,
// also when the new replication is itself cut off in the middle; until it
// completes, the table is the last complete one.
func TestReconnectReportsDifference(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tbl := appwstest.NewUsersTable(users(6)...)
		h := start(t, tbl, tableusers.Options{})
		h.untilSynced()
		before := h.r.Snapshot()

		tbl.DropAfterPages(2) // the next replication is cut off too
		h.srv.DropAll()
		h.until(func(ev appws.Event, _ []tableusers.Change) bool {
			_, ok := ev.(appws.Disconnected)
			return ok
		})
		_ = tbl.Update(user("g00", "Changed"))
		tbl.Remove("g03")
		_ = tbl.Add(user("g08", "New"))
		_ = tbl.Update(user("g04", "User4")) // the same as before: no change

		sessions := 0
		got := h.until(func(ev appws.Event, ch []tableusers.Change) bool {
			if _, ok := ev.(appws.ConnectComplete); ok {
				sessions++
			}
			if len(ch) == 0 && h.r.Len() != len(before) {
				t.Fatalf("table changed before the replication completed: %d users", h.r.Len())
			}
			return len(ch) > 0 && ch[len(ch)-1].Kind == tableusers.Synced
		})
		if s := summary(got); s != "changed g00, removed g03, added g08, synced" {
			t.Fatalf("changes: %s", s)
		}
		if sessions != 2 || got[0].Session != 3 {
			t.Errorf("%d sessions, synced in session %d", sessions, got[0].Session)
		}
		if got[0].Old.CN != "User0" || got[0].New.CN != "Changed" || got[1].Old.CN != "User3" {
			t.Errorf("old/new: %+v", got[:2])
		}
		h.checkConverged()

		// Live again.
		tbl.Remove("g08")
		if s := summary(h.untilChanges(1)); s != "removed g08" {
			t.Fatalf("changes: %s", s)
		}
	})
}

func TestOtherMessagesIgnored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, appwstest.NewUsersTable(users(1)...), tableusers.Options{})
		h.untilSynced()
		ss := h.srv.Sessions()[0]
		go func() {
			_ = ss.Send(map[string]any{"mt": "ReplicateAdd", "api": "PbxOther", "columns": map[string]string{"guid": "x"}})
			_ = ss.Send(map[string]any{"mt": "UserInfo", "api": "PbxTableUsers"})
			_ = ss.Send(map[string]any{"mt": "ReplicateAdd", "api": "PbxTableUsers", "columns": map[string]string{"guid": "y"}})
		}()
		if s := summary(h.untilChanges(1)); s != "added y" {
			t.Fatalf("changes: %s", s)
		}
		if _, ok := h.r.Lookup("x"); ok {
			t.Error("a message of another api changed the table")
		}
	})
}

func TestSrcFiltersOtherReplications(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, appwstest.NewUsersTable(users(1)...), tableusers.Options{Src: "dir"})
		h.untilSynced()
		if m := h.tbl.Received()[0]; m.Src != "dir" {
			t.Errorf("ReplicateStart src %q", m.Src)
		}
		ss := h.srv.Sessions()[0]
		go func() {
			_ = ss.Send(map[string]any{"mt": "ReplicateAdd", "api": "PbxTableUsers", "src": "other", "columns": map[string]string{"guid": "x"}})
			_ = h.tbl.Add(user("g05", "Mine"))
		}()
		if s := summary(h.untilChanges(1)); s != "added g05" {
			t.Fatalf("changes: %s", s)
		}
	})
}

// A row that does not decode is skipped with an error; the rest goes on.
func TestBadRowIsReported(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, appwstest.NewUsersTable(users(1)...), tableusers.Options{})
		h.untilSynced()
		ss := h.srv.Sessions()[0]
		go func() {
			_ = ss.Send(json.RawMessage(`{"mt":"ReplicateAdd","api":"PbxTableUsers","columns":{"guid":"b","cn":7}}`))
			_ = ss.Send(json.RawMessage(`{"mt":"ReplicateAdd","api":"PbxTableUsers","columns":{"guid":"c"}}`))
		}()
		if s := summary(h.untilChanges(1)); s != "added c" {
			t.Fatalf("changes: %s", s)
		}
		errs := h.errs
		if len(errs) != 1 || !strings.Contains(errs[0].Error(), `column "cn"`) {
			t.Errorf("errors %v", errs)
		}
	})
}

// failSender fails every Send.
type failSender struct{ n int }

func (f *failSender) Send(context.Context, any) (uint64, error) {
	f.n++
	return 0, appws.ErrNotConnected
}

func TestSendErrorWaitsForNextSession(t *testing.T) {
	f := &failSender{}
	r := tableusers.New(f, tableusers.Options{})
	ctx := context.Background()
	if _, err := r.Handle(ctx, appws.ConnectComplete{Session: 1}); err == nil {
		t.Fatal("no error")
	}
	// The session is abandoned: its messages are ignored.
	ch, err := r.Handle(ctx, appws.Message{Session: 1, API: "PbxTableUsers", MT: "ReplicateStartResult", Raw: json.RawMessage(`{}`)})
	if ch != nil || err != nil || f.n != 1 {
		t.Fatalf("%v %v, %d sends", ch, err, f.n)
	}
}

func TestUserJSON(t *testing.T) {
	in := `{"guid":"c9eb","h323":"user0","cn":"User0","dn":"U","apps-my":"a,b","config":"Config","node":"root","loc":"master",` +
		`"hide":true,"e164":"201","pseudo":"","h323-email":true,"apps":"x","fax":true,"emails":[{"email":"u@example.com"}],"t-cfpr":null}`
	var u tableusers.User
	if err := json.Unmarshal([]byte(in), &u); err != nil {
		t.Fatal(err)
	}
	want := tableusers.User{GUID: "c9eb", H323: "user0", CN: "User0", DN: "U", AppsMy: "a,b", Config: "Config", Node: "root",
		Loc: "master", Hide: true, E164: "201", H323Email: true, Apps: "x", Fax: true,
		Extra: map[string]json.RawMessage{"emails": json.RawMessage(`[{"email":"u@example.com"}]`), "t-cfpr": json.RawMessage(`null`)}}
	if !u.Equal(want) {
		t.Fatalf("decoded %+v", u)
	}
	out, err := json.Marshal(u)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(out); s != `{"guid":"c9eb","h323":"user0","cn":"User0","dn":"U","apps-my":"a,b","config":"Config","node":"root",`+
		`"loc":"master","hide":true,"e164":"201","h323-email":true,"apps":"x","fax":true,"emails":[{"email":"u@example.com"}],"t-cfpr":null}` {
		t.Errorf("encoded %s", s)
	}
	var back tableusers.User
	if err := json.Unmarshal(out, &back); err != nil || !back.Equal(u) {
		t.Errorf("round trip %+v %v", back, err)
	}
	if want.Extra["emails"] = json.RawMessage(`[]`); u.Equal(want) {
		t.Error("Equal ignores Extra")
	}
	if slices.Contains(tableusers.DefaultColumns, "pwd") {
		t.Error("DefaultColumns asks for the password")
	}
}

// A Replicator made after the session's ConnectComplete was handled starts
// with Start.
func TestStartForSessionAlreadyUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, appwstest.NewUsersTable(users(2)...), tableusers.Options{})
		if _, ok := (<-h.c.Events()).(appws.ConnectComplete); !ok {
			t.Fatal("first event is not ConnectComplete")
		}
		h.c.MessageComplete()
		if err := h.r.Start(h.ctx, h.c.Session()); err != nil {
			t.Fatal(err)
		}
		if s := summary(h.untilSynced()); s != "added g00, added g01, synced" {
			t.Fatalf("changes: %s", s)
		}
	})
}

// The table may be read from other goroutines while Handle changes it (run
// with -race).
func TestReadsFromOtherGoroutines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, appwstest.NewUsersTable(users(20)...), tableusers.Options{})
		done := make(chan struct{})
		read := make(chan int)
		go func() {
			n := 0
			for {
				select {
				case <-done:
					read <- n
					return
				default:
				}
				synced := h.r.Synced() // set with the table, under its lock
				if snap := h.r.Snapshot(); synced && len(snap) != 20 {
					t.Errorf("synced, but %d users", len(snap))
				}
				h.r.Lookup("g03")
				h.r.Len()
				n++
				runtime.Gosched()
			}
		}()
		h.untilSynced()
		_ = h.tbl.Update(user("g03", "Changed"))
		h.untilChanges(1)
		close(done)
		if n := <-read; n == 0 {
			t.Error("no reads")
		}
	})
}
