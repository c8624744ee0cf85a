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
//  1. The client's sends on the channel are serialised, and it closes the
//     channel exactly once, right after delivering Closed, which is always
//     the last event. Closed.Err is nil after Close.
//  2. Per session N: ConnectComplete(N), then its Messages, then
//     Disconnected(N), then ConnectComplete(N+1). SendResults are not gated
//     and may pass queued Messages; every SendResult of a send accepted in
//     session N comes before Disconnected(N), and those of session N+1 after
//     ConnectComplete(N+1). IDs only increase, Close included: nothing ever
//     takes back an event the channel holds.
//  3. Flow control: a Message is delivered only with permission
//     (Client.MessageComplete), one per call. Client.Handled is the call
//     that is right after every event: it grants the next Message after a
//     ConnectComplete or a Message and does nothing for the rest. Only
//     Messages are gated: SendResult, ConnectComplete, Disconnected and
//     Closed never wait for MessageComplete or for a Message nobody asked
//     for, and a logged-in session is served (reading up to its read-ahead,
//     writing, pings, Requests) whatever the consumer does. Messages that
//     wait for permission longer than Options.StallWarning are reported in
//     a Warn line and in Stats.Stalls: a forgotten MessageComplete does not
//     stall in silence.
//  4. Holding a Message never makes the client drop the connection: while
//     the reader is paused, the client's ping deadline is suspended.
//  5. A session that ends with Messages read ahead but not yet delivered
//     drops them: the socket is gone, so there is nothing left to pace, and
//     its Disconnected or Closed must not wait for them. The event that
//     reports the end counts them in Dropped, so nothing vanishes silently.
//     Close drops undelivered Messages the same way (Closed.Dropped).
//  6. Without AutoReconnect a lost session ends the client with Closed{Err};
//     with it, Disconnected follows and the client logs in again; see
//     Options.AutoReconnect for what ends a reconnecting client.
//  7. Close may be called from any goroutine, the one reading Events
//     included, and never waits for the consumer. When it returns, every
//     goroutine of the client has ended; a later reader still finds the
//     events that were not yet read, then Closed, then the closed channel.
//     If more than the channel's buffer (128 events) waited unread, Close
//     puts in what fits and leaves out the newest of the rest: Closed
//     counts them (Undelivered) and gives the ids of the SendResults among
//     them as runs (Results), so every accepted send is accounted for by a
//     SendResult or by Closed.Results. A consumer that lags behind when
//     Close comes finds them there too. A client that ended by itself
//     keeps one goroutine handing out what is left while more than the
//     buffer waits, until it is read or Close is called: call Close in any
//     case (defer c.Close()).
//  8. Memory is bounded whatever the consumer does: the read-ahead in
//     messages and bytes, the send queue by what is not yet written, the
//     SendResults not yet delivered as runs of ids that ended the same way
//     (no memory per send; a failed send's error is always the value
//     ErrSessionEnded, so the failures of many sessions join), and the
//     lifecycle events: a consumer more than 64 of them behind finds whole
//     sessions it never saw left out (their ConnectComplete and
//     Disconnected; the session numbers jump), the SendResults of their
//     sends kept. Written and failed runs alternate from session to
//     session; beyond 1024 runs waiting, Send refuses with ErrBacklog
//     until the consumer reads. Stats.Backlog shows what waits.
type Event interface{ isEvent() }

// ConnectComplete reports a successful login. Session numbers start at 1 and
// grow by one with every successful (re)login.
type ConnectComplete struct {
	Session uint64
	// Domain is the domain the server reported in AppLoginResult, if any,
	// cut to 256 bytes of valid UTF-8 (a longer one ends in "...[cut]").
	Domain string
	// Attempts is how many connection attempts this login took (1 when the
	// first attempt succeeded; see Disconnected.Attempt).
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

// SendResult reports what became of one accepted Send or SendText, and it
// is the truth: Err is nil when every byte of the message was accepted by
// the socket (the server may have it; whether it acted on it only a reply
// can tell), and exactly ErrSessionEnded when not all of them were (the
// session ended first; the server cannot have it whole, so sending it
// again in a later session is safe). Why the session ended is in the
// Disconnected or Closed that follows.
type SendResult struct {
	ID  uint64
	Err error
}

// Disconnected reports, with AutoReconnect, that a session was lost
// (Attempt 0) or that attempt 1, 2, ... to connect again failed. The client
// tries again after RetryIn. Attempts are counted alike in the log lines
// ("connect failed", attempt=N), here, in ConnectComplete.Attempts (N+1
// after N failures) and in Stats.ConnectFailures. While the consumer lags
// behind, a failed attempt replaces the undelivered report of the attempt
// before it (never the loss itself), so attempts may be skipped but the
// latest is always reported.
type Disconnected struct {
	// Session is the last session that was up (0 if none came up).
	Session uint64
	// Err says why the session or the attempt ended.
	Err error
	// RetryIn is the wait before the next attempt.
	RetryIn time.Duration
	// Attempt is the number of the connection attempt that failed, 0 for
	// the loss of the session itself.
	Attempt int
	// Dropped counts the Messages the lost session had read ahead but not
	// delivered (rule 5); 0 for a failed attempt.
	Dropped int
}

// Closed is the last event: the client has ended. Err is nil after Close,
// and otherwise says why the client ended by itself.
type Closed struct {
	Err error
	// Dropped counts the Messages received but not delivered: read ahead
	// when the last session ended (rule 5) or when Close was called.
	Dropped int
	// Undelivered counts the events other than Messages that Close could
	// not place in the channel's buffer because the consumer had not read
	// that far (rule 7): 0 for a consumer that kept up, and for one that
	// lags it can be most of its SendResults.
	Undelivered int
	// Results are the SendResults among the Undelivered events, as runs of
	// ids in increasing order: together with the SendResults delivered,
	// they account for every accepted send.
	Results []SendResults
}

// SendResults are the SendResults of the ids First to Last, which all ended
// with Err.
type SendResults struct {
	First, Last uint64
	Err         error
}

func (ConnectComplete) isEvent() {}
func (Message) isEvent()         {}
func (SendResult) isEvent()      {}
func (Disconnected) isEvent()    {}
func (Closed) isEvent()          {}
