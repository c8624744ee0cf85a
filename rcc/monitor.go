package rcc

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/internal/outbox"
)

// Config configures a Monitor.
type Config struct {
	// Grp and Limit are sent in Initialize (see Initialize).
	Grp   bool
	Limit int
	// Calls selects calls mode (RCC.htm since build 132455): Initialize
	// asks for every call of the PBX ("calls":true), which the PBX reports
	// with CallAdd, CallUpdate and CallDel, and no UserInitialize is sent.
	// Only App objects may use it. This is how a service follows every call
	// of a large PBX; without it, the calls of each watched user are
	// followed with one UserInitialize per user.
	Calls bool
	// Watch says whose calls to follow: UserInitialize is sent for every
	// visible user it returns true for; in calls mode, the calls of the
	// users it returns false for are not reported. nil watches every user;
	// a Watch that always returns false keeps only the user list. It is
	// called with the Monitor's lock held and must not call the Monitor.
	Watch func(User) bool
	// Xfer and Disc are sent in every UserInitialize (see UserInitialize).
	Xfer, Disc bool
}

// Monitor keeps the users the PBX reports and the calls of the users it
// watches, learned from the events of an appws.Client fed to Handle, and
// sends what it needs with Sync. It starts no goroutine. Its methods may be
// called from any goroutine; Handle must still be given the events in the
// order the client delivered them.
type Monitor struct {
	cfg  Config
	gate outbox.Gate // one Sync at a time; not held with mu during a Send

	mu       sync.Mutex
	session  uint64 // the session handles and calls belong to; 0: none up
	initSrc  string // Initialize's src in session
	initSent bool   // Initialize sent (or being sent) in session
	listDone bool   // InitializeResult came in session
	synced   bool   // Synced reported in session
	seq      uint64 // numbers UserInitialize srcs, across sessions

	users    map[string]*userState // by key
	byHandle map[int]*userState    // by user handle, in session
	bySrc    map[string]*userState // by the src of the UserInitialize sent in session
	stale    map[string]struct{}   // kept users not yet seen in session's list

	// The users waiting for Sync to send their UserInitialize, in order;
	// entries whose user no longer waits are skipped.
	queue    []*userState
	qhead    int
	queued   int // users in state queued
	awaiting int // users in state queued or sent: Synced waits for them

	pbxCalls map[int]*pbxCall // calls mode, by call handle
	ended    endedCalls       // calls that ended in session

	work uint64 // steps of every loop over users or queues: the complexity test reads it
}

// initState is where a user's UserInitialize is in the session.
type initState uint8

const (
	notWatched initState = iota // none in this session
	queued                      // waits for Sync
	sent                        // sent, no Result yet
	watched                     // Result with the user handle came
	failed                      // Result without a handle, or undecodable
)

type userState struct {
	key     string
	u       User
	init    initState
	inQueue bool   // has an entry in Monitor.queue
	src     string // of the UserInitialize sent in session
	handle  int    // user handle in session, 0 while unknown
	w       Watched
	calls   map[int]*Call // user mode, by call handle
}

// pbxCall is a call of calls mode with the user CallAdd named.
type pbxCall struct {
	c        *Call
	guid, cn string
}

// New returns a Monitor with cfg. It does nothing until it is fed the
// client's events with Handle, from the first ConnectComplete on.
func New(cfg Config) *Monitor {
	return &Monitor{
		gate:     outbox.NewGate(),
		cfg:      cfg,
		users:    map[string]*userState{},
		byHandle: map[int]*userState{},
		bySrc:    map[string]*userState{},
		pbxCalls: map[int]*pbxCall{},
	}
}

// Handle updates the Monitor with ev, one event of the client, and returns
// what changed, in order (nil for events that change nothing, and for every
// Message that is not RCC or not of the Monitor's session). It never
// blocks, sends nothing and never fails: what it needs sent waits for Sync,
// and an RCC message it cannot use is reported as Invalid.
//
// The loss of a session (Disconnected, Closed, or the ConnectComplete of a
// new session whose Disconnected the consumer never saw) reports at once
// every call of the session ended, with Call.Lost, and forgets the user
// handles; the users are kept. The new session's ConnectComplete makes
// Sync send Initialize and UserInitialize again; the user list the PBX
// sends again is compared with the one kept (UserChanged, UserRemoved),
// and Synced ends the difference.
func (m *Monitor) Handle(ev appws.Event) []Change {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch ev := ev.(type) {
	case appws.ConnectComplete:
		if ev.Session == m.session {
			return nil
		}
		out := m.loseLocked(nil)
		m.startLocked(ev.Session)
		return out
	case appws.Disconnected, appws.Closed:
		return m.loseLocked(nil)
	case appws.Message:
		if ev.API != API || m.session == 0 || ev.Session != m.session {
			return nil
		}
		m.work++
		out := m.messageLocked(ev, nil)
		if !m.synced && m.listDone && m.awaiting == 0 {
			m.synced = true
			out = append(out, Change{Kind: Synced, Session: m.session})
		}
		return out
	}
	return nil
}

