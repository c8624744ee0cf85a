package appws_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/appwstest"
)

// The chaos soak: a reconnecting client against an appwstest server that, at
// random, drops connections, closes them with odd codes, stalls, refuses
// upgrades and logins, delays logins and bursts messages, while the client
// sends from several goroutines and a consumer checks every event against
// the rules of API.md.
//
// By default it runs for a few seconds. APPWS_SOAK=5m runs it for five
// minutes; APPWS_SOAK_SEED=n replays the fault schedule of seed n (timing
// still varies from run to run). See RELIABILITY.md.

// soakConfig reads APPWS_SOAK and APPWS_SOAK_SEED.
func soakConfig(t *testing.T) (time.Duration, uint64) {
	t.Helper()
	dur := 3 * time.Second
	if v := os.Getenv("APPWS_SOAK"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			t.Fatalf("APPWS_SOAK=%q: want a duration such as 5m", v)
		}
		dur = d
	}
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("APPWS_SOAK_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("APPWS_SOAK_SEED=%q: want a number", v)
		}
		seed = s
	}
	t.Logf("chaos soak: seed %d, %v (replay with APPWS_SOAK_SEED=%d)", seed, dur, seed)
	return dur, seed
}

// soakStats are the figures of a soak run.
type soakStats struct {
	generations  int // clients dialed
	faults       map[string]int
	sessions     int // ConnectCompletes
	disconnects  int // Disconnected events
	accepted     int // sends that returned an id
	resultsOK    int
	resultsErr   int
	messages     int
	requestsOK   int
	requestsErr  int
	maxHeapGrow  int64
	maxGoroutine int
	maxRecovery  time.Duration // the longest wait of a recovery Request
}

func (s *soakStats) String() string {
	return fmt.Sprintf("clients %d, sessions %d, disconnects %d, faults %v, sends %d (ok %d, failed %d), messages %d, requests ok %d / failed %d, longest recovery Request %v, max heap growth %d KiB, max goroutines %d",
		s.generations, s.sessions, s.disconnects, s.faults, s.accepted, s.resultsOK, s.resultsErr,
		s.messages, s.requestsOK, s.requestsErr, s.maxRecovery.Round(time.Millisecond), s.maxHeapGrow>>10, s.maxGoroutine)
}

// soakOptions are short timeouts, so that every fault resolves quickly.
func soakOptions(srv *appwstest.Server) appws.Options {
	o := options(srv)
	o.AutoReconnect = true
	o.MinBackoff, o.MaxBackoff = time.Millisecond, 20*time.Millisecond
	o.PingInterval, o.PongTimeout = 150*time.Millisecond, 150*time.Millisecond
	o.WriteTimeout = 300 * time.Millisecond
	o.HandshakeTimeout = 500 * time.Millisecond
	o.LoginTimeout = 400 * time.Millisecond
	o.CloseTimeout = 200 * time.Millisecond
	o.SendQueue = 64
	return o
}

var soakCloseCodes = []int{0, 1000, 1001, 1002, 1003, 1008, 1011, 1012, 1013, 3000, 4000, 4999, 1005, 999, 5000}

// Not parallel: it measures the process's heap and goroutines, and checks
// with goleak that its own goroutines are gone.
func TestChaosSoak(t *testing.T) {
	dur, seed := soakConfig(t)
	leaks := goleak.IgnoreCurrent()
	rng := rand.New(rand.NewPCG(seed, 0x50a4))
	// The server keeps a few of each session's messages, not all: the heap
	// measures the client.
	srv := appwstest.NewServer(appwstest.Config{Apps: map[string]string{testApp: testPass}, Handler: soakHandler, RecordLimit: 100})
	stats := &soakStats{faults: map[string]int{}}
	// The server keeps every session until NextSession hands it out: take
	// them, so that the heap measures the client, not the server's record.
	taken := make(chan struct{})
	takeCtx, stopTaking := context.WithCancel(context.Background())
	go func() {
		defer close(taken)
		for {
			if _, err := srv.NextSession(takeCtx); err != nil {
				return
			}
		}
	}()
	baseHeap := liveHeap()
	deadline := time.Now().Add(dur)
	var lastSample time.Time
	sample := func() {
		if time.Since(lastSample) < 500*time.Millisecond {
			return
		}
		lastSample = time.Now()
		stats.maxHeapGrow = max(stats.maxHeapGrow, liveHeap()-baseHeap)
		stats.maxGoroutine = max(stats.maxGoroutine, runtime.NumGoroutine())
	}
	for gen := 1; time.Now().Before(deadline) && !t.Failed(); gen++ {
		soakGeneration(t, srv, rng, deadline, stats, sample)
	}
	stopTaking()
	<-taken
	srv.Close()
	t.Logf("chaos soak figures: %v", stats)
	if stats.sessions < 2 {
		t.Errorf("only %d sessions: the soak did not exercise reconnects", stats.sessions)
	}
	// Bounded: far below what 100,000s of messages would leave behind.
	if stats.maxHeapGrow > 32<<20 {
		t.Errorf("heap grew by %d MiB during the soak", stats.maxHeapGrow>>20)
	}
	if grown := liveHeap() - baseHeap; grown > 4<<20 {
		t.Errorf("heap %d KiB above the start after everything closed", grown>>10)
	}
	goleak.VerifyNone(t, leaks)
}

