package pbxadminapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/pbxadminapi"
)

// TestResultErrors: the error fields a Result may carry (the page
// documents none) and what Do makes of them.
func TestResultErrors(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 500)
	for _, tc := range []struct {
		fields string
		ok     bool
		code   int
		text   string
	}{
		{``, true, 0, ""},
		{`,"error":null`, true, 0, ""},
		{`,"error":0`, true, 0, ""},
		{`,"error":false`, true, 0, ""},
		{`,"error":""`, true, 0, ""},
		{`,"error":3`, false, 3, ""},
		{`,"error":3,"errorText":"no such cn"`, false, 3, "no such cn"},
		{`,"error":"object exists"`, false, 0, "object exists"},
		{`,"error":true`, false, 0, "failed"},
		{`,"error":true,"errorText":"busy"`, false, 0, "busy"},
		{`,"errorText":"refused"`, false, 0, "refused"},
		{`,"error":{"x":1}`, false, 0, `error {"x":1}`},
		{`,"error":1.5`, false, 0, "error 1.5"},
		{`,"error":"line one\nline two"`, false, 0, "line one line two"},
	} {
		r := &replier{reply: `{"api":"PbxAdminApi","mt":"DeleteObjectResult"` + tc.fields + `}`}
		err := pbxadminapi.DeleteObject{GUID: "g"}.Do(context.Background(), r)
		if tc.ok {
			if err != nil {
				t.Errorf("%s: %v", tc.fields, err)
			}
			continue
		}
		e := asError(t, err)
		if e.Op != "DeleteObject" || e.Code != tc.code || e.Text != tc.text {
			t.Errorf("%s: %#v, want code %d text %q", tc.fields, e, tc.code, tc.text)
		}
	}
	r := &replier{reply: `{"mt":"DeleteObjectResult","error":1,"errorText":"` + long + `"}`}
	e := asError(t, pbxadminapi.DeleteObject{GUID: "g"}.Do(context.Background(), r))
	if len(e.Text) > 210 || !strings.HasSuffix(e.Text, "...") {
		t.Errorf("text of %d bytes: %q", len(e.Text), e.Text)
	}
	if got := e.Error(); !strings.HasPrefix(got, "pbxadminapi: DeleteObject: error 1: xxx") {
		t.Errorf("message %q", got)
	}
}

// TestUnexpectedReplyIsError: a reply that is not the operation's Result
// is an *Error, and so is a Result that does not decode.
func TestUnexpectedReplyIsError(t *testing.T) {
	t.Parallel()
	e := asError(t, pbxadminapi.DeleteObject{GUID: "g"}.Do(context.Background(), &replier{reply: `{"mt":"DeleteObjectResul"}`}))
	if e.Error() != `pbxadminapi: DeleteObject: unexpected reply "DeleteObjectResul"` {
		t.Errorf("%q", e.Error())
	}
	_, err := pbxadminapi.GetGroups{}.Do(context.Background(), &replier{reply: `{"mt":"GetGroupsResult","groups":"a"}`})
	if e := asError(t, err); !strings.HasPrefix(e.Text, "bad reply: ") {
		t.Errorf("%q", e.Error())
	}
	// A Result that does not decode but carries an error: the error.
	_, err = pbxadminapi.GetGroups{}.Do(context.Background(), &replier{reply: `{"mt":"GetGroupsResult","groups":"a","error":7}`})
	if e := asError(t, err); e.Code != 7 {
		t.Errorf("%#v", e)
	}
}

// TestRequestErrorsKeepTheirIdentity: what Request failed with is still
// there for errors.Is.
func TestRequestErrorsKeepTheirIdentity(t *testing.T) {
	t.Parallel()
	_, err := pbxadminapi.GetObject{CN: "alice"}.Do(context.Background(), &replier{err: appws.ErrNoReply})
	if !errors.Is(err, appws.ErrNoReply) || !strings.HasPrefix(err.Error(), "pbxadminapi: GetObject: ") {
		t.Errorf("%v", err)
	}
}

