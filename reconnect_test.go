package appws_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/appwstest"
)

// memServer is an in-memory appwstest server, for tests inside a synctest
// bubble where time is fake and every wait is instant.
func memServer(t *testing.T, cfg appwstest.Config) *appwstest.Server {
	t.Helper()
	cfg.InMemory = true
	return newServer(t, cfg)
}

// memReconnecting returns an in-memory server and reconnecting options for
// it, without pings (the tests that need them set them).
func memReconnecting(t *testing.T, cfg appwstest.Config) (*appwstest.Server, appws.Options) {
	t.Helper()
	srv := memServer(t, cfg)
	o := options(srv)
	o.AutoReconnect = true
	o.PingInterval = -1
	return srv, o
}

// collectDisconnects drops the session and reads the Disconnected events of
// n failed attempts, checking that each attempt starts RetryIn after the
// previous one (time is fake: exact).
func collectDisconnects(t *testing.T, c *appws.Client, n int) []time.Duration {
	t.Helper()
	var delays []time.Duration
	var lastAt time.Time
	for len(delays) < n {
		d := nextAs[appws.Disconnected](t, c)
		now := time.Now()
		if len(delays) > 0 {
			if gap := now.Sub(lastAt); gap != delays[len(delays)-1] {
				t.Errorf("attempt %d came %v after the previous one, RetryIn said %v", d.Attempt, gap, delays[len(delays)-1])
			}
		}
		if d.Attempt != len(delays) {
			t.Errorf("Attempt %d, want %d", d.Attempt, len(delays))
		}
		lastAt = now
		delays = append(delays, d.RetryIn)
	}
	return delays
}

func TestReconnectBackoffGrowsWithJitterWithinBounds(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv, o := memReconnecting(t, appwstest.Config{})
		var runs [][]time.Duration
		for range 2 {
			c := dial(t, o)
			nextAs[appws.ConnectComplete](t, c)
			srv.RefuseUpgrades(10, 503)
			nextSession(t, srv).Drop()
			delays := collectDisconnects(t, c, 11) // the loss, then ten refused attempts
			cc := nextAs[appws.ConnectComplete](t, c)
			if cc.Session != 2 || cc.Attempts != 11 {
				t.Errorf("ConnectComplete after recovery = %+v", cc)
			}
			nextSession(t, srv) // the recovered session
			for i, d := range delays {
				if d < time.Second || d > 60*time.Second {
					t.Errorf("delay %d = %v, outside [1s, 60s]", i, d)
				}
			}
			for i := 1; i < 6; i++ { // below the cap every delay is longer than the last
				if delays[i] <= delays[i-1] {
					t.Errorf("delay %d (%v) not above delay %d (%v)", i, delays[i], i-1, delays[i-1])
				}
			}
			if delays[10] < 36*time.Second {
				t.Errorf("delay after ten failures %v, want near the 60 s cap", delays[10])
			}
			runs = append(runs, delays)
			closeAndDrain(t, c)
		}
		if slices.Equal(runs[0], runs[1]) {
			t.Errorf("two clients waited exactly the same: %v", runs[0])
		}
	})
}

func TestBackoffResetsOnlyAfterAStableLogin(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv, o := memReconnecting(t, appwstest.Config{})
		c := dial(t, o)
		nextAs[appws.ConnectComplete](t, c)

		srv.RefuseUpgrades(3, 503)
		nextSession(t, srv).Drop()
		grown := collectDisconnects(t, c, 4)
		nextAs[appws.ConnectComplete](t, c)

		// Dropped at once after the login: the backoff goes on growing.
		nextSession(t, srv).Drop()
		d := nextAs[appws.Disconnected](t, c)
		if d.RetryIn <= grown[3] {
			t.Errorf("after a flapping login the delay fell to %v (was %v)", d.RetryIn, grown[3])
		}
		nextAs[appws.ConnectComplete](t, c)

		// Up for longer than StableAfter: the next delay starts over.
		time.Sleep(11 * time.Second)
		nextSession(t, srv).Drop()
		d = nextAs[appws.Disconnected](t, c)
		if d.RetryIn < time.Second || d.RetryIn > 1667*time.Millisecond {
			t.Errorf("after a stable login the first delay is %v, want in [1s, 1.67s]", d.RetryIn)
		}
		nextAs[appws.ConnectComplete](t, c)
	})
}

