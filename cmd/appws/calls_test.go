package main

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/appwebsocket/appws/appwstest"
)

// changes returns the "change" and "user" of each JSON line of out.
func changes(t *testing.T, out string) []string {
	t.Helper()
	var got []string
	for line := range strings.Lines(out) {
		var ch struct{ Change, User, State string }
		if err := json.Unmarshal([]byte(line), &ch); err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
		got = append(got, strings.TrimSpace(ch.Change+" "+ch.User+" "+ch.State))
	}
	return got
}

// TestCallsOnTheFake: without -url, calls come and go on the embedded fake
// and appws calls exits 0. In a synctest bubble the script's steps take no
// time.
func TestCallsOnTheFake(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		code, out, _ := runCmd(t, t.Context(), nil, "calls")
		if code != exitOK {
			t.Fatalf("exit %d", code)
		}
		want := []string{
			"userAdded alice", "userAdded bob", "userAdded carol", "usersComplete",
			"callAdded alice setup", "callChanged alice alert", "callChanged alice connected",
			"callAdded bob setup", "callChanged bob alert", "callChanged alice connected",
			"callChanged bob connected", "callChanged alice connected",
			"callEnded bob connected", "callEnded alice connected",
		}
		if got := changes(t, out); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}

// TestCallsUsage: -app without -url, and -url without -app, are usage
// errors.
func TestCallsUsage(t *testing.T) {
	for _, args := range [][]string{{"calls", "-app", "x"}, {"calls", "-url", "ws://127.0.0.1:1/x"}, {"calls", "extra"}} {
		if code, _, _ := runCmd(t, t.Context(), nil, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
	if code, out, _ := runCmd(t, t.Context(), nil, "help", "calls"); code != exitOK || !strings.Contains(out, "-url") {
		t.Errorf("help calls: exit %d", code)
	}
}

// lineWatcher is a stdout that calls f with everything written so far.
type lineWatcher struct {
	mu  sync.Mutex
	out strings.Builder
	f   func(string)
}

func (w *lineWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.out.Write(p)
	w.f(w.out.String())
	return len(p), nil
}

// TestCallsWithURL: against a PBX given by -url, the login flags of
// connect; Ctrl-C ends it with exit 0.
func TestCallsWithURL(t *testing.T) {
	pbx := appwstest.NewRCC(appwstest.RCCUser{GUID: "a1", CN: "alice", E164: "10"})
	srv := appwstest.NewServer(appwstest.Config{Apps: map[string]string{"rcc": "pw"}, Handler: pbx.Handler})
	defer srv.Close()
	t.Setenv("APPWS_PASSWORD", "pw")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var once sync.Once
	var script sync.WaitGroup
	defer script.Wait()
	out := &lineWatcher{f: func(s string) {
		switch {
		case strings.Contains(s, `"callAdded"`):
			cancel() // Ctrl-C
		case strings.Contains(s, `"usersComplete"`):
			once.Do(func() {
				script.Go(func() {
					if _, err := pbx.WaitFor(ctx, "UserInitialize", 1); err == nil {
						pbx.StartCall("alice", appwstest.RCCParty{E164: "200"}, true)
					}
				})
			})
		}
	}}
	var stderr safeBuffer
	code := run(ctx, []string{"calls", "-url", srv.URL, "-app", "rcc"}, strings.NewReader(""), out, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
	}
	got := changes(t, out.out.String())
	// The close ends the call for the monitor (lost).
	if want := "userAdded alice|usersComplete|callAdded alice setup|callEnded alice setup"; strings.Join(got, "|") != want {
		t.Fatalf("changes %q, want %s", got, want)
	}
}
