package testutil

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestWaitForWakesOnWrite: WaitFor returns once a later Write, in parts,
// completes the string, and with what the buffer holds.
func TestWaitForWakesOnWrite(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var b Buffer
		b.Write([]byte("one "))
		go func() {
			b.Write([]byte("tw"))
			time.Sleep(time.Second)
			b.Write([]byte("o three"))
		}()
		start := time.Now()
		got, err := b.WaitFor(t.Context(), "two")
		if err != nil || got != "one two three" {
			t.Fatalf("WaitFor = %q, %v", got, err)
		}
		if d := time.Since(start); d != time.Second {
			t.Errorf("WaitFor returned after %v, want at the write that completed it (1s)", d)
		}
		if got, err := b.WaitFor(t.Context(), "one"); err != nil || got != "one two three" {
			t.Errorf("WaitFor of what is there = %q, %v", got, err)
		}
	})
}

// TestWaitForEndsWithCtx: a string that never comes ends the wait with
// ctx's error and what the buffer held.
func TestWaitForEndsWithCtx(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var b Buffer
		b.Write([]byte("partial"))
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		got, err := b.WaitFor(ctx, "never")
		if !errors.Is(err, context.DeadlineExceeded) || got != "partial" {
			t.Fatalf("WaitFor = %q, %v; want what it held and the deadline", got, err)
		}
		if s := b.String(); s != "partial" {
			t.Errorf("String = %q", s)
		}
	})
}

func TestLoadVectors(t *testing.T) {
	t.Parallel()
	v := LoadVectors(t)
	if v.Digest[0].App == "" || v.Digest[0].Digest == "" || v.Crypto[0].Encrypt == "" || v.SessionKey.Challenge == "" {
		t.Errorf("vectors without their fields: %+v", v)
	}
	infos := 0
	for _, d := range v.Digest {
		if d.Info != nil {
			infos++
		}
	}
	if infos == 0 || infos == len(v.Digest) {
		t.Errorf("%d of %d digest vectors have info: want both kinds", infos, len(v.Digest))
	}
}
