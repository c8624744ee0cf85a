package tableusers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/appwebsocket/appws"
)

// API is the value of "api" in every message of the protocol.
const API = "PbxTableUsers"

// The message types of the replication protocol.
const (
	mtStart       = "ReplicateStart"
	mtStartResult = "ReplicateStartResult"
	mtNext        = "ReplicateNext"
	mtNextResult  = "ReplicateNextResult"
	mtAdd         = "ReplicateAdd"
	mtUpdate      = "ReplicateUpdate"
	mtDel         = "ReplicateDel"
)

// Sender sends one message on the current session. *appws.Client satisfies
// it.
type Sender interface {
	Send(ctx context.Context, msg any) (uint64, error)
}

// Options configures a Replicator.
type Options struct {
	// Columns are the columns to replicate; empty means DefaultColumns.
	// "guid" is added when missing: it is the key of the table.
	Columns []string
	// Pseudo, if set, is sent as "pseudo" in ReplicateStart, the filter on
	// the users' pseudo information that innovaphone's C++ replicator adds
	// there ("" stands for ordinary users).
	Pseudo []string
	// Src, if set, is sent as "src" in every message, and messages of the
	// API carrying another non-empty src are ignored: for a connection that
	// runs more than one replication of PbxTableUsers.
	Src string
}

// ChangeKind says what a Change reports.
type ChangeKind int

// The kinds of Change.
const (
	// Added: a user is new; New holds it.
	Added ChangeKind = iota + 1
	// Changed: a user's columns changed; Old and New hold both versions.
	Changed
	// Removed: a user is gone; Old holds its last version.
	Removed
	// Synced: a replication of the whole table completed (after the first
	// login and after every reconnect); the table is complete and live.
	// The Added, Changed and Removed before it in the same slice are the
	// difference to the table before.
	Synced
)

// String returns the kind's name in lower case ("added", ...).
func (k ChangeKind) String() string {
	switch k {
	case Added:
		return "added"
	case Changed:
		return "changed"
	case Removed:
		return "removed"
	case Synced:
		return "synced"
	}
	return fmt.Sprintf("ChangeKind(%d)", int(k))
}

