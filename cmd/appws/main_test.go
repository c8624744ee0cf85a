package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/appwstest"
	"github.com/appwebsocket/appws/internal/testutil"
	"github.com/gorilla/websocket"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// safeBuffer is what run writes to while a test reads it (calls_test.go
// names it so too).
type safeBuffer = testutil.Buffer

// waitTimeout bounds a wait for what should come: only a broken test waits
// that long.
const waitTimeout = 30 * time.Second

// runCmd runs the command in-process and returns its exit status, stdout and
// stderr.
func runCmd(t *testing.T, ctx context.Context, stdin io.Reader, args ...string) (int, string, string) {
	t.Helper()
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	var stdout, stderr safeBuffer
	code := run(ctx, args, stdin, &stdout, &stderr)
	t.Logf("appws %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, stdout.String(), stderr.String())
	return code, stdout.String(), stderr.String()
}

// passwordFile writes pw to a file in a temporary directory, with a trailing
// newline as editors leave it.
func passwordFile(t *testing.T, pw string) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(name, []byte(pw+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}

// unsetEnv removes an environment variable for the duration of the test.
func unsetEnv(t *testing.T, key string) {
	t.Setenv(key, "") // restores the old value after the test
	os.Unsetenv(key)
}

// jsonLines parses every stdout line as a JSON object.
func jsonLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for l := range strings.Lines(out) {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("stdout line %q is not a JSON object: %v", l, err)
		}
		lines = append(lines, m)
	}
	return lines
}

func TestUsage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"help"}, exitOK, "Commands:", ""},
		{[]string{"-h"}, exitOK, "Commands:", ""},
		{[]string{"help", "connect"}, exitOK, "-password-file", ""},
		{[]string{"connect", "-h"}, exitOK, "-reconnect", ""},
		{[]string{"nonsense"}, exitUsage, "", `unknown command "nonsense"`},
		{[]string{"connect", "-nonsense"}, exitUsage, "", "flag provided but not defined: -nonsense"},
		{[]string{"connect", "-app", "x"}, exitUsage, "", "-url and -app are required"},
		{[]string{"serve"}, exitUsage, "", "at least one -app"},
		{[]string{"encrypt", "-key", "k"}, exitUsage, "", "DATA is required"},
		{[]string{"demo", "extra"}, exitUsage, "", `unexpected argument "extra"`},
	} {
		code, stdout, stderr := runCmd(t, t.Context(), nil, tc.args...)
		if code != tc.code || !strings.Contains(stdout, tc.stdout) || !strings.Contains(stderr, tc.stderr) {
			t.Errorf("appws %v: exit %d, want %d with %q on stdout and %q on stderr", tc.args, code, tc.code, tc.stdout, tc.stderr)
		}
		if tc.code == exitUsage && (strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "(see 'appws help")) {
			t.Errorf("appws %v: stderr %q, want one line that says where the help is", tc.args, stderr)
		}
	}
}

// demoOutput is what the demo prints, every run (README.md shows it).
const demoOutput = `server      ws://appwstest.invalid/appws (in memory; app "demo", challenge 4711471147114711)
login       session 1, domain "example.com"
request     {"mt":"Echo","text":"hello"}
reply       {"mt":"EchoResult","src":"appws-1","echo":{"mt":"Echo","text":"hello","src":"appws-1"}}
send        id 1: {"mt":"Subscribe","src":"news"}
sendResult  id 1: written
message     {"mt":"SubscribeResult","src":"news","echo":{"mt":"Subscribe","src":"news"}}
message     {"mt":"Notify","src":"news","text":"pushed by the server"}
encrypt     seed "demo-seed", "Hello, AppWebsocket!" -> 056e8bbb2850a0dc88d65e72ab5269d0c43cfa39
decrypt     056e8bbb2850a0dc88d65e72ab5269d0c43cfa39 -> "Hello, AppWebsocket!"
close
closed      cleanly, 0 undelivered messages dropped
`

func TestDemoOutputIsTheSameEveryRun(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{nil, {"demo"}, {"demo"}} {
		code, stdout, stderr := runCmd(t, t.Context(), nil, args...)
		if code != exitOK {
			t.Fatalf("appws %v: exit %d: %s", args, code, stderr)
		}
		if stdout != demoOutput {
			t.Errorf("appws %v printed\n%s\nwant\n%s", args, stdout, demoOutput)
		}
	}
}

