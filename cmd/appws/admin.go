package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/appwstest"
	"github.com/appwebsocket/appws/pbxadminapi"
	"github.com/appwebsocket/appws/pbxadminapi/pbxadminapitest"
)

// appws admin: the operations of package pbxadminapi from the command
// line, one per run, JSON lines out. Without -url against an embedded fake
// PBX (pbxadminapitest), which lives as long as the command.

const (
	// opTimeout bounds one operation, and the wait for the admin object.
	opTimeout = 30 * time.Second
	// fakePBXPassword is the PBX password of the embedded fake.
	fakePBXPassword = "demo-pbx-pw"
)

// adminSubcommands are the subcommands of appws admin.
var adminSubcommands = []struct{ name, synopsis, summary, about string }{
	{"get", "(-cn CN | -object GUID)", "print an object",
		"Prints the object as one JSON line, with the PBX's property names and without\n" +
			"its pwd: what update takes."},
	{"search", "[-cn START [-include]]", "list the users, from a cn on",
		"Prints every user (and executive) after START (with -include from it), in cn\n" +
			"order, one JSON line each, reading the PBX's pages of 20 until the end."},
	{"update", "JSON|-  (flags before the JSON)", "create or change an object",
		"Sends an UpdateObject with the properties of the JSON object (the PBX's names,\n" +
			"as get prints them; \"-\" reads it from stdin) and prints {\"guid\":...}. Only\n" +
			"what is in it changes: \"\" clears a string, -1 deletes a boolean (the config\n" +
			"template's value applies). A guid of \"*\" names the object by cn, \"?\" creates\n" +
			"it when there is none, no guid creates one. pwd is refused: use passwd."},
	{"delete", "(-cn CN | -object GUID)", "delete an object",
		"Deletes the object and prints {\"deleted\":GUID}."},
	{"passwd", "(-cn CN | -object GUID) [-pbx-password-file F] [-new-password-file F]", "set an object's password",
		"Sets the object's password and prints {\"guid\":...,\"password\":\"set\"}. The new\n" +
			"password comes from -new-password-file or the first line of stdin. It is sent\n" +
			"encrypted with the PBX key, which the PBX's security password decrypts from the\n" +
			"admin object; that password comes from -pbx-password-file or APPWS_PBX_PASSWORD,\n" +
			"never from a flag. Passwords over 23 bytes, PBX passwords over 16 and characters\n" +
			"outside printable ASCII are refused before anything is sent."},
}

func adminUsage(w io.Writer) {
	fmt.Fprint(w, "Usage: appws admin SUBCOMMAND [-url URL -app NAME [login flags]] [flags]\n\n"+
		"Reads and provisions PBX objects with the PbxAdminApi, one operation per run,\n"+
		"and prints the result as JSON lines on stdout. With -url it logs in to a PBX app\n"+
		"object that has the PbxAdminApi enabled (the password from -password-file or\n"+
		"APPWS_PASSWORD); without, to an embedded fake PBX with a few users, whose PBX\n"+
		"password is \""+fakePBXPassword+"\". A failure prints one line on stderr and exits 1;\n"+
		"\"appws admin SUBCOMMAND -h\" shows its flags.\n\nSubcommands:\n")
	for _, s := range adminSubcommands {
		fmt.Fprintf(w, "  %-7s %s\n", s.name, s.summary)
	}
}

