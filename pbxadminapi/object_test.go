package pbxadminapi_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/appwebsocket/appws/pbxadminapi"
	"github.com/appwebsocket/appws/pbxadminapi/pbxadminapitest"
)

var alice = pbxadminapi.Object{
	GUID: "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1", CN: "alice", DN: "Alice Smith", H323: "alice", E164: "10",
	Node: "root", Loc: "master", Config: "Users", Apps: "phone,users", Voicemail: true, Video: true, Cfnr: 20,
	Devices: []pbxadminapi.Device{{HW: "0090330a0b0c", Text: "desk", TLS: true}},
	Grp:     []pbxadminapi.Group{{Name: "sales", Mode: "active"}},
	Cds:     []pbxadminapi.Diversion{{Type: "cfnr", Ep: []pbxadminapi.Endpoint{{E164: "99"}}}},
}

// TestGetObject: by guid and by cn, every property decoded, the stored pwd
// included; an unknown object is ErrNotFound.
func TestGetObject(t *testing.T) {
	t.Parallel()
	pbx := pbxadminapitest.New(pbxadminapitest.Config{PBXPassword: "pbx", Objects: []pbxadminapi.Object{alice}})
	if err := pbx.SetPassword("alice", "pw"); err != nil {
		t.Fatal(err)
	}
	c := dial(t, pbx)
	for _, get := range []pbxadminapi.GetObject{{GUID: alice.GUID}, {CN: "alice"}, {GUID: strings.ToUpper(alice.GUID)}} {
		o, err := get.Do(t.Context(), c)
		if err != nil {
			t.Fatal(err)
		}
		if len(o.Pwd) != 48 {
			t.Errorf("pwd of %d hex digits", len(o.Pwd))
		}
		o.Pwd = ""
		got, _ := json.Marshal(o)
		want, _ := json.Marshal(alice)
		if string(got) != string(want) {
			t.Errorf("%+v:\n%s\nwant\n%s", get, got, want)
		}
	}
	for _, get := range []pbxadminapi.GetObject{{GUID: "0000"}, {CN: "nobody"}} {
		_, err := get.Do(t.Context(), c)
		if !errors.Is(err, pbxadminapi.ErrNotFound) || asError(t, err).Op != "GetObject" {
			t.Errorf("%+v: %v", get, err)
		}
	}
}

// TestUpdateObjectChangesOnlyWhatIsSent: the update carries only the
// property set (on the wire), and the PBX keeps everything else.
func TestUpdateObjectChangesOnlyWhatIsSent(t *testing.T) {
	t.Parallel()
	pbx := pbxadminapitest.New(pbxadminapitest.Config{Objects: []pbxadminapi.Object{alice}})
	c := dial(t, pbx)
	before, _ := pbx.Stored("alice")
	guid, err := pbxadminapi.UpdateObject{GUID: alice.GUID, E164: pbxadminapi.Set("201")}.Do(t.Context(), c)
	if err != nil || guid != alice.GUID {
		t.Fatalf("%q %v", guid, err)
	}
	sent, _ := pbx.WaitFor(t.Context(), "UpdateObject", 1)
	if got := strings.Join(keys(t, sent[0].Raw), " "); got != "api e164 guid mt src" {
		t.Errorf("sent %s", sent[0].Raw)
	}
	after, _ := pbx.Stored("alice")
	if want := strings.Replace(string(before), `"e164":"10"`, `"e164":"201"`, 1); string(after) != want {
		t.Errorf("stored\n%s\nwant\n%s", after, want)
	}
}

