package pbxapi

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"sync"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/internal/outbox"
)

// Config configures a Watcher.
type Config struct {
	// Profile subscribes to the first profile (the favourites) of the
	// logged-in user from the start, as SubscribeProfile does.
	Profile bool
	// Src prefixes the src of every message the Watcher sends ("pbxapi"
	// when empty): give each Watcher on one connection its own.
	Src string
}

// Watcher follows what the PBX pushes on the PbxApi: the presence of the
// users it subscribed to, and the favourites of the first profile. Feed
// it every event of the client with Handle, and call Sync after each to
// send what it needs. It has no goroutines; every method is safe from any
// goroutine, but Handle must get the events in the order Events delivered
// them.
type Watcher struct {
	gate outbox.Gate // held by the one Sync that sends

	mu      sync.Mutex
	prefix  string
	seq     uint64 // numbers the srcs
	itemSeq uint64 // numbers the pending items
	session uint64 // the session up now (0: none)
	// syncing: Synced is not yet reported in this session; awaiting
	// counts the subscriptions sent in it whose state is not complete.
	syncing  bool
	awaiting int

	subs  []*sub // in subscription order
	byKey map[Target]*sub
	bySrc map[string]*sub // the srcs of this session's subscriptions

	pending  []item // to send in this session, in order
	inflight uint64 // the id of the item Sync is sending, 0: none

	profile profileState
}

// sub is one presence subscription.
type sub struct {
	src                       string // of this session's SubscribePresence; "" none
	awaiting                  bool   // counted in Watcher.awaiting
	live                      bool   // heard from in this session
	stateKnown, presenceKnown bool   // a PresenceState, a PresenceUpdate ever came
	s                         Subscription
}

// profileState is the profile subscription and the table it keeps.
type profileState struct {
	want     bool
	src      string // of this session's SubscribeProfile; "" none
	awaiting bool
	known    bool // a SubscribeProfileResult came
	p        Profile
}

// item is a message Sync is to send.
type item struct {
	id  uint64
	msg json.Marshaler
	sub *sub // the subscription a SubscribePresence is for
}

// New returns a Watcher with cfg. It sends nothing until it is fed a
// ConnectComplete and Sync is called.
func New(cfg Config) *Watcher {
	prefix := cfg.Src
	if prefix == "" {
		prefix = "pbxapi"
	}
	return &Watcher{
		gate:    outbox.NewGate(),
		prefix:  prefix,
		byKey:   map[Target]*sub{},
		bySrc:   map[string]*sub{},
		profile: profileState{want: cfg.Profile},
	}
}

