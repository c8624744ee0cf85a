package appwstest

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/appwebsocket/appws"
)

// rccAPI is the "api" of the PBX's RCC API.
const rccAPI = "RCC"

// RCC is a fake of the PBX's RCC API (innovaphone's RCC.htm), an opt-in
// Handler: put RCC.Handler in Config.Handler (messages of other APIs go to
// Echo) or RCC.Wrap(next) around a Handler of your own. It keeps users and
// their devices and calls, which a test scripts (AddUser, StartCall,
// SetCall, EndCall, ...) and a client drives (UserCall, UserClear, ...):
//
//   - Initialize: a UserInfo for every user, then InitializeResult, all with
//     the request's src; later user changes go to the session as UserInfo
//     with "update" ("add", "upd", "del").
//   - UserInitialize: UserInitializeResult with a fresh user handle, then a
//     CallInfo (with the request's src) for each call the user has; later
//     every change of the user's calls is a CallInfo.
//   - Devices: DevicesResult with the user's devices.
//   - UserCall places an outgoing call (setup, then the test moves it on);
//     UserClear ends a call, UserConnect connects it, UserHold/UserRetrieve
//     set the hold bit. UserEnd, UserTransfer, UserRedirect, UserReroute,
//     UserDTMF, UserInfo, UserPickup, UserPark and UserRc are recorded and
//     answered with their Result only. An operation on an unknown call is
//     answered with "error" in the Result. Other RCC messages are ignored,
//     as a PBX ignores what it does not know.
//
// CallInfo "state" follows the PBX API's state table: the phase in the low
// four bits (1 setup ... 5 connect ... 8 parked), 0x80 for a call from the
// PBX to the user's phone (an incoming call), 0x100 on hold. A released
// call gets a last CallInfo with msg "r-rel" (ended by the test or the
// peer) or "x-rel" (UserClear).
//
// The scripting methods send to the sessions before they return, and a
// net.Pipe (Config.InMemory) write completes only when the client reads:
// call them where the client's read-ahead has room, not with more than a
// few unconsumed messages pending on the goroutine that consumes them.
// The methods are safe for concurrent use; sessions that ended are
// forgotten.
type RCC struct {
	mu       sync.Mutex
	users    []RCCUser
	monitors []rccSub // sessions that sent Initialize
	watchers []rccSub // UserInitialize: sessions watching one user
	calls    []*RCCCall
	nextUser int
	nextCall int
	received []appws.Message
	recvSig  chan struct{}
}

// RCCUser is a user of the fake PBX.
type RCCUser struct {
	GUID, CN, DN, E164, H323, Node string
	// Devices are returned by Devices and sent as the user's "regs".
	Devices []RCCDevice
}

// RCCDevice is a device of an RCCUser.
type RCCDevice struct{ HW, Text string }

// RCCParty is the far end of a call.
type RCCParty struct{ CN, DN, E164, H323 string }

// RCCCall is a call of the fake PBX.
type RCCCall struct {
	ID   int
	User string // the user's CN
	Peer RCCParty
	// State is the CallInfo "state" bit field.
	State int
	// Msg is the msg of its latest CallInfo.
	Msg  string
	Conf string
}

// rccSub is a session subscribed to users (Initialize) or to one user's
// calls (UserInitialize).
type rccSub struct {
	ss     *Session
	src    string
	handle int    // watchers: the user handle
	cn     string // watchers: the user
}

// NewRCC returns a fake with users (copied).
func NewRCC(users ...RCCUser) *RCC {
	return &RCC{users: slices.Clone(users), recvSig: make(chan struct{})}
}

// Handler handles the RCC messages of a session and passes the others to
// Echo. Use it as Config.Handler.
func (r *RCC) Handler(ss *Session, m appws.Message) { r.handle(ss, m, Echo) }

// Wrap returns a Handler that handles RCC messages and passes the others
// to next (nil: Echo), to compose the fake with other handlers.
func (r *RCC) Wrap(next func(*Session, appws.Message)) func(*Session, appws.Message) {
	if next == nil {
		next = Echo
	}
	return func(ss *Session, m appws.Message) { r.handle(ss, m, next) }
}

