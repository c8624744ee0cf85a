package appws

import (
	"encoding/json"
	"time"
)

// Event is what the client delivers on Events(): one of ConnectComplete,
// Message, SendResult, Disconnected and Closed. The set is closed; use a type
// switch.
//
// The events obey these rules:
//
//  1. One goroutine of the client sends on the channel and closes it right
//     after delivering Closed, which is always the last event.
//  2. Per session N: ConnectComplete(N), then its Messages, then
//     Disconnected(N), then ConnectComplete(N+1). SendResults are not gated
//     and may pass queued Messages, but every SendResult of a send accepted in
//     session N comes before Disconnected(N).
//  3. Messages are gated by MessageComplete (see Client.MessageComplete);
//     SendResult, Disconnected and Closed always flow.
//  4. Messages read ahead when a session drops are still delivered before its
//     Disconnected. Close drops undelivered Messages and counts them in
//     Closed.Dropped.
type Event interface{ isEvent() }

// ConnectComplete reports a successful login. Session numbers start at 1 and
// grow by one with every successful (re)login.
type ConnectComplete struct {
	Session uint64
	// Domain is the domain the server reported in AppLoginResult, if any.
	Domain string
	// Attempts is how many connection attempts this login took (1 when the
	// first attempt succeeded).
	Attempts int
}

// Message is one application message received from the server.
type Message struct {
	// Session is the session the message arrived in.
	Session uint64
	// MT, API and Src are the envelope's "mt", "api" and "src" strings
	// ("" when absent).
	MT, API, Src string
	// Raw is the whole message as received. It belongs to the receiver.
	Raw json.RawMessage
}

// Decode unmarshals the whole message into v with encoding/json.
func (m Message) Decode(v any) error { return json.Unmarshal(m.Raw, v) }

// SendResult reports what became of one accepted Send or SendText: Err is
// nil once the message's bytes were handed to the socket, and non-nil when
// the message was never written (the session ended first).
type SendResult struct {
	ID  uint64
	Err error
}

// Disconnected reports, with AutoReconnect, that a session was lost (Attempt
// 1) or that a reconnect attempt after it failed (Attempt 2, 3, ...). The
// client tries again after RetryIn. While the consumer lags behind, a failed
// attempt replaces the undelivered report of the attempt before it (never
// the loss itself), so attempts may be skipped but the latest is always
// reported.
type Disconnected struct {
	// Session is the last session that was up (0 if none came up).
	Session uint64
	// Err says why the session or the attempt ended.
	Err error
	// RetryIn is the wait before the next attempt.
	RetryIn time.Duration
	// Attempt counts the failures since the last successful login.
	Attempt int
}

// Closed is the last event: the client has ended. Err is nil after Close,
// and otherwise says why the client ended by itself.
type Closed struct {
	Err error
	// Dropped counts the Messages received but not delivered because Close
	// was called.
	Dropped int
}

func (ConnectComplete) isEvent() {}
func (Message) isEvent()         {}
func (SendResult) isEvent()      {}
func (Disconnected) isEvent()    {}
func (Closed) isEvent()          {}
