package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/internal/urltext"
)

// pbxFlags are the flags of the commands that log in to a PBX app object
// with -url, or run an embedded fake PBX without it: calls, users,
// presence and admin. They are defined, checked and turned into a client
// here, once, so that the commands agree on what the flags mean, on the
// exit status of a mistake, and on never printing a password in a URL.
type pbxFlags struct {
	url, pbxObj, caCert *string
	l                   loginFlags
	insecure, verbose   *bool
}

// addPBXFlags defines the flags on fs.
func addPBXFlags(fs *flag.FlagSet) pbxFlags {
	return pbxFlags{
		url:      fs.String("url", "", "PBX app object `URL`, ws:// or wss:// (default: an embedded fake PBX)"),
		l:        addLoginFlags(fs),
		pbxObj:   fs.String("pbxobj", "", "login pbxObj (not covered by the digest)"),
		caCert:   fs.String("cacert", "", "trust the CA certificates in PEM `FILE` (besides the system's)"),
		insecure: fs.Bool("insecure", false, "do not verify the server's certificate (DANGEROUS)"),
		verbose:  fs.Bool("v", false, "log the library's connection events to stderr"),
	}
}

// fake reports whether the command runs against its embedded fake PBX (no
// -url).
func (f pbxFlags) fake() bool { return *f.url == "" }

// check applies the rules the flags share: -app and -url go together, and
// -url is a ws:// or wss:// URL. A violation is a usage error: one line on
// stderr, exit status 2.
func (f pbxFlags) check(fs *flag.FlagSet, std stdio) (int, bool) {
	switch {
	case f.fake() && *f.l.app != "":
		return usageError(fs, std, "-app needs -url (without -url it runs an embedded fake PBX)"), false
	case !f.fake() && *f.l.app == "":
		return usageError(fs, std, "-url needs -app"), false
	case !f.fake():
		if err := checkURL(*f.url); err != nil {
			return usageError(fs, std, "%v", err), false
		}
	}
	return exitOK, true
}

// options returns the Options of a password login to -url: the password
// from -password-file or APPWS_PASSWORD, TLS from -cacert and -insecure.
// On failure it has printed one line and returns the exit status.
func (f pbxFlags) options(fs *flag.FlagSet, std stdio) (appws.Options, int, bool) {
	pw, code, ok := needPassword(fs, *f.l.pwFile, std)
	if !ok {
		return appws.Options{}, code, false
	}
	o, err := f.l.options(*f.url, pw, *f.pbxObj, *f.caCert, *f.insecure, std.errOut, fs.Name())
	if err != nil {
		fmt.Fprintf(std.errOut, "%s: %v\n", fs.Name(), err)
		return o, exitFail, false
	}
	return o, exitOK, true
}

// dial connects with opts within dialTimeout; with -v the library logs its
// connection events to stderr. A PBX dialed with AutoReconnect may take a
// while (Dial retries quietly): a line says so first. On failure it has
// printed one line, with the URL as it may be shown (no password), and
// returns the exit status: 2 for options Dial refused, else 1.
func (f pbxFlags) dial(ctx context.Context, opts appws.Options, cmd string, std stdio) (*appws.Client, int, bool) {
	if *f.verbose {
		opts.Logger = slog.New(slog.NewTextHandler(std.errOut, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	shown := urltext.Redacted(opts.URL)
	if !f.fake() && opts.AutoReconnect {
		fmt.Fprintf(std.errOut, "%s: connecting to %s (retrying for up to %v)\n", cmd, shown, dialTimeout)
	}
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	c, err := appws.Dial(dctx, opts)
	cancel()
	if err != nil {
		fmt.Fprintf(std.errOut, "%s: %s\n", cmd, dialFailure(shown, err))
		if errors.As(err, new(*appws.ConfigError)) {
			return nil, exitUsage, false
		}
		return nil, exitFail, false
	}
	return c, exitOK, true
}
