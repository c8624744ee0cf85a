package rcc

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/appwebsocket/appws"
)

// API is the "api" of every RCC message.
const API = "RCC"

// Error is what a Do method returns when the PBX's Result carries an error
// (RCC.htm documents a string "error" for UserRedirect and UserReroute), or
// when the reply is not the operation's Result; and what a Change of kind
// Invalid carries for an RCC message the Monitor could not use.
type Error struct {
	// Op is the operation's mt ("UserRedirect"), or the mt of the message
	// that was invalid.
	Op string `json:"op"`
	// Code is the Result's "error" when the PBX sent it as a number (0
	// otherwise: RCC.htm documents a string).
	Code int `json:"code,omitempty"`
	// Text is the PBX's error text (its "error" string, or "errorText"
	// next to a numeric code), or what was wrong with the message. At most
	// maxText bytes.
	Text string `json:"text"`
}

// Error returns "rcc: Op: Text".
func (e *Error) Error() string { return "rcc: " + e.Op + ": " + e.Text }

// maxText bounds the text from the PBX that goes into an Error.
const maxText = 256

// bound cuts s to maxText bytes on a rune boundary.
func bound(s string) string {
	if len(s) <= maxText {
		return s
	}
	n := maxText
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

// newError returns an *Error with its text bounded.
func newError(op, text string) *Error { return &Error{Op: op, Text: bound(text)} }

// encode returns body (a struct encoded as a JSON object) with "api":"RCC"
// and "mt":mt in front.
func encode(mt string, body any) ([]byte, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(b)+len(mt)+24)
	out = append(out, `{"api":"RCC","mt":"`...)
	out = append(out, mt...) // mts are plain ASCII names
	out = append(out, '"')
	if len(b) > 2 {
		out = append(out, ',')
	}
	return append(out, b[1:]...), nil
}

// resultError reads the "error" of a Result: a non-empty string (RCC.htm),
// a non-zero number (with "errorText", as other innovaphone APIs send it)
// or true is an error; absent, null, "", 0 and false are success.
func resultError(op string, r *resultFields) *Error {
	var s string
	var n json.Number
	var b bool
	switch e := r.Error; {
	case len(e) == 0 || string(e) == "null":
		return nil
	case json.Unmarshal(e, &s) == nil:
		if s == "" {
			return nil
		}
		return newError(op, s)
	case json.Unmarshal(e, &b) == nil:
		if !b {
			return nil
		}
		if r.ErrorText == "" {
			return newError(op, "failed")
		}
		return newError(op, r.ErrorText)
	case json.Unmarshal(e, &n) == nil:
		code, err := strconv.Atoi(n.String())
		if err != nil || code == 0 {
			if err == nil {
				return nil
			}
			return newError(op, "error "+n.String())
		}
		text := r.ErrorText
		if text == "" {
			text = "error " + n.String()
		}
		out := newError(op, text)
		out.Code = code
		return out
	default:
		return newError(op, "error "+string(e))
	}
}

// resultFields are the error fields of a Result.
type resultFields struct {
	Error     json.RawMessage `json:"error"`
	ErrorText string          `json:"errorText"`
}

// do sends op as a Request and decodes its Result into res (nil: nothing
// to decode).
func do(ctx context.Context, r appws.Requester, mt string, op json.Marshaler, res any) error {
	reply, err := r.Request(ctx, op)
	if err != nil {
		return fmt.Errorf("rcc: %s: %w", mt, err)
	}
	if reply.MT != mt+"Result" {
		return newError(mt, "unexpected reply "+strconv.Quote(bound(reply.MT)))
	}
	var rf resultFields
	if err := reply.Decode(&rf); err != nil {
		return newError(mt, "bad "+reply.MT+": "+err.Error())
	}
	if e := resultError(mt, &rf); e != nil {
		return e
	}
	if res != nil {
		if err := reply.Decode(res); err != nil {
			return newError(mt, "bad "+reply.MT+": "+err.Error())
		}
	}
	return nil
}
