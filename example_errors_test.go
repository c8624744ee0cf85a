package appws_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

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

// Every failure to connect is a *ConnectError that names its step (dial,
// tls, upgrade, login); the cause underneath stays reachable with
// errors.Is and errors.As.
func ExampleConnectError() {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now

	_, err = appws.Dial(context.Background(), appws.Options{URL: "ws://" + addr + "/", App: "svc", Password: "pw", NoProxy: true})
	var ce *appws.ConnectError
	if errors.As(err, &ce) {
		fmt.Println("step:", ce.Step)
	}
	fmt.Println("refused:", errors.Is(err, syscall.ECONNREFUSED))
	var le *appws.LoginError
	fmt.Println("login rejected:", errors.As(err, &le))
	// Output:
	// step: dial
	// refused: true
	// login rejected: false
}
