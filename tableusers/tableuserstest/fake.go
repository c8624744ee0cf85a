// Package tableuserstest is a fake of the PBX's PbxTableUsers API, for
// tests of code that uses package tableusers, as net/http/httptest is for
// net/http. A Fake is a users table that the sessions of an appwstest
// server replicate, and that the test changes while they do:
//
//	pbx := tableuserstest.New(tableuserstest.Row{"guid": "01", "cn": "Alice"})
//	srv := appwstest.NewServer(appwstest.Config{Apps: apps, Handler: pbx.Handler})
//	...
//	pbx.Update(tableuserstest.Row{"guid": "01", "cn": "Alice Smith"})
//
// It speaks the protocol as doc/appwebsocket/Replication.htm and
// PbxTableUsers.htm (innovaphone 13r1 SDK, build 132940) document it:
//
//   - ReplicateStart's "columns" is the Columns object ({"cn":{},...});
//     the Fake answers ReplicateStartResult naming, each as
//     {"update":false}, the columns asked for that it publishes (those of
//     PbxTableUsers.htm and any column a row has). A later ReplicateStart
//     starts over. A ReplicateStart whose columns is not an object is
//     recorded and not answered.
//   - Each ReplicateNext is answered with a ReplicateNextResult carrying
//     the next row, in guid order, as one "columns" object with the
//     columns asked for; after the last row, one without "columns": the
//     end of the initial replication (the pages are silent on it; package
//     tableusers reads it so). Paging reads the live table behind a
//     cursor: a row added, changed or removed before the cursor reaches
//     it is paged as it is then. ReplicateNext before ReplicateStart or
//     after the end is recorded and not answered.
//   - Add sends ReplicateAdd with the columns asked for. Update sends
//     ReplicateUpdate with all the row's columns, asked for or not, pwd
//     included: that is how PbxTableUsers.htm's example of it looks ("all
//     the user object data"). Del sends ReplicateDel with just the guid.
//     They go to every session that sent ReplicateStart, while it is still
//     paging too, with the src of its ReplicateStart.
//   - Messages of other APIs go to the next handler (appwstest.Echo for
//     Handler, the one given to Wrap).
//
// The server's faults apply as usual (Session.Drop, Server.DropAll,
// Session.Stall, ...); DropAfterPages adds the one a replica must survive
// most: a connection lost in the middle of the initial replication.
//
// Add, Update and Del return once their messages were written. On an
// in-memory server that is when the client has read them; the appws client
// reads ahead by itself, so they wait only while its read-ahead is full (a
// consumer that stopped calling Handled).
package tableuserstest

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/appwstest"
)

// api is the api of innovaphone's user replication.
const api = "PbxTableUsers"

// published are the columns of PbxTableUsers.htm: the users table and its
// arrays.
var published = []string{
	"guid", "h323", "pwd", "cn", "dn", "apps-my", "config", "node", "loc", "hide", "e164",
	"cfpr", "t-cfpr", "pseudo", "h323-email", "apps", "fax",
	"emails", "allows", "t-allows", "grps", "devices", "cds", "forks", "wakeups",
}

// Row is one row of the table: column name to value, as the PBX sends it
// in "columns" ({"guid":"...","cn":"...","hide":false,...}). The "guid"
// column, a non-empty string, is the key.
type Row map[string]any

// Fake is a fake PBX users table. Its methods may be called from any
// goroutine; it may serve any number of servers and sessions.
type Fake struct {
	mu        sync.Mutex
	rows      map[string]Row
	order     []string // sorted guids
	known     map[string]bool
	dropAfter int // drop the next session paging after so many rows; 0: never
	repl      map[*appwstest.Session]*replication
	received  appwstest.Record // the PbxTableUsers messages, from every session
}

// replication is one session's replication.
type replication struct {
	cols   map[string]bool // asked for, guid always
	src    string
	cursor string // the last guid paged
	paged  int    // rows paged
	done   bool   // the end was sent
}

// New returns a Fake holding rows. Like httptest.NewServer it is for
// fixtures: a row without a non-empty string "guid", or that does not
// encode as JSON, panics.
func New(rows ...Row) *Fake {
	f := &Fake{
		rows:  make(map[string]Row),
		known: make(map[string]bool),
		repl:  make(map[*appwstest.Session]*replication),
	}
	for _, c := range published {
		f.known[c] = true
	}
	for _, r := range rows {
		if err := f.set(r); err != nil {
			panic(err)
		}
	}
	return f
}

func rowGUID(r Row) (string, error) {
	g, ok := r["guid"].(string)
	if !ok || g == "" {
		return "", fmt.Errorf("tableuserstest: a row without a string guid (columns %v)", slices.Sorted(maps.Keys(r)))
	}
	if _, err := json.Marshal(r); err != nil {
		return "", fmt.Errorf("tableuserstest: row %q: %w", g, err)
	}
	return g, nil
}

// set stores a copy of r; f.mu held, or f not yet shared.
func (f *Fake) set(r Row) error {
	g, err := rowGUID(r)
	if err != nil {
		return err
	}
	if _, ok := f.rows[g]; !ok {
		i, _ := slices.BinarySearch(f.order, g)
		f.order = slices.Insert(f.order, i, g)
	}
	f.rows[g] = maps.Clone(r)
	for c := range r {
		f.known[c] = true
	}
	return nil
}

// Handler serves PbxTableUsers and passes every other message to
// appwstest.Echo: use it as appwstest.Config.Handler.
func (f *Fake) Handler(ss *appwstest.Session, m appws.Message) { f.handle(ss, m, appwstest.Echo) }

