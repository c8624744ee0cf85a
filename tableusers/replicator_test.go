package tableusers_test

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/appwstest"
	"github.com/appwebsocket/appws/tableusers"
	"github.com/appwebsocket/appws/tableusers/tableuserstest"
)

// These tests run the real client against the tableuserstest fake, in
// memory and inside a synctest bubble: time is fake, so a test that waits
// for something that never comes fails after a minute of fake time, at
// once.

// harness is a client replicating a fake table.
type harness struct {
	t        *testing.T
	srv      *appwstest.Server
	pbx      *tableuserstest.Fake
	c        *appws.Client
	r        *tableusers.Replicator
	syncErrs []error
}

func start(t *testing.T, pbx *tableuserstest.Fake, cfg tableusers.Config) *harness {
	t.Helper()
	srv := appwstest.NewServer(appwstest.Config{
		Apps:     map[string]string{"app": "pw"},
		InMemory: true,
		Handler:  pbx.Wrap(appwstest.Silent),
	})
	o := srv.ClientOptions()
	o.AutoReconnect = true
	o.MinBackoff, o.MaxBackoff = 100*time.Millisecond, time.Second
	c, err := appws.Dial(t.Context(), o)
	if err != nil {
		srv.Close()
		t.Fatal(err)
	}
	h := &harness{t: t, srv: srv, pbx: pbx, c: c, r: tableusers.New(cfg)}
	t.Cleanup(func() {
		c.Close()
		for range c.Events() {
		}
		srv.Close()
	})
	return h
}

// until runs the event loop of the shape (Handle, Sync, Handled) until stop
// says so, and returns the changes seen.
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
		all = append(all, h.r.Handle(ev)...)
		if err := h.r.Sync(h.t.Context(), h.c); err != nil {
			h.syncErrs = append(h.syncErrs, err)
		}
		h.c.Handled(ev)
		if _, ok := ev.(appws.Closed); ok {
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

func (h *harness) untilDisconnected() []tableusers.Change {
	h.t.Helper()
	return h.until(func(ev appws.Event, _ []tableusers.Change) bool {
		_, ok := ev.(appws.Disconnected)
		return ok
	})
}

func user(guid, cn string) tableuserstest.Row {
	return tableuserstest.Row{"guid": guid, "h323": strings.ToLower(cn), "cn": cn, "e164": "2" + guid, "hide": false,
		"pwd": "pw-of-" + guid, "grps": []map[string]string{{"name": "sales", "mode": "active"}}}
}

func users(n int) []tableuserstest.Row {
	rows := make([]tableuserstest.Row, n)
	for i := range rows {
		rows[i] = user(fmt.Sprintf("g%02d", i), fmt.Sprintf("User%d", i))
	}
	return rows
}

// checkConverged fails unless the replica holds the fake's table in the
// default columns: no pwd, no grps.
func (h *harness) checkConverged() {
	h.t.Helper()
	snap := h.r.Snapshot()
	rows := h.pbx.Rows()
	if len(snap) != len(rows) {
		h.t.Fatalf("replica has %d users, the table %d", len(snap), len(rows))
	}
	for _, row := range rows {
		guid := row["guid"].(string)
		want := tableusers.User{GUID: guid, H323: row["h323"].(string), CN: row["cn"].(string), E164: row["e164"].(string)}
		if got := snap[guid]; !got.Equal(want) {
			h.t.Errorf("user %s: replica %+v, want %+v", guid, got, want)
		}
	}
}

func TestInitialReplicationReportsAddedThenSynced(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		h := start(t, tableuserstest.New(users(3)...), tableusers.Config{})
		if h.r.Synced() {
			t.Fatal("synced before anything was replicated")
		}
		got := h.untilSynced()
		if s := summary(got); s != "added g00, added g01, added g02, synced" {
			t.Fatalf("changes: %s", s)
		}
		if got[1].New.CN != "User1" || got[1].New.E164 != "2g01" || got[1].Session != 1 || got[3].Session != 1 {
			t.Errorf("added %+v", got[1])
		}
		if !h.r.Synced() || h.r.Len() != 3 {
			t.Fatalf("synced %v, len %d", h.r.Synced(), h.r.Len())
		}
		h.checkConverged()
		if u, ok := h.r.Lookup("g02"); !ok || u.H323 != "user2" {
			t.Errorf("Lookup g02: %+v %v", u, ok)
		}
		if c, ok := h.r.Available()["cn"]; !ok || c.Update {
			t.Errorf("Available: %v", h.r.Available())
		}
		if len(h.syncErrs) != 0 || h.r.Pending() {
			t.Errorf("sync errors %v, pending %v", h.syncErrs, h.r.Pending())
		}
		msgs := h.pbx.Received()
		if count(msgs, "ReplicateStart") != 1 || count(msgs, "ReplicateNext") != 4 {
			t.Errorf("received %d starts, %d nexts", count(msgs, "ReplicateStart"), count(msgs, "ReplicateNext"))
		}
	})
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

