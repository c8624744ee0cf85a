// Package pbxapitest is a fake of the PBX's PbxApi for tests: users with
// presence, the subscriptions to it, the users' profiles (favourites) and
// the node information, speaking what doc/appwebsocket/PbxApi.htm (13r1 SDK
// build 132940) documents. Put Fake.Handler in appwstest.Config.Handler
// (messages of other APIs go to appwstest.Echo), or Fake.Wrap(next) around
// another handler.
//
// What the fake does with each message:
//
//   - SubscribePresence (by sip, else num): SubscribePresenceResult, then
//     PresenceState (up, with the user's sip, num, dn and email) and
//     PresenceUpdate (the user's presence items, newest first); for an
//     unknown user a PresenceState with up false. Every later change of
//     the user (SetPresence from any session, the scripting methods) is
//     pushed to every subscription, each with its own src.
//   - UnsubscribePresence: ends the session's subscriptions to that sip or
//     num; UnsubscribePresenceResult.
//   - SetPresence (by sip or guid): replaces the user's presence item with
//     the same contact ("" is "tel:") and puts it first; SetPresenceResult,
//     with error 1 "no such user" or 2 "sip or guid required" on failure
//     (the codes are the fake's: PbxApi.htm lists none).
//   - SubscribeProfile: SubscribeProfileResult with the first profile of
//     the session's user (the login's sip, or its app when sip is empty);
//     later changes of that profile are pushed: ProfileContactAdded for a
//     new favourite and, since PbxApi.htm documents no message for an
//     update, for a changed one (same id); ProfileContactDeleted for a
//     deleted one.
//   - AddProfileContact, DelProfileContact, UpdateProfileContact change the
//     session user's profile with that id (Add creates a missing one) and
//     are answered with their Result (PbxApi.htm's general rule), with
//     error 1 for an unknown favourite or profile.
//   - GetNodeInfo: GetNodeInfoResult with SetNodeInfo's values
//     (area_code only when set: PbxApi.htm does not list it).
//   - UnsubscribeProfile: UnsubscribeProfileResult; other PbxApi messages
//     are recorded and ignored, as a PBX ignores what it does not know.
//
// Every message sent by the fake carries the src of the request or
// subscription it belongs to. The scripting methods send to the sessions
// before they return; with appwstest.Config.InMemory a write completes
// only when the client reads, so call them where the client's read-ahead
// has room. The methods are safe for concurrent use; sessions that ended
// are forgotten.
package pbxapitest

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/appwstest"
	"github.com/appwebsocket/appws/pbxapi"
)

// User is a user of the fake PBX.
type User struct {
	SIP, Num, DN, Email, GUID string
	// Presence is the user's presence items, newest first.
	Presence []pbxapi.Presence
}

func (u User) clone() User {
	u.Presence = slices.Clone(u.Presence)
	return u
}

// Fake is the fake PbxApi. Create it with New.
type Fake struct {
	mu          sync.Mutex
	users       []*User
	profiles    map[string][]*pbxapi.Profile // by owner; the first is the one monitored
	node        pbxapi.NodeInfo
	presSubs    []presSub
	profSubs    []profSub
	nextContact int
	received    appwstest.Record // the PbxApi messages, from every session
}

// presSub is a session's presence subscription.
type presSub struct {
	ss       *appwstest.Session
	src      string
	sip, num string
}

// profSub is a session's profile subscription.
type profSub struct {
	ss    *appwstest.Session
	src   string
	owner string
}

// DefaultNodeInfo is what GetNodeInfo answers until SetNodeInfo.
var DefaultNodeInfo = pbxapi.NodeInfo{Name: "master", PrefixIntl: "000", PrefixNtl: "00", CountryCode: "49"}

// New returns a fake with users (copied) and no profiles.
func New(users ...User) *Fake {
	f := &Fake{profiles: map[string][]*pbxapi.Profile{}, node: DefaultNodeInfo}
	for _, u := range users {
		c := u.clone()
		f.users = append(f.users, &c)
	}
	return f
}

