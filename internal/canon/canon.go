// Package canon writes JSON as JavaScript's JSON.stringify does, which is
// what the AppWebsocket login hashes (PROTOCOL.md 3.1): the canonical form of
// the AppLogin "info" object, strings with minimal escaping, and the login
// digest over them. The client builds its AppLogin with it; package wire
// exports it to those writing servers as CanonicalInfo, LoginFields and
// Digest.
package canon

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"

	"github.com/appwebsocket/appws/internal/jsonscan"
)

// maxInfoDepth bounds nesting so that hostile input cannot exhaust the stack.
const maxInfoDepth = 512

// Info returns info in the canonical compact form that enters the login
// digest and the AppLogin message: no whitespace, member order and number
// literals kept, and only '"', '\' and U+0000-U+001F escaped. Empty input
// and the JSON literal null give nil (no info). Anything but one JSON object,
// an object with a duplicate key, invalid UTF-8 and lone surrogates are
// errors, which start with "appws: info: ".
func Info(info json.RawMessage) (json.RawMessage, error) {
	c := canonicalizer{in: info}
	c.skipSpace()
	if c.pos == len(c.in) {
		return nil, nil
	}
	if c.in[c.pos] != '{' {
		if len(c.in)-c.pos >= 4 && string(c.in[c.pos:c.pos+4]) == "null" {
			c.pos += 4
			c.skipSpace()
			if c.pos == len(c.in) {
				return nil, nil
			}
		}
		return nil, c.fail("info must be a JSON object")
	}
	c.out = make([]byte, 0, len(info))
	if err := c.value(0); err != nil {
		return nil, err
	}
	c.skipSpace()
	if c.pos != len(c.in) {
		return nil, c.fail("data after the info object")
	}
	return c.out, nil
}

// Fields are the AppLogin fields the login digest covers (PROTOCOL.md 3.1).
type Fields struct {
	App, Domain, SIP, GUID, DN string
	// Info is the info object in canonical form (Info), or nil for none.
	Info json.RawMessage
}

// Digest returns the login digest of f for challenge and password: the
// lowercase hex SHA-256 of app:domain:sip:guid:dn:info:challenge:password,
// with info and its colon left out when f.Info is empty. f.Info must already
// be in canonical form: Digest hashes it as it is.
func (f Fields) Digest(challenge, password string) string {
	h := sha256.New()
	for _, s := range [...]string{f.App, f.Domain, f.SIP, f.GUID, f.DN} {
		h.Write([]byte(s))
		h.Write([]byte{':'})
	}
	if len(f.Info) > 0 {
		h.Write(f.Info)
		h.Write([]byte{':'})
	}
	h.Write([]byte(challenge))
	h.Write([]byte{':'})
	h.Write([]byte(password))
	return hex.EncodeToString(h.Sum(nil))
}

type canonicalizer struct {
	in  []byte
	pos int
	out []byte
}

func (c *canonicalizer) fail(what string) error {
	return errors.New("appws: info: " + what + " at offset " + strconv.Itoa(c.pos))
}

func (c *canonicalizer) skipSpace() { c.pos = jsonscan.SkipSpace(c.in, c.pos) }

func (c *canonicalizer) value(depth int) error {
	if depth > maxInfoDepth {
		return c.fail("nested too deeply")
	}
	c.skipSpace()
	if c.pos >= len(c.in) {
		return c.fail("unexpected end")
	}
	switch b := c.in[c.pos]; {
	case b == '{':
		return c.object(depth)
	case b == '[':
		return c.array(depth)
	case b == '"':
		s, err := c.str()
		if err != nil {
			return err
		}
		c.out = AppendString(c.out, s)
		return nil
	case b == '-' || (b >= '0' && b <= '9'):
		return c.number()
	default:
		for _, lit := range [...]string{"true", "false", "null"} {
			if end, ok := jsonscan.Literal(c.in, c.pos, lit); ok {
				c.out = append(c.out, lit...)
				c.pos = end
				return nil
			}
		}
		return c.fail("invalid value")
	}
}

