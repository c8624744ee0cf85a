// Package rcc speaks innovaphone's RCC API (remote call control) over an
// appws.Client: typed messages for its operations, and a Monitor that keeps
// the PBX's users and the calls of the users it watches. Like appws itself
// it starts no goroutines: the Monitor is fed every event from the
// service's own select loop and returns what changed. The examples are the
// best way to start.
//
// The loop is:
//
//	m := rcc.NewMonitor(rcc.Config{})
//	for ev := range c.Events() {
//		for _, ch := range m.Handle(ev) { // nil for what is not RCC
//			... // UserAdded, CallAdded, CallChanged, CallEnded, ...
//		}
//		if m.Pending() {
//			m.Sync(ctx, c) // Initialize, UserInitialize
//		}
//		if _, ok := ev.(appws.Message); ok {
//			c.MessageComplete()
//		}
//	}
//
// The operations (UserCall, UserClear, UserConnect, UserHold, ...) are
// structs that marshal with "api":"RCC" and their "mt"; their Do methods
// send them with Client.Request and decode the Result. Call and user
// handles come from the Monitor (Call.Handle, Monitor.UserHandle) and are
// valid in the session they were reported in only.
//
// # Choices where the documentation is vague
//
// RCC.htm is terse; it says RCC is built on the PBX SOAP API, whose
// documentation (doc/pbx/soap.htm) fills some gaps. What this package
// chose:
//
//   - Call states: RCC.htm says only "state:integer". The state table is the
//     SOAP API's: a bit field whose low four bits are the phase (State:
//     setup, setup-ack, call-proc, alert, connected, disconnect sent and
//     received, parked), 0x80 "outbound", 0x100 on hold, 0x200 held by the
//     peer. "Outbound" is from the PBX's point of view, a call from the PBX
//     to the user's phone, so Direction reports it as Incoming for the user.
//   - The end of a call: RCC.htm does not say how it is signalled. A
//     CallInfo ends its call when it has "active":false (the SOAP API's
//     marker) or its msg is a release ("x-rel", "r-rel"; the SOAP API names
//     r-rel as the clearing of a call).
//   - CallInfo is the only call message RCC.htm documents (no
//     CallAdd/CallUpdate/CallDelete, and Initialize has no calls flag):
//     calls are reported for the users the Monitor sent UserInitialize for,
//     which Config.Watch selects (all users by default).
//   - Initialize and UserInitialize are sent, not requested: the UserInfos
//     and CallInfos they start carry their src, and may come before their
//     Result, so Client.Request would take the first of them for the reply.
//     The Monitor gives them srcs of its own ("rcc-init", "rcc-user-N") and
//     reads what comes on the event stream.
//   - Users are keyed by guid, or by cn when the guid is empty. A UserInfo
//     with "update":"del" removes the user (its calls end); with another or
//     no update it adds or changes it.
//   - Every operation is answered by mt+"Result" (RCC.htm's general rule),
//     so Do waits for it; a non-empty "error" in it (documented for
//     UserRedirect and UserReroute) becomes an *Error.
//   - UserEnd lists no properties in RCC.htm; it sends the user handle as
//     "user", the SOAP API's argument. UserHold's "hold" flag is sent as
//     documented, though its meaning is not (the SOAP API's is "remote").
//
// # Reconnects
//
// Call and user handles belong to one PBX session. When the session is
// lost (Disconnected, Closed, or a ConnectComplete of a new session whose
// Disconnected the consumer never saw), the Monitor reports every call it
// knew as CallEnded with Call.Lost set, since the calls may go on but can
// no longer be followed or controlled by their handles. It keeps the users.
// The ConnectComplete of the new session reports SyncNeeded: Sync sends
// Initialize and, as the users come in again, UserInitialize; calls still
// up at the PBX come back as CallAdded with their new handles when the PBX
// reports them after UserInitialize (RCC.htm does not say it does; the
// appwstest fake does). The user
// list sent again is compared with the one kept: changed users are
// reported, users not in it are removed when InitializeResult comes
// (UsersComplete).
package rcc
