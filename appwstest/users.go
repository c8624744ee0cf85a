package appwstest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/appwebsocket/appws"
)

// usersAPI is the api of innovaphone's user replication.
const usersAPI = "PbxTableUsers"

// UserRow is one row of a UsersTable: column name to value, as the PBX
// sends it in "columns" ({"guid":"...","cn":"...","hide":false,...}). The
// "guid" column, a string, is the key.
type UserRow map[string]any

// UsersTable is a fake of the PBX's PbxTableUsers API: a users table that
// sessions replicate (ReplicateStart, ReplicateNext until the end) and that
// a test changes while they do (Add, Update, Remove send ReplicateAdd,
// ReplicateUpdate and ReplicateDel to every session replicating it). Put
// its Handler into Config.Handler. A UsersTable may serve any number of
// servers and sessions; its methods may be called from any goroutine.
//
// The protocol as served (innovaphone documents it only in part):
//
//   - ReplicateStart is answered with ReplicateStartResult whose "columns"
//     object names the requested columns that the table has ever had,
//     each {"update":false}; the rows sent carry only the requested
//     columns ("guid" always). A later ReplicateStart restarts.
//   - ReplicateNext is answered with ReplicateNextResult carrying the next
//     row as the "columns" object (rows in guid order); after the last row
//     it carries no "columns": the end of the initial replication. With
//     SetPageSize(n>1) "columns" is an array of up to n rows instead.
//     Paging reads the live table behind a cursor, so a row added, changed
//     or removed before the cursor reaches it is paged as it is then.
//   - ReplicateAdd, ReplicateUpdate (the full row) and ReplicateDel (just
//     {"guid":...}) go to every session that sent ReplicateStart, also
//     while it is still paging.
//   - Other messages go to the next Handler.
//
// The server's faults apply as usual (Session.Drop, Server.DropAll,
// Session.Stall, RefuseLogins ...); DropAfterPages adds the one a replica
// must survive most: a connection lost in the middle of the replication.
//
// Add, Update and Remove return once their messages were written. On an
// in-memory server that is when the client has read them; the appws
// client reads ahead by itself, so they wait only while its read-ahead is
// full (a consumer that stopped calling MessageComplete).
type UsersTable struct {
	mu        sync.Mutex
	rows      map[string]UserRow
	order     []string // sorted guids
	known     map[string]bool
	pageSize  int
	dropAfter int // drop the next replicating session after so many pages; 0: never
	repl      map[*Session]*userRepl
	received  []appws.Message
}

// userRepl is one session's replication.
type userRepl struct {
	cols   map[string]bool
	cursor string // the last guid paged
	pages  int
	done   bool
	src    string
}

// NewUsersTable returns a table holding rows (each with a string "guid").
func NewUsersTable(rows ...UserRow) *UsersTable {
	t := &UsersTable{
		rows:     make(map[string]UserRow),
		known:    map[string]bool{"guid": true},
		pageSize: 1,
		repl:     make(map[*Session]*userRepl),
	}
	for _, r := range rows {
		if err := t.set(r); err != nil {
			panic(err)
		}
	}
	return t
}

func rowGUID(r UserRow) (string, error) {
	g, ok := r["guid"].(string)
	if !ok || g == "" {
		return "", fmt.Errorf("appwstest: user row without a string guid: %v", r)
	}
	return g, nil
}

// set stores a copy of r; t.mu held or not yet shared.
func (t *UsersTable) set(r UserRow) error {
	g, err := rowGUID(r)
	if err != nil {
		return err
	}
	if _, ok := t.rows[g]; !ok {
		i, _ := slices.BinarySearch(t.order, g)
		t.order = slices.Insert(t.order, i, g)
	}
	t.rows[g] = maps.Clone(r)
	for c := range r {
		t.known[c] = true
	}
	return nil
}

// Handler returns the Handler that serves PbxTableUsers and passes every
// other message to next (nil: Echo).
func (t *UsersTable) Handler(next func(*Session, appws.Message)) func(*Session, appws.Message) {
	if next == nil {
		next = Echo
	}
	return func(ss *Session, m appws.Message) {
		if m.API != usersAPI {
			next(ss, m)
			return
		}
		t.handle(ss, m)
	}
}

func (t *UsersTable) handle(ss *Session, m appws.Message) {
	t.mu.Lock()
	defer t.mu.Unlock()
	m.Raw = bytes.Clone(m.Raw)
	m.Session = ss.ID()
	t.received = append(t.received, m)
	switch m.MT {
	case "ReplicateStart":
		var req struct {
			Columns json.RawMessage `json:"columns"`
		}
		_ = json.Unmarshal(m.Raw, &req)
		r := &userRepl{cols: requestedColumns(req.Columns), src: m.Src}
		r.cols["guid"] = true
		t.repl[ss] = r
		avail := map[string]map[string]bool{}
		for c := range r.cols {
			if t.known[c] {
				avail[c] = map[string]bool{"update": false}
			}
		}
		t.sendLocked(ss, r, map[string]any{"mt": "ReplicateStartResult", "columns": avail})
	case "ReplicateNext":
		r := t.repl[ss]
		if r == nil || r.done {
			return
		}
		i, found := slices.BinarySearch(t.order, r.cursor)
		if found {
			i++
		}
		page := t.order[i:min(len(t.order), i+t.pageSize)]
		msg := map[string]any{"mt": "ReplicateNextResult"}
		switch {
		case len(page) == 0:
			r.done = true
		case t.pageSize == 1:
			msg["columns"] = r.project(t.rows[page[0]])
		default:
			rows := make([]UserRow, len(page))
			for k, g := range page {
				rows[k] = r.project(t.rows[g])
			}
			msg["columns"] = rows
		}
		if len(page) > 0 {
			r.cursor = page[len(page)-1]
		}
		t.sendLocked(ss, r, msg)
		r.pages++
		if t.dropAfter > 0 && r.pages == t.dropAfter && !r.done {
			t.dropAfter = 0
			ss.Drop()
		}
	}
}