// startLocked begins session s: every user kept is stale until the PBX's
// list names it again.
func (m *Monitor) startLocked(s uint64) {
	m.session = s
	m.initSrc = "rcc-init-" + strconv.FormatUint(s, 10)
	m.initSent, m.listDone, m.synced = false, false, false
	m.stale = make(map[string]struct{}, len(m.users))
	for k := range m.users {
		m.work++
		m.stale[k] = struct{}{}
	}
	m.ended.reset()
}

// loseLocked ends what belonged to the session that is gone.
func (m *Monitor) loseLocked(out []Change) []Change {
	if m.session == 0 {
		return out
	}
	var withCalls []*userState
	for _, us := range m.users {
		m.work++
		if len(us.calls) > 0 {
			withCalls = append(withCalls, us)
		}
		us.init, us.inQueue, us.src, us.handle, us.w = notWatched, false, "", 0, Watched{}
	}
	slices.SortFunc(withCalls, func(a, b *userState) int { return cmp.Compare(a.key, b.key) })
	for _, us := range withCalls {
		out = m.endCallsLocked(us, true, out)
	}
	handles := make([]int, 0, len(m.pbxCalls))
	for h := range m.pbxCalls {
		handles = append(handles, h)
	}
	slices.Sort(handles)
	for _, h := range handles {
		pc := m.pbxCalls[h]
		pc.c.Lost = true
		out = append(out, Change{Kind: CallEnded, Session: m.session, User: m.pbxUserLocked(pc), Call: pc.c})
	}
	clear(m.pbxCalls)
	clear(m.byHandle)
	clear(m.bySrc)
	clear(m.queue)
	m.queue, m.qhead, m.queued, m.awaiting = m.queue[:0], 0, 0, 0
	m.session, m.initSent, m.listDone, m.stale = 0, false, false, nil
	return out
}

// endCallsLocked reports the calls of us ended, in handle order, and
// forgets them; unless lost, their handles are remembered as ended.
func (m *Monitor) endCallsLocked(us *userState, lost bool, out []Change) []Change {
	handles := make([]int, 0, len(us.calls))
	for h := range us.calls {
		handles = append(handles, h)
	}
	slices.Sort(handles)
	for _, h := range handles {
		c := us.calls[h] // no longer the Monitor's: handed out as is
		c.Lost = lost
		if !lost {
			m.ended.add(callKey{us.key, h})
		}
		out = append(out, Change{Kind: CallEnded, Session: c.Session, User: us.u.clone(), Call: c})
	}
	clear(us.calls)
	return out
}

// invalid reports an RCC message the Monitor could not use.
func (m *Monitor) invalid(out []Change, msg appws.Message, text string) []Change {
	return append(out, Change{Kind: Invalid, Session: m.session, Err: newError(msg.MT, text)})
}

// ours says whether src is the src of the Monitor's Initialize in the
// session (its UserInfos, InitializeResult and calls-mode messages carry
// it); a message without src is taken too.
func (m *Monitor) ours(src string) bool { return src == m.initSrc || src == "" }

func (m *Monitor) messageLocked(msg appws.Message, out []Change) []Change {
	switch msg.MT {
	case "UserInfo":
		if !m.ours(msg.Src) {
			return out
		}
		return m.userInfoLocked(msg, out)
	case "InitializeResult":
		if !m.ours(msg.Src) || m.listDone {
			return out
		}
		return m.listDoneLocked(msg, out)
	case "UserInitializeResult":
		return m.userInitResultLocked(msg, out)
	case "CallInfo":
		return m.callInfoLocked(msg, out)
	case "CallAdd", "CallUpdate", "CallDel", "CallDelete":
		if !m.cfg.Calls || !m.ours(msg.Src) {
			return out
		}
		return m.pbxCallLocked(msg, out)
	}
	return out
}

// userInfoMsg is the wire form of the UserInfo indication.
type userInfoMsg struct {
	User
	Update string `json:"update"`
}

