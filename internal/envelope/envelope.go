// Package envelope finds the envelope of an AppWebsocket message (PROTOCOL.md
// section 2): it checks that the message is one JSON object in valid UTF-8
// whose "mt" is a string, and finds "mt", "api" and "src" in the same pass.
// The client parses every message it receives and sends with it; package
// wire exports it to those writing servers as ParseMessage.
//
// Keys are matched exactly and case-sensitively; when a key repeats, the last
// one counts, as with encoding/json. A non-string "api" or "src" counts as
// absent.
package envelope

import (
	"bytes"
	"encoding/json"
	"errors"
	"unicode/utf8"
	"unsafe"

	"github.com/appwebsocket/appws/internal/jsonscan"
)

// The errors keep the root package's prefix: the client and package wire
// report them as they are.
var (
	errNotJSON   = errors.New("appws: message is not valid JSON")
	errNotObject = errors.New("appws: message is not a JSON object")
	errNoMT      = errors.New(`appws: message has no string "mt"`)
	errNotUTF8   = errors.New("appws: message is not valid UTF-8")
)

// Parsed is a message's bytes and its envelope strings ("" when absent).
type Parsed struct {
	Raw          []byte
	MT, API, Src string
}

// Parse parses one message: raw must hold exactly one JSON object in valid
// UTF-8 whose "mt" is a string. The result's Raw aliases raw.
func Parse(raw []byte) (Parsed, error) {
	var env Envelope
	if err := env.Scan(raw); err != nil {
		return Parsed{}, err
	}
	p := Parsed{Raw: raw}
	p.MT, p.API, p.Src = env.Strings(raw)
	return p, nil
}

// Received parses a message read into a scratch buffer that will be reused
// into *raw, *mt, *api and *src, which own their bytes (the fields of the
// caller's message: written in place, for this runs once per message
// received). A small message with plain
// envelope strings takes one allocation for all of them: Raw (its capacity
// cut to its length, so an append cannot reach beyond it) and behind it the
// bytes of MT, API and Src, which nothing writes once they are made. A big
// one gets its strings apart, so that keeping MT does not keep a large Raw
// alive.
func Received(scratch []byte, raw *[]byte, mt, api, src *string) error {
	var env Envelope
	if err := env.Scan(scratch); err != nil {
		return err
	}
	n := len(scratch)
	lm, la, ls := env.mt.end-env.mt.start, env.api.end-env.api.start, env.src.end-env.src.start
	if n > sharedAllocMax || env.mt.escaped || env.api.escaped || env.src.escaped || lm+la+ls == 0 {
		*raw = bytes.Clone(scratch)
		*mt, *api, *src = env.Strings(*raw)
		return nil
	}
	buf := make([]byte, n+lm+la+ls)
	copy(buf, scratch)
	k := n + copy(buf[n:], scratch[env.mt.start:env.mt.end])
	k += copy(buf[k:], scratch[env.api.start:env.api.end])
	copy(buf[k:], scratch[env.src.start:env.src.end])
	all := unsafe.String(&buf[n], lm+la+ls)
	*raw, *mt, *api, *src = buf[:n:n], all[:lm], all[lm:lm+la], all[lm+la:]
	return nil
}

// sharedAllocMax is the largest message whose strings share its allocation.
const sharedAllocMax = 4 << 10

// span is where a top-level string value sits in the message, quotes excluded.
type span struct {
	start, end int
	escaped    bool // holds a backslash: decode with encoding/json
	present    bool
}

// Envelope is where a scanned message's "mt", "api" and "src" are. Its zero
// value is ready for Scan.
type Envelope struct {
	mt, api, src span
	// SrcAt is the extent of the whole "src" member value (quotes included),
	// used to replace it; SrcAt[1] == 0 when there is none.
	SrcAt [2]int
}