// soakHandler answers the Requests and one Note in a hundred, and ignores
// the other Notes, as a PBX ignores what it does not know. Echoing every
// Note of senders that never wait would flood a consumer that holds
// Messages: the wire would run at its pace, and a Request's reply could
// queue behind thousands of echoes, in the server and in both sockets,
// beyond what any read-ahead reaches.
func soakHandler(s *appwstest.Session, m appws.Message) {
	if m.MT == "Note" {
		var n struct{ I int }
		if m.Decode(&n) != nil || n.I%100 != 0 {
			return
		}
	}
	appwstest.Echo(s, m)
}

// soakGeneration runs one client until the deadline or until it ends by
// itself (a refused login), then closes it and checks what it delivered.
func soakGeneration(t *testing.T, srv *appwstest.Server, rng *rand.Rand, deadline time.Time, stats *soakStats, sample func()) {
	t.Helper()
	stats.generations++
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	c, err := appws.Dial(ctx, soakOptions(srv))
	cancel()
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	var refusals atomic.Int32 // logins refused on purpose in this generation
	consumer := newSoakConsumer(c, rng.Uint64(), &refusals)
	go consumer.run()

	// Senders: several goroutines send all the time.
	var (
		amu      sync.Mutex
		accepted idTally
		sendErrs []error
		swg      sync.WaitGroup
		reqOK    atomic.Int64
		reqErr   atomic.Int64
	)
	for g := range 4 {
		swg.Add(1)
		go func() {
			defer swg.Done()
			for i := 0; ; i++ {
				if g == 0 && i%20 == 0 {
					rctx, rcancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
					_, err := c.Request(rctx, map[string]any{"mt": "Req", "i": i})
					rcancel()
					if err == nil {
						reqOK.Add(1)
					} else {
						reqErr.Add(1)
					}
					if errors.Is(err, appws.ErrClosed) {
						return
					}
				}
				if g == 1 && i%10 == 0 {
					if _, err := c.Encrypt("seed", "data"); errors.Is(err, appws.ErrClosed) {
						return
					}
				}
				sctx, scancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
				id, err := c.Send(sctx, map[string]any{"mt": "Note", "g": g, "i": i})
				scancel()
				switch {
				case err == nil:
					amu.Lock()
					accepted.add(id)
					ahead := accepted.n - int(consumer.seen.Load())
					amu.Unlock()
					// Send never waits for the consumer, so a sender
					// must pace itself: this one keeps the test's own
					// bookkeeping (and the SendResults) bounded.
					if ahead > 20000 {
						time.Sleep(time.Millisecond)
					}
				case errors.Is(err, appws.ErrClosed):
					return
				case errors.Is(err, appws.ErrNotConnected):
					time.Sleep(time.Millisecond)
				case errors.Is(err, context.DeadlineExceeded):
				default:
					amu.Lock()
					sendErrs = append(sendErrs, err)
					amu.Unlock()
					return
				}
			}
		}()
	}

	// Chaos until the deadline or the client's end.
	var stalled []*appwstest.Session
	var bg sync.WaitGroup // fault goroutines (Close, Burst, Resume)
	for time.Now().Before(deadline) && !consumer.ended() {
		time.Sleep(time.Duration(5+rng.IntN(50)) * time.Millisecond)
		sample()
		sessions := srv.Sessions()
		var ss *appwstest.Session
		if len(sessions) > 0 {
			ss = sessions[rng.IntN(len(sessions))]
		}
		fault := "calm"
		switch p := rng.IntN(100); {
		case p < 15 && ss != nil:
			fault = "drop"
			ss.Drop()
		case p < 27 && ss != nil:
			code := soakCloseCodes[rng.IntN(len(soakCloseCodes))]
			fault = "close"
			bg.Add(1)
			go func() { defer bg.Done(); ss.Close(code, "chaos") }()
		case p < 35 && ss != nil:
			fault = "stall"
			ss.Stall()
			stalled = append(stalled, ss)
		case p < 45 && len(stalled) > 0:
			fault = "resume"
			for _, s := range stalled {
				s.Resume()
			}
			stalled = stalled[:0]
		case p < 48:
			fault = "login delay"
			srv.SetLoginDelay(time.Duration(rng.IntN(500)) * time.Millisecond) // some beyond LoginTimeout
		case p < 55:
			fault = "no login delay"
			srv.SetLoginDelay(0)
		case p < 60 && ss != nil:
			fault = "refuse upgrade"
			srv.RefuseUpgrades(1, []int{500, 502, 503}[rng.IntN(3)])
			ss.Drop()
		case p < 62 && ss != nil && rng.IntN(3) == 0:
			fault = "refuse login"
			refusals.Add(1)
			srv.RefuseLogins(1)
			ss.Drop()
		case p < 65:
			fault = "drop all"
			srv.DropAll()
		case p < 80 && ss != nil:
			fault = "burst"
			n, size := 1+rng.IntN(200), 10+rng.IntN(2000)
			bg.Add(1)
			go func() { defer bg.Done(); _ = ss.Burst(n, size) }()
		}
		stats.faults[fault]++
	}

	// Recovery: with the faults lifted, the client logs in again and works.
	srv.SetLoginDelay(0)
	for _, s := range stalled {
		s.Resume()
	}
	if !consumer.ended() {
		if !consumer.waitUp(10 * time.Second) {
			if !consumer.ended() || refusals.Load() == 0 {
				t.Errorf("no ConnectComplete within 10 s after the faults stopped")
			}
		} else if !consumer.ended() {
			// A burst, and the echoes of the senders' Notes, may fill the
			// read-ahead: then the Request waits while the consumer takes
			// Messages (it is slow at times, never stalled).
			start := time.Now()
			rctx, rcancel := context.WithTimeout(context.Background(), 15*time.Second)
			_, err := c.Request(rctx, map[string]string{"mt": "Recovered"})
			rcancel()
			stats.maxRecovery = max(stats.maxRecovery, time.Since(start))
			if err != nil && !(refusals.Load() > 0 && consumer.ended()) && !isSessionLoss(err) {
				var stacks strings.Builder
				_ = pprof.Lookup("goroutine").WriteTo(&stacks, 2)
				t.Errorf("Request after recovery: %v\n%s", err, stacks.String())
			}
		}
	}

	// Close while the senders still send, then everything must wind down.
	closed := make(chan struct{})
	go func() { c.Close(); close(closed) }()
	waitOrDump(t, closed, "Close")
	sendersDone := make(chan struct{})
	go func() { swg.Wait(); close(sendersDone) }()
	waitOrDump(t, sendersDone, "the senders")
	waitOrDump(t, consumer.done, "the consumer's drain")
	bgDone := make(chan struct{})
	go func() { bg.Wait(); close(bgDone) }()
	waitOrDump(t, bgDone, "the fault goroutines")

	// Every accepted send resolved by exactly one SendResult, and no
	// SendResult for anything else.
	for _, err := range sendErrs {
		t.Errorf("Send: unexpected error %v", err)
	}
	checkResults(t, &accepted, &consumer.results, consumer.undelivered)
	for _, e := range consumer.errs {
		t.Error(e)
	}
	stats.sessions += consumer.sessions
	stats.disconnects += consumer.disconnects
	stats.accepted += accepted.n
	stats.resultsOK += consumer.resultsOK
	stats.resultsErr += consumer.resultsErr
	stats.messages += consumer.messages
	stats.requestsOK += int(reqOK.Load())
	stats.requestsErr += int(reqErr.Load())
}

