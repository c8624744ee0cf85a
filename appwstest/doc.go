// Package appwstest runs an AppWebsocket server inside a test, the way
// net/http/httptest runs an HTTP server: NewServer listens on 127.0.0.1 with
// a random port and serves at once, URL says where, ClientOptions returns
// appws.Options that reach it, Close stops it and waits for every
// connection and goroutine to be gone.
//
// The server speaks the protocol as innovaphone's PBX and app services do
// (PROTOCOL.md section 7, in the repository): a fresh random 16-digit challenge per
// AppChallenge, the digest rebuilt from the received AppLogin fields (info in
// its canonical form), per-app and per-domain passwords, KeepAlive consumed
// silently, the Services API (GetServiceLogin, SubscribeServices) for
// configured targets. What the public sources leave open is a Config
// switch.
//
// Defaults chosen to match the real servers:
//
//   - AppLoginResult on success is {"mt":"AppLoginResult","ok":true}, with
//     "domain" only when Config.Domain (the app instance's domain) is set;
//     the login's own domain is not echoed.
//   - AppLoginResult on failure is just {"mt":"AppLoginResult"}: innovaphone
//     documents only that "ok" is not true. Config.LoginErrorDetails adds
//     "error" (a LoginErr* number) and "errorText"; LoginRecord.Error tells
//     a test the reason either way.
//   - A message from a client may have at most 65535 bytes
//     (Config.ReadLimit); a bigger one is answered with close 1009.
//   - Frames the server writes carry at most 16384 payload bytes
//     (Config.MaxFrameSize), the most innovaphone's C++ websocket client
//     accepts: longer messages are fragmented.
//   - The server never pings on its own (Session.Ping does, on demand).
//
// One default is not like a real server: the default Handler, Echo, answers
// every application message. A PBX ignores messages it does not know, so
// against it a Request for one waits until its ctx ends; use Silent (or a
// Handler of your own) to test that.
//
// Every session logged in is handed to the test (Server.NextSession) to send
// to it, record what it received (Session.Received, Session.WaitReceived),
// and misbehave on demand:
//
//	Session.Drop            close the socket without a close frame
//	Session.Close           close frame with a code and reason, then close
//	Session.Stall/Resume    stop reading, so the client's writes back up
//	Session.StopPongs       ignore websocket pings (half-open connection)
//	Session.Ping            ping the client, return when its pong came
//	Session.SendText        non-JSON text
//	Session.SendBinary      a binary message
//	Session.SendOversized   a message of n bytes in one frame
//	Session.SendFragmented  one message in several frames
//	Session.SendFrameHeader a frame header announcing bytes that never come
//	Session.Burst           n messages as fast as the socket takes them
//	Server.RefuseUpgrades   answer the next n upgrades with an HTTP status
//	Server.RefuseLogins     fail the next n logins
//	Server.SetLoginDelay    delay the AppLoginResult
//	Server.DropAll          drop every connection
//
// appwstest is the protocol server only: the fake of each typed PBX API
// lives beside its package (rcc/rcctest, tableusers/tableuserstest,
// pbxapi/pbxapitest, pbxadminapi/pbxadminapitest), as a Handler for
// Config.Handler.
//
// Session.ID numbers the server's websocket connections (upgrades), not
// logins: it is not the appws client's ConnectComplete.Session, which
// counts that client's logins.
//
// Bad input from the client never panics or hangs the server: a binary
// message is answered with close 1003, a message over Config.ReadLimit with
// 1009, text that is not UTF-8 with 1007; text that is not a JSON object
// with a string "mt" is ignored and logged. Before login only AppChallenge
// and AppLogin are answered; other messages are ignored and logged. After
// login, AppChallenge is answered again and AppLogin fails with
// LoginErrAlreadyLoggedIn, leaving the session logged in.
//
// With Config.InMemory the server listens on an in-memory listener built on
// net.Pipe, dialed with Server.DialContext (ClientOptions sets it as the
// client's NetDialContext); it works inside a testing/synctest bubble. A
// net.Pipe buffers nothing, so there every write of the server (Send, Push,
// Close's close frame) completes only when the client reads it.
//
// A test of a client using the server looks like this:
//
//	func TestEcho(t *testing.T) {
//		srv := appwstest.NewServer(appwstest.Config{
//			Apps: map[string]string{"myapp": "secret"},
//		})
//		defer srv.Close()
//
//		// URL, App "myapp", Password "secret" (and TLS trust or the
//		// in-memory dialer when the server has them).
//		c, err := appws.Dial(t.Context(), srv.ClientOptions())
//		if err != nil {
//			t.Fatal(err)
//		}
//		defer func() {
//			c.Close()
//			for range c.Events() { // drain: the client's goroutines end
//			}
//		}()
//		<-c.Events() // ConnectComplete
//
//		ss, err := srv.NextSession(t.Context()) // the server side of c
//		if err != nil {
//			t.Fatal(err)
//		}
//		if ss.Login().HasKey {
//			t.Error("the client sent its session key")
//		}
//
//		reply, err := c.Request(t.Context(), map[string]string{"mt": "Hello"})
//		if err != nil {
//			t.Fatal(err)
//		}
//		if reply.MT != "HelloResult" { // the default Echo handler
//			t.Errorf("reply %s", reply.Raw)
//		}
//		// ss.Send, ss.Ping, ss.Drop, ss.Stall ... drive the client's
//		// other paths.
//	}
package appwstest
