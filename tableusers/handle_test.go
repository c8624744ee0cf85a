package tableusers_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/tableusers"
)

// These tests feed a Replicator hand-made events and record what its Sync
// sends: the protocol of the pages, message by message, without a network.

// pbxMsg is a message of the API as the client delivers it: columns is the
// raw "columns" value, "" for none.
func pbxMsg(session uint64, mt, columns string) appws.Message {
	raw := `{"api":"PbxTableUsers","mt":"` + mt + `"`
	if columns != "" {
		raw += `,"columns":` + columns
	}
	return appws.Message{Session: session, MT: mt, API: "PbxTableUsers", Raw: json.RawMessage(raw + "}")}
}

// recorder is an appws.Sender that records what it sent, and fails while
// fail is set.
type recorder struct {
	mu   sync.Mutex
	sent []map[string]any
	fail error
	// during, if set, runs inside Send.
	during func()
}

func (s *recorder) Send(_ context.Context, msg any) (uint64, error) {
	if s.during != nil {
		s.during()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return 0, s.fail
	}
	raw, ok := msg.(json.RawMessage)
	if !ok {
		return 0, fmt.Errorf("sent a %T", msg)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return 0, err
	}
	s.sent = append(s.sent, m)
	return uint64(len(s.sent)), nil
}

// mts returns the mt of every message sent, and forgets them.
func (s *recorder) mts() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, m := range s.sent {
		out = append(out, m["mt"].(string))
	}
	s.sent = nil
	return out
}

// feed hands r one event, syncs, and returns the changes.
func feed(t *testing.T, r *tableusers.Replicator, s *recorder, ev appws.Event) []tableusers.Change {
	t.Helper()
	ch := r.Handle(ev)
	if err := r.Sync(context.Background(), s); err != nil && s.fail == nil {
		t.Fatalf("Sync: %v", err)
	}
	return ch
}

// replicate runs a whole initial replication of rows in session and
// returns its changes.
func replicate(t *testing.T, r *tableusers.Replicator, s *recorder, session uint64, rows ...string) []tableusers.Change {
	t.Helper()
	feed(t, r, s, appws.ConnectComplete{Session: session})
	feed(t, r, s, pbxMsg(session, "ReplicateStartResult", `{"guid":{},"cn":{}}`))
	for _, row := range rows {
		if ch := feed(t, r, s, pbxMsg(session, "ReplicateNextResult", row)); ch != nil {
			t.Fatalf("changes while paging: %s", summary(ch))
		}
	}
	ch := feed(t, r, s, pbxMsg(session, "ReplicateNextResult", ""))
	if mts := s.mts(); len(mts) != len(rows)+2 || mts[0] != "ReplicateStart" {
		t.Fatalf("sent %v", mts)
	}
	return ch
}

// summary writes changes as "added g01, changed g02, ..." for comparison.
func summary(changes []tableusers.Change) string {
	var parts []string
	for _, c := range changes {
		if c.GUID == "" {
			parts = append(parts, c.Kind.String())
		} else {
			parts = append(parts, c.Kind.String()+" "+c.GUID)
		}
	}
	return strings.Join(parts, ", ")
}

// updateExample is PbxTableUsers.htm's example of ReplicateUpdate (13r1
// SDK build 132940), as the PBX sends it: every column of the user, pwd
// included, whatever the replicator asked for.
const updateExample = `{"mt":"ReplicateUpdate","api":"PbxTableUsers","columns":{
	"guid":"c9ebcc5914bd5e01c8020090334106ee","h323":"user0",
	"pwd":"05a14fa93ec663b04deaf54277b1eb874612793587f0b287",
	"cn":"User0","apps-my":"apps,usersadmin,profile,phone,users,users2,softphone,devices,pbxmanager",
	"config":"Config","node":"root","loc":"master","hide":false,"e164":"201",
	"emails":[{"email":"user0@example.com"}],
	"allows":[{"name":"@test1.com","presence":true,"visible":true},{"name":"@test2.com","presence":true,"visible":true}],
	"t-allows":[{"name":"@test1.com","online":true,"presence":true,"visible":true}],
	"grps":[{"name":"group1","mode":"active","dyn":"in"}],
	"devices":[{"hw":"Swphone_user0","text":"softphone","app":"softphone","tls":true,"sreg":true}],
	"cds":[{"type":"cfnr","bool":"booltest","e164":"203"},{"type":"cfb","h323":"test","src":"<src type=\"do\"><ep ext=\"false\" fwd=\"fwd\" /></src>"}],
	"forks":[{"e164":"9999","bool":"booltest","bool-not":true,"mobility":"Mobility","delay":30,"hw":"Smartphone","app":"rcc","cw":true,"min":1,"max":10}]}}`