// TestReconnectAfterServerRestarts: the server drops every connection 20
// times while the client sends from several goroutines; each session is
// dropped once some of its sends went through. Fake time, in-memory server.
func TestReconnectAfterServerRestarts(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv := memServer(t, appwstest.Config{Handler: barrierOnly})
		o := options(srv)
		o.AutoReconnect = true
		o.MinBackoff, o.MaxBackoff = time.Millisecond, 5*time.Millisecond
		c := dial(t, o)

		var mu sync.Mutex
		var accepted idTally
		stop := make(chan struct{})
		var senders sync.WaitGroup
		for range 4 {
			senders.Add(1)
			go func() {
				defer senders.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					id, err := c.Send(context.Background(), map[string]string{"mt": "Note"})
					switch {
					case err == nil:
						mu.Lock()
						accepted.add(id)
						mu.Unlock()
					case errors.Is(err, appws.ErrNotConnected):
						time.Sleep(time.Millisecond)
					default:
						t.Errorf("Send: %v", err)
						return
					}
				}
			}()
		}

		var results idTally
		var order eventOrder
		const restarts = 20
		// sendsPerSession SendResults of a session go by before the server
		// drops it: the sessions carry sends, whatever the scheduling.
		const sendsPerSession = 25
		resultsInSession := -1 // -1: not dropping this session
		for logins := 0; logins <= restarts; {
			ev := next(t, c)
			order.check(t, ev)
			switch ev := ev.(type) {
			case appws.ConnectComplete:
				logins++
				if logins <= restarts {
					resultsInSession = 0
				}
			case appws.SendResult:
				results.add(ev.ID)
				if resultsInSession >= 0 {
					if resultsInSession++; resultsInSession == sendsPerSession {
						resultsInSession = -1
						srv.DropAll()
					}
				}
			}
		}
		close(stop)
		go func() {
			senders.Wait() // a sender may wait for room until we read its SendResults
			c.Close()
		}()
		undelivered := 0
		for ev := range c.Events() {
			order.check(t, ev)
			switch ev := ev.(type) {
			case appws.SendResult:
				results.add(ev.ID)
			case appws.Closed:
				// The senders ran ahead of this loop: what did not fit in the
				// channel's buffer when Close returned is counted instead
				// (rule 7), and it is the newest.
				undelivered = ev.Undelivered
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if accepted.n == 0 {
			t.Fatal("no send was accepted")
		}
		checkResults(t, &accepted, &results, undelivered)
		if order.sessions != restarts+1 {
			t.Errorf("%d sessions, want %d", order.sessions, restarts+1)
		}
	})
}

// eventOrder checks the rules of Event as events arrive.
type eventOrder struct {
	sessions uint64 // last ConnectComplete's session
	up       bool   // between ConnectComplete and its Disconnected
	closed   bool
}

func (o *eventOrder) check(t *testing.T, ev appws.Event) {
	t.Helper()
	if o.closed {
		t.Fatalf("%T after Closed", ev)
	}
	switch ev := ev.(type) {
	case appws.ConnectComplete:
		if o.up || ev.Session != o.sessions+1 {
			t.Fatalf("ConnectComplete(%d) after session %d (up %v)", ev.Session, o.sessions, o.up)
		}
		o.sessions, o.up = ev.Session, true
	case appws.Message:
		if !o.up || ev.Session != o.sessions {
			t.Fatalf("Message of session %d while session %d (up %v)", ev.Session, o.sessions, o.up)
		}
	case appws.Disconnected:
		if ev.Session != o.sessions || (ev.Attempt == 0) != o.up {
			t.Fatalf("Disconnected %+v after session %d (up %v)", ev, o.sessions, o.up)
		}
		o.up = false
	case appws.Closed:
		o.closed = true
	}
}

// TestRejectedLoginsAfterUpAreRetried: once a session has been up, a
// rejected login is what a PBX that restarts or updates does for a while:
// reported as Disconnected with the *LoginError and retried with the
// backoff, never the end (API rule 6).
func TestRejectedLoginsAfterUpAreRetried(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv, o := memReconnecting(t, appwstest.Config{})
		c := dial(t, o)
		nextAs[appws.ConnectComplete](t, c)
		srv.RefuseLogins(3)
		nextSession(t, srv).Drop()
		if d := nextAs[appws.Disconnected](t, c); d.Attempt != 0 {
			t.Fatalf("Disconnected %+v, want the loss (attempt 0)", d)
		}
		for attempt := 1; attempt <= 3; attempt++ {
			d := nextAs[appws.Disconnected](t, c)
			var le *appws.LoginError
			if d.Attempt != attempt || !errors.As(d.Err, &le) {
				t.Fatalf("Disconnected %+v, want attempt %d with a *LoginError", d, attempt)
			}
		}
		if cc := nextAs[appws.ConnectComplete](t, c); cc.Session != 2 || cc.Attempts != 4 {
			t.Fatalf("ConnectComplete %+v, want session 2 after 4 attempts", cc)
		}
		time.Sleep(10 * time.Minute)
		if c.Session() != 2 {
			t.Errorf("Session() = %d after 10 quiet minutes, want 2", c.Session())
		}
	})
}

