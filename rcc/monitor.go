package rcc

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/appwebsocket/appws"
)

// Kind says what a Change reports.
type Kind int

// The kinds of Change.
const (
	// UserAdded: a user became visible (Change.User).
	UserAdded Kind = iota + 1
	// UserChanged: a visible user's data changed (Change.User).
	UserChanged
	// UserRemoved: a user was deleted or is no longer visible, also found
	// missing from the user list sent again after a reconnect.
	UserRemoved
	// UsersComplete: the PBX finished sending the user list
	// (InitializeResult); users missing from it were reported removed.
	UsersComplete
	// CallAdded: a monitored user has a new call (Change.Call).
	CallAdded
	// CallChanged: a call's state, peer or other data changed.
	CallChanged
	// CallEnded: a call was released, or its user removed, or the session
	// it was reported in was lost (Change.Call.Lost).
	CallEnded
	// SyncNeeded: the Monitor has messages to send (Initialize after a
	// new session, UserInitialize for new users): call Sync.
	SyncNeeded
)

var kindNames = [...]string{
	UserAdded:     "userAdded",
	UserChanged:   "userChanged",
	UserRemoved:   "userRemoved",
	UsersComplete: "usersComplete",
	CallAdded:     "callAdded",
	CallChanged:   "callChanged",
	CallEnded:     "callEnded",
	SyncNeeded:    "syncNeeded",
}