// Handler handles the PbxApi messages of a session and passes the others
// to appwstest.Echo. Use it as appwstest.Config.Handler.
func (f *Fake) Handler(ss *appwstest.Session, m appws.Message) { f.handle(ss, m, appwstest.Echo) }

// Wrap returns a Handler that handles PbxApi messages and passes the
// others to next (nil: appwstest.Echo), to compose fakes.
func (f *Fake) Wrap(next func(*appwstest.Session, appws.Message)) func(*appwstest.Session, appws.Message) {
	if next == nil {
		next = appwstest.Echo
	}
	return func(ss *appwstest.Session, m appws.Message) { f.handle(ss, m, next) }
}

// request is the union of the request fields the fake reads.
type request struct {
	SIP      string `json:"sip"`
	Num      string `json:"num"`
	GUID     string `json:"guid"`
	Contact  any    `json:"contact"` // SetPresence: a string; the profile operations: an object
	Activity string `json:"activity"`
	Note     string `json:"note"`
	ID       int    `json:"id"`
	Name     string `json:"name"`
}

// contactReq is the "contact" object of the profile operations.
type contactReq struct {
	ID       int    `json:"id"`
	DN       string `json:"dn"`
	SIP      string `json:"sip"`
	Num      string `json:"num"`
	Name     string `json:"name"`
	Dsp      string `json:"dsp"`
	Presence bool   `json:"presence"`
	Dialog   bool   `json:"dialog"`
	Ext      string `json:"ext"`
}

