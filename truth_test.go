package appws_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/appwstest"
)

// What the client reports is what happened: these tests pin down the
// reports of core v3 (each failed on the core before it).

var errBroken = errors.New("test: connection broken")

// gatedConn wraps the client's connection. Once armed, every Write waits
// until release is closed, and in all the connection accepts budget more
// bytes: a write beyond them passes on what fits and fails, as a socket
// whose peer vanished does after taking part of a buffer.
type gatedConn struct {
	net.Conn
	entered chan struct{} // cap 1: a Write is waiting for release
	release chan struct{}

	mu     sync.Mutex
	armed  bool
	budget int
}

func (g *gatedConn) arm(budget int) {
	g.mu.Lock()
	g.armed, g.budget = true, budget
	g.mu.Unlock()
}

func (g *gatedConn) Write(p []byte) (int, error) {
	g.mu.Lock()
	armed := g.armed
	g.mu.Unlock()
	if !armed {
		return g.Conn.Write(p)
	}
	select {
	case g.entered <- struct{}{}:
	default:
	}
	<-g.release
	g.mu.Lock()
	n := min(len(p), g.budget)
	g.budget -= n
	g.mu.Unlock()
	if n > 0 {
		if _, err := g.Conn.Write(p[:n]); err != nil {
			return 0, err
		}
	}
	if n < len(p) {
		return n, errBroken
	}
	return n, nil
}

// TestWrittenMessagesAreNotReportedUnsent: the writer sends a batch in
// several writes; when a later write fails, the messages whose bytes the
// socket took whole are reported written (the server has them), and only
// the others ErrSessionEnded.
func TestWrittenMessagesAreNotReportedUnsent(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{Handler: appwstest.Silent})
	g := &gatedConn{entered: make(chan struct{}, 1), release: make(chan struct{})}
	o := options(srv)
	o.PingInterval, o.KeepAliveInterval = -1, -1
	o.NetDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := srv.DialContext(ctx, network, addr)
		g.Conn = conn
		return g, err
	}
	c := dial(t, o)
	nextAs[appws.ConnectComplete](t, c)
	ss := nextSession(t, srv)

	transfer := func(n, size int) []byte {
		head := fmt.Sprintf(`{"mt":"Transfer","amount":"100","n":%d,"pad":"`, n)
		return []byte(head + strings.Repeat("x", size-len(head)-2) + `"}`)
	}
	// m0 (a 26-byte frame) goes out alone and its write waits at the gate;
	// m1..m3 queue behind it and go out as one batch: the first 64 KiB
	// write carries m1 whole (60,008 bytes framed) and the start of m2, the
	// next write fails.
	g.arm(26 + 64<<10)
	ids := make([]uint64, 4)
	var err error
	if ids[0], err = c.Send(context.Background(), []byte(`{"mt":"Transfer","n":0}`)); err != nil {
		t.Fatal(err)
	}
	<-g.entered
	for i := 1; i <= 3; i++ {
		if ids[i], err = c.Send(context.Background(), transfer(i, 60000)); err != nil {
			t.Fatal(err)
		}
	}
	close(g.release)

	results := map[uint64]error{}
	for len(results) < 4 {
		switch ev := next(t, c).(type) {
		case appws.SendResult:
			results[ev.ID] = ev.Err
		case appws.Closed:
			t.Fatalf("Closed before every SendResult: %v", ev.Err)
		}
	}
	for i, want := range []bool{true, true, false, false} {
		err := results[ids[i]]
		if written := err == nil; written != want {
			t.Errorf("message %d: SendResult %v, want written=%v", i, err, want)
		}
		if err != nil && !errors.Is(err, appws.ErrSessionEnded) {
			t.Errorf("message %d: %v, want ErrSessionEnded", i, err)
		}
	}
	<-ss.Done()
	got := map[string]bool{}
	for _, m := range ss.Received() {
		var v struct{ N int }
		_ = m.Decode(&v)
		got[fmt.Sprint(v.N)] = true
	}
	for i := range 4 {
		if has, reported := got[fmt.Sprint(i)], results[ids[i]] == nil; has != reported {
			t.Errorf("message %d: the server has it: %v; reported written: %v", i, has, reported)
		}
	}
}

