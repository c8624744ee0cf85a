package appws_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/appwstest"
)

// A client logs in, sends a message and handles what comes back in one
// select loop. appwstest stands in for the PBX; its default handler answers
// every message with mt+"Result".
func Example() {
	srv := appwstest.NewServer(appwstest.Config{Apps: map[string]string{"echo": "pw"}})
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := appws.Dial(ctx, appws.Options{URL: srv.URL, App: "echo", Password: "pw"})
	if err != nil {
		fmt.Println("dial:", err)
		return
	}
	defer c.Close()

	for ev := range c.Events() {
		switch ev := ev.(type) {
		case appws.ConnectComplete:
			fmt.Println("logged in, session", ev.Session)
			if _, err := c.Send(ctx, map[string]string{"mt": "Hello", "src": "greeting"}); err != nil {
				fmt.Println("send:", err)
			}
		case appws.SendResult:
			if ev.Err != nil {
				fmt.Println("not sent:", ev.Err)
			}
		case appws.Message:
			fmt.Println("received", ev.MT, "for", ev.Src)
			c.Close()
		case appws.Closed:
			fmt.Println("closed, error:", ev.Err)
		}
		// Right after every event: the next Message may come (after a
		// ConnectComplete or a Message; for the rest it does nothing).
		c.Handled(ev)
	}
	// Output:
	// logged in, session 1
	// received HelloResult for greeting
	// closed, error: <nil>
}

// With AutoReconnect the client rides out drops: Disconnected says when it
// tries again, ConnectComplete reports every new session. Messages are
// delivered one per Handled (or MessageComplete), each session starting
// without permission.
func Example_reconnect() {
	srv := appwstest.NewServer(appwstest.Config{Apps: map[string]string{"svc": "pw"}})
	defer srv.Close()

	// A deadline bounds Dial: with AutoReconnect it retries until it ends.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := appws.Dial(ctx, appws.Options{
		URL: srv.URL, App: "svc", Password: "pw",
		AutoReconnect: true,
		MinBackoff:    10 * time.Millisecond, // the defaults are 1 s to 60 s
		MaxBackoff:    50 * time.Millisecond,
	})
	if err != nil {
		fmt.Println("dial:", err)
		return
	}
	defer c.Close()

	for ev := range c.Events() {
		switch ev := ev.(type) {
		case appws.ConnectComplete:
			fmt.Println("session", ev.Session, "up")
			if ev.Session == 1 {
				srv.DropAll() // the network fails
			} else {
				c.Close()
			}
		case appws.Disconnected:
			if ev.Attempt == 0 {
				fmt.Println("session", ev.Session, "lost; retrying")
			} else {
				fmt.Println("attempt", ev.Attempt, "to reconnect failed")
			}
		case appws.Closed:
			fmt.Println("closed")
		}
		c.Handled(ev)
	}
	// Output:
	// session 1 up
	// session 1 lost; retrying
	// session 2 up
	// closed
}

// Request sends a message and waits for the reply carrying its src, outside
// the event stream.
func ExampleClient_Request() {
	srv := appwstest.NewServer(appwstest.Config{Apps: map[string]string{"echo": "pw"}})
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := appws.Dial(ctx, appws.Options{URL: srv.URL, App: "echo", Password: "pw"})
	if err != nil {
		fmt.Println("dial:", err)
		return
	}
	defer func() {
		c.Close()
		for range c.Events() { // read to the end
		}
	}()

	reply, err := c.Request(ctx, map[string]string{"mt": "GetTime"})
	if err != nil {
		fmt.Println("request:", err)
		return
	}
	fmt.Println(reply.MT)
	// Output: GetTimeResult
}

// The session-key helpers: what one side encrypts with the session key, the
// other decrypts with the same key.
func ExampleClient_Encrypt() {
	srv := appwstest.NewServer(appwstest.Config{Apps: map[string]string{"echo": "pw"}})
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := appws.Dial(ctx, appws.Options{URL: srv.URL, App: "echo", Password: "pw"})
	if err != nil {
		fmt.Println("dial:", err)
		return
	}
	defer func() {
		c.Close()
		for range c.Events() {
		}
	}()

	secret, _ := c.Encrypt("seed", "the data")
	plain, _ := c.Decrypt("seed", secret)
	fmt.Println(plain)

	// The server holds the same key.
	ss, _ := srv.NextSession(ctx)
	plain, _ = appws.Decrypt(ss.SessionKey(), "seed", secret)
	fmt.Println(plain)
	// Output:
	// the data
	// the data
}

// The pure helpers, with the session key of the protocol's test vector.
func ExampleEncrypt() {
	key := appws.SessionKey("0123456789abcdef", "pwd")
	fmt.Println(key)
	enc := appws.Encrypt(key, "seed1", "Hello, World!")
	fmt.Println(enc)
	dec, _ := appws.Decrypt(key, "seed1", enc)
	fmt.Println(dec)
	// Output:
	// d58c77eae0c1c1f37a9f545e207643c926ad9ea4932016a83a4a01029de37760
	// b70a85283493b43f4aa960a0dc
	// Hello, World!
}

