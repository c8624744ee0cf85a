package appws_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/appwebsocket/appws"
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
		if _, err := appws.CanonicalInfo(in); err != nil {
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
		if _, err := appws.CanonicalInfo(in); err != nil {
			b.Fatal(err)
		}
	}
}