// TestWrittenRequestIsNotReportedUnsent: the same for a Request: once its
// bytes were taken whole, a failure of a later write means ErrNoReply (the
// server may have acted), never ErrSessionEnded ("safe to retry").
func TestWrittenRequestIsNotReportedUnsent(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{Handler: appwstest.Silent})
	g := &gatedConn{entered: make(chan struct{}, 1), release: make(chan struct{})}
	o := options(srv)
	o.PingInterval, o.KeepAliveInterval = -1, -1
	o.NetDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := srv.DialContext(ctx, network, addr)
		g.Conn = conn
		return g, err
	}
	c := dial(t, o)
	nextAs[appws.ConnectComplete](t, c)

	g.arm(26 + 64<<10)
	if _, err := c.Send(context.Background(), []byte(`{"mt":"Transfer","n":0}`)); err != nil {
		t.Fatal(err)
	}
	<-g.entered
	reqErr := make(chan error, 1)
	go func() {
		_, err := c.Request(context.Background(), map[string]string{"mt": "Transfer", "amount": "100", "pad": strings.Repeat("x", 60000)})
		reqErr <- err
	}()
	// The Request must be queued before the gate opens, behind which a big
	// Send fails the batch's second write.
	waitFor(t, func() bool { return c.Stats().SendsAccepted == 2 })
	if _, err := c.Send(context.Background(), []byte(`{"mt":"Big","pad":"`+strings.Repeat("y", 60000)+`"}`)); err != nil {
		t.Fatal(err)
	}
	close(g.release)
	err := <-reqErr
	if !errors.Is(err, appws.ErrNoReply) || errors.Is(err, appws.ErrSessionEnded) {
		t.Fatalf("Request: %v; want ErrNoReply, not ErrSessionEnded", err)
	}
}

// waitFor polls cond on the goroutine's own schedule; only for conditions
// that a concurrent step reaches without waiting on anything else.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// TestSendResultIDsOnlyIncreaseWhenCloseRacesTheReader: a consumer reads
// while Close runs with many SendResults waiting; the ids it sees only
// increase (Close never takes back what the channel holds), and Closed
// accounts for every id it did not see.
func TestSendResultIDsOnlyIncreaseWhenCloseRacesTheReader(t *testing.T) {
	t.Parallel()
	for iter := range 300 {
		synctest.Test(t, func(t *testing.T) {
			srv := memServer(t, appwstest.Config{Handler: appwstest.Silent})
			o := options(srv)
			o.PingInterval, o.KeepAliveInterval = -1, -1
			o.SendQueue = 4096
			ctx := context.Background()
			c, err := appws.Dial(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			const n = 600
			for i := range n {
				if _, err := c.Send(ctx, []byte(`{"mt":"X"}`)); err != nil {
					t.Fatalf("send %d: %v", i, err)
				}
			}
			synctest.Wait() // written: 600 SendResults wait, 128 of them in the channel
			seen := make(chan []uint64)
			go func() {
				var ids []uint64
				for ev := range c.Events() {
					switch ev := ev.(type) {
					case appws.SendResult:
						ids = append(ids, ev.ID)
					case appws.Closed:
						for _, r := range ev.Results {
							for id := r.First; id <= r.Last; id++ {
								ids = append(ids, id)
							}
						}
					}
				}
				seen <- ids
			}()
			c.Close()
			ids := <-seen
			if iter == 0 && len(ids) < n {
				t.Logf("%d of %d SendResults delivered before Closed", len(ids), n)
			}
			for i := 1; i < len(ids); i++ {
				if ids[i] <= ids[i-1] {
					t.Fatalf("iteration %d: SendResult %d after %d", iter, ids[i], ids[i-1])
				}
			}
			if len(ids) != n {
				t.Fatalf("iteration %d: %d ids accounted for, want %d", iter, len(ids), n)
			}
			srv.Close()
		})
	}
}

// TestServerTextIsBoundedInEventsAndLogs: a server's 3 MiB domain does not
// become a 3 MiB ConnectComplete.Domain or log line, nor does a message
// with a 1 MiB mt and src at Debug level.
func TestServerTextIsBoundedInEventsAndLogs(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("d", 3<<20)
	srv := newServer(t, appwstest.Config{Domain: huge, Handler: appwstest.Silent, ReadLimit: 8 << 20})
	var logs safeLog
	o := options(srv)
	o.ReadLimit = 8 << 20
	o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := dial(t, o)
	cc := nextAs[appws.ConnectComplete](t, c)
	if len(cc.Domain) > 300 {
		t.Errorf("ConnectComplete.Domain has %d bytes", len(cc.Domain))
	}
	ss := nextSession(t, srv)
	big := strings.Repeat("m", 1<<20)
	if err := ss.Send(map[string]string{"mt": big, "src": big}); err != nil {
		t.Fatal(err)
	}
	c.Handled(cc)
	if m := nextAs[appws.Message](t, c); len(m.MT) != len(big) {
		t.Fatalf("the Message itself must keep its mt whole: %d bytes", len(m.MT))
	}
	c.Close()
	for _, line := range logs.lines() {
		if len(line) > 2048 {
			t.Errorf("log line of %d bytes: %.120s...", len(line), line)
		}
	}
}

// safeLog collects log output from any goroutine.
type safeLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *safeLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *safeLog) lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Split(strings.TrimSpace(l.buf.String()), "\n")
}