// Wrap returns a Handler that serves PbxTableUsers and passes every other
// message to next (nil: appwstest.Echo), to compose fakes.
func (f *Fake) Wrap(next func(*appwstest.Session, appws.Message)) func(*appwstest.Session, appws.Message) {
	if next == nil {
		next = appwstest.Echo
	}
	return func(ss *appwstest.Session, m appws.Message) { f.handle(ss, m, next) }
}

func (f *Fake) handle(ss *appwstest.Session, m appws.Message, next func(*appwstest.Session, appws.Message)) {
	if m.API != api {
		next(ss, m)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.received.Add(ss, m)
	switch m.MT {
	case "ReplicateStart":
		var req struct {
			Columns map[string]json.RawMessage `json:"columns"`
		}
		if json.Unmarshal(m.Raw, &req) != nil || req.Columns == nil {
			return
		}
		r := &replication{cols: map[string]bool{"guid": true}, src: m.Src}
		avail := map[string]map[string]bool{}
		for c := range req.Columns {
			r.cols[c] = true
		}
		for c := range r.cols {
			if f.known[c] {
				avail[c] = map[string]bool{"update": false}
			}
		}
		f.repl[ss] = r
		f.sendLocked(ss, r, map[string]any{"mt": "ReplicateStartResult", "columns": avail})
	case "ReplicateNext":
		r := f.repl[ss]
		if r == nil || r.done {
			return
		}
		i, found := slices.BinarySearch(f.order, r.cursor)
		if found {
			i++
		}
		msg := map[string]any{"mt": "ReplicateNextResult"}
		if i < len(f.order) {
			r.cursor = f.order[i]
			r.paged++
			msg["columns"] = r.project(f.rows[r.cursor])
		} else {
			r.done = true
		}
		f.sendLocked(ss, r, msg)
		if f.dropAfter > 0 && r.paged == f.dropAfter && !r.done {
			f.dropAfter = 0
			ss.Drop()
		}
	}
}

// project returns the columns of row that r asked for.
func (r *replication) project(row Row) Row {
	out := make(Row, len(r.cols))
	for c, v := range row {
		if r.cols[c] {
			out[c] = v
		}
	}
	return out
}

// sendLocked sends msg to ss with the api and the replication's src. A
// failure means the session is going away: it is forgotten.
func (f *Fake) sendLocked(ss *appwstest.Session, r *replication, msg map[string]any) {
	msg["api"] = api
	if r.src != "" {
		msg["src"] = r.src
	}
	if err := ss.Send(msg); err != nil {
		delete(f.repl, ss)
	}
}

// broadcastLocked sends a change to every session replicating.
func (f *Fake) broadcastLocked(mt string, cols func(*replication) Row) {
	for ss, r := range f.repl {
		select {
		case <-ss.Done():
			delete(f.repl, ss)
			continue
		default:
		}
		f.sendLocked(ss, r, map[string]any{"mt": mt, "columns": cols(r)})
	}
}

// Add adds a user (or replaces the one with the same guid) and sends
// ReplicateAdd, with the columns each session asked for, to the sessions
// replicating. It returns once the messages were written (or their
// sessions ended); an error for a row without a string guid.
func (f *Fake) Add(row Row) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.set(row); err != nil {
		return err
	}
	stored := f.rows[row["guid"].(string)]
	f.broadcastLocked("ReplicateAdd", func(r *replication) Row { return r.project(stored) })
	return nil
}

// Update replaces a user's row and sends ReplicateUpdate with all its
// columns, asked for or not (pwd included), as PbxTableUsers.htm's example
// does, to the sessions replicating. A row with a new guid is added, and
// sent as ReplicateUpdate all the same.
func (f *Fake) Update(row Row) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.set(row); err != nil {
		return err
	}
	stored := f.rows[row["guid"].(string)]
	f.broadcastLocked("ReplicateUpdate", func(*replication) Row { return stored })
	return nil
}

// Del deletes the user with guid and sends ReplicateDel ({"guid":...}) to
// the sessions replicating. It reports whether the user existed.
func (f *Fake) Del(guid string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.rows[guid]; !ok {
		return false
	}
	delete(f.rows, guid)
	i, _ := slices.BinarySearch(f.order, guid)
	f.order = slices.Delete(f.order, i, i+1)
	f.broadcastLocked("ReplicateDel", func(*replication) Row { return Row{"guid": guid} })
	return true
}

// Rows returns copies of the rows, in guid order.
func (f *Fake) Rows() []Row {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Row, len(f.order))
	for i, g := range f.order {
		out[i] = maps.Clone(f.rows[g])
	}
	return out
}

// DropAfterPages makes the Fake drop (Session.Drop) the next session that
// has been sent n rows in ReplicateNextResults while its initial
// replication is not complete: a connection lost in the middle of the
// replication. It applies once.
func (f *Fake) DropAfterPages(n int) {
	f.mu.Lock()
	f.dropAfter = n
	f.mu.Unlock()
}

// Replicating returns how many sessions have started a replication and
// are not known to have ended.
func (f *Fake) Replicating() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for ss := range f.repl {
		select {
		case <-ss.Done():
		default:
			n++
		}
	}
	return n
}

// Received returns the PbxTableUsers messages received so far from every session,
// in order (copies; Message.Session is the appwstest Session.ID).
func (f *Fake) Received() []appws.Message { return f.received.Messages("") }

// WaitFor waits until n PbxTableUsers messages with mt were received and returns
// them all (decode one with Message.Decode to check its fields). When ctx
// ends first, it returns those it has and an error that wraps ctx's.
func (f *Fake) WaitFor(ctx context.Context, mt string, n int) ([]appws.Message, error) {
	return f.received.WaitFor(ctx, mt, n)
}