const examplePwd = "05a14fa93ec663b04deaf54277b1eb874612793587f0b287"

// Bug 6: the PBX sends pwd (and every other column) in ReplicateUpdate
// unasked; a column not asked for is not kept, and pwd never.
func TestUnaskedColumnsAreNotKept(t *testing.T) {
	t.Parallel()
	for _, cfg := range []tableusers.Config{{}, {Columns: []string{"cn", "grps"}}} {
		r, s := tableusers.New(cfg), &recorder{}
		replicate(t, r, s, 1, `{"guid":"c9ebcc5914bd5e01c8020090334106ee","cn":"Old"}`)
		m := appws.Message{Session: 1, MT: "ReplicateUpdate", API: "PbxTableUsers", Raw: json.RawMessage(updateExample)}
		changes := feed(t, r, s, m)
		if summary(changes) != "changed c9ebcc5914bd5e01c8020090334106ee" {
			t.Fatalf("%v: changes %s", cfg.Columns, summary(changes))
		}
		u, _ := r.Lookup("c9ebcc5914bd5e01c8020090334106ee")
		var wantExtra []string
		if cfg.Columns != nil {
			wantExtra = []string{"grps"}
		}
		var extra []string
		for k := range u.Extra {
			extra = append(extra, k)
		}
		if u.CN != "User0" || !slices.Equal(extra, wantExtra) {
			t.Errorf("%v: kept %+v", cfg.Columns, u)
		}
		if cfg.Columns == nil && (u.H323 != "user0" || u.E164 != "201" || u.AppsMy == "") {
			t.Errorf("typed columns %+v", u)
		}
		all, _ := json.Marshal([]any{r.Snapshot(), changes})
		if strings.Contains(string(all), examplePwd) || strings.Contains(string(all), "pwd") {
			t.Errorf("%v: pwd kept: %s", cfg.Columns, all)
		}
	}
}

// Unasked columns are not kept from pages and ReplicateAdd either.
func TestUnaskedColumnsNotKeptFromPagesAndAdds(t *testing.T) {
	t.Parallel()
	r, s := tableusers.New(tableusers.Config{Columns: []string{"cn"}}), &recorder{}
	replicate(t, r, s, 1, `{"guid":"a","cn":"A","pwd":"secret1","e164":"1","future":[1]}`)
	feed(t, r, s, pbxMsg(1, "ReplicateAdd", `{"guid":"b","cn":"B","pwd":"secret2","hide":true}`))
	for guid, u := range r.Snapshot() {
		if u.Extra != nil || u.E164 != "" || u.Hide {
			t.Errorf("%s: kept %+v", guid, u)
		}
	}
}

// pwd may not be asked for: the Config is invalid, Sync says so and sends
// nothing, and the ReplicateStart never names it.
func TestPwdMayNotBeAskedFor(t *testing.T) {
	t.Parallel()
	cfg := tableusers.Config{Columns: []string{"cn", "pwd"}}
	if err := cfg.Validate(); !errors.Is(err, tableusers.ErrSecretColumn) {
		t.Fatalf("Validate: %v", err)
	}
	if err := (tableusers.Config{Columns: []string{"cn", ""}}).Validate(); err == nil {
		t.Error("an empty column name is valid")
	}
	if err := (tableusers.Config{}).Validate(); err != nil {
		t.Errorf("the zero Config: %v", err)
	}
	r, s := tableusers.New(cfg), &recorder{}
	r.Handle(appws.ConnectComplete{Session: 1})
	if err := r.Sync(context.Background(), s); !errors.Is(err, tableusers.ErrSecretColumn) {
		t.Errorf("Sync: %v", err)
	}
	if len(s.sent) != 0 {
		t.Errorf("sent %v", s.sent)
	}
	if slices.Contains(tableusers.DefaultColumns, "pwd") {
		t.Error("DefaultColumns asks for pwd")
	}
}