// TestUnreadEventsStayBoundedAcrossSessions: a consumer that stopped
// reading, a server that drops every session after a few sends went out,
// and a sender that goes on: what waits for the consumer does not grow with
// the sessions (rule 8). Each session leaves a run of written and a run of
// failed sends, which cannot join: beyond maxRuns (1024) of them Send
// refuses with ErrBacklog, and lifecycle events stay below maxLife (64).
func TestUnreadEventsStayBoundedAcrossSessions(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv, o := memReconnecting(t, appwstest.Config{Handler: appwstest.Silent})
		o.MinBackoff, o.MaxBackoff = time.Millisecond, time.Millisecond
		o.KeepAliveInterval = -1
		ctx := context.Background()
		c, err := appws.Dial(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		var peak uint64
		backlogErrs := 0
		send := func(msg string) {
			if _, err := c.Send(ctx, []byte(msg)); errors.Is(err, appws.ErrBacklog) {
				backlogErrs++
			}
		}
		for range 700 {
			ss, err := srv.NextSession(ctx)
			if err != nil {
				t.Fatal(err)
			}
			synctest.Wait() // the client has read its AppLoginResult
			for range 3 {
				send(`{"mt":"X"}`)
			}
			synctest.Wait()
			ss.Stall() // what is sent now is not written...
			for range 3 {
				send(`{"mt":"Y","pad":"` + strings.Repeat("z", 60000) + `"}`)
			}
			ss.Drop() // ...and fails with the session
			synctest.Wait()
			peak = max(peak, c.Stats().Backlog)
		}
		if peak > 1024+64+8 {
			t.Errorf("%d entries wait for the consumer after 700 sessions", peak)
		}
		if backlogErrs == 0 {
			t.Errorf("Send never refused with ErrBacklog (peak %d, stats %+v)", peak, c.Stats())
		}
		c.Close()
		srv.Close()
	})
}

