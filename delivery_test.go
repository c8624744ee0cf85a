package appws_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/appwstest"
)

// The delivery core's promises: nothing the consumer does or fails to do
// holds back a lifecycle event, a send, a Request or Close (API rules 3, 5,
// 7, 8). Each test here is a case that once wedged a client.

// memLoggedIn dials an in-memory server (for a synctest bubble) without
// pings, reads the first ConnectComplete and returns the client and the
// server's side of the session.
func memLoggedIn(t *testing.T, cfg appwstest.Config) (*appws.Client, *appwstest.Session) {
	t.Helper()
	srv := memServer(t, cfg)
	o := options(srv)
	o.PingInterval = -1
	c := dial(t, o)
	nextAs[appws.ConnectComplete](t, c)
	return c, nextSession(t, srv)
}

// TestLifecycleNeverWaitsForAnUnwantedMessage: a send-only consumer reads
// Events but never calls MessageComplete. The server pushes a message and
// drops: the end of the session is reported at once, the held Message is
// dropped and counted (rule 5), and the client goes on.
func TestLifecycleNeverWaitsForAnUnwantedMessage(t *testing.T) {
	t.Run("without AutoReconnect", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c, ss := memLoggedIn(t, appwstest.Config{})
			if err := ss.Send(map[string]string{"mt": "Unwanted"}); err != nil {
				t.Fatal(err)
			}
			barrier(t, c)
			ss.Drop()
			cl := nextAs[appws.Closed](t, c)
			if cl.Err == nil || cl.Dropped != 1 {
				t.Errorf("Closed = %+v, want an error and Dropped 1", cl)
			}
			if _, ok := <-c.Events(); ok {
				t.Error("the channel is open after Closed")
			}
		})
	})
	t.Run("with AutoReconnect", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			srv, o := memReconnecting(t, appwstest.Config{Handler: barrierOnly})
			o.SendQueue = 4
			c := dial(t, o)
			nextAs[appws.ConnectComplete](t, c)
			ss := nextSession(t, srv)
			if err := ss.Send(map[string]string{"mt": "Unwanted"}); err != nil {
				t.Fatal(err)
			}
			barrier(t, c)
			ss.Drop()
			d := nextAs[appws.Disconnected](t, c)
			if d.Session != 1 || d.Dropped != 1 {
				t.Errorf("Disconnected = %+v, want session 1, Dropped 1", d)
			}
			if cc := nextAs[appws.ConnectComplete](t, c); cc.Session != 2 {
				t.Errorf("ConnectComplete = %+v, want session 2", cc)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			for i := range 3 * o.SendQueue {
				if _, err := c.Send(ctx, map[string]string{"mt": "x"}); err != nil {
					t.Fatalf("send %d: %v", i, err)
				}
			}
			for range 3 * o.SendQueue {
				if r := nextAs[appws.SendResult](t, c); r.Err != nil {
					t.Errorf("SendResult %+v", r)
				}
			}
		})
	})
}

// TestSendAndRequestNeverWaitOnUnreadSendResults: an event loop sends more
// than SendQueue messages, then makes a Request, all without reading
// Events: room in the send queue is freed by writing, not by reading
// SendResults (API: Send).
func TestSendAndRequestNeverWaitOnUnreadSendResults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := memServer(t, appwstest.Config{Handler: barrierOnly})
		o := options(srv)
		o.PingInterval = -1
		o.SendQueue = 4
		c := dial(t, o)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for i := range 10 * o.SendQueue {
			if _, err := c.Send(ctx, map[string]string{"mt": "x"}); err != nil {
				t.Fatalf("send %d: %v", i, err)
			}
		}
		if _, err := c.Request(ctx, map[string]string{"mt": "Barrier"}); err != nil {
			t.Fatalf("Request after %d unread SendResults: %v", 10*o.SendQueue, err)
		}
		nextAs[appws.ConnectComplete](t, c)
		for i := range 10 * o.SendQueue {
			r := nextAs[appws.SendResult](t, c)
			if r.ID != uint64(i+1) || r.Err != nil {
				t.Fatalf("SendResult %+v, want ID %d without error", r, i+1)
			}
		}
	})
}

