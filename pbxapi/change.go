package pbxapi

import (
	"slices"

	"github.com/appwebsocket/appws/internal/kindname"
)

// Kind says what a Change reports.
type Kind int

// The kinds of Change.
const (
	// Invalid: a message of the API that was meant for the Watcher did not
	// decode (Change.Err, a *DecodeError); it was skipped.
	Invalid Kind = iota + 1
	// StateChanged: a presence subscription's monitor went up or down or
	// its endpoint (sip, num, dn, email) changed: a PresenceState message,
	// or, with Lost set, the session that carried the subscription is gone
	// (Change.Subscription, Up false).
	StateChanged
	// PresenceChanged: the presence items of a subscription changed (a
	// PresenceUpdate); Change.Subscription.Presence holds them, newest
	// first.
	PresenceChanged
	// ProfileChanged: the first profile's id or name was learned or
	// changed (Change.Profile, without its contacts).
	ProfileChanged
	// ContactAdded: a favourite is new in the first profile
	// (Change.Contact).
	ContactAdded
	// ContactChanged: a favourite changed (Change.Old and Change.Contact).
	ContactChanged
	// ContactRemoved: a favourite was deleted (Change.Contact, its last
	// version).
	ContactRemoved
	// Synced: the state of every subscription sent in this session is
	// complete (a presence subscription got its PresenceUpdate, or a
	// PresenceState saying its monitor is down; the profile its
	// SubscribeProfileResult); after a reconnect the changes before it
	// are the difference to what was kept. Reported once per session.
	Synced
)

var kindNames = [...]string{
	Invalid:         "invalid",
	StateChanged:    "stateChanged",
	PresenceChanged: "presenceChanged",
	ProfileChanged:  "profileChanged",
	ContactAdded:    "contactAdded",
	ContactChanged:  "contactChanged",
	ContactRemoved:  "contactRemoved",
	Synced:          "synced",
}

// String returns the kind's lowerCamel name, e.g. "presenceChanged", or
// "kind(N)" for a value that is not a Kind.
func (k Kind) String() string { return kindname.Of(kindNames[:], int(k)) }

// MarshalText makes a Kind its name in JSON.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// Change is one thing the Watcher learned from an event. Which fields are
// set depends on Kind; json.Marshal(change) is one line of "appws presence".
type Change struct {
	Kind Kind `json:"kind"`
	// Session is the session the change was learned in; for a Lost change
	// the session that was lost.
	Session uint64 `json:"session"`
	// Subscription is a copy of the presence subscription after the
	// change, for StateChanged and PresenceChanged.
	Subscription *Subscription `json:"subscription,omitempty"`
	// Profile is the first profile's id and name for ProfileChanged; its
	// Contacts are not set (Watcher.Profile has them).
	Profile *Profile `json:"profile,omitempty"`
	// Contact is the favourite for ContactAdded and ContactChanged (after
	// the change) and ContactRemoved (its last version).
	Contact *Contact `json:"contact,omitempty"`
	// Old is the favourite before a ContactChanged.
	Old *Contact `json:"old,omitempty"`
	// Lost is set on the StateChanged reported for a subscription whose
	// session ended: the monitor may well be up at the PBX, but this
	// session no longer hears from it. The Watcher subscribes again in
	// the next session.
	Lost bool `json:"lost,omitempty"`
	// Err is the *DecodeError of an Invalid change.
	Err error `json:"err,omitempty"`
}

// Target names the user a presence subscription is for: by SIP URI (the
// user's h323 name, e.g. "alice") or phone number. PbxApi.htm sends both
// fields as given; a Target with both set is sent with both.
type Target struct {
	SIP string `json:"sip,omitempty"`
	Num string `json:"num,omitempty"`
}

// String returns "sip:SIP", "num:NUM" or both, space-separated.
func (t Target) String() string {
	switch {
	case t.SIP != "" && t.Num != "":
		return "sip:" + t.SIP + " num:" + t.Num
	case t.Num != "":
		return "num:" + t.Num
	}
	return "sip:" + t.SIP
}

// Presence is one presence item of a user (PbxApi.htm, object presence).
type Presence struct {
	// Contact says which presence this is: "tel:" the one the user set,
	// "im:" made by the PBX (Status tells whether the user is online),
	// "calendar:" set by a calendar app.
	Contact string `json:"contact"`
	// Status is "open" or "closed": whether the user can be reached by
	// this contact.
	Status string `json:"status,omitempty"`
	// Activity is "" for available, or e.g. "away", "busy", "dnd".
	Activity string `json:"activity"`
	// Note is the user's free text.
	Note string `json:"note,omitempty"`
}

// Subscription is the state of one presence subscription: what the PBX
// last said about the user, kept across reconnects.
type Subscription struct {
	Target Target `json:"target"`
	// Up is the monitor's state from the latest PresenceState; false
	// after the session was lost, until the PBX says otherwise.
	Up bool `json:"up"`
	// SIP, Num, DN and Email are the endpoint information of the latest
	// PresenceState.
	SIP   string `json:"sip,omitempty"`
	Num   string `json:"num,omitempty"`
	DN    string `json:"dn,omitempty"`
	Email string `json:"email,omitempty"`
	// Presence is the latest PresenceUpdate's items, newest first; after a
	// lost session the last known ones.
	Presence []Presence `json:"presence,omitempty"`
}

// Current returns the newest presence item, the one PbxApi.htm says to
// display, and false when there is none.
func (s Subscription) Current() (Presence, bool) {
	if len(s.Presence) == 0 {
		return Presence{}, false
	}
	return s.Presence[0], true
}

func (s Subscription) clone() Subscription {
	s.Presence = slices.Clone(s.Presence)
	return s
}

// Profile is the first profile (favourites) of the logged-in user
// (PbxApi.htm, object profile).
type Profile struct {
	ID       int       `json:"id"`
	Name     string    `json:"name,omitempty"`
	Contacts []Contact `json:"contacts,omitempty"`
}

// Contact is a favourite of a profile (PbxApi.htm, object contact).
type Contact struct {
	ID int `json:"id"`
	// Name is the favourite's SIP URI (PbxApi.htm calls it name).
	Name string `json:"name,omitempty"`
	Num  string `json:"num,omitempty"`
	// Dsp is the display name.
	Dsp string `json:"dsp,omitempty"`
	// Presence and Dialog say whether presence and dialog monitoring are
	// available for the favourite.
	Presence bool `json:"presence,omitempty"`
	Dialog   bool `json:"dialog,omitempty"`
	// Ext is obsolete (myPBX): "" an internal user, "tel" an external
	// number, "sip" an external SIP URI.
	Ext string `json:"ext,omitempty"`
}
