// Package rcctest is a fake of the PBX's RCC API for tests of code that
// uses package rcc, as net/http/httptest is for net/http: an opt-in
// Handler for appwstest.Config.Handler, scriptable from the test.
//
//	pbx := rcctest.New(rcctest.User{GUID: "a1", CN: "alice", E164: "10"})
//	srv := appwstest.NewServer(appwstest.Config{Apps: map[string]string{"svc": "pw"}, Handler: pbx.Handler})
//	...
//	id, _ := pbx.StartCall("alice", rcctest.Party{E164: "200"}, true) // a call comes in
//	_ = pbx.SetCall(id, rcc.StateConnected)                            // and is answered
//	_ = pbx.EndCall(id)                                                // the peer hangs up
//
// It speaks what doc/appwebsocket/RCC.htm (13r1 SDK build 132940)
// documents, in both of its modes:
//
//   - Initialize: a UserInfo for every user, then InitializeResult, all
//     with Initialize's src; later user changes go to the session as
//     UserInfo with "update" ("add", "upd", "del"). A user's UserInfo
//     carries "alert" and "channel" (its alerting calls and all its calls,
//     as the SOAP API defines them) and is sent again when they change.
//   - Initialize with "calls":true (calls mode, build 132455): besides the
//     users, every call of the PBX as CallAdd (after InitializeResult for
//     the calls already up), CallUpdate ("msg", "local", "remote"; no
//     state, as documented) and CallDel, with Initialize's src.
//   - UserInitialize: UserInitializeResult with a fresh user handle and the
//     user's Prefixes (and Mobile when UserInitialize's hw is its HW), then
//     a CallInfo for each call the user has; later every change of the
//     user's calls is a CallInfo with UserInitialize's src. A call that
//     ends gets a CallInfo with msg "r-rel" (ended by the test or the peer)
//     or "x-rel" (UserClear), then the last one with msg "del". An unknown
//     cn gets a Result without a user handle.
//   - Devices: DevicesResult with the user's devices.
//   - UserCall places an outgoing call in state setup, which the test moves
//     on; UserClear ends a call, UserConnect connects it, UserHold and
//     UserRetrieve set and clear the hold bit (UserHold's "remote" is
//     recorded only). UserEnd stops a UserInitialize's CallInfos. UserPark
//     and UserPickup answer with the call's own handle. UserTransfer,
//     UserMediaTransfer, UserRedirect, UserReroute, UserDTMF, UserUUI,
//     UserInfo, UserRc, UserCtrlCall and UserCtComplete are answered with
//     their Result only. An operation on a call the PBX does not have is
//     answered with "error" in its Result. Other RCC messages are ignored,
//     as a PBX ignores what it does not know; all are recorded (Received,
//     WaitFor).
//
// Call "state" follows the SOAP API's state table: the phase in the low
// four bits (rcc.State), 0x80 for a call from the PBX to the user's phone
// (incoming for the user), 0x100 on hold. Initialize's limit is ignored:
// the whole list goes out at once.
//
// The scripting methods send to the sessions before they return, and an
// in-memory session (appwstest.Config.InMemory) completes a write only when
// the client reads it: call them where the client's read-ahead has room,
// not with more than a few unconsumed messages pending on the goroutine
// that consumes them. The methods are safe for concurrent use; sessions
// that ended are forgotten.
package rcctest

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/appwstest"
	"github.com/appwebsocket/appws/rcc"
)

// Fake is a fake PBX speaking the RCC API. New makes one.
type Fake struct {
	mu       sync.Mutex
	users    []User
	monitors []monitor // sessions that sent Initialize
	watchers []watcher // UserInitialize: sessions watching one user
	calls    []*call
	nextUser int
	nextCall int
	received appwstest.Record // the RCC messages, from every session
}

// User is a user of the fake PBX.
type User struct {
	GUID, CN, DN, E164, H323, Node, PBX, Pseudo string
	// Devices are returned by Devices and sent as the user's "regs".
	Devices []Device
	// Prefixes go into UserInitializeResult.
	Prefixes Prefixes
	// Mobile goes into UserInitializeResult when UserInitialize's hw is
	// Mobile.HW.
	Mobile *Mobile
}