// MarshalText encodes the kind as its String.
func (k ChangeKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// Change is one change of the replicated table.
type Change struct {
	Kind ChangeKind
	// GUID is the user's key ("" for Synced).
	GUID string
	// Old is the user before the change (zero for Added and Synced).
	Old User
	// New is the user after the change (zero for Removed and Synced).
	New User
	// Session is the appws session the change was learned in.
	Session uint64
}

// state is where the replication of the current session stands.
type state int

const (
	idle     state = iota // no session, or a Send failed: wait for the next
	starting              // ReplicateStart sent
	paging                // ReplicateNext sent, the table not complete yet
	live                  // complete; applying ReplicateAdd/Update/Del
)

// Replicator keeps a copy of the PBX's users table. It has no goroutines:
// feed it every event of the client with Handle, from the goroutine that
// reads Events(). Snapshot, Lookup, Len and Synced may be called from any
// goroutine.
type Replicator struct {
	s       Sender
	columns []string
	pseudo  []string
	src     string

	// Owned by the goroutine calling Handle.
	session   uint64
	state     state
	pending   map[string]User // the table being replicated, until complete
	available map[string]json.RawMessage

	mu     sync.RWMutex
	table  map[string]User // the last complete table, kept live
	synced bool
}

// New returns a Replicator that sends with s. It sends nothing until Handle
// sees a ConnectComplete, or Start is called.
func New(s Sender, opts Options) *Replicator {
	cols := opts.Columns
	if len(cols) == 0 {
		cols = DefaultColumns
	}
	cols = slices.Clone(cols)
	if !slices.Contains(cols, ColGUID) {
		cols = append([]string{ColGUID}, cols...)
	}
	return &Replicator{
		s:       s,
		columns: cols,
		pseudo:  slices.Clone(opts.Pseudo),
		src:     opts.Src,
		table:   make(map[string]User),
	}
}

// Handle takes one event of the client and returns the changes it makes to
// the table, nil for most events. It sends what the protocol asks for:
//
//   - ConnectComplete starts the replication of the whole table in the new
//     session (ReplicateStart). Until that replication is complete the
//     table stays as it was (the last complete one, or empty at first);
//     then Handle returns the difference to it (Added, Changed, Removed,
//     sorted by guid) followed by Synced, and the table is live again.
//   - A Message of this API advances the replication: ReplicateStartResult
//     and ReplicateNextResult are answered with ReplicateNext until a
//     ReplicateNextResult without a row ends it; ReplicateAdd, Update and
//     Del change the table. Other Messages are ignored (nil). Handle does
//     not call MessageComplete: the caller does, for every Message.
//   - Disconnected and Closed abandon a replication in progress.
//
// A non-nil error comes from Send (the replication of this session then
// waits for the next ConnectComplete, which follows the drop that made
// Send fail) or from a row that does not decode (the row is skipped);
// changes may come with it.
func (r *Replicator) Handle(ctx context.Context, ev appws.Event) ([]Change, error) {
	switch ev := ev.(type) {
	case appws.ConnectComplete:
		return nil, r.Start(ctx, ev.Session)
	case appws.Disconnected, appws.Closed:
		r.state, r.pending = idle, nil
		return nil, nil
	case appws.Message:
		if ev.API != API || ev.Session != r.session || r.state == idle {
			return nil, nil
		}
		if r.src != "" && ev.Src != "" && ev.Src != r.src {
			return nil, nil
		}
		return r.message(ctx, ev)
	}
	return nil, nil
}

// Start starts (or restarts) the replication of the whole table in the
// given session: Handle does it on ConnectComplete; call it for a session
// whose ConnectComplete was handled before the Replicator existed
// (session: appws.Client.Session).
func (r *Replicator) Start(ctx context.Context, session uint64) error {
	r.session, r.state, r.pending, r.available = session, starting, make(map[string]User), nil
	cols := make(map[string]struct{}, len(r.columns))
	for _, c := range r.columns {
		cols[c] = struct{}{}
	}
	return r.send(ctx, startMsg{API: API, MT: mtStart, Src: r.src, Columns: cols, Pseudo: r.pseudo})
}

type startMsg struct {
	API     string              `json:"api"`
	MT      string              `json:"mt"`
	Src     string              `json:"src,omitempty"`
	Add     bool                `json:"add"`
	Del     bool                `json:"del"`
	Columns map[string]struct{} `json:"columns"`
	Pseudo  []string            `json:"pseudo,omitempty"`
}

type plainMsg struct {
	API string `json:"api"`
	MT  string `json:"mt"`
	Src string `json:"src,omitempty"`
}

func (r *Replicator) send(ctx context.Context, msg any) error {
	if _, err := r.s.Send(ctx, msg); err != nil {
		r.state, r.pending = idle, nil
		return fmt.Errorf("tableusers: session %d: %w", r.session, err)
	}
	return nil
}

// rowsMsg is the part of a message that carries rows.
type rowsMsg struct {
	Columns json.RawMessage `json:"columns"`
}

func (r *Replicator) message(ctx context.Context, m appws.Message) ([]Change, error) {
	var body rowsMsg
	if err := json.Unmarshal(m.Raw, &body); err != nil {
		return nil, fmt.Errorf("tableusers: %s: %w", m.MT, err)
	}
	switch m.MT {
	case mtStartResult:
		if r.state != starting {
			return nil, nil
		}
		var avail map[string]json.RawMessage
		_ = json.Unmarshal(body.Columns, &avail) // informational only
		r.available = avail
		r.state = paging
		return nil, r.send(ctx, plainMsg{API: API, MT: mtNext, Src: r.src})
	case mtNextResult:
		if r.state != paging {
			return nil, nil
		}
		rows, err := decodeRows(body.Columns)
		if len(rows) == 0 && err == nil {
			return r.complete(), nil
		}
		for _, u := range rows {
			r.pending[u.GUID] = u
		}
		if serr := r.send(ctx, plainMsg{API: API, MT: mtNext, Src: r.src}); serr != nil {
			err = errors.Join(err, serr)
		}
		return nil, err
	case mtAdd, mtUpdate:
		rows, err := decodeRows(body.Columns)
		var out []Change
		for _, u := range rows {
			out = r.put(u, out)
		}
		return out, err
	case mtDel:
		rows, err := decodeRows(body.Columns)
		var out []Change
		for _, u := range rows {
			out = r.remove(u.GUID, out)
		}
		return out, err
	}
	return nil, nil
}

// decodeRows decodes "columns": one row object (as PbxTableUsers sends) or
// an array of rows. Rows without a guid are skipped with an error.
func decodeRows(raw json.RawMessage) ([]User, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var errs []error
	one := func(b json.RawMessage) (User, bool) {
		var u User
		if err := json.Unmarshal(b, &u); err != nil {
			errs = append(errs, err)
			return u, false
		}
		if u.GUID == "" {
			if len(b) > 2 { // {} is an empty row, not a broken one
				errs = append(errs, errors.New("tableusers: row without guid"))
			}
			return u, false
		}
		return u, true
	}
	var rows []User
	if raw[0] == '[' {
		var list []json.RawMessage
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, fmt.Errorf("tableusers: columns: %w", err)
		}
		for _, b := range list {
			if u, ok := one(b); ok {
				rows = append(rows, u)
			}
		}
	} else if u, ok := one(raw); ok {
		rows = append(rows, u)
	}
	return rows, errors.Join(errs...)
}

