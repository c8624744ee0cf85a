package main

import (
	"context"
	"fmt"
	"time"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/appwstest"
	"github.com/appwebsocket/appws/rcc"
	"github.com/appwebsocket/appws/rcc/rcctest"
)

// appws calls: the RCC Monitor of package rcc, each change printed as its
// JSON. Without -url it runs against the fake PBX of package rcctest,
// which a script here makes calls come and go on.

func runCalls(ctx context.Context, args []string, std stdio) int {
	fs := newFlags("calls", "[-url URL -app NAME [flags]]",
		"Monitors the calls of a PBX's users with the RCC API and prints every change\n"+
			"of package rcc as one JSON line: {\"kind\":\"userAdded\"|\"userChanged\"|\"userRemoved\"|\n"+
			"\"userWatched\"|\"callAdded\"|\"callChanged\"|\"callEnded\"|\"synced\"|\"invalid\",\n"+
			"\"session\":N,\"user\":{...},\"call\":{...},...}. Status goes to stderr.\n"+
			"\n"+
			"-calls-mode follows every call of the PBX (Initialize with calls:true, App\n"+
			"objects only) instead of one UserInitialize per user.\n"+
			"\n"+
			"With -url it logs in to a PBX app object enabled for RCC (the password from\n"+
			"-password-file or APPWS_PASSWORD) and runs until Ctrl-C, reconnecting after a\n"+
			"lost connection. Without -url it runs an embedded fake PBX on which calls come\n"+
			"and go for a few seconds, then exits 0.")
	pf := addPBXFlags(fs)
	grp := fs.Bool("grp", false, "Initialize with grp: the users of the object's groups")
	callsMode := fs.Bool("calls-mode", false, "Initialize with calls: every call of the PBX (CallAdd/CallUpdate/CallDel), no UserInitialize")
	step := fs.Duration("step", 300*time.Millisecond, "the fake's `pause` between two call events")
	if code, ok := parseFlags(fs, args, 0, std); !ok {
		return code
	}
	if code, ok := pf.check(fs, std); !ok {
		return code
	}
	cfg := rcc.Config{Grp: *grp, Calls: *callsMode}
	if pf.fake() {
		return callsOnFake(ctx, cfg, *step, std)
	}
	opts, code, ok := pf.options(fs, std)
	if !ok {
		return code
	}
	opts.AutoReconnect = true
	c, code, ok := pf.dial(ctx, opts, "appws calls", std)
	if !ok {
		return code
	}
	return monitorCalls(ctx, c, cfg, nil, std)
}

// monitorCalls runs the event loop: every event to the Monitor, its
// changes to stdout. It closes the client when ctx ends or stop is closed,
// and returns when the client ended.
func monitorCalls(ctx context.Context, c *appws.Client, cfg rcc.Config, stop <-chan struct{}, std stdio) int {
	m := rcc.New(cfg)
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
				std.out.Write(append(mustJSON(ch), '\n'))
			}
			if err := m.Sync(sendCtx, c); err != nil {
				fmt.Fprintf(std.errOut, "appws calls: %s (sent again by the next Sync)\n", errText(err))
			}
			switch ev := ev.(type) {
			case appws.ConnectComplete:
				fmt.Fprintf(std.errOut, "appws calls: session %d logged in; monitoring\n", ev.Session)
			case appws.Disconnected:
				fmt.Fprintf(std.errOut, "appws calls: disconnected: %s; retrying in %v\n",
					errText(ev.Err), ev.RetryIn.Round(time.Millisecond))
			case appws.Closed:
				if ev.Err != nil && !closing {
					lost = ev.Err
				}
			}
			c.Handled(ev)
		case <-stop:
			stop = nil
			closeNow("the fake's calls are over")
		case <-done:
			done = nil
			closeNow("interrupted")
		}
	}
}

// The fake PBX of appws calls without -url.
var fakeUsers = []rcctest.User{
	{GUID: "a1", CN: "alice", DN: "Alice", E164: "10"},
	{GUID: "b2", CN: "bob", DN: "Bob", E164: "11"},
	{GUID: "c3", CN: "carol", DN: "Carol", E164: "12"},
}

// callsOnFake monitors the embedded fake while a script makes calls come
// and go on it, one event per step.
func callsOnFake(ctx context.Context, cfg rcc.Config, step time.Duration, std stdio) int {
	pbx := rcctest.New(fakeUsers...)
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
		scriptErr <- fakeScript(sctx, pbx, cfg.Calls, step)
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

// fakeScript waits until every user is monitored (or, in calls mode, the
// PBX's calls), then makes two calls come, change and go.
func fakeScript(ctx context.Context, pbx *rcctest.Fake, callsMode bool, step time.Duration) error {
	mt, n := "UserInitialize", len(fakeUsers)
	if callsMode {
		mt, n = "Initialize", 1
	}
	if _, err := pbx.WaitFor(ctx, mt, n); err != nil {
		return err
	}
	var in, out int
	steps := []func() error{
		func() (err error) {
			in, err = pbx.StartCall("alice", rcctest.Party{E164: "004930123456", DN: "Dora"}, true)
			return err
		},
		func() error { return pbx.SetCall(in, rcc.StateAlert) },
		func() error { return pbx.SetCall(in, rcc.StateConnected) },
		func() (err error) {
			out, err = pbx.StartCall("bob", rcctest.Party{CN: "carol", E164: "12", DN: "Carol"}, false)
			return err
		},
		func() error { return pbx.SetCall(out, rcc.StateAlert) },
		func() error { return pbx.HoldCall(in, true) },
		func() error { return pbx.SetCall(out, rcc.StateConnected) },
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