// Device is a device of a User.
type Device struct{ HW, Text string }

// Prefixes are the dialing prefixes and codes of a user's node.
type Prefixes struct{ Intl, Ntl, Subs, Area, Country string }

// Mobile is a mobile endpoint of a User.
type Mobile struct {
	HW, E164, H323 string
	Off            bool
}

// Party is the far end of a call.
type Party struct{ CN, DN, E164, H323 string }

// Call is a call of the fake PBX, as Calls returns it.
type Call struct {
	// ID is the call's handle in CallInfo, CallAdd, ...
	ID int
	// User is the CN of the call's user.
	User string
	Peer Party
	// State is the "state" bit field.
	State int
	// Msg is the msg of its latest CallInfo.
	Msg string
	// Conf is the conference id, CallID CallAdd's call-id.
	Conf, CallID string
}

type call struct{ Call }

// monitor is a session that sent Initialize.
type monitor struct {
	ss    *appwstest.Session
	src   string
	calls bool
}

// watcher is a session that sent UserInitialize.
type watcher struct {
	ss     *appwstest.Session
	src    string
	handle int
	cn     string
}

// New returns a fake PBX with users (copied).
func New(users ...User) *Fake {
	return &Fake{users: slices.Clone(users)}
}

// Handler handles the RCC messages of a session and passes the others to
// appwstest.Echo. Use it as appwstest.Config.Handler.
func (f *Fake) Handler(ss *appwstest.Session, m appws.Message) { f.handle(ss, m, appwstest.Echo) }

// Wrap returns a Handler that handles RCC messages and passes the others
// to next (nil: appwstest.Echo), to compose the fake with other handlers.
func (f *Fake) Wrap(next func(*appwstest.Session, appws.Message)) func(*appwstest.Session, appws.Message) {
	if next == nil {
		next = appwstest.Echo
	}
	return func(ss *appwstest.Session, m appws.Message) { f.handle(ss, m, next) }
}

// request is the union of the request fields the fake reads.
type request struct {
	CN    string `json:"cn"`
	HW    string `json:"hw"`
	User  int    `json:"user"`
	Call  int    `json:"call"`
	A     int    `json:"a"`
	B     int    `json:"b"`
	E164  string `json:"e164"`
	H323  string `json:"h323"`
	Calls bool   `json:"calls"`
}

