package tableusers_test

import (
	"os"
	"strings"
	"testing"
)

// Bug 8: README.md's tableusers loop must be the tested Example's: every
// line of it, in order, is a line of Example (which adds only its script
// and its output). A loop that is not run cannot rot unseen.
func TestREADMELoopIsTheExample(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	i := strings.Index(text, "**`tableusers`**")
	if i < 0 {
		t.Fatal("README.md has no tableusers paragraph")
	}
	block, ok := codeBlock(text[i:])
	if !ok {
		t.Fatal("README.md's tableusers paragraph has no ```go block")
	}
	example, ok := between(string(src), "\nfunc Example() {\n", "\n}\n")
	if !ok {
		t.Fatal("example_test.go has no Example")
	}
	want := lines(block)
	got := lines(example)
	k := 0
	for _, l := range got {
		if k < len(want) && l == want[k] {
			k++
		}
	}
	if len(want) < 10 || k != len(want) {
		t.Errorf("README.md's loop is not Example's: its line %d, %q, is not in Example in that order", k+1, want[min(k, len(want)-1)])
	}
	for _, must := range []string{"users.Handle(ev)", "users.Sync(ctx, c)", "c.Handled(ev)"} {
		if !strings.Contains(block, must) {
			t.Errorf("README.md's loop lacks %s", must)
		}
	}
}

func codeBlock(s string) (string, bool) {
	return between(s, "```go\n", "```")
}

func between(s, from, to string) (string, bool) {
	i := strings.Index(s, from)
	if i < 0 {
		return "", false
	}
	s = s[i+len(from):]
	j := strings.Index(s, to)
	if j < 0 {
		return "", false
	}
	return s[:j], true
}

// lines returns the lines of s without their indentation, blank ones left
// out.
func lines(s string) []string {
	var out []string
	for l := range strings.SplitSeq(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}
