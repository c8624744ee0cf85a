package kindname_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/appwebsocket/appws/internal/kindname"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestOf(t *testing.T) {
	t.Parallel()
	names := []string{2: "two", 3: "three"}
	for k, want := range map[int]string{-1: "kind(-1)", 0: "kind(0)", 1: "kind(1)", 2: "two", 3: "three", 4: "kind(4)"} {
		if got := kindname.Of(names, k); got != want {
			t.Errorf("Of(%d) = %q, want %q", k, got, want)
		}
	}
}
