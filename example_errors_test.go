package appws_test

import (
	"errors"
	"fmt"
	"io"

	"github.com/appwebsocket/appws"
)

// CloseStatus finds the server's close code in the error of a Disconnected
// or Closed event, however it was wrapped, without importing a websocket
// package; -1 means the session did not end with a close frame.
func ExampleCloseStatus() {
	describe := func(err error) string {
		switch code := appws.CloseStatus(err); {
		case code == 1001:
			return "server going away (restart or update)"
		case code >= 4000:
			return fmt.Sprintf("application close code %d", code)
		case code >= 0:
			return fmt.Sprintf("close code %d", code)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return "dropped without a close frame"
		}
		return "other: " + err.Error()
	}
	for _, err := range []error{
		&appws.CloseError{Code: 1001},
		fmt.Errorf("session 2: %w", &appws.CloseError{Code: 4003, Text: "licence"}),
		&appws.ConnectionError{Op: "read", Err: io.ErrUnexpectedEOF},
		appws.ErrPingTimeout,
	} {
		fmt.Println(describe(err))
	}
	// Output:
	// server going away (restart or update)
	// application close code 4003
	// dropped without a close frame
	// other: appws: no pong from the server in time
}