// SubscribePresence subscribes to the presence of the user t names (by
// SIP URI or number): Sync sends SubscribePresence now if a session is up,
// and again in every new session, until UnsubscribePresence. A Target
// without SIP and Num is ErrNoTarget; one subscribed already changes
// nothing.
func (w *Watcher) SubscribePresence(t Target) error {
	if t.SIP == "" && t.Num == "" {
		return ErrNoTarget
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.byKey[t] != nil {
		return nil
	}
	s := &sub{s: Subscription{Target: t}}
	w.subs = append(w.subs, s)
	w.byKey[t] = s
	if w.session != 0 {
		w.queueSub(s)
	}
	return nil
}

// UnsubscribePresence ends the subscription to t and forgets its state;
// Sync sends UnsubscribePresence if SubscribePresence was sent in this
// session. It reports no Change. A Target without a subscription is
// ErrNotSubscribed.
func (w *Watcher) UnsubscribePresence(t Target) error {
	if t.SIP == "" && t.Num == "" {
		return ErrNoTarget
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.byKey[t]
	if s == nil {
		return ErrNotSubscribed
	}
	delete(w.byKey, t)
	w.subs = slices.DeleteFunc(w.subs, func(x *sub) bool { return x == s })
	if s.awaiting {
		w.awaiting--
	}
	if s.src == "" {
		return nil
	}
	delete(w.bySrc, s.src)
	if !w.unqueue(func(it item) bool { return it.sub == s }) {
		w.queue(unsubscribePresence{SIP: t.SIP, Num: t.Num, Src: s.src}, nil)
	}
	return nil
}

// SubscribeProfile subscribes to the first profile of the logged-in user:
// its favourites are kept as a table (Profile), reported as they change,
// and subscribed again in every new session.
func (w *Watcher) SubscribeProfile() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.profile.want {
		return
	}
	w.profile.want = true
	if w.session != 0 {
		w.queueProfile()
	}
}

// UnsubscribeProfile ends the profile subscription and forgets the table;
// Sync sends UnsubscribeProfile if SubscribeProfile was sent in this
// session.
func (w *Watcher) UnsubscribeProfile() {
	w.mu.Lock()
	defer w.mu.Unlock()
	ps := &w.profile
	if !ps.want {
		return
	}
	if ps.awaiting {
		w.awaiting--
	}
	src := ps.src
	*ps = profileState{}
	if src == "" {
		return
	}
	if !w.unqueue(func(it item) bool { _, ok := it.msg.(subscribeProfile); return ok }) {
		w.queue(unsubscribeProfile{Src: src}, nil)
	}
}

// nextSrc returns a fresh src of the Watcher's.
func (w *Watcher) nextSrc(kind string) string {
	w.seq++
	return w.prefix + "-" + kind + strconv.FormatUint(w.seq, 10)
}

func (w *Watcher) queue(msg json.Marshaler, s *sub) {
	w.itemSeq++
	w.pending = append(w.pending, item{id: w.itemSeq, msg: msg, sub: s})
}

// unqueue removes the first pending item match selects, unless Sync is
// sending it; it reports whether it removed one.
func (w *Watcher) unqueue(match func(item) bool) bool {
	for i, it := range w.pending {
		if match(it) {
			if it.id == w.inflight {
				return false
			}
			w.pending = slices.Delete(w.pending, i, i+1)
			return true
		}
	}
	return false
}

// queueSub queues s's SubscribePresence for this session with a fresh src.
func (w *Watcher) queueSub(s *sub) {
	s.src = w.nextSrc("p")
	w.bySrc[s.src] = s
	if w.syncing {
		s.awaiting = true
		w.awaiting++
	}
	w.queue(subscribePresence{SIP: s.s.Target.SIP, Num: s.s.Target.Num, Src: s.src}, s)
}

func (w *Watcher) queueProfile() {
	ps := &w.profile
	ps.src = w.nextSrc("profile")
	if w.syncing {
		ps.awaiting = true
		w.awaiting++
	}
	w.queue(subscribeProfile{Src: ps.src}, nil)
}

// Pending reports whether Sync has something to send.
func (w *Watcher) Pending() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.session != 0 && len(w.pending) > 0
}

// Sync sends what is pending, in order: after a ConnectComplete every
// subscription, after SubscribePresence and the others their message. It
// does nothing when nothing is pending, so the loop calls it after every
// Handle. ctx bounds each Send's wait for room in the send queue. A Send
// that fails leaves its message and those after it pending for the next
// Sync, and Sync returns its error. One Sync sends at a time; Sync does not
// hold the Watcher's lock while it sends.
//
// When s has a Session method (an *appws.Client has) and its session is
// not the one the Watcher was last fed, Sync sends nothing and returns
// nil: the messages are for a session that is gone, and the events still
// to come (Disconnected, the next ConnectComplete) say what to send next.
func (w *Watcher) Sync(ctx context.Context, s appws.Sender) error {
	if err := w.gate.Enter(ctx); err != nil {
		return err
	}
	defer w.gate.Leave()
	for {
		w.mu.Lock()
		if w.session == 0 || len(w.pending) == 0 || outbox.Stale(s, w.session) {
			w.mu.Unlock()
			return nil
		}
		it, session := w.pending[0], w.session
		w.inflight = it.id
		w.mu.Unlock()

		_, err := s.Send(ctx, it.msg)

		w.mu.Lock()
		w.inflight = 0
		if err == nil && w.session == session && len(w.pending) > 0 && w.pending[0].id == it.id {
			w.pending = slices.Delete(w.pending, 0, 1)
		}
		w.mu.Unlock()
		if err != nil {
			return err
		}
	}
}

