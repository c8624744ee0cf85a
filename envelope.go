package appws

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math/bits"
	"unicode/utf8"
	"unsafe"
)

// The envelope of PROTOCOL.md section 2: every message is one JSON object
// with a string "mt" and optional string "api" and "src". Keys are matched
// exactly and case-sensitively; when a key repeats, the last one counts, as
// with encoding/json.

var (
	errNotJSON   = errors.New("appws: message is not valid JSON")
	errNotObject = errors.New("appws: message is not a JSON object")
	errNoMT      = errors.New(`appws: message has no string "mt"`)
	errNotUTF8   = errors.New("appws: message is not valid UTF-8")
)

// ParseMessage parses one AppWebsocket message: raw must hold exactly one
// JSON object in valid UTF-8 whose "mt" is a string. The returned Message's Raw aliases raw.
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

// parseReceived parses a message the reader read into its scratch buffer
// and returns a Message that owns its bytes. A small message with plain
// envelope strings takes one allocation for all of them: Raw (its capacity
// cut to its length, so an append cannot reach beyond it) and behind it the
// bytes of MT, API and Src, which nothing writes once they are made. A big
// one gets its strings apart, so that keeping m.MT does not keep a large Raw
// alive.
func parseReceived(scratch []byte) (Message, error) {
	var env envelope
	if err := env.scan(scratch); err != nil {
		return Message{}, err
	}
	n := len(scratch)
	lm, la, ls := env.mt.end-env.mt.start, env.api.end-env.api.start, env.src.end-env.src.start
	if n > sharedAllocMax || env.mt.escaped || env.api.escaped || env.src.escaped || lm+la+ls == 0 {
		raw := bytes.Clone(scratch)
		m := Message{Raw: raw}
		m.MT, m.API, m.Src = env.strings(raw)
		return m, nil
	}
	buf := make([]byte, n+lm+la+ls)
	copy(buf, scratch)
	k := n + copy(buf[n:], scratch[env.mt.start:env.mt.end])
	k += copy(buf[k:], scratch[env.api.start:env.api.end])
	copy(buf[k:], scratch[env.src.start:env.src.end])
	all := unsafe.String(&buf[n], lm+la+ls)
	return Message{Raw: buf[:n:n], MT: all[:lm], API: all[lm : lm+la], Src: all[lm+la:]}, nil
}