// idTally counts events per send id in a byte per id: the soak's millions
// of sends must not make the test's own bookkeeping the largest thing on
// the heap. Send ids start at 1 and grow by one.
type idTally struct {
	c []uint8
	n int // how many adds
}

func (t *idTally) add(id uint64) {
	for uint64(len(t.c)) <= id {
		t.c = append(t.c, make([]uint8, max(1024, len(t.c)))...)
	}
	if t.c[id] < 255 {
		t.c[id]++
	}
	t.n++
}

func (t *idTally) get(id uint64) int {
	if id >= uint64(len(t.c)) {
		return 0
	}
	return int(t.c[id])
}

// checkResults checks that every accepted send got exactly one SendResult,
// and none came for anything else, except that Close may have left out the
// newest ones, undelivered at most, for a consumer that lagged behind the
// senders (API rule 7).
func checkResults(t *testing.T, accepted, results *idTally, undelivered int) {
	t.Helper()
	missing, last := 0, uint64(0)
	for id := uint64(1); id < uint64(max(len(accepted.c), len(results.c))); id++ {
		n := results.get(id)
		switch a := accepted.get(id); {
		case a == 0 && n > 0:
			t.Errorf("%d SendResults for id %d, which no Send returned", n, id)
			return
		case a == 0:
		case a > 1:
			t.Errorf("id %d returned by %d Sends", id, a)
			return
		case n == 0:
			missing++
			last = id
		case missing > 0:
			t.Errorf("send %d has a SendResult after send %d had none", id, last)
			return
		case n != 1:
			t.Errorf("send %d: %d SendResults", id, n)
		}
	}
	if missing > undelivered {
		t.Errorf("%d sends, the newest %d, have no SendResult; Closed.Undelivered is %d", missing, last, undelivered)
	}
}