// Scan validates raw as one JSON object and records where mt, api and src
// are, in one pass. A non-string mt is an error; a non-string api or src
// counts as absent.
func (e *Envelope) Scan(raw []byte) error {
	err := e.scanJSON(raw)
	// A text message is UTF-8 (RFC 6455); encoding/json would read invalid
	// bytes as U+FFFD, so that mt and Decode could disagree. The scanner
	// checks UTF-8 inside strings, where alone JSON allows bytes above
	// 0x7F; anywhere else such a byte fails the scan, and only then is the
	// whole message checked to say which rule it broke.
	if err == errNotJSON && !utf8.Valid(raw) {
		return errNotUTF8
	}
	return err
}
func (e *Envelope) scanJSON(raw []byte) error {
	i := jsonscan.SkipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		if jsonscan.Valid(raw) {
			return errNotObject
		}
		return errNotJSON
	}
	i = jsonscan.SkipSpace(raw, i+1)
	mtSeen := false
	if i < len(raw) && raw[i] == '}' {
		i++
	} else {
		for {
			if i >= len(raw) || raw[i] != '"' {
				return errNotJSON
			}
			kStart := i + 1
			kNext, kEsc, ok := jsonscan.String(raw, i)
			if !ok {
				return errNotJSON
			}
			i = jsonscan.SkipSpace(raw, kNext)
			if i >= len(raw) || raw[i] != ':' {
				return errNotJSON
			}
			vStart := jsonscan.SkipSpace(raw, i+1)
			var target *span
			if kEsc {
				var k string
				if json.Unmarshal(raw[kStart-1:kNext], &k) == nil {
					target = e.field(k)
				}
			} else {
				target = e.fieldBytes(raw[kStart : kNext-1])
			}
			var vEsc bool
			if vStart < len(raw) && raw[vStart] == '"' {
				i, vEsc, ok = jsonscan.String(raw, vStart)
			} else {
				i, ok = jsonscan.Value(raw, vStart, 1)
			}
			if !ok {
				return errNotJSON
			}
			if target != nil {
				if target == &e.src {
					e.SrcAt = [2]int{vStart, i}
				}
				if target == &e.mt {
					mtSeen = true
				}
				if raw[vStart] == '"' {
					*target = span{start: vStart + 1, end: i - 1, escaped: vEsc, present: true}
				} else {
					*target = span{}
				}
			}
			i = jsonscan.SkipSpace(raw, i)
			if i < len(raw) && raw[i] == ',' {
				i = jsonscan.SkipSpace(raw, i+1)
				continue
			}
			if i < len(raw) && raw[i] == '}' {
				i++
				break
			}
			return errNotJSON
		}
	}
	if jsonscan.SkipSpace(raw, i) != len(raw) {
		return errNotJSON
	}
	if !mtSeen || !e.mt.present {
		return errNoMT
	}
	return nil
}

// fieldBytes is field for an unescaped key, without converting it.
func (e *Envelope) fieldBytes(k []byte) *span {
	switch {
	case len(k) == 2 && k[0] == 'm' && k[1] == 't':
		return &e.mt
	case len(k) != 3:
		return nil
	case k[0] == 'a' && k[1] == 'p' && k[2] == 'i':
		return &e.api
	case k[0] == 's' && k[1] == 'r' && k[2] == 'c':
		return &e.src
	}
	return nil
}

func (e *Envelope) field(key string) *span {
	switch key {
	case "mt":
		return &e.mt
	case "api":
		return &e.api
	case "src":
		return &e.src
	}
	return nil
}

// Strings returns mt, api and src of raw, which Scan accepted. Unescaped
// values, the usual case, share one allocation.
func (e *Envelope) Strings(raw []byte) (mt, api, src string) {
	if e.mt.escaped || e.api.escaped || e.src.escaped {
		return e.mt.decode(raw), e.api.decode(raw), e.src.decode(raw)
	}
	var arr [256]byte
	n := (e.mt.end - e.mt.start) + (e.api.end - e.api.start) + (e.src.end - e.src.start)
	if n > len(arr) {
		return e.mt.decode(raw), e.api.decode(raw), e.src.decode(raw)
	}
	buf := append(arr[:0], raw[e.mt.start:e.mt.end]...)
	buf = append(buf, raw[e.api.start:e.api.end]...)
	buf = append(buf, raw[e.src.start:e.src.end]...)
	all := string(buf)
	a := e.mt.end - e.mt.start
	b := a + e.api.end - e.api.start
	return all[:a], all[a:b], all[b:]
}

func (s span) decode(raw []byte) string {
	if !s.present {
		return ""
	}
	if !s.escaped {
		return string(raw[s.start:s.end])
	}
	var v string
	_ = json.Unmarshal(raw[s.start-1:s.end+1], &v) // valid: checked by scan
	return v
}
