package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/appwstest"
)

// The demo shows one whole session in memory: the in-process test server
// plays an app service that echoes requests and pushes a notification after
// a "Subscribe"; the library logs in to it, sends, receives, uses the session
// key and closes.

// The demo's inputs are fixed, and so is its output: the same challenge
// and password give the same session key and ciphertext every run, and the
// server runs in memory, so its URL has no port that changes.
const (
	demoApp       = "demo"
	demoPassword  = "demo-password"
	demoChallenge = "4711471147114711"
	demoDomain    = "example.com"
	demoSeed      = "demo-seed"
	demoText      = "Hello, AppWebsocket!"
)

func runDemo(ctx context.Context, args []string, std stdio) int {
	fs := newFlags("demo", "", "Runs a test server in memory, logs in to it with the appws library and\n"+
		"prints the session as it happens: login, a request and its reply, a send and\n"+
		"its SendResult, the reply and a pushed notification, Encrypt/Decrypt, close.\n"+
		"The challenge and password are fixed, so the output is the same every run.")
	if code, ok := parseFlags(fs, args, 0, std); !ok {
		return code
	}
	if err := demo(ctx, std); err != nil {
		fmt.Fprintf(std.errOut, "appws demo: %v\n", err)
		return exitFail
	}
	return exitOK
}

func demo(ctx context.Context, std stdio) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()

	// A fixed challenge (a real server sends a fresh one every time) makes
	// the session key, and so the ciphertext below, the same every run.
	srv := appwstest.NewServer(appwstest.Config{
		Apps:      map[string]string{demoApp: demoPassword},
		Challenge: demoChallenge,
		Domain:    demoDomain,
		Handler:   demoHandler,
		InMemory:  true,
	})
	defer srv.Close()
	say := func(what, format string, args ...any) {
		line := fmt.Sprintf("%-11s %s", what, fmt.Sprintf(format, args...))
		fmt.Fprintln(std.out, strings.TrimRight(line, " "))
	}
	say("server", "%s (in memory; app %q, challenge %s)", srv.URL, demoApp, demoChallenge)

	c, err := appws.Dial(ctx, appws.Options{
		URL:            srv.URL,
		NetDialContext: srv.DialContext, // the in-memory server; leave out for a real one
		App:            demoApp,
		Password:       demoPassword,
		Domain:         demoDomain,
		SIP:            "alice",
		GUID:           "00000000000000000000000000000000",
		DN:             "Alice",
	})
	if err != nil {
		return err
	}
	// Close and drain to the end whatever happens below: Closed is the last
	// event and the channel is closed after it. (Close is idempotent.)
	defer func() {
		c.Close()
		for range c.Events() {
		}
	}()
	next := func() (appws.Event, error) {
		select {
		case ev, ok := <-c.Events():
			if !ok {
				return nil, errors.New("event channel closed early")
			}
			return ev, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}

	// 1. Login: the first event is the session's ConnectComplete.
	ev, err := next()
	if err != nil {
		return err
	}
	cc, ok := ev.(appws.ConnectComplete)
	if !ok {
		return fmt.Errorf("unexpected first event %T", ev)
	}
	say("login", "session %d, domain %q", cc.Session, cc.Domain)
	// No MessageComplete yet: until the demo asks for a Message, flow
	// control holds the server's messages back (a Request's reply is not a
	// Message and is not held), so the SendResult below comes first.

	// 2. A request and its reply.
	req := map[string]any{"mt": "Echo", "text": "hello"}
	say("request", "%s", mustJSON(req))
	reply, err := c.Request(ctx, req)
	if err != nil {
		return fmt.Errorf("request: %w", err)
	}
	say("reply", "%s", reply.Raw)

	// 3. A send and its SendResult; then what the server sent back, the
	// reply and a pushed notification, each asked for with MessageComplete.
	sub := map[string]any{"mt": "Subscribe", "src": "news"}
	id, err := c.Send(ctx, sub)
	if err != nil {
		return fmt.Errorf("send: %w", err)
	}
	say("send", "id %d: %s", id, mustJSON(sub))
	for sent, notified := false, false; !sent || !notified; {
		ev, err := next()
		if err != nil {
			return err
		}
		switch ev := ev.(type) {
		case appws.SendResult:
			if ev.Err != nil {
				return fmt.Errorf("send %d: %w", ev.ID, ev.Err)
			}
			say("sendResult", "id %d: written", ev.ID)
			sent = sent || ev.ID == id
			if sent {
				c.MessageComplete() // now the first Message, please
			}
		case appws.Message:
			say("message", "%s", ev.Raw)
			notified = notified || ev.MT == "Notify"
			c.MessageComplete()
		case appws.Closed:
			return fmt.Errorf("connection ended: %v", ev.Err)
		default:
			say("event", "%T %+v", ev, ev)
		}
	}

	// 4. The session key helpers: the key itself is never shown.
	enc, err := c.Encrypt(demoSeed, demoText)
	if err != nil {
		return fmt.Errorf("encrypt: %w", err)
	}
	say("encrypt", "seed %q, %q -> %s", demoSeed, demoText, enc)
	dec, err := c.Decrypt(demoSeed, enc)
	if err != nil {
		return fmt.Errorf("decrypt: %w", err)
	}
	say("decrypt", "%s -> %q", enc, dec)

	// 5. Close, then read the events to the end: Closed is the last one.
	say("close", "")
	c.Close()
	for ev := range c.Events() {
		switch ev := ev.(type) {
		case appws.Closed:
			if ev.Err != nil {
				return fmt.Errorf("closed with error: %w", ev.Err)
			}
			say("closed", "cleanly, %d undelivered messages dropped", ev.Dropped)
		default:
			say("event", "%T %+v", ev, ev)
		}
	}
	return nil
}

// demoHandler is the demo server's app service: it echoes every request as
// mt+"Result" and, after a "Subscribe", pushes a "Notify" with the same src.
func demoHandler(s *appwstest.Session, m appws.Message) {
	appwstest.Echo(s, m)
	if m.MT == "Subscribe" {
		s.Send(map[string]any{"mt": "Notify", "src": m.Src, "text": "pushed by the server"})
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