func isSessionLoss(err error) bool {
	return errors.Is(err, appws.ErrSessionEnded) || errors.Is(err, appws.ErrNoReply) || errors.Is(err, appws.ErrNotConnected)
}

// waitOrDump waits for done; if it takes too long, the run is deadlocked:
// it fails with every goroutine's stack.
func waitOrDump(t *testing.T, done <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		var b strings.Builder
		_ = pprof.Lookup("goroutine").WriteTo(&b, 1)
		t.Fatalf("deadlock: %s did not finish in 20 s\n%s", what, b.String())
	}
}

// soakConsumer reads a client's events, calls MessageComplete (sometimes
// slowly) and checks the order rules of API.md as it goes.
type soakConsumer struct {
	c        *appws.Client
	rng      *rand.Rand
	refusals *atomic.Int32
	done     chan struct{}

	mu  sync.Mutex
	up  bool   // between ConnectComplete and Disconnected
	cur uint64 // session of the last ConnectComplete
	end bool
	upC chan struct{} // closed and replaced at every ConnectComplete

	// Written by run only; read after done.
	results               idTally
	resultsOK, resultsErr int
	sessions, disconnects int
	messages              int
	lastAttempt           int
	undelivered           int          // Closed.Undelivered
	seen                  atomic.Int64 // SendResults read, for the senders' pacing
	errs                  []string
}

func newSoakConsumer(c *appws.Client, seed uint64, refusals *atomic.Int32) *soakConsumer {
	return &soakConsumer{
		c: c, rng: rand.New(rand.NewPCG(seed, 1)), refusals: refusals,
		done: make(chan struct{}), upC: make(chan struct{}),
	}
}

func (k *soakConsumer) fail(format string, args ...any) {
	if len(k.errs) < 20 {
		k.errs = append(k.errs, fmt.Sprintf(format, args...))
	}
}

func (k *soakConsumer) ended() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.end
}

// waitUp waits until a session is up; false if none comes in time or the
// client ended.
func (k *soakConsumer) waitUp(d time.Duration) bool {
	timeout := time.After(d)
	for {
		k.mu.Lock()
		up, end, ch := k.up, k.end, k.upC
		k.mu.Unlock()
		if up {
			return true
		}
		if end {
			return false
		}
		select {
		case <-ch:
		case <-k.done:
		case <-timeout:
			return false
		}
	}
}

