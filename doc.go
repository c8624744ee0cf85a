// Package appws is a client for innovaphone's AppWebsocket protocol, the
// JSON-over-websocket protocol of the innovaphone PBX, its App Platform and
// every app service on it.
//
// Start with the examples: Dial logs in (with a password or an
// Authenticator), Events delivers what happens as ConnectComplete, Message,
// SendResult, Disconnected and Closed, MessageComplete asks for the next
// Message, Send and SendText send, Request sends and waits for the reply, and
// Encrypt, Decrypt and Hash use the session key. Close ends it all.
//
// The model is innovaphone's C++ IAppWebsocketClient, made for Go's select
// loops:
//
//   - Flow control is real: a Message is delivered only after
//     MessageComplete, and while none is wanted the client stops reading the
//     socket after ReadAhead messages, so a slow consumer pushes back on the
//     server instead of filling memory.
//   - Nothing is lost silently: every send that returned no error gets
//     exactly one SendResult; messages received before a drop are delivered
//     before the Disconnected; Close reports how many it dropped.
//   - With Options.AutoReconnect the client logs in again after a drop, with
//     a jittered exponential backoff between 1 s and 60 s that starts over
//     after a login that stayed up.
//   - Secrets (password, session key, digest, challenge) never reach a log
//     line or an error.
//
// The files follow the protocol: auth.go has the login and the
// Authenticator, info.go the digest's canonical info, crypto.go the session
// key helpers, envelope.go the parsing of mt, api and src, events.go the
// events and their rules, emitter.go their delivery, client.go the Client,
// request.go Request, session.go one connection's reader and writer,
// conn.go the framing and batching under them, reconnect.go the supervisor.
// Package appwstest is an in-process AppWebsocket server for tests, shaped
// like net/http/httptest.
//
// RC4, used by Encrypt and Decrypt, is the protocol's choice and weak; use
// those helpers for what the protocol asks of them and nothing else.
package appws
