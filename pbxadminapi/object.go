package pbxadminapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"

	"github.com/appwebsocket/appws"
)

// Object is a PBX object as GetObject returns it. Its JSON names are the
// PBX's, so the encoding of an Object (as appws admin get prints it) can be
// edited and sent back as an UpdateObject; Pwd is left out of it.
type Object struct {
	// GUID is the object's guid, as a hex string.
	GUID string `json:"guid,omitempty"`
	// CN is the "Long Name", unique in the PBX.
	CN string `json:"cn,omitempty"`
	// DN is the display name.
	DN string `json:"dn,omitempty"`
	// H323 is the H.323 id, or the user part of the SIP URI.
	H323 string `json:"h323,omitempty"`
	// E164 is the number.
	E164 string `json:"e164,omitempty"`
	// Pwd is the stored password, "encrypted by key of the admin object";
	// DecryptPassword reads it. It is never encoded by MarshalJSON and
	// prints redacted.
	Pwd Secret `json:"pwd,omitempty"`
	// Loc is the PBX the object is assigned to.
	Loc string `json:"loc,omitempty"`
	// Node is the numbering node.
	Node string `json:"node,omitempty"`
	// Config is the name of the config template the object uses.
	Config string `json:"config,omitempty"`
	// Apps is the comma-separated list of the apps the user may use.
	Apps string `json:"apps,omitempty"`
	// Filter is the filter applied to the user's calls.
	Filter string `json:"filter,omitempty"`
	// CdFilter is the filter applied to the user's call diversions.
	CdFilter string `json:"cd-filter,omitempty"`
	// Push is the Push object used for calls to this object.
	Push string `json:"push,omitempty"`
	// Messages is the Messages object storing the user's chat messages.
	Messages string `json:"messages,omitempty"`
	// Hide marks the object "Hide from LDAP".
	Hide bool `json:"hide,omitempty"`
	// NoDev is the Result's "no-dev" (build 132678; the page does not
	// explain it).
	NoDev bool `json:"no-dev,omitempty"`
	// Cfnr is the no-response timeout.
	Cfnr int `json:"cfnr,omitempty"`
	// Colr: no connected number is sent for calls to this object.
	Colr bool `json:"colr,omitempty"`
	// Uclic, Voicemail, Fax, Mobility, Mypbx, Video, AppSharing and
	// Reporting: the object acquires that license.
	Uclic      bool `json:"uclic,omitempty"`
	Voicemail  bool `json:"voicemail,omitempty"`
	Fax        bool `json:"fax,omitempty"`
	Mobility   bool `json:"mobility,omitempty"`
	Mypbx      bool `json:"mypbx,omitempty"`
	Video      bool `json:"video,omitempty"`
	AppSharing bool `json:"app-sharing,omitempty"`
	Reporting  bool `json:"reporting,omitempty"`
	// Devices are the object's device configurations.
	Devices []Device `json:"devices,omitempty"`
	// Grp are the object's group memberships.
	Grp []Group `json:"grp,omitempty"`
	// Presence is the object's presence.
	Presence []Presence `json:"presence,omitempty"`
	// Cds are the object's call diversions.
	Cds []Diversion `json:"cds,omitempty"`
	// Wakeups are the object's wakeup calls.
	Wakeups []Wakeup `json:"wakeups,omitempty"`
	// Pseudo is the pseudo object configuration, {"type":..., ...}, as
	// received; nil for a plain user. PseudoType reads its type.
	Pseudo json.RawMessage `json:"pseudo,omitempty"`
	// Phone is the phone configuration (the XML config translated to
	// JSON), as received.
	Phone json.RawMessage `json:"phone,omitempty"`
}

// MarshalJSON encodes o with the PBX's names, without Pwd.
func (o Object) MarshalJSON() ([]byte, error) {
	type plain Object
	return json.Marshal(struct {
		plain
		Pwd string `json:"pwd,omitempty"` // shadows plain.Pwd, never set
	}{plain: plain(o)})
}

