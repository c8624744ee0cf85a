package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/appwebsocket/appws/appwstest"
	"github.com/appwebsocket/appws/pbxadminapi"
	"github.com/appwebsocket/appws/pbxadminapi/pbxadminapitest"
)

// TestAdminOnTheFake: every subcommand against the embedded fake, JSON
// lines out.
func TestAdminOnTheFake(t *testing.T) {
	t.Parallel()
	pbxPw := passwordFile(t, fakePBXPassword)
	newPw := passwordFile(t, "n3w-Passw0rd")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"get", "-cn", "alice"}, `{"guid":"a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1","cn":"alice","dn":"Alice","h323":"alice","e164":"10","config":"Users","grp":[{"name":"sales","mode":"active"}]}` + "\n"},
		{[]string{"get", "-object", "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3"}, `{"guid":"c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3","cn":"carol","dn":"Carol","h323":"carol","e164":"12","config":"Users","voicemail":true}` + "\n"},
		{[]string{"search"}, `{"cn":"alice","dn":"Alice","guid":"a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1","h323":"alice"}` + "\n" +
			`{"cn":"bob","dn":"Bob","guid":"b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2","h323":"bob"}` + "\n" +
			`{"cn":"carol","dn":"Carol","guid":"c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3","h323":"carol"}` + "\n"},
		{[]string{"search", "-cn", "bob", "-include"}, `{"cn":"bob","dn":"Bob","guid":"b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2","h323":"bob"}` + "\n" +
			`{"cn":"carol","dn":"Carol","guid":"c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3","h323":"carol"}` + "\n"},
		{[]string{"update", `{"guid":"*","cn":"bob","e164":"","video":-1}`}, `{"guid":"b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2"}` + "\n"},
		{[]string{"update", `{"cn":"dave","h323":"dave"}`}, `{"guid":"f0000000000000000000000000000001"}` + "\n"},
		{[]string{"delete", "-cn", "bob"}, `{"deleted":"b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2"}` + "\n"},
		{[]string{"passwd", "-cn", "carol", "-pbx-password-file", pbxPw, "-new-password-file", newPw},
			`{"guid":"c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3","password":"set"}` + "\n"},
	} {
		code, out, stderr := runCmd(t, t.Context(), nil, append([]string{"admin"}, tc.args...)...)
		if code != exitOK || out != tc.want {
			t.Errorf("admin %v: exit %d, stdout\n%s\nwant\n%s", tc.args, code, out, tc.want)
		}
		if strings.Contains(stderr, "n3w-Passw0rd") {
			t.Errorf("admin %v: a password on stderr: %s", tc.args, stderr)
		}
	}
	// The update from stdin.
	code, out, _ := runCmd(t, t.Context(), strings.NewReader(`{"guid":"?","cn":"erin"}`), "admin", "update", "-")
	if code != exitOK || !strings.HasPrefix(out, `{"guid":"f`) {
		t.Errorf("update -: exit %d, %s", code, out)
	}
}

// adminPBX starts a server with the fake PBX and returns its URL and the
// password file of its app "admin".
func adminPBX(t *testing.T, objs ...pbxadminapi.Object) (*pbxadminapitest.Fake, string, string) {
	t.Helper()
	pbx := pbxadminapitest.New(pbxadminapitest.Config{PBXPassword: "pbx-Secret", Objects: objs})
	srv := appwstest.NewServer(appwstest.Config{Apps: map[string]string{"admin": "app-pw"}, Handler: pbx.Handler})
	t.Cleanup(srv.Close)
	return pbx, srv.URL, passwordFile(t, "app-pw")
}

