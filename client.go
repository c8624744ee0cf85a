package appws

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/appwebsocket/appws/internal/envelope"
)

// Sender sends one message on the current session; *Client is one. The typed
// API packages (rcc, tableusers, ...) take it rather than a *Client, so that
// their tests can pass a fake.
type Sender interface {
	Send(ctx context.Context, msg any) (uint64, error)
}

// Requester sends one message and waits for its reply; *Client is one.
type Requester interface {
	Request(ctx context.Context, msg any) (Message, error)
}

// Client is a connection to an AppWebsocket server: one session at a time,
// logged in again after a drop when Options.AutoReconnect is set. Its methods
// may be called from any goroutine.
type Client struct {
	opts Options
	info []byte // canonical Options.Info
	log  *slog.Logger
	em   *emitter
	ra   *readAhead
	reqs *requests

	ctx       context.Context // ends with Close: aborts dials, logins, waits
	cancel    context.CancelFunc
	closeOnce sync.Once
	closing   chan struct{} // closed by Close
	done      chan struct{} // closed when the supervisor (and so every session) ended

	mu    sync.Mutex
	cur   *session // the session up now, or nil
	ended bool     // the client ended: calls get ErrClosed

	nextID  atomic.Uint64
	nextSrc atomic.Uint64
	stats   stats
}

// Dial checks opts, connects and logs in, and returns once the first login
// succeeded: the first event on Events() is then that session's
// ConnectComplete. Invalid opts give a *ConfigError before any I/O.
//
// ctx bounds the connecting and logging in, the websocket upgrade included,
// and has no effect on the client afterwards. Without AutoReconnect, Dial
// makes one attempt. With it, transient failures (network errors, timeouts,
// HTTP 5xx) are retried with the reconnect backoff until ctx ends, so give
// ctx a deadline; a rejected login (*LoginError) or an HTTP 401, 403 or 404
// (*HandshakeError) returns at once, and so does a server certificate that
// does not verify: before a first login, a wrong password must not retry.
func Dial(ctx context.Context, opts Options) (*Client, error) {
	o, info, err := opts.normalize()
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithCancel(context.Background())
	c := &Client{
		opts:    o,
		info:    info,
		log:     o.Logger,
		reqs:    newRequests(),
		ctx:     cctx,
		cancel:  cancel,
		closing: make(chan struct{}),
		done:    make(chan struct{}),
	}
	c.em = newEmitter(&c.stats.dropped)
	c.ra = c.em.ra
	s, attempts, err := c.firstLogin(ctx)
	if err != nil {
		cancel()
		return nil, err
	}
	c.setSession(s, attempts)
	go c.supervise(s)
	return c, nil
}

// sessionEnv is what a session of c needs.
func (c *Client) sessionEnv() sessionEnv {
	return sessionEnv{opts: &c.opts, log: c.log, em: c.em, ra: c.ra, reqs: c.reqs, stats: &c.stats, nextID: &c.nextID}
}

// setSession makes s the session up now, or none (nil): the one place where
// the current session changes. A new session's ConnectComplete is queued in
// the same step, so a Send made on seeing it finds the session, and the
// SendResults of sends into it come after it.
func (c *Client) setSession(s *session, attempts int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s != nil {
		c.em.pushLife(ConnectComplete{Session: s.id, Domain: s.domain, Attempts: attempts})
	}
	c.cur = s
}

// Events returns the channel of the client's events, the same one for the
// client's whole life. Read it until it is closed (after Closed); see Event
// for the order of events.
func (c *Client) Events() <-chan Event { return c.em.out }

// MessageComplete allows the client to deliver the next Message, like the C++
// client's MessageComplete: no Message is delivered without it, including the
// first one of every session. Permission does not add up: calls while one is
// unused change nothing. Each session starts without permission from the
// moment its ConnectComplete goes into the channel (for the first session:
// before Dial returns), so a call made earlier belongs to the old session and
// is dropped. When a Message is waiting, MessageComplete puts it into the
// channel itself, so a consumer that keeps up costs no goroutine switch.
// Handled is the same call made right for every event; prefer it.
//
// While no Message is wanted the client reads only ReadAhead messages (or
// ReadAheadBytes) ahead and then stops reading the socket, so a slow consumer
// pushes back on the server. Nothing else waits for it: SendResult,
// ConnectComplete, Disconnected and Closed always flow, and the session keeps
// writing, pinging and answering Requests. Messages that wait longer than
// Options.StallWarning are reported (a Warn line, Stats.Stalls).
func (c *Client) MessageComplete() { c.em.grant(0) }

// Handled tells the client that the consumer is done with ev, and is the one
// call that is right after every event: after a ConnectComplete or a Message
// of the session whose events are being delivered it grants the next Message
// (MessageComplete), and for every other event, or an event of a session that
// has since ended, it does nothing. A loop that calls Handled for every
// event it reads can never stall for want of a MessageComplete:
//
//	for ev := range c.Events() {
//		... // handle ev
//		c.Handled(ev)
//	}
func (c *Client) Handled(ev Event) {
	switch ev := ev.(type) {
	default:
		c.em.consumerRead()
	case ConnectComplete:
		c.em.grant(ev.Session)
	case Message:
		c.em.grant(ev.Session)
	}
}

