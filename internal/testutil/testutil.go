// Package testutil holds the test helpers that more than one package of the
// module needs: a buffer that tests read while the code under test writes
// to it, and the protocol's test vectors. Only tests import it.
package testutil

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// Buffer is a bytes.Buffer that is safe for concurrent use: a command, a
// logger or a server writes to it while the test reads it. WaitFor waits
// for what a test expects without polling: every Write wakes it. The zero
// value is an empty buffer ready to use.
type Buffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	written chan struct{} // closed and replaced by every Write; nil until a waiter needs it
}

// Write appends p to the buffer and wakes the waiters of WaitFor.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.b.Write(p)
	if b.written != nil {
		close(b.written)
		b.written = nil
	}
	return n, err
}

// String returns what the buffer holds.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// WaitFor waits until the buffer contains s, or ctx ends. It returns what
// the buffer holds then, and ctx's error if s never came.
func (b *Buffer) WaitFor(ctx context.Context, s string) (string, error) {
	for {
		b.mu.Lock()
		held := b.b.String()
		if strings.Contains(held, s) {
			b.mu.Unlock()
			return held, nil
		}
		if b.written == nil {
			b.written = make(chan struct{})
		}
		written := b.written
		b.mu.Unlock()
		select {
		case <-written:
		case <-ctx.Done():
			return held, ctx.Err()
		}
	}
}

// Vectors are the test vectors of testdata/appwebsocket.json at the root of
// the module: the login digests published in innovaphone's SDK
// documentation, and session keys, Encrypt and Hash results computed with
// innovaphone's JavaScript client (the file's "about" says how).
type Vectors struct {
	Digest     []DigestVector
	SessionKey SessionKeyVector `json:"session_key"`
	Crypto     []CryptoVector
}

// DigestVector is one AppLogin digest and what it is computed from. Info is
// nil when the login has no info (which differs from an empty object).
type DigestVector struct {
	App, Domain, SIP, GUID, DN string
	Info                       *string
	Challenge, Password        string
	HashedString               string `json:"hashed_string"`
	Digest                     string
}

// SessionKeyVector is the session key of a password login.
type SessionKeyVector struct {
	Challenge, Password, Key string
}

// CryptoVector is one Encrypt and Hash result for a session key and seed.
type CryptoVector struct {
	SessionKey string `json:"session_key"`
	Seed, Data string
	Encrypt    string
	Hash       string
}

// LoadVectors reads the module's test vectors, from whichever package's
// directory the test runs in; it fails the test if the file is missing or
// incomplete.
func LoadVectors(t testing.TB) Vectors {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("testutil: cannot locate the module's testdata")
	}
	root := filepath.Join(filepath.Dir(file), "..", "..")
	var v Vectors
	// The session key and crypto vectors are the root package's, the
	// digest vectors package wire's.
	for _, f := range []string{filepath.Join(root, "testdata", "appwebsocket.json"), filepath.Join(root, "wire", "testdata", "digest.json")} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
	}
	if len(v.Digest) == 0 || len(v.Crypto) == 0 || v.SessionKey.Key == "" {
		t.Fatal("testutil: the vectors file is incomplete")
	}
	return v
}
