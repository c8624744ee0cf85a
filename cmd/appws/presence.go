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
	"github.com/appwebsocket/appws/pbxapi"
	"github.com/appwebsocket/appws/pbxapi/pbxapitest"
)

// appws presence: the Watcher of package pbxapi, each change printed as
// json.Marshal(change). Without -url it runs against pbxapitest's fake, on
// which a script here changes the users' presence.

func runPresence(ctx context.Context, args []string, std stdio) int {
	fs := newFlags("presence", "[-url URL -app NAME [flags]] [-set KEY=VALUE,...] [-profile] [USER...]",
		"Watches the presence of PBX users with the PbxApi and prints each change as one\n"+
			"JSON line: {\"kind\":\"stateChanged\"|\"presenceChanged\"|\"contactAdded\"|...|\"synced\",...}.\n"+
			"A USER is a SIP URI (\"bob\", \"sip:bob\") or a number (\"num:201\"). -profile follows\n"+
			"the favourites of the logged-in user too. Status goes to stderr.\n"+
			"\n"+
			"-set sets a presence once logged in, e.g. -set activity=away,note=back at 3\n"+
			"(keys: activity, note, contact (default tel:), sip, guid; activity \"\" or\n"+
			"\"available\" is available; note takes the rest of the line, commas included).\n"+
			"It sets the user of sip= or guid=, else the login's -sip or -guid (one's own).\n"+
			"\n"+
			"With -url it logs in to a PBX app object enabled for the PbxApi (the password\n"+
			"from -password-file or APPWS_PASSWORD) and runs until Ctrl-C, reconnecting\n"+
			"after a lost connection; with -set and no USER it exits once the presence is\n"+
			"set. Without -url it logs in as alice to an embedded fake PBX (users alice,\n"+
			"bob 11, carol 12; default USERs bob and carol) whose presence changes for a\n"+
			"few steps, then exits 0. A mistake in the flags or USERs prints one line on\n"+
			"stderr and exits 2; a failure (the login, a refused -set) exits 1.")
	pf := addPBXFlags(fs)
	set := fs.String("set", "", "set a presence: `KEY=VALUE,...` (activity, note, contact, sip, guid)")
	profile := fs.Bool("profile", false, "follow the favourites of the logged-in user's first profile")
	step := fs.Duration("step", 300*time.Millisecond, "the fake's `pause` between two presence changes")
	if code, ok := parseFlags(fs, args, -1, std); !ok {
		return code
	}
	if code, ok := pf.check(fs, std); !ok {
		return code
	}
	targets, err := presenceTargets(fs.Args())
	if err != nil {
		return usageError(fs, std, "%v", err)
	}
	sp, err := parseSet(*set)
	if err != nil {
		return usageError(fs, std, "-set: %v", err)
	}
	p := &presenceSession{std: std, profile: *profile, set: sp, targets: targets}
	if pf.fake() {
		if sp != nil && sp.SIP == "" && sp.GUID == "" {
			sp.SIP = "alice"
		}
		if len(targets) == 0 && sp == nil {
			p.targets = []pbxapi.Target{{SIP: "bob"}, {Num: "12"}}
		}
		return p.onFake(ctx, *step)
	}
	if sp != nil && sp.SIP == "" && sp.GUID == "" {
		if sp.SIP, sp.GUID = *pf.l.sip, *pf.l.guid; sp.SIP == "" && sp.GUID == "" {
			return usageError(fs, std, "-set: whose presence? give sip= or guid= in -set, or log in with -sip or -guid")
		}
	}
	if len(targets) == 0 && sp == nil && !*profile {
		return usageError(fs, std, "nothing to do: name the USERs to watch, or use -set or -profile")
	}
	opts, code, ok := pf.options(fs, std)
	if !ok {
		return code
	}
	opts.AutoReconnect = true
	c, code, ok := pf.dial(ctx, opts, "appws presence", std)
	if !ok {
		return code
	}
	p.c = c
	return p.run(ctx, nil, nil)
}