// TestUpdateObjectRemoves: "" clears a string, -1 (Inherit) deletes a
// boolean so the template's applies, [] empties a list; the rest stays.
func TestUpdateObjectRemoves(t *testing.T) {
	t.Parallel()
	pbx := pbxadminapitest.New(pbxadminapitest.Config{Objects: []pbxadminapi.Object{alice}})
	c := dial(t, pbx)
	_, err := pbxadminapi.UpdateObject{
		GUID:      alice.GUID,
		DN:        pbxadminapi.Set(""),
		Video:     pbxadminapi.Inherit,
		Voicemail: pbxadminapi.False,
		Devices:   pbxadminapi.Set([]pbxadminapi.Device{}),
	}.Do(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	sent, _ := pbx.WaitFor(t.Context(), "UpdateObject", 1)
	var wire map[string]json.RawMessage
	_ = json.Unmarshal(sent[0].Raw, &wire)
	if string(wire["video"]) != "-1" || string(wire["dn"]) != `""` || string(wire["voicemail"]) != "false" || string(wire["devices"]) != "[]" {
		t.Errorf("sent %s", sent[0].Raw)
	}
	o, err := pbxadminapi.GetObject{GUID: alice.GUID}.Do(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	if o.DN != "" || o.Video || o.Voicemail || len(o.Devices) != 0 || o.E164 != "10" || o.Cfnr != 20 || len(o.Grp) != 1 {
		t.Errorf("after the update: %+v", o)
	}
	stored, _ := pbx.Stored("alice")
	for _, gone := range []string{`"dn"`, `"video"`} {
		if strings.Contains(string(stored), gone) {
			t.Errorf("%s still stored: %s", gone, stored)
		}
	}
}

// TestUpdateObjectCreates: guid "" creates, "?" creates or updates by cn,
// "*" updates by cn and fails when there is none.
func TestUpdateObjectCreates(t *testing.T) {
	t.Parallel()
	pbx := pbxadminapitest.New(pbxadminapitest.Config{})
	c := dial(t, pbx)
	g1, err := pbxadminapi.UpdateObject{CN: pbxadminapi.Set("bob"), H323: pbxadminapi.Set("bob"), E164: pbxadminapi.Set("11")}.Do(t.Context(), c)
	if err != nil || g1 == "" {
		t.Fatalf("create: %q %v", g1, err)
	}
	g2, err := pbxadminapi.UpdateObject{GUID: pbxadminapi.ByCNOrCreate, CN: pbxadminapi.Set("carol")}.Do(t.Context(), c)
	if err != nil || g2 == "" || g2 == g1 {
		t.Fatalf("create by ?: %q %v", g2, err)
	}
	g3, err := pbxadminapi.UpdateObject{GUID: pbxadminapi.ByCNOrCreate, CN: pbxadminapi.Set("carol"), E164: pbxadminapi.Set("12")}.Do(t.Context(), c)
	if err != nil || g3 != g2 {
		t.Fatalf("update by ?: %q %v", g3, err)
	}
	g4, err := pbxadminapi.UpdateObject{GUID: pbxadminapi.ByCN, CN: pbxadminapi.Set("bob"), DN: pbxadminapi.Set("Bob")}.Do(t.Context(), c)
	if err != nil || g4 != g1 {
		t.Fatalf("update by *: %q %v", g4, err)
	}
	if o, _ := pbx.Object("bob"); o.DN != "Bob" || o.E164 != "11" {
		t.Errorf("bob %+v", o)
	}
	if o, _ := pbx.Object("carol"); o.E164 != "12" {
		t.Errorf("carol %+v", o)
	}
	_, err = pbxadminapi.UpdateObject{GUID: pbxadminapi.ByCN, CN: pbxadminapi.Set("dave"), DN: pbxadminapi.Set("Dave")}.Do(t.Context(), c)
	if e := asError(t, err); e.Op != "UpdateObject" || e.Code != pbxadminapitest.ErrCodeNotFound || e.Text == "" {
		t.Errorf("%#v", e)
	}
	// A clash changes nothing.
	_, err = pbxadminapi.UpdateObject{GUID: g2, CN: pbxadminapi.Set("bob"), E164: pbxadminapi.Set("99")}.Do(t.Context(), c)
	if e := asError(t, err); e.Code != pbxadminapitest.ErrCodeClash {
		t.Errorf("%#v", e)
	}
	if o, _ := pbx.Object("carol"); o.E164 != "12" {
		t.Errorf("carol changed by a refused update: %+v", o)
	}
	if got := strings.Join(pbx.Objects(), " "); got != "bob carol" {
		t.Errorf("objects %s", got)
	}
}

// TestUpdateObjectError: a Result with an error is an *Error with the
// PBX's code and text.
func TestUpdateObjectError(t *testing.T) {
	t.Parallel()
	pbx := pbxadminapitest.New(pbxadminapitest.Config{Objects: []pbxadminapi.Object{alice}})
	c := dial(t, pbx)
	pbx.FailNext("UpdateObject", 42, "database locked")
	_, err := pbxadminapi.UpdateObject{GUID: alice.GUID, DN: pbxadminapi.Set("x")}.Do(t.Context(), c)
	e := asError(t, err)
	if e.Op != "UpdateObject" || e.Code != 42 || e.Text != "database locked" ||
		e.Error() != "pbxadminapi: UpdateObject: error 42: database locked" {
		t.Errorf("%#v %q", e, e.Error())
	}
	if o, _ := pbx.Object("alice"); o.DN != alice.DN {
		t.Errorf("changed: %+v", o)
	}
}

// TestCopyPwd: an app object gets the password of another object; a user
// cannot.
func TestCopyPwd(t *testing.T) {
	t.Parallel()
	pbx := pbxadminapitest.New(pbxadminapitest.Config{Objects: []pbxadminapi.Object{
		{CN: "app1", H323: "app1", Pseudo: json.RawMessage(`{"type":"app","url":"https://ap/app1"}`)},
		alice,
	}})
	if err := pbx.SetPassword("app1", "shared"); err != nil {
		t.Fatal(err)
	}
	c := dial(t, pbx)
	_, err := pbxadminapi.UpdateObject{CN: pbxadminapi.Set("app2"), H323: pbxadminapi.Set("app2"),
		Pseudo: json.RawMessage(`{"type":"app","url":"https://ap/app2"}`), CopyPwd: "app1"}.Do(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := pbx.Password("app2"); p != "shared" {
		t.Errorf("app2's password %q", p)
	}
	_, err = pbxadminapi.UpdateObject{GUID: alice.GUID, CopyPwd: "app1"}.Do(t.Context(), c)
	if e := asError(t, err); e.Code != pbxadminapitest.ErrCodeCopyPwd {
		t.Errorf("copyPwd to a user: %#v", e)
	}
}

// TestDeleteObject: the object is gone.
func TestDeleteObject(t *testing.T) {
	t.Parallel()
	pbx := pbxadminapitest.New(pbxadminapitest.Config{Objects: []pbxadminapi.Object{alice, {CN: "bob"}}})
	c := dial(t, pbx)
	if err := (pbxadminapi.DeleteObject{GUID: alice.GUID}).Do(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	if _, err := (pbxadminapi.GetObject{GUID: alice.GUID}).Do(t.Context(), c); !errors.Is(err, pbxadminapi.ErrNotFound) {
		t.Errorf("after delete: %v", err)
	}
	if got := strings.Join(pbx.Objects(), " "); got != "bob" {
		t.Errorf("objects %s", got)
	}
}

func TestPseudoType(t *testing.T) {
	t.Parallel()
	for raw, want := range map[string]string{``: "", `{"type":"app"}`: "app", `{"url":"x"}`: "", `[1]`: ""} {
		if got := (pbxadminapi.Object{Pseudo: json.RawMessage(raw)}).PseudoType(); got != want {
			t.Errorf("%s: %q", raw, got)
		}
	}
}