// TestPasswordChangeIsRetriedUntilClose: a password changed on the server
// makes every reconnect fail; the client keeps trying (a wrong password is
// fatal only for Dial) until Close.
func TestPasswordChangeIsRetriedUntilClose(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv, o := memReconnecting(t, appwstest.Config{})
		c := dial(t, o)
		nextAs[appws.ConnectComplete](t, c)
		srv.SetPassword(testApp, "changed")
		nextSession(t, srv).Drop()
		nextAs[appws.Disconnected](t, c)
		time.Sleep(10 * time.Minute)
		if n := len(srv.Logins()); n < 8 {
			t.Errorf("%d logins in 10 minutes, want the retries to go on", n)
		}
		if cl := closeAndDrain(t, c); cl.Err != nil {
			t.Errorf("Closed.Err = %v after Close", cl.Err)
		}
	})
}

// TestHandshake401OnReconnectIsRetried: an HTTP 401, 403 or 404 during a
// reconnect is retried (an app instance being updated answers 404 for a
// while), reported with the *HandshakeError.
func TestHandshake401OnReconnectIsRetried(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv, o := memReconnecting(t, appwstest.Config{})
		c := dial(t, o)
		nextAs[appws.ConnectComplete](t, c)
		srv.RefuseUpgrades(1, 401)
		nextSession(t, srv).Drop()
		nextAs[appws.Disconnected](t, c)
		var he *appws.HandshakeError
		if d := nextAs[appws.Disconnected](t, c); !errors.As(d.Err, &he) || he.StatusCode != 401 {
			t.Fatalf("Disconnected.Err = %v, want a *HandshakeError 401", d.Err)
		}
		if cc := nextAs[appws.ConnectComplete](t, c); cc.Session != 2 {
			t.Fatalf("ConnectComplete %+v", cc)
		}
	})
}

// TestDialRetriesUntilCtxEnds: with AutoReconnect, Dial retries transient
// failures (HTTP 503) and gives up when its ctx does, keeping the last
// failure in its error; a 403 is permanent for Dial: it fails at once.
func TestDialRetriesUntilCtxEnds(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv := memServer(t, appwstest.Config{})
		o := options(srv)
		o.AutoReconnect = true
		srv.RefuseUpgrades(3, 503)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c := dial(t, o) // succeeds on the fourth attempt
		if cc := nextAs[appws.ConnectComplete](t, c); cc.Attempts != 4 {
			t.Errorf("Attempts = %d, want 4", cc.Attempts)
		}
		srv.RefuseUpgrades(1000, 503)
		_, err := appws.Dial(ctx, o)
		var he *appws.HandshakeError
		if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &he) || he.StatusCode != 503 {
			t.Fatalf("Dial = %v, want the deadline and the last 503", err)
		}

		srv.RefuseUpgrades(1000, 403)
		before := srv.Connections()
		_, err = appws.Dial(context.Background(), o)
		if !errors.As(err, &he) || he.StatusCode != 403 {
			t.Fatalf("Dial = %v, want the 403", err)
		}
		if n := srv.Connections() - before; n > 1 {
			t.Errorf("%d connections for a permanent refusal, want 1", n)
		}
	})
}

// TestUnwrittenSendsFailAndAreNotReplayed: sends queued behind a stalled
// server get an error SendResult when the session drops, and the next
// session does not see them.
func TestUnwrittenSendsFailAndAreNotReplayed(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv, o := memReconnecting(t, appwstest.Config{Handler: barrierOnly})
		o.WriteTimeout = time.Hour
		c := dial(t, o)
		nextAs[appws.ConnectComplete](t, c)
		ss := nextSession(t, srv)
		ss.Stall()
		const n = 200
		for i := range n {
			if _, err := c.Send(context.Background(), map[string]any{"mt": "Note", "i": i}); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait() // the writer is blocked on the stalled pipe
		ss.Drop()
		failed := map[uint64]bool{}
		for range n {
			if r := nextAs[appws.SendResult](t, c); r.Err != nil {
				if !errors.Is(r.Err, appws.ErrSessionEnded) {
					t.Errorf("SendResult.Err = %v, want ErrSessionEnded", r.Err)
				}
				failed[r.ID] = true
			}
		}
		if len(failed) == 0 {
			t.Fatal("no send failed although the server read nothing")
		}
		nextAs[appws.Disconnected](t, c)
		nextAs[appws.ConnectComplete](t, c)
		ss2 := nextSession(t, srv)
		barrier(t, c)
		if got := ss2.Received(); len(got) != 1 || got[0].MT != "Barrier" {
			t.Errorf("the new session received %d messages, want only the barrier", len(got))
		}
	})
}

