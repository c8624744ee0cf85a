package appws_test

import (
	"log/slog"
	"runtime"

	"github.com/appwebsocket/appws/internal/testutil"
)

// Test helpers used by several files of the package's tests. (The ones
// that set up servers and clients, newServer, options, dial, next and the
// like, are in client_test.go.)

// logBuffer is a log target that tests can search while the client logs
// to it.
type logBuffer struct{ testutil.Buffer }

// logger returns a logger at the most verbose level, writing to b.
func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// liveHeap returns the bytes of the heap objects that are alive: after two
// collections, so that what sync.Pools cache is gone too (a pool survives
// one collection as its victim cache). It counts the whole process, so a
// test that uses it must not run in parallel with other tests, and it must
// call it while its own goroutines are idle (in a synctest bubble: after
// synctest.Wait): whatever goroutines allocate while a collection runs
// counts as alive, and how much that is depends on how busy the machine is.
func liveHeap() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}
