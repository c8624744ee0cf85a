package appws

import (
	"context"
	"strconv"
	"sync"
)

// request is one Client.Request waiting for its reply.
type request struct {
	session uint64 // set when the send is accepted
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

// sent is called by the writer; only a failed write finishes the request.
func (r *request) sent(err error) {
	if err != nil {
		r.finish(Message{}, err)
	}
}

// Request sends msg with a "src" of its own (replacing any src msg has) and
// returns the first message that carries that src: the reply. msg follows
// Send's rules. The reply goes to the caller, not to Events(), and is not
// gated by MessageComplete; later messages with the same src (indications of
// a subscription) go to Events() as usual. No SendResult is emitted for a
// Request: its error says what became of the send.
//
// While a Request waits, the client reads up to RequestReadAhead messages
// beyond ReadAhead, so the reply is found even when the consumer holds a
// Message; Request may therefore be called from the goroutine that reads
// Events(), between MessageComplete calls. The reply is lost only when the
// server sends more than that many unsolicited messages before it.
//
// ctx bounds the whole wait. If the session ends first, the error wraps
// ErrSessionEnded. A reply that arrives after Request gave up is delivered
// on Events() like any other Message.
func (c *Client) Request(ctx context.Context, msg any) (Message, error) {
	data, env, err := encodeMessage(msg)
	if err != nil {
		return Message{}, err
	}
	src := "appws-" + strconv.FormatUint(c.nextSrc.Add(1), 10)
	data = withSrc(data, &env, src)

	r := &request{result: make(chan requestResult, 1)}
	c.reqMu.Lock()
	c.reqs[src] = r
	c.reqMu.Unlock()
	signal(c.reqWake)
	defer func() {
		c.reqMu.Lock()
		delete(c.reqs, src)
		c.reqMu.Unlock()
	}()

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
func withSrc(data []byte, env *envelope, src string) []byte {
	val := appendJSONString(nil, src)
	if env.srcAt[1] > 0 {
		out := make([]byte, 0, len(data)+len(val))
		out = append(out, data[:env.srcAt[0]]...)
		out = append(out, val...)
		return append(out, data[env.srcAt[1]:]...)
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

// deliverReply hands m to the Request waiting for its src, if any.
func (c *Client) deliverReply(m Message) bool {
	c.reqMu.Lock()
	r := c.reqs[m.Src]
	if r != nil {
		delete(c.reqs, m.Src)
	}
	c.reqMu.Unlock()
	if r == nil {
		return false
	}
	r.finish(m, nil)
	return true
}

func (c *Client) requestsPending() bool {
	c.reqMu.Lock()
	defer c.reqMu.Unlock()
	return len(c.reqs) > 0
}

// failRequests ends the Requests of a session that ended (every Request for
// session 0).
func (c *Client) failRequests(session uint64, cause error) {
	c.reqMu.Lock()
	defer c.reqMu.Unlock()
	for src, r := range c.reqs {
		if session == 0 || r.session == session {
			delete(c.reqs, src)
			r.finish(Message{}, sendFailed(cause))
		}
	}
}
