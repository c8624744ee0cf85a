package appws

// eventQueue decides the order of events (the rules on Event). It is pure:
// no goroutine, no channel, no lock, no clock; the emitter owns it under its
// lock and moves what next returns into the Events channel.
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
//     out: a call made before that belongs to the old session.
//   - What waits for a consumer that does not read is bounded (rule 8):
//     SendResults wait as runs of ids that ended alike, lifecycle events
//     beyond maxLife lose whole sessions the consumer never saw, and Send
//     refuses (ErrBacklog) once maxRuns runs wait.
type eventQueue struct {
	ctrl       fifo[ctrlItem]
	msgs       fifo[Message]
	life       int    // lifecycle events in ctrl
	runs       int    // runs of SendResults in ctrl
	handed     uint64 // session whose ConnectComplete went out: its Messages may go
	permit     bool
	lastResult bool // the last event out was a SendResult: a wanted Message goes next
	dropping   bool // Close was called: Messages are dropped, not queued
	ndropped   int  // Messages dropped since the last Disconnected or Closed

	// Stall detection (checkStall): Messages handed out so far, and that
	// count plus one when the last check found Messages waiting.
	delivered uint64
	mark      uint64
	warned    bool
}

// ctrlItem is a lifecycle event, or (ev == nil) the SendResults of the ids
// first..last, which all ended with err.
type ctrlItem struct {
	ev          Event
	first, last uint64
	err         error
}

// maxLife bounds the lifecycle events waiting for a consumer that does not
// read: beyond it, whole sessions it has not seen are left out (rule 8).
const maxLife = 64

// maxRuns bounds the runs of SendResults waiting for a consumer that does
// not read: beyond it, Send refuses with ErrBacklog (rule 8).
const maxRuns = 1024

func newEventQueue() eventQueue {
	return eventQueue{ctrl: fifo[ctrlItem]{keep: 64}, msgs: fifo[Message]{keep: 64}}
}

// next removes and returns the next event that may go now, or nil.
func (q *eventQueue) next() Event {
	if q.messageWanted() && (q.ctrl.len() == 0 || q.lastResult) {
		// While a Message is wanted, only runs of SendResults can be in
		// ctrl: the session's end drops its Messages first.
		q.permit, q.lastResult = false, false
		q.delivered++
		return q.msgs.pop()
	}
	if q.ctrl.len() == 0 {
		return nil
	}
	head := q.ctrl.frontPtr()
	if head.ev == nil {
		r := SendResult{ID: head.first, Err: head.err}
		if head.first == head.last {
			q.ctrl.pop()
			q.runs--
		} else {
			head.first++
		}
		q.lastResult = true
		return r
	}
	ev := q.ctrl.pop().ev
	q.lastResult = false
	switch ev := ev.(type) {
	case ConnectComplete:
		q.life--
		q.handed, q.permit = ev.Session, false
	case Disconnected:
		q.life--
	}
	return ev
}

// ready reports whether next would return an event.
func (q *eventQueue) ready() bool { return q.ctrl.len() > 0 || q.messageWanted() }

// messageWanted reports whether the next Message may go.
func (q *eventQueue) messageWanted() bool {
	return q.permit && q.msgs.len() > 0 && q.msgs.front().Session == q.handed
}

// grant records a MessageComplete for session (0: whichever is being
// delivered) and reports whether it changed anything.
func (q *eventQueue) grant(session uint64) bool {
	if session != 0 && session != q.handed {
		return false
	}
	q.permit = true
	return true
}

// pushMessage queues a received Message of the live session and reports
// whether it was kept (after Close it is dropped and counted).
func (q *eventQueue) pushMessage(m Message) bool {
	if q.dropping {
		q.ndropped++
		return false
	}
	q.msgs.push(m)
	return true
}

// pushResults queues the SendResults of the ids first..last, which all
// ended with err. A run continues the last one when the ids follow and the
// error is the same value, so a consumer that does not read costs no memory
// per send.
func (q *eventQueue) pushResults(first, last uint64, err error) {
	if q.ctrl.len() > 0 {
		if tail := q.ctrl.backPtr(); tail.ev == nil && tail.last+1 == first && tail.err == err {
			tail.last = last
			return
		}
	}
	q.ctrl.push(ctrlItem{first: first, last: last, err: err})
	q.runs++
}