func (f *Fake) handle(ss *appwstest.Session, m appws.Message, next func(*appwstest.Session, appws.Message)) {
	if m.API != pbxapi.API {
		next(ss, m)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.received.Add(ss, m)
	f.pruneLocked()
	var req request
	var creq struct {
		Contact contactReq `json:"contact"`
	}
	reply := map[string]any{"api": pbxapi.API, "mt": m.MT + "Result"}
	if m.Src != "" {
		reply["src"] = m.Src
	}
	fail := func(code int, text string) {
		reply["error"], reply["errorText"] = code, text
		send(ss, reply)
	}
	if err := m.Decode(&req); err != nil {
		fail(3, "bad request: "+err.Error())
		return
	}
	switch m.MT {
	case "SetPresence", "SubscribePresence", "UnsubscribePresence", "GetNodeInfo", "SubscribeProfile", "UnsubscribeProfile":
	default:
		if err := m.Decode(&creq); err != nil {
			fail(3, "bad request: "+err.Error())
			return
		}
	}
	owner := ss.Login().SIP
	if owner == "" {
		owner = ss.Login().App
	}
	switch m.MT {
	case "SubscribePresence":
		if req.SIP == "" && req.Num == "" {
			fail(2, "sip or num required")
			return
		}
		s := presSub{ss: ss, src: m.Src, sip: req.SIP, num: req.Num}
		f.presSubs = append(f.presSubs, s)
		send(ss, reply)
		u := f.findLocked(req.SIP, req.Num, "")
		if u == nil {
			send(ss, f.stateMsg(s, nil))
			return
		}
		send(ss, f.stateMsg(s, u))
		send(ss, f.updateMsg(s, u))
	case "UnsubscribePresence":
		f.presSubs = slices.DeleteFunc(f.presSubs, func(s presSub) bool {
			return s.ss == ss && s.sip == req.SIP && s.num == req.Num
		})
		send(ss, reply)
	case "SetPresence":
		contact, _ := req.Contact.(string)
		if req.SIP == "" && req.GUID == "" {
			fail(2, "sip or guid required")
			return
		}
		u := f.findLocked(req.SIP, "", req.GUID)
		if u == nil {
			fail(1, "no such user")
			return
		}
		send(ss, reply)
		f.setPresenceLocked(u, pbxapi.Presence{Contact: contact, Activity: req.Activity, Note: req.Note})
	case "GetNodeInfo":
		n := f.node
		reply["name"], reply["prefix_intl"], reply["prefix_ntl"] = n.Name, n.PrefixIntl, n.PrefixNtl
		reply["prefix_subs"], reply["country_code"] = n.PrefixSubs, n.CountryCode
		if n.AreaCode != "" {
			reply["area_code"] = n.AreaCode
		}
		send(ss, reply)
	case "SubscribeProfile":
		f.profSubs = append(f.profSubs, profSub{ss: ss, src: m.Src, owner: owner})
		if ps := f.profiles[owner]; len(ps) > 0 {
			reply["profile"] = ps[0]
		}
		send(ss, reply)
	case "UnsubscribeProfile":
		f.profSubs = slices.DeleteFunc(f.profSubs, func(s profSub) bool { return s.ss == ss })
		send(ss, reply)
	case "AddProfileContact":
		c := creq.Contact
		if c.SIP == "" && c.Num == "" && c.DN == "" {
			fail(2, "contact: dn, sip or num required")
			return
		}
		send(ss, reply)
		f.addLocked(owner, req.ID, req.Name, pbxapi.NewContact{DN: c.DN, SIP: c.SIP, Num: c.Num})
	case "DelProfileContact":
		if !f.deleteLocked(owner, req.ID, creq.Contact.ID, func() { send(ss, reply) }) {
			fail(1, "no such favourite")
		}
	case "UpdateProfileContact":
		c := creq.Contact
		nc := pbxapi.Contact{ID: c.ID, Name: c.Name, Num: c.Num, Dsp: c.Dsp, Presence: c.Presence, Dialog: c.Dialog, Ext: c.Ext}
		if !f.updateLocked(owner, req.ID, nc, func() { send(ss, reply) }) {
			fail(1, "no such favourite")
		}
	default:
		// A PBX ignores what it does not know.
	}
}

// send sends msg to ss; a failure means the session is going away.
func send(ss *appwstest.Session, msg any) { _ = ss.Send(msg) }

// pruneLocked forgets the subscriptions of sessions that ended.
func (f *Fake) pruneLocked() {
	ended := func(ss *appwstest.Session) bool {
		select {
		case <-ss.Done():
			return true
		default:
			return false
		}
	}
	f.presSubs = slices.DeleteFunc(f.presSubs, func(s presSub) bool { return ended(s.ss) })
	f.profSubs = slices.DeleteFunc(f.profSubs, func(s profSub) bool { return ended(s.ss) })
}

// findLocked returns the user with sip, else num, else guid.
func (f *Fake) findLocked(sip, num, guid string) *User {
	for _, u := range f.users {
		if (sip != "" && u.SIP == sip) || (sip == "" && num != "" && u.Num == num) ||
			(sip == "" && num == "" && guid != "" && u.GUID == guid) {
			return u
		}
	}
	return nil
}

// matches says whether subscription s is for u.
func (s presSub) matches(u *User) bool {
	if s.sip != "" {
		return s.sip == u.SIP
	}
	return s.num != "" && s.num == u.Num
}

func withSrc(m map[string]any, src string) map[string]any {
	if src != "" {
		m["src"] = src
	}
	return m
}

// stateMsg is the PresenceState of s: up with u's endpoint, or down (u nil).
func (f *Fake) stateMsg(s presSub, u *User) map[string]any {
	m := map[string]any{"api": pbxapi.API, "mt": "PresenceState", "up": u != nil, "sip": s.sip, "num": s.num}
	if u != nil {
		m["sip"], m["num"], m["dn"], m["email"] = u.SIP, u.Num, u.DN, u.Email
	}
	return withSrc(m, s.src)
}

func (f *Fake) updateMsg(s presSub, u *User) map[string]any {
	p := u.Presence
	if p == nil {
		p = []pbxapi.Presence{}
	}
	return withSrc(map[string]any{"api": pbxapi.API, "mt": "PresenceUpdate", "presence": p}, s.src)
}

// setPresenceLocked puts p first in u's presence, replacing the item with
// its contact, and pushes the PresenceUpdate.
func (f *Fake) setPresenceLocked(u *User, p pbxapi.Presence) {
	if p.Contact == "" {
		p.Contact = "tel:"
	}
	items := slices.DeleteFunc(slices.Clone(u.Presence), func(x pbxapi.Presence) bool { return x.Contact == p.Contact })
	u.Presence = append([]pbxapi.Presence{p}, items...)
	for _, s := range f.presSubs {
		if s.matches(u) {
			send(s.ss, f.updateMsg(s, u))
		}
	}
}

// pushProfileLocked sends a ProfileContact message about the first
// profile of owner to its subscribers.
func (f *Fake) pushProfileLocked(owner, mt string, profileID int, contact any) {
	for _, s := range f.profSubs {
		if s.owner == owner {
			send(s.ss, withSrc(map[string]any{"api": pbxapi.API, "mt": mt,
				"profile": map[string]any{"id": profileID, "contact": contact}}, s.src))
		}
	}
}

func (f *Fake) profileLocked(owner string, id int) (*pbxapi.Profile, bool) {
	for i, p := range f.profiles[owner] {
		if p.ID == id {
			return p, i == 0
		}
	}
	return nil, false
}

func (f *Fake) addLocked(owner string, id int, name string, c pbxapi.NewContact) pbxapi.Contact {
	p, first := f.profileLocked(owner, id)
	if p == nil {
		p = &pbxapi.Profile{ID: id, Name: name}
		f.profiles[owner] = append(f.profiles[owner], p)
		first = len(f.profiles[owner]) == 1
	}
	f.nextContact++
	known := f.findLocked(c.SIP, c.Num, "") != nil && (c.SIP != "" || c.Num != "")
	nc := pbxapi.Contact{ID: f.nextContact, Name: c.SIP, Num: c.Num, Dsp: c.DN, Presence: known, Dialog: known}
	p.Contacts = append(p.Contacts, nc)
	if first {
		f.pushProfileLocked(owner, "ProfileContactAdded", p.ID, nc)
	}
	return nc
}

// deleteLocked deletes the favourite id; answer runs before the push.
func (f *Fake) deleteLocked(owner string, profileID, id int, answer func()) bool {
	p, first := f.profileLocked(owner, profileID)
	if p == nil {
		return false
	}
	i := slices.IndexFunc(p.Contacts, func(c pbxapi.Contact) bool { return c.ID == id })
	if i < 0 {
		return false
	}
	p.Contacts = slices.Delete(p.Contacts, i, i+1)
	answer()
	if first {
		f.pushProfileLocked(owner, "ProfileContactDeleted", p.ID, map[string]int{"id": id})
	}
	return true
}

// updateLocked replaces the favourite c.ID; answer runs before the push.
func (f *Fake) updateLocked(owner string, profileID int, c pbxapi.Contact, answer func()) bool {
	p, first := f.profileLocked(owner, profileID)
	if p == nil {
		return false
	}
	i := slices.IndexFunc(p.Contacts, func(x pbxapi.Contact) bool { return x.ID == c.ID })
	if i < 0 {
		return false
	}
	p.Contacts[i] = c
	answer()
	if first {
		f.pushProfileLocked(owner, "ProfileContactAdded", p.ID, c)
	}
	return true
}

// SetPresence sets a presence item of the user sip, as a SetPresence
// from a client would ("" contact is "tel:"), and pushes the
// PresenceUpdate to its subscriptions.
func (f *Fake) SetPresence(sip string, p pbxapi.Presence) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pruneLocked()
	u := f.findLocked(sip, "", "")
	if u == nil {
		return fmt.Errorf("pbxapitest: no user %q", sip)
	}
	f.setPresenceLocked(u, p)
	return nil
}

