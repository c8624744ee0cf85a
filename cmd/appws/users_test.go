package main

import (
	"encoding/json"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/appwebsocket/appws/appwstest"
	"github.com/appwebsocket/appws/tableusers/tableuserstest"
)

// Without -url, appws users replicates the embedded fake and prints every
// change as JSON: the table, synced, the fake's edits, the difference after
// the drop; then it exits 0. The fake's users have a pwd, and its updates
// send it (as the PBX does): it is printed nowhere. The fake is in memory,
// so the command runs in a synctest bubble and its few seconds take none.
func TestUsersAgainstEmbeddedFake(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		code, out, errOut := runCmd(t, t.Context(), nil, "users")
		if code != exitOK {
			t.Fatalf("exit %d", code)
		}
		var got []string
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			var v struct {
				Kind    string
				Session int
				GUID    string
				New     struct{ E164, CN string }
			}
			if err := json.Unmarshal([]byte(l), &v); err != nil {
				t.Fatalf("line %q: %v", l, err)
			}
			s := v.Kind
			if v.GUID != "" {
				s += " " + v.GUID[len(v.GUID)-1:] + " " + v.New.CN + " " + v.New.E164
			}
			got = append(got, strings.TrimSpace(s))
		}
		want := []string{
			"added 1 Alice Smith 201", "added 2 Bob Jones 202", "added 3 Carol White 203", "added 4 Reception 200",
			"synced",
			"changed 2 Bob Jones 212",
			"added 5 Dave Brown 205",
			"changed 1 Alice Miller 201", // while disconnected: reported after
			"removed 3",                  // the second replication, by guid
			"synced",
			"removed 5",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if !strings.Contains(out, `"new":{"guid":"2f1a5c1e9a3b4a7e8d0c000000000001","h323":"alice","cn":"Alice Smith","dn":"Alice Smith",`+
			`"e164":"201","node":"root","loc":"master","config":"Config"}`) {
			t.Errorf("first user not in full")
		}
		if strings.Contains(out+errOut, fakePwd) || strings.Contains(out, "pwd") {
			t.Error("a pwd was printed")
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
	t.Parallel()
	pbx := tableuserstest.New(
		tableuserstest.Row{"guid": "b", "cn": "Bob", "e164": "202", "pwd": "x"},
		tableuserstest.Row{"guid": "a", "cn": "Alice", "e164": "201"},
	)
	srv := appwstest.NewServer(appwstest.Config{Apps: map[string]string{"dir": "pw"}, Handler: pbx.Handler})
	defer srv.Close()
	code, out, _ := runCmd(t, t.Context(), nil, "users", "-url", srv.URL, "-app", "dir",
		"-password-file", passwordFile(t, "pw"), "-once", "-columns", "guid, cn")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	if want := `{"kind":"added","session":1,"guid":"a","new":{"guid":"a","cn":"Alice"}}` + "\n" +
		`{"kind":"added","session":1,"guid":"b","new":{"guid":"b","cn":"Bob"}}` + "\n" +
		`{"kind":"synced","session":1}` + "\n"; out != want {
		t.Errorf("stdout %q, want %q", out, want)
	}
	start := pbx.Received()[0]
	if start.MT != "ReplicateStart" || !strings.Contains(string(start.Raw), `"columns":{"cn":{},"guid":{}}`) {
		t.Errorf("ReplicateStart %s", start.Raw)
	}
}

func TestUsersLoginFailed(t *testing.T) {
	t.Parallel()
	srv := appwstest.NewServer(appwstest.Config{Apps: map[string]string{"dir": "pw"}})
	defer srv.Close()
	code, _, errOut := runCmd(t, t.Context(), nil, "users", "-url", srv.URL, "-app", "dir",
		"-password-file", passwordFile(t, "wrong"))
	if code != exitFail || !strings.Contains(errOut, "login rejected") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}

// pwd may not be asked for: a usage error, before any connection.
func TestUsersUsage(t *testing.T) {
	t.Parallel()
	if code, _, errOut := runCmd(t, t.Context(), nil, "users", "-url", "ws://127.0.0.1:1/x"); code != exitUsage ||
		!strings.Contains(errOut, "-url needs -app") {
		t.Errorf("no -app: exit %d, stderr %q", code, errOut)
	}
	if code, _, errOut := runCmd(t, t.Context(), nil, "users", "-columns", "cn,pwd"); code != exitUsage ||
		!strings.Contains(errOut, "-columns: pwd is a secret and never replicated") {
		t.Errorf("-columns pwd: exit %d, stderr %q", code, errOut)
	}
	if code, _, errOut := runCmd(t, t.Context(), nil, "users", "-columns", "cn,,dn"); code != exitUsage ||
		!strings.Contains(errOut, "-columns: an empty column name") {
		t.Errorf("-columns cn,,dn: exit %d, stderr %q", code, errOut)
	}
	if code, out, _ := runCmd(t, t.Context(), nil, "help"); code != exitOK || !strings.Contains(out, "users ") {
		t.Errorf("help: exit %d, %q", code, out)
	}
}