// A login obtained from the PBX: the client holding the PBX connection (with
// the Services API) gets logins to other services for the client that needs
// them.
func ExampleServicesAuthenticator() {
	srv := appwstest.NewServer(appwstest.Config{
		Apps:     map[string]string{"pbx": "pbx-pw", "target": "target-pw"},
		Services: map[string]appwstest.ServiceTarget{"target": {Password: "target-pw"}},
	})
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	pbx, err := appws.Dial(ctx, appws.Options{URL: srv.URL, App: "pbx", Password: "pbx-pw"})
	if err != nil {
		fmt.Println("dial pbx:", err)
		return
	}
	svc, err := appws.Dial(ctx, appws.Options{
		URL: srv.URL, App: "target",
		Authenticator: appws.ServicesAuthenticator(pbx),
	})
	if err != nil {
		fmt.Println("dial target:", err)
		return
	}
	fmt.Println("target:", (<-svc.Events()).(appws.ConnectComplete).Session)

	pbx.Close() // the authenticator ends with it, and so does svc
	for ev := range svc.Events() {
		if cl, ok := ev.(appws.Closed); ok {
			fmt.Println(errors.Is(cl.Err, appws.ErrAuthenticatorClosed))
		}
	}
	for range pbx.Events() {
	}
	// Output:
	// target: 1
	// true
}

// A service's event loop: one select over the client's events, its own
// ticker and its ctx. Sends are fine from inside the loop: Send waits only
// for room in the send queue, which writing frees, never for the loop to read
// its SendResults.
func Example_selectLoop() {
	srv := appwstest.NewServer(appwstest.Config{Apps: map[string]string{"svc": "pw"}})
	defer srv.Close()

	// Dial's ctx bounds the login only: give it a deadline of its own.
	dialCtx, cancelDial := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelDial()
	c, err := appws.Dial(dialCtx, appws.Options{URL: srv.URL, App: "svc", Password: "pw", AutoReconnect: true})
	if err != nil {
		fmt.Println("dial:", err)
		return
	}
	defer c.Close()

	// The service's own lifetime (a signal handler would cancel it).
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	polls, replies := 0, 0
	for {
		select {
		case <-ctx.Done():
			c.Close() // Closed follows; the loop ends when the channel closes
			ctx = context.Background()
		case <-tick.C:
			if c.Session() == 0 {
				continue // between sessions: Send would say ErrNotConnected
			}
			polls++
			if _, err := c.Send(ctx, map[string]any{"mt": "Poll", "n": polls}); err != nil {
				fmt.Println("send:", err)
			}
		case ev, ok := <-c.Events():
			if !ok {
				fmt.Println("done after", replies, "replies")
				return
			}
			switch ev := ev.(type) {
			case appws.Message:
				if replies++; replies == 3 {
					stop() // enough: shut down
				}
			case appws.Closed:
				fmt.Println("closed:", ev.Err)
			}
			c.Handled(ev)
		}
	}
	// Output:
	// closed: <nil>
	// done after 3 replies
}

// Stats are cheap counters for a service's metrics.
func ExampleClient_Stats() {
	srv := appwstest.NewServer(appwstest.Config{Apps: map[string]string{"echo": "pw"}})
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := appws.Dial(ctx, appws.Options{URL: srv.URL, App: "echo", Password: "pw"})
	if err != nil {
		fmt.Println("dial:", err)
		return
	}
	defer c.Close()

	if _, err := c.Request(ctx, map[string]string{"mt": "Ping"}); err != nil {
		fmt.Println("request:", err)
	}
	for range 3 {
		if _, err := c.Send(ctx, map[string]string{"mt": "Note"}); err != nil {
			fmt.Println("send:", err)
		}
	}
	for results := 0; results < 3; { // counted by the time their SendResults come
		if _, ok := (<-c.Events()).(appws.SendResult); ok {
			results++
		}
	}
	st := c.Stats()
	fmt.Printf("accepted %d, written %d, failed %d, reconnects %d\n",
		st.SendsAccepted, st.MsgsOut, st.SendsFailed, st.Reconnects)
	// Output:
	// accepted 4, written 4, failed 0, reconnects 0
}

// A PBX that restarts refuses logins (or answers HTTP 404) for a while. Once
// a session has been up, the client rides that out: each refusal is a
// Disconnected carrying the *LoginError, and the backoff goes on. Only Dial
// fails at once on a rejected login, so that a wrong password does not retry
// for ever.
func Example_reconnectPolicy() {
	srv := appwstest.NewServer(appwstest.Config{Apps: map[string]string{"svc": "pw"}})
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := appws.Dial(ctx, appws.Options{URL: srv.URL, App: "svc", Password: "wrong"}); err != nil {
		var le *appws.LoginError
		fmt.Println("first dial, wrong password: LoginError is", errors.As(err, &le))
	}

	c, err := appws.Dial(ctx, appws.Options{
		URL: srv.URL, App: "svc", Password: "pw", AutoReconnect: true,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
	})
	if err != nil {
		fmt.Println("dial:", err)
		return
	}
	defer c.Close()
	for ev := range c.Events() {
		switch ev := ev.(type) {
		case appws.ConnectComplete:
			fmt.Println("session", ev.Session, "up after", ev.Attempts, "attempt(s)")
			if ev.Session == 1 {
				srv.RefuseLogins(2) // the PBX restarts...
				srv.DropAll()
			} else {
				c.Close()
			}
		case appws.Disconnected:
			var le *appws.LoginError
			if ev.Attempt == 0 {
				fmt.Println("session", ev.Session, "lost")
				continue
			}
			fmt.Println("attempt", ev.Attempt, "failed; login refused:", errors.As(ev.Err, &le))
		case appws.Closed:
			fmt.Println("closed:", ev.Err)
		}
	}
	// Output:
	// first dial, wrong password: LoginError is true
	// session 1 up after 1 attempt(s)
	// session 1 lost
	// attempt 1 failed; login refused: true
	// attempt 2 failed; login refused: true
	// session 2 up after 3 attempt(s)
	// closed: <nil>
}
