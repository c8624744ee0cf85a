package pbxapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/appwebsocket/appws"
)

// API is the "api" of every PbxApi message.
const API = "PbxApi"

// ErrNoTarget is returned, before anything is sent, by a call that names
// no user: SubscribePresence and UnsubscribePresence without sip or num,
// SetPresence without sip or guid, AddProfileContact without sip, num or
// dn.
var ErrNoTarget = errors.New("pbxapi: no user given: set sip, num or guid")

// ErrNotSubscribed is returned by UnsubscribePresence for a Target that
// has no subscription.
var ErrNotSubscribed = errors.New("pbxapi: no such subscription")

// Error is the error of an operation whose Result carried an error
// (non-zero "error" or a non-empty "errorText"), or whose reply was not
// its Result.
type Error struct {
	// Op is the operation's mt, e.g. "SetPresence".
	Op string
	// Code is the Result's "error" (0 when it had only an errorText, or
	// the reply was not the Result).
	Code int
	// Text is the Result's "errorText", at most 200 bytes, or what was
	// wrong with the reply.
	Text string
}

// Error returns "pbxapi: Op: Text" ("error Code" when there is no text).
func (e *Error) Error() string {
	text := e.Text
	if text == "" {
		text = "error " + strconv.Itoa(e.Code)
	}
	return "pbxapi: " + e.Op + ": " + text
}

// maxText bounds the server's text in an Error.
const maxText = 200

// bound cuts s to maxText bytes at a rune boundary.
func bound(s string) string {
	if len(s) <= maxText {
		return s
	}
	cut := maxText
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// DecodeError is the Err of an Invalid Change: a message of the API meant
// for the Watcher that could not be decoded or placed.
type DecodeError struct {
	// MT and Src are the message's.
	MT, Src string
	// Err is what was wrong.
	Err error
}

// Error returns "pbxapi: MT (src "Src"): what was wrong".
func (e *DecodeError) Error() string {
	return fmt.Sprintf("pbxapi: %s (src %q): %v", bound(e.MT), bound(e.Src), e.Err)
}

// Unwrap returns Err.
func (e *DecodeError) Unwrap() error { return e.Err }

// MarshalText makes a DecodeError its message in JSON, so that an Invalid
// Change marshals with its cause.
func (e *DecodeError) MarshalText() ([]byte, error) { return []byte(e.Error()), nil }

// encode returns body (a struct that encodes as a JSON object) with
// "api":"PbxApi" and "mt":mt in front.
func encode(mt string, body any) ([]byte, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(b)+len(mt)+24)
	out = append(out, `{"api":"PbxApi","mt":"`...)
	out = append(out, mt...) // mts are plain ASCII names
	out = append(out, '"')
	if len(b) > 2 {
		out = append(out, ',')
	}
	return append(out, b[1:]...), nil
}

// do sends op as a Request and decodes its Result into res (nil: nothing
// to decode). "error" and "errorText" in the Result make an *Error.
func do(ctx context.Context, r appws.Requester, mt string, op json.Marshaler, res any) error {
	reply, err := r.Request(ctx, op)
	if err != nil {
		return fmt.Errorf("pbxapi: %s: %w", mt, err)
	}
	if reply.MT != mt+"Result" {
		return &Error{Op: mt, Text: "unexpected reply " + bound(reply.MT)}
	}
	var e struct {
		Error     json.RawMessage `json:"error"`
		ErrorText string          `json:"errorText"`
	}
	if err := reply.Decode(&e); err != nil {
		return &Error{Op: mt, Text: "bad reply: " + bound(err.Error())}
	}
	code := 0
	if len(e.Error) > 0 && string(e.Error) != "null" {
		n, err := strconv.ParseUint(string(e.Error), 10, 31)
		if err != nil {
			return &Error{Op: mt, Text: "bad reply: error is " + bound(string(e.Error)) + ", not an unsigned number"}
		}
		code = int(n)
	}
	if code != 0 || e.ErrorText != "" {
		return &Error{Op: mt, Code: code, Text: bound(e.ErrorText)}
	}
	if res != nil {
		if err := reply.Decode(res); err != nil {
			return &Error{Op: mt, Text: "bad reply: " + bound(err.Error())}
		}
	}
	return nil
}

// The messages the Watcher sends (with Sync): subscriptions carry the
// Watcher's own src, so that their indications can be told apart.

type subscribePresence struct {
	SIP string `json:"sip,omitempty"`
	Num string `json:"num,omitempty"`
	Src string `json:"src"`
}

func (m subscribePresence) MarshalJSON() ([]byte, error) {
	type t subscribePresence
	return encode("SubscribePresence", t(m))
}

type unsubscribePresence subscribePresence

func (m unsubscribePresence) MarshalJSON() ([]byte, error) {
	type t unsubscribePresence
	return encode("UnsubscribePresence", t(m))
}

type subscribeProfile struct {
	Src string `json:"src"`
}

func (m subscribeProfile) MarshalJSON() ([]byte, error) {
	type t subscribeProfile
	return encode("SubscribeProfile", t(m))
}

type unsubscribeProfile subscribeProfile

func (m unsubscribeProfile) MarshalJSON() ([]byte, error) {
	type t unsubscribeProfile
	return encode("UnsubscribeProfile", t(m))
}

// SetPresence sets one presence item of a user, named by SIP or GUID (one
// is needed). Do sends it and waits for SetPresenceResult; subscriptions
// to the user then see a PresenceUpdate.
type SetPresence struct {
	SIP  string `json:"sip,omitempty"`
	GUID string `json:"guid,omitempty"`
	// Contact is the presence item to set; "" sends "tel:", the presence
	// the user sets (PbxApi.htm).
	Contact string `json:"contact"`
	// Activity is "" for available, or e.g. "away", "busy", "dnd",
	// "lunch", "vacation". It is always sent.
	Activity string `json:"activity"`
	// Note is free text; "" clears it. It is always sent.
	Note string `json:"note"`
}