// TestMessagesCarryAPIAndMT: every operation marshals with its api and mt
// in front, and only what it has.
func TestMessagesCarryAPIAndMT(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		m    any
		want string
	}{
		{pbxadminapi.GetObject{CN: "alice"}, `{"api":"PbxAdminApi","mt":"GetObject","cn":"alice"}`},
		{pbxadminapi.GetObject{GUID: "g"}, `{"api":"PbxAdminApi","mt":"GetObject","guid":"g"}`},
		{pbxadminapi.DeleteObject{GUID: "g"}, `{"api":"PbxAdminApi","mt":"DeleteObject","guid":"g"}`},
		{pbxadminapi.SearchUsers{}, `{"api":"PbxAdminApi","mt":"SearchUsers","cn":""}`},
		{pbxadminapi.SearchUsers{CN: "b", IncludeMatch: true}, `{"api":"PbxAdminApi","mt":"SearchUsers","cn":"b","includeMatch":true}`},
		{pbxadminapi.GetRegs{CN: "alice"}, `{"api":"PbxAdminApi","mt":"GetRegs","cn":"alice"}`},
		{pbxadminapi.GetGroup{Grp: "sales"}, `{"api":"PbxAdminApi","mt":"GetGroup","grp":"sales"}`},
		{pbxadminapi.GetGroups{}, `{"api":"PbxAdminApi","mt":"GetGroups"}`},
		{pbxadminapi.GetNodes{}, `{"api":"PbxAdminApi","mt":"GetNodes"}`},
		{pbxadminapi.GetNodes{Limit: 200, Last: "n1"}, `{"api":"PbxAdminApi","mt":"GetNodes","limit":200,"last":"n1"}`},
		{pbxadminapi.GetConfigObjects{}, `{"api":"PbxAdminApi","mt":"GetConfigObjects"}`},
		{pbxadminapi.GetAppObjects{URI: "http://ap/"}, `{"api":"PbxAdminApi","mt":"GetAppObjects","uri":"http://ap/"}`},
		{pbxadminapi.MonitorConfig{}, `{"api":"PbxAdminApi","mt":"MonitorConfig"}`},
		{pbxadminapi.MonitorConfig{Stop: true}, `{"api":"PbxAdminApi","mt":"MonitorConfig","stop":true}`},
		{pbxadminapi.MonitorAdminObject{Src: "a"}, `{"api":"PbxAdminApi","mt":"MonitorAdminObject","src":"a"}`},
	} {
		b, err := json.Marshal(tc.m)
		if err != nil || string(b) != tc.want {
			t.Errorf("%T: %s %v, want %s", tc.m, b, err, tc.want)
		}
	}
}

// TestBadOperationsSendNothing: an operation the PBX could not make sense
// of is an error at the call, and nothing is sent.
func TestBadOperationsSendNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := &replier{reply: `{"mt":"x"}`}
	for name, do := range map[string]func() error{
		"GetObject without guid or cn": func() error { _, err := pbxadminapi.GetObject{}.Do(ctx, r); return err },
		"GetRegs without guid or cn":   func() error { _, err := pbxadminapi.GetRegs{}.Do(ctx, r); return err },
		"DeleteObject without guid":    func() error { return pbxadminapi.DeleteObject{}.Do(ctx, r) },
		"DeleteObject by cn":           func() error { return pbxadminapi.DeleteObject{GUID: "*"}.Do(ctx, r) },
		"GetGroup without grp":         func() error { _, err := pbxadminapi.GetGroup{}.Do(ctx, r); return err },
		"GetNodes limit 201":           func() error { _, err := pbxadminapi.GetNodes{Limit: 201}.Do(ctx, r); return err },
		"UpdateObject * without cn": func() error {
			_, err := pbxadminapi.UpdateObject{GUID: pbxadminapi.ByCN}.Do(ctx, r)
			return err
		},
		"UpdateObject ? with empty cn": func() error {
			_, err := pbxadminapi.UpdateObject{GUID: pbxadminapi.ByCNOrCreate, CN: pbxadminapi.Set("")}.Do(ctx, r)
			return err
		},
		"UpdateObject pwd and copyPwd": func() error {
			_, err := pbxadminapi.UpdateObject{GUID: "g", Pwd: pbxadminapi.Set[pbxadminapi.Secret]("00"), CopyPwd: "app"}.Do(ctx, r)
			return err
		},
		"UpdateObject with a bad Flag": func() error {
			_, err := pbxadminapi.UpdateObject{GUID: "g", Hide: pbxadminapi.Flag(9)}.Do(ctx, r)
			return err
		},
	} {
		if err := do(); err == nil || !strings.HasPrefix(err.Error(), "pbxadminapi: ") {
			t.Errorf("%s: %v", name, err)
		}
	}
	if len(r.sent) != 0 {
		t.Errorf("sent %s", r.sent)
	}
}
