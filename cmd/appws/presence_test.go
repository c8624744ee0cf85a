package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/appwebsocket/appws/appwstest"
	"github.com/appwebsocket/appws/pbxapi"
	"github.com/appwebsocket/appws/pbxapi/pbxapitest"
)

// presenceLines decodes each line of out as a pbxapi Change (the CLI
// prints json.Marshal(change)) and renders it "kind who activity/note
// [lost]".
func presenceLines(t *testing.T, out string) []string {
	t.Helper()
	var got []string
	for line := range strings.Lines(out) {
		var ch struct {
			Kind         string
			Lost         bool
			Subscription *pbxapi.Subscription
			Contact      *pbxapi.Contact
		}
		if err := json.Unmarshal([]byte(line), &ch); err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
		s := ch.Kind
		if sub := ch.Subscription; sub != nil {
			s += " " + sub.Target.String()
			if ch.Kind == "presenceChanged" {
				p, _ := sub.Current()
				s += " " + p.Activity + "/" + p.Note
			} else if !sub.Up {
				s += " down"
			}
		}
		if ch.Contact != nil {
			s += " " + ch.Contact.Dsp
		}
		if ch.Lost {
			s += " lost"
		}
		got = append(got, s)
	}
	return got
}

func checkLines(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestPresenceOnTheFake: without -url, bob's and carol's presence change
// on the embedded fake, one JSON line per change, and appws presence
// exits 0 (in a synctest bubble the script's steps take no time).
func TestPresenceOnTheFake(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		code, out, _ := runCmd(t, t.Context(), nil, "presence")
		if code != exitOK {
			t.Fatalf("exit %d", code)
		}
		checkLines(t, presenceLines(t, out), []string{
			"stateChanged sip:bob", "presenceChanged sip:bob /",
			"stateChanged num:12", "presenceChanged num:12 /",
			"synced",
			"presenceChanged sip:bob away/lunch", "presenceChanged num:12 dnd/", "presenceChanged sip:bob /back",
			// appws presence closes the client: the subscriptions' live state ends.
			"stateChanged sip:bob down lost", "stateChanged num:12 down lost",
		})
	})
}

// TestPresenceSetOnTheFake: -set sets the login user's presence (alice on
// the fake), a note keeps its commas; -profile adds the favourites.
func TestPresenceSetOnTheFake(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		code, out, stderr := runCmd(t, t.Context(), nil, "presence", "-profile", "-set", "activity=busy,note=in a meeting, back at 3", "alice")
		if code != exitOK {
			t.Fatalf("exit %d", code)
		}
		checkLines(t, presenceLines(t, out), []string{
			"stateChanged sip:alice", "presenceChanged sip:alice /", "profileChanged", "contactAdded Bob", "synced",
			"presenceChanged sip:alice busy/in a meeting, back at 3",
			"contactAdded Carol",
			"stateChanged sip:alice down lost",
		})
		if !strings.Contains(stderr, "appws presence: presence set for sip alice\n") {
			t.Errorf("stderr:\n%s", stderr)
		}
	})
}

// TestPresenceSetOnly: -set without USERs sets and exits 0.
func TestPresenceSetOnly(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		code, out, stderr := runCmd(t, t.Context(), nil, "presence", "-set", "activity=available,note=hi,contact=tel:")
		if code != exitOK || out != "{\"kind\":\"synced\",\"session\":1}\n" || !strings.Contains(stderr, "presence set for sip alice") {
			t.Fatalf("exit %d\nstdout %s\nstderr %s", code, out, stderr)
		}
	})
}

