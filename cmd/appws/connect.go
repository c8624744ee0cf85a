package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/internal/urltext"
)

const (
	// dialTimeout bounds connecting and logging in, reconnect retries
	// included.
	dialTimeout = 30 * time.Second
	// maxInputLine is the longest message accepted on stdin.
	maxInputLine = 16 << 20
)

func runConnect(ctx context.Context, args []string, std stdio) int {
	fs := newFlags("connect", "-url URL -app NAME [flags]",
		"Logs in to an AppWebsocket server, sends every line of stdin as one JSON\n"+
			"message and prints every event to stdout as one JSON line: received messages\n"+
			"as they came, the others as {\"event\":\"connect\"|\"sendResult\"|\"disconnected\"|\"closed\",...}.\n"+
			"Status goes to stderr. At the end of input appws waits for the send results\n"+
			"and until the server was quiet for -linger, then closes; Ctrl-C closes at once.\n"+
			"It exits 1 when an input line was not sent (stderr says which and why), the\n"+
			"connection was lost or the login failed; 0 when everything was sent.\n"+
			"\n"+
			"The password comes from -password-file or APPWS_PASSWORD. innovaphone's\n"+
			"JavaScript client logs in to an app service with -sip NAME -dn Admin\n"+
			"-guid 00000000000000000000000000000000 -pbxobj NAME.")
	rawURL := fs.String("url", "", "server `URL`, ws:// or wss:// (required)")
	l := addLoginFlags(fs)
	pbxObj := fs.String("pbxobj", "", "login pbxObj (not covered by the digest)")
	reconnect := fs.Bool("reconnect", false, "reconnect after a lost connection, with backoff")
	caCert := fs.String("cacert", "", "trust the CA certificates in PEM `FILE` (besides the system's)")
	insecure := fs.Bool("insecure", false, "do not verify the server's certificate (DANGEROUS)")
	linger := fs.Duration("linger", time.Second, "at the end of input, close once the server was quiet for this `duration`")
	verbose := fs.Bool("v", false, "log the library's connection events to stderr")
	veryVerbose := fs.Bool("vv", false, "log every message in and out as well (no contents, no secrets)")
	if code, ok := parseFlags(fs, args, 0, std); !ok {
		return code
	}
	if *rawURL == "" || *l.app == "" {
		return usageError(fs, std, "-url and -app are required")
	}
	if err := checkURL(*rawURL); err != nil {
		return usageError(fs, std, "%v", err)
	}
	shown := urltext.Redacted(*rawURL)
	pw, code, ok := needPassword(fs, *l.pwFile, std)
	if !ok {
		return code
	}
	opts, err := l.options(*rawURL, pw, *pbxObj, *caCert, *insecure, std.errOut, "appws connect")
	if err != nil {
		fmt.Fprintf(std.errOut, "appws connect: %v\n", err)
		return exitFail
	}
	opts.AutoReconnect = *reconnect
	switch {
	case *veryVerbose:
		opts.Logger = slog.New(slog.NewTextHandler(std.errOut, &slog.HandlerOptions{Level: slog.LevelDebug}))
	case *verbose:
		opts.Logger = slog.New(slog.NewTextHandler(std.errOut, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}

	if *reconnect {
		// Dial retries quietly until dialTimeout: say what is going on.
		fmt.Fprintf(std.errOut, "appws connect: connecting to %s (retrying for up to %v)\n", shown, dialTimeout)
	}
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	c, err := appws.Dial(dctx, opts)
	cancel()
	if err != nil {
		fmt.Fprintf(std.errOut, "appws connect: %s\n", dialFailure(shown, err))
		var ce *appws.ConfigError
		if errors.As(err, &ce) {
			return exitUsage
		}
		return exitFail
	}
	fmt.Fprintf(std.errOut, "appws connect: connected to %s as app %q; reading JSON messages from stdin, one per line\n", shown, *l.app)
	cs := &connectSession{c: c, std: std, linger: *linger}
	return cs.run(ctx)
}

// tlsConfig returns the TLS settings for -cacert and -insecure.
func tlsConfig(caFile string, insecure bool) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: insecure}
	if caFile == "" {
		return tc, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("-cacert: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("-cacert: no PEM certificate in %s", caFile)
	}
	tc.RootCAs = pool
	return tc, nil
}

// dialFailure says in one line why Dial failed. shown is the URL as it may
// be printed (without a password).
func dialFailure(shown string, err error) string {
	var (
		le *appws.LoginError
		he *appws.HandshakeError
		ce *appws.ConfigError
	)
	// The library's errors start with "appws: connect to URL: ": the
	// command's own prefix says as much already.
	t := errText(err, "connect to "+shown)
	switch {
	case errors.As(err, &le):
		return errText(le)
	case errors.As(err, &he):
		return "cannot connect to " + shown + ": upgrade refused: HTTP " + he.Status
	case errors.As(err, &ce):
		return configText(ce)
	case errors.Is(err, context.Canceled):
		return "interrupted while connecting to " + shown
	case errors.Is(err, context.DeadlineExceeded) && !strings.Contains(t, "timed out"):
		return fmt.Sprintf("cannot connect to %s: no login within %v: %s", shown, dialTimeout, t)
	}
	return "cannot connect to " + shown + ": " + t
}

// optionFlags are the command-line flags of the Options fields that Dial
// may refuse.
var optionFlags = map[string]string{
	"URL": "-url", "App": "-app", "Domain": "-domain", "SIP": "-sip", "GUID": "-guid",
	"DN": "-dn", "Info": "-info", "PbxObj": "-pbxobj",
}

// configText says what is wrong with the options in terms of the command
// line: the flag, not the Options field ("-info: must be a JSON object at
// offset 0", not "invalid Info: info must be ...").
func configText(ce *appws.ConfigError) string {
	flag, ok := optionFlags[ce.Field]
	if !ok {
		return errText(ce)
	}
	msg := strings.Join(strings.Fields(ce.Msg), " ")
	if ce.Field == "Info" {
		msg = infoText(msg)
	}
	return flag + ": " + msg
}

// infoText is the library's complaint about an info object without the
// word info it starts with, for a line that names -info already.
func infoText(msg string) string {
	msg = strings.TrimPrefix(msg, "info: ")
	return strings.TrimPrefix(msg, "info ")
}

// errText is err's message on one line, without the library's "appws: "
// prefix and then without each of prefixes (followed by ": ") in turn:
// what the command's own prefix says already.
func errText(err error, prefixes ...string) string {
	s := strings.Join(strings.Fields(err.Error()), " ")
	s = strings.TrimPrefix(s, "appws: ")
	for _, p := range prefixes {
		s = strings.TrimPrefix(s, p+": ")
	}
	return s
}

// checkURL says what is wrong with a -url that Dial would refuse for its
// scheme, or for a user and password in it, in words for the command line
// (the library's ConfigError only says that a URL without a scheme "cannot
// be parsed"), and before anything prints the URL.
func checkURL(raw string) error {
	scheme, _, ok := strings.Cut(raw, "://")
	if !ok {
		return errors.New("-url has no scheme: it must start with ws:// or wss:// (e.g. ws://HOST:PORT/PATH)")
	}
	switch strings.ToLower(scheme) {
	case "ws", "wss":
		if u, err := url.Parse(raw); err == nil && u.User != nil {
			// Refused here, before anything prints the URL: Dial refuses
			// it too, and the password must not reach the terminal.
			return errors.New("-url must not contain a user or password (the login password comes from -password-file or APPWS_PASSWORD)")
		}
		return nil
	case "http":
		return errors.New("-url must start with ws:// or wss://, not http:// (use ws:// for the same server)")
	case "https":
		return errors.New("-url must start with ws:// or wss://, not https:// (use wss:// for the same server)")
	}
	return errors.New("-url must start with ws:// or wss://")
}

// connectSession runs the event loop of appws connect: events to stdout,
// stdin to Send.
type connectSession struct {
	c      *appws.Client
	std    stdio
	linger time.Duration

	accepted atomic.Int64 // sends accepted by Client.Send
	refused  atomic.Int64 // input messages Client.Send refused (invalid, not connected, closed)
	stopped  atomic.Bool  // run has returned: the input reader stays silent

	inputErr error // why reading stdin stopped early; owned by run
}

// run prints the events until the client ends and returns the exit status.
// The client is closed at the end of input (once the server was quiet for
// linger) or when ctx ends.
func (s *connectSession) run(ctx context.Context) int {
	defer s.stopped.Store(true)
	sendCtx, cancelSends := context.WithCancel(context.Background())
	defer cancelSends()
	inputDone := make(chan error, 1)
	go func() { inputDone <- s.readInput(sendCtx) }()

	quiet := time.NewTimer(s.linger)
	quiet.Stop()
	defer quiet.Stop()
	var (
		quietC     <-chan time.Time // armed while the input has ended and every send is reported
		input      = inputDone
		done       = ctx.Done()
		results    int64
		failed     int64 // SendResults with an error
		inputEnded bool
		closing    bool
		lostErr    error
	)
	// rearm restarts the quiet period after the end of input: every event
	// pushes the close back by linger, so replies still arriving are shown.
	rearm := func() {
		if inputEnded && !closing && results >= s.accepted.Load() {
			quiet.Reset(s.linger)
			quietC = quiet.C
		}
	}
	closeNow := func(why string) {
		if !closing {
			closing = true
			fmt.Fprintf(s.std.errOut, "appws connect: %s: closing\n", why)
			s.c.Close()
		}
	}
	for {
		select {
		case ev, ok := <-s.c.Events():
			if !ok {
				return s.finish(lostErr, failed)
			}
			s.print(ev)
			switch ev := ev.(type) {
			case appws.ConnectComplete:
				fmt.Fprintf(s.std.errOut, "appws connect: session %d logged in (domain %q)\n", ev.Session, ev.Domain)
			case appws.SendResult:
				results++
				if ev.Err != nil {
					failed++
					fmt.Fprintf(s.std.errOut, "appws connect: send %d failed: %s\n", ev.ID, errText(ev.Err))
				}
			case appws.Disconnected:
				fmt.Fprintf(s.std.errOut, "appws connect: disconnected: %s; retrying in %v\n",
					errText(ev.Err), ev.RetryIn.Round(time.Millisecond))
			case appws.Closed:
				if ev.Err != nil && !closing {
					lostErr = ev.Err
				}
			}
			s.c.Handled(ev)
			rearm()
		case err := <-input:
			input = nil
			if err != nil {
				s.inputErr = err
				fmt.Fprintf(s.std.errOut, "appws connect: stdin: %v; the rest of the input is not sent\n", err)
			}
			inputEnded = true
			rearm()
		case <-quietC:
			quietC = nil
			closeNow("end of input")
		case <-done:
			done = nil
			closeNow("interrupted")
		}
	}
}

// finish reports the end of the session and returns the exit status: 1
// when the connection was lost or some input was not sent.
func (s *connectSession) finish(lostErr error, failed int64) int {
	st := s.c.Stats()
	fmt.Fprintf(s.std.errOut, "appws connect: %d messages sent, %d received, %d reconnects\n",
		st.SendsWritten, st.MsgsIn, st.Reconnects)
	code := exitOK
	if lostErr != nil {
		fmt.Fprintf(s.std.errOut, "appws connect: connection lost: %s\n", errText(lostErr))
		code = exitFail
	}
	if s.inputErr != nil {
		code = exitFail
	}
	refused := s.refused.Load()
	if n := refused + failed; n > 0 {
		fmt.Fprintf(s.std.errOut, "appws connect: %d of %d input messages not sent "+
			"(%d refused by Send, %d failed after Send; the lines above say why)\n",
			n, refused+s.accepted.Load(), refused, failed)
		code = exitFail
	}
	return code
}

// readInput sends every non-blank line of stdin as one message until the end
// of input or the client's end. Every line Send refuses is counted and
// reported on stderr.
func (s *connectSession) readInput(ctx context.Context) error {
	sc := bufio.NewScanner(s.std.in)
	sc.Buffer(make([]byte, 0, 64<<10), maxInputLine)
	var ce *appws.ConfigError
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		_, err := s.c.Send(ctx, json.RawMessage(line))
		if err == nil {
			s.accepted.Add(1)
			continue
		}
		s.refused.Add(1)
		switch {
		case s.stopped.Load():
		case errors.Is(err, appws.ErrClosed), ctx.Err() != nil:
			fmt.Fprintf(s.std.errOut, "appws connect: stdin line %d not sent: the connection is closed\n", n)
			return nil
		case errors.As(err, &ce):
			fmt.Fprintf(s.std.errOut, "appws connect: stdin line %d not sent: %s\n", n, ce.Msg)
		default:
			fmt.Fprintf(s.std.errOut, "appws connect: stdin line %d not sent: %s\n", n, errText(err))
		}
	}
	return sc.Err()
}

