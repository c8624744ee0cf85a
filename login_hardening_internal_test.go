package appws

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"

	"github.com/gorilla/websocket"
)

// TestDisconnectErrorTypes: whatever gorilla's reader returns becomes a
// typed appws error: a close frame a *CloseError (its reason bounded),
// anything else from the connection a *ConnectionError that still unwraps to
// the cause; appws's own errors pass unchanged.
func TestDisconnectErrorTypes(t *testing.T) {
	reset := &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	longReason := strings.Repeat("r", 300)
	readLimit := &ReadLimitError{Limit: 10}
	protocol := &ProtocolError{"x"}
	cases := []struct {
		name   string
		in     error
		status int   // CloseStatus of the result
		is     error // errors.Is must hold for the result
		same   bool  // the result is in itself
		conn   bool  // the result is a *ConnectionError
	}{
		{"close 1001", &websocket.CloseError{Code: 1001, Text: "restart"}, 1001, nil, false, false},
		{"close without status", &websocket.CloseError{Code: websocket.CloseNoStatusReceived}, 1005, nil, false, false},
		{"wrapped close 4000", fmt.Errorf("read: %w", &websocket.CloseError{Code: 4000, Text: longReason}), 4000, nil, false, false},
		{"gorilla's 1006 for a drop", &websocket.CloseError{Code: websocket.CloseAbnormalClosure, Text: "unexpected EOF"}, -1, io.ErrUnexpectedEOF, false, true},
		{"EOF", io.EOF, -1, io.EOF, false, true},
		{"unexpected EOF", io.ErrUnexpectedEOF, -1, io.ErrUnexpectedEOF, false, true},
		{"connection reset", reset, -1, syscall.ECONNRESET, false, true},
		{"closed locally", fmt.Errorf("read: %w", net.ErrClosed), -1, net.ErrClosed, false, true},
		{"websocket protocol violation", errors.New("websocket: bad opcode 7"), -1, nil, false, true},
		{"read limit", readLimit, -1, nil, true, false},
		{"protocol error", protocol, -1, nil, true, false},
		{"ping timeout", ErrPingTimeout, -1, ErrPingTimeout, true, false},
		{"already typed", &CloseError{Code: 1000}, 1000, nil, true, false},
	}
	for _, tc := range cases {
		got := disconnectError(tc.in)
		if got == nil {
			t.Errorf("%s: nil", tc.name)
			continue
		}
		if !strings.HasPrefix(got.Error(), "appws: ") {
			t.Errorf("%s: %q lacks the appws: prefix", tc.name, got)
		}
		if s := CloseStatus(got); s != tc.status {
			t.Errorf("%s: CloseStatus %d, want %d", tc.name, s, tc.status)
		}
		if tc.is != nil && !errors.Is(got, tc.is) {
			t.Errorf("%s: %v does not match %v", tc.name, got, tc.is)
		}
		if tc.same && got != tc.in {
			t.Errorf("%s: %v changed to %v", tc.name, tc.in, got)
		}
		var ce *ConnectionError
		if errors.As(got, &ce) != tc.conn {
			t.Errorf("%s: %T %v, ConnectionError %v", tc.name, got, got, tc.conn)
		}
		var we *websocket.CloseError
		if errors.As(got, &we) {
			t.Errorf("%s: gorilla's CloseError shows through: %v", tc.name, got)
		}
		if len(got.Error()) > 400 {
			t.Errorf("%s: %d-byte error", tc.name, len(got.Error()))
		}
	}
	if disconnectError(nil) != nil {
		t.Error("disconnectError(nil) is not nil")
	}
	var ne *net.OpError
	if !errors.As(disconnectError(reset), &ne) {
		t.Error("a *net.OpError is not found through ConnectionError")
	}
	var ce *CloseError
	if errors.As(disconnectError(&websocket.CloseError{Code: 4000, Text: longReason}), &ce); ce == nil ||
		!strings.HasSuffix(ce.Text, cutMark) || len(ce.Text) != maxErrorText+len(cutMark) {
		t.Errorf("long close reason: %+v", ce)
	}
}

// TestDisconnectErrorFromGorillaReader: the errors gorilla's reader really
// returns for a close frame and for a connection dropped without one.
func TestDisconnectErrorFromGorillaReader(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		up := websocket.Upgrader{}
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		if r.URL.Path == "/close" {
			_ = ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(4001, "maintenance"))
			_, _, _ = ws.ReadMessage() // the client's close reply
		}
		ws.NetConn().Close()
	}))
	defer srv.Close()
	read := func(path string) error {
		ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer ws.Close()
		_, _, err = ws.ReadMessage()
		return disconnectError(err)
	}

	err := read("/close")
	var ce *CloseError
	if !errors.As(err, &ce) || ce.Code != 4001 || ce.Text != "maintenance" || CloseStatus(err) != 4001 {
		t.Errorf("close frame: %v (%T)", err, err)
	}
	err = read("/drop")
	var co *ConnectionError
	if !errors.As(err, &co) || CloseStatus(err) != -1 || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("dropped connection: %v (%T)", err, err)
	}
}