func (f *Fake) handle(ss *appwstest.Session, m appws.Message, next func(*appwstest.Session, appws.Message)) {
	if m.API != rcc.API {
		next(ss, m)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.received.Add(ss, m)
	f.pruneLocked()
	var req request
	if m.Decode(&req) != nil {
		return // a PBX ignores what it cannot read
	}
	reply := result{API: rcc.API, MT: m.MT + "Result", Src: m.Src}
	switch m.MT {
	case "Initialize":
		mon := monitor{ss: ss, src: m.Src, calls: req.Calls}
		f.monitors = append(f.monitors, mon)
		for _, u := range f.users {
			send(ss, f.userInfoLocked(u, "", m.Src))
		}
		send(ss, reply)
		if mon.calls {
			for _, c := range f.calls {
				send(ss, f.callAddLocked(mon, c))
			}
		}
	case "UserInitialize":
		f.userInitializeLocked(ss, m.Src, req, reply)
	case "UserEnd":
		f.watchers = slices.DeleteFunc(f.watchers, func(w watcher) bool { return w.ss == ss && w.handle == req.User })
		send(ss, reply)
	case "Devices":
		devs := []device{}
		if u := f.userLocked(req.CN); u != nil {
			for _, d := range u.Devices {
				devs = append(devs, device(d))
			}
		}
		send(ss, devicesResult{result: reply, Devices: devs})
	case "UserCall":
		w := f.watcherLocked(ss, req.User)
		if w == nil {
			reply.Error = "no such user"
			send(ss, reply)
			return
		}
		c, a, ch := f.newCallLocked(w.cn, Party{CN: req.CN, E164: req.E164, H323: req.H323}, false)
		send(ss, callResult{result: reply, Call: c.ID})
		f.announceLocked(c, a, ch)
	case "UserTransfer", "UserMediaTransfer":
		if f.callLocked(req.A) == nil || f.callLocked(req.B) == nil {
			reply.Error = "no such call"
		}
		send(ss, reply)
	case "UserClear", "UserConnect", "UserHold", "UserRetrieve", "UserRedirect", "UserReroute",
		"UserDTMF", "UserUUI", "UserInfo", "UserPickup", "UserPark", "UserRc", "UserCtrlCall", "UserCtComplete":
		c := f.callLocked(req.Call)
		if c == nil && m.MT != "UserPickup" {
			reply.Error = "no such call"
			send(ss, reply)
			return
		}
		if m.MT == "UserPickup" || m.MT == "UserPark" {
			send(ss, callResult{result: reply, Call: req.Call})
		} else {
			send(ss, reply)
		}
		switch m.MT {
		case "UserClear":
			f.endLocked(c, "x-rel")
		case "UserConnect":
			f.setLocked(c, c.State&^0xF|int(rcc.StateConnected))
		case "UserHold":
			f.setLocked(c, c.State|0x100)
		case "UserRetrieve":
			f.setLocked(c, c.State&^0x100)
		}
	}
}

func (f *Fake) userInitializeLocked(ss *appwstest.Session, src string, req request, reply result) {
	u := f.userLocked(req.CN)
	if u == nil {
		send(ss, reply) // no user handle: the SOAP API's 0
		return
	}
	f.nextUser++
	w := watcher{ss: ss, src: src, handle: f.nextUser, cn: req.CN}
	f.watchers = append(f.watchers, w)
	res := userInitResult{result: reply, User: w.handle, PrefixIntl: u.Prefixes.Intl, PrefixNtl: u.Prefixes.Ntl,
		PrefixSubs: u.Prefixes.Subs, Area: u.Prefixes.Area, Country: u.Prefixes.Country}
	if u.Mobile != nil && req.HW != "" && req.HW == u.Mobile.HW {
		res.Mobile = &mobile{u.Mobile.E164, u.Mobile.H323, u.Mobile.Off}
	}
	send(ss, res)
	for _, c := range f.calls {
		if c.User == req.CN {
			send(ss, callInfoOf(w, c))
		}
	}
}

// pruneLocked forgets the sessions that ended.
func (f *Fake) pruneLocked() {
	gone := func(ss *appwstest.Session) bool {
		select {
		case <-ss.Done():
			return true
		default:
			return false
		}
	}
	f.monitors = slices.DeleteFunc(f.monitors, func(m monitor) bool { return gone(m.ss) })
	f.watchers = slices.DeleteFunc(f.watchers, func(w watcher) bool { return gone(w.ss) })
}

// send sends msg to ss; a failure means the session is going away, which
// pruneLocked notices.
func send(ss *appwstest.Session, msg any) { _ = ss.Send(msg) }

func (f *Fake) userLocked(cn string) *User {
	for i := range f.users {
		if f.users[i].CN == cn {
			return &f.users[i]
		}
	}
	return nil
}

func (f *Fake) watcherLocked(ss *appwstest.Session, handle int) *watcher {
	for i := range f.watchers {
		if w := &f.watchers[i]; w.ss == ss && w.handle == handle {
			return w
		}
	}
	return nil
}

func (f *Fake) callLocked(id int) *call {
	for _, c := range f.calls {
		if c.ID == id {
			return c
		}
	}
	return nil
}

// The messages the fake sends, fields in the order of RCC.htm.
type (
	result struct {
		API   string `json:"api"`
		MT    string `json:"mt"`
		Src   string `json:"src,omitempty"`
		Error string `json:"error,omitempty"`
	}
	callResult struct {
		result
		Call int `json:"call"`
	}
	device struct {
		HW   string `json:"hw"`
		Text string `json:"text"`
	}
	devicesResult struct {
		result
		Devices []device `json:"devices"`
	}
	mobile struct {
		E164 string `json:"e164,omitempty"`
		H323 string `json:"h323,omitempty"`
		Off  bool   `json:"off,omitempty"`
	}
	userInitResult struct {
		result
		User       int     `json:"user,omitempty"`
		PrefixIntl string  `json:"prefixIntl,omitempty"`
		PrefixNtl  string  `json:"prefixNtl,omitempty"`
		PrefixSubs string  `json:"prefixSubs,omitempty"`
		Area       string  `json:"area,omitempty"`
		Country    string  `json:"country,omitempty"`
		Mobile     *mobile `json:"mobile,omitempty"`
	}
	reg struct {
		HW string `json:"hw"`
	}
	userInfo struct {
		API     string `json:"api"`
		MT      string `json:"mt"`
		Src     string `json:"src,omitempty"`
		Update  string `json:"update,omitempty"`
		GUID    string `json:"guid,omitempty"`
		CN      string `json:"cn"`
		DN      string `json:"dn,omitempty"`
		H323    string `json:"h323,omitempty"`
		E164    string `json:"e164,omitempty"`
		Node    string `json:"node,omitempty"`
		PBX     string `json:"pbx,omitempty"`
		Pseudo  string `json:"pseudo,omitempty"`
		Regs    []reg  `json:"regs,omitempty"`
		Alert   int    `json:"alert,omitempty"`
		Channel int    `json:"channel,omitempty"`
	}
	connector struct {
		Type string `json:"type"`
		CN   string `json:"cn,omitempty"`
		DN   string `json:"dn,omitempty"`
		H323 string `json:"h323,omitempty"`
		E164 string `json:"e164,omitempty"`
	}
	callInfo struct {
		API   string    `json:"api"`
		MT    string    `json:"mt"`
		Src   string    `json:"src,omitempty"`
		User  int       `json:"user"`
		Call  int       `json:"call"`
		Conf  string    `json:"conf"`
		State int       `json:"state"`
		Peer  connector `json:"peer"`
		Msg   string    `json:"msg"`
	}
	callAdd struct {
		API    string `json:"api"`
		MT     string `json:"mt"`
		Src    string `json:"src,omitempty"`
		GUID   string `json:"guid,omitempty"`
		CN     string `json:"cn"`
		Call   int    `json:"call"`
		State  int    `json:"state"`
		ConfID string `json:"conf-id"`
		CallID string `json:"call-id"`
	}
	endpoint struct {
		H323 string `json:"h323,omitempty"`
		E164 string `json:"e164,omitempty"`
	}
	callUpdate struct {
		API    string   `json:"api"`
		MT     string   `json:"mt"`
		Src    string   `json:"src,omitempty"`
		Call   int      `json:"call"`
		Msg    string   `json:"msg"`
		Local  endpoint `json:"local"`
		Remote endpoint `json:"remote"`
	}
	callDel struct {
		API  string `json:"api"`
		MT   string `json:"mt"`
		Src  string `json:"src,omitempty"`
		Call int    `json:"call"`
	}
)

// userInfoLocked is u's UserInfo, with its alert and channel counts.
func (f *Fake) userInfoLocked(u User, update, src string) userInfo {
	m := userInfo{API: rcc.API, MT: "UserInfo", Src: src, Update: update, GUID: u.GUID, CN: u.CN, DN: u.DN,
		H323: u.H323, E164: u.E164, Node: u.Node, PBX: u.PBX, Pseudo: u.Pseudo}
	for _, d := range u.Devices {
		m.Regs = append(m.Regs, reg{d.HW})
	}
	if update != "del" {
		m.Alert, m.Channel = f.countsLocked(u.CN)
	}
	return m
}

// countsLocked returns the alerting calls and all calls of user cn.
func (f *Fake) countsLocked(cn string) (alert, channel int) {
	for _, c := range f.calls {
		if c.User == cn {
			channel++
			if rcc.State(c.State&0xF) == rcc.StateAlert {
				alert++
			}
		}
	}
	return alert, channel
}

func callInfoOf(w watcher, c *call) callInfo {
	return callInfo{API: rcc.API, MT: "CallInfo", Src: w.src, User: w.handle, Call: c.ID, Conf: c.Conf,
		State: c.State, Peer: connector{"peer", c.Peer.CN, c.Peer.DN, c.Peer.H323, c.Peer.E164}, Msg: c.Msg}
}

func (f *Fake) callAddLocked(mon monitor, c *call) callAdd {
	var guid string
	if u := f.userLocked(c.User); u != nil {
		guid = u.GUID
	}
	return callAdd{API: rcc.API, MT: "CallAdd", Src: mon.src, GUID: guid, CN: c.User, Call: c.ID,
		State: c.State, ConfID: c.Conf, CallID: c.CallID}
}

func (f *Fake) callUpdateLocked(mon monitor, c *call) callUpdate {
	m := callUpdate{API: rcc.API, MT: "CallUpdate", Src: mon.src, Call: c.ID, Msg: c.Msg,
		Remote: endpoint{c.Peer.H323, c.Peer.E164}}
	if u := f.userLocked(c.User); u != nil {
		m.Local = endpoint{u.H323, u.E164}
	}
	return m
}

// publishLocked sends c's news to every session following it: CallInfo to
// the watchers of its user, CallAdd or CallUpdate in calls mode; then the
// user's UserInfo if its counts changed.
func (f *Fake) publishLocked(c *call, added bool) {
	f.sendCallLocked(c, func(w watcher) any { return callInfoOf(w, c) }, func(mon monitor) any {
		if added {
			return f.callAddLocked(mon, c)
		}
		return f.callUpdateLocked(mon, c)
	})
}

func (f *Fake) sendCallLocked(c *call, toWatcher func(watcher) any, toMonitor func(monitor) any) {
	for _, w := range f.watchers {
		if w.cn == c.User {
			send(w.ss, toWatcher(w))
		}
	}
	for _, mon := range f.monitors {
		if mon.calls {
			send(mon.ss, toMonitor(mon))
		}
	}
}

// userCountsLocked sends user cn's UserInfo to the monitors when its counts
// are not before's.
func (f *Fake) userCountsLocked(cn string, beforeAlert, beforeChannel int) {
	alert, channel := f.countsLocked(cn)
	if alert == beforeAlert && channel == beforeChannel {
		return
	}
	if u := f.userLocked(cn); u != nil {
		f.broadcastLocked(*u, "upd")
	}
}

// broadcastLocked sends a UserInfo update to every session that sent
// Initialize.
func (f *Fake) broadcastLocked(u User, update string) {
	for _, mon := range f.monitors {
		send(mon.ss, f.userInfoLocked(u, update, mon.src))
	}
}

// newCallLocked makes a call appear at user cn and returns it with the
// user's counts before it, for announceLocked.
func (f *Fake) newCallLocked(cn string, peer Party, incoming bool) (c *call, alert, channel int) {
	alert, channel = f.countsLocked(cn)
	f.nextCall++
	c = &call{Call{ID: f.nextCall, User: cn, Peer: peer, State: int(rcc.StateSetup), Msg: "r-setup",
		Conf: fmt.Sprintf("%032x", f.nextCall), CallID: fmt.Sprintf("%032x", 1<<20+f.nextCall)}}
	if incoming {
		c.State |= 0x80
		c.Msg = "x-setup"
	}
	f.calls = append(f.calls, c)
	return c, alert, channel
}

// announceLocked sends the news of a new call, then its user's counts.
func (f *Fake) announceLocked(c *call, alert, channel int) {
	f.publishLocked(c, true)
	f.userCountsLocked(c.User, alert, channel)
}

// phaseMsgs names the signalling message of each phase; the prefix says
// who sent it ("x-" the PBX to the phone, "r-" received from the phone).
var phaseMsgs = [...]string{1: "setup", 2: "setup-ack", 3: "call-proc", 4: "alert", 5: "conn", 6: "disc", 7: "disc", 8: "park"}

func (f *Fake) setLocked(c *call, state int) {
	a, ch := f.countsLocked(c.User)
	msg := ""
	if phase := state & 0xF; phase > 0 && phase < len(phaseMsgs) {
		// The phone answers an incoming call, the PBX one it placed.
		msg = "x-" + phaseMsgs[phase]
		if (state&0x80 != 0) == (phase >= 2 && phase <= 5) {
			msg = "r-" + phaseMsgs[phase]
		}
	}
	c.State, c.Msg = state, msg
	f.publishLocked(c, false)
	f.userCountsLocked(c.User, a, ch)
}

// endLocked releases c: its last CallInfos (msg, then "del"), CallDel in
// calls mode.
func (f *Fake) endLocked(c *call, msg string) {
	a, ch := f.countsLocked(c.User)
	c.Msg = msg
	f.sendCallLocked(c, func(w watcher) any { return callInfoOf(w, c) },
		func(mon monitor) any { return f.callUpdateLocked(mon, c) })
	c.Msg = "del"
	f.sendCallLocked(c, func(w watcher) any { return callInfoOf(w, c) },
		func(mon monitor) any { return callDel{API: rcc.API, MT: "CallDel", Src: mon.src, Call: c.ID} })
	f.calls = slices.DeleteFunc(f.calls, func(x *call) bool { return x == c })
	f.userCountsLocked(c.User, a, ch)
}

// AddUser adds a user (or replaces the one with its CN) and sends it as a
// UserInfo update to the sessions that sent Initialize.
func (f *Fake) AddUser(u User) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pruneLocked()
	update := "add"
	if old := f.userLocked(u.CN); old != nil {
		*old = u
		update = "upd"
	} else {
		f.users = append(f.users, u)
	}
	f.broadcastLocked(u, update)
}

