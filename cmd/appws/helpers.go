package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"

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

// -app is required wherever the server is: always for digest (no -url) and
// connect (-url required); with -url only for calls and users, whose -url is
// optional (without it they run an embedded fake). addLoginFlags tells them
// apart by the usage of a -url flag defined before it.
func addLoginFlags(fs *flag.FlagSet) loginFlags {
	appUsage := "app `name` to log in to (required)"
	if u := fs.Lookup("url"); u != nil && !strings.Contains(u.Usage, "(required)") {
		appUsage = "app `name` to log in to (required with -url)"
	}
	return loginFlags{
		app:    fs.String("app", "", appUsage),
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
		return usageError(fs, std, "-info: %s", infoText(errText(err)))
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
	var hexOut *bool
	return keyedWith("decrypt", "Prints hex DATA (upper or lower case) decrypted with RC4 under the key\n"+
		"seed \":\" sessionKey. RC4 is the protocol's choice and weak: use this for\n"+
		"debugging only.\n"+
		"\n"+
		"RC4 decrypts with any key: a wrong key or seed gives bytes, not an error.\n"+
		"What is not UTF-8 text (or holds control characters other than tab and\n"+
		"newline) is not printed: appws says so and exits 1. -hex prints the\n"+
		"result in hex whatever it is.", args, std,
		func(fs *flag.FlagSet) {
			hexOut = fs.Bool("hex", false, "print the result as lowercase hex, text or not")
		},
		func(key, seed, data string) (string, error) {
			plain, err := appws.Decrypt(key, seed, data)
			switch {
			case err != nil:
				return "", err
			case *hexOut:
				return hex.EncodeToString([]byte(plain)), nil
			case !isText(plain):
				return "", errors.New("the result is not text (a wrong key or seed?); -hex prints it in hex")
			}
			return plain, nil
		})
}

// isText says whether s is UTF-8 without control characters other than
// tab, newline and carriage return: what decrypt prints as it is.
func isText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' {
			return false
		}
	}
	return true
}

func runHash(_ context.Context, args []string, std stdio) int {
	return keyed("hash", "Prints the SHA-256 of seed \":\" sessionKey \":\" DATA, as lowercase hex.", args, std,
		func(key, seed, data string) (string, error) { return appws.Hash(key, seed, data), nil })
}

// keyed runs one of the session key helpers: flags -key and -seed, one DATA
// argument.
func keyed(name, about string, args []string, std stdio, f func(key, seed, data string) (string, error)) int {
	return keyedWith(name, about, args, std, nil, f)
}

// keyedWith is keyed with flags of the command's own, which more defines.
func keyedWith(name, about string, args []string, std stdio, more func(*flag.FlagSet), f func(key, seed, data string) (string, error)) int {
	synopsis := "[-key K] [-seed S] DATA"
	if more != nil {
		synopsis = "[-key K] [-seed S] [flags] DATA"
	}
	fs := newFlags(name, synopsis,
		about+"\nThe session key comes from -key or APPWS_SESSION_KEY.")
	key := fs.String("key", "", "the session `key` (default $APPWS_SESSION_KEY)")
	seed := fs.String("seed", "", "the `seed` (may be empty)")
	if more != nil {
		more(fs)
	}
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
