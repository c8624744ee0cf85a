// Command appws shows, pokes and fakes innovaphone AppWebsocket services.
//
// Usage:
//
//	appws [demo]                 run a self-contained demo in memory
//	appws connect -url URL -app NAME [flags]
//	                             log in, send JSON lines from stdin, print events as JSON lines
//	appws serve -app NAME[=PASSWORD|=@FILE|=env:VAR] ... [flags]
//	                             run a local test server (echo service) and print its URL
//	appws calls [-url URL -app NAME [flags]]
//	                             monitor calls (RCC), one JSON line per change; no -url: a fake PBX
//	appws users [-url URL -app NAME [flags]]
//	                             replicate a PBX's users table, print it and its changes
//	appws digest -app A -challenge C [flags]
//	appws sessionkey -challenge C
//	appws encrypt|decrypt|hash -key K -seed S DATA
//	                             the protocol's helpers, for debugging
//	appws help [COMMAND]
//	appws version
//
// Without arguments appws runs the demo: it starts the in-process test server
// of package appwstest in memory, logs in with the appws library and prints
// the session as it happens. It needs no network, and its output is the same
// every run (fixed challenge and password).
//
// connect logs in to a real server (a PBX app object, an app service, the App
// Platform manager). The password comes from the environment variable
// APPWS_PASSWORD or from -password-file, never from a flag value that would
// show in the process list. Every line read from stdin is one JSON message to
// send; every event is printed to stdout as one JSON line: received messages
// exactly as received, the others as small objects such as
// {"event":"connect","session":1,"domain":"example.com"} or
// {"event":"sendResult","id":1}. Status lines go to stderr. End of input or
// Ctrl-C closes the connection. It exits 0 when every input line was sent;
// 1 when a line was not sent (it says which and why), the connection was
// lost, the login failed or the server was unreachable.
//
// serve runs the test server standalone, so apps and scripts can be developed
// against a fake service on a laptop. It prints the websocket URL as its first
// line on stdout, logs sessions on stderr and runs until Ctrl-C or SIGTERM,
// which close every session with 1001 (going away). It accepts any correct
// AppWebsocket login, innovaphone's JavaScript client included. Each app's
// password comes from APPWS_PASSWORD (-app NAME), another environment
// variable (-app NAME=env:VAR), a file (-app NAME=@FILE) or the command line
// (-app NAME=PASSWORD, visible in the process list); it must not be empty.
//
// The helper commands print the login digest, the session key and the results
// of Encrypt and Decrypt (RC4) and Hash (SHA-256) for given inputs. Passwords
// come from APPWS_PASSWORD or -password-file as for connect; the session key
// from -key or APPWS_SESSION_KEY.
//
// version prints the module version appws was built from ("(devel)" for a
// build from a checkout), the VCS commit and whether the checkout had local
// changes (when built from one), and the Go version.
//
// Exit status:
//
//	0  success
//	1  the work failed: the server was unreachable or refused the login, the
//	   connection was lost, an input line was not sent, a file could not be
//	   read, or a helper's DATA could not be processed (not hex; decrypts
//	   to bytes that are not text)
//	2  the command line is wrong: an unknown command or flag, a required
//	   flag, argument or password missing, or a flag value of the wrong form
//	   (a -url that is not ws:// or wss://, an -info that is not a JSON
//	   object); one line on stderr says what, and where the help is
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// command is one subcommand of appws.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, io stdio) int
}

// stdio is the process's standard streams, injected so tests can run
// commands in-process. stdout and stderr are safe for concurrent use.
type stdio struct {
	in          io.Reader
	out, errOut io.Writer
}

func commands() []command {
	return []command{
		{"demo", "run a self-contained demo of the library in memory (the default)", runDemo},
		{"connect", "log in to a server, send JSON lines from stdin, print events as JSON lines", runConnect},
		{"serve", "run a local AppWebsocket test server (echo service)", runServe},
		{"calls", "monitor the calls of a PBX's users (RCC), one JSON line per change", runCalls},
		{"users", "replicate a PBX's users table (PbxTableUsers), print it and its changes", runUsers},
		{"presence", "watch users' presence (PbxApi), one JSON line per change; -set sets one's own", runPresence},
		{"admin", "read and provision PBX objects (PbxAdminApi): get, search, update, delete, passwd", runAdmin},
		{"digest", "print the login digest for a challenge", runDigest},
		{"sessionkey", "print the session key of a password login for a challenge", runSessionKey},
		{"encrypt", "encrypt DATA with a session key and seed (RC4, hex output)", runEncrypt},
		{"decrypt", "decrypt hex DATA with a session key and seed (RC4)", runDecrypt},
		{"hash", "hash DATA with a session key and seed (SHA-256)", runHash},
		{"help", "show the commands, or a command's usage and flags", runHelp},
		{"version", "print the appws and Go versions", runVersion},
	}
}

// run runs appws with args (without the program name) and returns the exit
// status. ctx ends long-running commands as Ctrl-C does.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	std := stdio{in: stdin, out: &syncWriter{w: stdout}, errOut: &syncWriter{w: stderr}}
	if len(args) == 0 {
		return runDemo(ctx, nil, std)
	}
	name, rest := args[0], args[1:]
	switch name {
	case "-h", "-help", "--help":
		name = "help"
	case "-version", "--version":
		name = "version"
	}
	c, ok := lookup(name)
	if !ok {
		fmt.Fprintf(std.errOut, "appws: unknown command %q (see 'appws help')\n", name)
		return exitUsage
	}
	return c.run(ctx, rest, std)
}

