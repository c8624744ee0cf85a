package pbxadminapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/appwebsocket/appws"
)

// API is the "api" of every PbxAdminApi message.
const API = "PbxAdminApi"

// maxErrorText bounds the text from the PBX that goes into an Error.
const maxErrorText = 200

// Error is what an operation's Do returns when the PBX answered with a
// Result that carries an error, or with something that is not the
// operation's Result. Its message is "pbxadminapi: Op: Text", with the code
// when there is one.
type Error struct {
	// Op is the operation's mt, e.g. "UpdateObject".
	Op string
	// Code is the Result's numeric "error", 0 when it had none or a string.
	Code int
	// Text is the Result's "errorText" (or its "error" string), or what was
	// wrong with the reply; one line, at most 200 bytes.
	Text string

	notFound bool
}

// Error returns "pbxadminapi: Op: Text", or "pbxadminapi: Op: error Code:
// Text" when the PBX gave a code.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("pbxadminapi: ")
	b.WriteString(e.Op)
	if e.Code != 0 {
		b.WriteString(": error ")
		b.WriteString(strconv.Itoa(e.Code))
	}
	if e.Text != "" {
		b.WriteString(": ")
		b.WriteString(e.Text)
	}
	return b.String()
}

// Is makes errors.Is(err, ErrNotFound) true for the Error of a Result that
// names no object.
func (e *Error) Is(target error) bool { return target == ErrNotFound && e.notFound }

// ErrNotFound is matched (errors.Is) by the *Error of a GetObject or GetRegs
// whose Result names no object: the PBX has none with that guid or cn.
var ErrNotFound = errors.New("pbxadminapi: no such object")

// bound returns s as one line of at most maxErrorText bytes of valid UTF-8:
// text from the PBX goes into errors and must not flood a log.
func bound(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) <= maxErrorText {
		return s
	}
	cut := maxErrorText
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// status is the error part of every Result. Each Result type embeds it, so
// that a reply is decoded once.
type status struct {
	Error     json.RawMessage `json:"error"`
	ErrorText string          `json:"errorText"`
}

func (s *status) resultStatus() *status { return s }

// result is a Result type: it embeds status.
type result interface{ resultStatus() *status }

// check turns the error fields of a Result into an *Error; nil when the
// Result reports success. PbxAdminApi.htm documents no error fields; see the
// package doc for what is taken as one.
func (s *status) check(op string) error {
	e := &Error{Op: op, Text: bound(s.ErrorText)}
	raw := bytes.TrimSpace(s.Error)
	switch {
	case len(raw) == 0 || string(raw) == "null" || string(raw) == "false" || string(raw) == `""`:
		if e.Text == "" {
			return nil
		}
	case string(raw) == "true":
	case raw[0] == '"':
		var t string
		if err := json.Unmarshal(raw, &t); err != nil {
			return &Error{Op: op, Text: "bad error in reply"}
		}
		if e.Text == "" {
			e.Text = bound(t)
		}
	case raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9':
		n, err := strconv.ParseFloat(string(raw), 64)
		if err != nil {
			return &Error{Op: op, Text: "bad error in reply"}
		}
		if n == 0 && e.Text == "" {
			return nil
		}
		if n == float64(int(n)) {
			e.Code = int(n)
		}
		if e.Code == 0 && e.Text == "" {
			e.Text = "error " + bound(string(raw))
		}
	default:
		if e.Text == "" {
			e.Text = "error " + bound(string(raw))
		}
	}
	if e.Code == 0 && e.Text == "" {
		e.Text = "failed"
	}
	return e
}

// encode returns body (a struct encoded as a JSON object) with
// "api":"PbxAdminApi" and "mt":mt in front.
func encode(mt string, body any) ([]byte, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(b)+len(mt)+32)
	out = append(out, `{"api":"PbxAdminApi","mt":"`...)
	out = append(out, mt...) // mts are plain ASCII names
	out = append(out, '"')
	if len(b) > 2 {
		out = append(out, ',')
	}
	return append(out, b[1:]...), nil
}

// do sends msg as a Request and decodes the reply, which must be op's
// Result, into res.
func do(ctx context.Context, r appws.Requester, op string, msg any, res result) error {
	reply, err := r.Request(ctx, msg)
	if err != nil {
		return fmt.Errorf("pbxadminapi: %s: %w", op, err)
	}
	return decodeResult(reply, op, res)
}

// decodeResult decodes reply, which must be op's Result, into res.
func decodeResult(reply appws.Message, op string, res result) error {
	if reply.MT != op+"Result" {
		return &Error{Op: op, Text: "unexpected reply " + strconv.Quote(bound(reply.MT))}
	}
	if err := json.Unmarshal(reply.Raw, res); err != nil {
		// The error fields alone may still say why.
		var s status
		if json.Unmarshal(reply.Raw, &s) == nil {
			if err := s.check(op); err != nil {
				return err
			}
		}
		return &Error{Op: op, Text: "bad reply: " + bound(err.Error())}
	}
	return res.resultStatus().check(op)
}
