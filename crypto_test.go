package appws_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/appwstest"
	"github.com/appwebsocket/appws/internal/testutil"
)

func TestDigestVectors(t *testing.T) {
	for _, d := range testutil.LoadVectors(t).Digest {
		var info json.RawMessage
		if d.Info != nil {
			info = json.RawMessage(*d.Info)
		}
		got, err := appws.Digest(d.App, d.Domain, d.SIP, d.GUID, d.DN, info, d.Challenge, d.Password)
		if err != nil {
			t.Fatalf("Digest(%q): %v", d.HashedString, err)
		}
		if got != d.Digest {
			t.Errorf("Digest(%q) = %s, want %s", d.HashedString, got, d.Digest)
		}
	}
}

func TestSessionKeyVector(t *testing.T) {
	v := testutil.LoadVectors(t).SessionKey
	if got := appws.SessionKey(v.Challenge, v.Password); got != v.Key {
		t.Errorf("SessionKey = %s, want %s", got, v.Key)
	}
}

func TestCryptoVectors(t *testing.T) {
	for _, c := range testutil.LoadVectors(t).Crypto {
		if got := appws.Encrypt(c.SessionKey, c.Seed, c.Data); got != c.Encrypt {
			t.Errorf("Encrypt(%q) = %s, want %s", c.Data, got, c.Encrypt)
		}
		for _, in := range []string{c.Encrypt, strings.ToUpper(c.Encrypt)} {
			got, err := appws.Decrypt(c.SessionKey, c.Seed, in)
			if err != nil || got != c.Data {
				t.Errorf("Decrypt(%q) = %q, %v; want %q", in, got, err, c.Data)
			}
		}
		if got := appws.Hash(c.SessionKey, c.Seed, c.Data); got != c.Hash {
			t.Errorf("Hash(%q) = %s, want %s", c.Data, got, c.Hash)
		}
	}
}

func TestDecryptBadHexIsAnError(t *testing.T) {
	for _, in := range []string{"123", "ABC", "zz", "0g", "é1"} {
		if _, err := appws.Decrypt("key", "seed", in); err == nil {
			t.Errorf("Decrypt(%q) gave no error", in)
		} else if strings.Contains(err.Error(), in) {
			t.Errorf("Decrypt error %q repeats its input", err)
		}
	}
}

func TestEncryptEmptySeedAndLongKey(t *testing.T) {
	long := strings.Repeat("k", 400)
	for _, key := range []string{"", "key", long} {
		enc := appws.Encrypt(key, "", "data")
		dec, err := appws.Decrypt(key, "", enc)
		if err != nil || dec != "data" {
			t.Errorf("round trip with key of %d bytes: %q, %v", len(key), dec, err)
		}
	}
}

func TestCanonicalInfo(t *testing.T) {
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
		got, err := appws.CanonicalInfo(json.RawMessage(c.in))
		if err != nil || string(got) != c.want {
			t.Errorf("CanonicalInfo(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestCanonicalInfoRejects(t *testing.T) {
	for _, in := range []string{
		`[]`, `"s"`, `1`, `{`, `{"a":1,"a":2}`, `{"a":1}x`, `{"a":01}`, `{"a":"\ud800"}`,
		`{"a":"\udc00\ud800"}`, "{\"a\":\"\xff\"}", `{"a":"\x"}`, `{"a":tru}`, "{\"a\":\"\x01\"}",
		strings.Repeat(`{"a":`, 1000) + `1` + strings.Repeat(`}`, 1000),
	} {
		if got, err := appws.CanonicalInfo(json.RawMessage(in)); err == nil {
			t.Errorf("CanonicalInfo(%.40q) = %q, want an error", in, got)
		}
	}
}

func TestParseMessage(t *testing.T) {
	m, err := appws.ParseMessage([]byte(` {"x":{"mt":"no"},"mt":"A\u0042","api":"PbxSignal","src":"s1","api":7} `))
	if err != nil {
		t.Fatal(err)
	}
	if m.MT != "AB" || m.API != "" || m.Src != "s1" {
		t.Errorf("got mt=%q api=%q src=%q", m.MT, m.API, m.Src)
	}
	m, err = appws.ParseMessage([]byte(`{"mt":"M","api":"a","src":"s"}`))
	if err != nil || m.MT != "M" || m.API != "a" || m.Src != "s" {
		t.Errorf("got %+v, %v", m, err)
	}
	for _, bad := range []string{``, `x`, `[]`, `{}`, `{"mt":1}`, `{"MT":"x"}`, `{"mt":"x"`, `"mt"`} {
		if _, err := appws.ParseMessage([]byte(bad)); err == nil {
			t.Errorf("ParseMessage(%q) gave no error", bad)
		}
	}
}

// TestSessionKeyHelpersAfterClose: Encrypt, Decrypt and Hash say ErrClosed
// once the client ended (API.md rule 9), and Session is 0.
func TestSessionKeyHelpersAfterClose(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{InMemory: true})
	c := dial(t, options(srv))
	nextAs[appws.ConnectComplete](t, c)
	if c.Session() != 1 {
		t.Errorf("Session() = %d while session 1 is up", c.Session())
	}
	closeAndDrain(t, c)
	if _, err := c.Encrypt("s", "d"); !errors.Is(err, appws.ErrClosed) {
		t.Errorf("Encrypt after Close: %v", err)
	}
	if _, err := c.Decrypt("s", "00"); !errors.Is(err, appws.ErrClosed) {
		t.Errorf("Decrypt after Close: %v", err)
	}
	if _, err := c.Hash("s", "d"); !errors.Is(err, appws.ErrClosed) {
		t.Errorf("Hash after Close: %v", err)
	}
	if s := c.Session(); s != 0 {
		t.Errorf("Session() = %d after Close, want 0", s)
	}
}

// TestDigestRefusesInvalidInfo: Digest fails, without a digest, for info
// that is not a JSON object.
func TestDigestRefusesInvalidInfo(t *testing.T) {
	t.Parallel()
	d, err := appws.Digest("a", "", "", "", "", json.RawMessage(`{"a":`), "c", "p")
	if err == nil || d != "" || !strings.HasPrefix(err.Error(), "appws: ") {
		t.Errorf("Digest with bad info = %q, %v", d, err)
	}
}
