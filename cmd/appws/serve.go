package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/gorilla/websocket"

	"github.com/appwebsocket/appws/appwstest"
)

// defaultListen is loopback with a port chosen by the system.
const defaultListen = "127.0.0.1:0"

func runServe(ctx context.Context, args []string, std stdio) int {
	fs := newFlags("serve", "-app NAME[=PASSWORD|=@FILE|=env:VAR] ... [-domain D] [-listen ADDR] [-path P] [-v]",
		"Runs a local AppWebsocket test server, an echo service: every message is\n"+
			"answered with {\"mt\":mt+\"Result\",\"api\":api,\"src\":src,\"echo\":<the message>}\n"+
			"(api and src only when the message had them). It prints its websocket URL\n"+
			"as the first line on stdout, logs sessions on stderr and runs until Ctrl-C\n"+
			"or SIGTERM, which close every session with 1001 (going away). Logins are\n"+
			"checked as a real server does, so any correct AppWebsocket client can log\n"+
			"in, innovaphone's JavaScript client included.\n"+
			"\n"+
			"The password of each -app, never empty:\n"+
			"  NAME            from the environment variable APPWS_PASSWORD\n"+
			"  NAME=env:VAR    from the environment variable VAR\n"+
			"  NAME=@FILE      from FILE (a trailing newline is removed)\n"+
			"  NAME=PASSWORD   as given: it shows in the process list, so use it only\n"+
			"                  for throwaway passwords")
	apps := map[string]string{}
	var appErr error
	fs.Func("app", "accept logins to the app `NAME[=...]` with the password given as above (repeatable, required)", func(v string) error {
		// Reported after parsing: the flag package would quote v, which may
		// hold a password.
		name, pw, err := appPassword(v)
		if err != nil {
			appErr = cmp.Or(appErr, err)
			return nil
		}
		apps[name] = pw
		return nil
	})
	domain := fs.String("domain", "", "the app instance's `domain`, reported in AppLoginResult")
	path := fs.String("path", "/appws", "URL `path` of the websocket endpoint")
	listen := fs.String("listen", defaultListen, "listen `address` (host:port; port 0 picks a free one)")
	verbose := fs.Bool("v", false, "log connections and failures in detail")
	if code, ok := parseFlags(fs, args, 0, std); !ok {
		return code
	}
	var unreadable *readError
	switch {
	case errors.As(appErr, &unreadable):
		// The command line is right; the file is not there for it.
		fmt.Fprintf(std.errOut, "appws serve: -app: %v\n", appErr)
		return exitFail
	case appErr != nil:
		return usageError(fs, std, "-app: %v", appErr)
	}
	if len(apps) == 0 {
		return usageError(fs, std, "at least one -app is required")
	}
	if !strings.HasPrefix(*path, "/") {
		return usageError(fs, std, "-path must start with /")
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(std.errOut, &slog.HandlerOptions{Level: level}))
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(std.errOut, "appws serve: cannot listen on %s: %v\n", *listen, err)
		return exitFail
	}

	srv := appwstest.NewServer(appwstest.Config{
		Listener: ln,
		Apps:     apps,
		Domain:   *domain,
		Path:     *path,
		Logger:   log,
		// serve runs for long: keep only the newest messages of a session.
		RecordLimit: 1000,
	})
	// The URL comes first and alone on stdout, for scripts.
	fmt.Fprintln(std.out, srv.URL)
	names := slices.Sorted(maps.Keys(apps))
	log.Info("appws serve: listening; Ctrl-C or SIGTERM stops", "url", srv.URL, "apps", strings.Join(names, ","))

	watchCtx, stopWatching := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { watchSessions(watchCtx, srv, log, &wg) })
	<-ctx.Done()
	stopWatching()
	goingAway(srv)
	srv.Close()
	wg.Wait()
	log.Info("appws serve: stopped")
	return exitOK
}

// goingAway closes every logged-in session with 1001 (going away), as a
// server that shuts down does, and returns when the close frames were
// written (each waits at most a second for its client). Server.Close then
// drops what is left: connections still logging in.
func goingAway(srv *appwstest.Server) {
	var wg sync.WaitGroup
	for _, ss := range srv.Sessions() {
		wg.Go(func() { ss.Close(websocket.CloseGoingAway, "server shutting down") })
	}
	wg.Wait()
}

// appPassword parses the value of -app: NAME, NAME=PASSWORD, NAME=@FILE or
// NAME=env:VAR. Its errors never show the password.
func appPassword(v string) (name, pw string, err error) {
	name, spec, hasPw := strings.Cut(v, "=")
	if name == "" {
		return "", "", errors.New("an -app value has no app name before =")
	}
	var from string
	switch {
	case !hasPw:
		from = "APPWS_PASSWORD"
		var ok bool
		if pw, ok = os.LookupEnv("APPWS_PASSWORD"); !ok {
			return "", "", fmt.Errorf("app %q: no =PASSWORD and APPWS_PASSWORD is not set", name)
		}
	case strings.HasPrefix(spec, "env:"):
		from = "$" + spec[len("env:"):]
		var ok bool
		if pw, ok = os.LookupEnv(spec[len("env:"):]); !ok {
			return "", "", fmt.Errorf("app %q: environment variable %s is not set", name, spec[len("env:"):])
		}
	case strings.HasPrefix(spec, "@"):
		from = spec[1:]
		b, err := os.ReadFile(spec[1:])
		if err != nil {
			return "", "", &readError{fmt.Errorf("app %q: password file: %w", name, err)}
		}
		pw = strings.TrimRight(string(b), "\r\n")
	default:
		from = "the command line"
		pw = spec
	}
	if pw == "" {
		return "", "", fmt.Errorf("app %q: the password from %s is empty", name, from)
	}
	return name, pw, nil
}

// readError is a password file that cannot be read: exit status 1, not a
// usage error.
type readError struct{ error }

func (e *readError) Unwrap() error { return e.error }

// watchSessions logs the end of every session that logged in (the server
// itself logs the login) until ctx ends.
func watchSessions(ctx context.Context, srv *appwstest.Server, log *slog.Logger, wg *sync.WaitGroup) {
	for {
		ss, err := srv.NextSession(ctx)
		if err != nil {
			return
		}
		wg.Go(func() {
			select {
			case <-ss.Done():
				log.Info("appws serve: session ended", "session", ss.ID())
			case <-ctx.Done():
			}
		})
	}
}
