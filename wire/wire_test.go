package wire_test

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/appwebsocket/appws/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// digestVectors mirrors testdata/digest.json: the digest vectors of
// innovaphone's SDK documentation and one computed with its JavaScript
// client (see its "about").
type digestVectors struct {
	Digest []struct {
		App, Domain, SIP, GUID, DN string
		Info                       *string
		Challenge, Password        string
		HashedString               string `json:"hashed_string"`
		Digest                     string
	}
}

func loadVectors(t testing.TB) digestVectors {
	t.Helper()
	b, err := os.ReadFile("testdata/digest.json")
	if err != nil {
		t.Fatal(err)
	}
	var v digestVectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Digest) == 0 {
		t.Fatal("vectors file is incomplete")
	}
	return v
}

func TestDigestVectors(t *testing.T) {
	t.Parallel()
	for _, d := range loadVectors(t).Digest {
		var info json.RawMessage
		if d.Info != nil {
			info = json.RawMessage(*d.Info)
		}
		got, err := wire.Digest(d.App, d.Domain, d.SIP, d.GUID, d.DN, info, d.Challenge, d.Password)
		if err != nil {
			t.Fatalf("Digest(%q): %v", d.HashedString, err)
		}
		if got != d.Digest {
			t.Errorf("Digest(%q) = %s, want %s", d.HashedString, got, d.Digest)
		}
	}
}

func TestCanonicalInfo(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{``, ``},
		{` null `, ``},
		{`{}`, `{}`},
		{" { \"b\" : 1 ,\n \"a\" : [ 1.50e+3 , true, null ] } ", `{"b":1,"a":[1.50e+3,true,null]}`},
		{`{"s":"\u00e9\/<>&\u2028\u2029"}`, "{\"s\":\"é/<>&\u2028\u2029\"}"},
		{`{"c":"\u0001\b\f\n\r\t\"\\"}`, `{"c":"\u0001\b\f\n\r\t\"\\"}`},
		{`{"e":"\ud83c\udf89"}`, `{"e":"🎉"}`},
		{`{"k\u0041":{"x":{}}}`, `{"kA":{"x":{}}}`},
		{`{"n":-0.0}`, `{"n":-0.0}`},
	}
	for _, c := range cases {
		got, err := wire.CanonicalInfo(json.RawMessage(c.in))
		if err != nil || string(got) != c.want {
			t.Errorf("CanonicalInfo(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestCanonicalInfoRejects(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		`[]`, `"s"`, `1`, `{`, `{"a":1,"a":2}`, `{"a":1}x`, `{"a":01}`, `{"a":"\ud800"}`,
		`{"a":"\udc00\ud800"}`, "{\"a\":\"\xff\"}", `{"a":"\x"}`, `{"a":tru}`, "{\"a\":\"\x01\"}",
		strings.Repeat(`{"a":`, 1000) + `1` + strings.Repeat(`}`, 1000),
	} {
		if got, err := wire.CanonicalInfo(json.RawMessage(in)); err == nil {
			t.Errorf("CanonicalInfo(%.40q) = %q, want an error", in, got)
		}
	}
}

func TestParseMessage(t *testing.T) {
	t.Parallel()
	m, err := wire.ParseMessage([]byte(` {"x":{"mt":"no"},"mt":"A\u0042","api":"PbxSignal","src":"s1","api":7} `))
	if err != nil {
		t.Fatal(err)
	}
	if m.MT != "AB" || m.API != "" || m.Src != "s1" {
		t.Errorf("got mt=%q api=%q src=%q", m.MT, m.API, m.Src)
	}
	m, err = wire.ParseMessage([]byte(`{"mt":"M","api":"a","src":"s"}`))
	if err != nil || m.MT != "M" || m.API != "a" || m.Src != "s" {
		t.Errorf("got %+v, %v", m, err)
	}
	for _, bad := range []string{``, `x`, `[]`, `{}`, `{"mt":1}`, `{"MT":"x"}`, `{"mt":"x"`, `"mt"`} {
		if _, err := wire.ParseMessage([]byte(bad)); err == nil {
			t.Errorf("ParseMessage(%q) gave no error", bad)
		}
	}
}

// TestDigestRefusesInvalidInfo: Digest fails, without a digest, for info
// that is not a JSON object.
func TestDigestRefusesInvalidInfo(t *testing.T) {
	t.Parallel()
	d, err := wire.Digest("a", "", "", "", "", json.RawMessage(`{"a":`), "c", "p")
	if err == nil || d != "" || !strings.HasPrefix(err.Error(), "appws: ") {
		t.Errorf("Digest with bad info = %q, %v", d, err)
	}
}

// TestCanonicalInfoManyKeys: the duplicate-key check finds a duplicate
// anywhere among 40,000 keys, and keys of different objects never clash.
// (BenchmarkCanonicalInfoManyKeys shows that the check is linear.)
func TestCanonicalInfoManyKeys(t *testing.T) {
	t.Parallel()
	const n = 40000
	keys := func(prefix string, n int) string {
		var b strings.Builder
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`"` + prefix + strconv.Itoa(i) + `":` + strconv.Itoa(i))
		}
		return b.String()
	}
	many := keys("k", n)
	cases := []struct {
		name string
		info string
		dup  bool
	}{
		{"40000 distinct keys", `{` + many + `}`, false},
		{"duplicate at the start", `{"k0":0,` + many + `}`, true},
		{"duplicate at the end", `{` + many + `,"k39999":1}`, true},
		{"last repeats first", `{` + many + `,"k0":1}`, true},
		{"duplicate by decoded value", `{` + many + `,"k\u0031\u0032":1}`, true},
		{"same keys in sibling objects", `{"a":{` + many + `},"b":{` + many + `}}`, false},
		{"same keys nested", `{` + keys("k", 20) + `,"in":{` + keys("k", 20) + `,"in":{` + many + `}}}`, false},
		{"same keys in array elements", `{"a":[{` + many + `},{` + many + `}]}`, false},
		{"duplicate after a nested object", `{"k0":{` + many + `},` + keys("x", 100) + `,"k0":1}`, true},
	}
	for _, tc := range cases {
		out, err := wire.CanonicalInfo(json.RawMessage(tc.info))
		switch {
		case tc.dup && (err == nil || !strings.Contains(err.Error(), "duplicate key")):
			t.Errorf("%s: err = %v, want a duplicate key", tc.name, err)
		case !tc.dup && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case !tc.dup && string(out) != tc.info:
			t.Errorf("%s: canonical form differs from the (already canonical) input", tc.name)
		}
	}
}

