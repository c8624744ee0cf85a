package tableusers

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/internal/kindname"
	"github.com/appwebsocket/appws/internal/outbox"
)

// API is the value of "api" in every message of the protocol.
const API = "PbxTableUsers"

// The message types of the replication protocol (Replication.htm).
const (
	mtStart       = "ReplicateStart"
	mtStartResult = "ReplicateStartResult"
	mtNext        = "ReplicateNext"
	mtNextResult  = "ReplicateNextResult"
	mtAdd         = "ReplicateAdd"
	mtUpdate      = "ReplicateUpdate"
	mtDel         = "ReplicateDel"
)

// Config configures a Replicator.
type Config struct {
	// Columns are the columns to replicate, by the PBX's names (the Col
	// constants); empty means DefaultColumns. "guid", the key, is added
	// when missing. ColPwd may not be named: see Validate.
	Columns []string
	// Pseudo, when not empty, is sent as "pseudo" in ReplicateStart: which
	// objects to replicate by their pseudo information ("" stands for
	// ordinary users), as innovaphone's Replicator tutorial sends it
	// (["", "executive"]). Empty: not sent, the PBX chooses.
	Pseudo []string
	// Src, when set, is sent as "src" in every message, and messages of the
	// API carrying another non-empty src are ignored: for a connection that
	// runs more than one replication of the table.
	Src string
}

// ErrSecretColumn is Validate's error (and Sync's) for a Config that asks
// for the pwd column: a user's password, even in the PBX's encrypted form,
// is never replicated, kept or printed by this package.
var ErrSecretColumn = errors.New("tableusers: Config.Columns: pwd is a secret and never replicated")

// Validate reports what is wrong with c: an empty column name, or ColPwd
// (ErrSecretColumn). A Replicator made from an invalid Config sends
// nothing: its Sync returns this error.
func (c Config) Validate() error {
	for _, col := range c.Columns {
		switch col {
		case "":
			return errors.New("tableusers: Config.Columns: an empty column name")
		case ColPwd:
			return ErrSecretColumn
		}
	}
	return nil
}

// Kind says what a Change reports.
type Kind int

// The kinds of Change.
const (
	// Added: a user is new (New).
	Added Kind = iota + 1
	// Changed: a user's columns changed (Old and New).
	Changed
	// Removed: a user is gone (Old, its last version).
	Removed
	// Synced: a replication of the whole table completed, after the first
	// login and after every reconnect; the table is complete and live. The
	// Added, Changed and Removed before it in the same slice are the
	// difference to the table before.
	Synced
	// Invalid: a message of the API that does not decode (Err says why,
	// GUID the row's guid if it could be read); it was skipped.
	Invalid
)

var kindNames = [...]string{
	Added:   "added",
	Changed: "changed",
	Removed: "removed",
	Synced:  "synced",
	Invalid: "invalid",
}

// String returns the kind's lowerCamel name, e.g. "added".
func (k Kind) String() string { return kindname.Of(kindNames[:], int(k)) }

// MarshalText makes a Kind its name in JSON.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// Change is one change of the replicated table, or a message that did not
// decode. Its JSON form is the output of `appws users`.
type Change struct {
	Kind Kind `json:"kind"`
	// Session is the appws session the change was learned in.
	Session uint64 `json:"session"`
	// GUID is the user's key ("" for Synced).
	GUID string `json:"guid,omitempty"`
	// Old is the user before the change: for Changed and Removed.
	Old User `json:"old,omitzero"`
	// New is the user after the change: for Added and Changed.
	New User `json:"new,omitzero"`
	// Err says why a message was Invalid; in JSON it is "error", its text.
	Err error `json:"-"`
}

// MarshalJSON encodes the change with Err as its text in "error".
func (c Change) MarshalJSON() ([]byte, error) {
	type fields Change // without this method
	var text string
	if c.Err != nil {
		text = c.Err.Error()
	}
	return json.Marshal(struct {
		fields
		Error string `json:"error,omitempty"`
	}{fields(c), text})
}

// Column describes a column the PBX publishes (ReplicateStartResult's
// Columns object, Replication.htm).
type Column struct {
	// Update: the publisher lets the replicator update the column.
	Update bool `json:"update,omitempty"`
}

// phase is where the replication of the current session stands.
type phase int

const (
	idle     phase = iota // no session, or it was lost
	starting              // ReplicateStart queued or sent
	paging                // ReplicateNext queued or sent, the table not complete
	live                  // complete; applying ReplicateAdd, Update and Del
)

