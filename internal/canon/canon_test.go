package canon

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestAppendStringEscapesAsJSONStringify: only '"', '\' and U+0000-U+001F
// are escaped, with the short escapes where JSON has them; '/', '<', '&' and
// U+2028 stay as they are (encoding/json would escape the last ones).
func TestAppendStringEscapesAsJSONStringify(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{``, `""`},
		{`plain`, `"plain"`},
		{`a"b\c`, `"a\"b\\c"`},
		{"\b\f\n\r\t", `"\b\f\n\r\t"`},
		{"\x00\x01\x1f\x7f", `"\u0000\u0001\u001f` + "\x7f\""},
		{"/<>&\u2028\u2029é🎉", "\"/<>&\u2028\u2029é🎉\""},
	} {
		if got := string(AppendString([]byte("x"), c.in)); got != "x"+c.want {
			t.Errorf("AppendString(%q) = %s, want %s", c.in, got[1:], c.want)
		}
	}
	for b := range 0x80 {
		in := "<" + string(rune(b)) + ">"
		var back string
		if err := json.Unmarshal(AppendString(nil, in), &back); err != nil || back != in {
			t.Errorf("AppendString(%q) decodes to %q, %v", in, back, err)
		}
	}
}

// TestInfoErrorsCarryThePrefix: every error starts with "appws: info: ",
// which the client strips when it reports a bad Options.Info.
func TestInfoErrorsCarryThePrefix(t *testing.T) {
	t.Parallel()
	for _, in := range []string{`[]`, `{"a":1,"a":2}`, `{"a":}`, `{"a":1} 2`, `{"a":"\ud800"}`, "{\"a\":\"\xff\"}", `{"a":01}`} {
		if _, err := Info(json.RawMessage(in)); err == nil || !strings.HasPrefix(err.Error(), "appws: info: ") {
			t.Errorf("Info(%q) error = %v, want one starting with \"appws: info: \"", in, err)
		}
	}
}

// TestInfoDepthLimit: maxInfoDepth nested objects (the top-level one
// included) are accepted, one more is refused, without exhausting the stack.
func TestInfoDepthLimit(t *testing.T) {
	t.Parallel()
	nested := func(levels int) []byte {
		return []byte(strings.Repeat(`{"a":`, levels) + `1` + strings.Repeat(`}`, levels))
	}
	if _, err := Info(nested(maxInfoDepth)); err != nil {
		t.Errorf("%d nested objects: %v", maxInfoDepth, err)
	}
	if _, err := Info(nested(maxInfoDepth + 1)); err == nil || !strings.Contains(err.Error(), "nested too deeply") {
		t.Errorf("%d nested objects: %v, want nested too deeply", maxInfoDepth+1, err)
	}
}

// TestFieldsDigest: Digest hashes Info as given (already canonical); the
// vectors are those of doc/appwebsocket/AppWebsocket.htm (13r1 SDK build
// 132940).
func TestFieldsDigest(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		info, want string
	}{
		{``, "a205299ed2ef2786c311e0be1b14db343f2cadd906a6ae7b564eee34bda5e9a1"},
		{`{}`, "57b23fe824b9222a7ac879597cb509bcdc865a1bfeb057d9d12118cef0c3ba34"},
		{`{"cn":"Test User"}`, "96db3c3f657230c2b68194becc6d2a77f05de9f79f01fc81e9ca0fb196b10d9d"},
	} {
		f := Fields{App: "pbxadminapi"}
		if c.info != "" {
			f.Info = json.RawMessage(c.info)
		}
		if got := f.Digest("0123456789abcdef", "pwd"); got != c.want {
			t.Errorf("Digest with info %q = %s, want %s", c.info, got, c.want)
		}
	}
}

// TestKeySet: a repeated key is found while the keys fit in the array and
// after they moved to the map, and distinct keys are all accepted.
func TestKeySet(t *testing.T) {
	t.Parallel()
	for n := 1; n <= 3*len(keySet{}.few); n++ {
		var s keySet
		for i := range n {
			if !s.add("k" + strconv.Itoa(i)) {
				t.Fatalf("%d keys: key %d refused as a duplicate", n, i)
			}
		}
		for i := range n {
			if s.add("k" + strconv.Itoa(i)) {
				t.Errorf("%d keys: key %d accepted twice", n, i)
			}
		}
	}
}
