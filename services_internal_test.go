package appws

import (
	"errors"
	"strings"
	"testing"
)

// TestSessionKeyOfAChangedSession: the Services authenticator decrypts a
// target's key with the key of the PBX session that carried the reply. If
// the PBX session changed between the Request and that use (a reconnect),
// the reply's salt belongs to a key that is gone: sessionKeyOf refuses with
// ErrSessionEnded instead of decrypting with the new session's key, and its
// error shows no key.
func TestSessionKeyOfAChangedSession(t *testing.T) {
	const key = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	c := &Client{cur: &session{id: 2, key: key}}
	if got, err := c.sessionKeyOf(2); err != nil || got != key {
		t.Errorf("sessionKeyOf(2) while session 2 is up = %q, %v; want its key", got, err)
	}
	got, err := c.sessionKeyOf(1)
	if got != "" || !errors.Is(err, ErrSessionEnded) || !strings.Contains(err.Error(), "the PBX session changed") {
		t.Errorf("sessionKeyOf(1) while session 2 is up = %q, %v; want ErrSessionEnded", got, err)
	}
	if err != nil && strings.Contains(err.Error(), key) {
		t.Error("the error shows the session key")
	}

	c = &Client{}
	if _, err := c.sessionKeyOf(1); !errors.Is(err, ErrNotConnected) {
		t.Errorf("sessionKeyOf between sessions = %v, want ErrNotConnected", err)
	}
	c.ended = true
	if _, err := c.sessionKeyOf(1); !errors.Is(err, ErrClosed) {
		t.Errorf("sessionKeyOf after the end = %v, want ErrClosed", err)
	}
}