// ReplicateStart (Replication.htm): api, mt, add and del false (the
// Replicator only reads), the columns asked for as the Columns object,
// guid always; pseudo as the Replicator tutorial sends it; src when set.
func TestReplicateStartMessage(t *testing.T) {
	t.Parallel()
	r, s := tableusers.New(tableusers.Config{
		Columns: []string{"cn", "grps", "cn"}, Pseudo: []string{"", "executive"}, Src: "dir",
	}), &recorder{}
	feed(t, r, s, appws.ConnectComplete{Session: 1})
	if len(s.sent) != 1 {
		t.Fatalf("sent %v", s.sent)
	}
	got, _ := json.Marshal(s.sent[0])
	want := `{"add":false,"api":"PbxTableUsers","columns":{"cn":{},"grps":{},"guid":{}},"del":false,` +
		`"mt":"ReplicateStart","pseudo":["","executive"],"src":"dir"}`
	if string(got) != want {
		t.Errorf("ReplicateStart\n got %s\nwant %s", got, want)
	}
	feed(t, r, s, pbxMsg(1, "ReplicateStartResult", `{}`))
	if got, _ := json.Marshal(s.sent[1]); string(got) != `{"api":"PbxTableUsers","mt":"ReplicateNext","src":"dir"}` {
		t.Errorf("ReplicateNext %s", got)
	}

	// Defaults: the typed columns, no pseudo, no src.
	r, s = tableusers.New(tableusers.Config{}), &recorder{}
	feed(t, r, s, appws.ConnectComplete{Session: 1})
	cols := s.sent[0]["columns"].(map[string]any)
	if len(cols) != len(tableusers.DefaultColumns) || s.sent[0]["pseudo"] != nil || s.sent[0]["src"] != nil {
		t.Errorf("ReplicateStart %v", s.sent[0])
	}
}

// The end of the initial replication is undocumented: a
// ReplicateNextResult without a row (no columns, null, {} or []) ends it.
func TestEndOfInitialReplication(t *testing.T) {
	t.Parallel()
	for _, end := range []string{"", "null", "{}", "[]", " { } "} {
		r, s := tableusers.New(tableusers.Config{}), &recorder{}
		feed(t, r, s, appws.ConnectComplete{Session: 1})
		feed(t, r, s, pbxMsg(1, "ReplicateStartResult", `{"guid":{}}`))
		feed(t, r, s, pbxMsg(1, "ReplicateNextResult", `{"guid":"a"}`))
		got := feed(t, r, s, pbxMsg(1, "ReplicateNextResult", end))
		if summary(got) != "added a, synced" || !r.Synced() {
			t.Errorf("end %q: %s", end, summary(got))
		}
		if mts := s.mts(); !slices.Equal(mts, []string{"ReplicateStart", "ReplicateNext", "ReplicateNext"}) {
			t.Errorf("end %q: sent %v", end, mts)
		}
	}
}

// Replication.htm (since build 132394) makes "columns" one Columns
// object: an array of rows is not what it documents; it is Invalid, and
// paging goes on.
func TestNextResultWithArrayIsInvalid(t *testing.T) {
	t.Parallel()
	r, s := tableusers.New(tableusers.Config{}), &recorder{}
	feed(t, r, s, appws.ConnectComplete{Session: 1})
	feed(t, r, s, pbxMsg(1, "ReplicateStartResult", `{"guid":{}}`))
	got := feed(t, r, s, pbxMsg(1, "ReplicateNextResult", `[{"guid":"a"},{"guid":"b"}]`))
	if len(got) != 1 || got[0].Kind != tableusers.Invalid || !strings.Contains(got[0].Err.Error(), "array") {
		t.Fatalf("changes %v", got)
	}
	feed(t, r, s, pbxMsg(1, "ReplicateNextResult", `{"guid":"c"}`))
	if got := feed(t, r, s, pbxMsg(1, "ReplicateNextResult", "")); summary(got) != "added c, synced" {
		t.Errorf("changes %s", summary(got))
	}
	if mts := s.mts(); len(mts) != 4 {
		t.Errorf("sent %v", mts)
	}
}

