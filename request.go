package appws

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/appwebsocket/appws/internal/canon"
	"github.com/appwebsocket/appws/internal/envelope"
)

// requests is the table of Requests waiting for their replies, keyed by
// their src. The reader looks replies up in it; a session's end fails the
// Requests sent in it.
type requests struct {
	mu      sync.Mutex
	m       map[string]*request
	pending atomic.Int32  // len(m), read by the reader without the lock
	wake    chan struct{} // cap 1: a Request started; a paused reader re-checks its limits
}

func newRequests() *requests {
	return &requests{m: make(map[string]*request), wake: make(chan struct{}, 1)}
}

func (t *requests) add(src string, r *request) {
	t.mu.Lock()
	t.m[src] = r
	t.pending.Store(int32(len(t.m)))
	t.mu.Unlock()
	signal(t.wake)
}

// take removes and returns the Request waiting for src, if any.
func (t *requests) take(src string) *request {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.m[src]
	if r != nil {
		delete(t.m, src)
		t.pending.Store(int32(len(t.m)))
	}
	return r
}

// fail ends the Requests of a session that ended (every Request for
// session 0) with cause.
func (t *requests) fail(session uint64, cause error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for src, r := range t.m {
		if s := r.session.Load(); session == 0 || s == session {
			delete(t.m, src)
			r.ended(cause)
		}
	}
	t.pending.Store(int32(len(t.m)))
}

// block fails the Requests of session whose message was written: the
// read-ahead is full, so their replies cannot be read (ErrReplyBlocked).
// Requests not yet written stay: their replies cannot be behind anything
// yet.
func (t *requests) block(session uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for src, r := range t.m {
		if r.session.Load() == session && r.written.Load() {
			delete(t.m, src)
			r.finish(Message{}, ErrReplyBlocked)
		}
	}
	t.pending.Store(int32(len(t.m)))
}

// request is one Client.Request waiting for its reply.
type request struct {
	session atomic.Uint64 // set when the send is accepted
	written atomic.Bool   // the message went out: a session's end means no reply
	once    sync.Once
	result  chan requestResult // cap 1
}

type requestResult struct {
	m   Message
	err error
}

func (r *request) finish(m Message, err error) {
	r.once.Do(func() { r.result <- requestResult{m, err} })
}

// sent is called by the writer: whether the message was written whole.
// One that was not waits for its session's end, which says why.
func (r *request) sent(written bool) {
	if written {
		r.written.Store(true)
	}
}

// ended finishes r because its session ended with cause: a Request whose
// message was written may have been carried out by the server, so it says
// ErrNoReply, not ErrSessionEnded (which promises it was not sent).
func (r *request) ended(cause error) {
	if r.written.Load() {
		r.finish(Message{}, &endedError{ErrNoReply, cause})
		return
	}
	r.finish(Message{}, &endedError{ErrSessionEnded, cause})
}

// endedError is the error of a Request cut short by the end of its
// session: sentinel says what became of its message (ErrSessionEnded: not
// written whole, ErrNoReply: written, no reply), cause why the session
// ended.
type endedError struct{ sentinel, cause error }

// Error describes the error; it starts with "appws: ".
func (e *endedError) Error() string {
	return e.sentinel.Error() + ": " + strings.TrimPrefix(e.cause.Error(), "appws: ")
}

// Is makes the error match its sentinel.
func (e *endedError) Is(target error) bool { return target == e.sentinel }

// Unwrap returns why the session ended.
func (e *endedError) Unwrap() error { return e.cause }

// Request sends msg with a "src" of its own (replacing any src msg has) and
// returns the first message that carries that src: the reply. msg follows
// Send's rules, MaxMessageSize included. The reply goes to the caller, not to
// Events(), and is not gated by MessageComplete; later messages with the same
// src (indications of a subscription) go to Events() as usual. No SendResult
// is emitted for a Request: its error says what became of the send.
//
// Request may be called from the goroutine that reads Events(), between
// MessageComplete calls: while it waits, the client reads up to RequestReadAhead messages
// (and RequestReadAheadBytes) beyond the read-ahead, so the reply is found
// behind held Messages. If even that fills up before the reply comes, the
// reply is behind Messages only the consumer can take: Request waits while
// the consumer takes them (a consumer that reads on another goroutine, if
// slower than the server sends), and once it has taken none for
// Options.StallWarning (a stalled consumer, or one that waits in this very
// Request; checked every StallWarning, so after one to two of them),
// Request fails with ErrReplyBlocked (its message was written, as with
// ErrNoReply). The reply, when it is read, goes to Events() like any
// other Message.
//
// ctx bounds the whole wait. If the session ends first, the error says
// whether the message was sent: errors.Is(err, ErrSessionEnded) means the
// socket did not accept all of it (the server cannot have it whole: safe to
// retry); errors.Is(err, ErrNoReply) means it was written and the reply
// never came (the server may have acted on it).
// A reply that arrives after Request gave up is delivered on Events() like
// any other Message.
func (c *Client) Request(ctx context.Context, msg any) (Message, error) {
	data, env, err := encodeMessage(msg)
	if err != nil {
		return Message{}, err
	}
	src := "appws-" + strconv.FormatUint(c.nextSrc.Add(1), 10)
	data = withSrc(data, &env, src)

	r := &request{result: make(chan requestResult, 1)}
	c.reqs.add(src, r)
	defer c.reqs.take(src)

	if _, err := c.send(ctx, data, r); err != nil {
		return Message{}, err
	}
	select {
	case res := <-r.result:
		return res.m, res.err
	case <-ctx.Done():
		return Message{}, ctx.Err()
	}
}

// withSrc returns data with its top-level "src" set to src.
func withSrc(data []byte, env *envelope.Envelope, src string) []byte {
	val := canon.AppendString(nil, src)
	if env.SrcAt[1] > 0 {
		out := make([]byte, 0, len(data)+len(val))
		out = append(out, data[:env.SrcAt[0]]...)
		out = append(out, val...)
		return append(out, data[env.SrcAt[1]:]...)
	}
	end := len(data) - 1
	for data[end] != '}' {
		end--
	}
	out := make([]byte, 0, len(data)+len(val)+8)
	out = append(out, data[:end]...)
	out = append(out, `,"src":`...)
	out = append(out, val...)
	return append(out, data[end:]...)
}

// deliver hands m to the Request waiting for its src, if any.
func (t *requests) deliver(m Message) bool {
	r := t.take(m.Src)
	if r == nil {
		return false
	}
	r.finish(m, nil)
	return true
}