// rccMsg is the union of the request fields the fake reads.
type rccMsg struct {
	CN   string `json:"cn"`
	User int    `json:"user"`
	Call int    `json:"call"`
	E164 string `json:"e164"`
	H323 string `json:"h323"`
	Hold bool   `json:"hold"`
}

func (r *RCC) handle(ss *Session, m appws.Message, next func(*Session, appws.Message)) {
	if m.API != rccAPI {
		next(ss, m)
		return
	}
	var req rccMsg
	if err := m.Decode(&req); err != nil {
		ss.log.Info("appwstest: RCC message not understood", "mt", m.MT, "err", err)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recordLocked(ss, m)
	r.pruneLocked()
	reply := map[string]any{"api": rccAPI, "mt": m.MT + "Result"}
	if m.Src != "" {
		reply["src"] = m.Src
	}
	answer := func() { r.sendLocked(ss, reply) }
	switch m.MT {
	case "Initialize":
		r.monitors = append(r.monitors, rccSub{ss: ss, src: m.Src})
		for _, u := range r.users {
			r.sendLocked(ss, userInfo(u, "", m.Src))
		}
		answer()
	case "UserInitialize":
		r.nextUser++
		w := rccSub{ss: ss, src: m.Src, handle: r.nextUser, cn: req.CN}
		r.watchers = append(r.watchers, w)
		reply["user"] = w.handle
		answer()
		for _, c := range r.calls {
			if c.User == req.CN {
				r.sendLocked(ss, callInfo(w, c))
			}
		}
	case "UserEnd":
		r.watchers = slices.DeleteFunc(r.watchers, func(w rccSub) bool { return w.ss == ss && w.handle == req.User })
		answer()
	case "Devices":
		devs := []map[string]string{}
		if u := r.userLocked(req.CN); u != nil {
			for _, d := range u.Devices {
				devs = append(devs, map[string]string{"hw": d.HW, "text": d.Text})
			}
		}
		reply["devices"] = devs
		answer()
	case "UserCall":
		w := r.watcherLocked(ss, req.User)
		if w == nil {
			reply["error"] = "no such user"
			answer()
			return
		}
		c := r.newCallLocked(w.cn, RCCParty{CN: req.CN, E164: req.E164, H323: req.H323}, false)
		reply["call"] = c.ID
		answer()
		r.publishLocked(c)
	case "UserClear", "UserConnect", "UserHold", "UserRetrieve", "UserTransfer", "UserRedirect",
		"UserReroute", "UserDTMF", "UserInfo", "UserPickup", "UserPark", "UserRc":
		c := r.callLocked(req.Call)
		if c == nil && m.MT != "UserTransfer" && m.MT != "UserPickup" {
			reply["error"] = "no such call"
			answer()
			return
		}
		if m.MT == "UserPickup" || m.MT == "UserPark" {
			reply["call"] = req.Call
		}
		answer()
		switch m.MT {
		case "UserClear":
			r.endLocked(c, "x-rel")
		case "UserConnect":
			r.setLocked(c, c.State&^0xF|5, "")
		case "UserHold":
			r.setLocked(c, c.State|0x100, "")
		case "UserRetrieve":
			r.setLocked(c, c.State&^0x100, "")
		}
	default:
		ss.log.Info("appwstest: RCC message ignored", "mt", m.MT)
	}
}

func (r *RCC) recordLocked(ss *Session, m appws.Message) {
	m.Raw = bytes.Clone(m.Raw)
	m.Session = ss.id
	r.received = append(r.received, m)
	close(r.recvSig)
	r.recvSig = make(chan struct{})
}

// pruneLocked forgets the sessions that ended.
func (r *RCC) pruneLocked() {
	gone := func(s rccSub) bool {
		select {
		case <-s.ss.Done():
			return true
		default:
			return false
		}
	}
	r.monitors = slices.DeleteFunc(r.monitors, gone)
	r.watchers = slices.DeleteFunc(r.watchers, gone)
}

// sendLocked sends msg to ss; a failure means the session is going away.
func (r *RCC) sendLocked(ss *Session, msg any) {
	if err := ss.Send(msg); err != nil {
		ss.log.Debug("appwstest: RCC message not sent", "err", err)
	}
}

func (r *RCC) userLocked(cn string) *RCCUser {
	for i := range r.users {
		if r.users[i].CN == cn {
			return &r.users[i]
		}
	}
	return nil
}

func (r *RCC) watcherLocked(ss *Session, handle int) *rccSub {
	for i := range r.watchers {
		if w := &r.watchers[i]; w.ss == ss && w.handle == handle {
			return w
		}
	}
	return nil
}

func (r *RCC) callLocked(id int) *RCCCall {
	for _, c := range r.calls {
		if c.ID == id {
			return c
		}
	}
	return nil
}

func userInfo(u RCCUser, update, src string) map[string]any {
	m := map[string]any{"api": rccAPI, "mt": "UserInfo", "cn": u.CN}
	for k, v := range map[string]string{"src": src, "update": update, "guid": u.GUID, "dn": u.DN,
		"e164": u.E164, "h323": u.H323, "node": u.Node} {
		if v != "" {
			m[k] = v
		}
	}
	if len(u.Devices) > 0 {
		regs := make([]map[string]string, len(u.Devices))
		for i, d := range u.Devices {
			regs[i] = map[string]string{"hw": d.HW}
		}
		m["regs"] = regs
	}
	return m
}

func callInfo(w rccSub, c *RCCCall) map[string]any {
	peer := map[string]string{"type": "peer"}
	for k, v := range map[string]string{"cn": c.Peer.CN, "dn": c.Peer.DN, "e164": c.Peer.E164, "h323": c.Peer.H323} {
		if v != "" {
			peer[k] = v
		}
	}
	m := map[string]any{"api": rccAPI, "mt": "CallInfo", "user": w.handle, "call": c.ID,
		"conf": c.Conf, "state": c.State, "peer": peer, "msg": c.Msg}
	if w.src != "" {
		m["src"] = w.src
	}
	return m
}

// publishLocked sends c's CallInfo to every session watching its user.
func (r *RCC) publishLocked(c *RCCCall) {
	for _, w := range r.watchers {
		if w.cn == c.User {
			r.sendLocked(w.ss, callInfo(w, c))
		}
	}
}

// broadcastLocked sends a UserInfo update to every session that sent
// Initialize.
func (r *RCC) broadcastLocked(u RCCUser, update string) {
	for _, s := range r.monitors {
		r.sendLocked(s.ss, userInfo(u, update, s.src))
	}
}

func (r *RCC) newCallLocked(cn string, peer RCCParty, incoming bool) *RCCCall {
	r.nextCall++
	c := &RCCCall{ID: r.nextCall, User: cn, Peer: peer, State: 1, Msg: "r-setup",
		Conf: fmt.Sprintf("%032x", r.nextCall)}
	if incoming {
		c.State |= 0x80
		c.Msg = "x-setup"
	}
	r.calls = append(r.calls, c)
	return c
}

// phaseMsgs names the signalling message of each phase; the prefix says
// who sent it ("x-" the PBX to the phone, "r-" received from the phone).
var phaseMsgs = [...]string{1: "setup", 2: "setup-ack", 3: "call-proc", 4: "alert", 5: "conn", 6: "disc", 7: "disc", 8: "park"}

func (r *RCC) setLocked(c *RCCCall, state int, msg string) {
	if msg == "" {
		phase := state & 0xF
		if phase > 0 && phase < len(phaseMsgs) {
			// The phone answers an incoming call, the PBX one it placed.
			msg = "x-" + phaseMsgs[phase]
			if (state&0x80 != 0) == (phase >= 2 && phase <= 5) {
				msg = "r-" + phaseMsgs[phase]
			}
		}
	}
	c.State, c.Msg = state, msg
	r.publishLocked(c)
}

func (r *RCC) endLocked(c *RCCCall, msg string) {
	c.Msg = msg
	r.publishLocked(c)
	r.calls = slices.DeleteFunc(r.calls, func(x *RCCCall) bool { return x == c })
}

// AddUser adds a user (or replaces the one with its CN) and sends it as a
// UserInfo update to the sessions that sent Initialize.
func (r *RCC) AddUser(u RCCUser) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pruneLocked()
	update := "add"
	if old := r.userLocked(u.CN); old != nil {
		*old = u
		update = "upd"
	} else {
		r.users = append(r.users, u)
	}
	r.broadcastLocked(u, update)
}