func TestConnectRoundTripsJSONLines(t *testing.T) {
	t.Parallel()
	srv := appwstest.NewServer(appwstest.Config{Apps: map[string]string{"echo": "s3cret"}, Domain: "example.com"})
	defer srv.Close()
	stdin := strings.NewReader("{\"mt\":\"Ping\",\"src\":\"a\"}\n\n  {\"mt\":\"GetThing\",\"api\":\"Test\"}  \n")
	code, stdout, stderr := runCmd(t, t.Context(), stdin, "connect", "-url", srv.URL, "-app", "echo",
		"-password-file", passwordFile(t, "s3cret"), "-linger", "300ms")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := jsonLines(t, stdout)
	if len(lines) == 0 || lines[0]["event"] != "connect" || lines[0]["domain"] != "example.com" {
		t.Fatalf("first line is not the connect event: %v", lines)
	}
	if last := lines[len(lines)-1]; last["event"] != "closed" || last["error"] != nil {
		t.Errorf("last line %v, want a clean closed event", last)
	}
	var results int
	var replies []string
	for _, l := range lines {
		if l["event"] == "sendResult" {
			results++
			if l["error"] != nil {
				t.Errorf("send failed: %v", l)
			}
		}
		if mt, ok := l["mt"].(string); ok {
			replies = append(replies, mt)
		}
	}
	if results != 2 {
		t.Errorf("%d sendResult events, want 2", results)
	}
	if strings.Join(replies, ",") != "PingResult,GetThingResult" {
		t.Errorf("replies %v, want PingResult and GetThingResult", replies)
	}
	if !strings.Contains(stdout, `{"mt":"PingResult","src":"a","echo":{"mt":"Ping","src":"a"}}`) {
		t.Error("the reply is not printed exactly as received")
	}
	if strings.Contains(stdout+stderr, "s3cret") {
		t.Error("the password was printed")
	}
}

func TestConnectReportsUnsentLinesAndFails(t *testing.T) {
	srv := appwstest.NewServer(appwstest.Config{Apps: map[string]string{"echo": "pw"}})
	defer srv.Close()
	t.Setenv("APPWS_PASSWORD", "pw")
	stdin := strings.NewReader("not json\n{\"mt\":5}\n{\"mt\":\"After\"}\n")
	code, stdout, stderr := runCmd(t, t.Context(), stdin, "connect", "-url", srv.URL, "-app", "echo", "-linger", "300ms")
	if code != exitFail {
		t.Errorf("exit %d with lines not sent, want %d", code, exitFail)
	}
	for _, want := range []string{
		"stdin line 1 not sent: ",
		"stdin line 2 not sent: ",
		"2 of 3 input messages not sent (2 refused by Send, 0 failed after Send",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q", want)
		}
	}
	if !strings.Contains(stdout, `"mt":"AfterResult"`) {
		t.Error("the session did not go on after the invalid lines")
	}
	jsonLines(t, stdout)
}

func TestConnectWithoutURLSchemeSaysSo(t *testing.T) {
	t.Setenv("APPWS_PASSWORD", "pw")
	for _, tc := range []struct{ url, want string }{
		{"127.0.0.1:1234/x", "-url has no scheme: it must start with ws:// or wss://"},
		{"http://127.0.0.1:1234/x", "not http:// (use ws://"},
		{"https://127.0.0.1:1234/x", "not https:// (use wss://"},
		{"ftp://127.0.0.1:1234/x", "-url must start with ws:// or wss://"},
	} {
		code, _, stderr := runCmd(t, t.Context(), nil, "connect", "-url", tc.url, "-app", "echo")
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("-url %s: exit %d, stderr %q; want %d and %q", tc.url, code, stderr, exitUsage, tc.want)
		}
		if strings.Contains(stderr, "cannot be parsed") {
			t.Errorf("-url %s: the library's error instead of the command's", tc.url)
		}
	}
}

func TestConnectWrongPasswordFails(t *testing.T) {
	srv := appwstest.NewServer(appwstest.Config{Apps: map[string]string{"echo": "right"}, LoginErrorDetails: true})
	defer srv.Close()
	t.Setenv("APPWS_PASSWORD", "wrong")
	code, stdout, stderr := runCmd(t, t.Context(), nil, "connect", "-url", srv.URL, "-app", "echo")
	if code == exitOK {
		t.Fatal("exit 0 after a failed login")
	}
	if !strings.HasPrefix(stderr, "appws connect: login rejected: ") || !strings.Contains(stderr, "wrong digest") {
		t.Errorf("stderr %q lacks the server's reason", stderr)
	}
	if stdout != "" {
		t.Errorf("stdout %q, want nothing", stdout)
	}
}