// TestAdminWithURL: against a PBX given by -url, with the login flags of
// connect: what update and passwd change stays changed, and passwd sends
// the password encrypted only.
func TestAdminWithURL(t *testing.T) {
	t.Parallel()
	pbx, url, appPw := adminPBX(t, pbxadminapi.Object{CN: "alice", H323: "alice", E164: "10", DN: "Alice"})
	login := []string{"-url", url, "-app", "admin", "-password-file", appPw}
	admin := func(stdin string, args ...string) (int, string, string) {
		return runCmd(t, t.Context(), strings.NewReader(stdin), append(append([]string{"admin", args[0]}, login...), args[1:]...)...)
	}
	if code, _, stderr := admin("", "update", `{"guid":"*","cn":"alice","dn":"","e164":"201","voicemail":true}`); code != exitOK {
		t.Fatalf("update: exit %d: %s", code, stderr)
	}
	code, out, _ := admin("", "get", "-cn", "alice")
	var o map[string]any
	if err := json.Unmarshal([]byte(out), &o); code != exitOK || err != nil || o["e164"] != "201" || o["dn"] != nil || o["voicemail"] != true || o["h323"] != "alice" {
		t.Errorf("get: exit %d: %s", code, out)
	}
	code, out, stderr := admin("s3cret-New\n", "passwd", "-cn", "alice", "-pbx-password-file", passwordFile(t, "pbx-Secret"))
	if code != exitOK || !strings.Contains(out, `"password":"set"`) {
		t.Fatalf("passwd: exit %d: %s %s", code, out, stderr)
	}
	if p, err := pbx.Password("alice"); p != "s3cret-New" || err != nil {
		t.Errorf("stored password %q %v", p, err)
	}
	for _, m := range pbx.Received() {
		if strings.Contains(string(m.Raw), "s3cret-New") || strings.Contains(string(m.Raw), "pbx-Secret") {
			t.Errorf("sent in clear: %s", m.Raw)
		}
	}
	if strings.Contains(out+stderr, "s3cret") || strings.Contains(out+stderr, "pbx-Secret") {
		t.Errorf("a password printed: %s %s", out, stderr)
	}
}

// TestAdminBadInputChangesNothing: bad input is one line on stderr, exit
// 1, and nothing reaches the PBX that would change it.
func TestAdminBadInputChangesNothing(t *testing.T) {
	t.Parallel()
	pbx, url, appPw := adminPBX(t, pbxadminapi.Object{CN: "alice", H323: "alice"}, pbxadminapi.Object{CN: "bob", H323: "bob"})
	login := []string{"-url", url, "-app", "admin", "-password-file", appPw}
	pbxPw := passwordFile(t, "pbx-Secret")
	for _, tc := range []struct {
		stdin string
		args  []string
		want  string
	}{
		{"", []string{"update", `{"cn":`}, "appws admin update: the update is not a JSON object: unexpected end of JSON input"},
		{"", []string{"update", `{"pwd":"x","cn":"alice"}`}, `appws admin update: the update has a "pwd": set passwords with appws admin passwd`},
		{"", []string{"update", `{"mt":"DeleteObject","guid":"x"}`}, `appws admin update: the update has an "mt": give the object's properties only`},
		{"", []string{"update", `{"cn":"alice","colour":"red"}`}, `appws admin update: the update: unknown field "colour"`},
		{"", []string{"update", `{"guid":"?"}`}, `appws admin update: UpdateObject: guid "?" names the object by cn, and cn is not set`},
		{"", []string{"update", `{"guid":"*","cn":"alice","h323":"bob"}`}, "appws admin update: UpdateObject: error 3: h323 is used by another object (nothing changed)"},
		{"", []string{"update", `{"guid":"*","cn":"nobody","dn":"x"}`}, "appws admin update: UpdateObject: error 1: no object with this cn (nothing changed)"},
		{"", []string{"delete", "-cn", "nobody"}, "appws admin delete: GetObject: no such object"},
		{"", []string{"get", "-cn", "nobody"}, "appws admin get: GetObject: no such object"},
		{"new\n", []string{"passwd", "-cn", "alice", "-pbx-password-file", passwordFile(t, "wrong")},
			"appws admin passwd: the PBX password does not match the admin object (nothing changed)"},
		{strings.Repeat("x", 24) + "\n", []string{"passwd", "-cn", "alice", "-pbx-password-file", pbxPw},
			"appws admin passwd: the password is longer than 23 bytes (nothing changed)"},
		{"pässwort\n", []string{"passwd", "-cn", "alice", "-pbx-password-file", pbxPw},
			"appws admin passwd: a password may hold printable ASCII only (space to ~) (nothing changed)"},
		{"", []string{"passwd", "-cn", "alice", "-pbx-password-file", pbxPw},
			"appws admin passwd: the new password: none on stdin (give it as its first line, or use -new-password-file)"},
		{"new\n", []string{"passwd", "-cn", "alice", "-pbx-password-file", "/nonexistent/pbx-pw"},
			"appws admin passwd: the PBX password: open /nonexistent/pbx-pw: no such file or directory"},
		{"new\n", []string{"passwd", "-cn", "nobody", "-pbx-password-file", pbxPw},
			"appws admin passwd: UpdateObject: error 1: no object with this cn (nothing changed)"},
	} {
		args := append(append([]string{"admin", tc.args[0]}, login...), tc.args[1:]...)
		code, out, stderr := runCmd(t, t.Context(), strings.NewReader(tc.stdin), args...)
		if code != exitFail || out != "" || stderr != tc.want+"\n" {
			t.Errorf("admin %v: exit %d, stdout %q, stderr %q\nwant %q", tc.args, code, out, stderr, tc.want)
		}
		if strings.Contains(stderr, "pbx-Secret") || strings.Contains(stderr, "pässwort") {
			t.Errorf("a password on stderr: %s", stderr)
		}
	}
	for _, cn := range []string{"alice", "bob"} {
		if o, _ := pbx.Object(cn); o.DN != "" || o.Pwd != "" || o.H323 != cn {
			t.Errorf("%s changed: %+v", cn, o)
		}
	}
	if got := strings.Join(pbx.Objects(), " "); got != "alice bob" {
		t.Errorf("objects %s", got)
	}
}

