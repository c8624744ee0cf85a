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
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/appwebsocket/appws"
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
			"\n"+
			"The password comes from -password-file or APPWS_PASSWORD. innovaphone's\n"+
			"JavaScript client logs in to an app service with -sip NAME -dn Admin\n"+
			"-guid 00000000000000000000000000000000 -pbxobj NAME.")
	url := fs.String("url", "", "server `URL`, ws:// or wss:// (required)")
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
	if *url == "" || *l.app == "" {
		return usageError(fs, std, "-url and -app are required")
	}
	pw, code, ok := needPassword(fs, *l.pwFile, std)
	if !ok {
		return code
	}
	opts := appws.Options{
		URL:           *url,
		App:           *l.app,
		Password:      pw,
		Domain:        *l.domain,
		SIP:           *l.sip,
		GUID:          *l.guid,
		DN:            *l.dn,
		PbxObj:        *pbxObj,
		AutoReconnect: *reconnect,
	}
	if *l.info != "" {
		opts.Info = json.RawMessage(*l.info)
	}
	if *caCert != "" || *insecure {
		tc, err := tlsConfig(*caCert, *insecure)
		if err != nil {
			fmt.Fprintf(std.errOut, "appws connect: %v\n", err)
			return exitFail
		}
		if *insecure {
			fmt.Fprintln(std.errOut, "appws connect: WARNING: -insecure: the server's certificate is NOT verified; "+
				"anyone on the path can read the session and the password digest")
		}
		opts.TLSConfig = tc
	}
	switch {
	case *veryVerbose:
		opts.Logger = slog.New(slog.NewTextHandler(std.errOut, &slog.HandlerOptions{Level: slog.LevelDebug}))
	case *verbose:
		opts.Logger = slog.New(slog.NewTextHandler(std.errOut, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}

	if *reconnect {
		// Dial retries quietly until dialTimeout: say what is going on.
		fmt.Fprintf(std.errOut, "appws connect: connecting to %s (retrying for up to %v)\n", *url, dialTimeout)
	}
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	c, err := appws.Dial(dctx, opts)
	cancel()
	if err != nil {
		fmt.Fprintf(std.errOut, "appws connect: %s\n", dialFailure(*url, err))
		var ce *appws.ConfigError
		if errors.As(err, &ce) {
			return exitUsage
		}
		return exitFail
	}
	fmt.Fprintf(std.errOut, "appws connect: connected to %s as app %q; reading JSON messages from stdin, one per line\n", *url, *l.app)
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

// dialFailure says in one line why Dial failed.
func dialFailure(url string, err error) string {
	var (
		le *appws.LoginError
		he *appws.HandshakeError
		ce *appws.ConfigError
	)
	var s string
	switch {
	case errors.As(err, &le):
		s = "login failed: " + errText(err)
	case errors.As(err, &he):
		s = "cannot connect to " + url + ": upgrade refused: HTTP " + he.Status
	case errors.As(err, &ce):
		s = errText(err)
	case errors.Is(err, context.DeadlineExceeded):
		s = fmt.Sprintf("cannot connect to %s: no login within %v: %s", url, dialTimeout, errText(err))
	case errors.Is(err, context.Canceled):
		s = "interrupted while connecting to " + url
	default:
		if t := errText(err); strings.Contains(t, url) {
			s = "cannot connect: " + t
		} else {
			s = "cannot connect to " + url + ": " + t
		}
	}
	return s
}

// errText is err's message without the library's "appws: " prefix and on
// one line.
func errText(err error) string {
	s := strings.TrimPrefix(err.Error(), "appws: ")
	return strings.Join(strings.Fields(s), " ")
}

// connectSession runs the event loop of appws connect: events to stdout,
// stdin to Send.
type connectSession struct {
	c      *appws.Client
	std    stdio
	linger time.Duration

	accepted atomic.Int64 // sends accepted by Client.Send
	stopped  atomic.Bool  // run has returned: the input reader stays silent
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
				if lostErr != nil {
					fmt.Fprintf(s.std.errOut, "appws connect: connection lost: %s\n", errText(lostErr))
					return exitFail
				}
				return exitOK
			}
			s.print(ev)
			switch ev := ev.(type) {
			case appws.ConnectComplete:
				fmt.Fprintf(s.std.errOut, "appws connect: session %d logged in (domain %q)\n", ev.Session, ev.Domain)
				s.c.MessageComplete()
			case appws.Message:
				s.c.MessageComplete()
			case appws.SendResult:
				results++
			case appws.Disconnected:
				fmt.Fprintf(s.std.errOut, "appws connect: disconnected: %s; retrying in %v\n",
					errText(ev.Err), ev.RetryIn.Round(time.Millisecond))
			case appws.Closed:
				if ev.Err != nil && !closing {
					lostErr = ev.Err
				}
			}
			rearm()
		case err := <-input:
			input = nil
			if err != nil {
				fmt.Fprintf(s.std.errOut, "appws connect: stdin: %v\n", err)
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

// readInput sends every non-blank line of stdin as one message until the end
// of input or the client's end.
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
		switch {
		case err == nil:
			s.accepted.Add(1)
		case errors.Is(err, appws.ErrClosed), ctx.Err() != nil:
			return nil
		case s.stopped.Load():
		case errors.As(err, &ce):
			fmt.Fprintf(s.std.errOut, "appws connect: stdin line %d skipped: %s\n", n, ce.Msg)
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
