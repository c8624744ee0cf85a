package tableusers

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/appwebsocket/appws"
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
// Sync does not hold the Replicator's lock while it sends. While one Sync
// is sending, another returns nil at once; the first sends what is pending.
// A Replicator made from an invalid Config sends nothing: Sync returns
// Validate's error.
func (r *Replicator) Sync(ctx context.Context, s appws.Sender) error {
	if r.cfgErr != nil {
		return r.cfgErr
	}
	for {
		r.mu.Lock()
		if r.sending || len(r.out) == 0 {
			r.mu.Unlock()
			return nil
		}
		msg, gen, session := r.out[0], r.gen, r.session
		r.sending = true
		r.mu.Unlock()

		_, err := s.Send(ctx, msg.raw)

		r.mu.Lock()
		r.sending = false
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
