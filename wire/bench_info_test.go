package wire_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/appwebsocket/appws/wire"
)

// manyKeysInfo returns an info object with n distinct top-level keys, the
// shape of a hostile GetServiceLoginResult (issue 11).
func manyKeysInfo(n int) []byte {
	var b strings.Builder
	b.WriteByte('{')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"k`)
		b.WriteString(strconv.Itoa(i))
		b.WriteString(`":1`)
	}
	b.WriteByte('}')
	return []byte(b.String())
}

// BenchmarkCanonicalInfoManyKeys: the duplicate-key check must stay linear
// in the number of keys (40,000 keys took 2.9 s when it was quadratic).
func BenchmarkCanonicalInfoManyKeys(b *testing.B) {
	in := manyKeysInfo(40000)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := wire.CanonicalInfo(in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCanonicalInfoSmall: a typical info object, which the duplicate
// check must not make slower.
func BenchmarkCanonicalInfoSmall(b *testing.B) {
	in := []byte(`{"name":"svc","version":"14r1","caps":{"a":1,"b":[1,2,3],"c":"x"},"tags":["p","q"]}`)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := wire.CanonicalInfo(in); err != nil {
			b.Fatal(err)
		}
	}
}

// spacedInfo is an info object as a user writes it, with whitespace and an
// escape for the canonical form to remove.
var spacedInfo = json.RawMessage(`{ "appobj": "bench", "cn": "Bench User", "unique": true, "n": 1.50, "list": [1, 2, 3], "nested": {"a": "b\u00e9"} }`)

// BenchmarkCanonicalInfoSpaced: the canonical form of spacedInfo.
func BenchmarkCanonicalInfoSpaced(b *testing.B) {
	b.ReportAllocs()
	for range b.N {
		if _, err := wire.CanonicalInfo(spacedInfo); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDigest: the login digest of a login with spacedInfo, its
// canonical form included.
func BenchmarkDigest(b *testing.B) {
	b.ReportAllocs()
	for range b.N {
		if _, err := wire.Digest("bench", "example.com", "alice", "0123456789abcdef0123456789abcdef", "Alice", spacedInfo, "1234567890123456", "bench-pw"); err != nil {
			b.Fatal(err)
		}
	}
}