// AddUser adds a user, or replaces the one with its SIP, and pushes its
// PresenceState (up) and PresenceUpdate to the subscriptions to it.
func (f *Fake) AddUser(u User) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pruneLocked()
	c := u.clone()
	nu := &c
	if old := f.findLocked(u.SIP, "", ""); u.SIP != "" && old != nil {
		*old = c
		nu = old
	} else {
		f.users = append(f.users, nu)
	}
	for _, s := range f.presSubs {
		if s.matches(nu) {
			send(s.ss, f.stateMsg(s, nu))
			send(s.ss, f.updateMsg(s, nu))
		}
	}
}

// RemoveUser removes the user sip and pushes a PresenceState with up false
// to the subscriptions to it. It reports whether there was such a user.
func (f *Fake) RemoveUser(sip string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pruneLocked()
	u := f.findLocked(sip, "", "")
	if u == nil {
		return false
	}
	f.users = slices.DeleteFunc(f.users, func(x *User) bool { return x == u })
	for _, s := range f.presSubs {
		if s.matches(u) {
			send(s.ss, f.stateMsg(s, nil))
		}
	}
	return true
}

// User returns a copy of the user sip.
func (f *Fake) User(sip string) (User, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if u := f.findLocked(sip, "", ""); u != nil {
		return u.clone(), true
	}
	return User{}, false
}

