package rcc

import "slices"

// User is a user the PBX reported in a UserInfo message: the fields of
// RCC.htm (build 132940), and alert and channel, which the SDK's busy lamp
// tutorial (doc/tutorials/RCCfromExternalWebPage.htm) reads and the SOAP
// API defines.
type User struct {
	// GUID is the hex string of the user's guid; the Monitor keys users by
	// it (by CN when it is empty).
	GUID string `json:"guid,omitempty"`
	// CN is the common name (the "Long Name").
	CN string `json:"cn,omitempty"`
	// DN is the display name.
	DN string `json:"dn,omitempty"`
	// H323 is the H.323 id or SIP URI.
	H323 string `json:"h323,omitempty"`
	// E164 is the extension.
	E164 string `json:"e164,omitempty"`
	// Node is the numbering node.
	Node string `json:"node,omitempty"`
	// PBX is the PBX the user is homed on.
	PBX string `json:"pbx,omitempty"`
	// Pseudo is the type of the user object.
	Pseudo string `json:"pseudo,omitempty"`
	// Regs are the user's registered devices.
	Regs []Reg `json:"regs,omitempty"`
	// Alert is the number of the user's alerting calls.
	Alert int `json:"alert,omitempty"`
	// Channel is the number of the user's calls.
	Channel int `json:"channel,omitempty"`
}

// Key returns the key the Monitor keeps the user by: GUID, or CN when the
// user has no guid.
func (u User) Key() string {
	if u.GUID != "" {
		return u.GUID
	}
	return u.CN
}

func (u User) clone() User {
	u.Regs = slices.Clone(u.Regs)
	return u
}

func sameUser(a, b *User) bool {
	return a.GUID == b.GUID && a.CN == b.CN && a.DN == b.DN && a.H323 == b.H323 &&
		a.E164 == b.E164 && a.Node == b.Node && a.PBX == b.PBX && a.Pseudo == b.Pseudo &&
		a.Alert == b.Alert && a.Channel == b.Channel && slices.Equal(a.Regs, b.Regs)
}

// Reg is one registered device of a user.
type Reg struct {
	// HW is the hardware id of the device.
	HW string `json:"hw"`
}

// Device is one device of a user (Devices).
type Device struct {
	// HW is the hardware id, which UserInitialize's HW selects.
	HW string `json:"hw"`
	// Text describes the device to a person.
	Text string `json:"text"`
}

// Connector is an endpoint of a call: the peer, or one of the other
// endpoints ("no") such as a diverting or transferring user.
type Connector struct {
	// Type says the role, e.g. "peer", "leg2", "ct" (the SOAP API's list).
	Type string `json:"type,omitempty"`
	CN   string `json:"cn,omitempty"`
	DN   string `json:"dn,omitempty"`
	H323 string `json:"h323,omitempty"`
	E164 string `json:"e164,omitempty"`
	// Norm is the normalized number.
	Norm string `json:"norm,omitempty"`
}

// Endpoint is the addressing of an endpoint in a CallUpdate (calls mode).
type Endpoint struct {
	H323 string `json:"h323,omitempty"`
	E164 string `json:"e164,omitempty"`
}

// Info is one item of a CallInfo's "info" list, e.g. {"type":"cause",
// "vali":1,"vals":"Unallocated (unassigned) number"}.
type Info struct {
	Type string `json:"type"`
	Vali int    `json:"vali,omitempty"`
	Vals string `json:"vals,omitempty"`
}

// Call is a call as its latest message described it.
type Call struct {
	// User is the key of the user the call belongs to (User.Key).
	User string `json:"user"`
	// Handle is the PBX's call handle: valid for call control (UserClear,
	// UserConnect, ...) in Session only.
	Handle  int    `json:"handle"`
	Session uint64 `json:"session"`
	// Conf is the conference id shared by all legs of one call (CallInfo's
	// conf, CallAdd's conf-id).
	Conf string `json:"conf,omitempty"`
	// CallID is CallAdd's call-id (calls mode).
	CallID    string    `json:"callId,omitempty"`
	State     State     `json:"state"`
	Direction Direction `json:"direction"`
	// Hold: the user put the call on hold (state bit 0x100).
	Hold bool `json:"hold,omitempty"`
	// HeldByPeer: the peer put the call on hold (0x200).
	HeldByPeer bool `json:"heldByPeer,omitempty"`
	// Waiting: a waiting call (0x400, CallAdd since build 132455).
	Waiting bool `json:"waiting,omitempty"`
	// RawState is the "state" bit field as received.
	RawState int `json:"rawState"`
	// Peer is the other end (CallInfo).
	Peer Connector `json:"peer,omitzero"`
	// No are more endpoints of the call: diverting, transferring, ...
	No []Connector `json:"no,omitempty"`
	// Local and Remote are CallUpdate's endpoints (calls mode): the local
	// peer inside the PBX, and the remote one with its normalized number.
	Local  Endpoint `json:"local,omitzero"`
	Remote Endpoint `json:"remote,omitzero"`
	// Msg is the signalling message behind the latest update, e.g.
	// "r-setup", "x-rel" or "del".
	Msg  string `json:"msg,omitempty"`
	Info []Info `json:"info,omitempty"`
	// Lost is set on a CallEnded reported because the session was lost:
	// the call may well go on at the PBX.
	Lost bool `json:"lost,omitempty"`
}

func (c *Call) clone() *Call {
	d := *c
	d.No = slices.Clone(c.No)
	d.Info = slices.Clone(c.Info)
	return &d
}

// Watched is what the PBX's UserInitializeResult said about a watched
// user, valid in Session: the user handle for the User... operations, and
// (since build 132105) the dialing prefixes of the user's node.
type Watched struct {
	Handle  int    `json:"handle"`
	Session uint64 `json:"session"`
	// PrefixIntl, PrefixNtl and PrefixSubs are dialed before an
	// international, national and subscriber number from the user's node,
	// trunk prefix included (e.g. "000", "00", "0").
	PrefixIntl string `json:"prefixIntl,omitempty"`
	PrefixNtl  string `json:"prefixNtl,omitempty"`
	PrefixSubs string `json:"prefixSubs,omitempty"`
	// Area and Country are the area and country codes assumed for the
	// user.
	Area    string `json:"area,omitempty"`
	Country string `json:"country,omitempty"`
	// Mobile is set when UserInitialize's hw named a mobile endpoint.
	Mobile *Mobile `json:"mobile,omitempty"`
}

// Mobile is a monitored mobile endpoint.
type Mobile struct {
	// E164 is the configured mobile number.
	E164 string `json:"e164,omitempty"`
	// H323 is the endpoint's configured SIP or H.323 name.
	H323 string `json:"h323,omitempty"`
	// Off: the mobile endpoint is configured off.
	Off bool `json:"off,omitempty"`
}
