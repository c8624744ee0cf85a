package appws

import (
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// TestEmitterNeverStalls drives the emitter the way the supervisor, the
// reader and the writer do, from their own goroutines, with a consumer that
// calls MessageComplete after each ConnectComplete and Message, and checks
// that every event arrives: a lost wake-up shows as a stall.
func TestEmitterNeverStalls(t *testing.T) {
	for seed := range uint64(200) {
		rng := rand.New(rand.NewPCG(seed, 7))         // the supervisor's
		consumerRng := rand.New(rand.NewPCG(seed, 8)) // the consumer's
		slots := make(chan struct{}, 64)
		e := newEmitter(func() { <-slots })
		go e.run()
		const sessions = 5
		var wg sync.WaitGroup
		stop := make(chan struct{})
		wg.Add(1)
		go func() { // supervisor + reader + writer of each session
			defer wg.Done()
			id := uint64(1)
			for sess := uint64(1); sess <= sessions; sess++ {
				e.pushLife(ConnectComplete{Session: sess}, stop)
				var rw sync.WaitGroup
				rw.Add(2)
				n := 50 + rng.IntN(100)
				go func() { // reader
					defer rw.Done()
					for range n {
						for {
							if e.room(16) {
								break
							}
							select {
							case <-e.msgRoom:
							case <-time.After(5 * time.Second):
								t.Errorf("seed %d: reader never got room", seed)
								return
							}
						}
						e.pushMessage(Message{Session: sess})
					}
				}()
				go func() { // writer
					defer rw.Done()
					for range 50 {
						slots <- struct{}{}
						e.pushResults(SendResult{ID: id})
						id++
					}
				}()
				rw.Wait()
				e.pushLife(Disconnected{Session: sess, Attempt: 1}, stop)
			}
			e.pushClosed(Closed{})
		}()
		for ev := range timeoutEvents(t, seed, e.out) {
			switch ev.(type) {
			case ConnectComplete, Message:
				if consumerRng.IntN(4) == 0 {
					time.Sleep(time.Microsecond)
				}
				e.grant()
			}
		}
		close(stop)
		wg.Wait()
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
	e := newEmitter(func() {})
	e.pushLife(ConnectComplete{Session: 1}, nil)
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.pick().(ConnectComplete); !ok {
		t.Fatal("ConnectComplete is not first")
	}
	e.msgs.push(Message{Session: 1})
	e.permit = true
	e.ctrl.push(SendResult{ID: 1})
	for id := uint64(2); id < 100; id++ {
		e.ctrl.push(SendResult{ID: id}) // always one more waiting
		switch ev := e.pick().(type) {
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