// sharedAllocMax is the largest message whose strings share its allocation.
const sharedAllocMax = 4 << 10

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
// are, in one pass. A non-string mt is an error; a non-string api or src
// counts as absent.
func (e *envelope) scan(raw []byte) error {
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

func (e *envelope) scanJSON(raw []byte) error {
	i := skipWS(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		if validJSON(raw) {
			return errNotObject
		}
		return errNotJSON
	}
	i = skipWS(raw, i+1)
	mtSeen := false
	if i < len(raw) && raw[i] == '}' {
		i++
	} else {
		for {
			if i >= len(raw) || raw[i] != '"' {
				return errNotJSON
			}
			kStart := i + 1
			kNext, kEsc, ok := stringValid(raw, i)
			if !ok {
				return errNotJSON
			}
			i = skipWS(raw, kNext)
			if i >= len(raw) || raw[i] != ':' {
				return errNotJSON
			}
			vStart := skipWS(raw, i+1)
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
				i, vEsc, ok = stringValid(raw, vStart)
			} else {
				i, ok = validValue(raw, vStart, 1)
			}
			if !ok {
				return errNotJSON
			}
			if target != nil {
				if target == &e.src {
					e.srcAt = [2]int{vStart, i}
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
			i = skipWS(raw, i)
			if i < len(raw) && raw[i] == ',' {
				i = skipWS(raw, i+1)
				continue
			}
			if i < len(raw) && raw[i] == '}' {
				i++
				break
			}
			return errNotJSON
		}
	}
	if skipWS(raw, i) != len(raw) {
		return errNotJSON
	}
	if !mtSeen || !e.mt.present {
		return errNoMT
	}
	return nil
}

// fieldBytes is field for an unescaped key, without converting it.
func (e *envelope) fieldBytes(k []byte) *span {
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
	for i < len(b) && b[i] <= ' ' && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// maxDepth is encoding/json's nesting limit, which validJSON keeps.
const maxDepth = 10000

// validJSON reports whether b is exactly one JSON value, with the answers of
// json.Valid (which does not check UTF-8 either) at several times its speed:
// validating was the largest cost of receiving a message.
func validJSON(b []byte) bool {
	end, ok := validValue(b, skipWS(b, 0), 0)
	return ok && skipWS(b, end) == len(b)
}

// validValue checks the JSON value that starts at b[i], inside depth open
// containers, and returns the index after it.
func validValue(b []byte, i, depth int) (int, bool) {
	var stackArr [32]byte
	stack := stackArr[:0] // the open containers: '{' or '['
	ok := false
value: // a value starts at i
	for {
		if i >= len(b) {
			return i, false
		}
		switch c := b[i]; c {
		case '{', '[':
			if depth+len(stack) >= maxDepth {
				return i, false
			}
			closer := byte('}')
			if c == '[' {
				closer = ']'
			}
			i = skipWS(b, i+1)
			if i < len(b) && b[i] == closer {
				i++
				break // an empty container is a whole value
			}
			stack = append(stack, c)
			if c == '{' {
				if i, ok = objectKey(b, i); !ok {
					return i, false
				}
			}
			continue value
		case '"':
			if i, _, ok = stringValid(b, i); !ok {
				return i, false
			}
		case 't':
			if i, ok = literal(b, i, "true"); !ok {
				return i, false
			}
		case 'f':
			if i, ok = literal(b, i, "false"); !ok {
				return i, false
			}
		case 'n':
			if i, ok = literal(b, i, "null"); !ok {
				return i, false
			}
		default:
			if i, ok = number(b, i); !ok {
				return i, false
			}
		}
		// A value ended at i: close containers until one continues.
		for {
			if len(stack) == 0 {
				return i, true
			}
			i = skipWS(b, i)
			if i >= len(b) {
				return i, false
			}
			top := stack[len(stack)-1]
			switch b[i] {
			case ',':
				i = skipWS(b, i+1)
				if top == '{' {
					if i, ok = objectKey(b, i); !ok {
						return i, false
					}
				}
				continue value
			case '}', ']':
				if (top == '{') != (b[i] == '}') {
					return i, false
				}
				stack = stack[:len(stack)-1]
				i++
			default:
				return i, false
			}
		}
	}
}

// objectKey checks a member's key and colon at b[i] and returns where its
// value starts.
func objectKey(b []byte, i int) (int, bool) {
	if i >= len(b) || b[i] != '"' {
		return i, false
	}
	i, _, ok := stringValid(b, i)
	if !ok {
		return i, false
	}
	i = skipWS(b, i)
	if i >= len(b) || b[i] != ':' {
		return i, false
	}
	return skipWS(b, i+1), true
}

// stringValid checks the string that opens at b[i], its UTF-8 included,
// and returns the index after its closing quote and whether it holds
// escapes. It skips plain ASCII eight bytes at a time.
func stringValid(b []byte, i int) (next int, escaped, ok bool) {
	i++
	for {
		// Skip to the next byte that needs a look: eight at a time
		// while the string goes on (the lowest byte special flags is
		// exact), one at a time over its last few bytes.
		for i+8 <= len(b) {
			if m := special(binary.LittleEndian.Uint64(b[i:])); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
		}
		for i < len(b) && plainByte[b[i]] {
			i++
		}
		if i >= len(b) {
			return i, escaped, false
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1, escaped, true
		case c < 0x20:
			return i, escaped, false
		case c == '\\':
			escaped = true
			i++
			if i >= len(b) {
				return i, escaped, false
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(b) {
					return i, escaped, false
				}
				for _, h := range b[i+1 : i+5] {
					if !isHex(h) {
						return i, escaped, false
					}
				}
				i += 4
			default:
				return i, escaped, false
			}
			i++
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				return i, escaped, false
			}
			i += size
		default:
			i++
		}
	}
}

// plainByte marks the bytes a string holds as they are: printable ASCII
// but '"' and '\\'.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// special reports (non-zero) whether the eight bytes in w hold a byte a
// string scan must look at: '"', '\\', a control character below 0x20 or
// a byte of a multi-byte UTF-8 sequence; the lowest flagged byte is the
// first such byte. (Flags above it may be wrong: borrows run upwards.)
func special(w uint64) uint64 {
	q := w ^ (lsb * '"')
	bs := w ^ (lsb * '\\')
	return ((q-lsb)&^q | (bs-lsb)&^bs | (w - lsb*0x20) | w) & msb
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func literal(b []byte, i int, lit string) (int, bool) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return i, false
	}
	return i + len(lit), true
}

// number checks the number at b[i] (RFC 8259 6) and returns the index after
// it.
func number(b []byte, i int) (int, bool) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return i, false
	case b[i] == '0':
		i++
	case '1' <= b[i] && b[i] <= '9':
		i = digits(b, i)
	default:
		return i, false
	}
	if i < len(b) && b[i] == '.' {
		j := digits(b, i+1)
		if j == i+1 {
			return j, false
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(b, i)
		if j == i {
			return j, false
		}
		i = j
	}
	return i, true
}

func digits(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}