func TestConnectUnreachableIsOneLine(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	t.Setenv("APPWS_PASSWORD", "pw")
	for _, u := range []string{"ws://" + addr + "/appws", refusingServer(t) + "/nowhere"} {
		code, _, stderr := runCmd(t, t.Context(), nil, "connect", "-url", u, "-app", "echo")
		if code != exitFail {
			t.Errorf("%s: exit %d, want %d", u, code, exitFail)
		}
		if strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "appws connect: cannot connect to "+u+": ") {
			t.Errorf("%s: stderr %q, want one line", u, stderr)
		}
		if strings.Count(stderr, "connect to") != 1 || strings.Contains(stderr, " appws: ") {
			t.Errorf("%s: stderr %q repeats a prefix", u, stderr)
		}
	}
}

// refusingServer returns the base URL of a server that answers 404 to every
// upgrade (appwstest answers 404 outside its path).
func refusingServer(t *testing.T) string {
	srv := appwstest.NewServer(appwstest.Config{})
	t.Cleanup(srv.Close)
	return strings.TrimSuffix(srv.URL, "/appws")
}

func TestConnectNeedsPassword(t *testing.T) {
	unsetEnv(t, "APPWS_PASSWORD")
	code, _, stderr := runCmd(t, t.Context(), nil, "connect", "-url", "ws://127.0.0.1:1/", "-app", "echo")
	if code != exitUsage || !strings.Contains(stderr, "APPWS_PASSWORD") {
		t.Errorf("exit %d, stderr %q: want a usage error about the password", code, stderr)
	}
}

func TestConnectInterruptClosesCleanly(t *testing.T) {
	srv := appwstest.NewServer(appwstest.Config{Apps: map[string]string{"echo": "pw"}})
	defer srv.Close()
	t.Setenv("APPWS_PASSWORD", "pw")
	stdinR, stdinW := io.Pipe()
	defer stdinW.Close() // ends the abandoned stdin reader
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		// Interrupt once the session is up and one message went through.
		if _, err := stdinW.Write([]byte("{\"mt\":\"Ping\"}\n")); err != nil {
			t.Error(err)
		}
		if ss, err := srv.NextSession(ctx); err == nil {
			ss.WaitReceived(ctx, 1)
		}
		cancel()
	}()
	code, stdout, _ := runCmd(t, ctx, stdinR, "connect", "-url", srv.URL, "-app", "echo")
	if code != exitOK {
		t.Fatalf("exit %d after interrupt, want 0", code)
	}
	lines := jsonLines(t, stdout)
	if last := lines[len(lines)-1]; last["event"] != "closed" {
		t.Errorf("last line %v, want the closed event", last)
	}
}

func TestConnectReconnects(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the reconnect backoff")
	}
	srv := appwstest.NewServer(appwstest.Config{Apps: map[string]string{"echo": "pw"}})
	defer srv.Close()
	t.Setenv("APPWS_PASSWORD", "pw")
	stdinR, stdinW := io.Pipe()
	defer stdinW.Close()
	var stdout, stderr safeBuffer
	exit := make(chan int, 1)
	go func() {
		exit <- run(t.Context(), []string{"connect", "-reconnect", "-linger", "0", "-url", srv.URL, "-app", "echo"},
			stdinR, &stdout, &stderr)
	}()
	waitFor(t, &stdout, `"session":1`)
	srv.DropAll()
	waitFor(t, &stdout, `"session":2`)
	stdinW.Close() // end of input: close
	if code := <-exit; code != exitOK {
		t.Fatalf("exit %d; stderr %s", code, stderr.String())
	}
	var events []string
	for _, l := range jsonLines(t, stdout.String()) {
		events = append(events, l["event"].(string))
		if l["event"] == "disconnected" && (l["retryIn"] == "" || l["attempt"] != 0.0 || l["session"] != 1.0) {
			t.Errorf("disconnected event %v", l)
		}
	}
	if got := strings.Join(events, ","); got != "connect,disconnected,connect,closed" {
		t.Errorf("events %s, want connect,disconnected,connect,closed", got)
	}
	if !strings.Contains(stderr.String(), "disconnected:") {
		t.Error("no disconnect status on stderr")
	}
}

// waitFor waits until b holds s: every write to b wakes it.
func waitFor(t *testing.T, b *safeBuffer, s string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	if held, err := b.WaitFor(ctx, s); err != nil {
		t.Fatalf("no %s in %q: %v", s, held, err)
	}
}

