package rcc

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/internal/outbox"
)

// Pending reports whether Sync has something to send: Initialize at the
// start of a session, or the UserInitialize of a watched user.
func (m *Monitor) Pending() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.session != 0 && (!m.initSent || m.queued > 0)
}

// Sync sends what the Monitor needs sent in the current session: Initialize
// once per session, then UserInitialize for every watched user without
// one, in the order the users came. It does nothing when nothing is
// pending (between sessions too), so the loop calls it after every Handle.
// ctx bounds each Send's wait for room in the send queue. A Send that fails
// leaves its message and those after it pending for the next Sync; a new
// session replaces them with what that session needs. The Monitor's lock
// is not held while a Send waits.
//
// One Sync sends at a time; another waits for its turn no longer than its
// ctx. When s knows its session (an *appws.Client does) and that is not
// the session last fed to Handle, Sync sends nothing and returns nil: the
// consumer is behind, the messages are for a session that is gone, and
// the events still to come (Disconnected, the next ConnectComplete) say
// what to send next.
//
// The messages are sent, not requested: the UserInfos and CallInfos they
// start carry their src and may come before their Result, so Handle reads
// the replies from the event stream.
func (m *Monitor) Sync(ctx context.Context, s appws.Sender) error {
	if err := m.gate.Enter(ctx); err != nil {
		return err
	}
	defer m.gate.Leave()
	for {
		var msg json.Marshaler
		var undo func()
		m.mu.Lock()
		if !outbox.Stale(s, m.session) {
			msg, undo = m.nextLocked()
		}
		m.mu.Unlock()
		if msg == nil {
			return nil
		}
		if _, err := s.Send(ctx, msg); err != nil {
			m.mu.Lock()
			undo()
			m.mu.Unlock()
			return fmt.Errorf("rcc: sending %s: %w", mtOf(msg), err)
		}
	}
}

func mtOf(msg json.Marshaler) string {
	if _, ok := msg.(Initialize); ok {
		return "Initialize"
	}
	return "UserInitialize"
}

// nextLocked takes the next message to send and marks it sent; undo puts it
// back, unless the session changed meanwhile. Marking before the Send lets
// Handle, perhaps on another goroutine, match a reply that comes before
// Send returns.
func (m *Monitor) nextLocked() (msg json.Marshaler, undo func()) {
	if m.session == 0 {
		return nil, nil
	}
	session := m.session
	if !m.initSent {
		m.initSent = true
		return Initialize{Grp: m.cfg.Grp, Limit: m.cfg.Limit, Calls: m.cfg.Calls, Src: m.initSrc}, func() {
			if m.session == session {
				m.initSent = false
			}
		}
	}
	for m.qhead < len(m.queue) {
		m.work++
		us := m.queue[m.qhead]
		m.queue[m.qhead] = nil
		m.qhead++
		us.inQueue = false
		if us.init != queued {
			continue // removed, or no longer watched
		}
		m.seq++
		src := "rcc-user-" + strconv.FormatUint(m.seq, 10)
		us.init, us.src = sent, src
		m.bySrc[src] = us
		m.queued--
		return UserInitialize{CN: us.u.CN, Xfer: m.cfg.Xfer, Disc: m.cfg.Disc, Src: src}, func() {
			if m.session != session || us.init != sent || us.src != src {
				return
			}
			delete(m.bySrc, src)
			us.init, us.src = queued, ""
			m.queued++
			m.pushFront(us)
		}
	}
	m.queue, m.qhead = m.queue[:0], 0
	return nil, nil
}

// pushFront puts us back at the head of the queue.
func (m *Monitor) pushFront(us *userState) {
	if us.inQueue {
		return
	}
	us.inQueue = true
	if m.qhead > 0 {
		m.qhead--
		m.queue[m.qhead] = us
		return
	}
	m.queue = slices.Insert(m.queue, 0, us)
}
