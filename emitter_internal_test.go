package appws

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestEmitterNeverStalls drives the emitter the way the supervisor, the
// reader and the writer do, from their own goroutines, with a consumer that
// calls MessageComplete after each ConnectComplete and Message (sometimes
// slowly), and checks that every event arrives in order and that every
// Message is either delivered or counted as dropped: a lost wake-up shows as
// a stall.
func TestEmitterNeverStalls(t *testing.T) {
	for seed := range uint64(200) {
		rng := rand.New(rand.NewPCG(seed, 7))         // the supervisor's
		consumerRng := rand.New(rand.NewPCG(seed, 8)) // the consumer's
		var dropped atomic.Uint64
		e := newEmitter(&dropped)
		ra := e.ra
		const sessions = 5
		var wg sync.WaitGroup
		pushed := 0
		wg.Add(1)
		go func() { // supervisor + reader + writer of each session
			defer wg.Done()
			id := uint64(1)
			for sess := uint64(1); sess <= sessions; sess++ {
				e.pushLife(ConnectComplete{Session: sess})
				var rw sync.WaitGroup
				rw.Add(2)
				n := 50 + rng.IntN(100)
				pushed += n
				go func() { // reader
					defer rw.Done()
					full := false
					for range n {
						for full && !ra.hasRoom(16, 1<<20) {
							select {
							case <-ra.room:
							case <-time.After(5 * time.Second):
								t.Errorf("seed %d: reader never got room", seed)
								return
							}
						}
						full = !e.pushMessage(Message{Session: sess, Raw: []byte("{}")}, 16, 1<<20)
					}
				}()
				go func() { // writer
					defer rw.Done()
					for range 50 {
						e.pushResults(id, id, nil)
						id++
					}
				}()
				rw.Wait()
				e.endSession()
				e.pushLife(Disconnected{Session: sess})
			}
			e.pushClosed(Closed{})
		}()
		delivered, counted, lastID := 0, 0, uint64(0)
		for ev := range timeoutEvents(t, seed, e.out) {
			switch ev := ev.(type) {
			case ConnectComplete, Message:
				if _, ok := ev.(Message); ok {
					delivered++
				}
				if consumerRng.IntN(4) == 0 {
					time.Sleep(time.Microsecond)
				}
				e.grant(0)
			case SendResult:
				if ev.ID != lastID+1 {
					t.Fatalf("seed %d: SendResult %d after %d", seed, ev.ID, lastID)
				}
				lastID = ev.ID
			case Disconnected:
				counted += ev.Dropped
			case Closed:
				counted += ev.Dropped
			}
		}
		wg.Wait()
		if delivered+counted != pushed || uint64(counted) != dropped.Load() {
			t.Fatalf("seed %d: %d Messages pushed, %d delivered, %d counted as dropped (stats %d)", seed, pushed, delivered, counted, dropped.Load())
		}
		if lastID != 50*sessions {
			t.Fatalf("seed %d: last SendResult %d", seed, lastID)
		}
		if t.Failed() {
			return
		}
	}
}

func timeoutEvents(t *testing.T, seed uint64, ch <-chan Event) <-chan Event {
	out := make(chan Event)
	go func() {
		defer close(out)
		for {
			select {
			case ev, ok := <-ch:
				if !ok {
					return
				}
				out <- ev
			case <-time.After(5 * time.Second):
				t.Errorf("seed %d: no event for 5 s: stalled", seed)
				return
			}
		}
	}()
	return out
}

// TestMessagesAreNotStarvedBySendResults: SendResults may pass Messages,
// but while busy senders keep a SendResult always waiting, a wanted Message
// still goes out (every other turn).
func TestMessagesAreNotStarvedBySendResults(t *testing.T) {
	q := newEventQueue()
	q.pushLife(ConnectComplete{Session: 1})
	if _, ok := q.next().(ConnectComplete); !ok {
		t.Fatal("ConnectComplete is not first")
	}
	q.pushMessage(Message{Session: 1})
	q.grant(1)
	q.pushResults(1, 1, nil)
	for id := uint64(2); id < 100; id++ {
		q.pushResults(id, id, errStopped) // always one more waiting
		switch ev := q.next().(type) {
		case Message:
			if id > 3 {
				t.Errorf("the Message went out after %d SendResults", id-2)
			}
			return
		case SendResult:
		default:
			t.Fatalf("unexpected %T", ev)
		}
	}
	t.Fatal("a steady stream of SendResults starved the Message")
}

// TestUnreadSendResultsCostNoMemoryPerSend: a million sends that ended the
// same way wait as one run of ids (rule 8), and come out one by one.
func TestUnreadSendResultsCostNoMemoryPerSend(t *testing.T) {
	q := newEventQueue()
	q.pushLife(ConnectComplete{Session: 1})
	q.next()
	const n = 1_000_000
	for id := uint64(1); id <= n; id++ {
		q.pushResults(id, id, nil)
	}
	if q.ctrl.len() != 1 || q.runs != 1 {
		t.Errorf("%d entries (%d runs) wait for %d SendResults, want 1 run", q.ctrl.len(), q.runs, n)
	}
	got := 0
	for ev := q.next(); ev != nil; ev = q.next() {
		if r, ok := ev.(SendResult); !ok || r.ID != uint64(got+1) {
			t.Fatalf("event %d: %T %+v", got, ev, ev)
		}
		got++
	}
	if got != n || q.runs != 0 {
		t.Errorf("%d SendResults came out (%d runs left), want %d", got, q.runs, n)
	}
}

