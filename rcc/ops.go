package rcc

import (
	"context"
	"encoding/json"

	"github.com/appwebsocket/appws"
)

// The operations of RCC.htm (13r1 SDK build 132940), one struct each:
// MarshalJSON adds "api":"RCC" and the mt, Do sends it with
// appws.Requester.Request and reads the Result (mt + "Result", RCC.htm's
// general rule). Call handles come from CallInfo (Call.Handle) or from the
// operations that return one; user handles from the Monitor
// (Monitor.UserHandle). Both are valid in the session they came from only.

// Initialize starts the user list: the PBX sends a UserInfo for every
// visible user, then InitializeResult, then UserInfo updates, all with
// Initialize's src. It is sent, not requested (the first UserInfo would be
// taken for the reply): Monitor.Sync sends it.
type Initialize struct {
	// Grp selects the users-by-group mode: the users of the groups in which
	// the object logged in to is an active member.
	Grp bool `json:"grp,omitempty"`
	// Limit caps the users sent per 20 ms timer tick (at most 50, the
	// default).
	Limit int `json:"limit,omitempty"`
	// Calls asks for every call of the PBX as CallAdd, CallUpdate and
	// CallDel (since build 132455; App objects only).
	Calls bool   `json:"calls,omitempty"`
	Src   string `json:"src,omitempty"`
}

// MarshalJSON encodes the message with its api and mt.
func (m Initialize) MarshalJSON() ([]byte, error) {
	type t Initialize
	return encode("Initialize", t(m))
}

// UserInitialize starts monitoring the calls of a user: the PBX answers
// with UserInitializeResult (the user handle and the dialing prefixes of
// the user's node, see Watched) and sends a CallInfo, with
// UserInitialize's src, for every change of the user's calls. Like
// Initialize it is sent, not requested: Monitor.Sync sends it for the users
// it watches.
type UserInitialize struct {
	CN string `json:"cn"`
	// Xfer monitors calls transferred away from the user as well.
	Xfer bool `json:"xfer,omitempty"`
	// Disc clears calls to the user's phone with DISC instead of RELEASE,
	// so a call stays until the phone is on hook.
	Disc bool `json:"disc,omitempty"`
	// HW monitors only the device with this hardware id.
	HW  string `json:"hw,omitempty"`
	Src string `json:"src,omitempty"`
}

// MarshalJSON encodes the message with its api and mt.
func (m UserInitialize) MarshalJSON() ([]byte, error) {
	type t UserInitialize
	return encode("UserInitialize", t(m))
}

// Devices asks for the devices of a user.
type Devices struct {
	CN string `json:"cn"`
}

// MarshalJSON encodes the message with its api and mt.
func (m Devices) MarshalJSON() ([]byte, error) { type t Devices; return encode("Devices", t(m)) }

// Do requests the user's devices.
func (m Devices) Do(ctx context.Context, r appws.Requester) ([]Device, error) {
	var res struct {
		Devices []Device `json:"devices"`
	}
	err := do(ctx, r, "Devices", m, &res)
	return res.Devices, err
}

// UserEnd ends the monitoring of a user. RCC.htm lists no properties; the
// SOAP API's UserEnd takes the user handle, sent here as "user".
type UserEnd struct {
	User int `json:"user"`
}

// MarshalJSON encodes the message with its api and mt.
func (m UserEnd) MarshalJSON() ([]byte, error) { type t UserEnd; return encode("UserEnd", t(m)) }

// Do requests the operation.
func (m UserEnd) Do(ctx context.Context, r appws.Requester) error {
	return do(ctx, r, "UserEnd", m, nil)
}

// UserCall places a call for the user: to E164, CN or H323.
type UserCall struct {
	User int `json:"user"`
	// FtyNoCF overrides any call diversion configured at the destination.
	FtyNoCF bool `json:"ftyNoCF,omitempty"`
	// Audio places an audio call instead of a voice call (no speech
	// compression on ISDN, for modems).
	Audio bool `json:"audio,omitempty"`
	// Rc is a remote control code for the phone (usually 0).
	Rc int `json:"rc,omitempty"`
	// E164 is interpreted in the context of the user's node (Watched.Dialable
	// turns an international number into one).
	E164 string `json:"e164,omitempty"`
	CN   string `json:"cn,omitempty"`
	H323 string `json:"h323,omitempty"`
	// SrcE164 overrides the caller's extension.
	SrcE164 string `json:"srce164,omitempty"`
}

// MarshalJSON encodes the message with its api and mt.
func (m UserCall) MarshalJSON() ([]byte, error) { type t UserCall; return encode("UserCall", t(m)) }

// Do requests the call and returns its handle.
func (m UserCall) Do(ctx context.Context, r appws.Requester) (call int, err error) {
	var res callResult
	err = do(ctx, r, "UserCall", m, &res)
	return res.Call, err
}

type callResult struct {
	Call int `json:"call"`
}