// TestCanonicalInfoDuplicateEveryPosition: around the size where the check
// switches from a list to a map, a duplicate is found whatever the
// positions of the two keys, and objects without one are accepted.
func TestCanonicalInfoDuplicateEveryPosition(t *testing.T) {
	t.Parallel()
	for n := 1; n <= 20; n++ {
		names := make([]string, n)
		for i := range names {
			names[i] = `"key` + strconv.Itoa(i) + `"`
		}
		build := func() string { return "{" + strings.Join(names, ":1,") + ":1}" }
		if _, err := wire.CanonicalInfo(json.RawMessage(build())); err != nil {
			t.Fatalf("%d distinct keys: %v", n, err)
		}
		for i := 0; i < n; i++ {
			for j := i + 1; j < n; j++ {
				saved := names[j]
				names[j] = `"key` + strconv.Itoa(i) + `"`
				if _, err := wire.CanonicalInfo(json.RawMessage(build())); err == nil {
					t.Errorf("%d keys, key %d repeats key %d: accepted", n, j, i)
				}
				names[j] = saved
			}
		}
	}
}

// TestParseMessageAliasesItsInput: the Message's Raw is the input itself,
// not a copy, and its Session is 0: no session received it.
func TestParseMessageAliasesItsInput(t *testing.T) {
	t.Parallel()
	raw := []byte(`{"mt":"M","api":"A","src":"S"}`)
	m, err := wire.ParseMessage(raw)
	if err != nil || len(m.Raw) != len(raw) || &m.Raw[0] != &raw[0] || m.Session != 0 {
		t.Errorf("ParseMessage = %+v, %v; want Raw aliasing the input and Session 0", m, err)
	}
}

// TestDigestHashesTheCanonicalInfo: LoginFields.Digest puts Info in its
// canonical form first, and info that is null or empty is no info.
func TestDigestHashesTheCanonicalInfo(t *testing.T) {
	t.Parallel()
	digest := func(info string) string {
		t.Helper()
		var raw json.RawMessage
		if info != "-" {
			raw = json.RawMessage(info)
		}
		d, err := wire.LoginFields{App: "app", Domain: "d", SIP: "s", GUID: "g", DN: "n", Info: raw}.Digest("ch", "pw")
		if err != nil {
			t.Fatalf("Digest with info %q: %v", info, err)
		}
		return d
	}
	if a, b := digest(` { "b" : "\u00e9\/", "a" : [ 1.0 ] } `), digest(`{"b":"é/","a":[1.0]}`); a != b {
		t.Errorf("digest of spaced info %s, of its canonical form %s", a, b)
	}
	none := digest("-")
	for _, info := range []string{``, `null`, " null\n"} {
		if d := digest(info); d != none {
			t.Errorf("digest with info %q = %s, without info %s", info, d, none)
		}
	}
	if digest(`{}`) == none {
		t.Error("an empty object hashes like no info")
	}
}