// PseudoType returns the "type" of o.Pseudo, "" for a plain user (or a
// pseudo configuration without a type).
func (o Object) PseudoType() string {
	var p struct {
		Type string `json:"type"`
	}
	if len(o.Pseudo) == 0 || json.Unmarshal(o.Pseudo, &p) != nil {
		return ""
	}
	return p.Type
}

// Device is a device configuration of an object.
type Device struct {
	// HW is the hardware id (MAC address).
	HW string `json:"hw,omitempty"`
	// Text identifies the device in the UI.
	Text string `json:"text,omitempty"`
	// App is the phone app associated with the device.
	App string `json:"app,omitempty"`
	// Admin: only registrations with the PBX admin password, no user
	// password.
	Admin bool `json:"admin,omitempty"`
	// NoFilter: registrations from endpoints outside the registration
	// address filter are allowed.
	NoFilter bool `json:"no-filter,omitempty"`
	// TLS: only registrations with a verified TLS certificate, or from a
	// trusted reverse proxy.
	TLS bool `json:"tls,omitempty"`
	// NoMob: no call-through mobility while this device is registered.
	NoMob bool `json:"no-mob,omitempty"`
	// Trusted: registrations from a trusted reverse proxy are allowed.
	Trusted bool `json:"trusted,omitempty"`
}

// Group is a group membership of an object.
type Group struct {
	// Name is the group's name.
	Name string `json:"name"`
	// Mode "active" makes the member active; other values are reserved.
	Mode string `json:"mode,omitempty"`
	// Dyn, if present, makes the membership dynamic: "in" (a member now)
	// or "out".
	Dyn string `json:"dyn,omitempty"`
}

// Presence is a presence item of an object (the page's short keys).
type Presence struct {
	// Contact is the contact URI ("c"), e.g. "tel:" or "im:".
	Contact string `json:"c,omitempty"`
	// Activity is the activity ("a"), e.g. "away" or "busy".
	Activity string `json:"a,omitempty"`
	// Note is the note the user entered ("n").
	Note string `json:"n,omitempty"`
}

// Diversion is a call diversion of an object.
type Diversion struct {
	// Type is "cfu", "cfb" or "cfnr".
	Type string `json:"type"`
	// Bool is an optional boolean object the diversion depends on.
	Bool string `json:"bool,omitempty"`
	// BoolNot, if present and not "false", diverts only while the boolean
	// object is not active.
	BoolNot string `json:"bool-not,omitempty"`
	// Ep is the destination; the PBX uses the first element only.
	Ep []Endpoint `json:"ep,omitempty"`
	// Src filters on the source of the call; the PBX uses the first
	// element only.
	Src []DiversionSource `json:"src,omitempty"`
}

// Endpoint is a number and a name.
type Endpoint struct {
	E164 string `json:"e164,omitempty"`
	H323 string `json:"h323,omitempty"`
}

// DiversionSource is the source filter of a Diversion.
type DiversionSource struct {
	// Type is "do" (divert if the source matches) or "dont".
	Type string `json:"type,omitempty"`
	// Ep are the sources.
	Ep []SourceEndpoint `json:"ep,omitempty"`
}

// SourceEndpoint is one source of a DiversionSource.
type SourceEndpoint struct {
	// Ext, if present, matches external calls only.
	Ext string `json:"ext,omitempty"`
	// Fwd is the type of the source: "fwd", "clid" or "both".
	Fwd  string `json:"fwd,omitempty"`
	E164 string `json:"e164,omitempty"`
	H323 string `json:"h323,omitempty"`
}

// Wakeup is a wakeup call of an object. H, M and S are Opts because an
// absent hour (every hour) is not hour 0.
type Wakeup struct {
	H Opt[int] `json:"h,omitzero"`
	M Opt[int] `json:"m,omitzero"`
	S Opt[int] `json:"s,omitzero"`
	// Name and Num are called for the announcement (none: the default
	// music on hold).
	Name string `json:"name,omitempty"`
	Num  string `json:"num,omitempty"`
	// Retry is the number of retries.
	Retry int `json:"retry,omitempty"`
	// Mult repeats the wakeup call until it is removed.
	Mult bool `json:"mult,omitempty"`
	// To limits the alerting time.
	To int `json:"to,omitempty"`
	// Fallback is called when the wakeup failed.
	Fallback string `json:"fallback,omitempty"`
	// Bool and BoolNot make the call depend on a boolean object.
	Bool    string `json:"bool,omitempty"`
	BoolNot bool   `json:"bool-not,omitempty"`
}