// print writes ev to stdout as one JSON line.
func (s *connectSession) print(ev appws.Event) {
	var line []byte
	switch ev := ev.(type) {
	case appws.Message:
		line = ev.Raw
		if bytes.ContainsAny(line, "\r\n") {
			// Keep one message per line; whitespace outside strings only.
			var b bytes.Buffer
			if json.Compact(&b, line) == nil {
				line = b.Bytes()
			}
		}
	case appws.ConnectComplete:
		line = mustJSON(struct {
			Event    string `json:"event"`
			Session  uint64 `json:"session"`
			Domain   string `json:"domain"`
			Attempts int    `json:"attempts"`
		}{"connect", ev.Session, ev.Domain, ev.Attempts})
	case appws.SendResult:
		line = mustJSON(struct {
			Event string `json:"event"`
			ID    uint64 `json:"id"`
			Error string `json:"error,omitempty"`
		}{"sendResult", ev.ID, optErr(ev.Err)})
	case appws.Disconnected:
		line = mustJSON(struct {
			Event   string `json:"event"`
			Session uint64 `json:"session"`
			Error   string `json:"error,omitempty"`
			RetryIn string `json:"retryIn"`
			Attempt int    `json:"attempt"`
		}{"disconnected", ev.Session, optErr(ev.Err), ev.RetryIn.Round(time.Millisecond).String(), ev.Attempt})
	case appws.Closed:
		line = mustJSON(struct {
			Event   string `json:"event"`
			Error   string `json:"error,omitempty"`
			Dropped int    `json:"dropped"`
		}{"closed", optErr(ev.Err), ev.Dropped})
	default:
		line = mustJSON(map[string]string{"event": fmt.Sprintf("%T", ev)})
	}
	// One Write per line, so lines never interleave.
	s.std.out.Write(append(line[:len(line):len(line)], '\n'))
}

func optErr(err error) string {
	if err == nil {
		return ""
	}
	return errText(err)
}
