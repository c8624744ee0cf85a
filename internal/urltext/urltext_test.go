package urltext

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRedactedHidesThePassword(t *testing.T) {
	for in, want := range map[string]string{
		"wss://pbx.example/PBX0/APPS/websocket": "wss://pbx.example/PBX0/APPS/websocket",
		"ws://admin:secret@pbx.example/x":       "ws://admin:xxxxx@pbx.example/x",
		"ws://pbx.example/%zz":                  "the server",
	} {
		if got := Redacted(in); got != want {
			t.Errorf("Redacted(%q) = %q, want %q", in, got, want)
		}
	}
}
