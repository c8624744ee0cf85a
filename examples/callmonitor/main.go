// Command callmonitor is a complete service built on appws: it monitors the
// calls of a PBX's users over the RCC API and prints one JSON line per
// change, riding out drops of the connection, until SIGINT or SIGTERM.
//
//	go run ./examples/callmonitor                       # against an embedded fake PBX
//	APPWS_PASSWORD=... go run ./examples/callmonitor -url wss://pbx.example.com/PBX0/APPS/websocket -app callmon
//
// Without -url it starts a fake PBX in memory (package rcc/rcctest) on which
// calls come and go, and drops the connection once, so that a reconnect can
// be seen. It shows the parts a production service needs: a deadline on
// Dial, AutoReconnect, a Logger, one select loop over the client's events,
// a ticker and the shutdown signal, Handled after every event, and a clean
// Close.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/appwstest"
	"github.com/appwebsocket/appws/rcc"
	"github.com/appwebsocket/appws/rcc/rcctest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "callmonitor:", err)
		os.Exit(1)
	}
}

// run is the service: it returns when ctx ends (nil) or the client ends by
// itself (its error).
func run(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs := flag.NewFlagSet("callmonitor", flag.ContinueOnError)
	fs.SetOutput(errOut)
	url := fs.String("url", "", "PBX app object URL, ws:// or wss:// (default: an embedded fake PBX)")
	app := fs.String("app", "", "app object name (required with -url); the password comes from APPWS_PASSWORD")
	callsMode := fs.Bool("calls-mode", false, "monitor every call of the PBX (RCC calls mode, App objects)")
	runFor := fs.Duration("for", 0, "stop after this long (0: until SIGINT or SIGTERM)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *runFor > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *runFor)
		defer cancel()
	}
	logger := slog.New(slog.NewTextHandler(errOut, nil))

	opts := appws.Options{URL: *url, App: *app, Password: os.Getenv("APPWS_PASSWORD"), AutoReconnect: true, Logger: logger}
	var fake *fakePBX
	if *url == "" {
		fake = startFake()
		defer fake.close()
		opts = fake.options(logger)
	} else if *app == "" {
		return errors.New("-app is required with -url")
	}

	dialCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, err := appws.Dial(dialCtx, opts)
	if err != nil {
		return err // a *appws.ConnectError naming its step
	}
	defer c.Close()

	m := rcc.New(rcc.Config{Calls: *callsMode})
	enc := json.NewEncoder(out)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	done := ctx.Done()
	for {
		select {
		case <-done:
			c.Close() // Closed follows; the loop ends when the channel closes
			done = nil
		case <-tick.C:
			if fake != nil {
				fake.step() // the fake PBX: calls come and go
			}
		case ev, ok := <-c.Events():
			if !ok {
				return nil
			}
			for _, ch := range m.Handle(ev) {
				if err := enc.Encode(ch); err != nil {
					return err
				}
			}
			if err := m.Sync(ctx, c); err != nil && !errors.Is(err, context.Canceled) {
				logger.Warn("callmonitor: sync", "err", err) // sent again by the next Sync
			}
			if cl, ok := ev.(appws.Closed); ok && cl.Err != nil {
				return cl.Err
			}
			c.Handled(ev)
		}
	}
}

// fakePBX is the embedded PBX of a run without -url.
type fakePBX struct {
	pbx   *rcctest.Fake
	srv   *appwstest.Server
	steps int
	call  int
}

func startFake() *fakePBX {
	pbx := rcctest.New(
		rcctest.User{GUID: "a1", CN: "alice", DN: "Alice", E164: "10"},
		rcctest.User{GUID: "b2", CN: "bob", DN: "Bob", E164: "11"},
	)
	srv := appwstest.NewServer(appwstest.Config{Apps: map[string]string{"callmon": "demo"}, Handler: pbx.Handler, InMemory: true})
	return &fakePBX{pbx: pbx, srv: srv}
}

func (f *fakePBX) options(logger *slog.Logger) appws.Options {
	o := f.srv.ClientOptions()
	o.AutoReconnect = true
	o.Logger = logger
	o.MinBackoff, o.MaxBackoff = 100*time.Millisecond, 500*time.Millisecond // the defaults are 1 s to 60 s
	return o
}

// step moves the fake PBX on: a call to alice rings, is answered and ends;
// once, the connection drops.
func (f *fakePBX) step() {
	f.steps++
	switch f.steps % 8 {
	case 1:
		f.call, _ = f.pbx.StartCall("alice", rcctest.Party{E164: "200", DN: "Carol"}, true)
	case 3:
		_ = f.pbx.SetCall(f.call, rcc.StateConnected)
	case 5:
		_ = f.pbx.EndCall(f.call)
	}
	if f.steps == 7 {
		f.srv.DropAll()
	}
}

func (f *fakePBX) close() { f.srv.Close() }