// RemoveUser removes the user cn, ends its calls and sends a UserInfo with
// "update":"del". It reports whether there was such a user.
func (r *RCC) RemoveUser(cn string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pruneLocked()
	u := r.userLocked(cn)
	if u == nil {
		return false
	}
	gone := *u
	for _, c := range slices.Clone(r.calls) {
		if c.User == cn {
			r.endLocked(c, "r-rel")
		}
	}
	r.users = slices.DeleteFunc(r.users, func(x RCCUser) bool { return x.CN == cn })
	r.broadcastLocked(gone, "del")
	return true
}

// Users returns the users now.
func (r *RCC) Users() []RCCUser {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.users)
}

// StartCall makes a call appear at user cn, in state setup: incoming (from
// peer to the user's phone) or outgoing. It returns the call's id, the
// "call" handle of its CallInfos, or an error if there is no such user.
func (r *RCC) StartCall(cn string, peer RCCParty, incoming bool) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pruneLocked()
	if r.userLocked(cn) == nil {
		return 0, fmt.Errorf("appwstest: RCC: no user %q", cn)
	}
	c := r.newCallLocked(cn, peer, incoming)
	r.publishLocked(c)
	return c.ID, nil
}

// SetCall moves call id to phase (the low four bits of "state": 2
// setup-ack, 3 call-proc, 4 alert, 5 connect, 6 and 7 disconnect, 8
// parked), keeping its direction and hold bits, and sends its CallInfo.
func (r *RCC) SetCall(id, phase int) error {
	return r.change(id, func(c *RCCCall) { r.setLocked(c, c.State&^0xF|phase&0xF, "") })
}

