package appws

import (
	"crypto/rc4"
	"crypto/sha256"
	"encoding/hex"
	"errors"
)

// The session-key helpers of PROTOCOL.md section 4. RC4 is the protocol's
// choice, kept only for compatibility with innovaphone's servers: it is weak,
// so use these helpers for what the protocol asks and nothing else.

// SessionKey returns the session key of a password login: the lowercase hex
// SHA-256 of "innovaphoneAppSessionKey:" + challenge + ":" + password. With a
// sysClient challenge the password is "".
func SessionKey(challenge, password string) string {
	h := sha256.New()
	h.Write([]byte("innovaphoneAppSessionKey:"))
	h.Write([]byte(challenge))
	h.Write([]byte(":"))
	h.Write([]byte(password))
	return hex.EncodeToString(h.Sum(nil))
}

// Encrypt returns the lowercase hex of data encrypted with RC4 under the key
// seed + ":" + sessionKey. Empty data gives "".
func Encrypt(sessionKey, seed, data string) string {
	if data == "" {
		return ""
	}
	buf := []byte(data)
	rc4Stream(sessionKey, seed).XORKeyStream(buf, buf)
	return hex.EncodeToString(buf)
}

// errBadHex is returned by Decrypt for input that is not hex; it carries no
// part of the input, which may be secret.
var errBadHex = errors.New("appws: decrypt: data is not a hex string of even length")

// Decrypt reverses Encrypt: it hex-decodes hexData (upper or lower case) and
// decrypts it with RC4 under seed + ":" + sessionKey. Input that is not hex of
// even length is an error.
func Decrypt(sessionKey, seed, hexData string) (string, error) {
	if hexData == "" {
		return "", nil
	}
	buf, err := hex.DecodeString(hexData)
	if err != nil {
		return "", errBadHex
	}
	rc4Stream(sessionKey, seed).XORKeyStream(buf, buf)
	return string(buf), nil
}

// Hash returns the lowercase hex SHA-256 of seed + ":" + sessionKey + ":" + data.
func Hash(sessionKey, seed, data string) string {
	h := sha256.New()
	h.Write([]byte(seed))
	h.Write([]byte(":"))
	h.Write([]byte(sessionKey))
	h.Write([]byte(":"))
	h.Write([]byte(data))
	return hex.EncodeToString(h.Sum(nil))
}

func rc4Stream(sessionKey, seed string) *rc4.Cipher {
	key := make([]byte, 0, len(seed)+1+len(sessionKey))
	key = append(key, seed...)
	key = append(key, ':')
	key = append(key, sessionKey...)
	c, err := rc4.NewCipher(key)
	if err != nil {
		// rc4 accepts keys of 1 to 256 bytes; the key always has the colon,
		// so only a key longer than 256 bytes gets here. Hash it down would
		// break compatibility, so we fall back to the first 256 bytes, which
		// is exactly what RC4's key schedule uses of a longer key anyway.
		c, _ = rc4.NewCipher(key[:256])
	}
	return c
}