// Bug 6, end to end: the fake, like the PBX, sends every column in
// ReplicateUpdate, pwd included; nothing the Replicator hands out has it.
func TestPwdFromThePBXIsNeverKept(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		h := start(t, tableuserstest.New(users(2)...), tableusers.Config{})
		all := h.untilSynced()
		changed := user("g01", "Renamed")
		if err := h.pbx.Update(changed); err != nil {
			t.Fatal(err)
		}
		all = append(all, h.untilChanges(1)...)
		if s := summary(all); s != "added g00, added g01, synced, changed g01" {
			t.Fatalf("changes %s", s)
		}
		b, _ := json.Marshal([]any{all, h.r.Snapshot()})
		if strings.Contains(string(b), "pw-of") || strings.Contains(string(b), "pwd") || strings.Contains(string(b), "sales") {
			t.Errorf("unasked columns kept: %s", b)
		}
		h.checkConverged()
	})
}

func TestLiveChangesAfterSync(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		h := start(t, tableuserstest.New(users(2)...), tableusers.Config{})
		h.untilSynced()

		if err := h.pbx.Add(user("g10", "New")); err != nil {
			t.Fatal(err)
		}
		if err := h.pbx.Update(user("g00", "Renamed")); err != nil {
			t.Fatal(err)
		}
		h.pbx.Del("g01")
		got := h.untilChanges(3)
		if s := summary(got); s != "added g10, changed g00, removed g01" {
			t.Fatalf("changes: %s", s)
		}
		if got[1].Old.CN != "User0" || got[1].New.CN != "Renamed" || got[2].Old.CN != "User1" {
			t.Errorf("old/new: %+v", got)
		}
		// An update that changes nothing is no change.
		if err := h.pbx.Update(user("g10", "New")); err != nil {
			t.Fatal(err)
		}
		if err := h.pbx.Update(user("g10", "Newer")); err != nil {
			t.Fatal(err)
		}
		if s := summary(h.untilChanges(1)); s != "changed g10" {
			t.Fatalf("changes: %s", s)
		}
		h.checkConverged()
	})
}

// Columns asked for beyond the typed ones are kept as received.
func TestExtraColumnsKeptRaw(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		row := user("g00", "A")
		row["future"] = 42
		h := start(t, tableuserstest.New(row), tableusers.Config{Columns: []string{"cn", "grps", "future"}})
		got := h.untilSynced()
		u := got[0].New
		if u.GUID != "g00" || u.CN != "A" || u.E164 != "" {
			t.Errorf("typed columns %+v", u)
		}
		if string(u.Extra["grps"]) != `[{"mode":"active","name":"sales"}]` || string(u.Extra["future"]) != "42" || len(u.Extra) != 2 {
			t.Errorf("extra %q", u.Extra)
		}
		if a := h.r.Available(); len(a) != 4 {
			t.Errorf("Available %v", a)
		}
	})
}

func TestChangesWhilePaging(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		h := start(t, tableuserstest.New(users(6)...), tableusers.Config{})
		pages := 0
		got := h.until(func(ev appws.Event, ch []tableusers.Change) bool {
			if m, ok := ev.(appws.Message); ok && m.MT == "ReplicateNextResult" {
				if pages++; pages == 2 {
					// g00 and g01 are paged already, g05 not yet.
					_ = h.pbx.Update(user("g00", "Changed"))
					h.pbx.Del("g05")
					_ = h.pbx.Add(user("g07", "Late"))
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
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		pbx := tableuserstest.New(users(8)...)
		pbx.DropAfterPages(3)
		h := start(t, pbx, tableusers.Config{})
		if got := h.untilDisconnected(); len(got) != 0 || h.r.Synced() || h.r.Len() != 0 || h.r.Pending() {
			t.Fatalf("before the drop: %s, len %d", summary(got), h.r.Len())
		}
		// While disconnected: g01 (paged before the drop) is removed, g02
		// changed, g09 added.
		pbx.Del("g01")
		_ = pbx.Update(user("g02", "Changed"))
		_ = pbx.Add(user("g09", "New"))

		got := h.untilSynced()
		if s := summary(got); s != "added g00, added g02, added g03, added g04, added g05, added g06, added g07, added g09, synced" {
			t.Fatalf("changes: %s", s)
		}
		if got[len(got)-1].Session != 2 || got[1].New.CN != "Changed" {
			t.Errorf("synced in session %d, g02 %+v", got[len(got)-1].Session, got[1].New)
		}
		h.checkConverged()
		if n := count(pbx.Received(), "ReplicateStart"); n != 2 {
			t.Errorf("%d ReplicateStart", n)
		}
	})
}

// After a reconnect the replica reports what changed while it was away,
// also when the new replication is itself cut off in the middle; until it
// completes, the table is the last complete one.
func TestReconnectReportsDifference(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		pbx := tableuserstest.New(users(6)...)
		h := start(t, pbx, tableusers.Config{})
		h.untilSynced()
		before := h.r.Snapshot()

		pbx.DropAfterPages(2) // the next replication is cut off too
		h.srv.DropAll()
		h.untilDisconnected()
		_ = pbx.Update(user("g00", "Changed"))
		pbx.Del("g03")
		_ = pbx.Add(user("g08", "New"))
		_ = pbx.Update(user("g04", "User4")) // the same as before: no change

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
		pbx.Del("g08")
		if s := summary(h.untilChanges(1)); s != "removed g08" {
			t.Fatalf("changes: %s", s)
		}
	})
}