// RemoveUser removes the user cn, ends its calls and sends a UserInfo with
// "update":"del". It reports whether there was such a user.
func (f *Fake) RemoveUser(cn string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pruneLocked()
	u := f.userLocked(cn)
	if u == nil {
		return false
	}
	gone := *u
	for _, c := range slices.Clone(f.calls) {
		if c.User == cn {
			f.endLocked(c, "r-rel")
		}
	}
	f.users = slices.DeleteFunc(f.users, func(x User) bool { return x.CN == cn })
	f.broadcastLocked(gone, "del")
	return true
}

// Users returns the users now.
func (f *Fake) Users() []User {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.users)
}

// StartCall makes a call appear at user cn, in state setup: incoming (from
// peer to the user's phone) or outgoing. It returns the call's handle, or
// an error if there is no such user.
func (f *Fake) StartCall(cn string, peer Party, incoming bool) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pruneLocked()
	if f.userLocked(cn) == nil {
		return 0, fmt.Errorf("rcctest: no user %q", cn)
	}
	c, a, ch := f.newCallLocked(cn, peer, incoming)
	f.announceLocked(c, a, ch)
	return c.ID, nil
}

// SetCall moves call id to phase (setup-ack, call-proc, alert, connected,
// disconnect sent or received, parked), keeping its direction and hold
// bits, and sends its news.
func (f *Fake) SetCall(id int, phase rcc.State) error {
	return f.change(id, func(c *call) { f.setLocked(c, c.State&^0xF|int(phase)&0xF) })
}

