package rcc

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/appwebsocket/appws"
)

// API is the "api" of every RCC message.
const API = "RCC"

// Sender sends messages on the current session; *appws.Client is one.
// Monitor.Sync needs only this.
type Sender interface {
	Send(ctx context.Context, msg any) (uint64, error)
}

// Requester sends a message and waits for its reply; *appws.Client is one.
// The Do methods of the operations need it.
type Requester interface {
	Request(ctx context.Context, msg any) (appws.Message, error)
}

// Error is the error a Do method returns when the PBX's Result message
// carries a non-empty "error" (documented for UserRedirect and
// UserReroute), or when the reply is not the operation's Result.
type Error struct {
	// Op is the operation's mt, e.g. "UserRedirect".
	Op string
	// Text is the PBX's "error" string, or what was wrong with the reply.
	Text string
}

// Error returns "rcc: Op: Text".
func (e *Error) Error() string { return "rcc: " + e.Op + ": " + e.Text }

// encode returns body (a struct encoded as a JSON object) with "api":"RCC"
// and "mt":mt in front.
func encode(mt string, body any) ([]byte, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(b)+len(mt)+24)
	out = append(out, `{"api":"RCC","mt":`...)
	out = appendQuoted(out, mt)
	if len(b) > 2 {
		out = append(out, ',')
	}
	return append(out, b[1:]...), nil
}