// TestAdminPBXPasswordFromTheEnvironment: APPWS_PBX_PASSWORD, and the
// error without it.
func TestAdminPBXPasswordFromTheEnvironment(t *testing.T) {
	t.Setenv("APPWS_PBX_PASSWORD", fakePBXPassword)
	code, out, _ := runCmd(t, t.Context(), strings.NewReader("n3w\n"), "admin", "passwd", "-cn", "alice")
	if code != exitOK || !strings.Contains(out, `"password":"set"`) {
		t.Errorf("exit %d: %s", code, out)
	}
	unsetEnv(t, "APPWS_PBX_PASSWORD")
	code, _, stderr := runCmd(t, t.Context(), strings.NewReader("n3w\n"), "admin", "passwd", "-cn", "alice")
	if code != exitFail || stderr != "appws admin passwd: the PBX password: set APPWS_PBX_PASSWORD or use its -file flag\n" {
		t.Errorf("exit %d: %q", code, stderr)
	}
}

// TestAdminUsage: usage errors exit 2 with one line that says where the
// help is; help exits 0.
func TestAdminUsage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"admin"}, exitUsage, "appws admin: a subcommand is required (see 'appws help admin')\n"},
		{[]string{"admin", "frobnicate"}, exitUsage, `appws admin: unknown subcommand "frobnicate"`},
		{[]string{"admin", "get"}, exitUsage, "give the object's -cn or its -object guid (one of them)"},
		{[]string{"admin", "get", "-cn", "a", "-object", "b"}, exitUsage, "one of them"},
		{[]string{"admin", "get", "-cn", "a", "-app", "x"}, exitUsage, "-app needs -url"},
		{[]string{"admin", "get", "-cn", "a", "-url", "ws://127.0.0.1:1/x"}, exitUsage, "-url needs -app"},
		{[]string{"admin", "update"}, exitUsage, "the update, a JSON object, is required"},
		{[]string{"admin", "search", "extra"}, exitUsage, `unexpected argument "extra"`},
		{[]string{"admin", "get", "-cn", "a", "-url", "http://x/", "-app", "a"}, exitUsage, "not http://"},
	} {
		code, _, stderr := runCmd(t, t.Context(), nil, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
	for _, args := range [][]string{{"admin", "-h"}, {"help", "admin"}, {"admin", "passwd", "-h"}} {
		code, out, _ := runCmd(t, t.Context(), nil, args...)
		if code != exitOK || !strings.HasPrefix(out, "Usage: appws admin") {
			t.Errorf("%v: exit %d, %q", args, code, out)
		}
	}
}