// TestRequestNeverWaitsForEverBehindUnwantedMessages: the reply to a
// Request sits behind more Messages than the read-ahead holds, and nobody
// calls MessageComplete: the Request fails with ErrReplyBlocked instead
// of waiting for its ctx (here: for ever).
func TestRequestNeverWaitsForEverBehindUnwantedMessages(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		c, _ := memLoggedIn(t, appwstest.Config{Handler: func(ss *appwstest.Session, m appws.Message) {
			if m.MT == "Req" {
				// From a goroutine of its own, so that the session keeps
				// reading while the client pushes back.
				go func() {
					for i := range 400 { // beyond ReadAhead + RequestReadAhead (16 + 256)
						if ss.Send(map[string]any{"mt": "Flood", "i": i}) != nil {
							return
						}
					}
					_ = ss.Send(map[string]string{"mt": "ReqResult", "src": m.Src})
				}()
			}
		}})
		ctx, cancel := context.WithTimeout(context.Background(), 24*time.Hour)
		defer cancel()
		start := time.Now()
		_, err := c.Request(ctx, map[string]string{"mt": "Req"})
		if !errors.Is(err, appws.ErrReplyBlocked) {
			t.Fatalf("Request after %v: %v, want ErrReplyBlocked", time.Since(start), err)
		}
		// It waited one StallWarning for the consumer, not more.
		if d := time.Since(start); d < appws.DefaultStallWarning || d > 2*appws.DefaultStallWarning {
			t.Errorf("ErrReplyBlocked after %v, want after StallWarning (%v)", d, appws.DefaultStallWarning)
		}
		if !strings.HasPrefix(err.Error(), "appws: ") {
			t.Errorf("error %q", err)
		}
	})
}

// TestRequestWaitsWhileTheConsumerTakesMessages: the reply to a Request
// made on a worker goroutine is behind 800 Messages, 500 more than the
// read-ahead holds, and the event loop takes one every 100 ms, slower than
// the server sends them. The Request waits while the loop takes them (50 s,
// longer than StallWarning) and gets its reply: the consumer is slow, not
// stalled.
func TestRequestWaitsWhileTheConsumerTakesMessages(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		const flood = 800 // 500 beyond ReadAhead + RequestReadAhead (16 + 256)
		c, _ := memLoggedIn(t, appwstest.Config{Handler: func(ss *appwstest.Session, m appws.Message) {
			if m.MT == "Req" {
				go func() {
					for i := range flood {
						if ss.Send(map[string]any{"mt": "Flood", "i": i}) != nil {
							return
						}
					}
					_ = ss.Send(map[string]string{"mt": "ReqResult", "src": m.Src})
				}()
			}
		}})
		tookAll := make(chan struct{})
		loopDone := make(chan struct{})
		go func() {
			defer close(loopDone)
			n := 0
			c.MessageComplete() // for the ConnectComplete memLoggedIn took
			for ev := range c.Events() {
				if m, ok := ev.(appws.Message); ok && m.MT == "Flood" {
					time.Sleep(100 * time.Millisecond)
					if n++; n == flood {
						close(tookAll)
					}
				}
				c.Handled(ev)
			}
		}()
		start := time.Now()
		reply, err := c.Request(context.Background(), map[string]string{"mt": "Req"})
		if err != nil || reply.MT != "ReqResult" {
			t.Fatalf("Request after %v: %+v, %v; want the ReqResult", time.Since(start), reply, err)
		}
		if d := time.Since(start); d <= appws.DefaultStallWarning {
			t.Errorf("the reply came after %v; the test wants a wait beyond StallWarning", d)
		}
		<-tookAll // every Flood Message reaches the loop, the reply did not
		c.Close()
		<-loopDone
	})
}