// A row that does not decode is Invalid and skipped; the error names the
// column and the types, never a value.
func TestInvalidRows(t *testing.T) {
	t.Parallel()
	r, s := tableusers.New(tableusers.Config{Columns: []string{"cn", "hide", "grps"}}), &recorder{}
	replicate(t, r, s, 1, `{"guid":"a","cn":"A"}`)
	for _, tc := range []struct{ mt, cols, guid, err string }{
		{"ReplicateAdd", `{"guid":"b","cn":7}`, "b", `column "cn": a string expected, got a number`},
		{"ReplicateUpdate", `{"guid":"a","hide":"s3cr3t"}`, "a", `column "hide": a boolean expected, got a string`},
		{"ReplicateAdd", `{"cn":"no guid"}`, "", "row without a guid"},
		{"ReplicateAdd", `{"guid":5}`, "", `column "guid": a string expected`},
		{"ReplicateUpdate", `"s3cr3t"`, "", "an object expected, got a string"},
		{"ReplicateUpdate", "", "", "no columns"},
		{"ReplicateDel", `{}`, "", "row without a guid"},
		{"ReplicateDel", "", "", "no columns"},
		{"ReplicateAdd", `{"guid":"b","cn":"\ud800"}`, "b", `column "cn": a string with a lone surrogate`},
	} {
		got := feed(t, r, s, pbxMsg(1, tc.mt, tc.cols))
		if len(got) != 1 || got[0].Kind != tableusers.Invalid || got[0].GUID != tc.guid || got[0].Session != 1 {
			t.Errorf("%s %s: %+v", tc.mt, tc.cols, got)
			continue
		}
		msg := got[0].Err.Error()
		if !strings.HasPrefix(msg, "tableusers: "+tc.mt+": ") || !strings.Contains(msg, tc.err) || strings.Contains(msg, "s3cr3t") {
			t.Errorf("%s %s: error %q", tc.mt, tc.cols, msg)
		}
	}
	// A message that is not JSON at all, as a hand-made Message may be.
	bad := appws.Message{Session: 1, MT: "ReplicateAdd", API: "PbxTableUsers", Raw: json.RawMessage(`{"columns":{"guid":"x"`)}
	if got := feed(t, r, s, bad); len(got) != 1 || got[0].Kind != tableusers.Invalid {
		t.Errorf("truncated: %+v", got)
	}
	if r.Len() != 1 {
		t.Errorf("table %v", r.Snapshot())
	}
	if u, _ := r.Lookup("a"); u.CN != "A" {
		t.Errorf("a: %+v", u)
	}
}

// Names from the PBX (a column of ReplicateStartResult, a message type)
// are bounded in an error; a long column asked for is kept all the same.
func TestLongNamesBounded(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 10000)
	r, s := tableusers.New(tableusers.Config{Columns: []string{long}}), &recorder{}
	feed(t, r, s, appws.ConnectComplete{Session: 1})
	got := feed(t, r, s, pbxMsg(1, "ReplicateStartResult", `{"`+long+`":5}`))
	if len(got) != 1 || len(got[0].Err.Error()) > 200 || !strings.Contains(got[0].Err.Error(), "an object expected, got a number") {
		t.Errorf("%+v", got)
	}
	feed(t, r, s, pbxMsg(1, "ReplicateNextResult", ""))
	got = feed(t, r, s, pbxMsg(1, long, ""))
	if len(got) != 1 || len(got[0].Err.Error()) > 200 {
		t.Errorf("%+v", got)
	}
	got = feed(t, r, s, pbxMsg(1, "ReplicateAdd", `{"guid":"a","`+long+`":[1]}`))
	if summary(got) != "added a" || string(got[0].New.Extra[long]) != "[1]" {
		t.Errorf("%s", summary(got))
	}
}

// ReplicateDel is read for its guid only: the PBX may send the whole row.
func TestDelReadsGuidOnly(t *testing.T) {
	t.Parallel()
	r, s := tableusers.New(tableusers.Config{}), &recorder{}
	replicate(t, r, s, 1, `{"guid":"a","cn":"A"}`, `{"guid":"b","cn":"B"}`)
	got := feed(t, r, s, pbxMsg(1, "ReplicateDel", `{"guid":"a","cn":7,"hide":"x","pwd":"p"}`))
	if summary(got) != "removed a" || got[0].Old.CN != "A" {
		t.Errorf("changes %+v", got)
	}
	if got := feed(t, r, s, pbxMsg(1, "ReplicateDel", `{"guid":"zz"}`)); got != nil {
		t.Errorf("unknown guid: %+v", got)
	}
}

// ReplicateUpdate carries all the user's data (PbxTableUsers.htm): it
// replaces the row, a column missing from it is gone. An update for an
// unknown guid adds the user, an add of a known one changes it, and one
// that changes nothing is no change.
func TestUpdateReplacesRow(t *testing.T) {
	t.Parallel()
	r, s := tableusers.New(tableusers.Config{}), &recorder{}
	replicate(t, r, s, 1, `{"guid":"a","cn":"A","e164":"1"}`)
	got := feed(t, r, s, pbxMsg(1, "ReplicateUpdate", `{"guid":"a","cn":"A2"}`))
	if summary(got) != "changed a" || got[0].Old.E164 != "1" || got[0].New.E164 != "" || got[0].New.CN != "A2" {
		t.Errorf("changes %+v", got)
	}
	if got := feed(t, r, s, pbxMsg(1, "ReplicateUpdate", `{"guid":"a","cn":"A2"}`)); got != nil {
		t.Errorf("same row: %+v", got)
	}
	if got := feed(t, r, s, pbxMsg(1, "ReplicateUpdate", `{"guid":"b","cn":"B"}`)); summary(got) != "added b" {
		t.Errorf("unknown guid: %s", summary(got))
	}
	if got := feed(t, r, s, pbxMsg(1, "ReplicateAdd", `{"guid":"b","cn":"B2"}`)); summary(got) != "changed b" {
		t.Errorf("add of a known guid: %s", summary(got))
	}
	if got := feed(t, r, s, pbxMsg(1, "ReplicateAdd", `{"guid":"c","hide":null,"cn":null}`)); summary(got) != "added c" {
		t.Errorf("nulls: %s", summary(got))
	}
	if mts := s.mts(); mts != nil {
		t.Errorf("sent %v for live changes", mts)
	}
}