// pushLife queues a ConnectComplete or a Disconnected. A Disconnected
// carries the Messages dropped since the last one. A failed reconnect
// attempt whose predecessor is still waiting replaces it, and beyond
// maxLife waiting lifecycle events the oldest session the consumer has not
// seen is left out whole.
func (q *eventQueue) pushLife(ev Event) {
	if d, ok := ev.(Disconnected); ok {
		d.Dropped, q.ndropped = q.ndropped, 0
		ev = d
		if d.Attempt > 0 && q.ctrl.len() > 0 {
			if tail := q.ctrl.backPtr(); tail.ev != nil {
				if prev, ok := tail.ev.(Disconnected); ok && prev.Session == d.Session && prev.Attempt > 0 {
					tail.ev = d
					return
				}
			}
		}
	}
	q.ctrl.push(ctrlItem{ev: ev})
	q.life++
	if q.life > maxLife {
		q.skipSession()
	}
}

// pushClosed queues the final event, with the Messages dropped since the
// last session's end.
func (q *eventQueue) pushClosed(ev Closed) {
	ev.Dropped, q.ndropped = ev.Dropped+q.ndropped, 0
	q.ctrl.push(ctrlItem{ev: ev})
}

// skipSession removes the lifecycle events of the oldest session whose
// ConnectComplete and Disconnected both wait, keeping its SendResults
// (joined with their neighbours where they now follow each other).
func (q *eventQueue) skipSession() {
	var skip uint64
	live := q.ctrl.buf[q.ctrl.head:]
	for _, it := range live {
		switch ev := it.ev.(type) {
		case ConnectComplete:
			if skip == 0 {
				skip = ev.Session
			}
		case Disconnected:
			if skip != 0 && ev.Session == skip {
				q.compact(skip)
				return
			}
		}
	}
}

// compact drops the ConnectComplete and Disconnected events of session
// skip, joins the runs that become neighbours, and recounts.
func (q *eventQueue) compact(skip uint64) {
	live := q.ctrl.buf[q.ctrl.head:]
	n := 0
	q.life, q.runs = 0, 0
	for _, it := range live {
		switch ev := it.ev.(type) {
		case ConnectComplete:
			if ev.Session == skip {
				continue
			}
		case Disconnected:
			if ev.Session == skip {
				continue
			}
		case nil:
			if n > 0 {
				if prev := &live[n-1]; prev.ev == nil && prev.last+1 == it.first && prev.err == it.err {
					prev.last = it.last
					continue
				}
			}
		}
		if it.ev == nil {
			q.runs++
		} else if _, ok := it.ev.(Closed); !ok {
			q.life++
		}
		live[n] = it
		n++
	}
	clear(live[n:])
	q.ctrl.buf = q.ctrl.buf[:q.ctrl.head+n]
}

// discard drops the read-ahead Messages, counts them, and returns how many.
func (q *eventQueue) discard() int {
	n := q.msgs.len()
	q.ndropped += n
	q.msgs.reset()
	return n
}

// checkStall is called every StallWarning. It reports true once per stall:
// when Messages were waiting at the last check too and none was handed
// out since, so they have waited at least one interval.
func (q *eventQueue) checkStall() bool {
	if q.msgs.len() == 0 || q.permit {
		q.mark, q.warned = 0, false
		return false
	}
	if q.mark == q.delivered+1 {
		if q.warned {
			return false
		}
		q.warned = true
		return true
	}
	q.mark, q.warned = q.delivered+1, false
	return false
}

// rest removes everything still queued up to Closed, for Close once the
// channel can take no more: the runs of SendResults (joined where they
// follow each other), how many events they and the lifecycle events make,
// and Closed.
func (q *eventQueue) rest() (closed Closed, results []SendResults, n int) {
	for q.ctrl.len() > 0 {
		it := q.ctrl.pop()
		switch ev := it.ev.(type) {
		case nil:
			n += int(it.last - it.first + 1)
			if k := len(results); k > 0 && results[k-1].Last+1 == it.first && results[k-1].Err == it.err {
				results[k-1].Last = it.last
				continue
			}
			results = append(results, SendResults{First: it.first, Last: it.last, Err: it.err})
		case Closed:
			return ev, results, n
		default:
			n++
		}
	}
	return Closed{}, results, n // cannot happen: Closed is queued before Close needs the rest
}
