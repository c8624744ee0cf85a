package tableusers

import (
	"bytes"
	"encoding/json"
	"maps"
)

// User is one row of the PBX's users table, with the columns the
// Replicator asked for. The scalar columns of PbxTableUsers.htm are typed;
// every other column asked for (the arrays emails, allows, t-allows, grps,
// devices, cds, forks and wakeups, the tristates cfpr and t-cfpr, columns a
// newer PBX adds) is in Extra as received. A column not asked for is never
// kept, and pwd is never asked for (see the package doc).
//
// The JSON form of a User is lowerCamel like every struct of the typed
// APIs ({"guid":...,"appsMy":...,"h323Email":true,"extra":{...}}), not the
// PBX's column names: those are in the Col constants.
type User struct {
	GUID      string `json:"guid"`                // guid: globally unique identifier, the table's key
	H323      string `json:"h323,omitempty"`      // h323: the user name
	CN        string `json:"cn,omitempty"`        // cn: common name
	DN        string `json:"dn,omitempty"`        // dn: display name
	E164      string `json:"e164,omitempty"`      // e164: phone number
	Node      string `json:"node,omitempty"`      // node
	Loc       string `json:"loc,omitempty"`       // loc: location
	Hide      bool   `json:"hide,omitempty"`      // hide: hidden from LDAP
	Config    string `json:"config,omitempty"`    // config: config template
	Apps      string `json:"apps,omitempty"`      // apps: the apps the user may use, comma separated
	AppsMy    string `json:"appsMy,omitempty"`    // apps-my: the apps on the user's home screen, comma separated
	Pseudo    string `json:"pseudo,omitempty"`    // pseudo: pseudo information of the object
	H323Email bool   `json:"h323Email,omitempty"` // h323-email: the email address is the user name
	Fax       bool   `json:"fax,omitempty"`       // fax: the user has a fax license

	// Extra holds the columns asked for that are not typed above, by
	// column name, each value as received.
	Extra map[string]json.RawMessage `json:"extra,omitempty"`
}

// The names of the users table's columns (PbxTableUsers.htm), in the order
// of innovaphone's table. ColPwd is there to be named, never asked for.
const (
	ColGUID      = "guid"
	ColH323      = "h323"
	ColPwd       = "pwd"
	ColCN        = "cn"
	ColDN        = "dn"
	ColAppsMy    = "apps-my"
	ColConfig    = "config"
	ColNode      = "node"
	ColLoc       = "loc"
	ColHide      = "hide"
	ColE164      = "e164"
	ColCfpr      = "cfpr"
	ColTCfpr     = "t-cfpr"
	ColPseudo    = "pseudo"
	ColH323Email = "h323-email"
	ColApps      = "apps"
	ColFax       = "fax"
)

// The array columns of the users table (PbxTableUsers.htm's "Tables"):
// each a JSON array of objects, kept in User.Extra when asked for.
const (
	ColEmails  = "emails"
	ColAllows  = "allows"
	ColTAllows = "t-allows"
	ColGrps    = "grps"
	ColDevices = "devices"
	ColCds     = "cds"
	ColForks   = "forks"
	ColWakeups = "wakeups"
)

// DefaultColumns are the columns a Replicator asks for when Config.Columns
// is empty: the typed ones.
var DefaultColumns = []string{
	ColGUID, ColH323, ColCN, ColDN, ColAppsMy, ColConfig, ColNode, ColLoc,
	ColHide, ColE164, ColPseudo, ColH323Email, ColApps, ColFax,
}

// Equal reports whether u and v hold the same columns with the same values
// (Extra compared byte for byte as received).
func (u User) Equal(v User) bool {
	if u.GUID != v.GUID || u.H323 != v.H323 || u.CN != v.CN || u.DN != v.DN ||
		u.E164 != v.E164 || u.Node != v.Node || u.Loc != v.Loc || u.Hide != v.Hide ||
		u.Config != v.Config || u.Apps != v.Apps || u.AppsMy != v.AppsMy ||
		u.Pseudo != v.Pseudo || u.H323Email != v.H323Email || u.Fax != v.Fax {
		return false
	}
	return maps.EqualFunc(u.Extra, v.Extra, func(x, y json.RawMessage) bool { return bytes.Equal(x, y) })
}

// clone returns u with its own copy of Extra, so that what a caller gets
// cannot change the table.
func (u User) clone() User {
	if u.Extra != nil {
		extra := make(map[string]json.RawMessage, len(u.Extra))
		for k, v := range u.Extra {
			extra[k] = bytes.Clone(v)
		}
		u.Extra = extra
	}
	return u
}
