package wire_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/appwebsocket/appws/wire"
)

// ParseMessage validates with its own scanner rather than json.Valid (it was
// the largest cost of receiving). These inputs pin the corners a fuzzer
// rarely reaches; FuzzParseMessage compares it with encoding/json at large.
func TestParseMessageValidatesLikeJSONValid(t *testing.T) {
	t.Parallel()
	deep := func(n int, inner string) string {
		return `{"mt":"x","d":` + strings.Repeat("[", n) + inner + strings.Repeat("]", n) + `}`
	}
	inputs := []string{
		deep(9998, ""), deep(9999, ""), deep(10000, ""), deep(9998, "{}"), deep(9999, "{}"),
		deep(100, `{"a":[1,{"b":null}]}`), deep(3, `{"a":1,}`), deep(3, `[1,]`), deep(2, "}"),
		`{"mt":"x","n":0}`, `{"mt":"x","n":-0.5e+10}`, `{"mt":"x","n":01}`, `{"mt":"x","n":1.}`,
		`{"mt":"x","n":.5}`, `{"mt":"x","n":1e}`, `{"mt":"x","n":-}`, `{"mt":"x","n":1E-7}`,
		`{"mt":"x","n":+1}`, `{"mt":"x","n":0x10}`, `{"mt":"x","b":true}`, `{"mt":"x","b":tru}`,
		`{"mt":"x","b":falsey}`, `{"mt":"x","b":nul}`, `{"mt":"x","s":"\u00e9\n\"\\\/\b\f\r\t"}`,
		`{"mt":"x","s":"\u00g9"}`, `{"mt":"x","s":"\x"}`, "{\"mt\":\"x\",\"s\":\"\x01\"}",
		"{\"mt\":\"x\",\"s\":\"\xff\xfe\"}", `{"mt":"x","s":"\ud800"}`, `{"mt":"x","s":"\u12`,
		`{"mt":"x"`, `{"mt":"x"}}`, `{"mt":"x"} {}`, " \t\r\n{\"mt\":\"x\"}\n ", `{"mt" "x"}`,
		`{"mt":"x",}`, `{,"mt":"x"}`, `{"mt":"x" "a":1}`, `{mt:"x"}`, `{"mt":"x","a":[1 2]}`,
		`{"mt":"x","a":[}`, `{"mt":"x","a":{]}`, "", " ", "{", `"mt"`, `[{"mt":"x"}]`, "{\"mt\":\"x\"}\x00",
	}
	for _, in := range inputs {
		_, err := wire.ParseMessage([]byte(in))
		gotInvalid := err != nil && err.Error() == "appws: message is not valid JSON"
		if wantInvalid := !json.Valid([]byte(in)); gotInvalid != wantInvalid {
			short := in
			if len(short) > 60 {
				short = short[:30] + "..." + short[len(short)-30:]
			}
			t.Errorf("ParseMessage(%q): invalid JSON %v, json.Valid says %v (err %v)", short, gotInvalid, wantInvalid, err)
		}
	}
}

// benchMsg is a typical 170-byte AppWebsocket message (the root package's
// receive benchmarks push the same one).
var benchMsg = func() []byte {
	m := `{"mt":"UpdatePresence","api":"PbxSignal","src":"s17","sip":"alice","dn":"Alice Example","presence":[{"status":"open","activity":"busy","note":"in a call"}],"n":123456789}`
	if len(m) != 170 {
		panic("benchMsg is not 170 bytes")
	}
	return []byte(m)
}()

// BenchmarkParseMessage: the envelope of a 170-byte message; the baseline is
// json.Valid alone, which ParseMessage used to call before its own scan.
func BenchmarkParseMessage(b *testing.B) {
	b.Run("appws", func(b *testing.B) {
		b.SetBytes(int64(len(benchMsg)))
		b.ReportAllocs()
		for range b.N {
			if _, err := wire.ParseMessage(benchMsg); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json.Valid", func(b *testing.B) {
		b.SetBytes(int64(len(benchMsg)))
		b.ReportAllocs()
		for range b.N {
			if !json.Valid(benchMsg) {
				b.Fatal("invalid")
			}
		}
	})
}
