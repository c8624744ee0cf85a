package tableusers

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/internal/outbox"
)

// Sync sends what the replication needs now (ReplicateStart after a
// ConnectComplete, ReplicateNext after each page), in order, with s (an
// *appws.Client). It is a no-op when nothing is pending, so the event loop
// calls it after every Handle. A Send that fails leaves its message and
// those after it pending for the next Sync, and Sync returns its error
// (after a drop, the next session's ConnectComplete replaces them). The
// messages are sent, not requested: the replies come back as events for
// Handle.
//
// Sync does not hold the Replicator's lock while it sends. A Replicator
// made from an invalid Config sends nothing: Sync returns Validate's error.
//
// One Sync sends at a time; another waits for its turn no longer than its
// ctx. When s knows its session (an *appws.Client does) and that is not
// the session last fed to Handle, Sync sends nothing and returns nil: the
// consumer is behind, the messages are for a session that is gone, and
// the events still to come (Disconnected, the next ConnectComplete) say
// what to send next.
func (r *Replicator) Sync(ctx context.Context, s appws.Sender) error {
	if r.cfgErr != nil {
		return r.cfgErr
	}
	if err := r.gate.Enter(ctx); err != nil {
		return err
	}
	defer r.gate.Leave()
	for {
		r.mu.Lock()
		if len(r.out) == 0 || outbox.Stale(s, r.session) {
			r.mu.Unlock()
			return nil
		}
		msg, gen, session := r.out[0], r.gen, r.session
		r.mu.Unlock()

		_, err := s.Send(ctx, msg.raw)

		r.mu.Lock()
		if err == nil && gen == r.gen { // else a new session replaced out
			r.out[0] = outMsg{}
			r.out = r.out[1:]
		}
		r.mu.Unlock()
		if err != nil {
			return fmt.Errorf("tableusers: session %d: %s not sent: %w", session, msg.mt, err)
		}
	}
}

// Pending reports whether Sync has something to send.
func (r *Replicator) Pending() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.out) > 0
}

// outMsg is a message to send, encoded once.
type outMsg struct {
	mt  string
	raw json.RawMessage
}

// encodeStart encodes ReplicateStart (Replication.htm): add and del false,
// for the Replicator never changes the PBX's table, and the columns asked
// for as the Columns object, each without "update".
func encodeStart(src string, columns, pseudo []string) outMsg {
	cols := make(map[string]struct{}, len(columns))
	for _, c := range columns {
		cols[c] = struct{}{}
	}
	// Marshal cannot fail on strings, bools and a map of strings.
	b, _ := json.Marshal(struct {
		API     string              `json:"api"`
		MT      string              `json:"mt"`
		Src     string              `json:"src,omitempty"`
		Add     bool                `json:"add"`
		Del     bool                `json:"del"`
		Columns map[string]struct{} `json:"columns"`
		Pseudo  []string            `json:"pseudo,omitempty"`
	}{API, mtStart, src, false, false, cols, pseudo})
	return outMsg{mtStart, b}
}

// encodePlain encodes a message of just api, mt and src.
func encodePlain(src, mt string) outMsg {
	b, _ := json.Marshal(struct {
		API string `json:"api"`
		MT  string `json:"mt"`
		Src string `json:"src,omitempty"`
	}{API, mt, src})
	return outMsg{mt, b}
}
