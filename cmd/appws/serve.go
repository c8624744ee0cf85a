package main

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/appwebsocket/appws/appwstest"
)

// defaultListen is loopback with a port chosen by the system.
const defaultListen = "127.0.0.1:0"

func runServe(ctx context.Context, args []string, std stdio) int {
	fs := newFlags("serve", "-app NAME=PASSWORD ... [-domain D] [-listen ADDR] [-v]",
		"Runs a local AppWebsocket test server, an echo service: every request mt\n"+
			"is answered with {\"mt\":mt+\"Result\",\"src\":...,\"echo\":<request>}. It prints\n"+
			"its websocket URL as the first line on stdout, logs sessions on stderr and\n"+
			"runs until Ctrl-C. Logins are checked as a real server does, so any correct\n"+
			"AppWebsocket client can log in, innovaphone's JavaScript client included.\n"+
			"An -app without =PASSWORD takes the password from APPWS_PASSWORD.")
	apps := map[string]string{}
	fs.Func("app", "accept logins to app `NAME=PASSWORD` (repeatable, required)", func(v string) error {
		name, pw, ok := strings.Cut(v, "=")
		if !ok {
			pw, ok = os.LookupEnv("APPWS_PASSWORD")
			if !ok {
				return fmt.Errorf("%q has no =PASSWORD and APPWS_PASSWORD is not set", v)
			}
		}
		if name == "" {
			return fmt.Errorf("%q has no app name", v)
		}
		apps[name] = pw
		return nil
	})
	domain := fs.String("domain", "", "domain reported in AppLoginResult (default: the login's domain)")
	path := fs.String("path", "/appws", "URL `path` of the websocket endpoint")
	listen := fs.String("listen", defaultListen, "listen `address` (host:port; port 0 picks a free one)")
	verbose := fs.Bool("v", false, "log connections and failures in detail")
	if code, ok := parseFlags(fs, args, 0, std); !ok {
		return code
	}
	if len(apps) == 0 {
		return usageError(fs, std, "at least one -app NAME=PASSWORD is required")
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
		return 1
	}

	srv := appwstest.NewServer(appwstest.Config{
		Listener: ln,
		Apps:     apps,
		Domain:   *domain,
		Path:     *path,
		Logger:   log,
	})
	// The URL comes first and alone on stdout, for scripts.
	fmt.Fprintln(std.out, srv.URL)
	names := slices.Sorted(maps.Keys(apps))
	log.Info("appws serve: listening; Ctrl-C stops", "url", srv.URL, "apps", strings.Join(names, ","))

	watchCtx, stopWatching := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { watchSessions(watchCtx, srv, log, &wg) })
	<-ctx.Done()
	stopWatching()
	srv.Close()
	wg.Wait()
	log.Info("appws serve: stopped")
	return exitOK
}

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
