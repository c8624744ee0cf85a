package appwstest

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/wire"
)

// The reasons a login fails, recorded in LoginRecord.Error and, with
// Config.LoginErrorDetails, sent as "error" in the failed AppLoginResult.
// The real server's numbers are not documented; these let tests tell the
// reasons apart.
const (
	LoginErrNoChallenge     = 1 // AppLogin without a preceding, unused AppChallenge
	LoginErrBadMessage      = 2 // a login field has the wrong type, or info is not a JSON object
	LoginErrUnknownApp      = 3 // no password for the app (and none for the domain)
	LoginErrWrongDigest     = 4 // the digest matches no accepted password
	LoginErrRefused         = 5 // refused on purpose (Server.RefuseLogins)
	LoginErrAlreadyLoggedIn = 6 // AppLogin on a session that is logged in
)

// LoginRecord is one AppLogin as the server received it. String fields that
// were missing (or not strings) are "".
type LoginRecord struct {
	App, Domain, SIP, GUID, DN, PbxObj, Digest string

	// Info is the "info" value exactly as received (nil if absent).
	Info json.RawMessage
	// HasKey reports that the message carried a "key" field. The server
	// ignores it, as the real one does; a client must never send one.
	HasKey bool
	// Fields lists the message's top-level keys in wire order.
	Fields []string
	// Raw is the whole message as received.
	Raw json.RawMessage
	// OK reports that the login succeeded.
	OK bool
	// Error is why the login failed (a LoginErr* number), 0 if it
	// succeeded. It is recorded whether or not Config.LoginErrorDetails
	// sends it to the client.
	Error int
}

func (r LoginRecord) clone() LoginRecord {
	r.Info = bytes.Clone(r.Info)
	r.Fields = slices.Clone(r.Fields)
	r.Raw = bytes.Clone(r.Raw)
	return r
}

// newChallenge returns 16 random decimal digits from crypto/rand. A
// challenge sent as a JSON number must not start with 0.
func newChallenge(noLeadingZero bool) string {
	var out [16]byte
	var buf [32]byte
	n := 0
	for n < len(out) {
		rand.Read(buf[:])
		for _, b := range buf {
			if b >= 250 || n == len(out) { // 250 = 25*10: keep digits uniform
				continue
			}
			d := b % 10
			if n == 0 && noLeadingZero && d == 0 {
				continue
			}
			out[n] = '0' + d
			n++
		}
	}
	return string(out[:])
}

// sendChallenge answers AppChallenge. A new challenge replaces an unused
// older one.
func (ss *Session) sendChallenge() {
	cfg := &ss.srv.cfg
	c := cfg.Challenge
	if c == "" {
		c = newChallenge(cfg.ChallengeAsNumber)
	}
	ss.challenge, ss.hasChallenge = c, true
	value, _ := json.Marshal(c)
	if cfg.ChallengeAsNumber {
		value = json.RawMessage(c) // checked by NewServer or made of digits
	}
	ss.sendLogged(struct {
		MT        string          `json:"mt"`
		Challenge json.RawMessage `json:"challenge"`
		SysClient bool            `json:"sysClient,omitempty"`
	}{"AppChallengeResult", value, cfg.SysClient})
}

