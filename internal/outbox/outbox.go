// Package outbox holds the two rules every typed API's Sync keeps (see
// ARCHITECTURE.md, "Typed PBX APIs: one shape"): one Sync sends at a
// time, and a Sync never waits for its turn longer than its ctx; and
// nothing is sent to a session other than the one the API was last fed,
// for a message composed for one session means nothing in the next.
package outbox

import (
	"context"

	"github.com/appwebsocket/appws"
)

// Gate lets one Sync send at a time. The zero Gate is not usable: make
// one with NewGate.
type Gate struct{ turn chan struct{} }

// NewGate returns an open Gate.
func NewGate() Gate { return Gate{turn: make(chan struct{}, 1)} }

// Enter waits for the turn, or for ctx to end, whose error it returns.
func (g Gate) Enter(ctx context.Context) error {
	select {
	case g.turn <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Leave gives the turn back; call it once after every Enter that returned
// nil.
func (g Gate) Leave() { <-g.turn }

// Stale reports whether s is on a session other than fed, the session the
// API last saw a ConnectComplete of (0: none). Only a Sender that knows its
// session can say (an *appws.Client can); any other is never stale. While
// the client has moved on and the consumer has not yet read the events
// that say so, the messages pending are for a session that is gone: the
// events still to come (Disconnected, the next ConnectComplete) replace
// them.
func Stale(s appws.Sender, fed uint64) bool {
	sc, ok := s.(interface{ Session() uint64 })
	return ok && fed != 0 && sc.Session() != fed
}
