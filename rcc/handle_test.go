package rcc_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/rcc"
	"github.com/appwebsocket/appws/wire"
)

// recorder is a Sender that keeps what was sent.
type recorder struct{ sent []json.RawMessage }

func (r *recorder) Send(_ context.Context, msg any) (uint64, error) {
	b, err := json.Marshal(msg)
	r.sent = append(r.sent, b)
	return uint64(len(r.sent)), err
}

func msg(session uint64, raw string) appws.Message {
	m, err := wire.ParseMessage([]byte(raw))
	if err != nil {
		panic(err)
	}
	m.Session = session
	return m
}

// monitored returns a Monitor in session 1 watching alice (handle 7).
func monitored(t testing.TB) *rcc.Monitor {
	m := rcc.NewMonitor(rcc.Config{})
	m.Handle(appws.ConnectComplete{Session: 1})
	var r recorder
	if err := m.Sync(context.Background(), &r); err != nil {
		t.Fatal(err)
	}
	m.Handle(msg(1, `{"api":"RCC","mt":"UserInfo","src":"rcc-init","guid":"a1","cn":"alice"}`))
	m.Handle(msg(1, `{"api":"RCC","mt":"InitializeResult","src":"rcc-init"}`))
	if err := m.Sync(context.Background(), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.sent) != 2 || string(r.sent[1]) != `{"api":"RCC","mt":"UserInitialize","cn":"alice","src":"rcc-user-1"}` {
		t.Fatalf("sent %s", r.sent)
	}
	m.Handle(msg(1, `{"api":"RCC","mt":"UserInitializeResult","src":"rcc-user-1","user":7}`))
	return m
}

// TestMonitorIgnoresOtherMessages: anything that is not RCC, or not of
// the Monitor's session, changes nothing.
func TestMonitorIgnoresOtherMessages(t *testing.T) {
	m := monitored(t)
	for _, ev := range []appws.Event{
		msg(1, `{"api":"PbxApi","mt":"CallInfo","user":7,"call":1,"state":1}`),
		msg(1, `{"mt":"HelloResult"}`),
		msg(2, `{"api":"RCC","mt":"CallInfo","user":7,"call":1,"state":1}`),
		msg(1, `{"api":"RCC","mt":"CallInfo","user":8,"call":1,"state":1}`),
		appws.SendResult{ID: 1},
		appws.ConnectComplete{Session: 1},
	} {
		if chs := m.Handle(ev); chs != nil {
			t.Errorf("Handle(%#v) = %v", ev, chs)
		}
	}
}

// TestCallEndsOnActiveFalse: the SOAP API's "active":false ends a call as
// a release message does.
func TestCallEndsOnActiveFalse(t *testing.T) {
	m := monitored(t)
	chs := m.Handle(msg(1, `{"api":"RCC","mt":"CallInfo","user":7,"call":3,"state":133,"msg":"r-conn","peer":{"e164":"2"}}`))
	if len(chs) != 1 || chs[0].Kind != rcc.CallAdded || chs[0].Call.State != rcc.StateConnected ||
		chs[0].Call.Direction != rcc.Incoming {
		t.Fatalf("changes %+v", chs)
	}
	chs = m.Handle(msg(1, `{"api":"RCC","mt":"CallInfo","user":7,"call":3,"state":133,"active":false}`))
	if len(chs) != 1 || chs[0].Kind != rcc.CallEnded || chs[0].Call.Peer.E164 != "2" || chs[0].Call.Lost {
		t.Fatalf("changes %+v", chs)
	}
}

// TestClosedEndsCalls: the client's end reports the calls lost.
func TestClosedEndsCalls(t *testing.T) {
	m := monitored(t)
	m.Handle(msg(1, `{"api":"RCC","mt":"CallInfo","user":7,"call":3,"state":5}`))
	chs := m.Handle(appws.Closed{})
	if len(chs) != 1 || chs[0].Kind != rcc.CallEnded || !chs[0].Call.Lost {
		t.Fatalf("changes %+v", chs)
	}
	if m.Session() != 0 || m.Pending() {
		t.Fatal("a session after Closed")
	}
}