func (k *soakConsumer) run() {
	defer close(k.done)
	var closedSeen bool
	for ev := range k.c.Events() {
		if closedSeen {
			k.fail("%T after Closed", ev)
		}
		k.mu.Lock()
		up, cur := k.up, k.cur
		k.mu.Unlock()
		switch ev := ev.(type) {
		case appws.ConnectComplete:
			if ev.Session != cur+1 {
				k.fail("ConnectComplete(%d) after session %d", ev.Session, cur)
			}
			if up {
				k.fail("ConnectComplete(%d) without Disconnected(%d)", ev.Session, cur)
			}
			k.sessions++
			k.lastAttempt = 0
			k.mu.Lock()
			k.up, k.cur = true, ev.Session
			close(k.upC)
			k.upC = make(chan struct{})
			k.mu.Unlock()
			k.c.MessageComplete()
		case appws.Message:
			k.messages++
			if !up || ev.Session != cur {
				k.fail("Message of session %d while session %d is up=%v", ev.Session, cur, up)
			}
			switch p := k.rng.IntN(1000); {
			case p < 2:
				time.Sleep(time.Duration(100+k.rng.IntN(300)) * time.Millisecond) // hold it beyond the ping deadline
			case p < 50:
				time.Sleep(time.Duration(k.rng.IntN(3)) * time.Millisecond)
			}
			k.c.MessageComplete()
		case appws.SendResult:
			k.seen.Add(1)
			k.results.add(ev.ID)
			if ev.Err == nil {
				k.resultsOK++
			} else {
				k.resultsErr++
				if !errors.Is(ev.Err, appws.ErrSessionEnded) {
					k.fail("SendResult error %v does not wrap ErrSessionEnded", ev.Err)
				}
			}
			if !up {
				// Rule 2: every SendResult of session N comes before
				// Disconnected(N), and no send is accepted between sessions.
				k.fail("SendResult %d between Disconnected(%d) and the next ConnectComplete", ev.ID, cur)
			}
		case appws.Disconnected:
			k.disconnects++
			if ev.Session != cur {
				k.fail("Disconnected(%d) while the last session is %d", ev.Session, cur)
			}
			// Attempts grow; a lagging consumer may miss failed retries
			// (they replace each other), never the loss (Attempt 0).
			if !up && ev.Attempt <= k.lastAttempt {
				k.fail("Disconnected attempt %d after attempt %d", ev.Attempt, k.lastAttempt)
			}
			if (ev.Attempt == 0) != up {
				k.fail("Disconnected attempt %d with up=%v", ev.Attempt, up)
			}
			if ev.Err == nil || ev.RetryIn < time.Millisecond || ev.RetryIn > 20*time.Millisecond {
				k.fail("Disconnected %+v", ev)
			}
			k.lastAttempt = ev.Attempt
			k.mu.Lock()
			k.up = false
			k.mu.Unlock()
		case appws.Closed:
			closedSeen = true
			k.undelivered = ev.Undelivered
			if ev.Err != nil { // a refused login after the first is retried (API rule 6)
				k.fail("Closed with %v", ev.Err)
			}
			k.mu.Lock()
			k.up, k.end = false, true
			k.mu.Unlock()
		}
	}
	if !closedSeen {
		k.fail("channel closed without Closed")
	}
	k.mu.Lock()
	k.end = true
	k.mu.Unlock()
}

