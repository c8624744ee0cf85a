package jsonscan

import (
	"encoding/json"
	"testing"
	"unicode/utf8"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestValidAgreesWithEncodingJSON: Valid answers as json.Valid does, and
// refuses invalid UTF-8 inside strings, which json.Valid lets through.
func TestValidAgreesWithEncodingJSON(t *testing.T) {
	for _, in := range []string{
		`{}`, `[]`, `""`, `0`, `-0.5e+7`, `true`, `null`, ` {"a" : [1, {"b":null}] } `,
		`{"a":"\u00e9\ud83c\udf89\"\\\/\b\f\n\r\t"}`, `"plain ascii longer than eight bytes"`,
		`{`, `{"a"}`, `{"a":}`, `[1,]`, `01`, `1.`, `-`, `1e`, `tru`, `"\x"`, `"\u12"`,
		"\"ctl\x01\"", `{"a":1}x`, `"unterminated`, `"é"`, `"日本語 and more text"`,
	} {
		if got, want := Valid([]byte(in)), json.Valid([]byte(in)); got != want {
			t.Errorf("Valid(%q) = %v, json.Valid says %v", in, got, want)
		}
	}
	for _, in := range []string{"\"\xff\"", "\"ab\xc3\"", "\"\xed\xa0\x80\"", "\"12345678\xe2\x82\""} {
		if Valid([]byte(in)) {
			t.Errorf("Valid(%q) accepted invalid UTF-8", in)
		}
	}
}

// TestValueDepthLimit: nesting deeper than MaxDepth is refused without
// recursion.
func TestValueDepthLimit(t *testing.T) {
	deep := make([]byte, 0, 2*MaxDepth+2)
	for range MaxDepth + 1 {
		deep = append(deep, '[')
	}
	for range MaxDepth + 1 {
		deep = append(deep, ']')
	}
	if Valid(deep) {
		t.Errorf("%d nested arrays accepted; the limit is %d", MaxDepth+1, MaxDepth)
	}
	if !Valid(deep[1 : len(deep)-1]) {
		t.Errorf("%d nested arrays refused", MaxDepth)
	}
}

// TestUnquote: escapes decode as encoding/json decodes them; lone
// surrogates are refused instead of becoming U+FFFD.
func TestUnquote(t *testing.T) {
	for _, in := range []string{`"a\"b\\c\/d\be\ff\ng\rh\ti"`, `"\u00e9\u65e5\ud83c\udf89"`, `"\u0000x"`, `"plain"`} {
		end, _, ok := String([]byte(in), 0)
		if !ok || end != len(in) {
			t.Fatalf("String(%s) = %d, %v", in, end, ok)
		}
		got, ok := Unquote([]byte(in))
		var want string
		if err := json.Unmarshal([]byte(in), &want); err != nil || !ok || got != want {
			t.Errorf("Unquote(%s) = %q, %v; encoding/json says %q", in, got, ok, want)
		}
		if !utf8.ValidString(got) {
			t.Errorf("Unquote(%s) is not UTF-8", in)
		}
	}
	for _, in := range []string{`"\ud83c"`, `"\udf89"`, `"\ud83cx"`, `"\ud83c\u0041"`} {
		if got, ok := Unquote([]byte(in)); ok {
			t.Errorf("Unquote(%s) = %q, want a lone surrogate refused", in, got)
		}
	}
}
