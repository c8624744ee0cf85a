package appws

import (
	"sync"
	"sync/atomic"
)

// emitter owns the user's event channel and decides what goes into it
// next. It has no goroutine of its own while the consumer keeps up:
//
//   - Whoever has something to say (the reader a Message, the writer a run
//     of SendResults, the supervisor a lifecycle event, the consumer a
//     MessageComplete) takes the lock, queues it, and moves every event that
//     may go now into the channel's buffer without blocking (deliverLocked).
//     So MessageComplete, on the consumer's goroutine, itself puts the next
//     read-ahead Message into the channel: no goroutine is woken for it.
//   - Only when the buffer is full does a pump goroutine start, which hands
//     out events with blocking sends until nothing is left, then ends.
//
// The order (the rules of Event):
//
//   - ctrl holds ConnectComplete, Disconnected, Closed and runs of
//     SendResults, in the order they happened; it is never gated. msgs holds
//     the live session's read-ahead Messages: one goes only with permission
//     and only after its session's ConnectComplete went out. A wanted
//     Message and a SendResult take turns, so neither starves the other.
//   - A session's read-ahead Messages are dropped when it ends (endSession),
//     before its Disconnected or Closed is queued, which counts them: the
//     lifecycle never waits behind a Message nobody asked for.
//   - Permission (MessageComplete) is reset when a ConnectComplete goes
//     into the channel: a call made before that belongs to the old session.
type emitter struct {
	out     chan Event
	dropped *atomic.Uint64 // the client's count of dropped Messages (Stats)
	abort   chan struct{}  // closed by finish: the pump gives up
	room    chan struct{}  // cap 1: the read-ahead drained to the low-water mark
	wg      sync.WaitGroup

	mu         sync.Mutex
	ctrl       fifo[ctrlItem]
	msgs       fifo[Message]
	msgBytes   int
	life       int    // lifecycle events in ctrl
	handed     uint64 // session whose ConnectComplete went out: its Messages may go
	permit     bool
	lastResult bool // the last event out was a SendResult: a wanted Message goes next
	dropping   bool // Close was called: Messages are dropped, not queued
	ndropped   int  // Messages dropped since the last Disconnected or Closed
	inflight   Event
	pumping    bool // the pump runs: it alone moves events into out
	aborted    bool
	finished   bool // out is closed

	// The reader's flow control: when it waits for room, it is woken once
	// the read-ahead has drained to these marks, so it reads in bursts
	// instead of being woken for every delivered Message.
	roomWait           bool
	lowCount, lowBytes int
}

// ctrlItem is a lifecycle event, or (ev == nil) the SendResults of the ids
// first..last, which all ended with err.
type ctrlItem struct {
	ev          Event
	first, last uint64
	err         error
}

// eventBuffer is the capacity of the Events channel: what a consumer that
// stopped reading finds there after Close (see Closed.Undelivered).
const eventBuffer = 128

// maxLife bounds the lifecycle events waiting for a consumer that does not
// read: beyond it, whole sessions it has not seen are left out (rule 8).
const maxLife = 64

