package tableusers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
)

// User is one row of the PBX's users table. The documented scalar columns
// are typed; every other column (the arrays emails, allows, t-allows, grps,
// devices, cds, forks, wakeups, the tristates cfpr and t-cfpr, pwd, and
// columns a newer PBX adds) is kept as received in Extra.
//
// A User handed out by a Replicator is never modified afterwards: updates
// replace the whole row. Treat Extra as read-only.
type User struct {
	GUID      string // guid: globally unique identifier, the table's key
	H323      string // h323: the user name
	CN        string // cn: common name
	DN        string // dn: display name
	E164      string // e164: phone number
	Node      string // node
	Loc       string // loc: location
	Hide      bool   // hide: hidden from LDAP
	Config    string // config: config template
	Apps      string // apps: the apps the user may use, comma separated
	AppsMy    string // apps-my: the apps on the user's home screen, comma separated
	Pseudo    string // pseudo: pseudo information of the object
	H323Email bool   // h323-email: the email address is the user name
	Fax       bool   // fax: the user has a fax license

	// Extra holds the columns not typed above, by column name, as received.
	Extra map[string]json.RawMessage
}

// The names of the typed columns, in the order of innovaphone's table.
const (
	ColGUID      = "guid"
	ColH323      = "h323"
	ColCN        = "cn"
	ColDN        = "dn"
	ColAppsMy    = "apps-my"
	ColConfig    = "config"
	ColNode      = "node"
	ColLoc       = "loc"
	ColHide      = "hide"
	ColE164      = "e164"
	ColPseudo    = "pseudo"
	ColH323Email = "h323-email"
	ColApps      = "apps"
	ColFax       = "fax"
)

// DefaultColumns are the columns a Replicator asks for when Options.Columns
// is empty: the typed ones. pwd is left out on purpose (a secret a
// directory does not need); ask for it, or for arrays such as "grps" and
// "emails", by naming them in Options.Columns.
var DefaultColumns = []string{
	ColGUID, ColH323, ColCN, ColDN, ColAppsMy, ColConfig, ColNode, ColLoc,
	ColHide, ColE164, ColPseudo, ColH323Email, ColApps, ColFax,
}

// UnmarshalJSON decodes one row, the "columns" object of a replication
// message. A typed column with a value of another JSON type (a number where
// a string is documented) is an error; null leaves the zero value.
func (u *User) UnmarshalJSON(data []byte) error {
	var cols map[string]json.RawMessage
	if err := json.Unmarshal(data, &cols); err != nil {
		return err
	}
	*u = User{}
	for name, v := range cols {
		var err error
		switch name {
		case ColGUID:
			err = json.Unmarshal(v, &u.GUID)
		case ColH323:
			err = json.Unmarshal(v, &u.H323)
		case ColCN:
			err = json.Unmarshal(v, &u.CN)
		case ColDN:
			err = json.Unmarshal(v, &u.DN)
		case ColAppsMy:
			err = json.Unmarshal(v, &u.AppsMy)
		case ColConfig:
			err = json.Unmarshal(v, &u.Config)
		case ColNode:
			err = json.Unmarshal(v, &u.Node)
		case ColLoc:
			err = json.Unmarshal(v, &u.Loc)
		case ColHide:
			err = json.Unmarshal(v, &u.Hide)
		case ColE164:
			err = json.Unmarshal(v, &u.E164)
		case ColPseudo:
			err = json.Unmarshal(v, &u.Pseudo)
		case ColH323Email:
			err = json.Unmarshal(v, &u.H323Email)
		case ColApps:
			err = json.Unmarshal(v, &u.Apps)
		case ColFax:
			err = json.Unmarshal(v, &u.Fax)
		default:
			if u.Extra == nil {
				u.Extra = make(map[string]json.RawMessage)
			}
			u.Extra[name] = bytes.Clone(v)
			continue
		}
		if err != nil {
			return fmt.Errorf("tableusers: column %q: %w", name, err)
		}
	}
	return nil
}

// MarshalJSON encodes u as a row: the typed columns that are not zero, in
// the order of innovaphone's table, then Extra sorted by name. guid is
// always written.
func (u User) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	str := func(name, v string, always bool) {
		if v == "" && !always {
			return
		}
		b = appendKey(b, name)
		s, _ := json.Marshal(v)
		b = append(b, s...)
	}
	boolean := func(name string, v bool) {
		if v {
			b = appendKey(b, name)
			b = append(b, "true"...)
		}
	}
	str(ColGUID, u.GUID, true)
	str(ColH323, u.H323, false)
	str(ColCN, u.CN, false)
	str(ColDN, u.DN, false)
	str(ColAppsMy, u.AppsMy, false)
	str(ColConfig, u.Config, false)
	str(ColNode, u.Node, false)
	str(ColLoc, u.Loc, false)
	boolean(ColHide, u.Hide)
	str(ColE164, u.E164, false)
	str(ColPseudo, u.Pseudo, false)
	boolean(ColH323Email, u.H323Email)
	str(ColApps, u.Apps, false)
	boolean(ColFax, u.Fax)
	for _, name := range slices.Sorted(maps.Keys(u.Extra)) {
		b = appendKey(b, name)
		var buf bytes.Buffer
		if err := json.Compact(&buf, u.Extra[name]); err != nil {
			return nil, fmt.Errorf("tableusers: column %q: %w", name, err)
		}
		b = append(b, buf.Bytes()...)
	}
	return append(b, '}'), nil
}

func appendKey(b []byte, name string) []byte {
	if len(b) > 1 {
		b = append(b, ',')
	}
	k, _ := json.Marshal(name)
	b = append(b, k...)
	return append(b, ':')
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
