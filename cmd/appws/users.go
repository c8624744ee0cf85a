package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/appwstest"
	"github.com/appwebsocket/appws/tableusers"
	"github.com/appwebsocket/appws/tableusers/tableuserstest"
)

// fakeStep is the pace of the embedded fake PBX's edits.
const fakeStep = 500 * time.Millisecond

func runUsers(ctx context.Context, args []string, std stdio) int {
	fs := newFlags("users", "[-url URL -app NAME [flags]]",
		"Replicates the users table of a PBX (the PbxTableUsers API) and prints every\n"+
			"change on stdout as one JSON line, as package tableusers reports it: first the\n"+
			"table, {\"kind\":\"added\",\"session\":1,\"guid\":...,\"new\":{...}} per user by guid,\n"+
			"then {\"kind\":\"synced\",...}; then each change as it comes (\"changed\" with \"old\"\n"+
			"and \"new\", \"removed\" with \"old\"; \"invalid\" with \"error\" for a message that did\n"+
			"not decode). After a lost connection it replicates again and prints only what\n"+
			"changed meanwhile, then \"synced\". Status goes to stderr. Ctrl-C ends it.\n"+
			"\n"+
			"Users carry the columns asked for (-columns), never pwd: the PBX sends it\n"+
			"unasked in its updates; it is not kept, and may not be asked for.\n"+
			"\n"+
			"Without -url it runs against an embedded fake PBX that edits a few users for\n"+
			"a few seconds (and drops the connection once), then exits.\n"+
			"\n"+
			"The PBX's app object must have TableUsers enabled. The password comes from\n"+
			"-password-file or APPWS_PASSWORD.")
	pf := addPBXFlags(fs)
	columns := fs.String("columns", "", "comma-separated `list` of columns to replicate (default: the typed ones; never pwd)")
	once := fs.Bool("once", false, "print the table and exit, without following changes")
	if code, ok := parseFlags(fs, args, 0, std); !ok {
		return code
	}
	if code, ok := pf.check(fs, std); !ok {
		return code
	}
	var cfg tableusers.Config
	if *columns != "" {
		for c := range strings.SplitSeq(*columns, ",") {
			cfg.Columns = append(cfg.Columns, strings.TrimSpace(c))
		}
	}
	if err := cfg.Validate(); err != nil {
		return usageError(fs, std, "-columns: %s", strings.TrimPrefix(err.Error(), "tableusers: Config.Columns: "))
	}
	var opts appws.Options
	var fake *fakePBX
	if pf.fake() {
		fake = newFakePBX()
		defer fake.srv.Close()
		opts = fake.srv.ClientOptions()
		opts.MinBackoff, opts.MaxBackoff = 100*time.Millisecond, time.Second
		fmt.Fprintln(std.errOut, "appws users: no -url: replicating the embedded fake PBX")
	} else {
		var code int
		var ok bool
		if opts, code, ok = pf.options(fs, std); !ok {
			return code
		}
	}
	opts.AutoReconnect = !*once
	c, code, ok := pf.dial(ctx, opts, "appws users", std)
	if !ok {
		return code
	}
	u := &usersSession{c: c, r: tableusers.New(cfg), std: std, once: *once, fake: fake}
	return u.run(ctx)
}

// usersSession is the event loop of appws users.
type usersSession struct {
	c    *appws.Client
	r    *tableusers.Replicator
	std  stdio
	once bool
	fake *fakePBX // nil against a real PBX
}

