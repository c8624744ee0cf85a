package envelope

import (
	"strings"
	"testing"
	"unsafe"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// within reports whether s's bytes lie inside b's backing array.
func within(s string, b []byte) bool {
	if len(s) == 0 || cap(b) == 0 {
		return false
	}
	p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return p >= lo && p < lo+uintptr(cap(b))
}

// TestReceivedOwnsItsBytes: what Received returns does not change when the
// reader reuses its scratch buffer, and appending to Raw cannot overwrite
// the envelope strings stored behind it.
func TestReceivedOwnsItsBytes(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		`{"mt":"M","api":"A","src":"S","x":1}`,                                               // shared allocation
		`{"mt":"M\u0041","api":"A","src":"S"}`,                                               // escaped: strings apart
		`{"mt":"M","api":"A","src":"S","pad":"` + strings.Repeat("p", sharedAllocMax) + `"}`, // big
		`{"mt":""}`, // no envelope bytes at all
	} {
		scratch := []byte(in)
		p, err := received(scratch)
		if err != nil {
			t.Fatalf("Received(%.40q): %v", in, err)
		}
		// Copies: p's strings would change with the bytes they share.
		mt, api, src := strings.Clone(p.MT), strings.Clone(p.API), strings.Clone(p.Src)
		for i := range scratch {
			scratch[i] = 'x'
		}
		if string(p.Raw) != in || p.MT != mt || p.API != api || p.Src != src {
			t.Errorf("Received(%.40q) changed with its scratch buffer: %q %q %q %.40q", in, p.MT, p.API, p.Src, p.Raw)
		}
		_ = append(p.Raw, 'z') // one byte: it would land on MT if Raw had room
		if p.MT != mt || p.API != api || p.Src != src {
			t.Errorf("Received(%.40q): appending to Raw changed the strings to %q %q %q", in, p.MT, p.API, p.Src)
		}
	}
}

// TestReceivedAllocations: a small message with plain envelope strings
// costs one allocation, Raw and strings together; a message above
// sharedAllocMax keeps its strings apart from Raw, so that holding MT does
// not hold the whole message.
func TestReceivedAllocations(t *testing.T) { // not parallel: AllocsPerRun
	small := []byte(`{"mt":"UpdatePresence","api":"PbxSignal","src":"s17","sip":"alice"}`)
	if n := testing.AllocsPerRun(100, func() { _, _ = received(small) }); n != 1 {
		t.Errorf("Received of a small message: %v allocations, want 1", n)
	}
	p, _ := received(small)
	if behind := unsafe.Add(unsafe.Pointer(unsafe.SliceData(p.Raw)), len(p.Raw)); unsafe.Pointer(unsafe.StringData(p.MT)) != behind {
		t.Error("a small message's MT is not stored right behind its Raw")
	}
	big := []byte(`{"mt":"M","api":"A","src":"S","pad":"` + strings.Repeat("p", sharedAllocMax) + `"}`)
	p, err := received(big)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{p.MT, p.API, p.Src} {
		if within(s, p.Raw) {
			t.Errorf("a big message's envelope string %q lies inside its Raw", s)
		}
	}
}

// TestParseAliases: Parse does not copy: Raw is the input.
func TestParseAliases(t *testing.T) {
	t.Parallel()
	raw := []byte(`{"mt":"M"}`)
	p, err := Parse(raw)
	if err != nil || &p.Raw[0] != &raw[0] || len(p.Raw) != len(raw) {
		t.Errorf("Parse: Raw %p (len %d), input %p (len %d), err %v", p.Raw, len(p.Raw), raw, len(raw), err)
	}
}

// TestScanErrors: each broken rule has its own error, which keeps the root
// package's prefix.
func TestScanErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		want error
	}{
		{`{"mt":"x"`, errNotJSON},
		{`[]`, errNotObject},
		{`"mt"`, errNotObject},
		{`{"mt":1}`, errNoMT},
		{`{"mt":null}`, errNoMT},
		{`{"MT":"x"}`, errNoMT},
		{`{"mt":"x","mt":2}`, errNoMT},
		{"{\"mt\":\"x\",\"a\":1}\xff", errNotUTF8},
		{"{\"mt\":\"\xff\"}", errNotUTF8},
		{"{\"mt\":\"x\"} \x00", errNotJSON},
	} {
		var e Envelope
		if err := e.Scan([]byte(c.in)); err != c.want {
			t.Errorf("Scan(%q) = %v, want %v", c.in, err, c.want)
		}
		if !strings.HasPrefix(c.want.Error(), "appws: ") {
			t.Errorf("%q lacks the appws: prefix", c.want)
		}
	}
}

// TestSrcAt: SrcAt spans the whole value of the last top-level "src",
// quotes included, whatever its type, and is zero without one.
func TestSrcAt(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{`{"mt":"x","src":"s1"}`, `"s1"`},
		{`{"src":"a","mt":"x","src" : 7 }`, `7`},
		{`{"mt":"x","src":{"src":"in"}}`, `{"src":"in"}`},
		{`{"mt":"x","s\u0072c":"esc"}`, `"esc"`},
		{`{"mt":"x","x":{"src":"nested"}}`, ``},
	} {
		var e Envelope
		if err := e.Scan([]byte(c.in)); err != nil {
			t.Fatalf("Scan(%q): %v", c.in, err)
		}
		if got := c.in[e.SrcAt[0]:e.SrcAt[1]]; got != c.want || (c.want == "" && e.SrcAt != [2]int{}) {
			t.Errorf("Scan(%q): SrcAt %v is %q, want %q", c.in, e.SrcAt, got, c.want)
		}
	}
}

// received is Received into a Parsed.
func received(scratch []byte) (Parsed, error) {
	var p Parsed
	err := Received(scratch, &p.Raw, &p.MT, &p.API, &p.Src)
	return p, err
}
