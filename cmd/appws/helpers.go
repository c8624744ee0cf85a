package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/wire"
)

// The helper commands print what the protocol computes from given inputs,
// for comparing with a server's or another client's idea of a login. They
// print secrets the user supplied on purpose, but never echo the password.

// loginFlags are the AppLogin fields and the password source, shared by
// connect and digest.
type loginFlags struct {
	app, domain, sip, guid, dn, info, pwFile *string
}

func addLoginFlags(fs *flag.FlagSet) loginFlags {
	return loginFlags{
		app:    fs.String("app", "", "app `name` to log in to (required)"),
		domain: fs.String("domain", "", "login domain"),
		sip:    fs.String("sip", "", "login sip"),
		guid:   fs.String("guid", "", "login guid"),
		dn:     fs.String("dn", "", "login display name"),
		info:   fs.String("info", "", "login info, a JSON `object` (hashed in its canonical form)"),
		pwFile: fs.String("password-file", "", "read the password from `FILE` instead of APPWS_PASSWORD"),
	}
}

// options builds the Options of a password login from the login flags, with
// the TLS settings of -cacert and -insecure (a warning goes to errOut when
// verification is off). The error is for the caller to print with its
// command's prefix.
func (l loginFlags) options(url, password, pbxObj, caCert string, insecure bool, errOut io.Writer, cmd string) (appws.Options, error) {
	o := appws.Options{
		URL: url, App: *l.app, Password: password,
		Domain: *l.domain, SIP: *l.sip, GUID: *l.guid, DN: *l.dn, PbxObj: pbxObj,
	}
	if *l.info != "" {
		o.Info = json.RawMessage(*l.info)
	}
	if caCert != "" || insecure {
		tc, err := tlsConfig(caCert, insecure)
		if err != nil {
			return o, err
		}
		if insecure {
			fmt.Fprintln(errOut, cmd+": WARNING: -insecure: the server's certificate is NOT verified; "+
				"anyone on the path can read the session and the password digest")
		}
		o.TLSConfig = tc
	}
	return o, nil
}

func runDigest(_ context.Context, args []string, std stdio) int {
	fs := newFlags("digest", "-app A -challenge C [-domain D -sip S -guid G -dn DN -info JSON] [-password-file FILE]",
		"Prints the AppLogin digest: SHA-256 of app:domain:sip:guid:dn[:info]:challenge:password.\n"+
			"The password comes from -password-file or APPWS_PASSWORD.")
	l := addLoginFlags(fs)
	challenge := fs.String("challenge", "", "the server's `challenge` (required)")
	if code, ok := parseFlags(fs, args, 0, std); !ok {
		return code
	}
	if *l.app == "" || *challenge == "" {
		return usageError(fs, std, "-app and -challenge are required")
	}
	pw, code, ok := needPassword(fs, *l.pwFile, std)
	if !ok {
		return code
	}
	d, err := wire.LoginFields{App: *l.app, Domain: *l.domain, SIP: *l.sip, GUID: *l.guid, DN: *l.dn, Info: json.RawMessage(*l.info)}.Digest(*challenge, pw)
	if err != nil {
		fmt.Fprintf(std.errOut, "appws digest: -info: %s\n", errText(err, "info"))
		return exitFail
	}
	fmt.Fprintln(std.out, d)
	return exitOK
}

func runSessionKey(_ context.Context, args []string, std stdio) int {
	fs := newFlags("sessionkey", "-challenge C [-password-file FILE]",
		"Prints the session key of a password login: SHA-256 of\n"+
			"\"innovaphoneAppSessionKey:\" + challenge + \":\" + password.\n"+
			"The password comes from -password-file or APPWS_PASSWORD.")
	challenge := fs.String("challenge", "", "the server's `challenge` (required)")
	pwFile := fs.String("password-file", "", "read the password from `FILE` instead of APPWS_PASSWORD")
	if code, ok := parseFlags(fs, args, 0, std); !ok {
		return code
	}
	if *challenge == "" {
		return usageError(fs, std, "-challenge is required")
	}
	pw, code, ok := needPassword(fs, *pwFile, std)
	if !ok {
		return code
	}
	fmt.Fprintln(std.out, appws.SessionKey(*challenge, pw))
	return exitOK
}

func runEncrypt(_ context.Context, args []string, std stdio) int {
	return keyed("encrypt", "Prints DATA encrypted with RC4 under the key seed \":\" sessionKey, as lowercase hex.\n"+
		"RC4 is the protocol's choice and weak: use this for debugging only.", args, std,
		func(key, seed, data string) (string, error) { return appws.Encrypt(key, seed, data), nil })
}

func runDecrypt(_ context.Context, args []string, std stdio) int {
	return keyed("decrypt", "Prints hex DATA (upper or lower case) decrypted with RC4 under the key\n"+
		"seed \":\" sessionKey. RC4 is the protocol's choice and weak: use this for\n"+
		"debugging only.", args, std, appws.Decrypt)
}

func runHash(_ context.Context, args []string, std stdio) int {
	return keyed("hash", "Prints the SHA-256 of seed \":\" sessionKey \":\" DATA, as lowercase hex.", args, std,
		func(key, seed, data string) (string, error) { return appws.Hash(key, seed, data), nil })
}

// keyed runs one of the session key helpers: flags -key and -seed, one DATA
// argument.
func keyed(name, about string, args []string, std stdio, f func(key, seed, data string) (string, error)) int {
	fs := newFlags(name, "[-key K] [-seed S] DATA",
		about+"\nThe session key comes from -key or APPWS_SESSION_KEY.")
	key := fs.String("key", "", "the session `key` (default $APPWS_SESSION_KEY)")
	seed := fs.String("seed", "", "the `seed` (may be empty)")
	if code, ok := parseFlags(fs, args, 1, std); !ok {
		return code
	}
	if fs.NArg() != 1 {
		return usageError(fs, std, "DATA is required")
	}
	k := *key
	if k == "" {
		k = os.Getenv("APPWS_SESSION_KEY")
	}
	if k == "" {
		return usageError(fs, std, "no session key: use -key or set APPWS_SESSION_KEY")
	}
	out, err := f(k, *seed, fs.Arg(0))
	if err != nil {
		fmt.Fprintf(std.errOut, "appws %s: %s\n", name, errText(err, name))
		return exitFail
	}
	fmt.Fprintln(std.out, out)
	return exitOK
}

// needPassword returns the password of a command with -password-file, or
// reports why there is none and the exit status.
func needPassword(fs *flag.FlagSet, file string, std stdio) (string, int, bool) {
	pw, ok, err := password(file)
	if err != nil {
		fmt.Fprintf(std.errOut, "%s: %v\n", fs.Name(), err)
		return "", exitFail, false
	}
	if !ok {
		return "", usageError(fs, std, "no password: set APPWS_PASSWORD or use -password-file"), false
	}
	return pw, exitOK, true
}
