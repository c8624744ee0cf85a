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
	ctrl     fifo[Event]
	msgs     fifo[Message]
	active   uint64 // session whose ConnectComplete is next or out: permission is for it
	handed   uint64 // session whose ConnectComplete is out: its Messages may go
	permit   bool
	passed   bool // the last event out was a SendResult: a ready Message goes next
	dropping bool // Close was called: Messages are dropped, not queued
	dropped  int
	life     int           // ConnectComplete and Disconnected events in ctrl
	lifeRoom chan struct{} // cap 1: a lifecycle event went out
	msgRoom  chan struct{} // cap 1: the read-ahead drained to roomAt, or Close
	roomAt   int           // signal msgRoom when this few Messages wait; -1: no one waits

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
		roomAt:   -1,
		release:  release,
		// Room for the SendResults of a full send queue (16 bytes each)
		// and for the usual read-ahead (80 bytes a Message).
		ctrl: fifo[Event]{keep: 512},
		msgs: fifo[Message]{keep: 64},
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
	if e.ctrl.len() > 0 {
		head := e.ctrl.front()
		ok := false
		switch ev := head.(type) {
		case SendResult:
			// SendResults may pass Messages, but a wanted Message gets
			// every other turn: busy senders keep SendResults coming and
			// must not starve the Messages.
			ok = !(e.passed && e.messageReady())
			e.passed = ok
		case ConnectComplete:
			ok = e.active == ev.Session
			if ok {
				e.handed = ev.Session
			}
		case Disconnected:
			ok = e.msgs.len() == 0 || e.msgs.front().Session > ev.Session
		case Closed:
			ok = e.msgs.len() == 0
			ev.Dropped = e.dropped
			head = ev
		}
		if ok {
			e.ctrl.pop()
			switch head.(type) {
			case ConnectComplete, Disconnected:
				e.life--
				signal(e.lifeRoom)
			}
			e.activate()
			return head
		}
	}
	if e.messageReady() {
		e.passed = false
		m := e.msgs.pop()
		e.permit = false
		if e.msgs.len() <= e.roomAt {
			e.roomAt = -1
			signal(e.msgRoom)
		}
		return m
	}
	return nil
}

// messageReady reports whether the next Message may go now. e.mu is held.
func (e *emitter) messageReady() bool {
	return e.msgs.len() > 0 && e.permit && e.msgs.front().Session == e.handed
}

// activate makes a ConnectComplete at the head of ctrl the next event once
// nothing of an older session is ahead of it, resetting permission.
func (e *emitter) activate() {
	if e.ctrl.len() == 0 {
		return
	}
	cc, ok := e.ctrl.front().(ConnectComplete)
	if !ok || e.active == cc.Session {
		return
	}
	if e.msgs.len() == 0 || e.msgs.front().Session >= cc.Session {
		e.active = cc.Session
		e.permit = false
	}
}

// grant records a MessageComplete.
func (e *emitter) grant() {
	e.mu.Lock()
	had := e.permit
	e.permit = true
	e.mu.Unlock()
	if !had {
		signal(e.wake)
	}
}

// pushMessage queues a received Message (or drops it after Close) and
// returns how many wait now.
func (e *emitter) pushMessage(m Message) int {
	e.mu.Lock()
	if e.dropping {
		e.dropped++
		e.mu.Unlock()
		return 0
	}
	e.msgs.push(m)
	// A Message only ever unblocks itself, and only with permission at the
	// head of the queue; waking run for anything else would be a wasted
	// goroutine switch per message.
	n := e.msgs.len()
	wake := e.permit && n == 1
	e.mu.Unlock()
	if wake {
		signal(e.wake)
	}
	return n
}

// room reports whether the reader may read another message with limit
// Messages allowed to wait (always after Close: then they are dropped). If
// not, msgRoom is signalled once the backlog has drained to half the limit:
// waking the reader for every delivered Message would cost a goroutine
// switch per message, so it reads in bursts instead.
func (e *emitter) room(limit int) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.dropping || e.msgs.len() < limit {
		e.roomAt = -1
		return true
	}
	e.roomAt = limit / 2
	return false
}

// pushResults queues SendResults. They are bounded by the send slots, so
// this never waits.
func (e *emitter) pushResults(rs ...SendResult) {
	e.mu.Lock()
	for _, r := range rs {
		e.ctrl.push(r)
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
	if d, ok := ev.(Disconnected); ok && d.Attempt > 1 && e.ctrl.len() > 0 {
		if prev, ok := (*e.ctrl.back()).(Disconnected); ok && prev.Session == d.Session && prev.Attempt > 1 {
			*e.ctrl.back() = d
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
	e.ctrl.push(ev)
	e.life++
	e.activate()
	e.mu.Unlock()
	signal(e.wake)
	return true
}

// pushClosed queues the final event.
func (e *emitter) pushClosed(ev Closed) {
	e.mu.Lock()
	e.ctrl.push(ev)
	e.mu.Unlock()
	signal(e.wake)
}

// drop discards undelivered Messages, now and from now on (Close).
func (e *emitter) drop() {
	e.mu.Lock()
	e.dropping = true
	e.dropped += e.msgs.len()
	e.msgs.reset()
	e.mu.Unlock()
	signal(e.wake)
	signal(e.msgRoom)
}

// fifo is a queue that reuses its array: popping by reslicing would make
// every append past the end allocate a new one, once per few messages.
type fifo[T any] struct {
	buf  []T
	head int
	keep int // the largest array kept once the queue is empty
}

func (q *fifo[T]) len() int { return len(q.buf) - q.head }

func (q *fifo[T]) front() T { return q.buf[q.head] }

func (q *fifo[T]) back() *T { return &q.buf[len(q.buf)-1] }

func (q *fifo[T]) push(v T) {
	if len(q.buf) == cap(q.buf) && q.head >= len(q.buf)/2 {
		// Move the live half to the front instead of growing.
		n := copy(q.buf, q.buf[q.head:])
		clear(q.buf[n:])
		q.buf, q.head = q.buf[:n], 0
	}
	q.buf = append(q.buf, v)
}

func (q *fifo[T]) pop() T {
	var zero T
	v := q.buf[q.head]
	q.buf[q.head] = zero
	q.head++
	if q.head == len(q.buf) {
		// Empty: start over at the front; let a burst's big array go.
		q.buf, q.head = q.buf[:0], 0
		if cap(q.buf) > q.keep {
			q.buf = nil
		}
	}
	return v
}

// reset empties the queue.
func (q *fifo[T]) reset() {
	clear(q.buf)
	q.buf, q.head = nil, 0
}