// TestPresenceBadInput: a mistake in the flags or USERs gets one line on
// stderr naming the cause and where the help is, nothing on stdout, and
// exit status 2 (as in every command); a password file that cannot be
// read is a failure, exit status 1.
func TestPresenceBadInput(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-set", "foo=1"}, `-set: "foo=1" is not KEY=VALUE`},
		{[]string{"-set", "activity=away,activity=busy"}, "-set: activity given twice"},
		{[]string{"-set", "activity=away,sip="}, "-set: sip= and guid= need a value"},
		{[]string{"num:"}, `bad USER "num:"`},
		{[]string{"sip:"}, `bad USER "sip:"`},
		{[]string{" bob"}, `bad USER " bob"`},
		{[]string{"-app", "x"}, "-app needs -url"},
		{[]string{"-url", "ws://127.0.0.1:1/x", "bob"}, "-url needs -app"},
		{[]string{"-url", "http://127.0.0.1:1/x", "-app", "a", "bob"}, "-url must start with ws:// or wss://"},
		{[]string{"-url", "ws://127.0.0.1:1/x", "-app", "a", "-set", "activity=away"}, "-set: whose presence?"},
		{[]string{"-url", "ws://127.0.0.1:1/x", "-app", "a"}, "nothing to do"},
		{[]string{"-url", "ws://127.0.0.1:1/x", "-app", "a", "-password-file", "/nonexistent/pw", "bob"}, "password file"},
	} {
		want := exitUsage
		if tc.want == "password file" {
			want = exitFail
		}
		code, out, stderr := runCmd(t, t.Context(), nil, append([]string{"presence"}, tc.args...)...)
		if code != want || out != "" || strings.Count(stderr, "\n") != 1 ||
			!strings.HasPrefix(stderr, "appws presence: ") || !strings.Contains(stderr, tc.want) ||
			(want == exitUsage) != strings.HasSuffix(stderr, " (see 'appws help presence')\n") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit %d and one line with %q", tc.args, code, out, stderr, want, tc.want)
		}
	}
}

// TestPresenceSetFails: a -set the PBX refuses ends appws presence with
// its cause and exit status 1.
func TestPresenceSetFails(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		code, _, stderr := runCmd(t, t.Context(), nil, "presence", "-set", "activity=away,sip=nobody", "bob")
		if code != exitFail || !strings.Contains(stderr, "appws presence: -set for sip nobody: SetPresence: no such user\n") {
			t.Fatalf("exit %d, stderr:\n%s", code, stderr)
		}
	})
}

// TestPresenceInHelp: the command is in the list of commands.
func TestPresenceInHelp(t *testing.T) {
	t.Parallel()
	code, out, _ := runCmd(t, t.Context(), nil, "help")
	if code != exitOK || !strings.Contains(out, "\n  presence ") {
		t.Errorf("exit %d, help:\n%s", code, out)
	}
	if code, out, _ := runCmd(t, t.Context(), nil, "help", "presence"); code != exitOK || !strings.Contains(out, "-set") {
		t.Errorf("help presence: exit %d\n%s", code, out)
	}
}

// TestPresenceWithURL: against a PBX given by -url, with the login flags
// of connect: -set sets the login's own presence (-sip), the watched
// user sees it, and Ctrl-C ends it with exit 0.
func TestPresenceWithURL(t *testing.T) {
	pbx := pbxapitest.New(pbxapitest.User{SIP: "alice", Num: "10", DN: "Alice"})
	srv := appwstest.NewServer(appwstest.Config{Apps: map[string]string{"svc": "pw"}, Handler: pbx.Handler})
	defer srv.Close()
	t.Setenv("APPWS_PASSWORD", "pw")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	out := &lineWatcher{f: func(s string) {
		if strings.Contains(s, `"activity":"away"`) {
			cancel() // Ctrl-C
		}
	}}
	var stderr safeBuffer
	code := run(ctx, []string{"presence", "-url", srv.URL, "-app", "svc", "-sip", "alice", "-set", "activity=away", "alice"},
		strings.NewReader(""), out, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
	}
	checkLines(t, presenceLines(t, out.out.String()), []string{
		"stateChanged sip:alice", "presenceChanged sip:alice /", "synced", "presenceChanged sip:alice away/",
		"stateChanged sip:alice down lost",
	})
	sets, _ := pbx.WaitFor(t.Context(), "SetPresence", 1)
	var sp struct{ SIP, Activity string }
	if err := sets[0].Decode(&sp); err != nil || sp.SIP != "alice" || sp.Activity != "away" {
		t.Errorf("SetPresence %s", sets[0].Raw)
	}
}