// presenceTargets reads the USER arguments: "num:N", "sip:S" or S.
func presenceTargets(args []string) ([]pbxapi.Target, error) {
	var out []pbxapi.Target
	for _, a := range args {
		var t pbxapi.Target
		switch {
		case strings.HasPrefix(a, "num:"):
			t.Num = strings.TrimPrefix(a, "num:")
		default:
			t.SIP = strings.TrimPrefix(a, "sip:")
		}
		if t.SIP == "" && t.Num == "" || strings.TrimSpace(a) != a {
			return nil, fmt.Errorf("bad USER %q: want a SIP URI (bob, sip:bob) or num:NUMBER", a)
		}
		out = append(out, t)
	}
	return out, nil
}

// parseSet reads -set: comma-separated KEY=VALUE; a piece that does not
// start with a known key belongs to the value before it (so a note may
// hold commas). nil when s is empty.
func parseSet(s string) (*pbxapi.SetPresence, error) {
	if s == "" {
		return nil, nil
	}
	sp := &pbxapi.SetPresence{}
	fields := map[string]*string{"activity": &sp.Activity, "note": &sp.Note, "contact": &sp.Contact, "sip": &sp.SIP, "guid": &sp.GUID}
	var cur *string
	seen := map[string]bool{}
	for i, piece := range strings.Split(s, ",") {
		key, val, ok := strings.Cut(piece, "=")
		if f := fields[key]; ok && f != nil {
			if seen[key] {
				return nil, fmt.Errorf("%s given twice", key)
			}
			seen[key], cur, *f = true, f, val
			continue
		}
		if i == 0 {
			return nil, fmt.Errorf("%q is not KEY=VALUE with KEY activity, note, contact, sip or guid", piece)
		}
		*cur += "," + piece
	}
	if sp.Activity == "available" {
		sp.Activity = ""
	}
	if seen["sip"] && sp.SIP == "" || seen["guid"] && sp.GUID == "" {
		return nil, errors.New("sip= and guid= need a value")
	}
	return sp, nil
}

// presenceSession is the event loop of appws presence.
type presenceSession struct {
	c       *appws.Client
	std     stdio
	targets []pbxapi.Target
	profile bool
	set     *pbxapi.SetPresence // nil: nothing to set
}

// run prints the Watcher's changes until the client ends; it closes the
// client when ctx ends or over is closed, and closes synced after the
// first Synced (and the -set). It returns the exit status.
func (p *presenceSession) run(ctx context.Context, synced, over chan struct{}) int {
	w := pbxapi.New(pbxapi.Config{Profile: p.profile})
	for _, t := range p.targets {
		_ = w.SubscribePresence(t) // the targets were checked
	}
	watching := len(p.targets) > 0 || p.profile
	// Sends wait for room in the send queue only; Close releases them.
	sendCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := ctx.Done()
	code := exitOK
	var lost error
	closing := false
	closeNow := func(why string) {
		if !closing {
			closing = true
			fmt.Fprintf(p.std.errOut, "appws presence: %s: closing\n", why)
			p.c.Close()
		}
	}
	for {
		select {
		case ev, ok := <-p.c.Events():
			if !ok {
				if lost != nil {
					fmt.Fprintf(p.std.errOut, "appws presence: connection lost: %s\n", errText(lost))
					return exitFail
				}
				return code
			}
			switch ev := ev.(type) {
			case appws.ConnectComplete:
				fmt.Fprintf(p.std.errOut, "appws presence: session %d logged in\n", ev.Session)
			case appws.Disconnected:
				fmt.Fprintf(p.std.errOut, "appws presence: disconnected: %s; retrying in %v\n",
					errText(ev.Err), ev.RetryIn.Round(time.Millisecond))
			case appws.Closed:
				if ev.Err != nil && !closing {
					lost = ev.Err
				}
			}
			for _, ch := range w.Handle(ev) {
				line, err := json.Marshal(ch)
				if err != nil {
					fmt.Fprintf(p.std.errOut, "appws presence: %v\n", err)
					continue
				}
				p.std.out.Write(append(line, '\n'))
				if ch.Kind == pbxapi.Synced {
					if p.set != nil {
						if err := p.setPresence(sendCtx); err != nil {
							code = exitFail
							closeNow("-set failed")
						} else if !watching {
							closeNow("presence set")
						}
					}
					if synced != nil {
						close(synced)
						synced = nil
					}
				}
			}
			if err := w.Sync(sendCtx, p.c); err != nil {
				fmt.Fprintf(p.std.errOut, "appws presence: subscribing: %s (sent again after the next login)\n", errText(err))
			}
			p.c.Handled(ev)
		case <-over:
			over = nil
			closeNow("the fake's script is over")
		case <-done:
			done = nil
			closeNow("interrupted")
		}
	}
}