// GetObject reads the configuration of one object, by GUID or, when GUID
// is empty, by CN.
type GetObject struct {
	GUID string `json:"guid,omitempty"`
	CN   string `json:"cn,omitempty"`
}

var errNoObject = errors.New("pbxadminapi: the object is named by a guid or a cn")

// MarshalJSON encodes the message with its api and mt.
func (m GetObject) MarshalJSON() ([]byte, error) {
	if m.GUID == "" && m.CN == "" {
		return nil, errNoObject
	}
	type t GetObject
	return encode("GetObject", t(m))
}

// objectResult is GetObjectResult.
type objectResult struct {
	status
	Object
}

// Do reads the object. A Result without a guid means there is no such
// object: an *Error matching ErrNotFound.
func (m GetObject) Do(ctx context.Context, r appws.Requester) (Object, error) {
	if m.GUID == "" && m.CN == "" {
		return Object{}, errNoObject
	}
	var res objectResult
	if err := do(ctx, r, "GetObject", m, &res); err != nil {
		return Object{}, err
	}
	if res.GUID == "" {
		return Object{}, &Error{Op: "GetObject", Text: "no such object", notFound: true}
	}
	return res.Object, nil
}

// The special values of UpdateObject.GUID.
const (
	// ByCN updates the object whose cn is UpdateObject.CN.
	ByCN = "*"
	// ByCNOrCreate updates the object whose cn is UpdateObject.CN, or
	// creates it when there is none.
	ByCNOrCreate = "?"
)

// UpdateObject creates or changes a PBX object. Only what is set is sent:
// every property the PBX does not get stays as it is. An Opt is set with
// Set(v) (Set("") clears a string); a Flag is True, False, or Inherit to
// delete the object's own value so that its config template's applies.
//
//	// Change alice's number, clear her display name, drop her own video
//	// setting, leave everything else as it is:
//	pbxadminapi.UpdateObject{
//		GUID:  guid,
//		E164:  pbxadminapi.Set("201"),
//		DN:    pbxadminapi.Set(""),
//		Video: pbxadminapi.Inherit,
//	}
//
// GUID names the object to change; "" creates a new one; ByCN ("*") and
// ByCNOrCreate ("?") name it by CN instead. Pwd is the stored (encrypted)
// form: SetPassword sends a plain password in that form.
type UpdateObject struct {
	GUID       string           `json:"guid,omitempty"`
	CN         Opt[string]      `json:"cn,omitzero"`
	DN         Opt[string]      `json:"dn,omitzero"`
	H323       Opt[string]      `json:"h323,omitzero"`
	E164       Opt[string]      `json:"e164,omitzero"`
	Pwd        Opt[Secret]      `json:"pwd,omitzero"`
	Loc        Opt[string]      `json:"loc,omitzero"`
	Node       Opt[string]      `json:"node,omitzero"`
	Config     Opt[string]      `json:"config,omitzero"`
	Apps       Opt[string]      `json:"apps,omitzero"`
	Filter     Opt[string]      `json:"filter,omitzero"`
	CdFilter   Opt[string]      `json:"cd-filter,omitzero"`
	Push       Opt[string]      `json:"push,omitzero"`
	Messages   Opt[string]      `json:"messages,omitzero"`
	Hide       Flag             `json:"hide,omitzero"`
	Cfnr       Opt[int]         `json:"cfnr,omitzero"`
	Colr       Flag             `json:"colr,omitzero"`
	Uclic      Flag             `json:"uclic,omitzero"`
	Voicemail  Flag             `json:"voicemail,omitzero"`
	Fax        Flag             `json:"fax,omitzero"`
	Mobility   Flag             `json:"mobility,omitzero"`
	Mypbx      Flag             `json:"mypbx,omitzero"`
	Video      Flag             `json:"video,omitzero"`
	AppSharing Flag             `json:"app-sharing,omitzero"`
	Reporting  Flag             `json:"reporting,omitzero"`
	Devices    Opt[[]Device]    `json:"devices,omitzero"`
	Grp        Opt[[]Group]     `json:"grp,omitzero"`
	Presence   Opt[[]Presence]  `json:"presence,omitzero"`
	Cds        Opt[[]Diversion] `json:"cds,omitzero"`
	Wakeups    Opt[[]Wakeup]    `json:"wakeups,omitzero"`
	// Pseudo is the pseudo object configuration, {"type":..., ...}; nil is
	// not sent.
	Pseudo json.RawMessage `json:"pseudo,omitempty"`
	// Phone is the phone configuration; nil is not sent.
	Phone json.RawMessage `json:"phone,omitempty"`
	// CopyPwd gives the object the password of the object whose h323 it
	// is. The PBX refuses it for plain users and executives.
	CopyPwd string `json:"copyPwd,omitempty"`
}