// A message type the pages do not list is Invalid, not dropped silently;
// other APIs and other replications (src) are not this Replicator's.
func TestOtherMessages(t *testing.T) {
	t.Parallel()
	r, s := tableusers.New(tableusers.Config{Src: "dir"}), &recorder{}
	replicate(t, r, s, 1)
	got := feed(t, r, s, pbxMsg(1, "UserInfo", ""))
	if len(got) != 1 || got[0].Kind != tableusers.Invalid || !strings.Contains(got[0].Err.Error(), `"UserInfo"`) {
		t.Errorf("unknown mt: %+v", got)
	}
	other := pbxMsg(1, "ReplicateAdd", `{"guid":"x"}`)
	other.API = "PbxOther"
	if got := feed(t, r, s, other); got != nil {
		t.Errorf("other api: %+v", got)
	}
	otherSrc := pbxMsg(1, "ReplicateAdd", `{"guid":"x"}`)
	otherSrc.Src = "other"
	if got := feed(t, r, s, otherSrc); got != nil {
		t.Errorf("other src: %+v", got)
	}
	mine := pbxMsg(1, "ReplicateAdd", `{"guid":"y"}`)
	mine.Src = "dir"
	if got := feed(t, r, s, mine); summary(got) != "added y" {
		t.Errorf("own src: %s", summary(got))
	}
	for _, ev := range []appws.Event{appws.SendResult{ID: 1}, appws.Message{Session: 1, MT: "x"}} {
		if got := feed(t, r, s, ev); got != nil {
			t.Errorf("%T: %+v", ev, got)
		}
	}
}

// ReplicateStartResult names the columns the PBX publishes (Available);
// one that does not decode is Invalid, and paging goes on.
func TestStartResultColumns(t *testing.T) {
	t.Parallel()
	r, s := tableusers.New(tableusers.Config{}), &recorder{}
	feed(t, r, s, appws.ConnectComplete{Session: 1})
	if r.Available() != nil {
		t.Error("Available before ReplicateStartResult")
	}
	feed(t, r, s, pbxMsg(1, "ReplicateStartResult", `{"guid":{},"cn":{"update":true},"dn":{"update":false}}`))
	want := map[string]tableusers.Column{"guid": {}, "cn": {Update: true}, "dn": {}}
	if got := r.Available(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Available %v", got)
	}
	if mts := s.mts(); len(mts) != 2 || mts[1] != "ReplicateNext" {
		t.Errorf("sent %v", mts)
	}

	feed(t, r, s, appws.ConnectComplete{Session: 2})
	got := feed(t, r, s, pbxMsg(2, "ReplicateStartResult", `{"cn":{"update":"yes"}}`))
	if len(got) != 1 || got[0].Kind != tableusers.Invalid || got[0].Session != 2 {
		t.Errorf("changes %+v", got)
	}
	if mts := s.mts(); len(mts) != 2 || mts[1] != "ReplicateNext" {
		t.Errorf("sent %v", mts)
	}
	// No columns at all: the PBX named none; not an error.
	feed(t, r, s, appws.ConnectComplete{Session: 3})
	if got := feed(t, r, s, pbxMsg(3, "ReplicateStartResult", "")); got != nil || r.Available() != nil {
		t.Errorf("changes %+v, Available %v", got, r.Available())
	}
}