// MarshalJSON encodes the message with its api and mt, Contact "tel:" when
// it is empty.
func (m SetPresence) MarshalJSON() ([]byte, error) {
	type t SetPresence
	if m.Contact == "" {
		m.Contact = "tel:"
	}
	return encode("SetPresence", t(m))
}

// Do sends the operation and waits for its Result. Without SIP and GUID
// it returns ErrNoTarget and sends nothing; a Result with an error is an
// *Error.
func (m SetPresence) Do(ctx context.Context, r appws.Requester) error {
	if m.SIP == "" && m.GUID == "" {
		return ErrNoTarget
	}
	return do(ctx, r, "SetPresence", m, nil)
}

// GetNodeInfo asks for the node of the user logged in on the connection.
type GetNodeInfo struct{}

// MarshalJSON encodes the message with its api and mt.
func (m GetNodeInfo) MarshalJSON() ([]byte, error) {
	return []byte(`{"api":"PbxApi","mt":"GetNodeInfo"}`), nil
}

// NodeInfo is GetNodeInfoResult: the node's name and dialling prefixes.
type NodeInfo struct {
	Name string `json:"name"`
	// PrefixIntl and PrefixNtl are dialled before international and
	// national numbers, PrefixSubs before subscriber numbers.
	PrefixIntl  string `json:"prefix_intl"`
	PrefixNtl   string `json:"prefix_ntl"`
	PrefixSubs  string `json:"prefix_subs"`
	CountryCode string `json:"country_code"`
	// AreaCode is read from "area_code" if the PBX sends it: PbxApi.htm
	// does not list it, pbx.htm's IPbxApiTaskGetNodeInfo has GetAreaCode
	// (since build 131731); the JSON name is inferred.
	AreaCode string `json:"area_code,omitempty"`
}

// Do sends the operation and returns the node's information.
func (m GetNodeInfo) Do(ctx context.Context, r appws.Requester) (NodeInfo, error) {
	var res NodeInfo
	err := do(ctx, r, "GetNodeInfo", m, &res)
	return res, err
}

// NewContact is the favourite AddProfileContact adds: a user of the PBX
// (by SIP URI or number) or an external number, with a display name.
type NewContact struct {
	DN  string `json:"dn,omitempty"`
	SIP string `json:"sip,omitempty"`
	Num string `json:"num,omitempty"`
}

// AddProfileContact adds a favourite to the profile ProfileID of the
// logged-in user; a profile that does not exist is created (with Name,
// inferred: PbxApi.htm does not say what "name" names). A Watcher with a
// profile subscription sees ContactAdded.
type AddProfileContact struct {
	ProfileID int        `json:"id"`
	Name      string     `json:"name,omitempty"`
	Contact   NewContact `json:"contact"`
}

// MarshalJSON encodes the message with its api and mt.
func (m AddProfileContact) MarshalJSON() ([]byte, error) {
	type t AddProfileContact
	return encode("AddProfileContact", t(m))
}

// Do sends the operation and waits for AddProfileContactResult
// (PbxApi.htm's general rule; the page shows no Result). A contact
// without DN, SIP and Num is ErrNoTarget, and nothing is sent.
func (m AddProfileContact) Do(ctx context.Context, r appws.Requester) error {
	if m.Contact == (NewContact{}) {
		return ErrNoTarget
	}
	return do(ctx, r, "AddProfileContact", m, nil)
}

// DelProfileContact deletes the favourite ContactID from the profile
// ProfileID. A Watcher with a profile subscription sees ContactRemoved.
type DelProfileContact struct {
	ProfileID int
	ContactID int
}

// MarshalJSON encodes the message as PbxApi.htm shows it:
// {"id":ProfileID,"contact":{"id":ContactID}}.
func (m DelProfileContact) MarshalJSON() ([]byte, error) {
	type id struct {
		ID int `json:"id"`
	}
	return encode("DelProfileContact", struct {
		ID      int `json:"id"`
		Contact id  `json:"contact"`
	}{m.ProfileID, id{m.ContactID}})
}

// Do sends the operation and waits for DelProfileContactResult (the
// general rule, as for AddProfileContact).
func (m DelProfileContact) Do(ctx context.Context, r appws.Requester) error {
	return do(ctx, r, "DelProfileContact", m, nil)
}

// UpdateProfileContact replaces the favourite Contact.ID of the profile
// ProfileID with Contact; every field of Contact is sent.
type UpdateProfileContact struct {
	ProfileID int
	Contact   Contact
}

// wireContact is a Contact with every field sent.
type wireContact struct {
	ID       int    `json:"id"`
	Name     string `json:"name"`
	Num      string `json:"num"`
	Dsp      string `json:"dsp"`
	Presence bool   `json:"presence"`
	Dialog   bool   `json:"dialog"`
	Ext      string `json:"ext,omitempty"`
}

// MarshalJSON encodes the message as PbxApi.htm shows it:
// {"id":ProfileID,"contact":{...}}, every field of the contact present
// (ext only when set: it is obsolete).
func (m UpdateProfileContact) MarshalJSON() ([]byte, error) {
	return encode("UpdateProfileContact", struct {
		ID      int         `json:"id"`
		Contact wireContact `json:"contact"`
	}{m.ProfileID, wireContact(m.Contact)})
}

// Do sends the operation and waits for UpdateProfileContactResult (the
// general rule, as for AddProfileContact).
func (m UpdateProfileContact) Do(ctx context.Context, r appws.Requester) error {
	return do(ctx, r, "UpdateProfileContact", m, nil)
}
