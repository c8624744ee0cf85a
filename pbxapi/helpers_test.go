package pbxapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/pbxapi"
)

// msg is a PbxApi message of session with mt and src; raw is the rest of
// the object's members (without braces), e.g. `"up":true`.
func msg(session uint64, mt, src, raw string) appws.Message {
	obj := map[string]json.RawMessage{}
	if raw != "" {
		if err := json.Unmarshal([]byte("{"+raw+"}"), &obj); err != nil {
			panic(fmt.Sprintf("test message %s: %v", raw, err))
		}
	}
	obj["api"], _ = json.Marshal(pbxapi.API)
	obj["mt"], _ = json.Marshal(mt)
	if src != "" {
		obj["src"], _ = json.Marshal(src)
	}
	b, _ := json.Marshal(obj)
	return appws.Message{Session: session, MT: mt, API: pbxapi.API, Src: src, Raw: b}
}

// sent is one message a recSender got.
type sent struct {
	MT, Src string
	Raw     string
}

// recSender records what Sync sends. fail, if set, decides per message
// (numbered from 1) whether Send fails; onSend runs inside Send.
type recSender struct {
	msgs   []sent
	n      int
	fail   func(n int) bool
	onSend func()
}

var errSend = errors.New("send failed")

func (r *recSender) Send(_ context.Context, m any) (uint64, error) {
	r.n++
	if r.onSend != nil {
		r.onSend()
	}
	if r.fail != nil && r.fail(r.n) {
		return 0, errSend
	}
	b, err := json.Marshal(m)
	if err != nil {
		return 0, err
	}
	var env struct{ API, MT, Src string }
	if err := json.Unmarshal(b, &env); err != nil || env.API != pbxapi.API {
		return 0, fmt.Errorf("not a PbxApi message: %s", b)
	}
	r.msgs = append(r.msgs, sent{env.MT, env.Src, string(b)})
	return uint64(r.n), nil
}

// sessionSender is a recSender whose Session method says which session
// it is in, as *appws.Client does.
type sessionSender struct {
	*recSender
	cur uint64
}

func (s *sessionSender) Session() uint64 { return s.cur }

// srcs returns the srcs of the recorded messages with mt.
func (r *recSender) srcs(mt string) []string {
	var out []string
	for _, m := range r.msgs {
		if m.MT == mt {
			out = append(out, m.Src)
		}
	}
	return out
}

// summary renders changes compactly: "kind target activity lost" and so
// on, one per change, joined by "|".
func summary(chs []pbxapi.Change) string {
	var parts []string
	for _, ch := range chs {
		s := ch.Kind.String()
		if sub := ch.Subscription; sub != nil {
			s += " " + sub.Target.String()
			switch ch.Kind {
			case pbxapi.StateChanged:
				s += fmt.Sprintf(" up=%v", sub.Up)
			case pbxapi.PresenceChanged:
				cur, _ := sub.Current()
				s += fmt.Sprintf(" %d:%q", len(sub.Presence), cur.Activity)
			}
		}
		if ch.Profile != nil {
			s += fmt.Sprintf(" %d %q", ch.Profile.ID, ch.Profile.Name)
		}
		if ch.Contact != nil {
			s += fmt.Sprintf(" #%d %s", ch.Contact.ID, ch.Contact.Dsp)
		}
		if ch.Lost {
			s += " lost"
		}
		if ch.Err != nil {
			s += " err"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "|")
}

// expect checks the summary of changes.
func expect(t *testing.T, what string, chs []pbxapi.Change, want string) {
	t.Helper()
	if got := summary(chs); got != want {
		t.Errorf("%s:\n got %s\nwant %s", what, got, want)
	}
}

// mustSync runs Sync and fails the test on an error.
func mustSync(t *testing.T, w *pbxapi.Watcher, s appws.Sender) {
	t.Helper()
	if err := w.Sync(t.Context(), s); err != nil {
		t.Fatalf("Sync: %v", err)
	}
}