// Replicator keeps a copy of the PBX's users table: fed every event of the
// client with Handle, it returns the changes; Sync sends what the
// replication needs. It has no goroutines. Every method may be called from
// any goroutine (one mutex); Handle must still be given the events in the
// order Events() delivered them.
type Replicator struct {
	// Set by New, read-only after.
	want   map[string]bool // the columns asked for, guid included
	start  outMsg          // ReplicateStart, encoded once
	next   outMsg          // ReplicateNext
	src    string
	cfgErr error

	gate outbox.Gate // one Sync sends at a time

	mu       sync.Mutex
	session  uint64 // the session replicating, or the last one
	phase    phase
	building map[string]User   // the table being replicated, until complete
	avail    map[string]Column // from ReplicateStartResult of session
	out      []outMsg          // to send in session, in order
	gen      uint64            // counts the replacements of out
	table    map[string]User   // the last complete table, kept live
	synced   bool
}

// New returns a Replicator for cfg. It sends nothing by itself: Handle
// queues ReplicateStart on each ConnectComplete, Sync sends it.
func New(cfg Config) *Replicator {
	cols := cfg.Columns
	if len(cols) == 0 {
		cols = DefaultColumns
	}
	r := &Replicator{
		gate:   outbox.NewGate(),
		want:   map[string]bool{ColGUID: true},
		src:    cfg.Src,
		cfgErr: cfg.Validate(),
		table:  make(map[string]User),
	}
	order := []string{ColGUID}
	for _, c := range cols {
		if c != "" && c != ColPwd && !r.want[c] { // pwd never, even from an invalid Config
			r.want[c] = true
			order = append(order, c)
		}
	}
	r.start = encodeStart(cfg.Src, order, cfg.Pseudo)
	r.next = encodePlain(cfg.Src, mtNext)
	return r
}

