package pbxadminapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/appwebsocket/appws/pbxadminapi"
)

// TestUpdateObjectSendsOnlyWhatIsSet: properties not set are absent on the
// wire ("properties not present are left unchanged").
func TestUpdateObjectSendsOnlyWhatIsSet(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		u    pbxadminapi.UpdateObject
		want string
	}{
		{pbxadminapi.UpdateObject{GUID: "g"}, `{"api":"PbxAdminApi","mt":"UpdateObject","guid":"g"}`},
		{pbxadminapi.UpdateObject{GUID: "g", E164: pbxadminapi.Set("201")},
			`{"api":"PbxAdminApi","mt":"UpdateObject","guid":"g","e164":"201"}`},
		{pbxadminapi.UpdateObject{CN: pbxadminapi.Set("new"), H323: pbxadminapi.Set("new"), Voicemail: pbxadminapi.True, Cfnr: pbxadminapi.Set(0)},
			`{"api":"PbxAdminApi","mt":"UpdateObject","cn":"new","h323":"new","cfnr":0,"voicemail":true}`},
		{pbxadminapi.UpdateObject{GUID: pbxadminapi.ByCNOrCreate, CN: pbxadminapi.Set("a"), Hide: pbxadminapi.False},
			`{"api":"PbxAdminApi","mt":"UpdateObject","guid":"?","cn":"a","hide":false}`},
		{pbxadminapi.UpdateObject{GUID: "g", Grp: pbxadminapi.Set([]pbxadminapi.Group{{Name: "sales", Mode: "active"}})},
			`{"api":"PbxAdminApi","mt":"UpdateObject","guid":"g","grp":[{"name":"sales","mode":"active"}]}`},
		{pbxadminapi.UpdateObject{GUID: "g", Pseudo: json.RawMessage(`{"type":"app"}`), CopyPwd: "other"},
			`{"api":"PbxAdminApi","mt":"UpdateObject","guid":"g","pseudo":{"type":"app"},"copyPwd":"other"}`},
	} {
		b, err := json.Marshal(tc.u)
		if err != nil || string(b) != tc.want {
			t.Errorf("%s %v\nwant %s", b, err, tc.want)
		}
	}
}

// TestUpdateObjectRemovalForms: how a value is removed: a string by "", a
// list by [], a boolean by -1 (PbxAdminApi.htm: the config template's value
// applies again).
func TestUpdateObjectRemovalForms(t *testing.T) {
	t.Parallel()
	u := pbxadminapi.UpdateObject{
		GUID:    "g",
		DN:      pbxadminapi.Set(""),
		Devices: pbxadminapi.Set[[]pbxadminapi.Device](nil),
		Cds:     pbxadminapi.Set([]pbxadminapi.Diversion{}),
		Video:   pbxadminapi.Inherit,
		Fax:     pbxadminapi.Bool(false),
	}
	b, err := json.Marshal(u)
	want := `{"api":"PbxAdminApi","mt":"UpdateObject","guid":"g","dn":"","fax":false,"video":-1,"devices":[],"cds":[]}`
	if err != nil || string(b) != want {
		t.Errorf("%s %v\nwant %s", b, err, want)
	}
}

// TestUpdateObjectDecodesWhatIsPresent: an UpdateObject decoded from JSON
// (appws admin update) has set exactly what was present, and encodes back
// to it.
func TestUpdateObjectDecodesWhatIsPresent(t *testing.T) {
	t.Parallel()
	in := `{"guid":"g","dn":"","e164":"7","hide":-1,"video":true,"fax":false,"wakeups":[{"h":0,"m":30}]}`
	var u pbxadminapi.UpdateObject
	if err := json.Unmarshal([]byte(in), &u); err != nil {
		t.Fatal(err)
	}
	if v, ok := u.DN.Get(); !ok || v != "" {
		t.Errorf("dn %q %v", v, ok)
	}
	if _, ok := u.CN.Get(); ok {
		t.Error("cn set")
	}
	if u.Hide != pbxadminapi.Inherit || u.Video != pbxadminapi.True || u.Fax != pbxadminapi.False || u.Colr != pbxadminapi.Unset {
		t.Errorf("flags %v %v %v %v", u.Hide, u.Video, u.Fax, u.Colr)
	}
	w, _ := u.Wakeups.Get()
	if h, ok := w[0].H.Get(); !ok || h != 0 {
		t.Errorf("wakeup hour %d %v: hour 0 is not no hour", h, ok)
	}
	if _, ok := w[0].S.Get(); ok {
		t.Error("wakeup second set")
	}
	b, err := json.Marshal(u)
	want := `{"api":"PbxAdminApi","mt":"UpdateObject","guid":"g","dn":"","e164":"7","hide":-1,"fax":false,"video":true,"wakeups":[{"h":0,"m":30}]}`
	if err != nil || string(b) != want {
		t.Errorf("%s %v\nwant %s", b, err, want)
	}
	for _, bad := range []string{`{"hide":"yes"}`, `{"cn":5}`} {
		if err := json.Unmarshal([]byte(bad), &u); err == nil {
			t.Errorf("%s decoded", bad)
		}
	}
	var nulls pbxadminapi.UpdateObject
	if err := json.Unmarshal([]byte(`{"cn":null,"hide":null}`), &nulls); err != nil || !nulls.CN.IsZero() || nulls.Hide != pbxadminapi.Unset {
		t.Errorf("null: %v %v", nulls, err)
	}
}