// check says what the PBX could not make sense of, before anything is
// sent.
func (m UpdateObject) check() error {
	if m.GUID == ByCN || m.GUID == ByCNOrCreate {
		if cn, _ := m.CN.Get(); cn == "" {
			return errors.New(`pbxadminapi: UpdateObject: guid "` + m.GUID + `" names the object by cn, and cn is not set`)
		}
	}
	if m.Pwd.set && m.CopyPwd != "" {
		return errors.New("pbxadminapi: UpdateObject: pwd and copyPwd are both set")
	}
	for _, f := range [...]Flag{m.Hide, m.Colr, m.Uclic, m.Voicemail, m.Fax, m.Mobility, m.Mypbx, m.Video, m.AppSharing, m.Reporting} {
		if f < Unset || f > Inherit {
			return errBadFlag
		}
	}
	return nil
}

// MarshalJSON encodes the message with its api and mt, and only the
// properties that are set.
func (m UpdateObject) MarshalJSON() ([]byte, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	type t UpdateObject
	return encode("UpdateObject", t(m))
}

// LogValue makes slog log the message as its JSON, with the pwd
// "[redacted]".
func (m UpdateObject) LogValue() slog.Value {
	if m.Pwd.set {
		m.Pwd = Set(Secret(redacted))
	}
	b, err := m.MarshalJSON()
	if err != nil {
		return slog.StringValue("invalid UpdateObject: " + err.Error())
	}
	return slog.StringValue(string(b))
}

// updateResult is UpdateObjectResult: the page documents no fields;
// innovaphone's own code reads guid.
type updateResult struct {
	status
	GUID string `json:"guid"`
}

// Do sends the update and returns the object's guid as the Result gives it
// ("" when it has none). The Result comes once the object is written and
// in effect. An error after the message was sent (appws.ErrNoReply) means
// the PBX may have applied it.
func (m UpdateObject) Do(ctx context.Context, r appws.Requester) (guid string, err error) {
	if err := m.check(); err != nil {
		return "", err
	}
	var res updateResult
	if err := do(ctx, r, "UpdateObject", m, &res); err != nil {
		return "", err
	}
	return res.GUID, nil
}

// DeleteObject deletes the object with GUID.
type DeleteObject struct {
	GUID string `json:"guid"`
}

func (m DeleteObject) check() error {
	if m.GUID == "" || m.GUID == ByCN || m.GUID == ByCNOrCreate {
		return errors.New("pbxadminapi: DeleteObject: the object is named by its guid")
	}
	return nil
}

// MarshalJSON encodes the message with its api and mt.
func (m DeleteObject) MarshalJSON() ([]byte, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	type t DeleteObject
	return encode("DeleteObject", t(m))
}

// emptyResult is a Result with no documented fields.
type emptyResult struct{ status }

// Do sends the delete. Its Result means the PBX accepted it, not that the
// object is gone yet (PbxAdminApi.htm).
func (m DeleteObject) Do(ctx context.Context, r appws.Requester) error {
	if err := m.check(); err != nil {
		return err
	}
	return do(ctx, r, "DeleteObject", m, &emptyResult{})
}