// HoldCall sets or clears the hold bit (0x100) of call id.
func (f *Fake) HoldCall(id int, hold bool) error {
	return f.change(id, func(c *call) {
		if hold {
			f.setLocked(c, c.State|0x100)
		} else {
			f.setLocked(c, c.State&^0x100)
		}
	})
}

// EndCall releases call id as the peer would: a CallInfo with msg "r-rel",
// then the last one with msg "del" (CallUpdate and CallDel in calls mode).
func (f *Fake) EndCall(id int) error {
	return f.change(id, func(c *call) { f.endLocked(c, "r-rel") })
}

func (f *Fake) change(id int, do func(*call)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pruneLocked()
	c := f.callLocked(id)
	if c == nil {
		return fmt.Errorf("rcctest: no call %d", id)
	}
	do(c)
	return nil
}

// Calls returns the calls now, oldest first.
func (f *Fake) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Call, len(f.calls))
	for i, c := range f.calls {
		out[i] = c.Call
	}
	return out
}

// Received returns the RCC messages received so far from every session,
// in order (copies; Message.Session is the appwstest Session.ID).
func (f *Fake) Received() []appws.Message { return f.received.Messages("") }

// WaitFor waits until n RCC messages with mt were received and returns
// them all (decode one with Message.Decode to check its fields). When ctx
// ends first, it returns those it has and an error that wraps ctx's.
func (f *Fake) WaitFor(ctx context.Context, mt string, n int) ([]appws.Message, error) {
	return f.received.WaitFor(ctx, mt, n)
}
