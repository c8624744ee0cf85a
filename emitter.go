package appws

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// emitter owns the user's Events channel: it moves what the eventQueue
// says may go next into it, and ends it. It has no goroutine of its own
// while the consumer keeps up:
//
//   - Whoever has something to say (the reader a Message, the writer a run
//     of SendResults, the supervisor a lifecycle event, the consumer a
//     MessageComplete) takes the lock, queues it, and moves every event that
//     may go now into the channel's buffer without blocking (deliverLocked).
//     So MessageComplete, on the consumer's goroutine, itself puts the next
//     read-ahead Message into the channel: no goroutine is woken for it.
//   - The channel's last place is kept for Closed: events go in only while
//     fewer than eventBuffer wait there. Then a pump goroutine starts and
//     waits for the consumer to read (below), hands out what it can, and
//     ends when nothing is left.
//   - Nothing ever takes an event back out of the channel: Close puts what
//     fits behind what is there, counts the rest in Closed (runs of ids in
//     Closed.Results), and puts Closed into the kept place.
//
// Go cannot tell a goroutine that the consumer took an event from a
// buffered channel without filling the channel up again (a blocking send
// would take the place kept for Closed). So the pump learns that there is
// room from the consumer's own calls (Handled, MessageComplete wake it at
// once); otherwise it yields to the consumer pollSpins times, then looks
// again after a short wait that doubles from pollMin to pollMax while
// nothing is read.
type emitter struct {
	out     chan Event
	dropped *atomic.Uint64 // the client's count of dropped Messages (Stats)
	ra      *readAhead
	abort   chan struct{} // closed by finish: the pump gives up
	read    chan struct{} // cap 1: the consumer called Handled or MessageComplete
	wg      sync.WaitGroup

	mu       sync.Mutex
	q        eventQueue
	pumping  bool // the pump runs: it alone moves events into out
	waiting  atomic.Bool
	aborted  bool
	finished bool // out is closed
}

// eventBuffer is how many events wait in the Events channel, the place kept
// for Closed not counted: what a consumer that stopped reading finds there
// after Close.
const eventBuffer = 128

// The pump's waits for a consumer that reads without calling Handled.
const (
	pollSpins = 64
	pollMin   = 50 * time.Microsecond
	pollMax   = 20 * time.Millisecond
)

