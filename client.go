package appws

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// Client is a connection to an AppWebsocket server: one session at a time,
// logged in again after a drop when Options.AutoReconnect is set. Its methods
// may be called from any goroutine.
type Client struct {
	opts Options
	info []byte // canonical Options.Info
	log  *slog.Logger
	em   *emitter

	sendSlots chan struct{} // one per send not yet reported by a SendResult

	ctx       context.Context // ends with Close: aborts dials, logins, waits
	cancel    context.CancelFunc
	closeOnce sync.Once
	closing   chan struct{} // closed by Close
	done      chan struct{} // closed when every goroutine but the emitter's ended

	mu    sync.Mutex
	cur   *session // the session up now, or nil
	ended bool     // the client ended: calls get ErrClosed

	nextID  atomic.Uint64
	nextSrc atomic.Uint64
	ignored atomic.Uint64

	reqMu   sync.Mutex
	reqs    map[string]*request
	reqWake chan struct{} // cap 1: a Request started; the reader re-checks its window
}

// Dial checks opts, connects and logs in, and returns once the first login
// succeeded: the first event on Events() is then that session's
// ConnectComplete. Invalid opts give a *ConfigError before any I/O.
//
// ctx bounds the connecting and logging in and has no effect on the client
// afterwards. Without AutoReconnect, Dial makes one attempt. With it,
// transient failures (network errors, timeouts, HTTP 5xx) are retried with
// the reconnect backoff until ctx ends, so give ctx a deadline; a rejected
// login (*LoginError) or an HTTP 401, 403 or 404 (*HandshakeError) returns at
// once, and so does a server certificate that does not verify.
func Dial(ctx context.Context, opts Options) (*Client, error) {
	o, info, err := opts.normalize()
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithCancel(context.Background())
	c := &Client{
		opts:      o,
		info:      info,
		log:       o.Logger,
		sendSlots: make(chan struct{}, o.SendQueue),
		ctx:       cctx,
		cancel:    cancel,
		closing:   make(chan struct{}),
		done:      make(chan struct{}),
		reqs:      make(map[string]*request),
		reqWake:   make(chan struct{}, 1),
	}
	c.em = newEmitter(c.releaseSlot)
	s, attempts, err := c.firstLogin(ctx)
	if err != nil {
		cancel()
		return nil, err
	}
	c.em.pushLife(ConnectComplete{Session: s.id, Domain: s.domain, Attempts: attempts}, nil)
	c.cur = s
	go c.em.run()
	go c.supervise(s)
	return c, nil
}

// Events returns the channel of the client's events, the same one for the
// client's whole life. Read it until it is closed (after Closed); see Event
// for the order of events.
func (c *Client) Events() <-chan Event { return c.em.out }

// MessageComplete allows the client to deliver the next Message, like the C++
// client's MessageComplete: no Message is delivered without it, including the
// first one of every session. Permission does not add up: calls while one is
// unused change nothing. Each session starts without permission from the
// moment its ConnectComplete is the next event (for the first session: before
// Dial returns), so a call made earlier belongs to the old session and is
// dropped.
//
// While no Message is wanted the client reads only ReadAhead messages ahead
// and then stops reading the socket, so a slow consumer pushes back on the
// server. SendResult, Disconnected and Closed are never held back.
func (c *Client) MessageComplete() { c.em.grant() }

// Send encodes msg and queues it for the current session. msg is a struct, a
// map, a json.RawMessage or a []byte holding one JSON object whose "mt" is a
// string; anything else is a *ConfigError and nothing is sent. The bytes are
// copied, so the caller may reuse them.
//
// Send returns an id; exactly one SendResult with that id follows on Events()
// (after the message was handed to the socket, or with an error if the
// session ended first). ctx bounds only the wait for room in the send queue.
// Without a session Send returns ErrNotConnected at once; after the client
// ended, ErrClosed.
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
func encodeMessage(msg any) ([]byte, envelope, error) {
	var data []byte
	switch m := msg.(type) {
	case json.RawMessage:
		data = append([]byte(nil), m...)
	case []byte:
		data = append([]byte(nil), m...)
	default:
		b, err := json.Marshal(msg)
		if err != nil {
			return nil, envelope{}, &ConfigError{"msg", err.Error()}
		}
		data = b
	}
	var env envelope
	if err := env.scan(data); err != nil {
		return nil, env, &ConfigError{"msg", strings.TrimPrefix(err.Error(), "appws: ")}
	}
	return data, env, nil
}

func (c *Client) send(ctx context.Context, data []byte, req *request) (uint64, error) {
	s, err := c.session()
	if err != nil {
		return 0, err
	}
	select {
	case c.sendSlots <- struct{}{}:
	default:
		select {
		case c.sendSlots <- struct{}{}:
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-s.stop:
			return 0, c.notConnected()
		}
	}
	id := c.nextID.Add(1)
	if req != nil {
		c.reqMu.Lock()
		req.session = s.id
		c.reqMu.Unlock()
	}
	if !s.enqueue(writeItem{id: id, data: data, req: req}) {
		c.releaseSlot()
		return 0, c.notConnected()
	}
	return id, nil
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

func (c *Client) releaseSlot() { <-c.sendSlots }

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

// Close ends the client: it stops reconnecting, writes what is queued, sends
// a close frame and waits up to CloseTimeout for the server's, then closes
// the connection. Undelivered Messages are dropped (Closed.Dropped counts
// them); sends not written get a SendResult with an error. Close may be
// called from any goroutine, also the one reading Events(), and any number of
// times; it never waits for the consumer. When it returns, every goroutine of
// the client has ended except the one delivering the remaining events, which
// ends when they are read. It returns nil.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		close(c.closing)
		c.cancel()
		c.em.drop()
		c.mu.Lock()
		s := c.cur
		c.mu.Unlock()
		if s != nil {
			// A write blocked on a server that does not read ends within
			// CloseTimeout, not WriteTimeout.
			s.bc.hurry(c.opts.CloseTimeout)
		}
	})
	<-c.done
	return nil
}

// Ignored returns how many messages from the server the client dropped
// because they were not AppWebsocket messages (binary, not JSON, not an
// object, no string "mt") or because they came before login. Each drop is
// also logged at Warn level.
func (c *Client) Ignored() uint64 { return c.ignored.Load() }

// end marks the client ended and queues the final event.
func (c *Client) end(err error) {
	c.mu.Lock()
	c.cur = nil
	c.ended = true
	c.mu.Unlock()
	c.failRequests(0, ErrClosed)
	if err != nil {
		c.log.Warn("appws: client ended", "err", err.Error())
	} else {
		c.log.Info("appws: client closed")
	}
	c.em.pushClosed(Closed{Err: err})
	c.cancel()
}

// quoteShort quotes s for an error message, cut to 20 bytes and made valid
// UTF-8, so that no long or hostile input is echoed.
func quoteShort(s string) string {
	if len(s) > 20 {
		s = s[:20] + "..."
	}
	return `"` + strings.ToValidUTF8(s, "?") + `"`
}
