package main

import (
	"encoding/json"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/appwebsocket/appws/appwstest"
)

// Without -url, appws users replicates the embedded fake, prints the table,
// then the fake's edits, including the difference after the drop, and
// exits 0. The fake is in memory, so the command runs in a synctest bubble
// and its few seconds take none.
func TestUsersAgainstEmbeddedFake(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		code, out, errOut := runCmd(t, t.Context(), nil, "users")
		if code != exitOK {
			t.Fatalf("exit %d", code)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		var got []string
		for _, l := range lines {
			var v struct {
				Change, GUID string
				New          struct{ E164, CN string }
			}
			if err := json.Unmarshal([]byte(l), &v); err != nil {
				t.Fatalf("line %q: %v", l, err)
			}
			g := v.GUID[len(v.GUID)-1:]
			if v.Change == "" {
				got = append(got, "row "+g)
			} else {
				got = append(got, v.Change+" "+g+" "+v.New.CN+" "+v.New.E164)
			}
		}
		want := []string{
			"row 1", "row 2", "row 3", "row 4",
			"changed 2 Bob Jones 212",
			"added 5 Dave Brown 205",
			"changed 1 Alice Miller 201", // while disconnected: reported after
			"removed 3  ",                // the second replication, by guid
			"removed 5  ",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		for _, s := range []string{"session 1: 4 users", "connection lost", "session 2: 4 users"} {
			if !strings.Contains(errOut, s) {
				t.Errorf("stderr lacks %q", s)
			}
		}
	})
}

// With -url it logs in as connect does; -once prints the table and exits.
func TestUsersOnceAgainstURL(t *testing.T) {
	tbl := appwstest.NewUsersTable(
		appwstest.UserRow{"guid": "b", "cn": "Bob", "e164": "202", "pwd": "x"},
		appwstest.UserRow{"guid": "a", "cn": "Alice", "e164": "201"},
	)
	srv := appwstest.NewServer(appwstest.Config{Apps: map[string]string{"dir": "pw"}, Handler: tbl.Handler(nil)})
	defer srv.Close()
	code, out, _ := runCmd(t, t.Context(), nil, "users", "-url", srv.URL, "-app", "dir",
		"-password-file", passwordFile(t, "pw"), "-once", "-columns", "guid,cn")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	if want := "{\"guid\":\"a\",\"cn\":\"Alice\"}\n{\"guid\":\"b\",\"cn\":\"Bob\"}\n"; out != want {
		t.Errorf("stdout %q, want %q", out, want)
	}
	start := tbl.Received()[0]
	if start.MT != "ReplicateStart" || !strings.Contains(string(start.Raw), `"columns":{"cn":{},"guid":{}}`) {
		t.Errorf("ReplicateStart %s", start.Raw)
	}
}

func TestUsersLoginFailed(t *testing.T) {
	srv := appwstest.NewServer(appwstest.Config{Apps: map[string]string{"dir": "pw"}})
	defer srv.Close()
	code, _, errOut := runCmd(t, t.Context(), nil, "users", "-url", srv.URL, "-app", "dir",
		"-password-file", passwordFile(t, "wrong"))
	if code != exitFail || !strings.Contains(errOut, "login rejected") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}

func TestUsersUsage(t *testing.T) {
	if code, _, errOut := runCmd(t, t.Context(), nil, "users", "-url", "ws://127.0.0.1:1/x"); code != exitUsage ||
		!strings.Contains(errOut, "-app is required") {
		t.Errorf("no -app: exit %d, stderr %q", code, errOut)
	}
	if code, out, _ := runCmd(t, t.Context(), nil, "help"); code != exitOK || !strings.Contains(out, "users ") {
		t.Errorf("help: exit %d, %q", code, out)
	}
}