// Send encodes msg and queues it for the current session. msg is a struct, a
// map, a json.RawMessage or a []byte holding one JSON object whose "mt" is a
// string; anything else is a *ConfigError and nothing is sent. A message over
// Options.MaxMessageSize is a *MessageTooLargeError. The bytes are copied, so
// the caller may reuse them.
//
// Send returns an id; exactly one SendResult with that id follows on Events()
// (nil once the socket accepted all of the message's bytes, ErrSessionEnded
// if the session ended before it did), unless Close comes while the consumer
// lags behind, in which case Closed.Results lists the id instead. ctx bounds
// only the wait for room in the send queue (SendQueue messages or
// SendQueueBytes not yet written); room is freed by writing, never by the
// consumer reading SendResults, so Send is safe on the goroutine that reads
// Events(). Without a session Send returns ErrNotConnected at once; after
// the client ended, ErrClosed; while a consumer that stopped reading has
// more than 1024 runs of SendResults waiting (rule 8 of Event), ErrBacklog.
func (c *Client) Send(ctx context.Context, msg any) (uint64, error) {
	data, _, err := encodeMessage(msg)
	if err != nil {
		return 0, err
	}
	return c.send(ctx, data, nil)
}

// SendText sends text unchanged as one text message: the escape hatch for
// messages Send would refuse. It follows Send's rules otherwise; text must be
// valid UTF-8.
func (c *Client) SendText(ctx context.Context, text string) (uint64, error) {
	if !utf8.ValidString(text) {
		return 0, &ConfigError{"text", "not valid UTF-8"}
	}
	return c.send(ctx, []byte(text), nil)
}

// encodeMessage returns msg as JSON bytes of its own and where its envelope
// fields are.
func encodeMessage(msg any) ([]byte, envelope.Envelope, error) {
	var data []byte
	switch m := msg.(type) {
	case json.RawMessage:
		data = append([]byte(nil), m...)
	case []byte:
		data = append([]byte(nil), m...)
	default:
		b, err := json.Marshal(msg)
		if err != nil {
			return nil, envelope.Envelope{}, &ConfigError{"msg", err.Error()}
		}
		data = b
	}
	var env envelope.Envelope
	if err := env.Scan(data); err != nil {
		return nil, env, &ConfigError{"msg", strings.TrimPrefix(err.Error(), "appws: ")}
	}
	return data, env, nil
}

func (c *Client) send(ctx context.Context, data []byte, req *request) (uint64, error) {
	if len(data) > c.opts.MaxMessageSize {
		return 0, &MessageTooLargeError{Size: len(data), Limit: c.opts.MaxMessageSize}
	}
	s, err := c.session()
	if err != nil {
		return 0, err
	}
	if req == nil && c.em.behind() {
		return 0, ErrBacklog
	}
	id, err := s.enqueue(ctx, data, req)
	if err == errSessionGone {
		return 0, c.notConnected()
	}
	if err == nil {
		c.stats.sendsAccepted.Add(1)
	}
	return id, err
}

// session returns the session up now.
func (c *Client) session() (*session, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.ended:
		return nil, ErrClosed
	case c.cur == nil:
		return nil, ErrNotConnected
	}
	return c.cur, nil
}

func (c *Client) notConnected() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return ErrClosed
	}
	return ErrNotConnected
}

// sessionKey returns the key of the session up now.
func (c *Client) sessionKey() (string, error) {
	s, err := c.session()
	if err != nil {
		return "", err
	}
	return s.key, nil
}

// Encrypt encrypts data with the current session key and seed (see the
// package function Encrypt). Between sessions it returns ErrNotConnected,
// after the client ended ErrClosed.
func (c *Client) Encrypt(seed, data string) (string, error) {
	key, err := c.sessionKey()
	if err != nil {
		return "", err
	}
	return Encrypt(key, seed, data), nil
}

// Decrypt decrypts hexData with the current session key and seed (see the
// package function Decrypt).
func (c *Client) Decrypt(seed, hexData string) (string, error) {
	key, err := c.sessionKey()
	if err != nil {
		return "", err
	}
	return Decrypt(key, seed, hexData)
}

// Hash hashes data with the current session key and seed (see the package
// function Hash).
func (c *Client) Hash(seed, data string) (string, error) {
	key, err := c.sessionKey()
	if err != nil {
		return "", err
	}
	return Hash(key, seed, data), nil
}

// Session returns the number of the session up now, or 0 between sessions
// and after the client ended. It is the number its ConnectComplete carried.
func (c *Client) Session() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur == nil {
		return 0
	}
	return c.cur.id
}

// quoteShort quotes s for an error message, cut to 20 bytes and made valid
// UTF-8, so that no long or hostile input is echoed.
func quoteShort(s string) string {
	if len(s) > 20 {
		s = s[:20] + "..."
	}
	return `"` + strings.ToValidUTF8(s, "?") + `"`
}