// Messages of other APIs and other replications (src) are not this
// Replicator's; a message of the API that does not decode is Invalid.
func TestOtherMessagesEndToEnd(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		h := start(t, tableuserstest.New(users(1)...), tableusers.Config{Src: "dir"})
		h.untilSynced()
		if m := h.pbx.Received()[0]; m.Src != "dir" {
			t.Errorf("ReplicateStart src %q", m.Src)
		}
		ss := h.srv.Sessions()[0]
		go func() {
			_ = ss.Send(map[string]any{"mt": "ReplicateAdd", "api": "PbxOther", "columns": map[string]string{"guid": "x"}})
			_ = ss.Send(map[string]any{"mt": "ReplicateAdd", "api": "PbxTableUsers", "src": "other", "columns": map[string]string{"guid": "x"}})
			_ = ss.Send(json.RawMessage(`{"mt":"ReplicateAdd","api":"PbxTableUsers","columns":{"guid":"b","cn":7}}`))
			_ = h.pbx.Add(user("g05", "Mine"))
		}()
		got := h.untilChanges(2)
		if s := summary(got); s != "invalid b, added g05" || !strings.Contains(got[0].Err.Error(), `column "cn"`) {
			t.Fatalf("changes: %s %v", s, got[0].Err)
		}
		if _, ok := h.r.Lookup("x"); ok {
			t.Error("a message of another api or src changed the table")
		}
	})
}

// A Replicator made while a session is up starts with that session's
// ConnectComplete.
func TestStartForSessionAlreadyUp(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		h := start(t, tableuserstest.New(users(2)...), tableusers.Config{})
		ev := <-h.c.Events()
		if _, ok := ev.(appws.ConnectComplete); !ok {
			t.Fatal("first event is not ConnectComplete")
		}
		h.c.Handled(ev)
		h.r.Handle(appws.ConnectComplete{Session: h.c.Session()})
		if err := h.r.Sync(t.Context(), h.c); err != nil {
			t.Fatal(err)
		}
		if s := summary(h.untilSynced()); s != "added g00, added g01, synced" {
			t.Fatalf("changes: %s", s)
		}
	})
}

// The table may be read from other goroutines while the loop changes it
// (run with -race).
func TestReadsFromOtherGoroutines(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		h := start(t, tableuserstest.New(users(20)...), tableusers.Config{})
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
		_ = h.pbx.Update(user("g03", "Changed"))
		h.untilChanges(1)
		close(done)
		if n := <-read; n == 0 {
			t.Error("no reads")
		}
	})
}

// A PBX app object without TableUsers does not answer ReplicateStart: the
// Replicator waits (no timeout of its own), with nothing more to send.
func TestNoAnswerWithoutTableUsers(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv := appwstest.NewServer(appwstest.Config{Apps: map[string]string{"app": "pw"}, InMemory: true, Handler: appwstest.Silent})
		defer srv.Close()
		c, err := appws.Dial(t.Context(), srv.ClientOptions())
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			c.Close()
			for range c.Events() {
			}
		}()
		r := tableusers.New(tableusers.Config{})
		loop := func(ev appws.Event) {
			if got := r.Handle(ev); got != nil {
				t.Errorf("changes %v", got)
			}
			if err := r.Sync(t.Context(), c); err != nil {
				t.Error(err)
			}
			c.Handled(ev)
		}
		loop(<-c.Events()) // ConnectComplete: ReplicateStart sent
		ss, err := srv.NextSession(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ss.WaitReceived(t.Context(), 1); err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // everything that will happen has happened
		for more := true; more; {
			select {
			case ev := <-c.Events():
				if _, ok := ev.(appws.SendResult); !ok {
					t.Errorf("event %+v", ev)
				}
				loop(ev)
			default:
				more = false
			}
		}
		if r.Synced() || r.Pending() || r.Len() != 0 {
			t.Errorf("synced %v, pending %v, len %d", r.Synced(), r.Pending(), r.Len())
		}
	})
}
