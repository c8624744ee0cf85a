package appws_test

import (
	"bytes"
	"context"
	"crypto/rc4"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/appwstest"
	"github.com/appwebsocket/appws/wire"
)

// Fuzz targets. Their seed corpora live in testdata/fuzz/<FuzzName>/ and run
// with every `go test`; `go test -run '^$' -fuzz FuzzX -fuzztime 60s .`
// searches further. RELIABILITY.md reports longer runs.

// FuzzDecrypt: Decrypt of anything never panics; it fails exactly on what is
// not hex, with an error that does not repeat the input; what it decrypts,
// Encrypt gives back (in lower case); and Encrypt -> Decrypt is the identity.
func FuzzDecrypt(f *testing.F) {
	f.Add("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "seed", "00ff", "text")
	f.Add("", "", "ABCDEF", "")
	f.Fuzz(func(t *testing.T, key, seed, hexData, plain string) {
		got, err := appws.Decrypt(key, seed, hexData)
		_, hexErr := hex.DecodeString(hexData)
		switch {
		case (err != nil) != (hexErr != nil):
			t.Fatalf("Decrypt(%q) error %v, hex error %v", hexData, err, hexErr)
		case err != nil:
			if len(hexData) >= 4 && strings.Contains(err.Error(), hexData) {
				t.Fatalf("Decrypt error %q repeats its input", err)
			}
		default:
			if enc := appws.Encrypt(key, seed, got); enc != strings.ToLower(hexData) {
				t.Fatalf("Encrypt(Decrypt(%q)) = %q", hexData, enc)
			}
		}
		enc := appws.Encrypt(key, seed, plain)
		if len(enc) != 2*len(plain) {
			t.Fatalf("Encrypt of %d bytes gave %d hex digits", len(plain), len(enc))
		}
		if dec, err := appws.Decrypt(key, seed, enc); err != nil || dec != plain {
			t.Fatalf("round trip of %q: %q, %v", plain, dec, err)
		}
	})
}

// FuzzLoginReplies: whatever a server answers to AppChallenge and AppLogin,
// Dial never panics or hangs; it fails with a typed error exactly when the
// replies are not a valid exchange; and when it succeeds, the digest it sent
// and its session key belong to the challenge it was given.
func FuzzLoginReplies(f *testing.F) {
	f.Add([]byte(`{"mt":"AppChallengeResult","challenge":"1234567890123456"}`), []byte(`{"mt":"AppLoginResult","ok":true}`))
	f.Add([]byte(`{"mt":"AppChallengeResult","challenge":4711,"sysClient":true}`), []byte(`{"mt":"AppLoginResult","ok":false,"error":3}`))
	f.Fuzz(func(t *testing.T, cr, lr []byte) {
		synctest.Test(t, func(t *testing.T) { fuzzLogin(t, cr, lr) })
	})
}

func fuzzLogin(t *testing.T, cr, lr []byte) {
	var (
		mu       sync.Mutex
		appLogin []byte
		srv      *scripted
	)
	srv = newScripted(t, func(ws *websocket.Conn) {
		var wmu sync.Mutex
		send := func(b []byte) { // while reading on, see TestHostileLoginReplies
			srv.wg.Add(1)
			go func() {
				defer srv.wg.Done()
				wmu.Lock()
				defer wmu.Unlock()
				_ = ws.WriteMessage(websocket.TextMessage, b)
			}()
		}
		if _, ok := readMT(ws, "AppChallenge"); !ok {
			return
		}
		send(cr)
		login, ok := readMT(ws, "AppLogin")
		if !ok {
			return
		}
		mu.Lock()
		appLogin = login
		mu.Unlock()
		send(lr)
		discard(ws)
	})
	o := srv.options()
	o.ReadLimit = 1 << 20
	c, err := appws.Dial(context.Background(), o)
	wants, challenge, sysClient := loginOracle(cr, lr)
	if err != nil {
		if !strings.HasPrefix(err.Error(), "appws: ") {
			t.Fatalf("error %q lacks the appws: prefix", err)
		}
		if got := kindOf(err); !slices.Contains(wants, got) {
			t.Fatalf("Dial = %v: kind %d, want one of %v\nreplies %q\n%q", err, got, wants, cr, lr)
		}
		if got := kindOf(err); got != login && len(err.Error()) > 200 {
			t.Fatalf("error of %d bytes", len(err.Error()))
		}
		return
	}
	defer closeAndDrain(t, c)
	if !slices.Contains(wants, success) {
		t.Fatalf("Dial succeeded, want one of %v\nreplies %q\n%q", wants, cr, lr)
	}
	pw := testPass
	if sysClient {
		pw = ""
	}
	mu.Lock()
	defer mu.Unlock()
	var sent struct {
		Digest string          `json:"digest"`
		Key    json.RawMessage `json:"key"`
	}
	if err := json.Unmarshal(appLogin, &sent); err != nil || sent.Key != nil {
		t.Fatalf("AppLogin %s: %v", appLogin, err)
	}
	if d, _ := wire.Digest(testApp, "", "", "", "", nil, challenge, pw); sent.Digest != d {
		t.Fatalf("digest for challenge %q is not the expected one", challenge)
	}
	if enc, _ := c.Encrypt("s", "x"); enc != appws.Encrypt(appws.SessionKey(challenge, pw), "s", "x") {
		t.Fatalf("session key is not the one of challenge %q", challenge)
	}
}

// success extends loginOutcome for the oracle.
const success loginOutcome = 100

// loginOracle says what Dial may make of the replies cr and lr (the scripted
// server sends lr only after an AppLogin). It derives the outcome from the
// bytes with encoding/json and the rules of PROTOCOL.md section 3 as
// written, without the library's helpers:
//   - a message is a JSON object in UTF-8 with a string "mt", keys matched
//     exactly; anything else is not a login reply and is ignored, so the
//     login times out;
//   - AppLoginResult before AppChallengeResult, or AppChallengeResult
//     twice, breaks the exchange: a protocol error;
//   - the challenge is a string, or a number used as its literal text, of
//     at most 16 printable single-byte characters; longer ones, and ones
//     with a space, the protocol leaves open: a protocol error or a login
//     with the challenge as given are both right;
//   - "sysClient": true means the empty password; "sysClient" absent, null
//     or false does not; other values the protocol leaves open;
//   - the login succeeds exactly when "ok" is the JSON literal true.
//
// wants lists the outcomes that are right; challenge and sysClient are what
// a successful login must have used.
func loginOracle(cr, lr []byte) (wants []loginOutcome, challenge string, sysClient bool) {
	c, mt, ok := oracleMessage(cr)
	switch {
	case !ok || mt != "AppChallengeResult" && mt != "AppLoginResult":
		return []loginOutcome{timeout}, "", false
	case mt == "AppLoginResult":
		return []loginOutcome{protocol}, "", false
	}
	var open bool // the protocol leaves this challenge result open
	switch string(c["sysClient"]) {
	case "true":
		sysClient = true
	case "", "false", "null":
	default:
		open = true
	}
	raw := c["challenge"]
	switch {
	case len(raw) > 0 && raw[0] == '"':
		if json.Unmarshal(raw, &challenge) != nil {
			return []loginOutcome{protocol}, "", false
		}
	case len(raw) > 0 && (raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9'):
		challenge = string(raw)
	default:
		return []loginOutcome{protocol}, "", false
	}
	if challenge == "" {
		return []loginOutcome{protocol}, "", false
	}
	if len(challenge) > 16 {
		open = true
	}
	for i := 0; i < len(challenge); i++ {
		switch b := challenge[i]; {
		case b == ' ':
			open = true
		case b < 0x21 || b > 0x7e:
			return []loginOutcome{protocol}, "", false
		}
	}
	if open {
		wants = append(wants, protocol)
	}
	r, mt, ok := oracleMessage(lr)
	switch {
	case !ok || mt != "AppChallengeResult" && mt != "AppLoginResult":
		return append(wants, timeout), challenge, sysClient
	case mt == "AppChallengeResult":
		return append(wants, protocol), challenge, sysClient
	case string(r["ok"]) != "true":
		return append(wants, login), challenge, sysClient
	}
	return append(wants, success), challenge, sysClient
}

// oracleMessage decodes b as an AppWebsocket message with encoding/json:
// a JSON object in valid UTF-8 (encoding/json would replace invalid bytes,
// not refuse them) whose exact key "mt" holds a string. Its fields are
// keyed exactly; a duplicate key's last value counts.
func oracleMessage(b []byte) (fields map[string]json.RawMessage, mt string, ok bool) {
	if !utf8.Valid(b) || json.Unmarshal(b, &fields) != nil || fields == nil {
		return nil, "", false
	}
	raw, has := fields["mt"]
	if !has || string(raw) == "null" || json.Unmarshal(raw, &mt) != nil {
		return nil, "", false
	}
	return fields, mt, true
}

// FuzzServiceLoginResult: whatever the PBX answers to GetServiceLogin,
// ServicesAuthenticator never panics or hangs; a login it returns carries
// the fields of the reply and the key decrypted with the salt; its errors
// are typed and do not echo the reply. In the reply, $SRC stands for the
// request's src.
func FuzzServiceLoginResult(f *testing.F) {
	f.Add([]byte(`{"api":"Services","mt":"GetServiceLoginResult","src":$SRC,"app":"t","digest":"d","salt":"s","key":"00ff"}`))
	f.Add([]byte(`{"mt":"GetServiceLoginResult","src":$SRC,"error":"no"}`))
	f.Add([]byte(`{"mt":"GetServiceLoginResult","src":$SRC,"digest":"d","salt":"s","key":"00ff","KEY":"not hex"}`))
	f.Fuzz(func(t *testing.T, reply []byte) {
		synctest.Test(t, func(t *testing.T) { fuzzServiceLogin(t, reply) })
	})
}

func fuzzServiceLogin(t *testing.T, reply []byte) {
	var sent []byte
	srv := newServer(t, appwstest.Config{InMemory: true, Handler: func(s *appwstest.Session, m appws.Message) {
		src, _ := json.Marshal(m.Src)
		sent = bytes.ReplaceAll(reply, []byte("$SRC"), src)
		_ = s.SendText(string(sent))
	}})
	pbx, err := appws.Dial(context.Background(), options(srv))
	if err != nil {
		t.Fatal(err)
	}
	consumed := make(chan struct{})
	go func() { // unmatched replies go to Events: consume them
		defer close(consumed)
		for ev := range pbx.Events() {
			switch ev.(type) {
			case appws.ConnectComplete, appws.Message:
				pbx.MessageComplete()
			}
		}
	}()
	defer func() {
		pbx.Close()
		<-consumed
	}()
	ss := nextSession(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l, err := appws.ServicesAuthenticator(pbx).GetLogin(ctx, "target", "1234")
	if errors.Is(err, context.DeadlineExceeded) {
		return // no reply carried the src
	}
	want, why := serviceLoginOracle(sent, ss.SessionKey())
	if err != nil {
		if !strings.HasPrefix(err.Error(), "appws: ") {
			t.Fatalf("error %q lacks the appws: prefix", err)
		}
		if len(err.Error()) > 200 {
			t.Fatalf("error of %d bytes echoes the reply", len(err.Error()))
		}
		if want != nil {
			t.Fatalf("GetLogin = %v for the valid reply %q", err, sent)
		}
		return
	}
	if want == nil {
		t.Fatalf("a login from reply %q, which %s", sent, why)
	}
	if l.SessionKey != want.SessionKey {
		t.Fatalf("session key %q, want %q", l.SessionKey, want.SessionKey)
	}
	if l.App != want.App || l.Domain != want.Domain || l.SIP != want.SIP || l.GUID != want.GUID || l.DN != want.DN ||
		l.PbxObj != want.PbxObj || l.Digest != want.Digest || !bytes.Equal(l.Info, want.Info) {
		t.Fatalf("login %+v differs from reply %q", l, sent)
	}
}

// serviceLoginOracle returns the login a GetServiceLoginResult reply
// carries, or nil and why it carries none, by PROTOCOL.md 3.3 and
// encoding/json: keys exact and case-sensitive (a map, not a struct, whose
// field matching ignores case); a string field may be absent or null (then
// ""); "error" other than absent, null or false is a refusal; digest and
// key are required; key is the hex of the target's session key encrypted
// under pbxKey with salt as the seed.
func serviceLoginOracle(reply []byte, pbxKey string) (*appws.Login, string) {
	f, mt, ok := oracleMessage(reply)
	if !ok {
		return nil, "is not a message"
	}
	str := func(key string, dst *string) bool {
		raw, has := f[key]
		return !has || string(raw) == "null" || json.Unmarshal(raw, dst) == nil
	}
	var l appws.Login
	var salt, encKey string
	for key, dst := range map[string]*string{
		"app": &l.App, "domain": &l.Domain, "sip": &l.SIP, "guid": &l.GUID, "dn": &l.DN,
		"pbxObj": &l.PbxObj, "digest": &l.Digest, "salt": &salt, "key": &encKey,
	} {
		if !str(key, dst) {
			return nil, "has a " + key + " that is not a string"
		}
	}
	switch e := string(f["error"]); {
	case e != "" && e != "null" && e != "false":
		return nil, "has an error"
	case mt != "GetServiceLoginResult":
		return nil, "has mt " + mt
	case l.Digest == "" || encKey == "":
		return nil, "has no digest or key"
	}
	if info := f["info"]; len(info) > 0 && string(info) != "null" {
		l.Info = info
	}
	b, err := hex.DecodeString(encKey)
	if err != nil {
		return nil, "has a key that is not hex"
	}
	if len(b) > 0 {
		// RC4 under salt ":" pbxKey, PROTOCOL.md section 4. RC4's key
		// schedule reads at most 256 bytes of the key; crypto/rc4 refuses
		// longer keys instead.
		k := []byte(salt + ":" + pbxKey)
		rc, err := rc4.NewCipher(k[:min(len(k), 256)])
		if err != nil {
			panic(err)
		}
		rc.XORKeyStream(b, b)
	}
	l.SessionKey = string(b)
	return &l, ""
}