// UserClear clears a call with an ISDN cause (0: none given; 26, non-selected
// user clearing, plays no disconnect tone at the local phone).
type UserClear struct {
	Call  int `json:"call"`
	Cause int `json:"cause,omitempty"`
}

// MarshalJSON encodes the message with its api and mt.
func (m UserClear) MarshalJSON() ([]byte, error) { type t UserClear; return encode("UserClear", t(m)) }

// Do requests the operation.
func (m UserClear) Do(ctx context.Context, r appws.Requester) error {
	return do(ctx, r, "UserClear", m, nil)
}

// UserConnect connects (answers) a call present at the phone.
type UserConnect struct {
	Call int `json:"call"`
}

// MarshalJSON encodes the message with its api and mt.
func (m UserConnect) MarshalJSON() ([]byte, error) {
	type t UserConnect
	return encode("UserConnect", t(m))
}

// Do requests the operation.
func (m UserConnect) Do(ctx context.Context, r appws.Requester) error {
	return do(ctx, r, "UserConnect", m, nil)
}

// UserRc sends a remote control code to the phone.
type UserRc struct {
	Call int `json:"call"`
	Rc   int `json:"rc"`
}

// MarshalJSON encodes the message with its api and mt.
func (m UserRc) MarshalJSON() ([]byte, error) { type t UserRc; return encode("UserRc", t(m)) }

// Do requests the operation.
func (m UserRc) Do(ctx context.Context, r appws.Requester) error {
	return do(ctx, r, "UserRc", m, nil)
}

// UserInfo sends overlap dialing information on a call. (The UserInfo the
// PBX sends about users is decoded into User.)
type UserInfo struct {
	Call int    `json:"call"`
	Cdpn string `json:"cdpn,omitempty"`
	Key  string `json:"key,omitempty"`
	Dsp  string `json:"dsp,omitempty"`
}

// MarshalJSON encodes the message with its api and mt.
func (m UserInfo) MarshalJSON() ([]byte, error) { type t UserInfo; return encode("UserInfo", t(m)) }

// Do requests the operation.
func (m UserInfo) Do(ctx context.Context, r appws.Requester) error {
	return do(ctx, r, "UserInfo", m, nil)
}

// UserDTMF sends DTMF digits on a call; with Recv to the local user.
type UserDTMF struct {
	Call int    `json:"call"`
	Recv bool   `json:"recv,omitempty"`
	DTMF string `json:"dtmf"`
}

// MarshalJSON encodes the message with its api and mt.
func (m UserDTMF) MarshalJSON() ([]byte, error) { type t UserDTMF; return encode("UserDTMF", t(m)) }

// Do requests the operation.
func (m UserDTMF) Do(ctx context.Context, r appws.Requester) error {
	return do(ctx, r, "UserDTMF", m, nil)
}

// UserUUI sends user-user information on a call; with Recv to the local
// user.
type UserUUI struct {
	Call int    `json:"call"`
	Recv bool   `json:"recv,omitempty"`
	UUI  string `json:"uui"`
}

// MarshalJSON encodes the message with its api and mt.
func (m UserUUI) MarshalJSON() ([]byte, error) { type t UserUUI; return encode("UserUUI", t(m)) }

// Do requests the operation.
func (m UserUUI) Do(ctx context.Context, r appws.Requester) error {
	return do(ctx, r, "UserUUI", m, nil)
}

// UserTransfer connects the user's calls A and B with each other, leaving
// the user without both.
type UserTransfer struct {
	A int `json:"a"`
	B int `json:"b"`
}

// MarshalJSON encodes the message with its api and mt.
func (m UserTransfer) MarshalJSON() ([]byte, error) {
	type t UserTransfer
	return encode("UserTransfer", t(m))
}

// Do requests the operation.
func (m UserTransfer) Do(ctx context.Context, r appws.Requester) error {
	return do(ctx, r, "UserTransfer", m, nil)
}

// UserMediaTransfer connects the media of two connected calls A and B,
// independent of their signalling: with User the user sides of the calls,
// with Peer the peer sides; with neither, each call's media goes back to
// its signalling peer (the SOAP API's description).
type UserMediaTransfer struct {
	A    int  `json:"a"`
	B    int  `json:"b"`
	User bool `json:"user,omitempty"`
	Peer bool `json:"peer,omitempty"`
}

// MarshalJSON encodes the message with its api and mt.
func (m UserMediaTransfer) MarshalJSON() ([]byte, error) {
	type t UserMediaTransfer
	return encode("UserMediaTransfer", t(m))
}

// Do requests the operation.
func (m UserMediaTransfer) Do(ctx context.Context, r appws.Requester) error {
	return do(ctx, r, "UserMediaTransfer", m, nil)
}

// UserPickup picks up a call (by Call handle, or the calls of CN) so that
// it appears as a new call at User.
type UserPickup struct {
	User int    `json:"user"`
	Call int    `json:"call,omitempty"`
	CN   string `json:"cn,omitempty"`
}

// MarshalJSON encodes the message with its api and mt.
func (m UserPickup) MarshalJSON() ([]byte, error) {
	type t UserPickup
	return encode("UserPickup", t(m))
}