// Handle takes one event of the client and returns what it changed in the
// table, in order (nil for most events, and for every message of other
// APIs). It never sends, never blocks and never fails:
//
//   - ConnectComplete queues ReplicateStart for the new session (Sync sends
//     it). Until that session's replication is complete the table stays
//     the last complete one; then Handle returns the difference to it
//     (Added, Changed, Removed, sorted by guid) and Synced.
//   - ReplicateStartResult and every ReplicateNextResult with a row queue a
//     ReplicateNext; a ReplicateNextResult without a row completes the
//     replication. ReplicateAdd, ReplicateUpdate and ReplicateDel change
//     the table (while replicating, the table being built).
//   - A message of the API that does not decode, or of a message type the
//     pages do not list, is a Change of kind Invalid, and skipped.
//     Messages of a session that is not the one replicating are ignored.
//   - Disconnected and Closed abandon a replication in progress and what
//     was queued for it; the table is kept.
//
// A Replicator made while a session is already up is started by handing
// it that session's ConnectComplete (appws.ConnectComplete{Session:
// c.Session()}).
func (r *Replicator) Handle(ev appws.Event) []Change {
	switch ev := ev.(type) {
	case appws.ConnectComplete:
		r.mu.Lock()
		defer r.mu.Unlock()
		if ev.Session != r.session || r.phase == idle {
			r.begin(ev.Session)
		}
	case appws.Disconnected:
		r.mu.Lock()
		defer r.mu.Unlock()
		if ev.Session == r.session {
			r.abandon()
		}
	case appws.Closed:
		r.mu.Lock()
		defer r.mu.Unlock()
		r.abandon()
	case appws.Message:
		if ev.API != API || r.src != "" && ev.Src != "" && ev.Src != r.src {
			return nil
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		if ev.Session != r.session || r.phase == idle {
			return nil
		}
		return r.message(ev)
	}
	return nil
}

// begin starts the replication of the whole table in session; r.mu held.
func (r *Replicator) begin(session uint64) {
	r.session, r.phase = session, starting
	r.building, r.avail = make(map[string]User, len(r.table)), nil
	r.out, r.gen = []outMsg{r.start}, r.gen+1
}

// abandon drops the replication of the session that is gone; r.mu held.
func (r *Replicator) abandon() {
	r.phase, r.building = idle, nil
	r.out, r.gen = nil, r.gen+1
}

// message applies a message of the API in the session replicating; r.mu
// held.
func (r *Replicator) message(m appws.Message) []Change {
	switch m.MT {
	case mtStartResult:
		if r.phase != starting {
			return nil // not an answer to this session's ReplicateStart
		}
		r.phase = paging
		r.out = append(r.out, r.next)
		cols, err := columnsOf(m.Raw)
		if err == nil && !noValue(cols) {
			r.avail, err = available(cols)
		}
		if err != nil {
			return []Change{r.invalid(m.MT, nil, err)}
		}
	case mtNextResult:
		if r.phase != paging {
			return nil
		}
		cols, err := columnsOf(m.Raw)
		if err == nil && noRow(cols) {
			return r.complete()
		}
		r.out = append(r.out, r.next)
		var u User
		if err == nil {
			u, err = oneRow(cols, r.want)
		}
		if err != nil {
			return []Change{r.invalid(m.MT, cols, err)}
		}
		r.building[u.GUID] = u
	case mtAdd, mtUpdate:
		cols, err := columnsOf(m.Raw)
		var u User
		if err == nil {
			u, err = oneRow(cols, r.want)
		}
		if err != nil {
			return []Change{r.invalid(m.MT, cols, err)}
		}
		return r.put(u)
	case mtDel:
		cols, err := columnsOf(m.Raw)
		guid := ""
		if err == nil {
			if noValue(cols) {
				err = errors.New("no columns")
			} else {
				guid, err = guidOf(cols)
			}
		}
		if err != nil {
			return []Change{r.invalid(m.MT, cols, err)}
		}
		return r.remove(guid)
	default:
		return []Change{r.invalid(m.MT, nil, errors.New("not a message of the replication protocol"))}
	}
	return nil
}

// oneRow reads "columns" as the one row Replication.htm (build 132940)
// defines.
func oneRow(cols []byte, want map[string]bool) (User, error) {
	if noValue(cols) {
		return User{}, errors.New("no columns")
	}
	if cols[0] == '[' {
		return User{}, errors.New(`"columns" is an array, not one row`)
	}
	return row(cols, want)
}

// noValue reports whether a "columns" is absent or null.
func noValue(cols []byte) bool { return len(cols) == 0 || string(cols) == "null" }

// invalid reports a message that did not decode.
func (r *Replicator) invalid(mt string, cols []byte, err error) Change {
	switch mt {
	case mtStartResult, mtNextResult, mtAdd, mtUpdate, mtDel:
	default:
		mt = quoteName([]byte(mt)) // from the PBX: bounded
	}
	c := Change{Kind: Invalid, Session: r.session, Err: fmt.Errorf("tableusers: %s: %w", mt, err)}
	if len(cols) > 0 && cols[0] == '{' {
		c.GUID, _ = guidOf(cols)
	}
	return c
}

// put adds or replaces a row: in the table being built while replicating,
// in the live table after.
func (r *Replicator) put(u User) []Change {
	if r.phase != live {
		r.building[u.GUID] = u
		return nil
	}
	old, ok := r.table[u.GUID]
	r.table[u.GUID] = u
	switch {
	case !ok:
		return []Change{{Kind: Added, Session: r.session, GUID: u.GUID, New: u.clone()}}
	case !old.Equal(u):
		return []Change{{Kind: Changed, Session: r.session, GUID: u.GUID, Old: old, New: u.clone()}}
	}
	return nil
}

// remove deletes a row, as put.
func (r *Replicator) remove(guid string) []Change {
	if r.phase != live {
		delete(r.building, guid)
		return nil
	}
	old, ok := r.table[guid]
	if !ok {
		return nil
	}
	delete(r.table, guid)
	return []Change{{Kind: Removed, Session: r.session, GUID: guid, Old: old}}
}

// complete makes the table built the live one and returns the difference
// to the table before, sorted by guid, then Synced.
func (r *Replicator) complete() []Change {
	next, prev := r.building, r.table
	var out []Change
	for guid, u := range next {
		old, ok := prev[guid]
		switch {
		case !ok:
			out = append(out, Change{Kind: Added, Session: r.session, GUID: guid, New: u.clone()})
		case !old.Equal(u):
			out = append(out, Change{Kind: Changed, Session: r.session, GUID: guid, Old: old, New: u.clone()})
		}
	}
	for guid, old := range prev {
		if _, ok := next[guid]; !ok {
			out = append(out, Change{Kind: Removed, Session: r.session, GUID: guid, Old: old})
		}
	}
	slices.SortFunc(out, func(a, b Change) int { return cmp.Compare(a.GUID, b.GUID) })
	r.table, r.building, r.phase, r.synced = next, nil, live, true
	return append(out, Change{Kind: Synced, Session: r.session})
}

// Snapshot returns a copy of the table: the last complete replication with
// the live changes since (empty before the first one completed). It
// copies every user; Lookup and Len read one.
func (r *Replicator) Snapshot() map[string]User {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]User, len(r.table))
	for guid, u := range r.table {
		out[guid] = u.clone()
	}
	return out
}

// Lookup returns (a copy of) the user with the guid, if the table has it.
func (r *Replicator) Lookup(guid string) (User, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	u, ok := r.table[guid]
	return u.clone(), ok
}

// Len returns the number of users in the table.
func (r *Replicator) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.table)
}

// Synced reports whether a replication of the whole table has completed.
// It stays true across reconnects: the table is then the last complete
// one, live again when the new session's replication completes.
func (r *Replicator) Synced() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.synced
}

// Available returns the columns the PBX said it publishes, from the
// ReplicateStartResult of the current session (nil before it came, or if
// it named none).
func (r *Replicator) Available() map[string]Column {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.avail)
}