// String returns the kind's name, e.g. "callAdded".
func (k Kind) String() string {
	if k > 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// MarshalText makes a Kind its name in JSON.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// Change is one thing the Monitor learned from an event.
type Change struct {
	Kind Kind `json:"kind"`
	// User is the user concerned: for call changes the call's user.
	User User `json:"user"`
	// Call is the call, for CallAdded, CallChanged and CallEnded.
	Call *Call `json:"call,omitempty"`
}

// Call is a call of a monitored user, as its latest CallInfo described it.
type Call struct {
	// User is the key of the user the call belongs to (User.GUID, or the
	// CN when the user has no guid).
	User string `json:"user"`
	// Handle is the PBX's call handle: valid for call control (UserClear,
	// UserConnect, ...) in Session only.
	Handle  int    `json:"handle"`
	Session uint64 `json:"session"`
	// Conf is the conference id shared by all legs of one call.
	Conf       string    `json:"conf,omitempty"`
	State      State     `json:"state"`
	Direction  Direction `json:"direction"`
	Hold       bool      `json:"hold,omitempty"`
	HeldByPeer bool      `json:"heldByPeer,omitempty"`
	// RawState is the "state" bit field as received.
	RawState int         `json:"rawState"`
	Peer     Connector   `json:"peer"`
	No       []Connector `json:"no,omitempty"`
	// Msg is the signalling message behind the latest update, e.g.
	// "r-setup" or "x-rel".
	Msg  string `json:"msg,omitempty"`
	Info []Info `json:"info,omitempty"`
	// Lost is set on a CallEnded reported because the session was lost:
	// the call may well go on at the PBX.
	Lost bool `json:"lost,omitempty"`
}

// Config configures a Monitor.
type Config struct {
	// Grp and Limit are sent in Initialize.
	Grp   bool
	Limit int
	// Watch says whose calls to monitor: UserInitialize is sent for every
	// visible user it returns true for. nil watches every user; a Watch
	// that always returns false keeps only the user list.
	Watch func(User) bool
	// Xfer and Disc are sent in every UserInitialize.
	Xfer, Disc bool
}

// Monitor keeps the users the PBX reports and the calls of the users it
// watches, from the events of an appws.Client fed to Handle. It has no
// goroutines and no locks: use it from the goroutine that reads the
// client's events.
type Monitor struct {
	cfg      Config
	session  uint64 // the session the handles and calls belong to; 0: none up
	initSent bool   // Initialize was sent in session
	listDone bool   // InitializeResult came in session
	seq      uint64 // numbers UserInitialize srcs
	announce bool   // SyncNeeded must be reported

	users    map[string]*userState // by key
	byHandle map[int]*userState    // by user handle, in session
	bySrc    map[string]*userState // by the src of the UserInitialize sent
	toInit   []*userState          // watched users without UserInitialize
	stale    map[string]bool       // users not yet seen again in a new list
}

type userState struct {
	key    string
	u      User
	handle int    // 0: unknown
	src    string // of the UserInitialize sent in session, "" if none
	calls  map[int]*Call
}

// NewMonitor returns a Monitor with cfg. Feed it every event from the
// client's first ConnectComplete on.
func NewMonitor(cfg Config) *Monitor {
	return &Monitor{
		cfg:      cfg,
		users:    map[string]*userState{},
		byHandle: map[int]*userState{},
		bySrc:    map[string]*userState{},
	}
}

// ErrNoSession is returned by Sync before the Monitor was handed a
// ConnectComplete, and between sessions.
var ErrNoSession = errors.New("rcc: no session: feed the client's ConnectComplete to Monitor.Handle")

// initSrc is the src of the Monitor's Initialize: the UserInfos carry it.
const initSrc = "rcc-init"

// Handle updates the Monitor with ev and returns what changed (nil when
// nothing did, and for every Message that is not RCC). It never blocks and
// sends nothing; when it needs to send it reports SyncNeeded, and Sync does
// the sending.
//
// ConnectComplete of a new session: the calls of the old one are reported
// ended (Lost), user handles forgotten, and SyncNeeded reported (Initialize
// and UserInitialize go out again). Disconnected and Closed end the calls
// (Lost) at once. The users are kept, and compared with the list the PBX
// sends again: UserChanged and UserRemoved report the difference.
func (m *Monitor) Handle(ev appws.Event) []Change {
	var out []Change
	switch ev := ev.(type) {
	case appws.ConnectComplete:
		if ev.Session == m.session {
			return nil
		}
		out = m.lose(out)
		m.session = ev.Session
		m.announce = true
		m.stale = make(map[string]bool, len(m.users))
		for k := range m.users {
			m.stale[k] = true
		}
	case appws.Disconnected:
		out = m.lose(out)
	case appws.Closed:
		out = m.lose(out)
	case appws.Message:
		if ev.API != API || m.session == 0 || ev.Session != m.session {
			return nil
		}
		out = m.message(ev, out)
	}
	if m.announce {
		m.announce = false
		out = append(out, Change{Kind: SyncNeeded})
	}
	return out
}

// lose ends what belonged to the session that is gone.
func (m *Monitor) lose(out []Change) []Change {
	if m.session == 0 {
		return out
	}
	for _, us := range m.sortedUsers() {
		out = m.endCalls(us, true, out)
		us.handle, us.src = 0, ""
	}
	clear(m.byHandle)
	clear(m.bySrc)
	m.toInit = m.toInit[:0]
	m.session, m.initSent, m.listDone = 0, false, false
	return out
}

// endCalls reports the calls of us ended, in handle order, and forgets them.
func (m *Monitor) endCalls(us *userState, lost bool, out []Change) []Change {
	if len(us.calls) == 0 {
		return out
	}
	handles := make([]int, 0, len(us.calls))
	for h := range us.calls {
		handles = append(handles, h)
	}
	slices.Sort(handles)
	for _, h := range handles {
		c := *us.calls[h]
		c.Lost = lost
		out = append(out, Change{Kind: CallEnded, User: us.u, Call: &c})
	}
	clear(us.calls)
	return out
}

func (m *Monitor) sortedUsers() []*userState {
	out := make([]*userState, 0, len(m.users))
	for _, us := range m.users {
		out = append(out, us)
	}
	slices.SortFunc(out, func(a, b *userState) int { return cmp.Compare(a.key, b.key) })
	return out
}

func (m *Monitor) message(msg appws.Message, out []Change) []Change {
	switch msg.MT {
	case "UserInfo":
		var u struct {
			User
			Update string `json:"update"`
		}
		if msg.Decode(&u) != nil {
			return out
		}
		return m.userInfo(u.User, u.Update, out)
	case "InitializeResult":
		if msg.Src != initSrc {
			return out
		}
		m.listDone = true
		keys := make([]string, 0, len(m.stale))
		for k := range m.stale {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			out = m.remove(m.users[k], out)
		}
		clear(m.stale)
		return append(out, Change{Kind: UsersComplete})
	case "UserInitializeResult":
		us := m.bySrc[msg.Src]
		if us == nil {
			return out
		}
		var r struct {
			User int `json:"user"`
		}
		if msg.Decode(&r) == nil && r.User != 0 {
			m.setHandle(us, r.User)
		}
		return out
	case "CallInfo":
		return m.callInfo(msg, out)
	}
	return out
}

func userKey(u User) string {
	if u.GUID != "" {
		return u.GUID
	}
	return u.CN
}

func (m *Monitor) userInfo(u User, update string, out []Change) []Change {
	key := userKey(u)
	if key == "" {
		return out // the SOAP API's end-of-list marker has an empty cn
	}
	us := m.users[key]
	if update == "del" {
		if us != nil {
			out = m.remove(us, out)
		}
		return out
	}
	delete(m.stale, key)
	if us == nil {
		us = &userState{key: key, u: u, calls: map[int]*Call{}}
		m.users[key] = us
		out = append(out, Change{Kind: UserAdded, User: u})
	} else if !sameUser(us.u, u) {
		us.u = u
		out = append(out, Change{Kind: UserChanged, User: u})
	}
	// A user Watch no longer selects keeps its UserInitialize of this
	// session; one not yet sent is not sent.
	watched := m.cfg.Watch == nil || m.cfg.Watch(u)
	queued := slices.Contains(m.toInit, us)
	switch {
	case watched && us.src == "" && !queued:
		m.toInit = append(m.toInit, us)
		m.announce = true
	case !watched && queued:
		m.toInit = slices.DeleteFunc(m.toInit, func(x *userState) bool { return x == us })
	}
	return out
}

func sameUser(a, b User) bool {
	return a.GUID == b.GUID && a.CN == b.CN && a.DN == b.DN && a.H323 == b.H323 &&
		a.E164 == b.E164 && a.Node == b.Node && a.PBX == b.PBX && a.Pseudo == b.Pseudo &&
		slices.Equal(a.Regs, b.Regs)
}

// remove forgets a user, ending its calls.
func (m *Monitor) remove(us *userState, out []Change) []Change {
	out = m.endCalls(us, false, out)
	delete(m.users, us.key)
	delete(m.stale, us.key)
	if us.handle != 0 {
		delete(m.byHandle, us.handle)
	}
	if us.src != "" {
		delete(m.bySrc, us.src)
	}
	m.toInit = slices.DeleteFunc(m.toInit, func(x *userState) bool { return x == us })
	return append(out, Change{Kind: UserRemoved, User: us.u})
}

func (m *Monitor) setHandle(us *userState, h int) {
	if us.handle != 0 {
		delete(m.byHandle, us.handle)
	}
	us.handle = h
	m.byHandle[h] = us
}

// callInfoMsg is the wire form of CallInfo.
type callInfoMsg struct {
	User   int         `json:"user"`
	Call   int         `json:"call"`
	Conf   string      `json:"conf"`
	State  int         `json:"state"`
	Peer   Connector   `json:"peer"`
	No     []Connector `json:"no"`
	Msg    string      `json:"msg"`
	Info   []Info      `json:"info"`
	Active *bool       `json:"active"`
}

// released says whether a CallInfo ends its call: "active":false (the SOAP
// API's end marker) or a release message ("x-rel" sent, "r-rel" received).
func (ci *callInfoMsg) released() bool {
	if ci.Active != nil && !*ci.Active {
		return true
	}
	return strings.HasSuffix(ci.Msg, "-rel")
}

func (m *Monitor) callInfo(msg appws.Message, out []Change) []Change {
	var ci callInfoMsg
	if msg.Decode(&ci) != nil || ci.Call == 0 {
		return out
	}
	us := m.byHandle[ci.User]
	if us == nil {
		// A CallInfo may come before UserInitializeResult: its src is the
		// UserInitialize's.
		if us = m.bySrc[msg.Src]; us == nil {
			return out
		}
		if ci.User != 0 {
			m.setHandle(us, ci.User)
		}
	}
	c := us.calls[ci.Call]
	if ci.released() {
		if c == nil {
			return out
		}
		delete(us.calls, ci.Call)
		fill(c, &ci)
		ended := *c
		return append(out, Change{Kind: CallEnded, User: us.u, Call: &ended})
	}
	kind := CallChanged
	if c == nil {
		c = &Call{User: us.key, Handle: ci.Call, Session: m.session}
		us.calls[ci.Call] = c
		kind = CallAdded
	}
	fill(c, &ci)
	snap := *c
	return append(out, Change{Kind: kind, User: us.u, Call: &snap})
}

// fill copies a CallInfo into c. Fields a CallInfo leaves out keep their
// values, except the state, which every CallInfo carries.
func fill(c *Call, ci *callInfoMsg) {
	c.RawState = ci.State
	c.State, c.Direction, c.Hold, c.HeldByPeer = decodeState(ci.State)
	if ci.Conf != "" {
		c.Conf = ci.Conf
	}
	if ci.Peer != (Connector{}) {
		c.Peer = ci.Peer
	}
	if ci.No != nil {
		c.No = ci.No
	}
	if ci.Info != nil {
		c.Info = ci.Info
	}
	c.Msg = ci.Msg
}

// Pending reports whether Sync has something to send.
func (m *Monitor) Pending() bool {
	return m.session != 0 && (!m.initSent || len(m.toInit) > 0)
}

// Sync sends what the Monitor needs sent in the current session:
// Initialize once per session, then UserInitialize for every watched user
// without one. It is the one call to make after SyncNeeded, a reconnect
// included, and does nothing when nothing is pending, so calling it after
// every Handle is fine. ctx bounds each Send's wait for room in the send
// queue. On an error the rest stays pending for the next Sync (after a lost
// session, the next ConnectComplete starts over).
func (m *Monitor) Sync(ctx context.Context, s Sender) error {
	if m.session == 0 {
		return ErrNoSession
	}
	if !m.initSent {
		if _, err := s.Send(ctx, Initialize{Grp: m.cfg.Grp, Limit: m.cfg.Limit, Src: initSrc}); err != nil {
			return err
		}
		m.initSent = true
	}
	for len(m.toInit) > 0 {
		us := m.toInit[0]
		m.seq++
		src := "rcc-user-" + strconv.FormatUint(m.seq, 10)
		ui := UserInitialize{CN: us.u.CN, Xfer: m.cfg.Xfer, Disc: m.cfg.Disc, Src: src}
		if _, err := s.Send(ctx, ui); err != nil {
			return err
		}
		us.src = src
		m.bySrc[src] = us
		m.toInit = m.toInit[1:]
	}
	return nil
}

// Session returns the session the Monitor's call handles belong to, 0
// between sessions.
func (m *Monitor) Session() uint64 { return m.session }

// Users returns the users known now, by key.
func (m *Monitor) Users() []User {
	out := make([]User, 0, len(m.users))
	for _, us := range m.sortedUsers() {
		out = append(out, us.u)
	}
	return out
}

// UserHandle returns the handle of a watched user (by key: guid, or cn)
// for the User... operations, and whether it is known in this session.
func (m *Monitor) UserHandle(key string) (int, bool) {
	us := m.users[key]
	if us == nil || us.handle == 0 {
		return 0, false
	}
	return us.handle, true
}

// Calls returns the calls known now, ordered by user key and handle.
func (m *Monitor) Calls() []Call {
	var out []Call
	for _, us := range m.sortedUsers() {
		start := len(out)
		for _, c := range us.calls {
			out = append(out, *c)
		}
		slices.SortFunc(out[start:], func(a, b Call) int { return cmp.Compare(a.Handle, b.Handle) })
	}
	return out
}

var _ json.Marshaler = Initialize{}