// Do requests the pickup and returns the handle of the new call.
func (m UserPickup) Do(ctx context.Context, r appws.Requester) (call int, err error) {
	var res callResult
	err = do(ctx, r, "UserPickup", m, &res)
	return res.Call, err
}

// UserRedirect connects a call to a new destination, ignoring call
// forwardings configured there.
type UserRedirect struct {
	Call int    `json:"call"`
	Rc   int    `json:"rc,omitempty"`
	CN   string `json:"cn,omitempty"`
	H323 string `json:"h323,omitempty"`
	E164 string `json:"e164,omitempty"`
}

// MarshalJSON encodes the message with its api and mt.
func (m UserRedirect) MarshalJSON() ([]byte, error) {
	type t UserRedirect
	return encode("UserRedirect", t(m))
}

// Do requests the operation; the Result's "error" becomes an *Error.
func (m UserRedirect) Do(ctx context.Context, r appws.Requester) error {
	return do(ctx, r, "UserRedirect", m, nil)
}

// UserReroute reroutes a call, obeying the destination's call forwardings.
type UserReroute struct {
	Call int    `json:"call"`
	CN   string `json:"cn,omitempty"`
	H323 string `json:"h323,omitempty"`
	E164 string `json:"e164,omitempty"`
}

// MarshalJSON encodes the message with its api and mt.
func (m UserReroute) MarshalJSON() ([]byte, error) {
	type t UserReroute
	return encode("UserReroute", t(m))
}

// Do requests the operation; the Result's "error" becomes an *Error.
func (m UserReroute) Do(ctx context.Context, r appws.Requester) error {
	return do(ctx, r, "UserReroute", m, nil)
}

// UserCtrlCall sends control information on a call. RCC.htm names its
// properties "call" and "info" and says nothing of info's type or meaning
// (nor does the SOAP API, which has no such function): Info is sent as
// given, and left out when empty.
type UserCtrlCall struct {
	Call int             `json:"call"`
	Info json.RawMessage `json:"info,omitempty"`
}

// MarshalJSON encodes the message with its api and mt.
func (m UserCtrlCall) MarshalJSON() ([]byte, error) {
	type t UserCtrlCall
	return encode("UserCtrlCall", t(m))
}

// Do requests the operation.
func (m UserCtrlCall) Do(ctx context.Context, r appws.Requester) error {
	return do(ctx, r, "UserCtrlCall", m, nil)
}

// UserCtComplete tells the device of a call that its peer is now E164 and
// H323, as a transfer by the peer would; phones update their display (the
// SOAP API's description).
type UserCtComplete struct {
	Call int    `json:"call"`
	E164 string `json:"e164,omitempty"`
	H323 string `json:"h323,omitempty"`
}

// MarshalJSON encodes the message with its api and mt.
func (m UserCtComplete) MarshalJSON() ([]byte, error) {
	type t UserCtComplete
	return encode("UserCtComplete", t(m))
}

// Do requests the operation.
func (m UserCtComplete) Do(ctx context.Context, r appws.Requester) error {
	return do(ctx, r, "UserCtComplete", m, nil)
}

// UserHold puts a call on hold. With Remote, music on hold is played to
// the held party only, not to the local endpoint (RCC.htm since build
// 132195; the flag was documented as "hold" before).
type UserHold struct {
	Call   int  `json:"call"`
	Remote bool `json:"remote,omitempty"`
}

// MarshalJSON encodes the message with its api and mt.
func (m UserHold) MarshalJSON() ([]byte, error) { type t UserHold; return encode("UserHold", t(m)) }

// Do requests the operation.
func (m UserHold) Do(ctx context.Context, r appws.Requester) error {
	return do(ctx, r, "UserHold", m, nil)
}

// UserRetrieve retrieves a call on hold.
type UserRetrieve struct {
	Call int `json:"call"`
}

// MarshalJSON encodes the message with its api and mt.
func (m UserRetrieve) MarshalJSON() ([]byte, error) {
	type t UserRetrieve
	return encode("UserRetrieve", t(m))
}

// Do requests the operation.
func (m UserRetrieve) Do(ctx context.Context, r appws.Requester) error {
	return do(ctx, r, "UserRetrieve", m, nil)
}

// UserPark parks a call at the object CN on Position (-1: any position).
// Position is always sent, since 0 is a position.
type UserPark struct {
	Call     int    `json:"call"`
	CN       string `json:"cn,omitempty"`
	Position int    `json:"position"`
}

// MarshalJSON encodes the message with its api and mt.
func (m UserPark) MarshalJSON() ([]byte, error) { type t UserPark; return encode("UserPark", t(m)) }

// Do requests the operation and returns the handle of the parked call
// (UserPickup with it unparks).
func (m UserPark) Do(ctx context.Context, r appws.Requester) (call int, err error) {
	var res callResult
	err = do(ctx, r, "UserPark", m, &res)
	return res.Call, err
}