// Handle updates the Watcher with ev and returns what changed, in order;
// nil for events that change nothing and for messages of other APIs. It
// never sends, blocks or fails: what is to be sent waits for Sync, and a
// message of the API that does not decode is reported as Invalid.
//
//   - ConnectComplete of a new session: every subscription is queued for
//     Sync with a fresh src; Synced follows when the state of every one
//     is complete in this session (at once when there are none): a
//     presence subscription with its PresenceUpdate, or a PresenceState
//     saying the monitor is down; the profile with its
//     SubscribeProfileResult.
//   - Disconnected, Closed, or a ConnectComplete of a newer session whose
//     Disconnected never came: every subscription heard from in the lost
//     session is reported StateChanged with Up false and Lost set. Its
//     target, endpoint and presence are kept, as is the profile table.
//   - PresenceState, PresenceUpdate: matched to their subscription by src;
//     a change is reported only when it differs from what is kept (so after
//     a reconnect only what changed meanwhile is reported).
//   - SubscribeProfileResult: the profile sent again is compared with the
//     table kept; ProfileContactAdded and ProfileContactDeleted change it.
func (w *Watcher) Handle(ev appws.Event) []Change {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []Change
	switch ev := ev.(type) {
	case appws.ConnectComplete:
		if ev.Session == w.session {
			return nil
		}
		out = w.lose(out)
		w.session, w.syncing = ev.Session, true
		for _, s := range w.subs {
			w.queueSub(s)
		}
		if w.profile.want {
			w.queueProfile()
		}
	case appws.Disconnected, appws.Closed:
		return w.lose(nil)
	case appws.Message:
		if ev.API != API || w.session == 0 || ev.Session != w.session {
			return nil
		}
		out = w.message(ev, out)
	default:
		return nil
	}
	if w.syncing && w.awaiting == 0 {
		w.syncing = false
		out = append(out, Change{Kind: Synced, Session: w.session})
	}
	return out
}

// lose ends what belonged to the session that is gone.
func (w *Watcher) lose(out []Change) []Change {
	if w.session == 0 {
		return out
	}
	for _, s := range w.subs {
		if s.live {
			s.s.Up = false
			snap := s.s.clone()
			out = append(out, Change{Kind: StateChanged, Session: w.session, Subscription: &snap, Lost: true})
		}
		s.src, s.awaiting, s.live = "", false, false
	}
	clear(w.bySrc)
	w.pending = nil
	w.profile.src, w.profile.awaiting = "", false
	w.session, w.syncing, w.awaiting = 0, false, 0
	return out
}

func (w *Watcher) invalid(m appws.Message, err error, out []Change) []Change {
	return append(out, Change{Kind: Invalid, Session: w.session, Err: &DecodeError{MT: m.MT, Src: m.Src, Err: err}})
}

var errNoSrc = errors.New("no src: cannot be matched to a subscription")

// presenceSub returns the subscription a presence message belongs to; nil
// for messages of other subscribers. A message without src belongs to no
// one, and is Invalid.
func (w *Watcher) presenceSub(m appws.Message, out *[]Change) *sub {
	if m.Src == "" {
		*out = w.invalid(m, errNoSrc, *out)
		return nil
	}
	return w.bySrc[m.Src]
}

// ownsProfileMsg says whether a profile message is the Watcher's: its src is
// the profile subscription's, or it has none (PbxApi.htm's examples show
// none, and there is one profile per connection).
func (w *Watcher) ownsProfileMsg(src string) bool {
	return w.profile.src != "" && (src == w.profile.src || src == "")
}

type presenceStateMsg struct {
	Up    bool   `json:"up"`
	SIP   string `json:"sip"`
	Num   string `json:"num"`
	DN    string `json:"dn"`
	Email string `json:"email"`
}

type presenceUpdateMsg struct {
	Presence []Presence `json:"presence"`
}