// TestCloseInEveryState: dialing, logging in, connected, waiting to retry.
func TestCloseInEveryState(t *testing.T) {
	t.Parallel()
	states := map[string]func(t *testing.T, srv *appwstest.Server, o *appws.Options, unblock chan struct{}){
		"connected": func(*testing.T, *appwstest.Server, *appws.Options, chan struct{}) {},
		"waiting to retry": func(t *testing.T, srv *appwstest.Server, o *appws.Options, _ chan struct{}) {
			o.MinBackoff, o.MaxBackoff = time.Hour, time.Hour
		},
		"logging in": func(t *testing.T, srv *appwstest.Server, o *appws.Options, _ chan struct{}) {
			o.LoginTimeout = time.Hour
		},
		"dialing": func(t *testing.T, srv *appwstest.Server, o *appws.Options, unblock chan struct{}) {
			first := true
			o.NetDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
				if first {
					first = false
					return srv.DialContext(ctx, network, addr)
				}
				select { // a dial that hangs until it is called off
				case <-ctx.Done():
					return nil, ctx.Err()
				case <-unblock:
					return nil, errors.New("unblocked")
				}
			}
		},
	}
	for name, setup := range states {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv, o := memReconnecting(t, appwstest.Config{})
				o.MinBackoff, o.MaxBackoff = time.Second, time.Second
				unblock := make(chan struct{})
				defer close(unblock)
				setup(t, srv, &o, unblock)
				var dials atomic.Int32
				dialFn := o.NetDialContext
				o.NetDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
					dials.Add(1)
					return dialFn(ctx, network, addr)
				}
				c := dial(t, o)
				nextAs[appws.ConnectComplete](t, c)
				if name != "connected" {
					if name == "logging in" {
						srv.SetLoginDelay(time.Hour)
					}
					nextSession(t, srv).Drop()
					nextAs[appws.Disconnected](t, c)
					if name != "waiting to retry" {
						time.Sleep(2 * time.Second) // past the retry delay: dialing or logging in now
					}
				}
				synctest.Wait()
				start := time.Now()
				if err := c.Close(); err != nil {
					t.Fatal(err)
				}
				if d := time.Since(start); d > time.Second {
					t.Errorf("Close took %v", d)
				}
				if cl := drain(t, c); cl.Err != nil {
					t.Errorf("Closed.Err = %v", cl.Err)
				}
				dialed := dials.Load()
				time.Sleep(2 * time.Hour)
				if dials.Load() != dialed {
					t.Error("the client dialed again after Close")
				}
			})
		})
	}
}

// TestLaggingConsumerDoesNotStopReconnecting: while the consumer holds a
// Message and reads nothing, the client keeps trying, so it is connected
// again when the consumer comes back, and every attempt is reported in
// order. (Beyond the channel's buffer, failed attempts replace each other:
// TestLifecycleBacklogIsBounded.)
func TestLaggingConsumerDoesNotStopReconnecting(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv, o := memReconnecting(t, appwstest.Config{})
		c := dial(t, o)
		nextAs[appws.ConnectComplete](t, c)
		ss := nextSession(t, srv)
		if err := ss.Burst(2, 50); err != nil {
			t.Fatal(err)
		}
		barrier(t, c)
		c.MessageComplete()
		nextAs[appws.Message](t, c) // held: the second one and all after it wait
		srv.RefuseUpgrades(12, 503)
		ss.Drop()
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		if _, err := srv.NextSession(ctx); err != nil { // back while we held the message
			t.Fatal(err)
		}
		synctest.Wait() // the client has read its AppLoginResult
		if _, err := c.Send(context.Background(), map[string]string{"mt": "x"}); err != nil {
			t.Fatalf("Send after recovery: %v", err)
		}
		if d := nextAs[appws.Disconnected](t, c); d.Attempt != 0 || d.Dropped != 1 {
			t.Errorf("Disconnected %+v, want the loss (attempt 0) with the held-back Message dropped", d)
		}
		for attempt := 1; attempt <= 12; attempt++ {
			if d := nextAs[appws.Disconnected](t, c); d.Attempt != attempt {
				t.Fatalf("Disconnected %+v, want attempt %d", d, attempt)
			}
		}
		if cc := nextAs[appws.ConnectComplete](t, c); cc.Session != 2 || cc.Attempts != 13 {
			t.Errorf("ConnectComplete = %+v", cc)
		}
		nextAs[appws.SendResult](t, c)
	})
}