func runAdmin(ctx context.Context, args []string, std stdio) int {
	if len(args) == 0 {
		fmt.Fprintln(std.errOut, "appws admin: a subcommand is required (see 'appws help admin')")
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		adminUsage(std.out)
		return exitOK
	}
	i := -1
	for j, s := range adminSubcommands {
		if s.name == args[0] {
			i = j
		}
	}
	if i < 0 {
		if strings.HasPrefix(args[0], "-") {
			fmt.Fprintf(std.errOut, "appws admin: flag provided but not defined: %s (see 'appws help admin')\n", args[0])
		} else {
			fmt.Fprintf(std.errOut, "appws admin: unknown subcommand %q (see 'appws help admin')\n", args[0])
		}
		return exitUsage
	}
	sub := adminSubcommands[i]
	fs := newFlags("admin "+sub.name, "[-url URL -app NAME [login flags]] "+sub.synopsis, sub.about+"\n\n"+
		"With -url it logs in to a PBX app object that has the PbxAdminApi enabled (the\n"+
		"password from -password-file or APPWS_PASSWORD); without, to an embedded fake\n"+
		"PBX (PBX password \""+fakePBXPassword+"\"). A failure prints one line on stderr\n"+
		"and exits 1.")
	af := addPBXFlags(fs)
	cmd := "appws admin " + sub.name
	var (
		cn, object, pbxPwFile, newPwFile *string
		include                          *bool
	)
	maxArgs := 0
	switch sub.name {
	case "get", "delete", "passwd":
		cn = fs.String("cn", "", "the object's `cn`")
		object = fs.String("object", "", "the object's `guid`")
	case "search":
		cn = fs.String("cn", "", "list the users after `START` (default: all)")
		include = fs.Bool("include", false, "include the user whose cn is START")
	case "update":
		maxArgs = 1
	}
	if sub.name == "passwd" {
		pbxPwFile = fs.String("pbx-password-file", "", "read the PBX's security password from `FILE` instead of APPWS_PBX_PASSWORD")
		newPwFile = fs.String("new-password-file", "", "read the new password from `FILE` instead of stdin")
	}
	if code, ok := parseFlags(fs, args[1:], maxArgs, std); !ok {
		return code
	}
	if object != nil && (*cn == "") == (*object == "") {
		return usageError(fs, std, "give the object's -cn or its -object guid (one of them)")
	}
	if sub.name == "update" && fs.NArg() != 1 {
		return usageError(fs, std, "the update, a JSON object, is required (\"-\": from stdin)")
	}
	if code, ok := af.check(fs, std); !ok {
		return code
	}

	// Everything from the user is read and checked before connecting, so
	// that bad input changes nothing.
	var (
		update  pbxadminapi.UpdateObject
		newPw   string
		pbxPw   string
		failure = func(format string, a ...any) int {
			fmt.Fprintf(std.errOut, cmd+": "+format+"\n", a...)
			return exitFail
		}
	)
	switch sub.name {
	case "update":
		var err error
		if update, err = readUpdate(fs.Arg(0), std.in); err != nil {
			return failure("%v", err)
		}
	case "passwd":
		var err error
		if pbxPw, err = secretFrom(*pbxPwFile, "APPWS_PBX_PASSWORD", nil); err != nil {
			return failure("the PBX password: %v", err)
		}
		if newPw, err = secretFrom(*newPwFile, "", std.in); err != nil {
			return failure("the new password: %v", err)
		}
		// The scheme's limits, checked before connecting.
		if err := pbxadminapi.CheckPasswords(pbxPw, newPw); err != nil {
			return failure("%s (nothing changed)", errText(err, "pbxadminapi"))
		}
	}

	c, stop, code := adminConnect(ctx, af, fs, std)
	if c == nil {
		return code
	}
	defer stop()
	loop := startAdminLoop(c, sub.name == "passwd")
	defer loop.close()

	octx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	out := func(v any) { std.out.Write(append(mustJSON(v), '\n')) }
	opFailed := func(err error, changes bool) int {
		msg := errText(err, "pbxadminapi")
		if changes && errors.Is(err, appws.ErrNoReply) {
			msg += " (the PBX may have applied it: check with appws admin get)"
		} else if changes {
			msg += " (nothing changed)"
		}
		return failure("%s", msg)
	}
	switch sub.name {
	case "get":
		o, err := pbxadminapi.GetObject{GUID: *object, CN: *cn}.Do(octx, c)
		if err != nil {
			return opFailed(err, false)
		}
		out(o)
	case "search":
		for u, err := range (pbxadminapi.SearchUsers{CN: *cn, IncludeMatch: *include}).All(octx, c) {
			if err != nil {
				return opFailed(err, false)
			}
			out(u)
		}
	case "update":
		guid, err := update.Do(octx, c)
		if err != nil {
			return opFailed(err, true)
		}
		out(map[string]string{"guid": guid})
	case "delete":
		guid := *object
		if guid == "" {
			o, err := pbxadminapi.GetObject{CN: *cn}.Do(octx, c)
			if err != nil {
				return opFailed(err, false)
			}
			guid = o.GUID
		}
		if err := (pbxadminapi.DeleteObject{GUID: guid}).Do(octx, c); err != nil {
			return opFailed(err, true)
		}
		out(map[string]string{"deleted": guid})
	case "passwd":
		admin, err := loop.adminKey(octx)
		if err != nil {
			return failure("%s (nothing changed)", err)
		}
		sp := pbxadminapi.SetPassword{GUID: *object, Password: newPw, PBXPassword: pbxPw, Admin: admin}
		if *object == "" {
			sp.GUID, sp.CN = pbxadminapi.ByCN, *cn
		}
		guid, err := sp.Do(octx, c)
		if err != nil {
			return opFailed(err, true)
		}
		out(map[string]string{"guid": guid, "password": "set"})
	}
	return exitOK
}