// HoldCall sets or clears the hold bit (0x100) of call id.
func (r *RCC) HoldCall(id int, hold bool) error {
	return r.change(id, func(c *RCCCall) {
		if hold {
			r.setLocked(c, c.State|0x100, "")
		} else {
			r.setLocked(c, c.State&^0x100, "")
		}
	})
}

// EndCall releases call id: a last CallInfo with msg "r-rel".
func (r *RCC) EndCall(id int) error {
	return r.change(id, func(c *RCCCall) { r.endLocked(c, "r-rel") })
}

func (r *RCC) change(id int, f func(*RCCCall)) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pruneLocked()
	c := r.callLocked(id)
	if c == nil {
		return fmt.Errorf("appwstest: RCC: no call %d", id)
	}
	f(c)
	return nil
}

// Calls returns the calls now, oldest first.
func (r *RCC) Calls() []RCCCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]RCCCall, len(r.calls))
	for i, c := range r.calls {
		out[i] = *c
	}
	return out
}

// Received returns the RCC messages received so far from every session,
// in order (copies; Session is the Session.ID).
func (r *RCC) Received() []appws.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]appws.Message, len(r.received))
	for i, m := range r.received {
		m.Raw = bytes.Clone(m.Raw)
		out[i] = m
	}
	return out
}

// WaitFor waits until n RCC messages with mt were received and returns
// them (decode one with Message.Decode to check its fields).
func (r *RCC) WaitFor(ctx context.Context, mt string, n int) ([]appws.Message, error) {
	for {
		r.mu.Lock()
		var got []appws.Message
		for _, m := range r.received {
			if m.MT == mt {
				m.Raw = bytes.Clone(m.Raw)
				got = append(got, m)
			}
		}
		sig := r.recvSig
		r.mu.Unlock()
		if len(got) >= n {
			return got, nil
		}
		select {
		case <-sig:
		case <-ctx.Done():
			return got, fmt.Errorf("appwstest: RCC: waiting for %d %s, have %d: %w", n, mt, len(got), ctx.Err())
		}
	}
}
