package appwstest_test

import (
	"context"
	"fmt"
	"time"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/appwstest"
)

// A client logs in to the test server, sends a message and reads the echo;
// the test then looks at the login the server received.
func ExampleNewServer() {
	srv := appwstest.NewServer(appwstest.Config{
		Apps: map[string]string{"myapp": "secret"},
	})
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// ClientOptions: URL, App "myapp" and Password "secret".
	c, err := appws.Dial(ctx, srv.ClientOptions())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() {
		c.Close()
		for range c.Events() { // the client's last goroutine ends when all events are read
		}
	}()

	if _, err := c.Send(ctx, map[string]string{"mt": "Hello", "src": "s1"}); err != nil {
		fmt.Println(err)
		return
	}
	c.MessageComplete()
	for ev := range c.Events() {
		if m, ok := ev.(appws.Message); ok {
			fmt.Println(m.MT, m.Src, string(m.Raw))
			break
		}
	}

	ss, err := srv.NextSession(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	login := ss.Login()
	fmt.Println(login.App, login.OK, login.HasKey)
	// Output:
	// HelloResult s1 {"mt":"HelloResult","src":"s1","echo":{"mt":"Hello","src":"s1"}}
	// myapp true false
}