// readUpdate decodes the update: arg, or stdin for "-". Unknown properties
// and pwd are refused.
func readUpdate(arg string, in io.Reader) (pbxadminapi.UpdateObject, error) {
	var u pbxadminapi.UpdateObject
	data := []byte(arg)
	if arg == "-" {
		var err error
		if data, err = io.ReadAll(io.LimitReader(in, 1<<20)); err != nil {
			return u, fmt.Errorf("reading stdin: %v", err)
		}
	}
	var props map[string]json.RawMessage
	if err := json.Unmarshal(data, &props); err != nil {
		return u, fmt.Errorf("the update is not a JSON object: %v", errText(err, "json"))
	}
	if _, ok := props["pwd"]; ok {
		return u, errors.New(`the update has a "pwd": set passwords with appws admin passwd`)
	}
	for _, k := range []string{"api", "mt", "src"} {
		if _, ok := props[k]; ok {
			return u, fmt.Errorf("the update has an %q: give the object's properties only", k)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&u); err != nil {
		return u, fmt.Errorf("the update: %v", errText(err, "json", "pbxadminapi"))
	}
	if _, err := u.MarshalJSON(); err != nil {
		return u, errors.New(errText(err, "pbxadminapi"))
	}
	return u, nil
}

// secretFrom reads a password from file, else from the environment
// variable env, else from the first line of in. It never says what it
// read.
func secretFrom(file, env string, in io.Reader) (string, error) {
	switch {
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", err
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	case env != "":
		pw, ok := os.LookupEnv(env)
		if !ok {
			return "", fmt.Errorf("set %s or use its -file flag", env)
		}
		return pw, nil
	}
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && (err != io.EOF || line == "") {
		return "", errors.New("none on stdin (give it as its first line, or use -new-password-file)")
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// adminConnect logs in to the PBX of -url, or to an embedded fake. stop
// closes the client (and the fake). On failure c is nil and code the exit
// status.
func adminConnect(ctx context.Context, af pbxFlags, fs *flag.FlagSet, std stdio) (c *appws.Client, stop func(), code int) {
	cmd := fs.Name()
	var opts appws.Options
	var srv *appwstest.Server
	if af.fake() {
		srv = appwstest.NewServer(appwstest.Config{Apps: map[string]string{"admin": "admin-demo"}, InMemory: true,
			Handler: newAdminFake().Handler})
		opts = srv.ClientOptions()
		fmt.Fprintln(std.errOut, cmd+": no -url: an embedded fake PBX (users alice, bob, carol; PBX password \""+fakePBXPassword+"\")")
	} else {
		var ok bool
		if opts, code, ok = af.options(fs, std); !ok {
			return nil, nil, code
		}
	}
	c, code, ok := af.dial(ctx, opts, cmd, std)
	if !ok {
		if srv != nil {
			srv.Close()
		}
		return nil, nil, code
	}
	return c, func() {
		c.Close()
		if srv != nil {
			srv.Close()
		}
	}, exitOK
}

// newAdminFake is the embedded fake PBX of appws admin.
func newAdminFake() *pbxadminapitest.Fake {
	return pbxadminapitest.New(pbxadminapitest.Config{
		PBXPassword: fakePBXPassword,
		PBX:         pbxadminapi.PBXConfig{Domain: "example.com", PBX: "pbx1", DNS: "pbx.example.com", IP4: "192.0.2.1"},
		Objects: []pbxadminapi.Object{
			{GUID: "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1", CN: "alice", DN: "Alice", H323: "alice", E164: "10", Config: "Users",
				Grp: []pbxadminapi.Group{{Name: "sales", Mode: "active"}}},
			{GUID: "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2", CN: "bob", DN: "Bob", H323: "bob", E164: "11", Config: "Users"},
			{GUID: "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3", CN: "carol", DN: "Carol", H323: "carol", E164: "12", Config: "Users",
				Voicemail: true},
			{GUID: "d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4", CN: "Users", Pseudo: json.RawMessage(`{"type":"config"}`)},
		},
	})
}

// adminLoop reads the client's events on a goroutine of its own, feeding a
// ConfigMonitor (for passwd) and granting the next message after each.
type adminLoop struct {
	c      *appws.Client
	m      *pbxadminapi.ConfigMonitor // nil: events are only drained
	ready  chan struct{}              // closed once the monitor synced, or failed
	done   chan struct{}              // closed when the events ended
	once   sync.Once
	err    error // why the monitor failed; set before ready is closed
	closed error // the client's Closed.Err; set before done is closed
}

func startAdminLoop(c *appws.Client, monitor bool) *adminLoop {
	l := &adminLoop{c: c, ready: make(chan struct{}), done: make(chan struct{})}
	if monitor {
		l.m = pbxadminapi.New(pbxadminapi.Config{AdminObject: true})
	}
	go l.run()
	return l
}

func (l *adminLoop) run() {
	defer close(l.done)
	// Sends wait only for room in the send queue; Close releases them.
	ctx := context.Background()
	for ev := range l.c.Events() {
		if l.m != nil {
			for _, ch := range l.m.Handle(ev) {
				switch ch.Kind {
				case pbxadminapi.Synced:
					l.once.Do(func() { close(l.ready) })
				case pbxadminapi.Invalid:
					l.once.Do(func() { l.err = ch.Err; close(l.ready) })
				}
			}
			if err := l.m.Sync(ctx, l.c); err != nil {
				l.once.Do(func() { l.err = err; close(l.ready) })
			}
		}
		if cl, ok := ev.(appws.Closed); ok {
			l.closed = cl.Err
		}
		l.c.Handled(ev)
	}
}

// adminKey waits for the admin object's key pair.
func (l *adminLoop) adminKey(ctx context.Context) (pbxadminapi.AdminKey, error) {
	select {
	case <-l.ready:
		if l.err != nil {
			return pbxadminapi.AdminKey{}, fmt.Errorf("monitoring the admin object: %s", errText(l.err, "pbxadminapi"))
		}
		a, _ := l.m.AdminKey()
		return a, nil
	case <-l.done:
		return pbxadminapi.AdminKey{}, fmt.Errorf("connection lost before the admin object came: %v", errText(cmpErr(l.closed)))
	case <-ctx.Done():
		return pbxadminapi.AdminKey{}, fmt.Errorf("no admin object from the PBX within %v (is MonitorAdminObject allowed for the app object?)", opTimeout)
	}
}

func cmpErr(err error) error {
	if err == nil {
		return errors.New("closed")
	}
	return err
}

// close closes the client and waits for the loop to end.
func (l *adminLoop) close() {
	l.c.Close()
	<-l.done
}