// Messages of a session that is not the one replicating, and answers that
// come when none is awaited, are ignored.
func TestStaleMessagesIgnored(t *testing.T) {
	t.Parallel()
	r, s := tableusers.New(tableusers.Config{}), &recorder{}
	if got := feed(t, r, s, pbxMsg(1, "ReplicateAdd", `{"guid":"a"}`)); got != nil || len(s.sent) != 0 {
		t.Errorf("before any session: %+v", got)
	}
	feed(t, r, s, appws.ConnectComplete{Session: 1})
	// A ReplicateNextResult before ReplicateStartResult answers nothing of ours.
	if got := feed(t, r, s, pbxMsg(1, "ReplicateNextResult", "")); got != nil {
		t.Errorf("early end: %+v", got)
	}
	replicateRest := func(session uint64) []tableusers.Change {
		feed(t, r, s, pbxMsg(session, "ReplicateStartResult", `{}`))
		feed(t, r, s, pbxMsg(session, "ReplicateNextResult", `{"guid":"a"}`))
		return feed(t, r, s, pbxMsg(session, "ReplicateNextResult", ""))
	}
	if got := replicateRest(1); summary(got) != "added a, synced" {
		t.Fatalf("%s", summary(got))
	}
	for _, m := range []appws.Message{
		pbxMsg(1, "ReplicateStartResult", `{}`),
		pbxMsg(1, "ReplicateNextResult", `{"guid":"b"}`),
		pbxMsg(0, "ReplicateAdd", `{"guid":"b"}`),
		pbxMsg(2, "ReplicateAdd", `{"guid":"b"}`),
	} {
		if got := feed(t, r, s, m); got != nil {
			t.Errorf("%s in session %d: %+v", m.MT, m.Session, got)
		}
	}
	feed(t, r, s, appws.Disconnected{Session: 1})
	if got := feed(t, r, s, pbxMsg(1, "ReplicateDel", `{"guid":"a"}`)); got != nil || r.Len() != 1 {
		t.Errorf("after Disconnected: %+v", got)
	}
	if mts := s.mts(); len(mts) != 3 {
		t.Errorf("sent %v", mts)
	}
}

// A ConnectComplete of a newer session without the Disconnected of the old
// one (rule 8) abandons the old replication and starts over; the same
// session's ConnectComplete twice changes nothing.
func TestNewerSessionRestarts(t *testing.T) {
	t.Parallel()
	r, s := tableusers.New(tableusers.Config{}), &recorder{}
	replicate(t, r, s, 1, `{"guid":"a"}`, `{"guid":"b"}`)
	feed(t, r, s, appws.ConnectComplete{Session: 2})
	feed(t, r, s, pbxMsg(2, "ReplicateStartResult", `{}`))
	feed(t, r, s, pbxMsg(2, "ReplicateNextResult", `{"guid":"a"}`))
	if r.Len() != 2 {
		t.Errorf("the table changed while replicating: %v", r.Snapshot())
	}
	feed(t, r, s, appws.ConnectComplete{Session: 3})
	feed(t, r, s, appws.ConnectComplete{Session: 3})
	if got := feed(t, r, s, pbxMsg(2, "ReplicateNextResult", "")); got != nil {
		t.Errorf("end of session 2: %s", summary(got))
	}
	feed(t, r, s, pbxMsg(3, "ReplicateStartResult", `{}`))
	feed(t, r, s, pbxMsg(3, "ReplicateNextResult", `{"guid":"c"}`))
	got := feed(t, r, s, pbxMsg(3, "ReplicateNextResult", ""))
	if summary(got) != "removed a, removed b, added c, synced" || got[0].Session != 3 {
		t.Errorf("changes %s", summary(got))
	}
	if mts := s.mts(); !slices.Equal(mts, []string{"ReplicateStart", "ReplicateNext", "ReplicateNext",
		"ReplicateStart", "ReplicateNext", "ReplicateNext"}) {
		t.Errorf("sent %v", mts)
	}
}

// A Send that fails leaves the message pending for the next Sync; a new
// session replaces what was pending.
func TestSyncRetriesFailedSend(t *testing.T) {
	t.Parallel()
	r, s := tableusers.New(tableusers.Config{}), &recorder{}
	ctx := context.Background()
	if r.Pending() {
		t.Fatal("pending before a session")
	}
	if err := r.Sync(ctx, s); err != nil {
		t.Fatalf("Sync with nothing pending: %v", err)
	}
	r.Handle(appws.ConnectComplete{Session: 1})
	s.fail = appws.ErrNotConnected
	err := r.Sync(ctx, s)
	if !errors.Is(err, appws.ErrNotConnected) || !strings.Contains(err.Error(), "session 1: ReplicateStart") || !r.Pending() {
		t.Fatalf("Sync: %v, pending %v", err, r.Pending())
	}
	s.fail = nil
	if err := r.Sync(ctx, s); err != nil || r.Pending() {
		t.Fatalf("Sync: %v, pending %v", err, r.Pending())
	}
	r.Handle(pbxMsg(1, "ReplicateStartResult", `{}`))
	s.fail = errors.New("full")
	if err := r.Sync(ctx, s); err == nil {
		t.Fatal("no error")
	}
	r.Handle(appws.ConnectComplete{Session: 2}) // replaces the ReplicateNext of session 1
	s.fail = nil
	if err := r.Sync(ctx, s); err != nil {
		t.Fatal(err)
	}
	if mts := s.mts(); !slices.Equal(mts, []string{"ReplicateStart", "ReplicateStart"}) {
		t.Errorf("sent %v", mts)
	}
	r.Handle(appws.Closed{})
	if r.Pending() {
		t.Error("pending after Closed")
	}
}