// SetProfile makes p (copied) the first profile of owner (a login's sip,
// or its app when the login has no sip). Nothing is pushed: set profiles
// up before the client subscribes, or change them with AddContact,
// UpdateContact and DeleteContact. Favourite ids are the test's; those the
// fake hands out come after the largest it was given.
func (f *Fake) SetProfile(owner string, p pbxapi.Profile) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := p
	c.Contacts = slices.Clone(p.Contacts)
	for _, x := range c.Contacts {
		f.nextContact = max(f.nextContact, x.ID)
	}
	ps := slices.DeleteFunc(f.profiles[owner], func(x *pbxapi.Profile) bool { return x.ID == p.ID })
	f.profiles[owner] = append([]*pbxapi.Profile{&c}, ps...)
}

// Profile returns a copy of the first profile of owner.
func (f *Fake) Profile(owner string) (pbxapi.Profile, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ps := f.profiles[owner]
	if len(ps) == 0 {
		return pbxapi.Profile{}, false
	}
	p := *ps[0]
	p.Contacts = slices.Clone(p.Contacts)
	return p, true
}

// AddContact adds a favourite to the first profile of owner (creating
// profile 1 if it has none), as AddProfileContact does, pushes
// ProfileContactAdded and returns the new favourite.
func (f *Fake) AddContact(owner string, c pbxapi.NewContact) pbxapi.Contact {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pruneLocked()
	id := 1
	if ps := f.profiles[owner]; len(ps) > 0 {
		id = ps[0].ID
	}
	return f.addLocked(owner, id, "", c)
}

// UpdateContact replaces the favourite c.ID of the first profile of owner
// and pushes it in a ProfileContactAdded.
func (f *Fake) UpdateContact(owner string, c pbxapi.Contact) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pruneLocked()
	if ps := f.profiles[owner]; len(ps) == 0 || !f.updateLocked(owner, ps[0].ID, c, func() {}) {
		return fmt.Errorf("pbxapitest: %q has no favourite %d", owner, c.ID)
	}
	return nil
}

// DeleteContact deletes the favourite id of the first profile of owner
// and pushes ProfileContactDeleted.
func (f *Fake) DeleteContact(owner string, id int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pruneLocked()
	if ps := f.profiles[owner]; len(ps) == 0 || !f.deleteLocked(owner, ps[0].ID, id, func() {}) {
		return fmt.Errorf("pbxapitest: %q has no favourite %d", owner, id)
	}
	return nil
}

// SetNodeInfo sets what GetNodeInfo answers.
func (f *Fake) SetNodeInfo(n pbxapi.NodeInfo) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.node = n
}

// Received returns the PbxApi messages received so far from every session,
// in order (copies; Message.Session is the appwstest Session.ID).
func (f *Fake) Received() []appws.Message { return f.received.Messages("") }

// WaitFor waits until n PbxApi messages with mt were received and returns
// them all (decode one with Message.Decode to check its fields). When ctx
// ends first, it returns those it has and an error that wraps ctx's.
func (f *Fake) WaitFor(ctx context.Context, mt string, n int) ([]appws.Message, error) {
	return f.received.WaitFor(ctx, mt, n)
}