// appLogin checks an AppLogin and answers it. The challenge is used up by
// every AppLogin, successful or not.
func (ss *Session) appLogin(msg appws.Message) {
	rec, badField := parseLogin(msg.Raw)
	challenge, hadChallenge := ss.challenge, ss.hasChallenge
	ss.challenge, ss.hasChallenge = "", false

	srv := ss.srv
	srv.mu.Lock()
	refuse := srv.refuseLogins > 0
	if refuse {
		srv.refuseLogins--
	}
	delay := srv.loginDelay
	passwords := srv.passwordsLocked(rec.App, rec.Domain)
	srv.mu.Unlock()

	ss.mu.Lock()
	already := ss.loggedIn
	ss.mu.Unlock()

	var code int
	var text, key string
	switch {
	case already:
		code, text = LoginErrAlreadyLoggedIn, "already logged in"
	case !hadChallenge:
		code, text = LoginErrNoChallenge, "no challenge"
	case badField != "":
		code, text = LoginErrBadMessage, badField
	case refuse:
		code, text = LoginErrRefused, "login refused"
	case len(passwords) == 0:
		code, text = LoginErrUnknownApp, "unknown app"
	default:
		var info json.RawMessage
		if !bytes.Equal(rec.Info, []byte("null")) {
			info = rec.Info
		}
		code, text = LoginErrWrongDigest, "wrong digest"
		for _, pw := range passwords {
			d, err := wire.LoginFields{App: rec.App, Domain: rec.Domain, SIP: rec.SIP, GUID: rec.GUID, DN: rec.DN, Info: info}.Digest(challenge, pw)
			if err != nil {
				code, text = LoginErrBadMessage, "info is not a JSON object"
				break
			}
			if d == rec.Digest {
				code, text, key = 0, "", appws.SessionKey(challenge, pw)
				break
			}
		}
	}

	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ss.raw.closed:
		}
		t.Stop()
	}

	if code != 0 {
		ss.log.Info("appwstest: login failed", "app", rec.App, "error", code, "errorText", text)
		rec.Error = code
		srv.mu.Lock()
		srv.logins = append(srv.logins, rec)
		srv.mu.Unlock()
		if srv.cfg.LoginErrorDetails {
			ss.sendLogged(struct {
				MT        string `json:"mt"`
				Error     int    `json:"error"`
				ErrorText string `json:"errorText"`
			}{"AppLoginResult", code, text})
		} else {
			// The documented minimum: "ok" is present with true only on
			// success. Without "ok" rather than with "ok":false, so that a
			// client testing for ok == false instead of ok != true fails
			// here and not against a real server.
			ss.sendLogged(map[string]string{"mt": "AppLoginResult"})
		}
		if srv.cfg.CloseAfterFailedLogin && !already {
			ss.Close(closeLoginFailed, "login failed")
		}
		return
	}

	rec.OK = true
	result, _ := marshal(struct {
		MT     string `json:"mt"`
		OK     bool   `json:"ok"`
		Domain string `json:"domain,omitempty"`
	}{"AppLoginResult", true, srv.cfg.Domain})

	// Queue the result before the session becomes visible, so that nothing
	// a test sends to it can overtake the AppLoginResult.
	req := &writeReq{frames: srv.message(opText, result), done: make(chan error, 1)}
	srv.mu.Lock()
	ss.wmu.Lock()
	queued := !ss.closeQueued && !ss.writerDead
	if queued {
		ss.wq = append(ss.wq, req)
	}
	ss.wmu.Unlock()
	ss.mu.Lock()
	ss.loggedIn, ss.login, ss.key = true, rec, key
	ss.mu.Unlock()
	srv.logins = append(srv.logins, rec)
	if queued {
		srv.loggedInLocked(ss)
	}
	srv.mu.Unlock()
	if !queued {
		return
	}
	ss.log.Info("appwstest: logged in", "app", rec.App, "domain", rec.Domain)
	ss.wakeWriter()
	select {
	case <-req.done:
	case <-ss.writerDone:
	}
}

// closeLoginFailed is the close code after a failed login with
// Config.CloseAfterFailedLogin: 1008, policy violation.
const closeLoginFailed = 1008

// parseLogin reads the fields of an AppLogin. badField describes the first
// field of a wrong type ("" if none).
func parseLogin(raw json.RawMessage) (rec LoginRecord, badField string) {
	rec.Raw = bytes.Clone(raw)
	keys, vals := objectFields(raw)
	rec.Fields = keys
	str := func(name string, dst *string) {
		v, ok := vals[name]
		if !ok {
			return
		}
		if err := json.Unmarshal(v, dst); err != nil && badField == "" {
			*dst = ""
			badField = fmt.Sprintf("%q is not a string", name)
		}
	}
	str("app", &rec.App)
	str("domain", &rec.Domain)
	str("sip", &rec.SIP)
	str("guid", &rec.GUID)
	str("dn", &rec.DN)
	str("pbxObj", &rec.PbxObj)
	str("digest", &rec.Digest)
	if v, ok := vals["info"]; ok {
		rec.Info = bytes.Clone(v)
	}
	_, rec.HasKey = vals["key"]
	return rec, badField
}

// objectFields returns the top-level keys of a JSON object in wire order and
// their values (the last one of a repeated key). raw has been validated.
func objectFields(raw []byte) ([]string, map[string]json.RawMessage) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	vals := map[string]json.RawMessage{}
	var keys []string
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, vals
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		k, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			break
		}
		keys = append(keys, k)
		vals[k] = v
	}
	return keys, vals
}