// put adds or replaces a row: in the pending table while replicating (the
// difference is reported at the end), in the live table otherwise.
func (r *Replicator) put(u User, out []Change) []Change {
	if r.state != live {
		r.pending[u.GUID] = u
		return out
	}
	r.mu.Lock()
	old, ok := r.table[u.GUID]
	r.table[u.GUID] = u
	r.mu.Unlock()
	switch {
	case !ok:
		return append(out, Change{Kind: Added, GUID: u.GUID, New: u, Session: r.session})
	case !old.Equal(u):
		return append(out, Change{Kind: Changed, GUID: u.GUID, Old: old, New: u, Session: r.session})
	}
	return out
}

func (r *Replicator) remove(guid string, out []Change) []Change {
	if r.state != live {
		delete(r.pending, guid)
		return out
	}
	r.mu.Lock()
	old, ok := r.table[guid]
	delete(r.table, guid)
	r.mu.Unlock()
	if ok {
		out = append(out, Change{Kind: Removed, GUID: guid, Old: old, Session: r.session})
	}
	return out
}

// complete makes the replicated table the live one and returns the
// difference to the table before, sorted by guid, then Synced.
func (r *Replicator) complete() []Change {
	next := r.pending
	r.pending = nil
	r.state = live

	r.mu.RLock()
	prev := r.table
	r.mu.RUnlock()
	var out []Change
	for guid, u := range next {
		old, ok := prev[guid]
		switch {
		case !ok:
			out = append(out, Change{Kind: Added, GUID: guid, New: u, Session: r.session})
		case !old.Equal(u):
			out = append(out, Change{Kind: Changed, GUID: guid, Old: old, New: u, Session: r.session})
		}
	}
	for guid, old := range prev {
		if _, ok := next[guid]; !ok {
			out = append(out, Change{Kind: Removed, GUID: guid, Old: old, Session: r.session})
		}
	}
	slices.SortFunc(out, func(a, b Change) int {
		if a.GUID < b.GUID {
			return -1
		}
		if a.GUID > b.GUID {
			return 1
		}
		return 0
	})
	r.mu.Lock()
	r.table = next
	r.synced = true
	r.mu.Unlock()
	return append(out, Change{Kind: Synced, Session: r.session})
}

// Snapshot returns a copy of the table: the last complete replication with
// the live changes since. Before the first replication completed it is
// empty. It costs a map copy; use Lookup and Len for single reads.
func (r *Replicator) Snapshot() map[string]User {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return maps.Clone(r.table)
}

// Lookup returns the user with the guid, if the table has it.
func (r *Replicator) Lookup(guid string) (User, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	u, ok := r.table[guid]
	return u, ok
}

// Len returns the number of users in the table.
func (r *Replicator) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.table)
}

// Synced reports whether a replication of the whole table has completed,
// so that the table is more than empty by default. It stays true across
// reconnects: the table then is the last complete one, kept up to date
// again once the new replication completes.
func (r *Replicator) Synced() bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.synced
}

// Available returns the columns the PBX said it publishes, from
// ReplicateStartResult of the current session (nil before it came). The
// values are the column descriptions as received ({"update":true} or {}).
// Unlike Snapshot, call it from the goroutine that calls Handle.
func (r *Replicator) Available() map[string]json.RawMessage {
	return maps.Clone(r.available)
}
