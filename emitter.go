package appws

import "sync"

// emitter owns the user's event channel. Everything the client has to say
// goes through it, and one goroutine (run) hands the events out in the order
// the rules of Event demand:
//
//   - ctrl holds ConnectComplete, Disconnected, Closed and SendResult in
//     order; msgs holds the Messages read ahead, in order.
//   - A SendResult at the head of ctrl always goes; a Disconnected or Closed
//     waits until no Message of its session (or an earlier one) is left; a
//     Message goes only with permission and only once its session's
//     ConnectComplete went out.
//   - Permission (MessageComplete) belongs to the session whose
//     ConnectComplete is next or last out: it is reset when a ConnectComplete
//     becomes the next event, so a late call for the old session is dropped.
type emitter struct {
	out  chan Event
	wake chan struct{} // cap 1: something changed for run

	mu       sync.Mutex
	ctrl     []Event
	msgs     []Message
	active   uint64 // session whose ConnectComplete is next or out: permission is for it
	handed   uint64 // session whose ConnectComplete is out: its Messages may go
	permit   bool
	dropping bool // Close was called: Messages are dropped, not queued
	dropped  int
	life     int           // ConnectComplete and Disconnected events in ctrl
	lifeRoom chan struct{} // cap 1: a lifecycle event went out
	msgRoom  chan struct{} // cap 1: a Message went out or was dropped

	// release is called after a SendResult was handed out: it frees the send
	// slot that bounded it.
	release func()
}

// maxLife bounds the lifecycle events waiting for a consumer that does not
// read, so a flapping connection cannot grow the backlog without end.
const maxLife = 4

func newEmitter(release func()) *emitter {
	return &emitter{
		out:      make(chan Event),
		wake:     make(chan struct{}, 1),
		lifeRoom: make(chan struct{}, 1),
		msgRoom:  make(chan struct{}, 1),
		release:  release,
	}
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// run hands out events until Closed, then closes the channel.
func (e *emitter) run() {
	for {
		ev := e.next()
		e.out <- ev
		switch ev.(type) {
		case SendResult:
			e.release()
		case Closed:
			close(e.out)
			return
		}
	}
}

func (e *emitter) next() Event {
	e.mu.Lock()
	for {
		if ev := e.pick(); ev != nil {
			e.mu.Unlock()
			return ev
		}
		e.mu.Unlock()
		<-e.wake
		e.mu.Lock()
	}
}

// pick returns the next deliverable event, or nil. e.mu is held.
func (e *emitter) pick() Event {
	e.activate()
	if len(e.ctrl) > 0 {
		head := e.ctrl[0]
		ok := false
		switch ev := head.(type) {
		case SendResult:
			ok = true
		case ConnectComplete:
			ok = e.active == ev.Session
			if ok {
				e.handed = ev.Session
			}
		case Disconnected:
			ok = len(e.msgs) == 0 || e.msgs[0].Session > ev.Session
		case Closed:
			ok = len(e.msgs) == 0
			ev.Dropped = e.dropped
			head = ev
		}
		if ok {
			e.ctrl[0] = nil
			e.ctrl = e.ctrl[1:]
			switch head.(type) {
			case ConnectComplete, Disconnected:
				e.life--
				signal(e.lifeRoom)
			}
			e.activate()
			return head
		}
	}
	if len(e.msgs) > 0 && e.permit && e.msgs[0].Session == e.handed {
		m := e.msgs[0]
		e.msgs[0] = Message{}
		e.msgs = e.msgs[1:]
		e.permit = false
		signal(e.msgRoom)
		return m
	}
	return nil
}

// activate makes a ConnectComplete at the head of ctrl the next event once
// nothing of an older session is ahead of it, resetting permission.
func (e *emitter) activate() {
	if len(e.ctrl) == 0 {
		return
	}
	cc, ok := e.ctrl[0].(ConnectComplete)
	if !ok || e.active == cc.Session {
		return
	}
	if len(e.msgs) == 0 || e.msgs[0].Session >= cc.Session {
		e.active = cc.Session
		e.permit = false
	}
}

// grant records a MessageComplete.
func (e *emitter) grant() {
	e.mu.Lock()
	e.permit = true
	e.mu.Unlock()
	signal(e.wake)
}

// pushMessage queues a received Message (or drops it after Close).
func (e *emitter) pushMessage(m Message) {
	e.mu.Lock()
	if e.dropping {
		e.dropped++
		e.mu.Unlock()
		return
	}
	e.msgs = append(e.msgs, m)
	e.mu.Unlock()
	signal(e.wake)
}

// messages reports how many Messages wait for delivery, and whether Close
// was called (then nothing waits: all are dropped).
func (e *emitter) messages() (int, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.msgs), e.dropping
}

// pushResults queues SendResults. They are bounded by the send slots, so
// this never waits.
func (e *emitter) pushResults(rs ...SendResult) {
	e.mu.Lock()
	for _, r := range rs {
		e.ctrl = append(e.ctrl, r)
	}
	e.mu.Unlock()
	signal(e.wake)
}

// pushLife queues a ConnectComplete or Disconnected, waiting while maxLife
// of them are undelivered. It gives up, returning false, when stop closes.
// A failed reconnect attempt whose predecessor is still undelivered replaces
// it: a lagging consumer sees the latest attempt, and the reconnecting goes
// on instead of waiting for the consumer.
func (e *emitter) pushLife(ev Event, stop <-chan struct{}) bool {
	e.mu.Lock()
	if d, ok := ev.(Disconnected); ok && d.Attempt > 1 && len(e.ctrl) > 0 {
		if prev, ok := e.ctrl[len(e.ctrl)-1].(Disconnected); ok && prev.Session == d.Session && prev.Attempt > 1 {
			e.ctrl[len(e.ctrl)-1] = d
			e.mu.Unlock()
			return true
		}
	}
	for e.life >= maxLife {
		e.mu.Unlock()
		select {
		case <-e.lifeRoom:
		case <-stop:
			return false
		}
		e.mu.Lock()
	}
	e.ctrl = append(e.ctrl, ev)
	e.life++
	e.activate()
	e.mu.Unlock()
	signal(e.wake)
	return true
}

// pushClosed queues the final event.
func (e *emitter) pushClosed(ev Closed) {
	e.mu.Lock()
	e.ctrl = append(e.ctrl, ev)
	e.mu.Unlock()
	signal(e.wake)
}

// drop discards undelivered Messages, now and from now on (Close).
func (e *emitter) drop() {
	e.mu.Lock()
	e.dropping = true
	e.dropped += len(e.msgs)
	clear(e.msgs)
	e.msgs = e.msgs[:0]
	e.mu.Unlock()
	signal(e.wake)
	signal(e.msgRoom)
}