func TestStateNames(t *testing.T) {
	for s, want := range map[rcc.State]string{
		rcc.StateSetup: "setup", rcc.StateSetupAck: "setup-ack", rcc.StateCallProc: "call-proc",
		rcc.StateAlert: "alert", rcc.StateConnected: "connected", rcc.StateDiscSent: "disconnect-sent",
		rcc.StateDiscRecv: "disconnect-received", rcc.StateParked: "parked", 0: "state(0)", 9: "state(9)",
	} {
		if s.String() != want {
			t.Errorf("%d: %q, want %q", int(s), s.String(), want)
		}
	}
	if rcc.Incoming.String() != "incoming" || rcc.Outgoing.String() != "outgoing" {
		t.Error("Direction names")
	}
	if rcc.CallAdded.String() != "callAdded" || rcc.Kind(0).String() != "kind(0)" {
		t.Error("Kind names")
	}
}

// TestOperationEncoding: api and mt come first, then the documented fields.
func TestOperationEncoding(t *testing.T) {
	for _, c := range []struct {
		op   any
		want string
	}{
		{rcc.Initialize{Grp: true}, `{"api":"RCC","mt":"Initialize","grp":true}`},
		{rcc.UserEnd{User: 3}, `{"api":"RCC","mt":"UserEnd","user":3}`},
		{rcc.UserTransfer{A: 1, B: 2}, `{"api":"RCC","mt":"UserTransfer","a":1,"b":2}`},
		{rcc.UserPark{Call: 4, Position: -1}, `{"api":"RCC","mt":"UserPark","call":4,"position":-1}`},
		{rcc.UserInfo{Call: 4, Cdpn: "12"}, `{"api":"RCC","mt":"UserInfo","call":4,"cdpn":"12"}`},
		{rcc.UserPickup{User: 1, CN: "bob"}, `{"api":"RCC","mt":"UserPickup","user":1,"cn":"bob"}`},
		{rcc.UserReroute{Call: 4, H323: "x"}, `{"api":"RCC","mt":"UserReroute","call":4,"h323":"x"}`},
		{rcc.UserRc{Call: 4, Rc: 4}, `{"api":"RCC","mt":"UserRc","call":4,"rc":4}`},
	} {
		b, err := json.Marshal(c.op)
		if err != nil || string(b) != c.want {
			t.Errorf("%T: %s, %v; want %s", c.op, b, err, c.want)
		}
	}
}

// BenchmarkMonitorCallInfo feeds CallInfo updates of one call through
// Handle: the cost of one update (1,000 a second is 1,000 times this).
func BenchmarkMonitorCallInfo(b *testing.B) {
	m := monitored(b)
	msgs := []appws.Message{
		msg(1, `{"api":"RCC","mt":"CallInfo","src":"rcc-user-1","user":7,"call":3,"conf":"0123456789abcdef0123456789abcdef","state":129,"msg":"x-setup","peer":{"type":"peer","e164":"200","dn":"Bob"}}`),
		msg(1, `{"api":"RCC","mt":"CallInfo","src":"rcc-user-1","user":7,"call":3,"conf":"0123456789abcdef0123456789abcdef","state":132,"msg":"r-alert","peer":{"type":"peer","e164":"200","dn":"Bob"}}`),
		msg(1, `{"api":"RCC","mt":"CallInfo","src":"rcc-user-1","user":7,"call":3,"conf":"0123456789abcdef0123456789abcdef","state":133,"msg":"r-conn","peer":{"type":"peer","e164":"200","dn":"Bob"}}`),
		msg(1, `{"api":"RCC","mt":"CallInfo","src":"rcc-user-1","user":7,"call":3,"conf":"0123456789abcdef0123456789abcdef","state":133,"msg":"r-rel","peer":{"type":"peer","e164":"200","dn":"Bob"}}`),
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if len(m.Handle(msgs[i%len(msgs)])) != 1 {
			b.Fatal("no change")
		}
	}
}