// appendQuoted appends mt as a JSON string; mts are plain ASCII names.
func appendQuoted(b []byte, s string) []byte {
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// do sends op (encoded with mt) as a Request and decodes the Result into res
// (nil: nothing to decode).
func do(ctx context.Context, r Requester, mt string, op json.Marshaler, res any) error {
	reply, err := r.Request(ctx, op)
	if err != nil {
		return fmt.Errorf("rcc: %s: %w", mt, err)
	}
	if reply.MT != mt+"Result" {
		return &Error{Op: mt, Text: "unexpected reply " + reply.MT}
	}
	var e struct {
		Error string `json:"error"`
	}
	if err := reply.Decode(&e); err != nil {
		return &Error{Op: mt, Text: "bad reply: " + err.Error()}
	}
	if e.Error != "" {
		return &Error{Op: mt, Text: e.Error}
	}
	if res != nil {
		if err := reply.Decode(res); err != nil {
			return &Error{Op: mt, Text: "bad reply: " + err.Error()}
		}
	}
	return nil
}

// Initialize starts the user list: the PBX sends a UserInfo for every
// visible user, then InitializeResult, then UserInfo updates. The UserInfos
// carry Initialize's src, so it cannot be a Request (the first UserInfo
// would be taken for the reply): send it, and let a Monitor read what
// comes. Monitor.Sync sends it for you.
type Initialize struct {
	// Grp selects the users-by-group mode on an App object: users in the
	// groups the object is an active member of.
	Grp bool `json:"grp,omitempty"`
	// Limit caps the users sent per 20 ms timer tick (at most 50, the
	// default).
	Limit int    `json:"limit,omitempty"`
	Src   string `json:"src,omitempty"`
}

// MarshalJSON encodes the message with its api and mt.
func (m Initialize) MarshalJSON() ([]byte, error) {
	type t Initialize
	return encode("Initialize", t(m))
}

// UserInitialize starts monitoring the calls of a user: the PBX answers
// with UserInitializeResult (the user handle) and sends a CallInfo for every
// change of the user's calls, with UserInitialize's src. Like Initialize it
// is sent, not requested; Monitor.Sync sends it for the users it watches.
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

// Device is one device of a user.
type Device struct {
	HW   string `json:"hw"`
	Text string `json:"text"`
}

// MarshalJSON encodes the message with its api and mt.
func (m Devices) MarshalJSON() ([]byte, error) { type t Devices; return encode("Devices", t(m)) }

// Do requests the user's devices.
func (m Devices) Do(ctx context.Context, r Requester) ([]Device, error) {
	var res struct {
		Devices []Device `json:"devices"`
	}
	err := do(ctx, r, "Devices", m, &res)
	return res.Devices, err
}

// UserEnd ends the monitoring of a user (RCC.htm lists no properties; the
// SOAP API's UserEnd takes the user handle, sent here as "user").
type UserEnd struct {
	User int `json:"user"`
}

// MarshalJSON encodes the message with its api and mt.
func (m UserEnd) MarshalJSON() ([]byte, error) { type t UserEnd; return encode("UserEnd", t(m)) }

// Do requests the operation.
func (m UserEnd) Do(ctx context.Context, r Requester) error { return do(ctx, r, "UserEnd", m, nil) }

// UserCall places a call for the user: to E164, CN or H323.
type UserCall struct {
	User int `json:"user"`
	// FtyNoCF overrides any call diversion configured at the destination.
	FtyNoCF bool `json:"ftyNoCF,omitempty"`
	// Audio places an audio call instead of a voice call.
	Audio bool   `json:"audio,omitempty"`
	Rc    int    `json:"rc,omitempty"`
	E164  string `json:"e164,omitempty"`
	CN    string `json:"cn,omitempty"`
	H323  string `json:"h323,omitempty"`
	// SrcE164 overrides the caller's extension.
	SrcE164 string `json:"srce164,omitempty"`
}

// MarshalJSON encodes the message with its api and mt.
func (m UserCall) MarshalJSON() ([]byte, error) { type t UserCall; return encode("UserCall", t(m)) }

// Do requests the call and returns its handle.
func (m UserCall) Do(ctx context.Context, r Requester) (call int, err error) {
	var res callResult
	err = do(ctx, r, "UserCall", m, &res)
	return res.Call, err
}

type callResult struct {
	Call int `json:"call"`
}

// UserClear clears a call with an ISDN cause (0: none given).
type UserClear struct {
	Call  int `json:"call"`
	Cause int `json:"cause,omitempty"`
}

// MarshalJSON encodes the message with its api and mt.
func (m UserClear) MarshalJSON() ([]byte, error) { type t UserClear; return encode("UserClear", t(m)) }

// Do requests the operation.
func (m UserClear) Do(ctx context.Context, r Requester) error { return do(ctx, r, "UserClear", m, nil) }

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
func (m UserConnect) Do(ctx context.Context, r Requester) error {
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
func (m UserRc) Do(ctx context.Context, r Requester) error { return do(ctx, r, "UserRc", m, nil) }

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
func (m UserInfo) Do(ctx context.Context, r Requester) error { return do(ctx, r, "UserInfo", m, nil) }

// UserDTMF sends DTMF digits on a call; with Recv to the local user.
type UserDTMF struct {
	Call int    `json:"call"`
	Recv bool   `json:"recv,omitempty"`
	DTMF string `json:"dtmf"`
}

// MarshalJSON encodes the message with its api and mt.
func (m UserDTMF) MarshalJSON() ([]byte, error) { type t UserDTMF; return encode("UserDTMF", t(m)) }

// Do requests the operation.
func (m UserDTMF) Do(ctx context.Context, r Requester) error { return do(ctx, r, "UserDTMF", m, nil) }

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
func (m UserTransfer) Do(ctx context.Context, r Requester) error {
	return do(ctx, r, "UserTransfer", m, nil)
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
func (m UserPickup) Do(ctx context.Context, r Requester) (call int, err error) {
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
func (m UserRedirect) Do(ctx context.Context, r Requester) error {
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
func (m UserReroute) Do(ctx context.Context, r Requester) error {
	return do(ctx, r, "UserReroute", m, nil)
}

// UserHold puts a call on hold. RCC.htm names its flag "hold" without
// saying what it does; the SOAP API's second argument of UserHold is
// "remote" (music on hold for the held party only).
type UserHold struct {
	Call int  `json:"call"`
	Hold bool `json:"hold,omitempty"`
}

// MarshalJSON encodes the message with its api and mt.
func (m UserHold) MarshalJSON() ([]byte, error) { type t UserHold; return encode("UserHold", t(m)) }

// Do requests the operation.
func (m UserHold) Do(ctx context.Context, r Requester) error { return do(ctx, r, "UserHold", m, nil) }

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
func (m UserRetrieve) Do(ctx context.Context, r Requester) error {
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
func (m UserPark) Do(ctx context.Context, r Requester) (call int, err error) {
	var res callResult
	err = do(ctx, r, "UserPark", m, &res)
	return res.Call, err
}

// User is a user the PBX reported in a UserInfo message.
type User struct {
	// GUID is the hex string of the user's guid; the Monitor keys users by
	// it (by CN when it is empty).
	GUID   string `json:"guid,omitempty"`
	CN     string `json:"cn,omitempty"`
	DN     string `json:"dn,omitempty"`
	H323   string `json:"h323,omitempty"`
	E164   string `json:"e164,omitempty"`
	Node   string `json:"node,omitempty"`
	PBX    string `json:"pbx,omitempty"`
	Pseudo string `json:"pseudo,omitempty"`
	Regs   []Reg  `json:"regs,omitempty"`
}

// Reg is one registered device of a user.
type Reg struct {
	HW string `json:"hw"`
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

// Info is one item of a CallInfo's "info" list.
type Info struct {
	Type string `json:"type"`
	Vali int    `json:"vali,omitempty"`
	Vals string `json:"vals,omitempty"`
}
