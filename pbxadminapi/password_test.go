package pbxadminapi_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/pbxadminapi"
	"github.com/appwebsocket/appws/pbxadminapi/pbxadminapitest"
)

// The public example of innovaphone's wiki ("Howto:Encrypt or Decrypt PBX
// user passwords"), PBXAPIS.md.
const (
	wikiPBXPassword = "pwd"
	wikiAdminKey    = "566e2a2f1d259e4136046d5cbacaea9f"
	wikiAdminPwd    = "a61e0ce0068273a778f671fbf9e4358c"
	wikiPBXKey      = "7e6236c35d119afe62c0fd398d6f6175"
	wikiSecret16    = "a50c0b9263f673a778f671fbf9e4358c" // "secret", padded to 16 bytes
)

func wikiAdmin(t testing.TB) pbxadminapi.AdminKey {
	t.Helper()
	a, err := pbxadminapi.ParseAdminKey(wikiAdminKey, wikiAdminPwd)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestPasswordWikiVector: the wiki's example, both ways: "secret" is
// stored as the wiki's 16-byte form continued to 24 bytes (RC4 is a
// stream cipher), and the wiki's 16-byte form decrypts to "secret".
func TestPasswordWikiVector(t *testing.T) {
	t.Parallel()
	admin := wikiAdmin(t)
	enc, err := pbxadminapi.EncryptPassword(admin, wikiPBXPassword, "secret")
	if err != nil {
		t.Fatal(err)
	}
	if len(enc) != 48 || !strings.HasPrefix(string(enc), wikiSecret16) {
		t.Errorf("secret stored as %s, want %s... (48 hex digits)", string(enc), wikiSecret16)
	}
	for _, stored := range []pbxadminapi.Secret{wikiSecret16, enc} {
		if p, err := pbxadminapi.DecryptPassword(admin, wikiPBXPassword, stored); err != nil || p != "secret" {
			t.Errorf("%s decrypts to %q %v", string(stored), p, err)
		}
	}
}

// TestFakeAdminObjectIsTheWikis: the fake makes its admin object from the
// PBX password and key as the wiki's PBX did.
func TestFakeAdminObjectIsTheWikis(t *testing.T) {
	t.Parallel()
	k, _ := hex.DecodeString(wikiPBXKey)
	pbx := pbxadminapitest.New(pbxadminapitest.Config{PBXPassword: wikiPBXPassword, Key: k,
		Objects: []pbxadminapi.Object{{CN: "alice"}}})
	if key, pwd := pbx.AdminObject(); key != wikiAdminKey || pwd != wikiAdminPwd {
		t.Errorf("admin object %s %s, want %s %s", key, pwd, wikiAdminKey, wikiAdminPwd)
	}
	if err := pbx.SetPassword("alice", "secret"); err != nil {
		t.Fatal(err)
	}
	o, _ := pbx.Object("alice")
	if !strings.HasPrefix(string(o.Pwd), wikiSecret16) {
		t.Errorf("stored %s", string(o.Pwd))
	}
}

// TestPasswordRefusals: what the scheme does not document is refused with
// a clear error that carries neither password; so is a PBX password that
// does not match the admin object.
func TestPasswordRefusals(t *testing.T) {
	t.Parallel()
	admin := wikiAdmin(t)
	for _, tc := range []struct {
		pbx, pw string
		want    error
	}{
		{"wrong-pbx-pw", "secret", pbxadminapi.ErrWrongPBXPassword},
		{"", "secret", pbxadminapi.ErrWrongPBXPassword},
		{wikiPBXPassword, strings.Repeat("p", 24), pbxadminapi.ErrPasswordTooLong},
		{strings.Repeat("q", 17), "secret", pbxadminapi.ErrPBXPasswordTooLong},
		{wikiPBXPassword, "pässwort", pbxadminapi.ErrPasswordCharacters},
		{wikiPBXPassword, "tab\there", pbxadminapi.ErrPasswordCharacters},
		{wikiPBXPassword, "nul\x00", pbxadminapi.ErrPasswordCharacters},
		{"pwd\u00e9", "secret", pbxadminapi.ErrPasswordCharacters},
		{wikiPBXPassword, "", pbxadminapi.ErrEmptyPassword},
	} {
		_, err := pbxadminapi.EncryptPassword(admin, tc.pbx, tc.pw)
		if check := pbxadminapi.CheckPasswords(tc.pbx, tc.pw); tc.want == pbxadminapi.ErrWrongPBXPassword && check != nil ||
			tc.want != pbxadminapi.ErrWrongPBXPassword && check != tc.want {
			t.Errorf("CheckPasswords %q %q: %v", tc.pbx, tc.pw, check)
		}
		if !errors.Is(err, tc.want) {
			t.Errorf("%q %q: %v, want %v", tc.pbx, tc.pw, err, tc.want)
			continue
		}
		if tc.pbx != "" && strings.Contains(err.Error(), tc.pbx) || tc.pw != "" && strings.Contains(err.Error(), tc.pw) {
			t.Errorf("the error names a password: %v", err)
		}
	}
	if _, err := pbxadminapi.EncryptPassword(admin, wikiPBXPassword, strings.Repeat("p", 23)); err != nil {
		t.Errorf("23 bytes: %v", err)
	}
	if _, err := pbxadminapi.EncryptPassword(pbxadminapi.AdminKey{}, wikiPBXPassword, "secret"); err == nil {
		t.Error("no admin key: no error")
	}
	if _, err := pbxadminapi.DecryptPassword(admin, wikiPBXPassword, "zz"); err == nil {
		t.Error("not hex: no error")
	}
	for _, kp := range [][2]string{{"", wikiAdminPwd}, {wikiAdminKey, "xy"}} {
		if _, err := pbxadminapi.ParseAdminKey(kp[0], kp[1]); err == nil || strings.Contains(err.Error(), wikiAdminKey) {
			t.Errorf("ParseAdminKey %q: %v", kp, err)
		}
	}
}

// adminKey runs a ConfigMonitor with AdminObject on c until it has the
// admin key.
func adminKey(t testing.TB, c *appws.Client) pbxadminapi.AdminKey {
	t.Helper()
	m := pbxadminapi.New(pbxadminapi.Config{AdminObject: true})
	for ev := range c.Events() {
		for _, ch := range m.Handle(ev) {
			if ch.Kind == pbxadminapi.Synced {
				a, ok := m.AdminKey()
				if !ok {
					t.Fatal("synced without an admin key")
				}
				c.Handled(ev)
				return a
			}
		}
		if err := m.Sync(t.Context(), c); err != nil {
			t.Fatal(err)
		}
		c.Handled(ev)
	}
	t.Fatal("client ended")
	return pbxadminapi.AdminKey{}
}

// TestSetPassword: the password goes to the PBX encrypted, never in clear,
// and the PBX stores what decrypts to it.
func TestSetPassword(t *testing.T) {
	t.Parallel()
	pbx := pbxadminapitest.New(pbxadminapitest.Config{PBXPassword: "pbx-Secret",
		Objects: []pbxadminapi.Object{{CN: "alice", H323: "alice"}, {CN: "bob"}}})
	c := dial(t, pbx)
	admin := adminKey(t, c)
	o, _ := pbx.Object("alice")
	guid, err := pbxadminapi.SetPassword{GUID: o.GUID, Password: "n3w-Passw0rd", PBXPassword: "pbx-Secret", Admin: admin}.Do(t.Context(), c)
	if err != nil || guid != o.GUID {
		t.Fatalf("%q %v", guid, err)
	}
	if p, err := pbx.Password("alice"); p != "n3w-Passw0rd" || err != nil {
		t.Errorf("stored password %q %v", p, err)
	}
	// By cn.
	if _, err := (pbxadminapi.SetPassword{GUID: pbxadminapi.ByCN, CN: "bob", Password: "b0b", PBXPassword: "pbx-Secret", Admin: admin}).Do(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	if p, _ := pbx.Password("bob"); p != "b0b" {
		t.Errorf("bob's password %q", p)
	}
	ups, _ := pbx.WaitFor(t.Context(), "UpdateObject", 2)
	if got := keys(t, ups[0].Raw); strings.Join(got, " ") != "api guid mt pwd src" {
		t.Errorf("sent %v", got)
	}
	for _, m := range pbx.Received() {
		for _, s := range []string{"n3w-Passw0rd", "b0b", "pbx-Secret", hex.EncodeToString([]byte("n3w-Passw0rd"))} {
			if strings.Contains(string(m.Raw), s) {
				t.Errorf("%q sent in clear: %s", s, m.Raw)
			}
		}
	}
	// Send (not Do) marshals the encrypted form too.
	b, err := json.Marshal(pbxadminapi.SetPassword{GUID: o.GUID, Password: "x", PBXPassword: "pbx-Secret", Admin: admin})
	if err != nil || strings.Join(keys(t, b), " ") != "api guid mt pwd" || strings.Contains(string(b), `"x"`) {
		t.Errorf("%s %v", b, err)
	}
}

// TestSetPasswordRefusedSendsNothing: a wrong PBX password, a password
// the scheme does not take, or no guid: an error, and nothing sent.
func TestSetPasswordRefusedSendsNothing(t *testing.T) {
	t.Parallel()
	pbx := pbxadminapitest.New(pbxadminapitest.Config{PBXPassword: "right", Objects: []pbxadminapi.Object{{CN: "alice"}}})
	c := dial(t, pbx)
	admin := adminKey(t, c)
	o, _ := pbx.Object("alice")
	for _, sp := range []pbxadminapi.SetPassword{
		{GUID: o.GUID, Password: "new", PBXPassword: "wrong", Admin: admin},
		{GUID: o.GUID, Password: strings.Repeat("x", 30), PBXPassword: "right", Admin: admin},
		{GUID: o.GUID, Password: "new", PBXPassword: "right"},
		{Password: "new", PBXPassword: "right", Admin: admin},
		{GUID: pbxadminapi.ByCNOrCreate, CN: "alice", Password: "new", PBXPassword: "right", Admin: admin},
		{GUID: pbxadminapi.ByCN, Password: "new", PBXPassword: "right", Admin: admin},
	} {
		_, err := sp.Do(context.Background(), c)
		if err == nil || strings.Contains(err.Error(), "right") || strings.Contains(err.Error(), "wrong") {
			t.Errorf("%v: %v", sp, err)
		}
	}
	// A round trip: the server has handled everything sent before it.
	if _, err := (pbxadminapi.GetObject{CN: "alice"}).Do(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	for _, m := range pbx.Received() {
		if m.MT == "UpdateObject" {
			t.Errorf("sent %s", m.Raw)
		}
	}
}