func (m *Monitor) userInfoLocked(msg appws.Message, out []Change) []Change {
	var ui userInfoMsg
	if err := decode(msg, &ui); err != nil {
		return m.invalid(out, msg, "undecodable: "+err.Error())
	}
	key := ui.User.Key()
	if key == "" {
		return m.invalid(out, msg, "a user without guid and cn")
	}
	us := m.users[key]
	if ui.Update == "del" {
		if us != nil {
			out = m.removeLocked(us, out)
		}
		return out
	}
	delete(m.stale, key)
	u := ui.User
	switch {
	case us == nil:
		us = &userState{key: key, u: u}
		m.users[key] = us
		out = append(out, Change{Kind: UserAdded, Session: m.session, User: u.clone()})
	case !sameUser(&us.u, &u):
		old := us.u // no longer the Monitor's
		us.u = u
		out = append(out, Change{Kind: UserChanged, Session: m.session, User: u.clone(), Old: &old})
	}
	if !m.cfg.Calls {
		m.watchLocked(us)
	}
	return out
}

// watchLocked queues the UserInitialize of a user Watch selects. A user
// Watch no longer selects keeps its UserInitialize of this session; one
// not yet sent is not sent.
func (m *Monitor) watchLocked(us *userState) {
	want := m.cfg.Watch == nil || m.cfg.Watch(us.u)
	switch {
	case want && us.init == notWatched:
		us.init = queued
		m.queued++
		m.awaiting++
		if !us.inQueue {
			us.inQueue = true
			m.queue = append(m.queue, us)
		}
	case !want && us.init == queued:
		us.init = notWatched // its queue entry is skipped
		m.queued--
		m.awaiting--
	}
}

// removeLocked forgets a user, ending its calls.
func (m *Monitor) removeLocked(us *userState, out []Change) []Change {
	out = m.endCallsLocked(us, false, out)
	delete(m.users, us.key)
	delete(m.stale, us.key)
	switch us.init {
	case queued:
		m.queued--
		m.awaiting--
	case sent:
		m.awaiting--
	}
	us.init = notWatched
	if us.src != "" {
		delete(m.bySrc, us.src)
	}
	if us.handle != 0 && m.byHandle[us.handle] == us {
		delete(m.byHandle, us.handle)
	}
	return append(out, Change{Kind: UserRemoved, Session: m.session, User: us.u})
}

// listDoneLocked handles InitializeResult: the users kept from an earlier
// session that the new list did not name are removed.
func (m *Monitor) listDoneLocked(msg appws.Message, out []Change) []Change {
	m.listDone = true
	var r resultFields
	if err := msg.Decode(&r); err != nil {
		out = m.invalid(out, msg, "undecodable: "+err.Error())
	} else if e := resultError("Initialize", &r); e != nil {
		out = append(out, Change{Kind: Invalid, Session: m.session, Err: e})
	}
	keys := make([]string, 0, len(m.stale))
	for k := range m.stale {
		m.work++
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		out = m.removeLocked(m.users[k], out)
	}
	m.stale = nil
	return out
}

// userInitResult is the wire form of UserInitializeResult.
type userInitResult struct {
	resultFields
	User       int     `json:"user"`
	PrefixIntl string  `json:"prefixIntl"`
	PrefixNtl  string  `json:"prefixNtl"`
	PrefixSubs string  `json:"prefixSubs"`
	Area       string  `json:"area"`
	Country    string  `json:"country"`
	Mobile     *Mobile `json:"mobile"`
}

func (m *Monitor) userInitResultLocked(msg appws.Message, out []Change) []Change {
	us := m.bySrc[msg.Src]
	if us == nil || us.init != sent {
		return out // not the Monitor's, or answered already
	}
	m.awaiting--
	us.init = failed
	var r userInitResult
	if err := decode(msg, &r); err != nil {
		return m.invalid(out, msg, "undecodable: "+err.Error())
	}
	if e := resultError("UserInitialize", &r.resultFields); e != nil {
		e.Text = bound(us.u.CN + ": " + e.Text)
		return append(out, Change{Kind: Invalid, Session: m.session, Err: e})
	}
	if r.User == 0 {
		return m.invalid(out, msg, "no user handle for "+strconv.Quote(us.u.CN))
	}
	us.init = watched
	m.setHandle(us, r.User)
	us.w = Watched{Handle: r.User, Session: m.session, PrefixIntl: r.PrefixIntl, PrefixNtl: r.PrefixNtl,
		PrefixSubs: r.PrefixSubs, Area: r.Area, Country: r.Country, Mobile: r.Mobile}
	w := us.w.clone()
	return append(out, Change{Kind: UserWatched, Session: m.session, User: us.u.clone(), Watched: &w})
}

