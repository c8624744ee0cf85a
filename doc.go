// Package appws is a client for innovaphone's AppWebsocket protocol, the
// JSON-over-websocket protocol of the innovaphone PBX, its App Platform and
// every app service on it.
//
// Start with the examples: Dial logs in (with a password or an
// Authenticator), Events delivers what happens as ConnectComplete, Message,
// SendResult, Disconnected and Closed, Handled (called after every event)
// lets the next Message come, Send and SendText send, Request sends and waits for the reply, and
// Encrypt, Decrypt and Hash use the session key. Close ends it all. The
// numbered rules on Event say what comes in which order.
//
// The model is innovaphone's C++ IAppWebsocketClient, made for Go's select
// loops:
//
//   - Flow control is real: a Message is delivered only after
//     MessageComplete (or Handled), and while none is wanted the client stops
//     reading the socket after ReadAhead messages (or ReadAheadBytes), so a
//     slow consumer pushes back on the server instead of filling memory.
//     Messages left waiting longer than Options.StallWarning are reported.
//   - Nothing waits on the consumer that it did not ask for: SendResult,
//     ConnectComplete, Disconnected and Closed never wait for a Message; Send
//     and Request never wait for unread events; Close needs no one reading.
//   - What the client reports is what happened: every send that returned no
//     error gets exactly one SendResult (or, at a Close that finds the
//     consumer behind, a place in Closed.Results), nil only when the socket
//     accepted all of the message and ErrSessionEnded only when it did not;
//     Messages read ahead when a session ends are counted in the event that
//     reports the end; Close reports what it dropped; a Request never waits
//     for ever on a stalled consumer (ErrReplyBlocked); every connect failure is a
//     *ConnectError naming its step.
//   - With Options.AutoReconnect the client logs in again after a drop, with
//     a jittered exponential backoff between 1 s and 60 s that starts over
//     after a login that stayed up. Once a session has been up, every
//     failure is retried (a PBX that restarts refuses logins for a while);
//     only a closed Authenticator or Close ends the client.
//   - Secrets (password, session key, digest, challenge) never reach a log
//     line or an error.
//
// PROTOCOL.md in the repository describes the wire protocol as appws
// implements it, and ARCHITECTURE.md how the package is built. Package
// appwstest is an in-process AppWebsocket server for tests, shaped like
// net/http/httptest; package wire has what a server needs of the protocol
// besides (ParseMessage, CanonicalInfo, Digest); the typed PBX APIs are
// packages of their own (rcc, tableusers, pbxapi, pbxadminapi), each with
// its fake beside it.
//
// RC4, used by Encrypt and Decrypt, is the protocol's choice and weak; use
// those helpers for what the protocol asks of them and nothing else.
package appws