// TestLaggingConsumerLeavesNoSessionUnserved: a consumer that reads nothing
// while the server drops the client again and again. Every new session is
// served at once: a Request from another goroutine gets its reply, and the
// server receives what is sent.
func TestLaggingConsumerLeavesNoSessionUnserved(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, o := memReconnecting(t, appwstest.Config{Handler: barrierOnly})
		c := dial(t, o)
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		ss := nextSession(t, srv)
		for range 8 {
			ss.Drop()
			next, err := srv.NextSession(ctx)
			if err != nil {
				t.Fatal(err)
			}
			synctest.Wait() // the client has read its AppLoginResult
			ss = next
		}
		rctx, rcancel := context.WithTimeout(context.Background(), time.Minute)
		defer rcancel()
		if _, err := c.Request(rctx, map[string]string{"mt": "Barrier"}); err != nil {
			t.Fatalf("Request in session 9 with 17 unread lifecycle events: %v", err)
		}
		if _, err := c.Send(rctx, map[string]string{"mt": "Seen"}); err != nil {
			t.Fatal(err)
		}
		if _, err := ss.WaitReceived(rctx, 2); err != nil {
			t.Fatalf("the server did not receive the messages: %v", err)
		}
		// Now the consumer reads: every session in order, none lost.
		var sessions []uint64
		for len(sessions) < 9 {
			switch ev := next(t, c).(type) {
			case appws.ConnectComplete:
				sessions = append(sessions, ev.Session)
			case appws.Disconnected:
				if ev.Session != uint64(len(sessions)) {
					t.Fatalf("Disconnected(%d) after ConnectComplete(%d)", ev.Session, len(sessions))
				}
			}
		}
		for i, s := range sessions {
			if s != uint64(i+1) {
				t.Fatalf("sessions %v", sessions)
			}
		}
	})
}

// TestCloseWithoutDrainingEndsEveryGoroutine: `defer c.Close()` with nobody
// reading Events (the appwstest package doc's own pattern). Close returns
// with every goroutine of the client ended; a later reader still gets every
// event, then Closed, then the closed channel (rule 7).
func TestCloseWithoutDrainingEndsEveryGoroutine(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	srv := appwstest.NewServer(appwstest.Config{Apps: map[string]string{testApp: testPass}})
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, err := appws.Dial(ctx, options(srv))
	if err != nil {
		t.Fatal(err)
	}
	const sends = 200 // more than fit in the channel's buffer, fewer than SendQueue
	for i := range sends {
		if _, err := c.Send(ctx, map[string]string{"mt": "x"}); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	barrier(t, c)
	closed := make(chan struct{})
	go func() { c.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(wait):
		t.Fatal("Close waited for the consumer")
	}
	srv.Close()
	if err := goleak.Find(ignore); err != nil {
		t.Fatalf("goroutines left after Close: %v", err)
	}
	results, unreported := 0, 0
	var last appws.Event
	for ev := range c.Events() {
		switch ev := ev.(type) {
		case appws.SendResult:
			results++
			if ev.Err != nil {
				t.Errorf("SendResult %+v", ev)
			}
		case appws.Closed:
			unreported = ev.Undelivered
			if ev.Err != nil {
				t.Errorf("Closed.Err = %v after Close", ev.Err)
			}
		}
		last = ev
	}
	if _, ok := last.(appws.Closed); !ok {
		t.Fatalf("last event %T, want Closed", last)
	}
	if results+unreported != sends {
		t.Errorf("%d SendResults delivered + %d unreported, want %d in all", results, unreported, sends)
	}
}

// TestReadAheadIsBoundedInBytes: big messages held while a Request waits
// fill at most ReadAheadBytes+RequestReadAheadBytes (and one message), not
// ReadAhead+RequestReadAhead messages (rule 8).
func TestReadAheadIsBoundedInBytes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, ss := memLoggedIn(t, appwstest.Config{Handler: barrierOnly})

		var wg sync.WaitGroup
		defer wg.Wait()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		wg.Add(1)
		reqErr := make(chan error, 1)
		go func() {
			// Its reply cannot come behind a full read-ahead from which
			// nobody takes: it fails after StallWarning (ErrReplyBlocked).
			_, err := c.Request(ctx, map[string]string{"mt": "NoAnswer"})
			reqErr <- err
		}()
		synctest.Wait() // the Request is pending: the window is wide
		before := heapInUse()
		go func() {
			defer wg.Done()
			big := `{"mt":"Big","pad":"` + strings.Repeat("x", 256<<10) + `"}`
			for range 300 { // 75 MiB if the count were the only bound
				if ss.SendText(big) != nil {
					return
				}
			}
		}()
		synctest.Wait() // the client stopped reading
		runtime.GC()
		grown := heapInUse() - before
		// The bound: 2 MiB of read-ahead and one message, plus the
		// message the server is writing (in the same process) and slack.
		if grown > 16<<20 {
			t.Errorf("heap grew by %d MiB while messages were held", grown>>20)
		}
		// Nobody takes a Message: the Request ends on its own, at
		// StallWarning (fake time), not by the ctx this test cancels last.
		if err := <-reqErr; !errors.Is(err, appws.ErrReplyBlocked) {
			t.Errorf("Request = %v, want ErrReplyBlocked", err)
		}
		cancel()
		c.Close()
	})
}
