package pbxadminapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/appwstest"
	"github.com/appwebsocket/appws/pbxadminapi"
	"github.com/appwebsocket/appws/pbxadminapi/pbxadminapitest"
)

// recorder is a Sender that keeps what was sent, or fails while err is
// set.
type recorder struct {
	sent []string
	err  error
}

func (r *recorder) Send(_ context.Context, m any) (uint64, error) {
	if r.err != nil {
		return 0, r.err
	}
	b, err := json.Marshal(m)
	r.sent = append(r.sent, string(b))
	return uint64(len(r.sent)), err
}

// show renders changes one a line: kind, then what it carries.
func show(chs []pbxadminapi.Change) string {
	var b strings.Builder
	for _, ch := range chs {
		fmt.Fprintf(&b, "%d %s", ch.Session, ch.Kind)
		if ch.Config != nil {
			fmt.Fprintf(&b, " %s/%s", ch.Config.PBX, ch.Config.IP4)
		}
		if ch.Old != nil {
			fmt.Fprintf(&b, " was %s/%s", ch.Old.PBX, ch.Old.IP4)
		}
		if ch.Lost {
			b.WriteString(" lost")
		}
		if ch.Err != nil {
			fmt.Fprintf(&b, " %v", ch.Err)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func expect(t *testing.T, chs []pbxadminapi.Change, want string) {
	t.Helper()
	if got := show(chs); got != want {
		t.Fatalf("changes:\n%s\nwant:\n%s", got, want)
	}
}

const (
	cfgResult = `{"api":"PbxAdminApi","mt":"MonitorConfigResult","src":"pbxadminapi-config"}`
	cfgInfo1  = `{"api":"PbxAdminApi","mt":"MonitorConfigInfo","src":"pbxadminapi-config","domain":"example.com","pbx":"pbx1","dns":"pbx.example.com","ip4":"192.0.2.1"}`
	cfgInfo2  = `{"api":"PbxAdminApi","mt":"MonitorConfigInfo","src":"pbxadminapi-config","domain":"example.com","pbx":"pbx1","dns":"pbx.example.com","ip4":"192.0.2.2"}`
	admResult = `{"api":"PbxAdminApi","mt":"MonitorAdminObjectResult","src":"pbxadminapi-admin"}`
	admInfo   = `{"api":"PbxAdminApi","mt":"MonitorAdminObjectInfo","src":"pbxadminapi-admin","key":"` + wikiAdminKey + `","pwd":"` + wikiAdminPwd + `"}`
)

// TestMonitorHandle: the monitor's life on hand-made events: what Sync
// sends, Synced once Result and Info came (in either order), changes, the
// loss of a session, and after a reconnect only the difference.
func TestMonitorHandle(t *testing.T) {
	t.Parallel()
	m := pbxadminapi.New(pbxadminapi.Config{})
	var r recorder
	if m.Pending() || m.Sync(t.Context(), &r) != nil || len(r.sent) != 0 {
		t.Fatal("sends before a session")
	}
	expect(t, m.Handle(appws.ConnectComplete{Session: 1}), "")
	if !m.Pending() {
		t.Fatal("nothing pending after ConnectComplete")
	}
	if err := m.Sync(t.Context(), &r); err != nil {
		t.Fatal(err)
	}
	if want := `{"api":"PbxAdminApi","mt":"MonitorConfig","src":"pbxadminapi-config"}`; strings.Join(r.sent, "\n") != want || m.Pending() {
		t.Fatalf("sent %s", r.sent)
	}
	expect(t, m.Handle(msg(1, cfgInfo1)), "1 configChanged pbx1/192.0.2.1\n")
	if m.Synced() {
		t.Fatal("synced before the Result")
	}
	expect(t, m.Handle(msg(1, cfgResult)), "1 synced\n")
	expect(t, m.Handle(msg(1, cfgInfo1)), "")
	expect(t, m.Handle(msg(1, cfgInfo2)), "1 configChanged pbx1/192.0.2.2 was pbx1/192.0.2.1\n")
	expect(t, m.Handle(appws.Disconnected{Session: 1}), "1 monitorEnded lost\n")
	expect(t, m.Handle(appws.Disconnected{Session: 1, Attempt: 2}), "")
	if m.Synced() || m.Pending() {
		t.Fatal("synced or pending after the loss")
	}
	if c, ok := m.PBX(); !ok || c.IP4 != "192.0.2.2" {
		t.Fatalf("config not kept: %+v %v", c, ok)
	}
	// Session 2: the same config, Result first: only Synced.
	m.Handle(appws.ConnectComplete{Session: 2})
	_ = m.Sync(t.Context(), &r)
	if len(r.sent) != 2 {
		t.Fatalf("sent %s", r.sent)
	}
	expect(t, m.Handle(msg(1, cfgInfo1)), "") // a message of the old session
	expect(t, m.Handle(msg(2, cfgResult)), "")
	expect(t, m.Handle(msg(2, cfgInfo2)), "2 synced\n")
	// Session 3, config changed while down: the change, then Synced.
	expect(t, m.Handle(appws.Closed{}), "2 monitorEnded lost\n")
	expect(t, m.Handle(appws.ConnectComplete{Session: 3}), "")
	expect(t, m.Handle(msg(3, cfgResult)), "")
	expect(t, m.Handle(msg(3, cfgInfo1)), "3 configChanged pbx1/192.0.2.1 was pbx1/192.0.2.2\n3 synced\n")
}

// TestMonitorLossByNewerSession: a ConnectComplete of a newer session whose
// Disconnected was never seen (rule 8) ends the old session's monitoring
// first; an old or repeated ConnectComplete changes nothing.
func TestMonitorLossByNewerSession(t *testing.T) {
	t.Parallel()
	m := pbxadminapi.New(pbxadminapi.Config{})
	m.Handle(appws.ConnectComplete{Session: 1})
	m.Handle(msg(1, cfgResult))
	m.Handle(msg(1, cfgInfo1))
	expect(t, m.Handle(appws.ConnectComplete{Session: 1}), "")
	expect(t, m.Handle(appws.ConnectComplete{Session: 3}), "1 monitorEnded lost\n")
	expect(t, m.Handle(appws.ConnectComplete{Session: 2}), "")
	expect(t, m.Handle(appws.Disconnected{Session: 1}), "")
	if !m.Pending() {
		t.Fatal("session 3 needs its MonitorConfig")
	}
}

// TestMonitorIgnoresOthers: other APIs, other mts, other sessions, the
// admin object when not asked for, SendResults: nothing.
func TestMonitorIgnoresOthers(t *testing.T) {
	t.Parallel()
	m := pbxadminapi.New(pbxadminapi.Config{})
	m.Handle(appws.ConnectComplete{Session: 1})
	for _, ev := range []appws.Event{
		msg(1, `{"api":"PbxApi","mt":"MonitorConfigInfo","pbx":"x"}`),
		msg(1, `{"mt":"MonitorConfigInfo","pbx":"x"}`),
		msg(2, cfgInfo1),
		msg(1, `{"api":"PbxAdminApi","mt":"GetObjectResult","guid":"g"}`),
		msg(1, admResult),
		msg(1, admInfo),
		appws.SendResult{ID: 1},
		appws.Disconnected{Session: 2},
	} {
		if chs := m.Handle(ev); chs != nil {
			t.Errorf("%v: %s", ev, show(chs))
		}
	}
	if _, ok := m.PBX(); ok {
		t.Error("config learned")
	}
	if _, ok := m.AdminKey(); ok {
		t.Error("admin key learned")
	}
}

// TestMonitorInvalid: what does not decode, and a Result refusing the
// monitoring, are Invalid changes that change nothing.
func TestMonitorInvalid(t *testing.T) {
	t.Parallel()
	m := pbxadminapi.New(pbxadminapi.Config{AdminObject: true})
	m.Handle(appws.ConnectComplete{Session: 1})
	expect(t, m.Handle(msg(1, `{"api":"PbxAdminApi","mt":"MonitorConfigInfo","ip4":4}`)),
		"1 invalid pbxadminapi: MonitorConfig: bad MonitorConfigInfo: json: cannot unmarshal number into Go struct field PBXConfig.ip4 of type string\n")
	expect(t, m.Handle(msg(1, `{"api":"PbxAdminApi","mt":"MonitorConfigResult","error":2,"errorText":"not allowed"}`)),
		"1 invalid pbxadminapi: MonitorConfig: error 2: not allowed\n")
	expect(t, m.Handle(msg(1, `{"api":"PbxAdminApi","mt":"MonitorAdminObjectInfo","key":"zz`+wikiAdminKey+`","pwd":"00"}`)),
		"1 invalid pbxadminapi: MonitorAdminObject: bad MonitorAdminObjectInfo: the admin object's key is not a hex string\n")
	expect(t, m.Handle(msg(1, `{"api":"PbxAdminApi","mt":"MonitorAdminObjectInfo","key":7}`)),
		"1 invalid pbxadminapi: MonitorAdminObject: bad MonitorAdminObjectInfo\n")
	if _, ok := m.PBX(); ok {
		t.Error("config learned")
	}
	if _, ok := m.AdminKey(); ok {
		t.Error("admin key learned")
	}
	// Invalid changes encode with their error.
	b, _ := json.Marshal(m.Handle(msg(1, `{"api":"PbxAdminApi","mt":"MonitorConfigResult","error":"no"}`))[0])
	if string(b) != `{"kind":"invalid","session":1,"error":"pbxadminapi: MonitorConfig: no"}` {
		t.Errorf("%s", b)
	}
}

// TestMonitorAdminKey: with AdminObject, the key pair is learned (never
// carried by a Change), and Synced waits for it.
func TestMonitorAdminKey(t *testing.T) {
	t.Parallel()
	m := pbxadminapi.New(pbxadminapi.Config{AdminObject: true})
	m.Handle(appws.ConnectComplete{Session: 1})
	var r recorder
	_ = m.Sync(t.Context(), &r)
	if len(r.sent) != 2 || !strings.Contains(r.sent[1], `"mt":"MonitorAdminObject","src":"pbxadminapi-admin"`) {
		t.Fatalf("sent %s", r.sent)
	}
	m.Handle(msg(1, cfgResult))
	m.Handle(msg(1, cfgInfo1))
	m.Handle(msg(1, admResult))
	chs := m.Handle(msg(1, admInfo))
	expect(t, chs, "1 adminKeyChanged\n1 synced\n")
	b, _ := json.Marshal(chs)
	if strings.Contains(string(b), wikiAdminKey[:8]) || strings.Contains(string(b), wikiAdminPwd[:8]) {
		t.Errorf("the key in a change: %s", b)
	}
	a, ok := m.AdminKey()
	if !ok || !a.Equal(wikiAdmin(t)) {
		t.Fatal("admin key not learned")
	}
	expect(t, m.Handle(msg(1, admInfo)), "")
	if _, err := pbxadminapi.EncryptPassword(a, wikiPBXPassword, "secret"); err != nil {
		t.Error(err)
	}
}

// TestSyncFailureLeavesPending: a failed Send leaves its message and the
// ones after it for the next Sync; a new session replaces them.
func TestSyncFailureLeavesPending(t *testing.T) {
	t.Parallel()
	m := pbxadminapi.New(pbxadminapi.Config{AdminObject: true})
	m.Handle(appws.ConnectComplete{Session: 1})
	r := recorder{err: appws.ErrNotConnected}
	err := m.Sync(t.Context(), &r)
	if !errors.Is(err, appws.ErrNotConnected) || !strings.HasPrefix(err.Error(), "pbxadminapi: sending MonitorConfig: ") || !m.Pending() {
		t.Fatalf("%v, pending %v", err, m.Pending())
	}
	r.err = nil
	if err := m.Sync(t.Context(), &r); err != nil || len(r.sent) != 2 || m.Pending() {
		t.Fatalf("%v, sent %s", err, r.sent)
	}
	// Lost before Sync: nothing to send until the next session, which
	// needs its own two messages.
	m.Handle(appws.ConnectComplete{Session: 2})
	m.Handle(appws.Disconnected{Session: 2})
	if m.Pending() {
		t.Fatal("pending after the loss")
	}
	m.Handle(appws.ConnectComplete{Session: 3})
	r.sent = nil
	if err := m.Sync(t.Context(), &r); err != nil || len(r.sent) != 2 {
		t.Fatalf("%v, sent %s", err, r.sent)
	}
}

// TestMonitorFromManyGoroutines: the accessors, Pending and Sync are safe
// while Handle runs (go test -race).
func TestMonitorFromManyGoroutines(t *testing.T) {
	t.Parallel()
	m := pbxadminapi.New(pbxadminapi.Config{AdminObject: true})
	var wg sync.WaitGroup
	done := make(chan struct{})
	for range 3 {
		wg.Go(func() {
			var r recorder
			for {
				select {
				case <-done:
					return
				default:
				}
				m.PBX()
				m.AdminKey()
				m.Synced()
				m.Pending()
				_ = m.Sync(context.Background(), &r)
			}
		})
	}
	for s := uint64(1); s <= 200; s++ {
		m.Handle(appws.ConnectComplete{Session: s})
		m.Handle(msg(s, cfgResult))
		m.Handle(msg(s, cfgInfo1))
		m.Handle(msg(s, admResult))
		m.Handle(msg(s, admInfo))
		m.Handle(appws.Disconnected{Session: s})
	}
	close(done)
	wg.Wait()
	if c, ok := m.PBX(); !ok || c.PBX != "pbx1" {
		t.Errorf("%+v", c)
	}
}

func TestKindNames(t *testing.T) {
	t.Parallel()
	for k, want := range map[pbxadminapi.Kind]string{pbxadminapi.ConfigChanged: "configChanged",
		pbxadminapi.AdminKeyChanged: "adminKeyChanged", pbxadminapi.MonitorEnded: "monitorEnded",
		pbxadminapi.Synced: "synced", pbxadminapi.Invalid: "invalid", 0: "kind(0)", 99: "kind(99)"} {
		b, _ := k.MarshalText()
		if k.String() != want || string(b) != want {
			t.Errorf("%d: %s %s", int(k), k, b)
		}
	}
	b, _ := json.Marshal(pbxadminapi.Change{Kind: pbxadminapi.ConfigChanged, Session: 2, Config: &pbxadminapi.PBXConfig{PBX: "p"}})
	if string(b) != `{"kind":"configChanged","session":2,"config":{"pbx":"p"}}` {
		t.Errorf("%s", b)
	}
}

// TestMonitorAgainstFakeAcrossReconnects: against the fake, through the
// real client: monitoring starts, a config change arrives, a dropped
// connection ends it (lost), the reconnect starts it again by itself and
// reports only what changed meanwhile, then Synced.
func TestMonitorAgainstFakeAcrossReconnects(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pbx := pbxadminapitest.New(pbxadminapitest.Config{PBXPassword: "pbx",
			PBX: pbxadminapi.PBXConfig{Domain: "example.com", PBX: "pbx1", IP4: "192.0.2.1"}})
		srv := appwstest.NewServer(appwstest.Config{Apps: map[string]string{"admin": "pw"}, InMemory: true, Handler: pbx.Handler})
		defer srv.Close()
		o := srv.ClientOptions()
		o.AutoReconnect = true
		o.MinBackoff, o.MaxBackoff = 10*time.Millisecond, 20*time.Millisecond
		c, err := appws.Dial(t.Context(), o)
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			c.Close()
			for range c.Events() {
			}
		}()
		m := pbxadminapi.New(pbxadminapi.Config{AdminObject: true})
		// until runs the loop until a change of kind came.
		until := func(kind pbxadminapi.Kind) []pbxadminapi.Change {
			t.Helper()
			var all []pbxadminapi.Change
			for ev := range c.Events() {
				chs := m.Handle(ev)
				all = append(all, chs...)
				if err := m.Sync(t.Context(), c); err != nil {
					t.Fatal(err)
				}
				c.Handled(ev)
				for _, ch := range chs {
					if ch.Kind == kind {
						return all
					}
				}
			}
			t.Fatal("client ended")
			return nil
		}
		expect(t, until(pbxadminapi.Synced), "1 configChanged pbx1/192.0.2.1\n1 adminKeyChanged\n1 synced\n")
		pbx.SetConfig(pbxadminapi.PBXConfig{Domain: "example.com", PBX: "pbx1", IP4: "192.0.2.9"})
		expect(t, until(pbxadminapi.ConfigChanged), "1 configChanged pbx1/192.0.2.9 was pbx1/192.0.2.1\n")
		if err := pbx.SetPBXPassword("new-pbx-pw"); err != nil {
			t.Fatal(err)
		}
		expect(t, until(pbxadminapi.AdminKeyChanged), "1 adminKeyChanged\n")

		srv.Sessions()[0].Drop()
		expect(t, until(pbxadminapi.MonitorEnded), "1 monitorEnded lost\n")
		pbx.SetConfig(pbxadminapi.PBXConfig{Domain: "example.com", PBX: "pbx1", IP4: "192.0.2.10"})
		expect(t, until(pbxadminapi.Synced), "2 configChanged pbx1/192.0.2.10 was pbx1/192.0.2.9\n2 synced\n")
		if got, _ := pbx.WaitFor(t.Context(), "MonitorConfig", 2); got[1].Session == got[0].Session {
			t.Errorf("MonitorConfig not sent in the new session")
		}
		a, _ := m.AdminKey()
		if _, err := pbxadminapi.EncryptPassword(a, "new-pbx-pw", "x"); err != nil {
			t.Errorf("the new admin key: %v", err)
		}
	})
}

// sessionRecorder is a recorder whose Session method says which session
// it is on, as *appws.Client's does.
type sessionRecorder struct {
	recorder
	cur uint64
}

func (s *sessionRecorder) Session() uint64 { return s.cur }

// TestSyncSendsNothingForAGoneSession: a client already on another
// session than the one the monitor was last fed (the consumer is behind)
// gets nothing; the messages stay pending for the session they are for.
func TestSyncSendsNothingForAGoneSession(t *testing.T) {
	t.Parallel()
	m := pbxadminapi.New(pbxadminapi.Config{AdminObject: true})
	m.Handle(appws.ConnectComplete{Session: 1})
	for _, cur := range []uint64{2, 0} { // on session 2; between sessions
		s := &sessionRecorder{cur: cur}
		if err := m.Sync(t.Context(), s); err != nil || len(s.sent) != 0 || !m.Pending() {
			t.Fatalf("client on session %d: Sync %v, sent %v, pending %v", cur, err, s.sent, m.Pending())
		}
	}
	s := &sessionRecorder{cur: 1}
	if err := m.Sync(t.Context(), s); err != nil || len(s.sent) != 2 || m.Pending() {
		t.Fatalf("Sync %v, sent %v", err, s.sent)
	}
}
