package rcc

import "github.com/appwebsocket/appws/internal/kindname"

// Kind says what a Change reports.
type Kind int

// The kinds of Change.
const (
	// UserAdded: a user became visible (Change.User).
	UserAdded Kind = iota + 1
	// UserChanged: a visible user's data changed (Change.User, and
	// Change.Old as it was), its alert and channel counts included.
	UserChanged
	// UserRemoved: a user was deleted or is no longer visible ("update":
	// "del"), or was missing from the user list sent again after a
	// reconnect.
	UserRemoved
	// UserWatched: the PBX answered the UserInitialize of a watched user:
	// its calls are followed from now on, and Change.Watched has its handle
	// and the dialing prefixes of its node.
	UserWatched
	// CallAdded: a new call (Change.Call; Change.User is its user).
	CallAdded
	// CallChanged: a call's state, peer or other data changed.
	CallChanged
	// CallEnded: a call ended (its last message, as Change.Call), or its
	// user was removed, or the session it belonged to was lost
	// (Change.Call.Lost).
	CallEnded
	// Synced: the session's state is complete: the user list came
	// (InitializeResult) and every watched user's UserInitialize was
	// answered. After a reconnect, the changes before it are the
	// difference to what was kept. Once per session.
	Synced
	// Invalid: an RCC message of the session that the Monitor could not
	// use (undecodable, or without what it must carry); Change.Err says
	// why. The message is skipped.
	Invalid
)

var kindNames = [...]string{
	UserAdded:   "userAdded",
	UserChanged: "userChanged",
	UserRemoved: "userRemoved",
	UserWatched: "userWatched",
	CallAdded:   "callAdded",
	CallChanged: "callChanged",
	CallEnded:   "callEnded",
	Synced:      "synced",
	Invalid:     "invalid",
}

// String returns the kind's lowerCamel name, e.g. "callAdded".
func (k Kind) String() string { return kindname.Of(kindNames[:], int(k)) }

// MarshalText makes a Kind its name in JSON.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// Change is one thing the Monitor learned from an event. json.Marshal of a
// Change is what `appws calls` prints.
type Change struct {
	Kind Kind `json:"kind"`
	// Session is the session the change belongs to: for a call lost with
	// its session, the lost one.
	Session uint64 `json:"session"`
	// User is the user concerned: for call changes the call's user (in
	// calls mode only its guid and cn when the user is not in the list).
	User User `json:"user,omitzero"`
	// Old is the user before a UserChanged.
	Old *User `json:"old,omitempty"`
	// Call is the call, for CallAdded, CallChanged and CallEnded.
	Call *Call `json:"call,omitempty"`
	// Watched is set for UserWatched.
	Watched *Watched `json:"watched,omitempty"`
	// Err says what was wrong, for Invalid.
	Err *Error `json:"err,omitempty"`
}
