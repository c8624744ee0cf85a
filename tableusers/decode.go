package tableusers

// Reading the PBX's messages: the "columns" member of a message, a row as a
// User with only the columns asked for, a row's guid, and the Columns
// object of ReplicateStartResult. Everything is read in place with the
// module's one JSON scanner (internal/jsonscan); a value that is not what
// the pages document is an error that names the column and the JSON types,
// never the value, so that no column's content (a pwd the PBX sends
// unasked) can reach an error, a log line or a Change.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/appwebsocket/appws/internal/jsonscan"
)

var errSyntax = errors.New("not valid JSON")

// eachMember calls f with the key (unescaped) and the raw value of every
// member of the JSON object b, in order, and stops at f's first error. b
// must be one object, with nothing but space around it.
func eachMember(b []byte, f func(key, val []byte) error) error {
	i := jsonscan.SkipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		if _, ok := jsonscan.Value(b, i, 0); ok {
			return fmt.Errorf("an object expected, got %s", jsonType(b[i:]))
		}
		return errSyntax
	}
	i = jsonscan.SkipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return end(b, i+1)
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return errSyntax
		}
		kEnd, escaped, ok := jsonscan.String(b, i)
		if !ok {
			return errSyntax
		}
		key := b[i+1 : kEnd-1]
		if escaped {
			s, ok := jsonscan.Unquote(b[i:kEnd])
			if !ok {
				return errSyntax
			}
			key = []byte(s)
		}
		i = jsonscan.SkipSpace(b, kEnd)
		if i >= len(b) || b[i] != ':' {
			return errSyntax
		}
		i = jsonscan.SkipSpace(b, i+1)
		vEnd, ok := jsonscan.Value(b, i, 1)
		if !ok {
			return errSyntax
		}
		if err := f(key, b[i:vEnd]); err != nil {
			return err
		}
		i = jsonscan.SkipSpace(b, vEnd)
		if i >= len(b) {
			return errSyntax
		}
		switch b[i] {
		case '}':
			return end(b, i+1)
		case ',':
			i = jsonscan.SkipSpace(b, i+1)
		default:
			return errSyntax
		}
	}
}

func end(b []byte, i int) error {
	if jsonscan.SkipSpace(b, i) != len(b) {
		return errSyntax
	}
	return nil
}

// columnsOf returns the raw value of the message's "columns" member, nil
// when it has none.
func columnsOf(raw []byte) ([]byte, error) {
	var cols []byte
	err := eachMember(raw, func(key, val []byte) error {
		if string(key) == "columns" {
			cols = val // the last one, as encoding/json would
		}
		return nil
	})
	return cols, err
}

// noRow reports whether a ReplicateNextResult's "columns" carries no row:
// absent, null, {} or []. That ends the initial replication.
func noRow(cols []byte) bool {
	switch string(bytes.Join(bytes.Fields(cols), nil)) {
	case "", "null", "{}", "[]":
		return true
	}
	return false
}

// columnError is a value of a column that is not of the documented type.
func columnError(name []byte, want string, val []byte) error {
	return fmt.Errorf("column %s: %s expected, got %s", quoteName(name), want, jsonType(val))
}

// row reads a row object as a User, keeping the columns in want and
// skipping every other one unread. A row without a guid is an error.
func row(b []byte, want map[string]bool) (User, error) {
	var u User
	str := func(dst *string, key, val []byte) error {
		switch val[0] {
		case '"':
			s, ok := unquote(val)
			if !ok {
				return fmt.Errorf("column %s: a string with a lone surrogate", quoteName(key))
			}
			*dst = s
		case 'n':
			*dst = ""
		default:
			return columnError(key, "a string", val)
		}
		return nil
	}
	boolean := func(dst *bool, key, val []byte) error {
		switch val[0] {
		case 't':
			*dst = true
		case 'f', 'n':
			*dst = false
		default:
			return columnError(key, "a boolean", val)
		}
		return nil
	}
	err := eachMember(b, func(key, val []byte) error {
		if !want[string(key)] {
			return nil // not asked for: not kept, not even read
		}
		switch string(key) {
		case ColGUID:
			return str(&u.GUID, key, val)
		case ColH323:
			return str(&u.H323, key, val)
		case ColCN:
			return str(&u.CN, key, val)
		case ColDN:
			return str(&u.DN, key, val)
		case ColAppsMy:
			return str(&u.AppsMy, key, val)
		case ColConfig:
			return str(&u.Config, key, val)
		case ColNode:
			return str(&u.Node, key, val)
		case ColLoc:
			return str(&u.Loc, key, val)
		case ColHide:
			return boolean(&u.Hide, key, val)
		case ColE164:
			return str(&u.E164, key, val)
		case ColPseudo:
			return str(&u.Pseudo, key, val)
		case ColH323Email:
			return boolean(&u.H323Email, key, val)
		case ColApps:
			return str(&u.Apps, key, val)
		case ColFax:
			return boolean(&u.Fax, key, val)
		}
		if u.Extra == nil {
			u.Extra = make(map[string]json.RawMessage, 4)
		}
		u.Extra[string(key)] = bytes.Clone(val)
		return nil
	})
	if err != nil {
		return User{}, err
	}
	if u.GUID == "" {
		return User{}, errors.New("row without a guid")
	}
	return u, nil
}

// guidOf reads only the guid of a row: all ReplicateDel needs.
func guidOf(b []byte) (string, error) {
	var guid string
	err := eachMember(b, func(key, val []byte) error {
		if string(key) != ColGUID {
			return nil
		}
		s, ok := "", false
		if val[0] == '"' {
			s, ok = unquote(val)
		}
		if !ok {
			return columnError(key, "a string", val)
		}
		guid = s
		return nil
	})
	if err == nil && guid == "" {
		err = errors.New("row without a guid")
	}
	return guid, err
}

// available reads the Columns object of ReplicateStartResult
// (Replication.htm): one member per column, an object with an optional
// boolean "update".
func available(b []byte) (map[string]Column, error) {
	out := make(map[string]Column)
	err := eachMember(b, func(key, val []byte) error {
		var c Column
		err := eachMember(val, func(k, v []byte) error {
			if string(k) != "update" {
				return nil
			}
			switch v[0] {
			case 't':
				c.Update = true
			case 'f', 'n':
			default:
				return columnError(k, "a boolean", v)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("column %s: %w", quoteName(key), err)
		}
		out[string(key)] = c
		return nil
	})
	return out, err
}

// unquote returns the string of the JSON string val (quotes included).
func unquote(val []byte) (string, bool) {
	if bytes.IndexByte(val[1:len(val)-1], '\\') < 0 {
		return string(val[1 : len(val)-1]), true
	}
	return jsonscan.Unquote(val)
}

// jsonType names the type of the JSON value that starts b.
func jsonType(b []byte) string {
	if len(b) == 0 {
		return "nothing"
	}
	switch b[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// maxName bounds a column name quoted in an error: the names come from the
// PBX.
const maxName = 64

func quoteName(name []byte) string {
	if len(name) > maxName {
		cut := maxName
		for cut > 0 && !utf8.RuneStart(name[cut]) {
			cut--
		}
		return fmt.Sprintf("%q...", name[:cut])
	}
	return fmt.Sprintf("%q", name)
}
