package outbox_test

import (
	"context"
	"errors"
	"testing"

	"go.uber.org/goleak"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/internal/outbox"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestGateWaitsNoLongerThanCtx: while one holds the turn, Enter waits, and
// returns ctx's error when ctx ends first; after Leave the turn is free.
func TestGateWaitsNoLongerThanCtx(t *testing.T) {
	t.Parallel()
	g := outbox.NewGate()
	if err := g.Enter(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := g.Enter(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Enter while held: %v, want the ctx's error", err)
	}
	entered := make(chan error, 1)
	go func() { entered <- g.Enter(context.Background()) }()
	g.Leave()
	if err := <-entered; err != nil {
		t.Fatalf("Enter after Leave: %v", err)
	}
	g.Leave()
}

type sender struct{ session uint64 }

func (sender) Send(context.Context, any) (uint64, error) { return 0, nil }

type sessionSender struct{ sender }

func (s sessionSender) Session() uint64 { return s.session }

// TestStale: only a Sender that knows its session can be stale, and only
// once the API was fed a session.
func TestStale(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		s    appws.Sender
		fed  uint64
		want bool
	}{
		{"same session", sessionSender{sender{1}}, 1, false},
		{"client moved on", sessionSender{sender{2}}, 1, true},
		{"client between sessions", sessionSender{sender{0}}, 1, true},
		{"nothing fed yet", sessionSender{sender{2}}, 0, false},
		{"a Sender without Session", sender{2}, 1, false},
	} {
		if got := outbox.Stale(c.s, c.fed); got != c.want {
			t.Errorf("%s: Stale = %v, want %v", c.name, got, c.want)
		}
	}
}
