package rcc

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/internal/jsonscan"
)

// The messages the Monitor reads most (CallInfo, UserInfo,
// UserInitializeResult, and calls mode's) are decoded by hand, in place,
// with appws's JSON scanner: encoding/json's reflection was most of the
// cost of Handle. The fast path takes only what it reads exactly as
// encoding/json would; anything else (an escaped or differently cased
// key, a type it does not expect, a number that is not an int, a string
// encoding/json would repair) makes it give up, and encoding/json decodes
// the message instead, with its errors. FuzzDecode checks the two agree.

// object is a struct the fast path fills: set takes one member of the
// object (false gives up), reset zeroes the struct for encoding/json.
type object interface {
	set(key, val []byte) bool
}

// message is a message type the Monitor decodes.
type message interface {
	object
	reset()
}

// decode decodes msg into v, or with encoding/json when the fast path
// gives up.
func decode(msg appws.Message, v message) error {
	if end, ok := members(msg.Raw, jsonscan.SkipSpace(msg.Raw, 0), v); ok && jsonscan.SkipSpace(msg.Raw, end) == len(msg.Raw) {
		return nil
	}
	v.reset()
	return msg.Decode(v)
}

func (ci *callInfoMsg) reset()   { *ci = callInfoMsg{} }
func (ui *userInfoMsg) reset()   { *ui = userInfoMsg{} }
func (r *userInitResult) reset() { *r = userInitResult{} }
func (pm *pbxCallMsg) reset()    { *pm = pbxCallMsg{} }

// members walks the object at b[i], calling set for each member, and
// returns the index after it.
func members(b []byte, i int, o object) (int, bool) {
	if i >= len(b) || b[i] != '{' {
		return i, false
	}
	i = jsonscan.SkipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, true
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return i, false
		}
		j, escaped, ok := jsonscan.String(b, i)
		if !ok || escaped {
			return i, false
		}
		key := b[i+1 : j-1]
		i = jsonscan.SkipSpace(b, j)
		if i >= len(b) || b[i] != ':' {
			return i, false
		}
		i = jsonscan.SkipSpace(b, i+1)
		end, ok := jsonscan.Value(b, i, 1)
		if !ok || !o.set(key, b[i:end]) {
			return i, false
		}
		i = jsonscan.SkipSpace(b, end)
		if i >= len(b) {
			return i, false
		}
		switch b[i] {
		case ',':
			i = jsonscan.SkipSpace(b, i+1)
		case '}':
			return i + 1, true
		default:
			return i, false
		}
	}
}

// unknown says whether an unread key is one encoding/json would not take
// for one of known either (it matches keys without regard to case).
func unknown(key []byte, known ...string) bool {
	for _, k := range known {
		if len(k) == len(key) && bytes.EqualFold([]byte(k), key) {
			return false
		}
	}
	return true
}

func isNull(val []byte) bool { return string(val) == "null" }

// setString decodes a JSON string (null leaves *s as it is).
func setString(val []byte, s *string) bool {
	if isNull(val) {
		return true
	}
	if len(val) < 2 || val[0] != '"' {
		return false
	}
	if bytes.IndexByte(val, '\\') < 0 {
		*s = string(val[1 : len(val)-1]) // String checked it, UTF-8 included
		return true
	}
	u, ok := jsonscan.Unquote(val)
	if ok {
		*s = u
	}
	return ok
}

// setInt decodes a JSON integer that fits an int.
func setInt(val []byte, n *int) bool {
	if isNull(val) {
		return true
	}
	v, err := strconv.Atoi(string(val))
	if err != nil {
		return false // a fraction, an exponent, too large, or no number
	}
	*n = v
	return true
}

func setBool(val []byte, b *bool) bool {
	switch string(val) {
	case "true":
		*b = true
	case "false":
		*b = false
	case "null":
	default:
		return false
	}
	return true
}

// setSlice decodes an array with encoding/json: arrays are rare and short.
func setSlice(val []byte, v any) bool { return json.Unmarshal(val, v) == nil }

func (c *Connector) set(key, val []byte) bool {
	switch string(key) {
	case "type":
		return setString(val, &c.Type)
	case "cn":
		return setString(val, &c.CN)
	case "dn":
		return setString(val, &c.DN)
	case "h323":
		return setString(val, &c.H323)
	case "e164":
		return setString(val, &c.E164)
	case "norm":
		return setString(val, &c.Norm)
	}
	return unknown(key, "type", "cn", "dn", "h323", "e164", "norm")
}

