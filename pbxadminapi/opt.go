package pbxadminapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
)

// Opt is one property of an UpdateObject: the zero Opt is not sent at all,
// so the PBX leaves the property as it is ("properties not present are left
// unchanged"); Set(v) sends v. Set("") sends an empty string, which clears
// a string property; Set([]Device{}) (or a nil slice) sends [], which
// removes every device.
//
// Opt decodes from JSON too: a property present in the object (not null)
// is set, one that is absent stays unset. It prints (fmt) as its value, or
// as "unset".
type Opt[T any] struct {
	v   T
	set bool
}

// Set returns an Opt that sends v.
func Set[T any](v T) Opt[T] { return Opt[T]{v: v, set: true} }

// Get returns the value and whether it is set.
func (o Opt[T]) Get() (T, bool) { return o.v, o.set }

// IsZero reports whether o is unset; with the "omitzero" JSON option an
// unset Opt is left out of the message.
func (o Opt[T]) IsZero() bool { return !o.set }

// MarshalJSON encodes the value; a nil slice as [], not null (the PBX's
// arrays are never null). An unset Opt encodes as null, but UpdateObject
// leaves unset properties out.
func (o Opt[T]) MarshalJSON() ([]byte, error) {
	if !o.set {
		return []byte("null"), nil
	}
	b, err := json.Marshal(o.v)
	if err == nil && string(b) == "null" && reflect.TypeFor[T]().Kind() == reflect.Slice {
		return []byte("[]"), nil
	}
	return b, err
}

// UnmarshalJSON sets o from a JSON value; null leaves it unset.
func (o *Opt[T]) UnmarshalJSON(b []byte) error {
	if string(bytes.TrimSpace(b)) == "null" {
		*o = Opt[T]{}
		return nil
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*o = Set(v)
	return nil
}

// Format prints the value as fmt would (so an Opt[Secret] stays redacted),
// or "unset".
func (o Opt[T]) Format(f fmt.State, verb rune) {
	if !o.set {
		io.WriteString(f, "unset")
		return
	}
	fmt.Fprintf(f, fmt.FormatString(f, verb), o.v)
}

// Flag is a boolean property of an UpdateObject, with the two states a
// plain bool lacks: Unset (the zero value) is not sent, so the PBX keeps
// what it has; Inherit deletes the object's own value, so the value of its
// config template applies again (PbxAdminApi.htm: "If bool properties are
// sent as integers (e.g -1), the parameter is deleted"; Inherit is sent as
// -1).
type Flag int8

// The values of a Flag.
const (
	// Unset: not sent; the property stays as it is.
	Unset Flag = iota
	// True: sent as true.
	True
	// False: sent as false.
	False
	// Inherit: sent as -1; the property is deleted from the object and its
	// config template's value applies.
	Inherit
)

// Bool returns True or False.
func Bool(b bool) Flag {
	if b {
		return True
	}
	return False
}

var flagNames = [...]string{Unset: "unset", True: "true", False: "false", Inherit: "inherit"}

// String returns "unset", "true", "false" or "inherit".
func (f Flag) String() string {
	if f >= 0 && int(f) < len(flagNames) {
		return flagNames[f]
	}
	return fmt.Sprintf("Flag(%d)", int(f))
}

// IsZero reports whether f is Unset: left out of an UpdateObject.
func (f Flag) IsZero() bool { return f == Unset }

// errBadFlag is the error of a Flag that is not one of its constants.
var errBadFlag = errors.New("pbxadminapi: a Flag is Unset, True, False or Inherit")

// MarshalJSON encodes True as true, False as false, Inherit as -1 and
// Unset as null.
func (f Flag) MarshalJSON() ([]byte, error) {
	switch f {
	case Unset:
		return []byte("null"), nil
	case True:
		return []byte("true"), nil
	case False:
		return []byte("false"), nil
	case Inherit:
		return []byte("-1"), nil
	}
	return nil, errBadFlag
}

// UnmarshalJSON decodes true and false, a number as Inherit (the page's
// "sent as integers") and null as Unset.
func (f *Flag) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		*f = Unset
	case string(b) == "true":
		*f = True
	case string(b) == "false":
		*f = False
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return errors.New("pbxadminapi: a boolean property is true, false or a number (inherit)")
		}
		*f = Inherit
	}
	return nil
}

// Secret is a password or key in a form the PBX stores. It prints (fmt,
// slog) as "[redacted]", whatever the verb, so that a struct holding one
// can be logged; string(s) is the value. It encodes to JSON as its value,
// since it has to go on the wire.
type Secret string

// redacted is what a Secret prints as.
const redacted = "[redacted]"

// String returns "[redacted]".
func (Secret) String() string { return redacted }

// GoString returns "[redacted]".
func (Secret) GoString() string { return redacted }

// Format prints "[redacted]" for every verb.
func (Secret) Format(f fmt.State, _ rune) { io.WriteString(f, redacted) }

// LogValue makes slog print "[redacted]".
func (Secret) LogValue() slog.Value { return slog.StringValue(redacted) }