func (w Watched) clone() Watched {
	if w.Mobile != nil {
		mob := *w.Mobile
		w.Mobile = &mob
	}
	return w
}

func (m *Monitor) setHandle(us *userState, h int) {
	if us.handle != 0 && m.byHandle[us.handle] == us {
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

// ends says whether a CallInfo ends its call: its msg is "del" (the last
// CallInfo of every call), a release ("x-rel" sent, "r-rel" received), or
// it has "active":false (the SOAP API's end marker).
func (ci *callInfoMsg) ends() bool {
	return ci.Msg == "del" || strings.HasSuffix(ci.Msg, "-rel") || ci.Active != nil && !*ci.Active
}

func (m *Monitor) callInfoLocked(msg appws.Message, out []Change) []Change {
	var ci callInfoMsg
	if err := decode(msg, &ci); err != nil {
		return m.invalid(out, msg, "undecodable: "+err.Error())
	}
	if ci.Call == 0 {
		return m.invalid(out, msg, "no call handle")
	}
	us := m.byHandle[ci.User]
	if us == nil {
		// A CallInfo may come before UserInitializeResult: its src is the
		// UserInitialize's.
		if us = m.bySrc[msg.Src]; us == nil {
			return out // not a user the Monitor watches
		}
		if ci.User != 0 {
			m.setHandle(us, ci.User)
		}
	}
	k := callKey{us.key, ci.Call}
	if m.ended.has(k) {
		return out // a call that ended never comes back
	}
	c := us.calls[ci.Call]
	if ci.ends() {
		m.ended.add(k)
		if c == nil {
			return out
		}
		delete(us.calls, ci.Call)
		fillCallInfo(c, &ci)
		return append(out, Change{Kind: CallEnded, Session: m.session, User: us.u.clone(), Call: c})
	}
	kind := CallChanged
	if c == nil {
		if us.calls == nil {
			us.calls = map[int]*Call{}
		}
		c = &Call{User: us.key, Handle: ci.Call, Session: m.session}
		us.calls[ci.Call] = c
		kind = CallAdded
	}
	fillCallInfo(c, &ci)
	return append(out, Change{Kind: kind, Session: m.session, User: us.u.clone(), Call: c.clone()})
}

// fillCallInfo copies a CallInfo into c. Fields a CallInfo leaves out keep
// their values, except the state and msg, which every CallInfo carries.
func fillCallInfo(c *Call, ci *callInfoMsg) {
	c.setState(ci.State)
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

// pbxCallMsg is the union of CallAdd, CallUpdate and CallDel.
type pbxCallMsg struct {
	GUID   string   `json:"guid"`
	CN     string   `json:"cn"`
	Call   int      `json:"call"`
	State  *int     `json:"state"`
	ConfID string   `json:"conf-id"`
	CallID string   `json:"call-id"`
	Msg    string   `json:"msg"`
	Local  Endpoint `json:"local"`
	Remote Endpoint `json:"remote"`
}

// pbxCallLocked handles the calls mode's CallAdd, CallUpdate and CallDel
// (RCC.htm's Initialize calls them CallDelete once: both are taken).
func (m *Monitor) pbxCallLocked(msg appws.Message, out []Change) []Change {
	var pm pbxCallMsg
	if err := decode(msg, &pm); err != nil {
		return m.invalid(out, msg, "undecodable: "+err.Error())
	}
	if pm.Call == 0 {
		return m.invalid(out, msg, "no call handle")
	}
	k := callKey{"", pm.Call}
	if m.ended.has(k) {
		return out
	}
	pc := m.pbxCalls[pm.Call]
	switch msg.MT {
	case "CallAdd":
		if pc != nil {
			break // again: an update
		}
		u := User{GUID: pm.GUID, CN: pm.CN}
		if us := m.users[u.Key()]; us != nil {
			u = us.u
		}
		if m.cfg.Watch != nil && !m.cfg.Watch(u) {
			return out
		}
		pc = &pbxCall{c: &Call{User: u.Key(), Handle: pm.Call, Session: m.session}, guid: pm.GUID, cn: pm.CN}
		m.pbxCalls[pm.Call] = pc
		fillPBXCall(pc.c, &pm)
		return append(out, Change{Kind: CallAdded, Session: m.session, User: u.clone(), Call: pc.c.clone()})
	case "CallDel", "CallDelete":
		m.ended.add(k)
		if pc == nil {
			return out
		}
		delete(m.pbxCalls, pm.Call)
		return append(out, Change{Kind: CallEnded, Session: m.session, User: m.pbxUserLocked(pc), Call: pc.c})
	}
	if pc == nil {
		return out // a call not reported, or not watched
	}
	fillPBXCall(pc.c, &pm)
	return append(out, Change{Kind: CallChanged, Session: m.session, User: m.pbxUserLocked(pc), Call: pc.c.clone()})
}

// fillPBXCall copies what a CallAdd or CallUpdate carries into c. A
// CallUpdate has no state in RCC.htm: the state stays as CallAdd said
// unless one is sent.
func fillPBXCall(c *Call, pm *pbxCallMsg) {
	if pm.State != nil {
		c.setState(*pm.State)
	}
	if pm.ConfID != "" {
		c.Conf = pm.ConfID
	}
	if pm.CallID != "" {
		c.CallID = pm.CallID
	}
	if pm.Local != (Endpoint{}) {
		c.Local = pm.Local
	}
	if pm.Remote != (Endpoint{}) {
		c.Remote = pm.Remote
	}
	if pm.Msg != "" {
		c.Msg = pm.Msg
	}
}

// pbxUserLocked returns the user of a calls-mode call: from the list, or
// the guid and cn of its CallAdd.
func (m *Monitor) pbxUserLocked(pc *pbxCall) User {
	if us := m.users[pc.c.User]; us != nil {
		return us.u.clone()
	}
	return User{GUID: pc.guid, CN: pc.cn}
}

// callKey names a call: its user's key (empty in calls mode, where handles
// are the PBX's) and its handle.
type callKey struct {
	user string
	call int
}

// endedMax bounds the memory of ended calls per session: a message about
// one of the last endedMax calls that ended is ignored. The PBX's last
// messages about a call (a release, then "del") follow each other closely.
const endedMax = 4096

// endedCalls remembers the calls that ended in the session, the newest
// endedMax of them.
type endedCalls struct {
	set  map[callKey]struct{}
	ring []callKey
	next int
}

func (e *endedCalls) has(k callKey) bool {
	_, ok := e.set[k]
	return ok
}

func (e *endedCalls) add(k callKey) {
	if e.has(k) {
		return
	}
	if e.set == nil {
		e.set = map[callKey]struct{}{}
	}
	if len(e.ring) < endedMax {
		e.ring = append(e.ring, k)
	} else {
		delete(e.set, e.ring[e.next])
		e.ring[e.next] = k
		e.next = (e.next + 1) % endedMax
	}
	e.set[k] = struct{}{}
}

func (e *endedCalls) reset() {
	clear(e.set)
	e.ring, e.next = e.ring[:0], 0
}

// Session returns the session the Monitor's handles and calls belong to,
// 0 between sessions.
func (m *Monitor) Session() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.session
}

// Users returns the users known now, ordered by key.
func (m *Monitor) Users() []User {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]User, 0, len(m.users))
	for _, us := range m.users {
		out = append(out, us.u.clone())
	}
	slices.SortFunc(out, func(a, b User) int { return cmp.Compare(a.Key(), b.Key()) })
	return out
}

// User returns the user with key (User.Key), and whether it is known.
func (m *Monitor) User(key string) (User, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if us := m.users[key]; us != nil {
		return us.u.clone(), true
	}
	return User{}, false
}

// UserHandle returns the handle of a watched user (by key) for the User...
// operations, and whether the PBX gave one in this session.
func (m *Monitor) UserHandle(key string) (int, bool) {
	w, ok := m.Watched(key)
	return w.Handle, ok
}

// Watched returns what UserInitializeResult said about a watched user (by
// key) in this session, and whether it came.
func (m *Monitor) Watched(key string) (Watched, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	us := m.users[key]
	if us == nil || us.init != watched {
		return Watched{}, false
	}
	return us.w.clone(), true
}

// Calls returns the calls known now, ordered by user key and handle.
func (m *Monitor) Calls() []Call {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Call
	for _, us := range m.users {
		for _, c := range us.calls {
			out = append(out, *c.clone())
		}
	}
	for _, pc := range m.pbxCalls {
		out = append(out, *pc.c.clone())
	}
	slices.SortFunc(out, func(a, b Call) int {
		return cmp.Or(cmp.Compare(a.User, b.User), cmp.Compare(a.Handle, b.Handle))
	})
	return out
}
