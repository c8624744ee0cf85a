package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestRunsAgainstTheFake runs the service for a few seconds against its
// embedded fake PBX: the users come, a call rings, is answered and ends,
// the connection drops and the service logs in again, and it stops
// cleanly when its time is up.
func TestRunsAgainstTheFake(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"-for", "3s"}, &out, &errOut); err != nil {
		t.Fatalf("run: %v\nstderr:\n%s", err, errOut.String())
	}
	kinds := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var ch struct{ Kind string }
		if err := json.Unmarshal([]byte(line), &ch); err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
		kinds[ch.Kind]++
	}
	for _, k := range []string{"userAdded", "synced", "callAdded", "callChanged", "callEnded"} {
		if kinds[k] == 0 {
			t.Errorf("no %s line; got %v\nstdout:\n%s", k, kinds, out.String())
		}
	}
	if kinds["synced"] < 2 {
		t.Errorf("%d synced lines: the reconnect did not sync again\nstdout:\n%s", kinds["synced"], out.String())
	}
	if !strings.Contains(errOut.String(), "appws: reconnected") {
		t.Errorf("no reconnect in the log:\n%s", errOut.String())
	}
}