// newEmitter returns an emitter and, in e.ra, the read-ahead it counts
// Messages in, which shares its lock.
func newEmitter(dropped *atomic.Uint64) *emitter {
	e := &emitter{
		out:     make(chan Event, eventBuffer+1),
		dropped: dropped,
		abort:   make(chan struct{}),
		read:    make(chan struct{}, 1),
		q:       newEventQueue(),
	}
	e.ra = newReadAhead(&e.mu)
	return e
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// takeLocked returns the next event that may go, or nil, and settles the
// read-ahead's account for a Message. e.mu is held.
func (e *emitter) takeLocked() Event {
	ev := e.q.next()
	if m, ok := ev.(Message); ok {
		e.ra.take(len(m.Raw))
	}
	return ev
}

// deliverLocked moves every event that may go now into the channel without
// blocking; when the channel holds eventBuffer events it leaves the rest to
// the pump. e.mu is held.
func (e *emitter) deliverLocked() {
	if e.pumping || e.finished || e.aborted {
		return
	}
	// The queue is asked first: len(e.out) is a call into the runtime, and
	// most calls (a Message nobody asked for yet) have nothing to put.
	for e.q.ready() {
		if len(e.out) >= eventBuffer && !e.closedNextLocked() {
			e.pumping = true
			e.wg.Add(1)
			go e.pump()
			return
		}
		if !e.putLocked() {
			return
		}
	}
}

// putLocked puts the next event into the channel, which has room, and
// reports whether there was one. Closed closes the channel. e.mu is held.
func (e *emitter) putLocked() bool {
	ev := e.takeLocked()
	if ev == nil {
		return false
	}
	e.out <- ev // never blocks: fewer than eventBuffer wait, and the one more place is free
	if _, ok := ev.(Closed); ok {
		close(e.out)
		e.finished = true
		return false
	}
	return true
}

// closedNextLocked reports whether Closed is the next event: it may take the
// place kept for it. e.mu is held.
func (e *emitter) closedNextLocked() bool {
	if e.q.ctrl.len() == 0 || e.q.messageWanted() {
		return false
	}
	_, ok := e.q.ctrl.front().ev.(Closed)
	return ok
}

// pump hands out events while the consumer lags: it waits for room, fills
// the channel, and ends when nothing is left, after Closed, or when finish
// aborts it.
func (e *emitter) pump() {
	defer e.wg.Done()
	var t *time.Timer
	wait := pollMin
	e.mu.Lock()
	for {
		if e.aborted || e.finished {
			e.pumping = false
			e.mu.Unlock()
			return
		}
		if len(e.out) < eventBuffer || e.closedNextLocked() {
			if !e.putLocked() {
				e.pumping = false
				e.mu.Unlock()
				return
			}
			wait = pollMin
			continue
		}
		e.mu.Unlock()
		// A consumer that reads makes room within microseconds: yield to
		// it a few times before sleeping.
		for i := 0; i < pollSpins && len(e.out) >= eventBuffer; i++ {
			runtime.Gosched()
		}
		if len(e.out) < eventBuffer {
			e.mu.Lock()
			wait = pollMin
			continue
		}
		e.waiting.Store(true)
		if t == nil {
			t = time.NewTimer(wait)
			defer t.Stop()
		} else {
			t.Reset(wait)
		}
		select {
		case <-e.read:
			wait = pollMin
		case <-t.C:
			wait = min(2*wait, pollMax)
		case <-e.abort:
		}
		e.waiting.Store(false)
		e.mu.Lock()
	}
}

// consumerRead tells a waiting pump that the consumer took an event.
func (e *emitter) consumerRead() {
	if e.waiting.Load() {
		signal(e.read)
	}
}

// grant records a MessageComplete (for session, or for any with 0) and, if
// a Message is waiting, hands it out on the caller's goroutine.
func (e *emitter) grant(session uint64) {
	e.consumerRead()
	e.mu.Lock()
	if e.q.grant(session) {
		e.deliverLocked()
	}
	e.mu.Unlock()
}

// pushMessage queues a received Message of the live session, or drops it
// after Close.
func (e *emitter) pushMessage(m Message, limit, limitBytes int) (room bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.q.pushMessage(m) {
		e.dropped.Add(1)
		return true
	}
	room = e.ra.add(len(m.Raw), limit, limitBytes)
	e.deliverLocked()
	return room
}

// pushResults queues the SendResults of the ids first..last, which all
// ended with err.
func (e *emitter) pushResults(first, last uint64, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.q.pushResults(first, last, err)
	e.deliverLocked()
}

// pushLife queues a ConnectComplete or a Disconnected; it never waits.
func (e *emitter) pushLife(ev Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.q.pushLife(ev)
	e.deliverLocked()
}

// pushClosed queues the final event.
func (e *emitter) pushClosed(ev Closed) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.q.pushClosed(ev)
	e.deliverLocked()
}

// endSession drops the read-ahead of the session that just ended: with the
// socket gone there is nothing left to pace, and its lifecycle event must
// not wait for them. The event that reports the end counts them.
func (e *emitter) endSession() {
	e.mu.Lock()
	e.dropped.Add(uint64(e.q.discard()))
	e.ra.reset()
	e.mu.Unlock()
}

// drop discards undelivered Messages, now and from now on (Close), and
// releases a reader waiting for room.
func (e *emitter) drop() {
	e.mu.Lock()
	e.q.dropping = true
	e.dropped.Add(uint64(e.q.discard()))
	e.ra.reset()
	e.mu.Unlock()
}

// backlog returns how many entries wait for the consumer beyond the
// channel (Stats.Backlog).
func (e *emitter) backlog() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.q.ctrl.len()
}

// behind reports whether so many runs of SendResults wait that Send must
// refuse (ErrBacklog).
func (e *emitter) behind() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.q.runs >= maxRuns
}

// checkStall reports, once per stall, that Messages have waited for
// MessageComplete since the last check.
func (e *emitter) checkStall() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.q.checkStall()
}

// finish ends the pump and puts what is left into the channel without
// waiting for the consumer or taking anything back out: what fits behind
// what is there, then Closed into the place kept for it, which counts the
// rest (Undelivered, and the SendResults among them as runs in Results).
// Close calls it once the supervisor has queued Closed.
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
	for len(e.out) < eventBuffer {
		if !e.putLocked() {
			break
		}
	}
	if e.finished { // Closed fitted
		return
	}
	closed, results, n := e.q.rest()
	closed.Undelivered, closed.Results = n, results
	e.out <- closed // the kept place: never blocks
	close(e.out)
	e.finished = true
}
