// Package jsonscan is appws's one JSON scanner: whitespace, strings (with
// their UTF-8), numbers, literals and whole values with a depth limit,
// checked in place without decoding. The envelope parser validates messages
// with it and the info canonicaliser walks the info object with it.
package jsonscan

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
)

// SkipSpace returns the index of the first byte at or after i that is not
// JSON whitespace.
func SkipSpace(b []byte, i int) int {
	for i < len(b) && b[i] <= ' ' && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// MaxDepth is encoding/json's nesting limit, which Valid keeps.
const MaxDepth = 10000

// Valid reports whether b is exactly one JSON value, with the answers of
// json.Valid (which does not check UTF-8 either) at several times its speed:
// validating was the largest cost of receiving a message.
func Valid(b []byte) bool {
	end, ok := Value(b, SkipSpace(b, 0), 0)
	return ok && SkipSpace(b, end) == len(b)
}

// Value checks the JSON value that starts at b[i], inside depth open
// containers, and returns the index after it.
func Value(b []byte, i, depth int) (int, bool) {
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
			if depth+len(stack) >= MaxDepth {
				return i, false
			}
			closer := byte('}')
			if c == '[' {
				closer = ']'
			}
			i = SkipSpace(b, i+1)
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
			if i, _, ok = String(b, i); !ok {
				return i, false
			}
		case 't':
			if i, ok = Literal(b, i, "true"); !ok {
				return i, false
			}
		case 'f':
			if i, ok = Literal(b, i, "false"); !ok {
				return i, false
			}
		case 'n':
			if i, ok = Literal(b, i, "null"); !ok {
				return i, false
			}
		default:
			if i, ok = Number(b, i); !ok {
				return i, false
			}
		}
		// A value ended at i: close containers until one continues.
		for {
			if len(stack) == 0 {
				return i, true
			}
			i = SkipSpace(b, i)
			if i >= len(b) {
				return i, false
			}
			top := stack[len(stack)-1]
			switch b[i] {
			case ',':
				i = SkipSpace(b, i+1)
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
	i, _, ok := String(b, i)
	if !ok {
		return i, false
	}
	i = SkipSpace(b, i)
	if i >= len(b) || b[i] != ':' {
		return i, false
	}
	return SkipSpace(b, i+1), true
}

// String checks the string that opens at b[i], its UTF-8 included,
// and returns the index after its closing quote and whether it holds
// escapes. It skips plain ASCII eight bytes at a time.
func String(b []byte, i int) (next int, escaped, ok bool) {
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

// special reports (non-zero) whether the eight bytes in w hold a byte a
// string scan must look at: '"', '\\', a control character below 0x20 or
// a byte of a multi-byte UTF-8 sequence; the lowest flagged byte is the
// first such byte. (Flags above it may be wrong: borrows run upwards.)
func special(w uint64) uint64 {
	q := w ^ (lsb * '"')
	bs := w ^ (lsb * '\\')
	return ((q-lsb)&^q | (bs-lsb)&^bs | (w - lsb*0x20) | w) & msb
}

// isHex reports whether c is a hexadecimal digit.
func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// Literal checks that b holds lit at i and returns the index after it.
func Literal(b []byte, i int, lit string) (int, bool) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return i, false
	}
	return i + len(lit), true
}

// Number checks the Number at b[i] (RFC 8259 6) and returns the index after
// it.
func Number(b []byte, i int) (int, bool) {
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

// digits skips decimal digits from i.
func digits(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// Unquote decodes the JSON string q (quotes included) that String accepted.
// A \u escape of a lone surrogate is an error, so that what it returns is
// always valid UTF-8.
func Unquote(q []byte) (string, bool) {
	q = q[1 : len(q)-1]
	buf := make([]byte, 0, len(q))
	for i := 0; i < len(q); {
		c := q[i]
		if c != '\\' {
			buf = append(buf, c)
			i++
			continue
		}
		e := q[i+1]
		i += 2
		switch e {
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r := hex4(q[i:])
			i += 4
			if utf16.IsSurrogate(r) {
				if r >= 0xDC00 || i+6 > len(q) || q[i] != '\\' || q[i+1] != 'u' {
					return "", false
				}
				r = utf16.DecodeRune(r, hex4(q[i+2:]))
				if r == utf8.RuneError {
					return "", false
				}
				i += 6
			}
			buf = utf8.AppendRune(buf, r)
		default: // '"', '\\', '/'
			buf = append(buf, e)
		}
	}
	return string(buf), true
}

// hex4 decodes four hexadecimal digits that String checked.
func hex4(h []byte) rune {
	var r rune
	for _, c := range h[:4] {
		switch {
		case c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a':
			r = r<<4 | rune(c-'a'+10)
		default:
			r = r<<4 | rune(c-'A'+10)
		}
	}
	return r
}
