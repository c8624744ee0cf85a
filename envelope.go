package appws

import "github.com/appwebsocket/appws/internal/envelope"

// parseReceived parses a message the reader read into its scratch buffer
// and returns a Message that owns its bytes; internal/envelope does the work
// (PROTOCOL.md section 2), in one allocation for a small message.
func parseReceived(scratch []byte) (m Message, err error) {
	raw := (*[]byte)(&m.Raw)
	err = envelope.Received(scratch, raw, &m.MT, &m.API, &m.Src)
	return m, err
}