func (u *usersSession) run(ctx context.Context) int {
	defer func() {
		u.c.Close()
		for range u.c.Events() {
		}
	}()
	var tick <-chan time.Time
	if u.fake != nil {
		t := time.NewTicker(fakeStep)
		defer t.Stop()
		tick = t.C
	}
	synced := false
	for {
		select {
		case <-ctx.Done():
			fmt.Fprintln(u.std.errOut, "appws users: interrupted")
			return exitOK
		case <-tick:
			if !synced {
				continue
			}
			if done := u.fake.step(u.std); done {
				fmt.Fprintln(u.std.errOut, "appws users: the fake PBX is done")
				return exitOK
			}
		case ev := <-u.c.Events():
			for _, ch := range u.r.Handle(ev) {
				u.printJSON(ch)
				if ch.Kind == tableusers.Synced {
					fmt.Fprintf(u.std.errOut, "appws users: session %d: %d users\n", ch.Session, u.r.Len())
					synced = true
					if u.once {
						return exitOK
					}
				}
			}
			if err := u.r.Sync(ctx, u.c); err != nil {
				fmt.Fprintf(u.std.errOut, "appws users: %s\n", errText(err))
			}
			u.c.Handled(ev)
			switch ev := ev.(type) {
			case appws.ConnectComplete:
				fmt.Fprintf(u.std.errOut, "appws users: session %d: replicating\n", ev.Session)
			case appws.Disconnected:
				fmt.Fprintf(u.std.errOut, "appws users: connection lost (%s); retrying in %v\n", errText(ev.Err), ev.RetryIn.Round(time.Millisecond))
			case appws.Closed:
				if ev.Err != nil {
					fmt.Fprintf(u.std.errOut, "appws users: connection ended: %s\n", errText(ev.Err))
					return exitFail
				}
				return exitOK
			}
		}
	}
}

// printJSON prints one change as a JSON line. A Change never holds pwd: the
// Replicator does not keep it.
func (u *usersSession) printJSON(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		fmt.Fprintf(u.std.errOut, "appws users: %v\n", err)
		return
	}
	fmt.Fprintf(u.std.out, "%s\n", b)
}

// fakePBX is the embedded PBX of appws users without -url: an in-memory
// test server with a users table that it edits step by step.
type fakePBX struct {
	srv   *appwstest.Server
	tbl   *tableuserstest.Fake
	steps int
}

// fakeUser is a row as the PBX has it, pwd included (a made-up value of
// its encrypted form), so that the demo shows it is never printed.
func fakeUser(guid, h323, cn, e164 string) tableuserstest.Row {
	return tableuserstest.Row{"guid": guid, "h323": h323, "cn": cn, "dn": cn, "e164": e164,
		"node": "root", "loc": "master", "hide": false, "config": "Config", "pwd": fakePwd + guid[len(guid)-2:]}
}

// fakePwd begins the pwd of every fake user: a test checks it is printed
// nowhere.
const fakePwd = "7e6236c35d119afe62c0fd398d6f61"

func newFakePBX() *fakePBX {
	tbl := tableuserstest.New(
		fakeUser("2f1a5c1e9a3b4a7e8d0c000000000001", "alice", "Alice Smith", "201"),
		fakeUser("2f1a5c1e9a3b4a7e8d0c000000000002", "bob", "Bob Jones", "202"),
		fakeUser("2f1a5c1e9a3b4a7e8d0c000000000003", "carol", "Carol White", "203"),
		fakeUser("2f1a5c1e9a3b4a7e8d0c000000000004", "reception", "Reception", "200"),
	)
	srv := appwstest.NewServer(appwstest.Config{
		Apps:     map[string]string{"users": rand.Text()},
		InMemory: true,
		Handler:  tbl.Wrap(appwstest.Silent),
	})
	return &fakePBX{srv: srv, tbl: tbl}
}

// step makes the next edit on the fake PBX; true when there is none left.
func (f *fakePBX) step(std stdio) bool {
	f.steps++
	var err error
	switch f.steps {
	case 1:
		err = f.tbl.Update(fakeUser("2f1a5c1e9a3b4a7e8d0c000000000002", "bob", "Bob Jones", "212"))
	case 2:
		err = f.tbl.Add(fakeUser("2f1a5c1e9a3b4a7e8d0c000000000005", "dave", "Dave Brown", "205"))
	case 3:
		// The connection drops; the PBX changes users while it is down.
		f.srv.DropAll()
		f.tbl.Del("2f1a5c1e9a3b4a7e8d0c000000000003")
		err = f.tbl.Update(fakeUser("2f1a5c1e9a3b4a7e8d0c000000000001", "alice", "Alice Miller", "201"))
	case 4, 5:
		// Time to reconnect and replicate again.
	case 6:
		f.tbl.Del("2f1a5c1e9a3b4a7e8d0c000000000005")
	default:
		return true
	}
	if err != nil {
		fmt.Fprintf(std.errOut, "appws users: fake PBX: %v\n", err)
	}
	return false
}
