package wire_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/appwebsocket/appws/wire"
)

// Fuzz targets. Their seed corpora live in testdata/fuzz/<FuzzName>/ and run
// with every `go test`; `go test -run '^$' -fuzz FuzzX -fuzztime 60s ./wire`
// searches further. RELIABILITY.md reports longer runs.

// FuzzParseMessage: ParseMessage never panics, accepts exactly the JSON
// objects in valid UTF-8 with a string "mt", and agrees with encoding/json about mt, api
// and src (exact, case-sensitive keys; the last duplicate counts).
func FuzzParseMessage(f *testing.F) {
	f.Add([]byte(`{"mt":"AppChallenge"}`))
	f.Add([]byte(`{"api":"PbxSignal","mt":"A\u0042","src":"s1","x":{"mt":"no"}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := wire.ParseMessage(raw)
		if !utf8.Valid(raw) {
			if err == nil {
				t.Fatalf("ParseMessage accepted %q, which is not UTF-8", raw)
			}
			return
		}
		var obj map[string]json.RawMessage
		objErr := json.Unmarshal(raw, &obj)
		if objErr != nil || obj == nil {
			if err == nil {
				t.Fatalf("ParseMessage accepted %q, which is not a JSON object", raw)
			}
			return
		}
		var mt string
		mtErr := json.Unmarshal(obj["mt"], &mt)
		if _, has := obj["mt"]; !has || mtErr != nil || string(obj["mt"]) == "null" {
			if err == nil {
				t.Fatalf("ParseMessage accepted %q without a string mt", raw)
			}
			return
		}
		if err != nil {
			t.Fatalf("ParseMessage(%q) = %v, but it is an object with mt %q", raw, err, mt)
		}
		if !bytes.Equal(m.Raw, raw) {
			t.Fatalf("Raw %q differs from the input", m.Raw)
		}
		str := func(key string) string {
			var s string
			if json.Unmarshal(obj[key], &s) != nil {
				return ""
			}
			return s
		}
		if m.MT != mt || m.API != str("api") || m.Src != str("src") {
			t.Fatalf("ParseMessage(%q): mt %q api %q src %q; encoding/json: %q %q %q",
				raw, m.MT, m.API, m.Src, mt, str("api"), str("src"))
		}
	})
}

// FuzzCanonicalInfo: the canonical form is valid JSON, a fixed point,
// decodes to the same value as the input, and uses only the escapes
// JSON.stringify uses. Whatever it accepts, encoding/json accepts.
func FuzzCanonicalInfo(f *testing.F) {
	f.Add([]byte(`{"b":1,"a":[1.0e2,true,null],"s":"<\u00e9>\u2028\/"}`))
	f.Add([]byte(` null `))
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := wire.CanonicalInfo(in)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "appws: ") {
				t.Fatalf("error %q lacks the appws: prefix", err)
			}
			return
		}
		if out == nil {
			if trimmed := bytes.TrimSpace(in); len(trimmed) != 0 && string(trimmed) != "null" {
				t.Fatalf("CanonicalInfo(%q) gave no info and no error", in)
			}
			return
		}
		if !json.Valid(in) {
			t.Fatalf("CanonicalInfo accepted invalid JSON %q", in)
		}
		if !json.Valid(out) || !utf8.Valid(out) {
			t.Fatalf("CanonicalInfo(%q) = %q: not valid JSON", in, out)
		}
		again, err := wire.CanonicalInfo(out)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("canonicalising %q again gives %q, %v", out, again, err)
		}
		if a, b := decodeAny(t, in), decodeAny(t, out); !reflect.DeepEqual(a, b) {
			t.Fatalf("CanonicalInfo(%q) = %q decodes to %v, the input to %v", in, out, b, a)
		}
		checkMinimalEscapes(t, out)
	})
}

func decodeAny(t *testing.T, b []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("decode %q: %v", b, err)
	}
	return v
}

// checkMinimalEscapes: no whitespace outside strings, and inside strings
// only \" \\ \b \f \n \r \t and \u00xx for other control characters.
func checkMinimalEscapes(t *testing.T, out []byte) {
	t.Helper()
	in := false
	for i := 0; i < len(out); i++ {
		b := out[i]
		switch {
		case !in && (b == ' ' || b == '\n' || b == '\r' || b == '\t'):
			t.Fatalf("whitespace at %d in %q", i, out)
		case b == '"':
			in = !in
		case in && b == '\\':
			i++
			switch e := out[i]; e {
			case '"', '\\', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if out[i+1] != '0' || out[i+2] != '0' || out[i+3] > '1' {
					t.Fatalf("\\u escape of a non-control character at %d in %q", i, out)
				}
				switch string(out[i+3 : i+5]) {
				case "08", "09", "0a", "0c", "0d":
					t.Fatalf("\\u escape where a short one exists at %d in %q", i, out)
				}
				i += 4
			default:
				t.Fatalf("escape \\%c at %d in %q", e, i, out)
			}
		}
	}
}
