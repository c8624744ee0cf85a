package appws_test

import (
	"strings"
	"testing"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/internal/testutil"
)

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