// Sync does not hold the lock while it sends: the Sender may read the
// Replicator (were the lock held, this test would hang).
func TestSyncSendsWithoutLock(t *testing.T) {
	t.Parallel()
	r := tableusers.New(tableusers.Config{})
	n := 0
	s := &recorder{}
	s.during = func() {
		n++
		_ = r.Len()
		_ = r.Pending()
		// One Sync sends at a time: a second one waits for its turn, no
		// longer than its ctx, and sends nothing.
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := r.Sync(ctx, &recorder{fail: errors.New("second sender used")}); !errors.Is(err, context.Canceled) {
			t.Errorf("the second Sync: %v, want context.Canceled", err)
		}
	}
	r.Handle(appws.ConnectComplete{Session: 1})
	if err := r.Sync(context.Background(), s); err != nil || n != 1 {
		t.Errorf("Sync: %v, %d sends", err, n)
	}
}

// Every method may be called from any goroutine (run with -race).
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	r, s := tableusers.New(tableusers.Config{Columns: []string{"cn", "grps"}}), &recorder{}
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				synced := r.Synced()
				if snap := r.Snapshot(); synced && len(snap) < 50 {
					t.Errorf("synced with %d users", len(snap))
				}
				r.Lookup("g1")
				r.Len()
				r.Pending()
				r.Available()
				_ = r.Sync(context.Background(), s)
			}
		})
	}
	var rows []string
	for i := range 50 {
		rows = append(rows, fmt.Sprintf(`{"guid":"g%d","cn":"U%d","grps":[{"name":"x"}]}`, i, i))
	}
	feed(t, r, s, appws.ConnectComplete{Session: 1})
	feed(t, r, s, pbxMsg(1, "ReplicateStartResult", `{}`))
	for _, row := range rows {
		feed(t, r, s, pbxMsg(1, "ReplicateNextResult", row))
	}
	feed(t, r, s, pbxMsg(1, "ReplicateNextResult", ""))
	feed(t, r, s, pbxMsg(1, "ReplicateUpdate", `{"guid":"g1","cn":"changed"}`))
	close(done)
	wg.Wait()
	if r.Len() != 50 {
		t.Errorf("%d users", r.Len())
	}
}

// What the accessors and Changes return is a copy: changing it changes
// nothing in the table.
func TestAccessorsReturnCopies(t *testing.T) {
	t.Parallel()
	r, s := tableusers.New(tableusers.Config{Columns: []string{"cn", "grps"}}), &recorder{}
	added := replicate(t, r, s, 1, `{"guid":"a","cn":"A","grps":[1]}`)
	added[0].New.Extra["grps"][1] = 'X'
	snap := r.Snapshot()
	snap["a"].Extra["grps"][1] = 'Y'
	delete(snap, "a")
	u, _ := r.Lookup("a")
	u.Extra["grps"] = nil
	if u, _ := r.Lookup("a"); string(u.Extra["grps"]) != "[1]" || r.Len() != 1 {
		t.Errorf("table changed: %+v", u)
	}
}

// A Change's JSON is lowerCamel: kind by name, the users' fields, the error
// as text; what a kind does not have is left out.
func TestChangeJSON(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		c    tableusers.Change
		want string
	}{
		{tableusers.Change{Kind: tableusers.Added, Session: 1, GUID: "a",
			New: tableusers.User{GUID: "a", CN: "A", AppsMy: "x", H323Email: true, Extra: map[string]json.RawMessage{"grps": json.RawMessage(`[]`)}}},
			`{"kind":"added","session":1,"guid":"a","new":{"guid":"a","cn":"A","appsMy":"x","h323Email":true,"extra":{"grps":[]}}}`},
		{tableusers.Change{Kind: tableusers.Removed, Session: 2, GUID: "a", Old: tableusers.User{GUID: "a"}},
			`{"kind":"removed","session":2,"guid":"a","old":{"guid":"a"}}`},
		{tableusers.Change{Kind: tableusers.Synced, Session: 2}, `{"kind":"synced","session":2}`},
		{tableusers.Change{Kind: tableusers.Invalid, Session: 2, Err: errors.New("tableusers: bad")},
			`{"kind":"invalid","session":2,"error":"tableusers: bad"}`},
	} {
		got, err := json.Marshal(tc.c)
		if err != nil || string(got) != tc.want {
			t.Errorf("got  %s %v\nwant %s", got, err, tc.want)
		}
	}
	var u tableusers.User
	if err := json.Unmarshal([]byte(`{"guid":"a","appsMy":"x","extra":{"grps":[1]}}`), &u); err != nil ||
		u.AppsMy != "x" || string(u.Extra["grps"]) != "[1]" {
		t.Errorf("User round trip: %+v %v", u, err)
	}
}

