package appws_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/appwebsocket/appws"
)

// The scale benchmark keeps N idle, logged-in clients and reports what each
// costs. Its server runs in a child process (this test binary, started again
// with benchServerEnv set), so the heap, stacks and goroutines measured here
// are the clients' alone: nothing has to be subtracted.

const (
	benchServerEnv = "APPWS_BENCH_SERVER" // set: this process is the scale server
	benchScaleEnv  = "APPWS_BENCH_SCALE"  // number of clients, default 1000
)

func init() {
	if os.Getenv(benchServerEnv) == "1" {
		runScaleServer()
		os.Exit(0)
	}
}

// runScaleServer serves idle logins until stdin closes, printing its URL
// first.
func runScaleServer() {
	raiseFileLimit()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := benchUpgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		if serverLogin(ws) != nil {
			return
		}
		for {
			if _, _, err := ws.NextReader(); err != nil {
				return
			}
		}
	}))
	fmt.Println("ws" + strings.TrimPrefix(srv.URL, "http"))
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // until EOF
}

// raiseFileLimit lifts the soft file descriptor limit to the hard one and
// returns it.
func raiseFileLimit() uint64 {
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) != nil {
		return 0
	}
	if rl.Cur < rl.Max {
		rl.Cur = rl.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)
		_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl)
	}
	return rl.Cur
}

// startScaleServer starts the child process and returns its URL.
func startScaleServer(b *testing.B) string {
	b.Helper()
	exe, err := os.Executable()
	if err != nil {
		b.Skipf("cannot find the test binary to start the server: %v", err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), benchServerEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Skipf("cannot start the server process: %v", err)
	}
	b.Cleanup(func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	url, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatalf("server process: %v", err)
	}
	return strings.TrimSpace(url)
}

// footprint is the process's heap and stack in use and its goroutines, after
// a full collection.
func footprint() (bytes uint64, goroutines int) {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse + ms.StackInuse, runtime.NumGoroutine()
}

// BenchmarkScale: N idle logged-in clients (APPWS_BENCH_SCALE, default 1000);
// one op brings all of them up (ns/op is the time that takes). Reported per client: heap+stack bytes and
// goroutines. The gorilla baseline is N bare logged-in connections, which
// hold no goroutine of their own.
func BenchmarkScale(b *testing.B) {
	n := 1000
	if v := os.Getenv(benchScaleEnv); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			b.Fatalf("%s=%q is not a positive number", benchScaleEnv, v)
		}
	}
	// Each client holds one descriptor here, one in the server process.
	if lim := raiseFileLimit(); lim < uint64(n)+100 {
		b.Skipf("scale benchmark needs %d file descriptors, the limit is %d (raise ulimit -n)", n+100, lim)
	}
	url := startScaleServer(b)

	b.Run("appws", func(b *testing.B) {
		runScale(b, n, func() (func(), error) {
			ctx, cancel := context.WithTimeout(context.Background(), benchTimeout)
			defer cancel()
			c, err := appws.Dial(ctx, benchOptions(url))
			if err != nil {
				return nil, err
			}
			if _, ok := (<-c.Events()).(appws.ConnectComplete); !ok {
				return nil, fmt.Errorf("first event is not ConnectComplete")
			}
			return func() { benchClose(c) }, nil
		})
	})
	b.Run("gorilla", func(b *testing.B) {
		runScale(b, n, func() (func(), error) {
			ws, _, err := websocket.DefaultDialer.Dial(url, nil)
			if err != nil {
				return nil, err
			}
			if err := gorillaLogin(ws); err != nil {
				ws.Close()
				return nil, err
			}
			return func() { ws.Close() }, nil
		})
	})
}

// runScale brings up n connections with dial, measures, and closes them.
func runScale(b *testing.B, n int, dial func() (close func(), err error)) {
	b.ReportAllocs()
	var perClient, perGoroutines float64
	for range b.N {
		b.StopTimer()
		mem0, g0 := footprint()
		b.StartTimer()
		closers := make([]func(), n)
		var wg sync.WaitGroup
		errs := make(chan error, n)
		const parallel = 8
		for w := range parallel {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < n; i += parallel {
					cl, err := dial()
					if err != nil {
						errs <- err
						return
					}
					closers[i] = cl
				}
			}()
		}
		wg.Wait()
		b.StopTimer()
		close(errs)
		if err := <-errs; err != nil {
			closeAll(closers)
			b.Fatalf("dial: %v", err)
		}
		time.Sleep(50 * time.Millisecond) // let every goroutine park
		mem1, g1 := footprint()
		perClient = float64(int64(mem1)-int64(mem0)) / float64(n)
		perGoroutines = float64(g1-g0) / float64(n)
		closeAll(closers)
		b.StartTimer()
	}
	b.ReportMetric(perClient, "B/client")
	b.ReportMetric(perGoroutines, "goroutines/client")
}

func closeAll(closers []func()) {
	var wg sync.WaitGroup
	for _, cl := range closers {
		if cl != nil {
			wg.Add(1)
			go func() { defer wg.Done(); cl() }()
		}
	}
	wg.Wait()
}