func (c *canonicalizer) object(depth int) error {
	c.pos++ // '{'
	c.out = append(c.out, '{')
	var seen keySet
	for first := true; ; first = false {
		c.skipSpace()
		if c.pos >= len(c.in) {
			return c.fail("unexpected end in object")
		}
		if c.in[c.pos] == '}' && first {
			break
		}
		if !first {
			c.out = append(c.out, ',')
		}
		if c.in[c.pos] != '"' {
			return c.fail("object key expected")
		}
		key, err := c.str()
		if err != nil {
			return err
		}
		if !seen.add(key) {
			return c.fail("duplicate key")
		}
		c.out = AppendString(c.out, key)
		c.skipSpace()
		if c.pos >= len(c.in) || c.in[c.pos] != ':' {
			return c.fail("':' expected")
		}
		c.pos++
		c.out = append(c.out, ':')
		if err := c.value(depth + 1); err != nil {
			return err
		}
		c.skipSpace()
		if c.pos >= len(c.in) {
			return c.fail("unexpected end in object")
		}
		if c.in[c.pos] == '}' {
			break
		}
		if c.in[c.pos] != ',' {
			return c.fail("',' or '}' expected")
		}
		c.pos++
	}
	c.pos++
	c.out = append(c.out, '}')
	return nil
}

// keySet holds the keys of one object, compared by their decoded value. The
// first few live in an array on the stack, so small objects cost no
// allocation; past that a map keeps the check linear, since a hostile server
// can send an info object with tens of thousands of keys.
type keySet struct {
	few  [8]string
	n    int
	many map[string]struct{}
}

// add adds key and reports whether it was new.
func (s *keySet) add(key string) bool {
	if s.many != nil {
		if _, dup := s.many[key]; dup {
			return false
		}
		s.many[key] = struct{}{}
		return true
	}
	for _, k := range s.few[:s.n] {
		if k == key {
			return false
		}
	}
	if s.n < len(s.few) {
		s.few[s.n] = key
		s.n++
		return true
	}
	s.many = make(map[string]struct{}, 4*len(s.few))
	for _, k := range s.few {
		s.many[k] = struct{}{}
	}
	s.many[key] = struct{}{}
	return true
}

func (c *canonicalizer) array(depth int) error {
	c.pos++ // '['
	c.out = append(c.out, '[')
	for first := true; ; first = false {
		c.skipSpace()
		if c.pos >= len(c.in) {
			return c.fail("unexpected end in array")
		}
		if c.in[c.pos] == ']' && first {
			break
		}
		if !first {
			c.out = append(c.out, ',')
		}
		if err := c.value(depth + 1); err != nil {
			return err
		}
		c.skipSpace()
		if c.pos >= len(c.in) {
			return c.fail("unexpected end in array")
		}
		if c.in[c.pos] == ']' {
			break
		}
		if c.in[c.pos] != ',' {
			return c.fail("',' or ']' expected")
		}
		c.pos++
	}
	c.pos++
	c.out = append(c.out, ']')
	return nil
}

// number copies a JSON number literal unchanged after checking its grammar.
func (c *canonicalizer) number() error {
	end, ok := jsonscan.Number(c.in, c.pos)
	if !ok {
		c.pos = end
		return c.fail("invalid number")
	}
	c.out = append(c.out, c.in[c.pos:end]...)
	c.pos = end
	return nil
}

// str decodes the JSON string at c.pos, checking UTF-8 and surrogates.
func (c *canonicalizer) str() (string, error) {
	end, escaped, ok := jsonscan.String(c.in, c.pos)
	if !ok {
		c.pos = end
		return "", c.fail("invalid string")
	}
	q := c.in[c.pos:end]
	c.pos = end
	if !escaped {
		return string(q[1 : len(q)-1]), nil
	}
	s, ok := jsonscan.Unquote(q)
	if !ok {
		return "", c.fail("lone surrogate")
	}
	return s, nil
}

// AppendString appends s as a JSON string with minimal escaping: only
// '"', '\' and control characters, as JSON.stringify does. s must be valid
// UTF-8 (callers pass decoded JSON or Go strings checked beforehand).
func AppendString(dst []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b >= 0x20 && b != '"' && b != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch b {
		case '"', '\\':
			dst = append(dst, '\\', b)
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
