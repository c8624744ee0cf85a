package main

import (
	"strings"
	"testing"
)

// TestNoCommandPrintsAURLPassword: a -url with a user and password is a
// usage error in every command that takes one, said in one line before
// anything prints the URL (calls, users and presence printed "connecting
// to" with the password, then Dial refused the URL).
func TestNoCommandPrintsAURLPassword(t *testing.T) {
	t.Parallel()
	const url = "ws://user:TopSecret@127.0.0.1:1/PBX0/APPS/websocket"
	pw := passwordFile(t, "app-password")
	login := []string{"-url", url, "-app", "a", "-password-file", pw}
	for _, args := range [][]string{
		append([]string{"connect"}, login...),
		append([]string{"calls"}, login...),
		append([]string{"users"}, login...),
		append([]string{"users", "-once"}, login...),
		append(append([]string{"presence"}, login...), "bob"),
		append([]string{"admin", "get", "-cn", "alice"}, login...),
	} {
		code, out, stderr := runCmd(t, t.Context(), nil, args...)
		if code != exitUsage || out != "" || strings.Count(stderr, "\n") != 1 ||
			!strings.Contains(stderr, ": -url must not contain a user or password") || strings.Contains(stderr, "TopSecret") {
			t.Errorf("%v: exit %d, stdout %q, stderr:\n%s", args, code, out, stderr)
		}
	}
}