// TestLifecycleBacklogIsBounded: a consumer that never reads while the
// connection flaps: beyond maxLife waiting lifecycle events, whole sessions
// it never saw are left out, the order of the rest kept, and the
// SendResults of the sessions left out joined into runs (rule 8): here each
// session failed its sends, with the one error value ErrSessionEnded.
func TestLifecycleBacklogIsBounded(t *testing.T) {
	q := newEventQueue()
	id := uint64(0)
	for s := uint64(1); s <= 1000; s++ {
		q.pushLife(ConnectComplete{Session: s})
		q.pushResults(id+1, id+3, ErrSessionEnded)
		id += 3
		q.pushLife(Disconnected{Session: s})
		q.pushLife(Disconnected{Session: s, Attempt: 1})
		q.pushLife(Disconnected{Session: s, Attempt: 2}) // replaces attempt 1
	}
	if q.life > maxLife {
		t.Errorf("%d lifecycle events wait, bound %d", q.life, maxLife)
	}
	if q.ctrl.len() > 3*maxLife+2 {
		t.Errorf("%d entries wait for 1000 sessions", q.ctrl.len())
	}
	var last uint64
	results := 0
	for ev := q.next(); ev != nil; ev = q.next() {
		switch ev := ev.(type) {
		case ConnectComplete:
			if ev.Session <= last {
				t.Fatalf("ConnectComplete(%d) after session %d", ev.Session, last)
			}
			last = ev.Session
		case Disconnected:
			if ev.Session != last {
				t.Fatalf("Disconnected(%d) in session %d", ev.Session, last)
			}
			if ev.Attempt == 1 {
				t.Fatal("attempt 1 was not replaced by attempt 2")
			}
		case SendResult:
			results++
			if ev.ID != uint64(results) {
				t.Fatalf("SendResult %d, want %d", ev.ID, results)
			}
			if ev.Err != ErrSessionEnded {
				t.Fatalf("SendResult %d: %v", ev.ID, ev.Err)
			}
		}
	}
	if results != 3000 {
		t.Errorf("%d SendResults kept, want all 3000", results)
	}
	if last != 1000 {
		t.Errorf("the newest session seen is %d, want 1000", last)
	}
}

// TestStallIsReportedOncePerStall: checkStall reports Messages that waited
// from one check to the next with nothing handed out, once, and again only
// after a Message went out and a new stall began.
func TestStallIsReportedOncePerStall(t *testing.T) {
	q := newEventQueue()
	q.pushLife(ConnectComplete{Session: 1})
	q.next()
	if q.checkStall() {
		t.Fatal("stall without Messages")
	}
	q.pushMessage(Message{Session: 1})
	q.pushMessage(Message{Session: 1})
	for i, want := range []bool{false, true, false, false} {
		if got := q.checkStall(); got != want {
			t.Fatalf("check %d: %v, want %v", i, got, want)
		}
	}
	q.grant(1)
	if _, ok := q.next().(Message); !ok {
		t.Fatal("no Message")
	}
	for i, want := range []bool{false, true, false} {
		if got := q.checkStall(); got != want {
			t.Fatalf("after a delivery, check %d: %v, want %v", i, got, want)
		}
	}
	q.grant(1) // permission unused: the consumer waits, not the client
	if q.checkStall() {
		t.Fatal("stall reported while permission is unused")
	}
}

// TestCloseNeverReordersWhatTheConsumerReads: a consumer reads while Close
// puts the rest of 300 waiting SendResults and Closed into the channel:
// the ids it sees only increase, and every id is accounted for, delivered
// or in Closed.Results.
func TestCloseNeverReordersWhatTheConsumerReads(t *testing.T) {
	t.Parallel()
	for iter := range 20000 {
		e := newEmitter(new(atomic.Uint64))
		e.pushLife(ConnectComplete{Session: 1})
		for id := uint64(1); id <= 300; id++ {
			e.pushResults(id, id, nil)
		}
		e.pushClosed(Closed{})
		start := make(chan struct{})
		done := make(chan []uint64)
		go func() {
			var ids []uint64
			<-start
			for ev := range e.out {
				switch ev := ev.(type) {
				case SendResult:
					ids = append(ids, ev.ID)
				case Closed:
					for _, r := range ev.Results {
						for id := r.First; id <= r.Last; id++ {
							ids = append(ids, id)
						}
					}
				}
			}
			done <- ids
		}()
		close(start)
		e.finish()
		ids := <-done
		for i := 1; i < len(ids); i++ {
			if ids[i] <= ids[i-1] {
				t.Fatalf("iteration %d: SendResult %d after %d", iter, ids[i], ids[i-1])
			}
		}
		if len(ids) != 300 {
			t.Fatalf("iteration %d: %d of 300 ids accounted for", iter, len(ids))
		}
	}
}
