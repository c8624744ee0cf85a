package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/appwstest"
	"github.com/appwebsocket/appws/rcc"
)

// appws calls: the RCC Monitor of package rcc, its changes printed as JSON
// lines. Without -url it runs against appwstest's RCC fake, which a script
// here makes calls come and go on.

func runCalls(ctx context.Context, args []string, std stdio) int {
	fs := newFlags("calls", "[-url URL -app NAME [flags]]",
		"Monitors the calls of a PBX's users with the RCC API and prints one JSON line\n"+
			"per change: {\"change\":\"userAdded\"|\"userChanged\"|\"userRemoved\"|\"usersComplete\"|\n"+
			"\"callAdded\"|\"callChanged\"|\"callEnded\",...}. Status goes to stderr.\n"+
			"\n"+
			"With -url it logs in to a PBX app object enabled for RCC (the password from\n"+
			"-password-file or APPWS_PASSWORD) and runs until Ctrl-C, reconnecting after a\n"+
			"lost connection. Without -url it runs an embedded fake PBX on which calls come\n"+
			"and go for a few seconds, then exits 0.")
	url := fs.String("url", "", "PBX websocket `URL`, ws:// or wss:// (default: the embedded fake)")
	l := addLoginFlags(fs)
	pbxObj := fs.String("pbxobj", "", "login pbxObj (not covered by the digest)")
	grp := fs.Bool("grp", false, "Initialize with grp: the users of the object's groups")
	caCert := fs.String("cacert", "", "trust the CA certificates in PEM `FILE` (besides the system's)")
	insecure := fs.Bool("insecure", false, "do not verify the server's certificate (DANGEROUS)")
	step := fs.Duration("step", 300*time.Millisecond, "the fake's `pause` between two call events")
	verbose := fs.Bool("v", false, "log the library's connection events to stderr")
	if code, ok := parseFlags(fs, args, 0, std); !ok {
		return code
	}
	cfg := rcc.Config{Grp: *grp}
	if *url == "" {
		if *l.app != "" {
			return usageError(fs, std, "-app needs -url")
		}
		return callsOnFake(ctx, cfg, *step, std)
	}
	if *l.app == "" {
		return usageError(fs, std, "-url needs -app")
	}
	pw, code, ok := needPassword(fs, *l.pwFile, std)
	if !ok {
		return code
	}
	opts, err := l.options(*url, pw, *pbxObj, *caCert, *insecure, std.errOut, "appws calls")
	if err != nil {
		fmt.Fprintf(std.errOut, "appws calls: %v\n", err)
		return exitFail
	}
	opts.AutoReconnect = true
	if *verbose {
		opts.Logger = slog.New(slog.NewTextHandler(std.errOut, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	fmt.Fprintf(std.errOut, "appws calls: connecting to %s (retrying for up to %v)\n", *url, dialTimeout)
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	c, err := appws.Dial(dctx, opts)
	cancel()
	if err != nil {
		fmt.Fprintf(std.errOut, "appws calls: %s\n", dialFailure(*url, err))
		var ce *appws.ConfigError
		if errors.As(err, &ce) {
			return exitUsage
		}
		return exitFail
	}
	return monitorCalls(ctx, c, cfg, nil, std)
}

// monitorCalls runs the event loop: every event to the Monitor, its
// changes to stdout. It closes the client when ctx ends or stop is closed,
// and returns when the client ended.
func monitorCalls(ctx context.Context, c *appws.Client, cfg rcc.Config, stop <-chan struct{}, std stdio) int {
	m := rcc.NewMonitor(cfg)
	// Sends wait for room in the send queue only; Close releases them.
	sendCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := ctx.Done()
	var lost error
	closing := false
	closeNow := func(why string) {
		if !closing {
			closing = true
			fmt.Fprintf(std.errOut, "appws calls: %s: closing\n", why)
			c.Close()
		}
	}
	for {
		select {
		case ev, ok := <-c.Events():
			if !ok {
				if lost != nil {
					fmt.Fprintf(std.errOut, "appws calls: connection lost: %s\n", errText(lost))
					return exitFail
				}
				return exitOK
			}
			for _, ch := range m.Handle(ev) {
				if line := changeLine(ch); line != nil {
					std.out.Write(append(line, '\n'))
				}
			}
			if m.Pending() {
				if err := m.Sync(sendCtx, c); err != nil {
					fmt.Fprintf(std.errOut, "appws calls: sending Initialize or UserInitialize: %s (sent again after the next login)\n", errText(err))
				}
			}
			switch ev := ev.(type) {
			case appws.ConnectComplete:
				fmt.Fprintf(std.errOut, "appws calls: session %d logged in; monitoring\n", ev.Session)
				c.MessageComplete()
			case appws.Message:
				c.MessageComplete()
			case appws.Disconnected:
				fmt.Fprintf(std.errOut, "appws calls: disconnected: %s; retrying in %v\n",
					errText(ev.Err), ev.RetryIn.Round(time.Millisecond))
			case appws.Closed:
				if ev.Err != nil && !closing {
					lost = ev.Err
				}
			}
		case <-stop:
			stop = nil
			closeNow("the fake's calls are over")
		case <-done:
			done = nil
			closeNow("interrupted")
		}
	}
}

// changeLine renders a change as one JSON line; nil for the changes that
// are the Monitor's own business (SyncNeeded).
func changeLine(ch rcc.Change) []byte {
	type user struct {
		Change string `json:"change"`
		CN     string `json:"user,omitempty"`
		GUID   string `json:"guid,omitempty"`
		DN     string `json:"dn,omitempty"`
		E164   string `json:"e164,omitempty"`
	}
	type call struct {
		Change    string         `json:"change"`
		CN        string         `json:"user"`
		Call      int            `json:"call"`
		Session   uint64         `json:"session"`
		Direction rcc.Direction  `json:"direction"`
		State     rcc.State      `json:"state"`
		Hold      bool           `json:"hold,omitempty"`
		Held      bool           `json:"heldByPeer,omitempty"`
		Peer      *rcc.Connector `json:"peer,omitempty"`
		Msg       string         `json:"msg,omitempty"`
		Lost      bool           `json:"lost,omitempty"`
	}
	switch ch.Kind {
	case rcc.SyncNeeded:
		return nil
	case rcc.UsersComplete:
		return mustJSON(user{Change: ch.Kind.String()})
	case rcc.CallAdded, rcc.CallChanged, rcc.CallEnded:
		c := ch.Call
		out := call{ch.Kind.String(), ch.User.CN, c.Handle, c.Session, c.Direction, c.State,
			c.Hold, c.HeldByPeer, nil, c.Msg, c.Lost}
		if c.Peer != (rcc.Connector{}) {
			out.Peer = &c.Peer
		}
		return mustJSON(out)
	}
	u := ch.User
	return mustJSON(user{ch.Kind.String(), u.CN, u.GUID, u.DN, u.E164})
}

// The fake PBX of appws calls without -url.
var fakeUsers = []appwstest.RCCUser{
	{GUID: "a1", CN: "alice", DN: "Alice", E164: "10"},
	{GUID: "b2", CN: "bob", DN: "Bob", E164: "11"},
	{GUID: "c3", CN: "carol", DN: "Carol", E164: "12"},
}

// callsOnFake monitors the embedded fake while a script makes calls come
// and go on it, one event per step.
func callsOnFake(ctx context.Context, cfg rcc.Config, step time.Duration, std stdio) int {
	pbx := appwstest.NewRCC(fakeUsers...)
	srv := appwstest.NewServer(appwstest.Config{
		Apps: map[string]string{"calls": "calls-demo"}, InMemory: true, Handler: pbx.Handler,
	})
	defer srv.Close()
	fmt.Fprintf(std.errOut, "appws calls: no -url: monitoring an embedded fake PBX (users alice, bob, carol)\n")
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	c, err := appws.Dial(dctx, srv.ClientOptions())
	cancel()
	if err != nil {
		fmt.Fprintf(std.errOut, "appws calls: %s\n", dialFailure(srv.URL, err))
		return exitFail
	}
	sctx, stopScript := context.WithCancel(ctx)
	over := make(chan struct{})
	scriptErr := make(chan error, 1)
	go func() {
		defer close(over)
		scriptErr <- fakeScript(sctx, pbx, step)
	}()
	code := monitorCalls(ctx, c, cfg, over, std)
	stopScript()
	<-over
	if err := <-scriptErr; err != nil && ctx.Err() == nil {
		fmt.Fprintf(std.errOut, "appws calls: the fake's script: %v\n", err)
		return exitFail
	}
	return code
}

// fakeScript waits until every user is monitored, then makes two calls
// come, change and go.
func fakeScript(ctx context.Context, pbx *appwstest.RCC, step time.Duration) error {
	if _, err := pbx.WaitFor(ctx, "UserInitialize", len(fakeUsers)); err != nil {
		return err
	}
	var in, out int
	steps := []func() error{
		func() (err error) {
			in, err = pbx.StartCall("alice", appwstest.RCCParty{E164: "004930123456", DN: "Dora"}, true)
			return err
		},
		func() error { return pbx.SetCall(in, int(rcc.StateAlert)) },
		func() error { return pbx.SetCall(in, int(rcc.StateConnected)) },
		func() (err error) {
			out, err = pbx.StartCall("bob", appwstest.RCCParty{CN: "carol", E164: "12", DN: "Carol"}, false)
			return err
		},
		func() error { return pbx.SetCall(out, int(rcc.StateAlert)) },
		func() error { return pbx.HoldCall(in, true) },
		func() error { return pbx.SetCall(out, int(rcc.StateConnected)) },
		func() error { return pbx.HoldCall(in, false) },
		func() error { return pbx.EndCall(out) },
		func() error { return pbx.EndCall(in) },
	}
	t := time.NewTimer(step)
	defer t.Stop()
	for _, f := range steps {
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
		if err := f(); err != nil {
			return err
		}
		t.Reset(step)
	}
	// One more step, so the last change is printed before the close.
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	return nil
}
