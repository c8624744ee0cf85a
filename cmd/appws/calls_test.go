package main

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/appwebsocket/appws/appwstest"
	"github.com/appwebsocket/appws/rcc/rcctest"
)

// changes returns kind, user cn, and call state and msg of each JSON line
// of out, without the userChanged lines of alert and channel.
func changes(t *testing.T, out string) []string {
	t.Helper()
	var got []string
	for line := range strings.Lines(out) {
		var ch struct {
			Kind string
			User struct{ CN string }
			Call *struct{ State, Msg string }
		}
		if err := json.Unmarshal([]byte(line), &ch); err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
		if ch.Kind == "userChanged" {
			continue
		}
		s := ch.Kind + " " + ch.User.CN
		if ch.Call != nil {
			s += " " + ch.Call.State + " " + ch.Call.Msg
		}
		got = append(got, strings.TrimSpace(s))
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
			"userAdded alice", "userAdded bob", "userAdded carol",
			"userWatched alice", "userWatched bob", "userWatched carol", "synced",
			"callAdded alice setup x-setup", "callChanged alice alert r-alert", "callChanged alice connected r-conn",
			"callAdded bob setup r-setup", "callChanged bob alert x-alert", "callChanged alice connected r-conn",
			"callChanged bob connected x-conn", "callChanged alice connected r-conn",
			"callEnded bob connected r-rel", "callEnded alice connected r-rel",
		}

		if got := changes(t, out); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}

// TestCallsModeOnTheFake: -calls-mode follows every call with CallAdd,
// CallUpdate (which carries no state) and CallDel, without UserInitialize.
func TestCallsModeOnTheFake(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		code, out, _ := runCmd(t, t.Context(), nil, "calls", "-calls-mode")
		if code != exitOK {
			t.Fatalf("exit %d", code)
		}
		want := []string{
			"userAdded alice", "userAdded bob", "userAdded carol", "synced",
			"callAdded alice setup", "callChanged alice setup r-alert", "callChanged alice setup r-conn",
			"callAdded bob setup", "callChanged bob setup x-alert", "callChanged alice setup r-conn",
			"callChanged bob setup x-conn", "callChanged alice setup r-conn",
			"callChanged bob setup r-rel", "callEnded bob setup r-rel",
			"callChanged alice setup r-rel", "callEnded alice setup r-rel",
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
	pbx := rcctest.New(rcctest.User{GUID: "a1", CN: "alice", E164: "10"})
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
		case strings.Contains(s, `"synced"`):
			once.Do(func() {
				script.Go(func() {
					if _, err := pbx.WaitFor(ctx, "UserInitialize", 1); err == nil {
						pbx.StartCall("alice", rcctest.Party{E164: "200"}, true)
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
	if want := "userAdded alice|userWatched alice|synced|callAdded alice setup x-setup|callEnded alice setup x-setup"; strings.Join(got, "|") != want {
		t.Fatalf("changes %q, want %s", got, want)
	}
}