// TestSlowConsumerBoundsHeap: the server pushes 100,000 messages of 1 KiB
// while the consumer stops calling MessageComplete: the client stops
// reading, the server's writes block, and the client's heap grows by less
// than 1 MiB. Then the consumer takes them all, holding one at times, and
// the heap stays bounded all along.
//
// In a synctest bubble with the in-memory server: synctest.Wait returns
// when the client has stopped reading and the server's write waits for it,
// which is a fact, not a guess after a pause; and the heap is measured
// while every goroutine of the bubble is idle, so what it holds does not
// depend on how busy the machine is. Not parallel: liveHeap measures the
// whole process.
func TestSlowConsumerBoundsHeap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := memServer(t, appwstest.Config{})
		c := dial(t, options(srv))
		nextAs[appws.ConnectComplete](t, c)
		ss := nextSession(t, srv)
		const n = 100_000
		pad := strings.Repeat("x", 1000)
		synctest.Wait()
		before := liveHeap()
		var sent atomic.Int64
		pushDone := make(chan error, 1)
		go func() {
			buf := make([]byte, 0, 1100)
			for i := range n {
				buf = append(buf[:0], `{"mt":"Push","src":"`...)
				buf = strconv.AppendInt(buf, int64(i), 10)
				buf = append(buf, `","pad":"`...)
				buf = append(buf, pad...)
				buf = append(buf, `"}`...)
				if err := ss.Send(buf); err != nil {
					pushDone <- err
					return
				}
				sent.Add(1)
			}
			pushDone <- nil
		}()
		synctest.Wait() // the consumer has stopped: so has the client's reader, and the server's write
		stalledAt := sent.Load()
		if stalledAt >= n {
			t.Fatalf("the server wrote all %d messages without the client reading", n)
		}
		held := liveHeap() - before
		if held > 1<<20 {
			t.Errorf("heap grew by %d KiB while the consumer held back (server stalled after %d messages)", held>>10, stalledAt)
		}
		var maxGrown int64
		for i := range n {
			c.MessageComplete()
			m := nextAs[appws.Message](t, c)
			if m.Src != strconv.Itoa(i) {
				t.Fatalf("message %d: %+v", i, m)
			}
			if i%20_000 == 10_000 {
				synctest.Wait() // hold one: the server fills the pipe again
				maxGrown = max(maxGrown, liveHeap()-before)
			}
		}
		if maxGrown > 1<<20 {
			t.Errorf("heap grew by %d KiB while a message was held", maxGrown>>10)
		}
		t.Logf("heap growth: %d B with the server stalled after %d messages, at most %d B while a message was held", held, stalledAt, maxGrown)
		if err := <-pushDone; err != nil {
			t.Fatal(err)
		}
		quiet(t, c) // no Disconnected or Closed: the session stayed up
	})
}

// TestSlowConsumerNeverTimesOut: holding Messages for minutes, one after the
// other or by not calling MessageComplete at all, never makes the client's
// own liveness checks (pings every second, 1 s pong deadline, KeepAlive)
// drop the session. Fake time, in-memory server.
func TestSlowConsumerNeverTimesOut(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv := newServer(t, appwstest.Config{InMemory: true})
		o := options(srv)
		o.PingInterval, o.PongTimeout, o.KeepAliveInterval = time.Second, time.Second, 5*time.Second
		o.ReadAhead = 4
		c := dial(t, o)
		start := time.Now()
		nextAs[appws.ConnectComplete](t, c)
		ss := nextSession(t, srv)
		const n = 300
		pushed := make(chan error, 1)
		go func() { pushed <- ss.Burst(n, 1024) }()
		for i := range n {
			c.MessageComplete()
			m := nextAs[appws.Message](t, c)
			if m.Session != 1 {
				t.Fatalf("message %d of session %d", i, m.Session)
			}
			switch {
			case i == 0:
				time.Sleep(10 * time.Minute) // hold the first one for ten minutes
			case i == n/2:
				// Stop calling MessageComplete for ten minutes.
				time.Sleep(10 * time.Minute)
			default:
				time.Sleep(2 * time.Second) // hold each one beyond the ping deadline
			}
		}
		if err := <-pushed; err != nil {
			t.Fatal(err)
		}
		// Then sit idle: pings and KeepAlives keep it up.
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		select {
		case ev := <-c.Events():
			t.Fatalf("event %T %+v while holding", ev, ev)
		default:
		}
		if got := len(srv.Sessions()); got != 1 || srv.Sessions()[0] != ss {
			t.Fatalf("%d sessions on the server, want the first one still", got)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := c.Request(ctx, map[string]string{"mt": "StillThere"}); err != nil {
			t.Fatalf("Request after %v of holding: %v", time.Since(start), err)
		}
		keepAlives := 0
		for _, m := range ss.Received() {
			if m.MT == "KeepAlive" {
				keepAlives++
			}
		}
		if keepAlives == 0 {
			t.Error("no KeepAlive in 40 minutes")
		}
	})
}