func (e *Endpoint) set(key, val []byte) bool {
	switch string(key) {
	case "h323":
		return setString(val, &e.H323)
	case "e164":
		return setString(val, &e.E164)
	}
	return unknown(key, "h323", "e164")
}

// setObject decodes a nested object with set (null leaves it as it is).
func setObject(val []byte, o object) bool {
	if isNull(val) {
		return true
	}
	end, ok := members(val, 0, o)
	return ok && end == len(val)
}

func (ci *callInfoMsg) set(key, val []byte) bool {
	switch string(key) {
	case "user":
		return setInt(val, &ci.User)
	case "call":
		return setInt(val, &ci.Call)
	case "conf":
		return setString(val, &ci.Conf)
	case "state":
		return setInt(val, &ci.State)
	case "peer":
		return setObject(val, &ci.Peer)
	case "no":
		return setSlice(val, &ci.No)
	case "msg":
		return setString(val, &ci.Msg)
	case "info":
		return setSlice(val, &ci.Info)
	case "active":
		if isNull(val) {
			ci.Active = nil // as encoding/json does for a pointer
			return true
		}
		var b bool
		if !setBool(val, &b) {
			return false
		}
		ci.Active = &b
		return true
	}
	return unknown(key, "user", "call", "conf", "state", "peer", "no", "msg", "info", "active")
}

func (ui *userInfoMsg) set(key, val []byte) bool {
	u := &ui.User
	switch string(key) {
	case "update":
		return setString(val, &ui.Update)
	case "guid":
		return setString(val, &u.GUID)
	case "cn":
		return setString(val, &u.CN)
	case "dn":
		return setString(val, &u.DN)
	case "h323":
		return setString(val, &u.H323)
	case "e164":
		return setString(val, &u.E164)
	case "node":
		return setString(val, &u.Node)
	case "pbx":
		return setString(val, &u.PBX)
	case "pseudo":
		return setString(val, &u.Pseudo)
	case "regs":
		return setSlice(val, &u.Regs)
	case "alert":
		return setInt(val, &u.Alert)
	case "channel":
		return setInt(val, &u.Channel)
	}
	return unknown(key, "update", "guid", "cn", "dn", "h323", "e164", "node", "pbx", "pseudo", "regs", "alert", "channel")
}

func (r *userInitResult) set(key, val []byte) bool {
	switch string(key) {
	case "error":
		r.Error = json.RawMessage(val)
		return true
	case "errorText":
		return setString(val, &r.ErrorText)
	case "user":
		return setInt(val, &r.User)
	case "prefixIntl":
		return setString(val, &r.PrefixIntl)
	case "prefixNtl":
		return setString(val, &r.PrefixNtl)
	case "prefixSubs":
		return setString(val, &r.PrefixSubs)
	case "area":
		return setString(val, &r.Area)
	case "country":
		return setString(val, &r.Country)
	case "mobile":
		if isNull(val) {
			r.Mobile = nil
			return true
		}
		if r.Mobile == nil {
			r.Mobile = &Mobile{}
		}
		return setObject(val, r.Mobile)
	}
	return unknown(key, "error", "errorText", "user", "prefixIntl", "prefixNtl", "prefixSubs", "area", "country", "mobile")
}

func (pm *pbxCallMsg) set(key, val []byte) bool {
	switch string(key) {
	case "guid":
		return setString(val, &pm.GUID)
	case "cn":
		return setString(val, &pm.CN)
	case "call":
		return setInt(val, &pm.Call)
	case "state":
		if isNull(val) {
			pm.State = nil
			return true
		}
		var n int
		if !setInt(val, &n) {
			return false
		}
		pm.State = &n
		return true
	case "conf-id":
		return setString(val, &pm.ConfID)
	case "call-id":
		return setString(val, &pm.CallID)
	case "msg":
		return setString(val, &pm.Msg)
	case "local":
		return setObject(val, &pm.Local)
	case "remote":
		return setObject(val, &pm.Remote)
	}
	return unknown(key, "guid", "cn", "call", "state", "conf-id", "call-id", "msg", "local", "remote")
}

func (m *Mobile) set(key, val []byte) bool {
	switch string(key) {
	case "e164":
		return setString(val, &m.E164)
	case "h323":
		return setString(val, &m.H323)
	case "off":
		return setBool(val, &m.Off)
	}
	return unknown(key, "e164", "h323", "off")
}