func TestKindString(t *testing.T) {
	t.Parallel()
	want := map[tableusers.Kind]string{tableusers.Added: "added", tableusers.Changed: "changed",
		tableusers.Removed: "removed", tableusers.Synced: "synced", tableusers.Invalid: "invalid", 0: "kind(0)", 99: "kind(99)"}
	for k, s := range want {
		if k.String() != s {
			t.Errorf("%d: %q", int(k), k.String())
		}
		if b, _ := k.MarshalText(); string(b) != s {
			t.Errorf("%d: MarshalText %q", int(k), b)
		}
	}
}

func TestUserEqual(t *testing.T) {
	t.Parallel()
	a := tableusers.User{GUID: "a", CN: "A", Extra: map[string]json.RawMessage{"grps": json.RawMessage(`[1]`)}}
	b := a
	b.Extra = map[string]json.RawMessage{"grps": json.RawMessage(`[1]`)}
	if !a.Equal(b) {
		t.Error("equal users differ")
	}
	b.Extra["grps"] = json.RawMessage(`[2]`)
	if a.Equal(b) {
		t.Error("Equal ignores Extra")
	}
	if c := (tableusers.User{GUID: "a", CN: "A", Fax: true}); c.Equal(tableusers.User{GUID: "a", CN: "A"}) {
		t.Error("Equal ignores Fax")
	}
}

// Replication.htm's examples of ReplicateNextResult and ReplicateUpdate
// carry mt "ReplicateAdd"; its message list names ReplicateNextResult. A
// ReplicateAdd while paging is a live change of the table being built, not
// a page: no ReplicateNext answers it.
func TestAddWhilePagingIsNotAPage(t *testing.T) {
	t.Parallel()
	r, s := tableusers.New(tableusers.Config{}), &recorder{}
	feed(t, r, s, appws.ConnectComplete{Session: 1})
	feed(t, r, s, pbxMsg(1, "ReplicateStartResult", `{}`))
	feed(t, r, s, pbxMsg(1, "ReplicateNextResult", `{"guid":"a"}`))
	if got := feed(t, r, s, pbxMsg(1, "ReplicateAdd", `{"guid":"b"}`)); got != nil {
		t.Errorf("changes while paging: %s", summary(got))
	}
	if mts := s.mts(); !slices.Equal(mts, []string{"ReplicateStart", "ReplicateNext", "ReplicateNext"}) {
		t.Errorf("sent %v", mts)
	}
	if got := feed(t, r, s, pbxMsg(1, "ReplicateNextResult", "")); summary(got) != "added a, added b, synced" {
		t.Errorf("changes %s", summary(got))
	}
}

// sessionRecorder is a recorder whose Session method says which session
// it is on, as *appws.Client's does.
type sessionRecorder struct {
	*recorder
	cur uint64
}

func (s *sessionRecorder) Session() uint64 { return s.cur }

// TestSyncSendsNothingForAGoneSession: a client already on another
// session than the one the Replicator was last fed (the consumer is
// behind) gets nothing; ReplicateStart stays pending for its session.
func TestSyncSendsNothingForAGoneSession(t *testing.T) {
	t.Parallel()
	r := tableusers.New(tableusers.Config{})
	r.Handle(appws.ConnectComplete{Session: 1})
	for _, cur := range []uint64{2, 0} { // on session 2; between sessions
		s := &sessionRecorder{&recorder{}, cur}
		if err := r.Sync(context.Background(), s); err != nil || len(s.sent) != 0 || !r.Pending() {
			t.Fatalf("client on session %d: Sync %v, sent %v, pending %v", cur, err, s.sent, r.Pending())
		}
	}
	s := &sessionRecorder{&recorder{}, 1}
	if err := r.Sync(context.Background(), s); err != nil || len(s.sent) != 1 || s.sent[0]["mt"] != "ReplicateStart" {
		t.Fatalf("Sync %v, sent %v", err, s.sent)
	}
}
