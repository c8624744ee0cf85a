package appws

import (
	"encoding/json"
	"errors"
)

// The envelope of PROTOCOL.md section 2: every message is one JSON object
// with a string "mt" and optional string "api" and "src". Keys are matched
// exactly and case-sensitively; when a key repeats, the last one counts, as
// with encoding/json.

var (
	errNotJSON   = errors.New("appws: message is not valid JSON")
	errNotObject = errors.New("appws: message is not a JSON object")
	errNoMT      = errors.New(`appws: message has no string "mt"`)
)

// ParseMessage parses one AppWebsocket message: raw must hold exactly one
// JSON object whose "mt" is a string. The returned Message's Raw aliases raw.
// It is what the client does with every message it receives, exported for
// those writing servers and tests.
func ParseMessage(raw []byte) (Message, error) {
	var env envelope
	if err := env.scan(raw); err != nil {
		return Message{}, err
	}
	m := Message{Raw: raw}
	m.MT, m.API, m.Src = env.strings(raw)
	return m, nil
}

// span is where a top-level string value sits in the message, quotes excluded.
type span struct {
	start, end int
	escaped    bool // holds a backslash: decode with encoding/json
	present    bool
}

type envelope struct {
	mt, api, src span
	// srcAt is the extent of the whole "src" member value (quotes included),
	// used by Request to replace it; srcAt[1] == 0 when there is none.
	srcAt [2]int
}

// scan validates raw as one JSON object and records where mt, api and src
// are. A non-string mt is an error; a non-string api or src counts as absent.
func (e *envelope) scan(raw []byte) error {
	if !json.Valid(raw) {
		return errNotJSON
	}
	i := skipWS(raw, 0)
	if raw[i] != '{' {
		return errNotObject
	}
	i++
	mtSeen := false
	for {
		i = skipWS(raw, i)
		if raw[i] == '}' {
			break
		}
		if raw[i] == ',' {
			i = skipWS(raw, i+1)
		}
		kStart := i + 1
		kEnd, kEsc := stringEnd(raw, i)
		i = skipWS(raw, kEnd+1)
		i = skipWS(raw, i+1) // ':'
		vStart := i
		i = valueEnd(raw, i)
		var target *span
		switch key := raw[kStart:kEnd]; {
		case kEsc:
			var k string
			if json.Unmarshal(raw[kStart-1:kEnd+1], &k) == nil {
				target = e.field(k)
			}
		default:
			target = e.field(string(key)) // the compiler does not allocate here
		}
		if target == nil {
			continue
		}
		isMT := target == &e.mt
		if target == &e.src {
			e.srcAt = [2]int{vStart, i}
		}
		if raw[vStart] != '"' {
			*target = span{}
			if isMT {
				mtSeen = true
			}
			continue
		}
		vEnd, vEsc := stringEnd(raw, vStart)
		*target = span{start: vStart + 1, end: vEnd, escaped: vEsc, present: true}
		if isMT {
			mtSeen = true
		}
	}
	if !mtSeen || !e.mt.present {
		return errNoMT
	}
	return nil
}

func (e *envelope) field(key string) *span {
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

// strings returns mt, api and src. Unescaped values, the usual case, share
// one allocation.
func (e *envelope) strings(raw []byte) (mt, api, src string) {
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

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index of the closing quote of the string that opens
// at b[i], and whether it contains escapes. b is valid JSON.
func stringEnd(b []byte, i int) (int, bool) {
	esc := false
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			esc = true
			i++
		case '"':
			return i, esc
		}
	}
	return len(b), esc
}

// valueEnd returns the index just past the JSON value starting at b[i]. b is
// valid JSON.
func valueEnd(b []byte, i int) int {
	switch b[i] {
	case '"':
		end, _ := stringEnd(b, i)
		return end + 1
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i, _ = stringEnd(b, i)
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return len(b)
	default:
		for i < len(b) {
			switch b[i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return i
			}
			i++
		}
		return i
	}
}