func runHelp(ctx context.Context, args []string, std stdio) int {
	fs := newFlags("help", "[COMMAND]", "Prints the list of commands, or with COMMAND that command's usage and flags\n"+
		"(as \"appws COMMAND -h\" does).")
	if code, ok := parseFlags(fs, args, 1, std); !ok {
		return code
	}
	if fs.NArg() == 0 {
		usage(std.out)
		return exitOK
	}
	c, ok := lookup(fs.Arg(0))
	if !ok {
		return usageError(fs, std, "unknown command %q", fs.Arg(0))
	}
	return c.run(ctx, []string{"-h"}, std)
}

func runVersion(_ context.Context, args []string, std stdio) int {
	fs := newFlags("version", "", "Prints the version of appws: the module version it was built from (a tag\n"+
		"such as v0.1.0 for \"go install ...@v0.1.0\", \"(devel)\" for a build from a\n"+
		"checkout), the VCS commit and \"modified\" when built from a checkout with\n"+
		"local changes, and the Go toolchain that built it, in one line:\n"+
		"\n"+
		"  appws VERSION [commit REVISION [modified]] GOVERSION GOOS/GOARCH")
	if code, ok := parseFlags(fs, args, 0, std); !ok {
		return code
	}
	bi, _ := debug.ReadBuildInfo()
	fmt.Fprintln(std.out, versionLine(bi))
	return exitOK
}

// versionLine says what appws was built from: "appws VERSION [commit REV
// [modified]] GOVERSION GOOS/GOARCH". bi is the build information (nil when
// the binary has none): the main module's version, and the VCS settings
// that "go build" records in a checkout (vcs.revision, vcs.modified).
func versionLine(bi *debug.BuildInfo) string {
	version, revision, modified := "(devel)", "", false
	if bi != nil {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	line := "appws " + version
	if revision != "" {
		line += " commit " + revision
		if modified {
			line += " modified"
		}
	}
	return fmt.Sprintf("%s %s %s/%s", line, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func lookup(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

func usage(w io.Writer) {
	fmt.Fprint(w, `appws - innovaphone AppWebsocket client, test server and helpers

Usage:
  appws [command] [flags]

Commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-11s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Without a command appws runs the demo. "appws help COMMAND" or
"appws COMMAND -h" shows a command's flags.

Passwords never go on the command line of connect, calls, users, digest and
sessionkey: they come from -password-file FILE or the environment. serve
takes each app's password from -app NAME (APPWS_PASSWORD), NAME=env:VAR,
NAME=@FILE or NAME=PASSWORD (which shows in the process list: only for
throwaway passwords).

Environment:
  APPWS_PASSWORD     the app password (connect, calls, users, digest, sessionkey, serve)
  APPWS_SESSION_KEY  the session key for encrypt/decrypt/hash
  APPWS_PBX_PASSWORD the PBX's security password (admin passwd)

Exit status: 0 success; 1 the work failed (server unreachable, login
refused, connection lost, input not sent, a file unreadable, DATA a helper
cannot process); 2 the command line is wrong (unknown command or flag,
something required missing, a flag value of the wrong form).
`)
}

// newFlags returns a flag set for a subcommand whose usage line is synopsis.
// Parse errors are reported by parseFlags, not by the flag package.
func newFlags(name, synopsis, about string) *flag.FlagSet {
	fs := flag.NewFlagSet("appws "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: %s\n\n%s\n", strings.TrimSpace("appws "+name+" "+synopsis), about)
		var any bool
		fs.VisitAll(func(*flag.Flag) { any = true })
		if any {
			fmt.Fprintln(w, "\nFlags:")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parseFlags parses args into fs. It returns false and the exit status when
// the command must stop: -h prints the usage on stdout (exit 0), a bad flag
// prints one line on stderr, the error and where the help is (exit 2).
// maxArgs limits the positional arguments (-1: any number).
func parseFlags(fs *flag.FlagSet, args []string, maxArgs int, std stdio) (int, bool) {
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(std.out)
		fs.Usage()
		return exitOK, false
	}
	if err == nil && maxArgs >= 0 && fs.NArg() > maxArgs {
		err = fmt.Errorf("unexpected argument %q", fs.Arg(maxArgs))
	}
	if err != nil {
		return usageError(fs, std, "%v", err), false
	}
	return exitOK, true
}

// usageError reports a usage error on stderr in one line, with the
// command's prefix like every other line of appws and where its help is
// ("appws connect: -url and -app are required (see 'appws help
// connect')"), and returns exit status 2. The whole usage is one command
// away; printed here it would bury the one line that matters.
func usageError(fs *flag.FlagSet, std stdio, format string, args ...any) int {
	help := "appws help"
	if name := strings.TrimPrefix(fs.Name(), "appws "); name != "help" {
		help += " " + name
	}
	fmt.Fprintf(std.errOut, "%s: %s (see '%s')\n", fs.Name(), fmt.Sprintf(format, args...), help)
	return exitUsage
}

// password returns the password from -password-file (trailing newline
// removed) or else from the environment variable APPWS_PASSWORD. ok is false
// when neither is set.
func password(file string) (pw string, ok bool, err error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", false, fmt.Errorf("password file: %w", err)
		}
		return strings.TrimRight(string(b), "\r\n"), true, nil
	}
	pw, ok = os.LookupEnv("APPWS_PASSWORD")
	return pw, ok, nil
}

// syncWriter serializes writes: the event loop, the stdin reader and the
// logger write to the same streams.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