func newEmitter(dropped *atomic.Uint64) *emitter {
	return &emitter{
		out:     make(chan Event, eventBuffer),
		dropped: dropped,
		abort:   make(chan struct{}),
		room:    make(chan struct{}, 1),
		ctrl:    fifo[ctrlItem]{keep: 64},
		msgs:    fifo[Message]{keep: 64},
	}
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// take removes and returns the next event that may go now, or nil. e.mu is
// held.
func (e *emitter) take() Event {
	wanted := e.msgs.len() > 0 && e.permit && e.msgs.front().Session == e.handed
	if wanted && (e.ctrl.len() == 0 || e.lastResult) {
		// While a Message is wanted, only runs of SendResults can be in
		// ctrl: the session's end drops its Messages first.
		m := e.msgs.pop()
		e.msgBytes -= len(m.Raw)
		e.permit = false
		e.lastResult = false
		if e.roomWait && e.msgs.len() <= e.lowCount && e.msgBytes <= e.lowBytes {
			e.roomWait = false
			signal(e.room)
		}
		return m
	}
	if e.ctrl.len() == 0 {
		return nil
	}
	head := e.ctrl.frontPtr()
	if head.ev == nil {
		r := SendResult{ID: head.first, Err: head.err}
		if head.first == head.last {
			e.ctrl.pop()
		} else {
			head.first++
		}
		e.lastResult = true
		return r
	}
	ev := e.ctrl.pop().ev
	e.lastResult = false
	switch ev := ev.(type) {
	case ConnectComplete:
		e.life--
		e.handed = ev.Session
		e.permit = false
	case Disconnected:
		e.life--
	}
	return ev
}

// deliverLocked moves every event that may go now into the channel without
// blocking; when the buffer is full it leaves the rest to the pump. e.mu is
// held.
func (e *emitter) deliverLocked() {
	if e.pumping || e.finished || e.aborted {
		return
	}
	for {
		ev := e.take()
		if ev == nil {
			return
		}
		select {
		case e.out <- ev:
			if _, ok := ev.(Closed); ok {
				close(e.out)
				e.finished = true
				return
			}
		default:
			e.inflight = ev
			e.pumping = true
			e.wg.Add(1)
			go e.pump()
			return
		}
	}
}

// pump hands out events with blocking sends while the consumer lags, and
// ends when nothing is left to hand out, after Closed, or when finish
// aborts it (then its event in flight stays for finish).
func (e *emitter) pump() {
	defer e.wg.Done()
	e.mu.Lock()
	for {
		ev := e.inflight
		if ev == nil {
			if ev = e.take(); ev == nil {
				e.pumping = false
				e.mu.Unlock()
				return
			}
			e.inflight = ev
		}
		e.mu.Unlock()
		select {
		case e.out <- ev:
		case <-e.abort:
			return
		}
		e.mu.Lock()
		e.inflight = nil
		if _, ok := ev.(Closed); ok {
			close(e.out)
			e.finished = true
			e.pumping = false
			e.mu.Unlock()
			return
		}
	}
}

// grant records a MessageComplete and, if a Message is waiting, hands it
// out on the caller's goroutine. A session other than 0 grants only if it
// is the session whose events are being delivered (Client.Handled).
func (e *emitter) grant(session uint64) {
	e.mu.Lock()
	if session != 0 && session != e.handed {
		e.mu.Unlock()
		return
	}
	e.permit = true
	e.deliverLocked()
	e.mu.Unlock()
}

// pushMessage queues a received Message of the live session (or drops it
// after Close) and reports whether the reader may read another one within
// the limits of messages and bytes waiting.
func (e *emitter) pushMessage(m Message, limit, limitBytes int) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.dropping {
		e.ndropped++
		e.dropped.Add(1)
		return true
	}
	e.msgs.push(m)
	e.msgBytes += len(m.Raw)
	e.deliverLocked()
	return e.msgs.len() < limit && e.msgBytes < limitBytes
}

// waitRoom reports whether the reader may read another message within the
// limits. If not, room is signalled once the read-ahead has drained to half
// of them (or Close drops it).
func (e *emitter) hasRoom(limit, limitBytes int) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.dropping || (e.msgs.len() < limit && e.msgBytes < limitBytes) {
		e.roomWait = false
		return true
	}
	e.roomWait = true
	e.lowCount, e.lowBytes = limit/2, limitBytes/2
	return false
}

// pushResults queues the SendResults of the ids first..last, which all
// ended with err. Consecutive ids that ended the same way share one entry,
// so a consumer that does not read costs no memory per send.
func (e *emitter) pushResults(first, last uint64, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ctrl.len() > 0 {
		if tail := e.ctrl.backPtr(); tail.ev == nil && tail.last+1 == first && tail.err == err {
			tail.last = last
			e.deliverLocked()
			return
		}
	}
	e.ctrl.push(ctrlItem{first: first, last: last, err: err})
	e.deliverLocked()
}

// pushLife queues a ConnectComplete or a Disconnected; it never waits. A
// Disconnected of a lost session carries the Messages its end dropped. A
// failed reconnect attempt whose predecessor is still undelivered replaces
// it, and beyond maxLife waiting lifecycle events the oldest session the
// consumer has not seen is left out whole.
func (e *emitter) pushLife(ev Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if d, ok := ev.(Disconnected); ok {
		d.Dropped, e.ndropped = e.ndropped, 0
		ev = d
		if d.Attempt > 1 && e.ctrl.len() > 0 {
			if tail := e.ctrl.backPtr(); tail.ev != nil {
				if prev, ok := tail.ev.(Disconnected); ok && prev.Session == d.Session && prev.Attempt > 1 {
					tail.ev = d
					e.deliverLocked()
					return
				}
			}
		}
	}
	e.ctrl.push(ctrlItem{ev: ev})
	e.life++
	if e.life > maxLife {
		e.skipSession()
	}
	e.deliverLocked()
}