// requestedColumns reads ReplicateStart's "columns": an object keyed by
// column name, or (as Replication.htm writes it) an array of names or of
// objects with a "name".
func requestedColumns(raw json.RawMessage) map[string]bool {
	cols := map[string]bool{}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) == nil {
		for c := range obj {
			cols[c] = true
		}
		return cols
	}
	var list []json.RawMessage
	_ = json.Unmarshal(raw, &list)
	for _, e := range list {
		var name string
		var named struct {
			Name string `json:"name"`
		}
		if json.Unmarshal(e, &name) == nil {
			cols[name] = true
		} else if json.Unmarshal(e, &named) == nil && named.Name != "" {
			cols[named.Name] = true
		}
	}
	return cols
}

// project returns the requested columns of row.
func (r *userRepl) project(row UserRow) UserRow {
	out := make(UserRow, len(r.cols))
	for c, v := range row {
		if r.cols[c] {
			out[c] = v
		}
	}
	return out
}

// sendLocked sends msg to ss with the api and the session's src. A failure
// means the session is going away; it is forgotten.
func (t *UsersTable) sendLocked(ss *Session, r *userRepl, msg map[string]any) {
	msg["api"] = usersAPI
	if r.src != "" {
		msg["src"] = r.src
	}
	if err := ss.Send(msg); err != nil {
		delete(t.repl, ss)
	}
}

// broadcastLocked sends a live change to every replicating session.
func (t *UsersTable) broadcastLocked(mt string, row UserRow) {
	for ss, r := range t.repl {
		select {
		case <-ss.Done():
			delete(t.repl, ss)
			continue
		default:
		}
		cols := row
		if mt != "ReplicateDel" {
			cols = r.project(row)
		}
		t.sendLocked(ss, r, map[string]any{"mt": mt, "columns": cols})
	}
}

// Add adds a user (or replaces one with the same guid) and sends
// ReplicateAdd to the sessions replicating. It returns once the messages
// were written (or their sessions ended).
func (t *UsersTable) Add(row UserRow) error { return t.change("ReplicateAdd", row) }

// Update replaces a user's row and sends ReplicateUpdate with the full row
// to the sessions replicating. A row with a new guid is added (and sent as
// ReplicateUpdate all the same, to test the replica's tolerance).
func (t *UsersTable) Update(row UserRow) error { return t.change("ReplicateUpdate", row) }

func (t *UsersTable) change(mt string, row UserRow) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.set(row); err != nil {
		return err
	}
	g, _ := rowGUID(row)
	t.broadcastLocked(mt, t.rows[g])
	return nil
}

// Remove deletes the user with guid and sends ReplicateDel to the sessions
// replicating. It reports whether the user existed.
func (t *UsersTable) Remove(guid string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.rows[guid]; !ok {
		return false
	}
	delete(t.rows, guid)
	i, _ := slices.BinarySearch(t.order, guid)
	t.order = slices.Delete(t.order, i, i+1)
	t.broadcastLocked("ReplicateDel", UserRow{"guid": guid})
	return true
}

// Rows returns copies of the rows, in guid order.
func (t *UsersTable) Rows() []UserRow {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]UserRow, len(t.order))
	for i, g := range t.order {
		out[i] = maps.Clone(t.rows[g])
	}
	return out
}

// SetPageSize sets how many rows one ReplicateNextResult carries (default
// 1, a single row object as the PBX sends it; n > 1 sends an array).
func (t *UsersTable) SetPageSize(n int) {
	t.mu.Lock()
	t.pageSize = max(1, n)
	t.mu.Unlock()
}

// DropAfterPages makes the table drop (Session.Drop) the next session that
// has received n ReplicateNextResults while the initial replication is not
// complete: a connection lost in the middle of the replication. It applies
// once.
func (t *UsersTable) DropAfterPages(n int) {
	t.mu.Lock()
	t.dropAfter = n
	t.mu.Unlock()
}

// Received returns the PbxTableUsers messages received, from all sessions
// in order (copies; Message.Session is the Session.ID).
func (t *UsersTable) Received() []appws.Message {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]appws.Message, len(t.received))
	for i, m := range t.received {
		m.Raw = bytes.Clone(m.Raw)
		out[i] = m
	}
	return out
}

// Replicating returns how many sessions have started a replication and are
// not known to have ended.
func (t *UsersTable) Replicating() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for ss := range t.repl {
		select {
		case <-ss.Done():
		default:
			n++
		}
	}
	return n
}
