package appws

import "sync/atomic"

// Stats are a client's counters since Dial, over all its sessions. Reading
// them is cheap (atomic loads), so a service may export them as metrics as
// often as it likes.
type Stats struct {
	// MsgsIn and BytesIn count the application messages received (Messages
	// and Request replies; not the login, not what was ignored).
	MsgsIn, BytesIn uint64
	// MsgsOut and BytesOut count the messages written to the socket
	// (Sends, Requests and KeepAlives are not told apart).
	MsgsOut, BytesOut uint64
	// SendsAccepted counts Send, SendText and Request calls that returned no
	// error (Requests: that were queued); SendsWritten and SendsFailed
	// count the SendResults: written, or failed because the session ended
	// first.
	SendsAccepted, SendsWritten, SendsFailed uint64
	// Reconnects counts the successful logins after the first.
	Reconnects uint64
	// Ignored counts the server messages dropped as not AppWebsocket
	// messages: binary, not JSON, not an object, without a string "mt", or before login (each is also logged at Warn level).
	Ignored uint64
	// Dropped counts the received Messages never delivered: read ahead when
	// a session ended, or when Close was called (see Event rule 5).
	Dropped uint64
	// ConnectFailures counts the connection attempts that failed, of the
	// first Dial and of reconnects.
	ConnectFailures uint64
	// Stalls counts the times Messages waited for MessageComplete longer
	// than Options.StallWarning (each is also logged at Warn level once).
	Stalls uint64
	// Backlog is the number of entries the client holds now for a
	// consumer that lags: lifecycle events and runs of SendResults beyond
	// the Events channel's buffer (not Messages: see ReadAhead).
	Backlog uint64
}

// stats holds the counters behind Stats.
type stats struct {
	msgsIn, bytesIn, msgsOut, bytesOut       atomic.Uint64
	sendsAccepted, sendsWritten, sendsFailed atomic.Uint64
	reconnects, ignored, dropped             atomic.Uint64
	connectFailures, stalls                  atomic.Uint64
}

// Stats returns the client's counters.
func (c *Client) Stats() Stats {
	s := &c.stats
	return Stats{
		MsgsIn: s.msgsIn.Load(), BytesIn: s.bytesIn.Load(),
		MsgsOut: s.msgsOut.Load(), BytesOut: s.bytesOut.Load(),
		SendsAccepted: s.sendsAccepted.Load(), SendsWritten: s.sendsWritten.Load(), SendsFailed: s.sendsFailed.Load(),
		Reconnects: s.reconnects.Load(), Ignored: s.ignored.Load(), Dropped: s.dropped.Load(),
		ConnectFailures: s.connectFailures.Load(), Stalls: s.stalls.Load(),
		Backlog: uint64(c.em.backlog()),
	}
}
