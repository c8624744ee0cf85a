package appws

import "github.com/appwebsocket/appws/internal/envelope"

// parseReceived parses a message the reader read into its scratch buffer
// and returns a Message that owns its bytes; internal/envelope does the work
// (PROTOCOL.md section 2), in one allocation for a small message.
func parseReceived(scratch []byte) (Message, error) {
	p, err := envelope.Received(scratch)
	if err != nil {
		return Message{}, err
	}
	return Message{MT: p.MT, API: p.API, Src: p.Src, Raw: p.Raw}, nil
}
