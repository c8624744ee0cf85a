package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/appwstest"
	"github.com/gorilla/websocket"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// safeBuffer is a bytes.Buffer that may be read while run writes to it.
type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

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
		if tc.code == exitUsage && !strings.Contains(stderr, "Usage:") {
			t.Errorf("appws %v: no usage on stderr", tc.args)
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

// waitFor waits until b holds s.
func waitFor(t *testing.T, b *safeBuffer, s string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(b.String(), s); {
		if time.Now().After(deadline) {
			t.Fatalf("no %s in %q", s, b.String())
		}
		time.Sleep(5 * time.Millisecond)
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

// vectors are the test vectors of the protocol.
type vectors struct {
	Digest []struct {
		App, Domain, SIP, GUID, DN, Info, Challenge, Password, Digest string
	}
	SessionKey struct {
		Challenge, Password, Key string
	} `json:"session_key"`
	Crypto []struct {
		SessionKey string `json:"session_key"`
		Seed       string
		Data       string
		Encrypt    string
		Hash       string
	}
}

func loadVectors(t *testing.T) vectors {
	t.Helper()
	var v vectors
	for _, path := range []string{"../../testdata/appwebsocket.json", "../../wire/testdata/digest.json"} {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
	}
	if len(v.Digest) == 0 || len(v.Crypto) == 0 {
		t.Fatal("no vectors")
	}
	return v
}

func TestDigestPrintsVector(t *testing.T) {
	unsetEnv(t, "APPWS_PASSWORD")
	for _, v := range loadVectors(t).Digest {
		args := []string{"digest", "-app", v.App, "-domain", v.Domain, "-sip", v.SIP, "-guid", v.GUID,
			"-dn", v.DN, "-challenge", v.Challenge, "-password-file", passwordFile(t, v.Password)}
		if v.Info != "" {
			args = append(args, "-info", v.Info)
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
	v := loadVectors(t).SessionKey
	t.Setenv("APPWS_PASSWORD", v.Password)
	code, stdout, _ := runCmd(t, t.Context(), nil, "sessionkey", "-challenge", v.Challenge)
	if code != exitOK || stdout != v.Key+"\n" {
		t.Errorf("sessionkey: exit %d, %q; want %s", code, stdout, v.Key)
	}
}

func TestEncryptDecryptHash(t *testing.T) {
	for _, v := range loadVectors(t).Crypto {
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
		{"a=@" + filepath.Join(t.TempDir(), "none"), `app "a": password file: `},
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
}

func TestHelpForEveryCommand(t *testing.T) {
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
	}{
		{[]string{"decrypt", "-key", "k", "xyz"}, "appws decrypt: data is not a hex string of even length\n"},
		{[]string{"digest", "-app", "a", "-challenge", "c", "-info", `{"a":1,"a":2}`}, "appws digest: -info: duplicate key at offset 10\n"},
	} {
		code, _, stderr := runCmd(t, t.Context(), nil, tc.args...)
		if code != exitFail || stderr != tc.want {
			t.Errorf("appws %v: exit %d, stderr %q; want %q", tc.args, code, stderr, tc.want)
		}
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, stdout, _ := runCmd(t, t.Context(), nil, args...)
		fields := strings.Fields(stdout)
		if code != exitOK || len(fields) != 4 || fields[0] != "appws" || fields[2] != runtime.Version() {
			t.Errorf("appws %v: exit %d, %q; want appws VERSION %s GOOS/GOARCH", args, code, stdout, runtime.Version())
		}
	}
	if v := moduleVersion(); v != "(devel)" && !strings.HasPrefix(v, "v") {
		t.Errorf("module version %q", v)
	}
}
