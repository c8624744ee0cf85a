package appwstest

import (
	"bytes"
	"context"
	"fmt"
	"sync"

	"github.com/appwebsocket/appws"
)

// Record keeps messages in the order they were received, from every
// session, and lets a test wait for them: the log a fake of one API keeps
// of what it received (the fakes in rcc/rcctest, tableusers/tableuserstest,
// pbxapi/pbxapitest and pbxadminapi/pbxadminapitest do). Unlike
// Session.Received it spans sessions. The zero Record is ready to use; its
// methods are safe from any goroutine.
type Record struct {
	mu   sync.Mutex
	msgs []appws.Message
	sig  chan struct{} // closed and replaced on every Add; nil until needed
}

// Add appends a copy of m, received by ss: its Session becomes ss.ID().
func (r *Record) Add(ss *Session, m appws.Message) {
	m.Raw = bytes.Clone(m.Raw)
	m.Session = ss.ID()
	r.mu.Lock()
	r.msgs = append(r.msgs, m)
	if r.sig != nil {
		close(r.sig)
		r.sig = nil
	}
	r.mu.Unlock()
}

// Messages returns copies of the messages with mt, in order; every message
// for "".
func (r *Record) Messages(mt string) []appws.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.messagesLocked(mt)
}

func (r *Record) messagesLocked(mt string) []appws.Message {
	var out []appws.Message
	for _, m := range r.msgs {
		if mt == "" || m.MT == mt {
			m.Raw = bytes.Clone(m.Raw)
			out = append(out, m)
		}
	}
	return out
}

// WaitFor waits until at least n messages with mt (any mt for "") were
// added and returns them all, as Messages(mt) does. When ctx ends first,
// it returns those it has and an error that wraps ctx's.
func (r *Record) WaitFor(ctx context.Context, mt string, n int) ([]appws.Message, error) {
	for {
		r.mu.Lock()
		got := r.messagesLocked(mt)
		if r.sig == nil {
			r.sig = make(chan struct{})
		}
		sig := r.sig
		r.mu.Unlock()
		if len(got) >= n {
			return got, nil
		}
		select {
		case <-sig:
		case <-ctx.Done():
			return got, fmt.Errorf("appwstest: waiting for %d %s, have %d: %w", n, mtText(mt), len(got), ctx.Err())
		}
	}
}

func mtText(mt string) string {
	if mt == "" {
		return "messages"
	}
	return mt
}