// TestForgottenMessageCompleteIsReported: Messages that wait for
// permission longer than StallWarning show up in a Warn line and in
// Stats.Stalls, once per stall; Handled after the ConnectComplete ends it.
func TestForgottenMessageCompleteIsReported(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var logs safeLog
		srv := memServer(t, appwstest.Config{Handler: appwstest.Silent})
		o := options(srv)
		o.PingInterval, o.KeepAliveInterval = -1, -1
		o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		c := dial(t, o)
		cc := nextAs[appws.ConnectComplete](t, c)
		ss := nextSession(t, srv)
		if err := ss.Send(map[string]string{"mt": "Hello"}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(appws.DefaultStallWarning - time.Second)
		synctest.Wait()
		if n := c.Stats().Stalls; n != 0 {
			t.Fatalf("Stalls = %d before StallWarning", n)
		}
		time.Sleep(appws.DefaultStallWarning + time.Second)
		synctest.Wait()
		if n := c.Stats().Stalls; n != 1 {
			t.Fatalf("Stalls = %d after 2×StallWarning, want 1", n)
		}
		time.Sleep(5 * appws.DefaultStallWarning)
		synctest.Wait()
		if n := c.Stats().Stalls; n != 1 {
			t.Fatalf("Stalls = %d: one stall is reported once", n)
		}
		if !strings.Contains(strings.Join(logs.lines(), "\n"), "level=WARN msg=\"appws: Messages wait for MessageComplete") {
			t.Errorf("no Warn line: %q", logs.lines())
		}
		c.Handled(cc)
		if m := nextAs[appws.Message](t, c); m.MT != "Hello" {
			t.Fatalf("got %q", m.MT)
		}
	})
}

// TestHandledIsRightAfterEveryEvent: Handled grants the next Message after
// a ConnectComplete and a Message, and does nothing after the rest or for
// an event of an older session.
func TestHandledIsRightAfterEveryEvent(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		c, ss := memLoggedIn(t, appwstest.Config{Handler: appwstest.Silent})
		for i := range 3 {
			if err := ss.Send(map[string]any{"mt": "M", "i": i}); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait()
		c.Handled(appws.ConnectComplete{Session: c.Session()})
		m := nextAs[appws.Message](t, c)
		c.Handled(appws.SendResult{ID: 1})
		c.Handled(appws.Message{Session: m.Session + 7}) // not this session's
		synctest.Wait()
		select {
		case ev := <-c.Events():
			t.Fatalf("%T delivered without permission", ev)
		default:
		}
		c.Handled(m)
		nextAs[appws.Message](t, c)
	})
}