// setPresence runs -set once; the first session's Synced calls it.
func (p *presenceSession) setPresence(ctx context.Context) error {
	sp := *p.set
	p.set = nil
	who := "sip " + sp.SIP
	if sp.SIP == "" {
		who = "guid " + sp.GUID
	}
	if err := sp.Do(ctx, p.c); err != nil {
		fmt.Fprintf(p.std.errOut, "appws presence: -set for %s: %s\n", who, errText(err, "pbxapi"))
		return err
	}
	fmt.Fprintf(p.std.errOut, "appws presence: presence set for %s\n", who)
	return nil
}

// onFake runs the session against the embedded fake PBX, while a script
// changes presence on it, one change per step.
func (p *presenceSession) onFake(ctx context.Context, step time.Duration) int {
	pbx := pbxapitest.New(
		pbxapitest.User{SIP: "alice", Num: "10", DN: "Alice", Email: "alice@example.com"},
		pbxapitest.User{SIP: "bob", Num: "11", DN: "Bob", Email: "bob@example.com",
			Presence: []pbxapi.Presence{{Contact: "im:", Status: "open"}}},
		pbxapitest.User{SIP: "carol", Num: "12", DN: "Carol"})
	pbx.SetProfile("alice", pbxapi.Profile{ID: 1, Name: "Favourites", Contacts: []pbxapi.Contact{
		{ID: 1, Name: "bob", Num: "11", Dsp: "Bob", Presence: true, Dialog: true}}})
	srv := appwstest.NewServer(appwstest.Config{
		Apps: map[string]string{"presence": "presence-demo"}, InMemory: true, Handler: pbx.Handler,
	})
	defer srv.Close()
	fmt.Fprintln(p.std.errOut, "appws presence: no -url: logged in as alice to an embedded fake PBX (users alice, bob, carol)")
	opts := srv.ClientOptions()
	opts.SIP = "alice"
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	c, err := appws.Dial(dctx, opts)
	cancel()
	if err != nil {
		fmt.Fprintf(p.std.errOut, "appws presence: %s\n", dialFailure(srv.URL, err))
		return exitFail
	}
	p.c = c
	synced, over := make(chan struct{}), make(chan struct{})
	sctx, stopScript := context.WithCancel(ctx)
	scriptErr := make(chan error, 1)
	go func() {
		defer close(over)
		scriptErr <- presenceScript(sctx, pbx, synced, step, len(p.targets) > 0 || p.profile)
	}()
	code := p.run(ctx, synced, over)
	stopScript()
	<-over
	if err := <-scriptErr; err != nil && ctx.Err() == nil {
		fmt.Fprintf(p.std.errOut, "appws presence: the fake's script: %v\n", err)
		return exitFail
	}
	return code
}

// presenceScript waits for the first Synced, then changes presence and
// favourites on the fake one step at a time (when there is something
// watched).
func presenceScript(ctx context.Context, pbx *pbxapitest.Fake, synced <-chan struct{}, step time.Duration, watching bool) error {
	select {
	case <-synced:
	case <-ctx.Done():
		return nil
	}
	if !watching {
		return nil
	}
	steps := []func() error{
		func() error { return pbx.SetPresence("bob", pbxapi.Presence{Activity: "away", Note: "lunch"}) },
		func() error { return pbx.SetPresence("carol", pbxapi.Presence{Activity: "dnd"}) },
		func() error {
			pbx.AddContact("alice", pbxapi.NewContact{SIP: "carol", DN: "Carol"})
			return nil
		},
		func() error { return pbx.SetPresence("bob", pbxapi.Presence{Activity: "", Note: "back"}) },
	}
	t := time.NewTimer(step)
	defer t.Stop()
	for _, f := range steps {
		select {
		case <-t.C:
		case <-ctx.Done():
			return nil
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
