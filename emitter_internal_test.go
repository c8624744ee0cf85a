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
						for full && !e.hasRoom(16, 1<<20) {
							select {
							case <-e.room:
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
				e.pushLife(Disconnected{Session: sess, Attempt: 1})
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
	var dropped atomic.Uint64
	e := newEmitter(&dropped)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ctrl.push(ctrlItem{ev: ConnectComplete{Session: 1}})
	if _, ok := e.take().(ConnectComplete); !ok {
		t.Fatal("ConnectComplete is not first")
	}
	e.msgs.push(Message{Session: 1})
	e.permit = true
	e.ctrl.push(ctrlItem{first: 1, last: 1})
	for id := uint64(2); id < 100; id++ {
		e.ctrl.push(ctrlItem{first: id, last: id, err: errStopped}) // always one more waiting
		switch ev := e.take().(type) {
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
	var dropped atomic.Uint64
	e := newEmitter(&dropped)
	e.pushLife(ConnectComplete{Session: 1})
	const n = 1_000_000
	for id := uint64(1); id <= n; id++ {
		e.pushResults(id, id, nil)
	}
	e.mu.Lock()
	if e.ctrl.len() != 1 {
		t.Errorf("%d entries wait for %d SendResults, want 1 run", e.ctrl.len(), n)
	}
	e.mu.Unlock()
	e.mu.Lock()
	e.aborted = true // keep the pump from starting: read by hand
	close(e.abort)
	e.mu.Unlock()
	e.wg.Wait()
	got := 0
	for ev := range e.out {
		if _, ok := ev.(SendResult); ok {
			got++
		}
		if len(e.out) == 0 {
			break
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.inflight != nil {
		got++
	}
	for {
		ev := e.take()
		if ev == nil {
			break
		}
		got++
	}
	if got != n {
		t.Errorf("%d SendResults came out, want %d", got, n)
	}
}

// TestLifecycleBacklogIsBounded: a consumer that never reads while the
// connection flaps: beyond maxLife waiting lifecycle events, whole sessions
// it never saw are left out, the order of the rest kept (rule 8).
func TestLifecycleBacklogIsBounded(t *testing.T) {
	var dropped atomic.Uint64
	e := newEmitter(&dropped)
	e.mu.Lock()
	e.aborted = true // no pump, no channel: look at the queue itself
	e.mu.Unlock()
	for s := uint64(1); s <= 1000; s++ {
		e.pushLife(ConnectComplete{Session: s})
		e.pushResults(s, s, nil)
		e.pushLife(Disconnected{Session: s, Attempt: 1})
		e.pushLife(Disconnected{Session: s, Attempt: 2})
		e.pushLife(Disconnected{Session: s, Attempt: 3}) // replaces attempt 2
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.life > maxLife {
		t.Errorf("%d lifecycle events wait, bound %d", e.life, maxLife)
	}
	var last uint64
	results := 0
	for {
		ev := e.take()
		if ev == nil {
			break
		}
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
			if ev.Attempt == 2 {
				t.Fatal("attempt 2 was not replaced by attempt 3")
			}
		case SendResult:
			results++
		}
	}
	if results != 1000 {
		t.Errorf("%d SendResults kept, want all 1000", results)
	}
	if last != 1000 {
		t.Errorf("the newest session seen is %d, want 1000", last)
	}
}