func TestConnectTLS(t *testing.T) {
	srv := appwstest.NewTLSServer(appwstest.Config{Apps: map[string]string{"echo": "pw"}})
	defer srv.Close()
	t.Setenv("APPWS_PASSWORD", "pw")
	args := []string{"connect", "-url", srv.URL, "-app", "echo", "-linger", "0"}

	code, _, stderr := runCmd(t, t.Context(), nil, args...)
	if code != exitFail || strings.Count(stderr, "\n") != 1 {
		t.Errorf("untrusted certificate: exit %d, stderr %q; want one line and exit 1", code, stderr)
	}

	code, _, stderr = runCmd(t, t.Context(), nil, append(args, "-insecure")...)
	if code != exitOK || !strings.Contains(stderr, "WARNING") {
		t.Errorf("-insecure: exit %d, want 0 and a WARNING on stderr", code)
	}

	code, _, _ = runCmd(t, t.Context(), nil, append(args, "-cacert", serverCertPEM(t, srv))...)
	if code != exitOK {
		t.Errorf("-cacert: exit %d, want 0", code)
	}
}

// serverCertPEM writes the TLS server's certificate to a PEM file.
func serverCertPEM(t *testing.T, srv *appwstest.Server) string {
	t.Helper()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := tls.Dial("tcp", u.Host, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cert := conn.ConnectionState().PeerCertificates[0]
	name := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(name, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}

func TestServeAcceptsLogin(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	outR, outW := io.Pipe()
	var stderr safeBuffer
	exit := make(chan int, 1)
	go func() {
		code := run(ctx, []string{"serve", "-app", "myapp=pw", "-domain", "example.com"}, strings.NewReader(""), outW, &stderr)
		outW.Close()
		exit <- code
	}()
	out := bufio.NewReader(outR)
	first, err := out.ReadString('\n')
	if err != nil {
		t.Fatalf("no URL on stdout: %v; stderr %s", err, stderr.String())
	}
	go io.Copy(io.Discard, out) // whatever else serve prints; ends with outW.Close
	u := strings.TrimSpace(first)
	if !strings.HasPrefix(u, "ws://127.0.0.1:") {
		t.Fatalf("first stdout line %q is not the URL", first)
	}

	// Log in as innovaphone's JavaScript client does.
	dctx, dcancel := context.WithTimeout(ctx, 5*time.Second)
	defer dcancel()
	c, err := appws.Dial(dctx, appws.Options{
		URL: u, App: "myapp", Password: "pw",
		SIP: "myapp", GUID: "00000000000000000000000000000000", DN: "Admin", PbxObj: "myapp",
	})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	if cc, ok := (<-c.Events()).(appws.ConnectComplete); !ok || cc.Domain != "example.com" {
		t.Errorf("first event %+v, want ConnectComplete with domain example.com", cc)
	}
	reply, err := c.Request(dctx, map[string]string{"mt": "Hello"})
	if err != nil || reply.MT != "HelloResult" {
		t.Errorf("request: %v, %v; want a HelloResult", reply.MT, err)
	}
	c.Close()
	for range c.Events() {
	}

	cancel()
	if code := <-exit; code != exitOK {
		t.Errorf("serve: exit %d after cancel, want 0", code)
	}
	if log := stderr.String(); !strings.Contains(log, "logged in") || !strings.Contains(log, "stopped") {
		t.Errorf("stderr lacks the session log: %s", log)
	}
}

func TestDigestPrintsVector(t *testing.T) {
	unsetEnv(t, "APPWS_PASSWORD")
	for _, v := range testutil.LoadVectors(t).Digest {
		args := []string{"digest", "-app", v.App, "-domain", v.Domain, "-sip", v.SIP, "-guid", v.GUID,
			"-dn", v.DN, "-challenge", v.Challenge, "-password-file", passwordFile(t, v.Password)}
		if v.Info != nil {
			args = append(args, "-info", *v.Info)
		}
		code, stdout, _ := runCmd(t, t.Context(), nil, args...)
		if code != exitOK || stdout != v.Digest+"\n" {
			t.Errorf("digest for %s: exit %d, %q; want %s", v.App, code, stdout, v.Digest)
		}
		if strings.Contains(stdout, v.Password) {
			t.Error("the password was printed")
		}
	}
}

func TestSessionKeyPrintsVector(t *testing.T) {
	v := testutil.LoadVectors(t).SessionKey
	t.Setenv("APPWS_PASSWORD", v.Password)
	code, stdout, _ := runCmd(t, t.Context(), nil, "sessionkey", "-challenge", v.Challenge)
	if code != exitOK || stdout != v.Key+"\n" {
		t.Errorf("sessionkey: exit %d, %q; want %s", code, stdout, v.Key)
	}
}

func TestEncryptDecryptHash(t *testing.T) {
	for _, v := range testutil.LoadVectors(t).Crypto {
		code, enc, _ := runCmd(t, t.Context(), nil, "encrypt", "-key", v.SessionKey, "-seed", v.Seed, v.Data)
		if code != exitOK || enc != v.Encrypt+"\n" {
			t.Errorf("encrypt %q: exit %d, %q; want %s", v.Data, code, enc, v.Encrypt)
		}
		t.Setenv("APPWS_SESSION_KEY", v.SessionKey)
		code, dec, _ := runCmd(t, t.Context(), nil, "decrypt", "-seed", v.Seed, strings.TrimSpace(enc))
		if code != exitOK || dec != v.Data+"\n" {
			t.Errorf("decrypt: exit %d, %q; want %q", code, dec, v.Data)
		}
		code, hash, _ := runCmd(t, t.Context(), nil, "hash", "-seed", v.Seed, v.Data)
		if code != exitOK || hash != v.Hash+"\n" {
			t.Errorf("hash %q: exit %d, %q; want %s", v.Data, code, hash, v.Hash)
		}
	}
	code, _, stderr := runCmd(t, t.Context(), nil, "decrypt", "-key", "k", "xyz")
	if code != exitFail || stderr == "" {
		t.Errorf("decrypt of bad hex: exit %d, stderr %q; want an error", code, stderr)
	}
}

func TestServeListenAddressInUse(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	code, stdout, stderr := runCmd(t, context.Background(), strings.NewReader(""), "serve", "-listen", ln.Addr().String(), "-app", "a=b")
	if code != 1 || stdout != "" || !strings.Contains(stderr, "cannot listen") {
		t.Errorf("serve on a used address: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// startServe runs appws serve with args until ctx ends and returns its URL,
// its exit status (once it ended) and its stderr.
func startServe(t *testing.T, ctx context.Context, args ...string) (string, <-chan int, *safeBuffer) {
	t.Helper()
	outR, outW := io.Pipe()
	stderr := &safeBuffer{}
	exit := make(chan int, 1)
	go func() {
		code := run(ctx, append([]string{"serve"}, args...), strings.NewReader(""), outW, stderr)
		outW.Close()
		exit <- code
	}()
	out := bufio.NewReader(outR)
	first, err := out.ReadString('\n')
	if err != nil {
		t.Fatalf("no URL on stdout: %v; stderr %s", err, stderr.String())
	}
	go io.Copy(io.Discard, out) // whatever else serve prints; ends with outW.Close
	return strings.TrimSpace(first), exit, stderr
}

// dialServe logs in to app at u with password pw.
func dialServe(t *testing.T, u, app, pw string) *appws.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	c, err := appws.Dial(ctx, appws.Options{URL: u, App: app, Password: pw})
	if err != nil {
		t.Fatalf("dial %s: %v", app, err)
	}
	if _, ok := (<-c.Events()).(appws.ConnectComplete); !ok {
		t.Fatal("the first event is not ConnectComplete")
	}
	return c
}

func TestServeStopClosesSessionsWithGoingAway(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	u, exit, _ := startServe(t, ctx, "-app", "a=pw")
	c := dialServe(t, u, "a", "pw")
	defer c.Close()
	cancel() // as Ctrl-C or SIGTERM
	var closed appws.Closed
	for ev := range c.Events() {
		if ev, ok := ev.(appws.Closed); ok {
			closed = ev
		}
	}
	if got := appws.CloseStatus(closed.Err); got != websocket.CloseGoingAway {
		t.Errorf("the client ended with %v (close status %d), want 1001 going away", closed.Err, got)
	}
	if code := <-exit; code != exitOK {
		t.Errorf("serve: exit %d after stop, want 0", code)
	}
}

func TestServeAppPasswordSources(t *testing.T) {
	t.Setenv("APPWS_PASSWORD", "from-default-env")
	t.Setenv("APPWS_TEST_SERVE_PW", "from-named-env")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	u, exit, stderr := startServe(t, ctx,
		"-app", "file=@"+passwordFile(t, "from-file"),
		"-app", "env=env:APPWS_TEST_SERVE_PW",
		"-app", "default",
		"-app", "literal=on-the-command-line")
	for app, pw := range map[string]string{
		"file": "from-file", "env": "from-named-env", "default": "from-default-env", "literal": "on-the-command-line",
	} {
		c := dialServe(t, u, app, pw)
		c.Close()
		for range c.Events() {
		}
	}
	cancel()
	<-exit
	if strings.Contains(stderr.String(), "from-") {
		t.Error("serve logged a password")
	}
}

func TestServeRefusesEmptyOrMissingPasswords(t *testing.T) {
	unsetEnv(t, "APPWS_PASSWORD")
	unsetEnv(t, "APPWS_TEST_UNSET")
	t.Setenv("APPWS_TEST_EMPTY", "")
	for _, tc := range []struct{ app, want string }{
		{"a=", `app "a": the password from the command line is empty`},
		{"a=@" + passwordFile(t, ""), `app "a": the password from`},
		{"a=env:APPWS_TEST_EMPTY", `app "a": the password from $APPWS_TEST_EMPTY is empty`},
		{"a=env:APPWS_TEST_UNSET", `app "a": environment variable APPWS_TEST_UNSET is not set`},
		{"a", `app "a": no =PASSWORD and APPWS_PASSWORD is not set`},
		{"=s3cret", "no app name"},
	} {
		code, stdout, stderr := runCmd(t, t.Context(), nil, "serve", "-app", tc.app)
		if code != exitUsage || stdout != "" || !strings.Contains(stderr, tc.want) {
			t.Errorf("-app %s: exit %d, stderr %q; want %d and %q", tc.app, code, stderr, exitUsage, tc.want)
		}
		if strings.Contains(stderr, "s3cret") {
			t.Errorf("-app %s: the password is in the error", tc.app)
		}
	}
	// A file that cannot be read is not a usage error: the work failed.
	missing := "a=@" + filepath.Join(t.TempDir(), "none")
	code, _, stderr := runCmd(t, t.Context(), nil, "serve", "-app", missing)
	if code != exitFail || !strings.HasPrefix(stderr, `appws serve: -app: app "a": password file: `) {
		t.Errorf("-app %s: exit %d, stderr %q; want %d", missing, code, stderr, exitFail)
	}
}

func TestHelpForEveryCommand(t *testing.T) {
	t.Parallel()
	for _, c := range commands() {
		code, stdout, stderr := runCmd(t, t.Context(), nil, "help", c.name)
		if code != exitOK || !strings.HasPrefix(stdout, "Usage: appws "+c.name) || stderr != "" {
			t.Errorf("appws help %s: exit %d, stdout %q; want its usage", c.name, code, stdout)
		}
	}
	code, _, stderr := runCmd(t, t.Context(), nil, "help", "nonsense")
	if code != exitUsage || !strings.Contains(stderr, `unknown command "nonsense"`) {
		t.Errorf("appws help nonsense: exit %d, stderr %q", code, stderr)
	}
}

func TestHelpTextsNameTheRightAlgorithm(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cmd       string
		want, not string
	}{
		{"hash", "SHA-256", "RC4"},
		{"encrypt", "RC4", "SHA-256"},
		{"decrypt", "RC4", "SHA-256"},
	} {
		_, stdout, _ := runCmd(t, t.Context(), nil, tc.cmd, "-h")
		if !strings.Contains(stdout, tc.want) || strings.Contains(stdout, tc.not) {
			t.Errorf("appws %s -h says %q; want %s and no %s", tc.cmd, stdout, tc.want, tc.not)
		}
	}
	_, stdout, _ := runCmd(t, t.Context(), nil, "help")
	for l := range strings.Lines(stdout) {
		if strings.HasPrefix(l, "  hash ") && (!strings.Contains(l, "SHA-256") || strings.Contains(l, "RC4")) {
			t.Errorf("appws help: %q", l)
		}
	}
}

func TestErrorsHaveOnePrefix(t *testing.T) {
	t.Setenv("APPWS_PASSWORD", "pw")
	for _, tc := range []struct {
		args []string
		want string
		code int
	}{
		{[]string{"decrypt", "-key", "k", "xyz"}, "appws decrypt: data is not a hex string of even length\n", exitFail},
		{[]string{"digest", "-app", "a", "-challenge", "c", "-info", `{"a":1,"a":2}`},
			"appws digest: -info: duplicate key at offset 10 (see 'appws help digest')\n", exitUsage},
	} {
		code, _, stderr := runCmd(t, t.Context(), nil, tc.args...)
		if code != tc.code || stderr != tc.want {
			t.Errorf("appws %v: exit %d, stderr %q; want %d, %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, stdout, _ := runCmd(t, t.Context(), nil, args...)
		fields := strings.Fields(stdout)
		if code != exitOK || len(fields) < 4 || fields[0] != "appws" || fields[len(fields)-2] != runtime.Version() {
			t.Errorf("appws %v: exit %d, %q; want appws VERSION ... %s GOOS/GOARCH", args, code, stdout, runtime.Version())
		}
	}
}

// TestVersionLine: the version line has the module version, and the VCS
// commit and whether the checkout was modified when the build recorded
// them.
func TestVersionLine(t *testing.T) {
	t.Parallel()
	tail := " " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
	const rev = "4997ae85ffee17b5329059b9edab79b7a748709f"
	vcs := func(modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev},
			{Key: "vcs.time", Value: "2026-12-05T09:21:10Z"}, {Key: "vcs.modified", Value: modified}}
	}
	for _, tc := range []struct {
		name string
		bi   *debug.BuildInfo
		want string
	}{
		{"no build information", nil, "appws (devel)"},
		{"no version, no VCS", &debug.BuildInfo{}, "appws (devel)"},
		{"installed at a tag", &debug.BuildInfo{Main: debug.Module{Version: "v0.1.0"}}, "appws v0.1.0"},
		{"a clean checkout", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("false")},
			"appws (devel) commit " + rev},
		{"a modified checkout", &debug.BuildInfo{Main: debug.Module{Version: "v0.1.1-0.20261205092110-4997ae85ffee+dirty"}, Settings: vcs("true")},
			"appws v0.1.1-0.20261205092110-4997ae85ffee+dirty commit " + rev + " modified"},
	} {
		if got := versionLine(tc.bi); got != tc.want+tail {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want+tail)
		}
	}
}

// TestVersionOfABuildFromACheckout builds appws as a user does in a
// checkout and checks that it prints the commit git has checked out, and
// "modified" exactly when git sees changes. Go records no VCS information
// in a git worktree (where .git is a file), nor without git: then it skips.
func TestVersionOfABuildFromACheckout(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	t.Parallel()
	if fi, err := os.Stat(filepath.Join("..", "..", ".git")); err != nil || !fi.IsDir() {
		t.Skip("not in a git checkout with a .git directory: go build records no commit here")
	}
	git := func(args ...string) string {
		out, err := exec.Command("git", args...).Output()
		if err != nil {
			t.Skipf("git %s: %v", strings.Join(args, " "), err)
		}
		return strings.TrimSpace(string(out))
	}
	head := git("rev-parse", "HEAD")
	dirty := git("status", "--porcelain") != ""
	bin := filepath.Join(t.TempDir(), "appws")
	build := exec.Command("go", "build", "-buildvcs=true", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatalf("appws version: %v", err)
	}
	line := strings.TrimSpace(string(out))
	if !strings.Contains(line, " commit "+head) {
		t.Errorf("appws version = %q, want the commit %s", line, head)
	}
	if got := strings.Contains(line, " modified "); got != dirty {
		t.Errorf("appws version = %q: modified %v, git status says %v", line, got, dirty)
	}
}

// TestFlagErrorsAreOneLine: a flag error prints one line, the cause and
// where the help is, not the command's whole usage, and exits 2; so does
// an unknown command.
func TestFlagErrorsAreOneLine(t *testing.T) {
	t.Parallel()
	for _, c := range commands() {
		code, stdout, stderr := runCmd(t, t.Context(), nil, c.name, "-nonsense")
		want := "appws " + c.name + ": flag provided but not defined: -nonsense (see 'appws help " + c.name + "')\n"
		if c.name == "help" {
			want = "appws help: flag provided but not defined: -nonsense (see 'appws help')\n"
		}
		if code != exitUsage || stdout != "" || stderr != want {
			t.Errorf("appws %s -nonsense: exit %d, stderr %q; want %d and %q", c.name, code, stderr, exitUsage, want)
		}
	}
	code, _, stderr := runCmd(t, t.Context(), nil, "nonsense")
	if want := "appws: unknown command \"nonsense\" (see 'appws help')\n"; code != exitUsage || stderr != want {
		t.Errorf("appws nonsense: exit %d, stderr %q; want %d and %q", code, stderr, exitUsage, want)
	}
}

// TestAppRequiredOnlyWithURL: the help of calls and users, which run an
// embedded fake without -url, says -app is required with -url; connect and
// digest, which always need it, say it is required.
func TestAppRequiredOnlyWithURL(t *testing.T) {
	t.Parallel()
	for cmd, want := range map[string]string{
		"calls": "(required with -url)", "users": "(required with -url)",
		"connect": "(required)", "digest": "(required)",
	} {
		_, stdout, _ := runCmd(t, t.Context(), nil, "help", cmd)
		_, after, _ := strings.Cut(stdout, "  -app name\n")
		usage, _, _ := strings.Cut(after, "\n")
		if !strings.HasSuffix(usage, want) {
			t.Errorf("appws help %s: -app %q, want it to end in %q", cmd, strings.TrimSpace(usage), want)
		}
	}
}

// TestHelpShowsEveryServePasswordForm: the top-level help lists all four
// ways serve takes an app's password.
func TestHelpShowsEveryServePasswordForm(t *testing.T) {
	t.Parallel()
	_, stdout, _ := runCmd(t, t.Context(), nil, "help")
	for _, form := range []string{"-app NAME (APPWS_PASSWORD)", "NAME=env:VAR", "NAME=@FILE", "NAME=PASSWORD"} {
		if !strings.Contains(stdout, form) {
			t.Errorf("appws help does not mention serve's %s", form)
		}
	}
}

// TestDecryptRefusesWhatIsNotText: decrypting with a wrong key gives bytes
// that are not text: decrypt says so on stderr and exits 1, printing
// nothing; -hex prints them in hex, and the right key's text as hex too.
func TestDecryptRefusesWhatIsNotText(t *testing.T) {
	t.Parallel()
	const key, seed, text = "0123456789abcdef", "seed", "Hello, AppWebsocket!"
	enc := appws.Encrypt(key, seed, text)
	code, stdout, stderr := runCmd(t, t.Context(), nil, "decrypt", "-key", "wrong-key", "-seed", seed, enc)
	if code != exitFail || stdout != "" || !strings.HasPrefix(stderr, "appws decrypt: the result is not text") {
		t.Errorf("decrypt with a wrong key: exit %d, stdout %q, stderr %q; want exit 1 and nothing printed", code, stdout, stderr)
	}
	wrong, err := appws.Decrypt("wrong-key", seed, enc)
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, _ = runCmd(t, t.Context(), nil, "decrypt", "-key", "wrong-key", "-seed", seed, "-hex", enc)
	if want := hex.EncodeToString([]byte(wrong)) + "\n"; code != exitOK || stdout != want {
		t.Errorf("decrypt -hex with a wrong key: exit %d, %q; want %q", code, stdout, want)
	}
	code, stdout, _ = runCmd(t, t.Context(), nil, "decrypt", "-key", key, "-seed", seed, "-hex", enc)
	if want := hex.EncodeToString([]byte(text)) + "\n"; code != exitOK || stdout != want {
		t.Errorf("decrypt -hex: exit %d, %q; want %q", code, stdout, want)
	}
	for _, s := range []string{text, "tab\tnew line\r\n", "Grüße, 日本"} {
		if !isText(s) {
			t.Errorf("isText(%q) = false", s)
		}
	}
	for _, s := range []string{"\x00", "a\x1bb", "\xff\xfe", "\u0085"} {
		if isText(s) {
			t.Errorf("isText(%q) = true", s)
		}
	}
}

// TestBadInfoNamesTheFlag: an -info that is not a JSON object is reported
// as a problem of -info (not of the library's "Info" field), as a usage
// error, by every command that takes it.
func TestBadInfoNamesTheFlag(t *testing.T) {
	t.Setenv("APPWS_PASSWORD", "pw")
	for _, args := range [][]string{
		{"connect", "-url", "ws://127.0.0.1:1/x", "-app", "a"},
		{"calls", "-url", "ws://127.0.0.1:1/x", "-app", "a"},
		{"users", "-url", "ws://127.0.0.1:1/x", "-app", "a"},
		{"digest", "-challenge", "c", "-app", "a"},
	} {
		code, _, stderr := runCmd(t, t.Context(), nil, append(args, "-info", "[1]")...)
		if code != exitUsage || !strings.Contains(stderr, "appws "+args[0]+": -info: must be a JSON object") ||
			strings.Contains(stderr, "invalid Info") {
			t.Errorf("appws %s -info [1]: exit %d, stderr %q; want %d and a line about -info", args[0], code, stderr, exitUsage)
		}
	}
}