// TestEveryConnectFailureNamesItsStep: whatever fails at connect comes
// back as a *ConnectError naming its step, starting with "appws: ", with
// the net or ctx error still found by errors.Is and errors.As.
func TestEveryConnectFailureNamesItsStep(t *testing.T) {
	t.Parallel()
	check := func(t *testing.T, err error, step string) {
		t.Helper()
		var ce *appws.ConnectError
		if !errors.As(err, &ce) {
			t.Fatalf("%v (%T): not a *ConnectError", err, err)
		}
		if ce.Step != step {
			t.Errorf("Step %q, want %q (%v)", ce.Step, step, err)
		}
		if !strings.HasPrefix(err.Error(), "appws: "+step) {
			t.Errorf("error %q does not start with %q", err, "appws: "+step)
		}
	}
	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		_, err = appws.Dial(context.Background(), appws.Options{URL: "ws://" + addr + "/x", App: "a", Password: "p", NoProxy: true})
		check(t, err, "dial")
		var op *net.OpError
		if !errors.As(err, &op) {
			t.Errorf("%v: no *net.OpError", err)
		}
	})
	t.Run("dns", func(t *testing.T) {
		t.Parallel()
		dnsFail := func(ctx context.Context, network, addr string) (net.Conn, error) {
			return nil, &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{Err: "no such host", Name: "pbx.invalid", IsNotFound: true}}
		}
		_, err := appws.Dial(context.Background(), appws.Options{URL: "ws://pbx.invalid/x", App: "a", Password: "p", NoProxy: true, NetDialContext: dnsFail})
		check(t, err, "dial")
		var de *net.DNSError
		if !errors.As(err, &de) || !de.IsNotFound {
			t.Errorf("%v: no *net.DNSError", err)
		}
	})
	t.Run("tls", func(t *testing.T) {
		t.Parallel()
		srv := appwstest.NewTLSServer(appwstest.Config{Apps: map[string]string{testApp: testPass}})
		defer srv.Close()
		o := options(srv)
		o.NetDialContext = nil
		_, err := appws.Dial(context.Background(), o)
		check(t, err, "tls")
		var cv *tls.CertificateVerificationError
		if !errors.As(err, &cv) {
			t.Errorf("%v: no *tls.CertificateVerificationError", err)
		}
	})
	t.Run("upgrade refused", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t, appwstest.Config{})
		srv.RefuseUpgrades(1, 401)
		_, err := appws.Dial(context.Background(), options(srv))
		check(t, err, "upgrade")
		var he *appws.HandshakeError
		if !errors.As(err, &he) || he.StatusCode != 401 {
			t.Errorf("%v: no *HandshakeError 401", err)
		}
	})
	t.Run("upgrade timeout", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			var peers []net.Conn
			defer func() {
				for _, p := range peers {
					p.Close()
				}
			}()
			mute := func(context.Context, string, string) (net.Conn, error) {
				a, b := net.Pipe() // nobody reads b: the upgrade request never goes out
				peers = append(peers, b)
				return a, nil
			}
			o := appws.Options{URL: "ws://pbx.example/x", App: "a", Password: "p", NoProxy: true, NetDialContext: mute, HandshakeTimeout: time.Second}
			_, err := appws.Dial(context.Background(), o)
			check(t, err, "upgrade")
			if !errors.Is(err, appws.ErrHandshakeTimeout) || errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("%v: not ErrHandshakeTimeout, or taken for the caller's deadline", err)
			}
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				t.Errorf("%v: not a timeout", err)
			}
		})
	})
	t.Run("login rejected", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t, appwstest.Config{})
		o := options(srv)
		o.Password = "wrong"
		_, err := appws.Dial(context.Background(), o)
		check(t, err, "login")
		var le *appws.LoginError
		if !errors.As(err, &le) {
			t.Errorf("%v: no *LoginError", err)
		}
	})
	t.Run("dial ctx ends during login", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			srv := memServer(t, appwstest.Config{})
			srv.SetLoginDelay(time.Minute)
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			_, err := appws.Dial(ctx, options(srv))
			check(t, err, "login")
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("%v: not the ctx's deadline", err)
			}
			srv.Close()
		})
	})
	t.Run("login timeout", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			srv := memServer(t, appwstest.Config{})
			srv.SetLoginDelay(time.Minute)
			o := options(srv)
			o.LoginTimeout = time.Second
			_, err := appws.Dial(context.Background(), o)
			check(t, err, "login")
			if !errors.Is(err, appws.ErrLoginTimeout) {
				t.Errorf("%v: not ErrLoginTimeout", err)
			}
			srv.Close()
		})
	})
}

// TestAttemptsAreCountedOneWay: the attempt a log line names, the
// Disconnected that reports its failure and the ConnectComplete that ends
// the series count alike, and Stats counts the failed attempts.
func TestAttemptsAreCountedOneWay(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var logs safeLog
		srv, o := memReconnecting(t, appwstest.Config{})
		o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		c := dial(t, o)
		nextAs[appws.ConnectComplete](t, c)
		srv.RefuseLogins(2)
		srv.DropAll()
		for want := range 3 {
			d := nextAs[appws.Disconnected](t, c)
			if d.Attempt != want {
				t.Errorf("Disconnected.Attempt %d, want %d (%v)", d.Attempt, want, d.Err)
			}
		}
		if cc := nextAs[appws.ConnectComplete](t, c); cc.Attempts != 3 {
			t.Errorf("ConnectComplete.Attempts %d, want 3", cc.Attempts)
		}
		if n := c.Stats().ConnectFailures; n != 2 {
			t.Errorf("Stats.ConnectFailures %d, want 2", n)
		}
		all := strings.Join(logs.lines(), "\n")
		for _, want := range []string{"attempt=1", "attempt=2"} {
			if !strings.Contains(all, want) {
				t.Errorf("no log line with %s:\n%s", want, all)
			}
		}
		if strings.Contains(all, "attempt=3") {
			t.Errorf("a log line names attempt 3, which succeeded:\n%s", all)
		}
	})
}