type profileMsg struct {
	Profile *struct {
		ID       int       `json:"id"`
		Name     string    `json:"name"`
		Contacts []Contact `json:"contacts"`
		Contact  *Contact  `json:"contact"`
	} `json:"profile"`
}

func (w *Watcher) message(m appws.Message, out []Change) []Change {
	switch m.MT {
	case "SubscribePresenceResult":
		if s := w.bySrc[m.Src]; s != nil {
			s.live = true
		}
	case "PresenceState":
		s := w.presenceSub(m, &out)
		if s == nil {
			return out
		}
		var st presenceStateMsg
		if err := m.Decode(&st); err != nil {
			return w.invalid(m, err, out)
		}
		s.live = true
		if !st.Up {
			w.confirmed(&s.awaiting) // a monitor that is down sends no presence
		}
		cur := &s.s
		if s.stateKnown && cur.Up == st.Up && cur.SIP == st.SIP && cur.Num == st.Num && cur.DN == st.DN && cur.Email == st.Email {
			return out
		}
		s.stateKnown = true
		cur.Up, cur.SIP, cur.Num, cur.DN, cur.Email = st.Up, st.SIP, st.Num, st.DN, st.Email
		snap := cur.clone()
		return append(out, Change{Kind: StateChanged, Session: w.session, Subscription: &snap})
	case "PresenceUpdate":
		s := w.presenceSub(m, &out)
		if s == nil {
			return out
		}
		// The PresenceUpdate completes the subscription's state, even one
		// that does not decode (it is reported Invalid).
		w.confirmed(&s.awaiting)
		var pu presenceUpdateMsg
		if err := m.Decode(&pu); err != nil {
			return w.invalid(m, err, out)
		}
		s.live = true
		if s.presenceKnown && slices.Equal(s.s.Presence, pu.Presence) {
			return out
		}
		s.presenceKnown = true
		s.s.Presence = pu.Presence
		snap := s.s.clone()
		return append(out, Change{Kind: PresenceChanged, Session: w.session, Subscription: &snap})
	case "SubscribeProfileResult":
		if !w.ownsProfileMsg(m.Src) {
			return out
		}
		var pm profileMsg
		if err := m.Decode(&pm); err != nil {
			return w.invalid(m, err, out)
		}
		w.confirmed(&w.profile.awaiting)
		var p Profile
		if pm.Profile != nil {
			p = Profile{ID: pm.Profile.ID, Name: pm.Profile.Name, Contacts: pm.Profile.Contacts}
		}
		return w.replaceProfile(p, out)
	case "ProfileContactAdded":
		if !w.ownsProfileMsg(m.Src) {
			return out
		}
		var pm profileMsg
		if err := m.Decode(&pm); err != nil {
			return w.invalid(m, err, out)
		}
		if pm.Profile == nil || pm.Profile.Contact == nil {
			return w.invalid(m, errors.New("no profile.contact"), out)
		}
		out = w.profileID(pm.Profile.ID, out)
		return w.putContact(*pm.Profile.Contact, out)
	case "ProfileContactDeleted":
		if !w.ownsProfileMsg(m.Src) {
			return out
		}
		var pm profileMsg
		if err := m.Decode(&pm); err != nil {
			return w.invalid(m, err, out)
		}
		if pm.Profile == nil || pm.Profile.Contact == nil {
			return w.invalid(m, errors.New("no profile.contact"), out)
		}
		out = w.profileID(pm.Profile.ID, out)
		return w.deleteContact(pm.Profile.Contact.ID, out)
	}
	return out
}

// confirmed notes that a subscription's state is complete in this session.
func (w *Watcher) confirmed(awaiting *bool) {
	if *awaiting {
		*awaiting = false
		w.awaiting--
	}
}

