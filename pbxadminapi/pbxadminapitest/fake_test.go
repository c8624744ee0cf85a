package pbxadminapitest_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/appwstest"
	"github.com/appwebsocket/appws/pbxadminapi"
	"github.com/appwebsocket/appws/pbxadminapi/pbxadminapitest"
)

func dial(t *testing.T, h func(*appwstest.Session, appws.Message)) *appws.Client {
	t.Helper()
	srv := appwstest.NewServer(appwstest.Config{Apps: map[string]string{"a": "pw"}, InMemory: true, Handler: h})
	c, err := appws.Dial(t.Context(), srv.ClientOptions())
	if err != nil {
		srv.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		for range c.Events() {
		}
		srv.Close()
	})
	return c
}

func request(t *testing.T, c *appws.Client, m string) map[string]any {
	t.Helper()
	reply, err := c.Request(t.Context(), json.RawMessage(m))
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := reply.Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestOtherAPIsGoToNext: Handler answers other APIs with Echo, Wrap with
// the handler it wraps; only PbxAdminApi messages are recorded.
func TestOtherAPIsGoToNext(t *testing.T) {
	t.Parallel()
	pbx := pbxadminapitest.New(pbxadminapitest.Config{})
	c := dial(t, pbx.Handler)
	if r := request(t, c, `{"api":"RCC","mt":"Initialize"}`); r["mt"] != "InitializeResult" || r["echo"] == nil {
		t.Errorf("Handler: %v", r)
	}
	var seen []string
	c2 := dial(t, pbx.Wrap(func(ss *appwstest.Session, m appws.Message) {
		seen = append(seen, m.MT)
		_ = ss.Send(map[string]string{"mt": "Mine", "src": m.Src})
	}))
	if r := request(t, c2, `{"api":"PbxApi","mt":"SubscribePresence"}`); r["mt"] != "Mine" || len(seen) != 1 {
		t.Errorf("Wrap: %v %v", r, seen)
	}
	if n := len(pbx.Received()); n != 0 {
		t.Errorf("recorded %d", n)
	}
}

// TestUnknownRequestsAreIgnored: as the PBX does; a Request for one waits
// until its ctx ends.
func TestUnknownRequestsAreIgnored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pbx := pbxadminapitest.New(pbxadminapitest.Config{})
		c := dial(t, pbx.Handler)
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if _, err := c.Request(ctx, map[string]string{"api": "PbxAdminApi", "mt": "GetStun"}); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%v", err)
		}
		// So is a message whose fields do not decode.
		ctx2, cancel2 := context.WithTimeout(t.Context(), time.Second)
		defer cancel2()
		if _, err := c.Request(ctx2, json.RawMessage(`{"api":"PbxAdminApi","mt":"GetObject","cn":7}`)); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%v", err)
		}
		if got, _ := pbx.WaitFor(t.Context(), "GetStun", 1); len(got) != 1 {
			t.Error("not recorded")
		}
	})
}

// TestUpdateObjectRefusalsChangeNothing: properties of the wrong type, a
// removed cn, a clash: an error and the object as it was.
func TestUpdateObjectRefusalsChangeNothing(t *testing.T) {
	t.Parallel()
	pbx := pbxadminapitest.New(pbxadminapitest.Config{Objects: []pbxadminapi.Object{
		{GUID: "a1", CN: "alice", H323: "alice", DN: "Alice"}, {CN: "bob", H323: "bob"}}})
	c := dial(t, pbx.Handler)
	before, _ := pbx.Stored("alice")
	for m, code := range map[string]float64{
		`{"api":"PbxAdminApi","mt":"UpdateObject","guid":"a1","dn":"x","hide":"yes"}`: pbxadminapitest.ErrCodeBadUpdate,
		`{"api":"PbxAdminApi","mt":"UpdateObject","guid":"a1","dn":"x","h323":5}`:     pbxadminapitest.ErrCodeBadUpdate,
		`{"api":"PbxAdminApi","mt":"UpdateObject","guid":"a1","dn":"x","cn":""}`:      pbxadminapitest.ErrCodeNoCN,
		`{"api":"PbxAdminApi","mt":"UpdateObject","guid":"a1","dn":"x","h323":"bob"}`: pbxadminapitest.ErrCodeClash,
		`{"api":"PbxAdminApi","mt":"UpdateObject","dn":"x"}`:                          pbxadminapitest.ErrCodeNoCN,
		`{"api":"PbxAdminApi","mt":"UpdateObject","guid":"?","dn":"x"}`:               pbxadminapitest.ErrCodeNoCN,
		`{"api":"PbxAdminApi","mt":"UpdateObject","guid":"a1","copyPwd":"nobody"}`:    pbxadminapitest.ErrCodeCopyPwd,
	} {
		r := request(t, c, m)
		if r["error"] != code || r["errorText"] == "" || r["guid"] != nil {
			t.Errorf("%s: %v", m, r)
		}
	}
	if after, _ := pbx.Stored("alice"); string(after) != string(before) {
		t.Errorf("changed:\n%s\n%s", before, after)
	}
	// A guid the PBX does not have creates the object with it.
	if r := request(t, c, `{"api":"PbxAdminApi","mt":"UpdateObject","guid":"c3","cn":"carol"}`); r["guid"] != "c3" {
		t.Errorf("%v", r)
	}
}

