package appws_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/appwstest"
)

// Fuzz targets. Their seed corpora live in testdata/fuzz/<FuzzName>/ and run
// with every `go test`; `go test -run '^$' -fuzz FuzzX -fuzztime 60s .`
// searches further. RELIABILITY.md reports longer runs.

// FuzzParseMessage: ParseMessage never panics, accepts exactly the JSON
// objects in valid UTF-8 with a string "mt", and agrees with encoding/json about mt, api
// and src (exact, case-sensitive keys; the last duplicate counts).
func FuzzParseMessage(f *testing.F) {
	f.Add([]byte(`{"mt":"AppChallenge"}`))
	f.Add([]byte(`{"api":"PbxSignal","mt":"A\u0042","src":"s1","x":{"mt":"no"}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := appws.ParseMessage(raw)
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
		out, err := appws.CanonicalInfo(in)
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
		again, err := appws.CanonicalInfo(out)
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
	want, challenge, sysClient := loginOracle(cr, lr)
	if err != nil {
		if !strings.HasPrefix(err.Error(), "appws: ") {
			t.Fatalf("error %q lacks the appws: prefix", err)
		}
		if got := kindOf(err); got != want {
			t.Fatalf("Dial = %v: kind %d, want %d\nreplies %q\n%q", err, got, want, cr, lr)
		}
		if want != login && len(err.Error()) > 200 {
			t.Fatalf("error of %d bytes", len(err.Error()))
		}
		return
	}
	defer closeAndDrain(t, c)
	if want != success {
		t.Fatalf("Dial succeeded, want kind %d\nreplies %q\n%q", want, cr, lr)
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
	if d, _ := appws.Digest(testApp, "", "", "", "", nil, challenge, pw); sent.Digest != d {
		t.Fatalf("digest for challenge %q is not the expected one", challenge)
	}
	if enc, _ := c.Encrypt("s", "x"); enc != appws.Encrypt(appws.SessionKey(challenge, pw), "s", "x") {
		t.Fatalf("session key is not the one of challenge %q", challenge)
	}
}

// success extends loginOutcome for the oracle.
const success loginOutcome = 100

// loginOracle says what Dial must make of the replies cr and lr (the
// scripted server sends lr only after an AppLogin), from encoding/json and
// PROTOCOL.md section 3: mt matched exactly; the challenge a string or
// number literal of 1 to 64 printable ASCII characters; success exactly when
// "ok" is the JSON literal true.
func loginOracle(cr, lr []byte) (want loginOutcome, challenge string, sysClient bool) {
	m, err := appws.ParseMessage(cr)
	switch {
	case err != nil || m.MT != "AppChallengeResult" && m.MT != "AppLoginResult":
		return timeout, "", false // ignored: the client waits on
	case m.MT == "AppLoginResult":
		return protocol, "", false
	}
	// Keys are exact and case-sensitive: decode into a map, not a struct.
	var c map[string]json.RawMessage
	if json.Unmarshal(cr, &c) != nil {
		return protocol, "", false
	}
	switch string(bytes.TrimSpace(c["sysClient"])) {
	case "true":
		sysClient = true
	case "", "false", "null":
	default:
		return protocol, "", false
	}
	raw := bytes.TrimSpace(c["challenge"])
	switch {
	case len(raw) > 0 && raw[0] == '"':
		if json.Unmarshal(raw, &challenge) != nil {
			return protocol, "", false
		}
	case len(raw) > 0 && (raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9'):
		challenge = string(raw)
	default:
		return protocol, "", false
	}
	if challenge == "" || len(challenge) > 64 {
		return protocol, "", false
	}
	for i := 0; i < len(challenge); i++ {
		if challenge[i] < 0x21 || challenge[i] > 0x7e {
			return protocol, "", false
		}
	}
	m, err = appws.ParseMessage(lr)
	switch {
	case err != nil || m.MT != "AppChallengeResult" && m.MT != "AppLoginResult":
		return timeout, challenge, sysClient
	case m.MT == "AppChallengeResult":
		return protocol, challenge, sysClient
	}
	var r map[string]json.RawMessage
	if json.Unmarshal(lr, &r) != nil {
		return protocol, challenge, sysClient
	}
	if string(bytes.TrimSpace(r["ok"])) != "true" {
		return login, challenge, sysClient
	}
	return success, challenge, sysClient
}

// FuzzServiceLoginResult: whatever the PBX answers to GetServiceLogin,
// ServicesAuthenticator never panics or hangs; a login it returns carries
// the fields of the reply and the key decrypted with the salt; its errors
// are typed and do not echo the reply. In the reply, $SRC stands for the
// request's src.
func FuzzServiceLoginResult(f *testing.F) {
	f.Add([]byte(`{"api":"Services","mt":"GetServiceLoginResult","src":$SRC,"app":"t","digest":"d","salt":"s","key":"00ff"}`))
	f.Add([]byte(`{"mt":"GetServiceLoginResult","src":$SRC,"error":"no"}`))
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
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return // no reply carried the src
		}
		if !strings.HasPrefix(err.Error(), "appws: ") {
			t.Fatalf("error %q lacks the appws: prefix", err)
		}
		if len(err.Error()) > 200 {
			t.Fatalf("error of %d bytes echoes the reply", len(err.Error()))
		}
		return
	}
	var r struct {
		MT, App, Domain, SIP, GUID, DN, PbxObj string
		Info                                   json.RawMessage
		Digest, Salt, Key                      string
	}
	if err := json.Unmarshal(sent, &r); err != nil {
		t.Fatalf("a login from a reply encoding/json cannot decode: %q", sent)
	}
	if r.MT != "GetServiceLoginResult" || r.Digest == "" || r.Key == "" {
		t.Fatalf("a login from reply %q", sent)
	}
	key, err := appws.Decrypt(ss.SessionKey(), r.Salt, r.Key)
	if err != nil || l.SessionKey != key {
		t.Fatalf("session key %q, want %q (%v)", l.SessionKey, key, err)
	}
	if l.App != r.App || l.Domain != r.Domain || l.SIP != r.SIP || l.GUID != r.GUID || l.DN != r.DN ||
		l.PbxObj != r.PbxObj || l.Digest != r.Digest || !bytes.Equal(l.Info, r.Info) {
		t.Fatalf("login %+v differs from reply %q", l, sent)
	}
}