// skipSession removes the lifecycle events of the oldest session whose
// ConnectComplete and Disconnected both wait, keeping its SendResults.
func (e *emitter) skipSession() {
	var skip uint64
	for i := e.ctrl.head; i < len(e.ctrl.buf); i++ {
		switch ev := e.ctrl.buf[i].ev.(type) {
		case ConnectComplete:
			if skip == 0 {
				skip = ev.Session
			}
		case Disconnected:
			if skip != 0 && ev.Session == skip {
				e.ctrl.filter(func(it ctrlItem) bool {
					switch ev := it.ev.(type) {
					case ConnectComplete:
						return ev.Session != skip
					case Disconnected:
						return ev.Session != skip
					}
					return true
				})
				e.life = 0
				for _, it := range e.ctrl.buf[e.ctrl.head:] {
					if it.ev != nil {
						e.life++
					}
				}
				return
			}
		}
	}
}

// pushClosed queues the final event, with the Messages dropped since the
// last session's end.
func (e *emitter) pushClosed(ev Closed) {
	e.mu.Lock()
	defer e.mu.Unlock()
	ev.Dropped, e.ndropped = ev.Dropped+e.ndropped, 0
	e.ctrl.push(ctrlItem{ev: ev})
	e.deliverLocked()
}

// endSession drops the read-ahead of the session that just ended: with the
// socket gone there is nothing left to pace, and its lifecycle event must
// not wait for them. The event that reports the end counts them.
func (e *emitter) endSession() {
	e.mu.Lock()
	e.discardLocked()
	e.roomWait = false
	e.mu.Unlock()
}

// discardLocked drops the read-ahead and counts it. e.mu is held.
func (e *emitter) discardLocked() {
	n := e.msgs.len()
	e.ndropped += n
	e.dropped.Add(uint64(n))
	e.msgs.reset()
	e.msgBytes = 0
}

// drop discards undelivered Messages, now and from now on (Close), and
// releases a reader waiting for room.
func (e *emitter) drop() {
	e.mu.Lock()
	e.dropping = true
	e.discardLocked()
	e.mu.Unlock()
	signal(e.room)
}

// finish ends the pump and puts what is left (Closed last; Messages were
// dropped) into the channel's buffer without waiting for the consumer, then
// closes the channel. Events that do not fit, because nobody read the
// channel, are counted in Closed.Undelivered. Close calls it once the
// supervisor has queued Closed.
func (e *emitter) finish() {
	e.mu.Lock()
	if !e.aborted {
		e.aborted = true
		close(e.abort)
	}
	e.mu.Unlock()
	e.wg.Wait()

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.finished {
		return
	}
	closed, undelivered := e.placeRest()
	closed.Undelivered = undelivered
	select {
	case e.out <- closed:
	default:
		e.makeRoomFor(&closed)
		e.out <- closed
	}
	close(e.out)
	e.finished = true
}

// placeRest puts the events still queued into the channel's buffer, in
// order, keeping a place for Closed, and returns Closed and how many events
// did not fit. Once one did not fit, none after it goes either, so what is
// missing is right before Closed. e.mu is held.
func (e *emitter) placeRest() (Closed, int) {
	undelivered := 0
	for {
		ev := e.inflight
		e.inflight = nil
		if ev == nil {
			if ev = e.take(); ev == nil {
				return Closed{}, undelivered // cannot happen: Closed is queued
			}
		}
		if cl, ok := ev.(Closed); ok {
			return cl, undelivered
		}
		if undelivered == 0 && len(e.out) < cap(e.out)-1 {
			e.out <- ev
			continue
		}
		undelivered++
	}
}

// makeRoomFor frees the place for Closed that the pump filled: it takes the
// buffer out and puts it back without its newest event, which closed then
// counts, so that what is missing is still right before Closed. (A consumer
// reading meanwhile sees the same order.) e.mu is held.
func (e *emitter) makeRoomFor(closed *Closed) {
	var held []Event
	for len(e.out) > 0 {
		select {
		case ev := <-e.out:
			held = append(held, ev)
		default:
		}
	}
	if n := len(held); n == cap(e.out) {
		if _, ok := held[n-1].(Message); ok {
			closed.Dropped++
		} else {
			closed.Undelivered++
		}
		held = held[:n-1]
	}
	for _, ev := range held {
		e.out <- ev
	}
}
