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
	// messages (see Client.Ignored).
	Ignored uint64
	// Dropped counts the received Messages never delivered: read ahead when
	// a session ended, or when Close was called (see Event rule 5).
	Dropped uint64
}

// stats holds the counters behind Stats.
type stats struct {
	msgsIn, bytesIn, msgsOut, bytesOut       atomic.Uint64
	sendsAccepted, sendsWritten, sendsFailed atomic.Uint64
	reconnects, ignored, dropped             atomic.Uint64
}

// Stats returns the client's counters.
func (c *Client) Stats() Stats {
	s := &c.stats
	return Stats{
		MsgsIn: s.msgsIn.Load(), BytesIn: s.bytesIn.Load(),
		MsgsOut: s.msgsOut.Load(), BytesOut: s.bytesOut.Load(),
		SendsAccepted: s.sendsAccepted.Load(), SendsWritten: s.sendsWritten.Load(), SendsFailed: s.sendsFailed.Load(),
		Reconnects: s.reconnects.Load(), Ignored: s.ignored.Load(), Dropped: s.dropped.Load(),
	}
}