// replaceProfile takes the whole profile of a SubscribeProfileResult and
// reports how it differs from the table: removed favourites first (in the
// table's order), then added and changed ones (in the profile's order).
// Of favourites with the same id the last is kept.
func (w *Watcher) replaceProfile(p Profile, out []Change) []Change {
	ps := &w.profile
	var contacts []Contact
	for i, c := range p.Contacts {
		if !slices.ContainsFunc(p.Contacts[i+1:], func(x Contact) bool { return x.ID == c.ID }) {
			contacts = append(contacts, c)
		}
	}
	if !ps.known || ps.p.ID != p.ID || ps.p.Name != p.Name {
		out = append(out, Change{Kind: ProfileChanged, Session: w.session, Profile: &Profile{ID: p.ID, Name: p.Name}})
	}
	for _, old := range ps.p.Contacts {
		if !slices.ContainsFunc(contacts, func(x Contact) bool { return x.ID == old.ID }) {
			c := old
			out = append(out, Change{Kind: ContactRemoved, Session: w.session, Contact: &c})
		}
	}
	for _, c := range contacts {
		i := slices.IndexFunc(ps.p.Contacts, func(x Contact) bool { return x.ID == c.ID })
		switch {
		case i < 0:
			nc := c
			out = append(out, Change{Kind: ContactAdded, Session: w.session, Contact: &nc})
		case ps.p.Contacts[i] != c:
			old, nc := ps.p.Contacts[i], c
			out = append(out, Change{Kind: ContactChanged, Session: w.session, Contact: &nc, Old: &old})
		}
	}
	ps.known = true
	ps.p = Profile{ID: p.ID, Name: p.Name, Contacts: contacts}
	return out
}

// profileID takes the profile id of a ProfileContact message.
func (w *Watcher) profileID(id int, out []Change) []Change {
	ps := &w.profile
	if ps.known && ps.p.ID == id {
		return out
	}
	ps.known = true
	ps.p.ID = id
	return append(out, Change{Kind: ProfileChanged, Session: w.session, Profile: &Profile{ID: id, Name: ps.p.Name}})
}

// putContact adds c, or replaces the favourite with its id (PbxApi.htm
// documents no message for an update; the fake sends ProfileContactAdded).
func (w *Watcher) putContact(c Contact, out []Change) []Change {
	ps := &w.profile
	i := slices.IndexFunc(ps.p.Contacts, func(x Contact) bool { return x.ID == c.ID })
	if i < 0 {
		ps.p.Contacts = append(ps.p.Contacts, c)
		return append(out, Change{Kind: ContactAdded, Session: w.session, Contact: &c})
	}
	old := ps.p.Contacts[i]
	if old == c {
		return out
	}
	ps.p.Contacts[i] = c
	return append(out, Change{Kind: ContactChanged, Session: w.session, Contact: &c, Old: &old})
}

func (w *Watcher) deleteContact(id int, out []Change) []Change {
	ps := &w.profile
	i := slices.IndexFunc(ps.p.Contacts, func(x Contact) bool { return x.ID == id })
	if i < 0 {
		return out
	}
	old := ps.p.Contacts[i]
	ps.p.Contacts = slices.Delete(ps.p.Contacts, i, i+1)
	return append(out, Change{Kind: ContactRemoved, Session: w.session, Contact: &old})
}

// Session returns the session the Watcher was last fed a ConnectComplete
// of, 0 between sessions.
func (w *Watcher) Session() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.session
}

// Subscriptions returns copies of the presence subscriptions, in the order
// they were made.
func (w *Watcher) Subscriptions() []Subscription {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]Subscription, len(w.subs))
	for i, s := range w.subs {
		out[i] = s.s.clone()
	}
	return out
}

// Lookup returns a copy of the subscription to t, and whether there is one.
func (w *Watcher) Lookup(t Target) (Subscription, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.byKey[t]
	if s == nil {
		return Subscription{}, false
	}
	return s.s.clone(), true
}

// Profile returns a copy of the first profile and its favourites, and
// whether the PBX has sent it (a SubscribeProfileResult came, in this
// session or an earlier one).
func (w *Watcher) Profile() (Profile, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	p := w.profile.p
	p.Contacts = slices.Clone(p.Contacts)
	return p, w.profile.known
}