func TestFlagNames(t *testing.T) {
	t.Parallel()
	for f, want := range map[pbxadminapi.Flag]string{pbxadminapi.Unset: "unset", pbxadminapi.True: "true",
		pbxadminapi.False: "false", pbxadminapi.Inherit: "inherit", 9: "Flag(9)"} {
		if f.String() != want {
			t.Errorf("%d: %q", f, f.String())
		}
	}
	if _, err := json.Marshal(pbxadminapi.Flag(9)); err == nil {
		t.Error("Flag(9) encoded")
	}
	if b, _ := json.Marshal(pbxadminapi.Unset); string(b) != "null" {
		t.Errorf("Unset %s", b)
	}
}

func TestOptPrints(t *testing.T) {
	t.Parallel()
	if s := fmt.Sprintf("%v %v %q", pbxadminapi.Opt[string]{}, pbxadminapi.Set(3), pbxadminapi.Set("x")); s != `unset 3 "x"` {
		t.Errorf("%s", s)
	}
	if b, _ := json.Marshal(pbxadminapi.Opt[int]{}); string(b) != "null" {
		t.Errorf("unset %s", b)
	}
}

// TestSecretsNeverPrint: a stored password, an admin key pair and the
// passwords of a SetPassword print and log redacted, whatever the verb.
func TestSecretsNeverPrint(t *testing.T) {
	t.Parallel()
	const stored, plain, pbxPw = "a50c0b9263f673a7", "hunter2", "pbxpw"
	admin, err := pbxadminapi.ParseAdminKey("566e2a2f1d259e4136046d5cbacaea9f", "a61e0ce0068273a778f671fbf9e4358c")
	if err != nil {
		t.Fatal(err)
	}
	values := []any{
		pbxadminapi.Secret(stored),
		pbxadminapi.Object{CN: "alice", Pwd: stored},
		pbxadminapi.UpdateObject{GUID: "g", Pwd: pbxadminapi.Set(pbxadminapi.Secret(stored))},
		pbxadminapi.SetPassword{GUID: "g", Password: plain, PBXPassword: pbxPw, Admin: admin},
		&pbxadminapi.SetPassword{GUID: "g", Password: plain, PBXPassword: pbxPw, Admin: admin},
		admin,
	}
	var out bytes.Buffer
	for _, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
			fmt.Fprintf(&out, verb+"\n", v)
		}
		slog.New(slog.NewTextHandler(&out, nil)).Info("m", "v", v)
		slog.New(slog.NewJSONHandler(&out, nil)).Info("m", "v", v)
	}
	b, err := json.Marshal(pbxadminapi.Object{CN: "alice", Pwd: stored})
	if err != nil {
		t.Fatal(err)
	}
	out.Write(b)
	for _, s := range []string{stored, plain, pbxPw, "566e2a2f", "a61e0ce0", "68756e746572"} {
		if strings.Contains(out.String(), s) {
			t.Errorf("%q printed:\n%s", s, out.String())
		}
	}
	if !strings.Contains(out.String(), "[redacted]") || !strings.Contains(out.String(), `"cn":"alice"`) {
		t.Errorf("nothing printed:\n%s", out.String())
	}
}

// TestObjectJSONFeedsUpdateObject: an Object encodes with the PBX's names
// and without its pwd, and that JSON decodes as an UpdateObject that sends
// the same properties.
func TestObjectJSONFeedsUpdateObject(t *testing.T) {
	t.Parallel()
	o := pbxadminapi.Object{GUID: "g", CN: "alice", CdFilter: "f", AppSharing: true, Cfnr: 15, Pwd: "0011",
		Wakeups: []pbxadminapi.Wakeup{{H: pbxadminapi.Set(0), Name: "moh"}}}
	b, err := json.Marshal(o)
	want := `{"guid":"g","cn":"alice","cd-filter":"f","cfnr":15,"app-sharing":true,"wakeups":[{"h":0,"name":"moh"}]}`
	if err != nil || string(b) != want {
		t.Fatalf("%s %v\nwant %s", b, err, want)
	}
	var u pbxadminapi.UpdateObject
	if err := json.Unmarshal(b, &u); err != nil {
		t.Fatal(err)
	}
	b2, _ := json.Marshal(u)
	if want := `{"api":"PbxAdminApi","mt":"UpdateObject","guid":"g","cn":"alice","cd-filter":"f","cfnr":15,"app-sharing":true,"wakeups":[{"h":0,"name":"moh"}]}`; string(b2) != want {
		t.Errorf("%s\nwant %s", b2, want)
	}
}