// TestMonitorConfigStop: after stop, SetConfig sends nothing to the
// session.
func TestMonitorConfigStop(t *testing.T) {
	t.Parallel()
	pbx := pbxadminapitest.New(pbxadminapitest.Config{PBX: pbxadminapi.PBXConfig{PBX: "p1"}})
	c := dial(t, pbx.Handler)
	if _, err := c.Send(t.Context(), pbxadminapi.MonitorConfig{Src: "m"}); err != nil {
		t.Fatal(err)
	}
	if r := request(t, c, `{"api":"PbxAdminApi","mt":"MonitorConfig","stop":true}`); r["mt"] != "MonitorConfigResult" {
		t.Fatalf("%v", r)
	}
	pbx.SetConfig(pbxadminapi.PBXConfig{PBX: "p2"})
	// A marker through the same session: everything the server sent
	// before its reply has arrived.
	if _, err := c.Send(t.Context(), map[string]string{"mt": "Marker"}); err != nil {
		t.Fatal(err)
	}
	var mts []string
	for ev := range c.Events() {
		if m, ok := ev.(appws.Message); ok {
			if m.MT == "MarkerResult" {
				break
			}
			var info pbxadminapi.PBXConfig
			_ = m.Decode(&info)
			mts = append(mts, m.MT+" "+m.Src+" "+info.PBX)
		}
		c.Handled(ev)
	}
	if got := strings.Join(mts, ","); got != "MonitorConfigResult m ,MonitorConfigInfo m p1" {
		t.Errorf("%s", got)
	}
}

// TestPutAndNew: Put refuses what the PBX would; New refuses a bad Config.
func TestPutAndNew(t *testing.T) {
	t.Parallel()
	pbx := pbxadminapitest.New(pbxadminapitest.Config{Objects: []pbxadminapi.Object{{CN: "alice", H323: "alice"}}})
	for _, o := range []pbxadminapi.Object{{}, {CN: "alice"}, {CN: "x", H323: "alice"}} {
		if _, err := pbx.Put(o); err == nil {
			t.Errorf("Put %+v", o)
		}
	}
	g, _ := pbx.Put(pbxadminapi.Object{CN: "bob"})
	if g2, err := pbx.Put(pbxadminapi.Object{GUID: g, CN: "bob", DN: "Bob"}); err != nil || g2 != g {
		t.Errorf("replace: %q %v", g2, err)
	}
	if o, _ := pbx.Object("bob"); o.DN != "Bob" {
		t.Errorf("%+v", o)
	}
	for _, err := range []error{pbx.SetPassword("nobody", "x"), pbx.SetPassword("bob", strings.Repeat("x", 24)),
		pbx.SetRegs("nobody"), pbx.SetPBXPassword(strings.Repeat("x", 17))} {
		if err == nil {
			t.Error("no error")
		}
	}
	if _, err := pbx.Password("nobody"); err == nil {
		t.Error("Password of nobody")
	}
	for _, cfg := range []pbxadminapitest.Config{
		{PBXPassword: strings.Repeat("x", 17)}, {Key: []byte{1}}, {Objects: []pbxadminapi.Object{{CN: "a"}, {CN: "a"}}},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New(%+v) did not panic", cfg)
				}
			}()
			pbxadminapitest.New(cfg)
		}()
	}
}

// TestWaitForEndsWithItsContext.
func TestWaitForEndsWithItsContext(t *testing.T) {
	t.Parallel()
	pbx := pbxadminapitest.New(pbxadminapitest.Config{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := pbx.WaitFor(ctx, "GetObject", 1); !errors.Is(err, context.Canceled) {
		t.Errorf("%v", err)
	}
}
