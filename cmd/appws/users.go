package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/appwstest"
	"github.com/appwebsocket/appws/tableusers"
)

// fakeStep is the pace of the embedded fake PBX's edits.
const fakeStep = 500 * time.Millisecond

func runUsers(ctx context.Context, args []string, std stdio) int {
	fs := newFlags("users", "[-url URL -app NAME [flags]]",
		"Replicates the users table of a PBX (the PbxTableUsers API) and prints it to\n"+
			"stdout, one JSON object per user, sorted by guid; then every change as one\n"+
			"JSON line: {\"change\":\"added\"|\"changed\"|\"removed\",\"guid\":...,\"old\":{...},\"new\":{...}}.\n"+
			"After a lost connection it replicates again and prints only what changed\n"+
			"meanwhile. Status goes to stderr. Ctrl-C ends it.\n"+
			"\n"+
			"Without -url it runs against an embedded fake PBX that edits a few users for\n"+
			"a few seconds (and drops the connection once), then exits.\n"+
			"\n"+
			"The PBX's app object must have TableUsers enabled. The password comes from\n"+
			"-password-file or APPWS_PASSWORD.")
	url := fs.String("url", "", "PBX app object `URL`, ws:// or wss:// (default: the embedded fake)")
	l := addLoginFlags(fs)
	pbxObj := fs.String("pbxobj", "", "login pbxObj (not covered by the digest)")
	columns := fs.String("columns", "", "comma-separated `list` of columns to replicate (default: the typed ones, without pwd)")
	once := fs.Bool("once", false, "print the table and exit, without following changes")
	caCert := fs.String("cacert", "", "trust the CA certificates in PEM `FILE` (besides the system's)")
	insecure := fs.Bool("insecure", false, "do not verify the server's certificate (DANGEROUS)")
	verbose := fs.Bool("v", false, "log the library's connection events to stderr")
	if code, ok := parseFlags(fs, args, 0, std); !ok {
		return code
	}
	var opts appws.Options
	var fake *fakePBX
	if *url == "" {
		fake = newFakePBX()
		defer fake.srv.Close()
		opts = fake.srv.ClientOptions()
		opts.MinBackoff, opts.MaxBackoff = 100*time.Millisecond, time.Second
		fmt.Fprintln(std.errOut, "appws users: no -url: replicating the embedded fake PBX")
	} else {
		if *l.app == "" {
			return usageError(fs, std, "-app is required with -url")
		}
		pw, code, ok := needPassword(fs, *l.pwFile, std)
		if !ok {
			return code
		}
		var err error
		if opts, err = l.options(*url, pw, *pbxObj, *caCert, *insecure, std.errOut, "appws users"); err != nil {
			fmt.Fprintf(std.errOut, "appws users: %v\n", err)
			return exitFail
		}
	}
	opts.AutoReconnect = !*once
	if *verbose {
		opts.Logger = slog.New(slog.NewTextHandler(std.errOut, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	var cols []string
	if *columns != "" {
		cols = strings.Split(*columns, ",")
	}

	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	c, err := appws.Dial(dctx, opts)
	cancel()
	if err != nil {
		fmt.Fprintf(std.errOut, "appws users: %s\n", dialFailure(opts.URL, err))
		var ce *appws.ConfigError
		if errors.As(err, &ce) {
			return exitUsage
		}
		return exitFail
	}
	u := &usersSession{c: c, r: tableusers.New(c, tableusers.Options{Columns: cols}), std: std, once: *once, fake: fake}
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
			changes, err := u.r.Handle(ctx, ev)
			if err != nil {
				fmt.Fprintf(u.std.errOut, "appws users: %s\n", errText(err))
			}
			switch ev := ev.(type) {
			case appws.ConnectComplete:
				fmt.Fprintf(u.std.errOut, "appws users: session %d: replicating\n", ev.Session)
				u.c.MessageComplete()
			case appws.Message:
				u.c.MessageComplete()
			case appws.Disconnected:
				fmt.Fprintf(u.std.errOut, "appws users: connection lost (%s); retrying in %v\n", errText(ev.Err), ev.RetryIn.Round(time.Millisecond))
			case appws.Closed:
				if ev.Err != nil {
					fmt.Fprintf(u.std.errOut, "appws users: connection ended: %s\n", errText(ev.Err))
					return exitFail
				}
				return exitOK
			}
			for _, ch := range changes {
				if ch.Kind == tableusers.Synced {
					fmt.Fprintf(u.std.errOut, "appws users: session %d: %d users\n", ch.Session, u.r.Len())
					if !synced {
						u.printTable()
						synced = true
					}
					if u.once {
						return exitOK
					}
					continue
				}
				if synced { // the first replication is printed as the table
					u.printChange(ch)
				}
			}
		}
	}
}

func (u *usersSession) printTable() {
	snap := u.r.Snapshot()
	for _, guid := range slices.Sorted(maps.Keys(snap)) {
		u.printJSON(snap[guid])
	}
}

// userChangeLine is the JSON form of a change of the users table.
type userChangeLine struct {
	Change tableusers.ChangeKind `json:"change"`
	GUID   string                `json:"guid"`
	Old    *tableusers.User      `json:"old,omitempty"`
	New    *tableusers.User      `json:"new,omitempty"`
}

func (u *usersSession) printChange(ch tableusers.Change) {
	line := userChangeLine{Change: ch.Kind, GUID: ch.GUID}
	if ch.Kind != tableusers.Added {
		line.Old = &ch.Old
	}
	if ch.Kind != tableusers.Removed {
		line.New = &ch.New
	}
	u.printJSON(line)
}

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
	tbl   *appwstest.UsersTable
	steps int
}

func fakeUser(guid, h323, cn, e164 string) appwstest.UserRow {
	return appwstest.UserRow{"guid": guid, "h323": h323, "cn": cn, "dn": cn, "e164": e164,
		"node": "root", "loc": "master", "hide": false, "config": "Config"}
}

func newFakePBX() *fakePBX {
	tbl := appwstest.NewUsersTable(
		fakeUser("2f1a5c1e9a3b4a7e8d0c000000000001", "alice", "Alice Smith", "201"),
		fakeUser("2f1a5c1e9a3b4a7e8d0c000000000002", "bob", "Bob Jones", "202"),
		fakeUser("2f1a5c1e9a3b4a7e8d0c000000000003", "carol", "Carol White", "203"),
		fakeUser("2f1a5c1e9a3b4a7e8d0c000000000004", "reception", "Reception", "200"),
	)
	srv := appwstest.NewServer(appwstest.Config{
		Apps:     map[string]string{"users": rand.Text()},
		InMemory: true,
		Handler:  tbl.Handler(appwstest.Silent),
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
		f.tbl.Remove("2f1a5c1e9a3b4a7e8d0c000000000003")
		err = f.tbl.Update(fakeUser("2f1a5c1e9a3b4a7e8d0c000000000001", "alice", "Alice Miller", "201"))
	case 4, 5:
		// Time to reconnect and replicate again.
	case 6:
		f.tbl.Remove("2f1a5c1e9a3b4a7e8d0c000000000005")
	default:
		return true
	}
	if err != nil {
		fmt.Fprintf(std.errOut, "appws users: fake PBX: %v\n", err)
	}
	return false
}
