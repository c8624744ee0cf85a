// Package rcc speaks innovaphone's RCC API (remote call control) over an
// appws.Client: a Monitor that keeps the PBX's users and the calls of the
// users it watches, and typed messages for the operations. Like appws
// itself it starts no goroutines: the Monitor is fed every event from the
// service's own loop and returns what changed. The examples are the best
// way to start; Example is the loop below, run against the fake PBX of
// package rcctest.
//
//	m := rcc.New(rcc.Config{})
//	for ev := range c.Events() {
//		for _, ch := range m.Handle(ev) { // nil for what is not RCC
//			... // UserAdded, CallAdded, CallChanged, CallEnded, Synced, ...
//		}
//		if err := m.Sync(ctx, c); err != nil { // Initialize, UserInitialize
//			... // a failed Send: the next Sync sends it again
//		}
//		c.Handled(ev)
//	}
//
// The operations (UserCall, UserClear, UserConnect, UserHold, ...) are
// structs that marshal with "api":"RCC" and their "mt"; Do sends one with
// Client.Request and decodes its Result. User handles come from the
// Monitor (Monitor.UserHandle, or Change.Watched of UserWatched), call
// handles from the calls it reports (Call.Handle); both are valid in the
// session they were reported in only.
//
// # Two modes
//
// By default the Monitor sends Initialize (the user list), then one
// UserInitialize for every user Config.Watch selects, and follows their
// calls from the CallInfo messages (the users' handles are what call
// control needs). With Config.Calls, Initialize asks for every call of the
// PBX ("calls":true, build 132455, App objects only), reported with CallAdd,
// CallUpdate and CallDel, and no UserInitialize is sent: the way a service
// follows every call of a large PBX. `appws calls -calls-mode` shows it.
//
// # Pages followed
//
// doc/appwebsocket/RCC.htm of the innovaphone 13r1 SDK, build 132940 (the
// page last changed in build 132455), with its history: build 132105 added
// UserInitializeResult's prefixes, 132195 renamed UserHold's flag "remote",
// 132455 added Initialize's calls mode and its CallAdd, CallUpdate and
// CallDel. RCC is built on the PBX SOAP API, whose page doc/pbx/soap.htm
// (same SDK) fills gaps: the call state table, UserInfo's alert and
// channel, "active", and what the operations do. The busy lamp field of
// doc/tutorials/RCCfromExternalWebPage.htm reads alert, channel and regs;
// common/interface/pbx.htm gives the form of the country and area codes
// ("49", "30").
//
// # Where the pages are silent
//
// Each choice has a test (named in parentheses).
//
//   - The end of a call in CallInfo (TestEndedCallNeverComesBack): RCC.htm
//     does not say how it is signalled. A CallInfo ends its call when its
//     msg is a release ("x-rel", "r-rel"; soap.htm names r-rel as the
//     clearing of a call), when it is "del", or when it has "active":false
//     (soap.htm's end marker). innovaphone's SOAP sample says there is
//     always a "del" event at the end of a call (innopbx.sample.php in
//     innovaphone/soapphp5, not read for this package: no copy was at
//     hand; soap.htm does not mention "del"), and it follows the release:
//     no message about a call that ended brings it back. The Monitor
//     remembers the last 4096 calls that ended in the session, which bounds
//     its memory; a late message about an older one would be taken for a
//     new call.
//   - The call state (TestCallStateBits): RCC.htm's CallInfo says only
//     "state:integer"; its CallAdd lists phases 0 (init) to 8 and adds 128
//     "outgoing", 256 hold, 512 held, 1024 waiting, which is soap.htm's
//     table (plus waiting). "Outgoing" is from the PBX's point of view, a
//     call from the PBX to the user's phone, so Direction reports it as
//     Incoming for the user.
//   - Calls mode (TestCallsMode): Initialize's text calls the end message
//     "CallDelete", its section "CallDel"; both are taken. CallUpdate
//     carries no state: a call keeps the state of its CallAdd (and takes a
//     "state" a CallUpdate carries anyway), and Call.Msg says what
//     changed. A calls-mode call ends with CallDel only. Whether CallAdd's
//     call handle works with the User... operations is not said.
//     Config.Watch selects calls by the user CallAdd names, which may be
//     an object outside the user list (Change.User then has only its guid
//     and cn). Removing a user does not end its calls in this mode: the
//     PBX's calls go on and end with their CallDel.
//   - Which messages are the Monitor's (TestMonitorIgnoresOtherMessages):
//     UserInfo, InitializeResult and the calls-mode messages must carry
//     the src of its Initialize, or none; its srcs name the session
//     ("rcc-init-2", "rcc-user-7"), so replies to messages Sync sent just
//     as the client reconnected are not taken for the new session's.
//     Other RCC messages, and Results of operations, are not its business.
//   - Undecodable RCC messages, a UserInfo without guid and cn, a CallInfo
//     or calls-mode message without a call handle, and a
//     UserInitializeResult without a user handle or with an error are
//     reported as Invalid and skipped (TestInvalidMessages).
//   - Users (TestUserInfoKeepsEveryField): keyed by guid, or by cn when the
//     guid is empty. A UserInfo with "update":"del" removes the user and
//     ends its calls; with another or no update it adds it or replaces it
//     whole (the tutorial replaces it whole), and every documented field
//     counts for UserChanged, alert and channel (soap.htm: alerting calls,
//     all calls) included.
//   - Synced (TestReconnectDuringActiveCalls): the session is complete
//     when InitializeResult came and every watched user's UserInitialize
//     was answered; users kept from the last session that the new list
//     does not name are removed at InitializeResult. Calls still up at the
//     PBX come back with new handles when the PBX reports them after
//     UserInitialize (the fake does; RCC.htm does not say).
//   - Initialize and UserInitialize are sent, not requested
//     (TestSyncSendsInOrderAndRetries): the messages they start carry their
//     src and may come before their Result, so Client.Request would take
//     the first of them for the reply.
//   - Operations (TestOperationErrors): every one is answered by mt +
//     "Result" (RCC.htm's general rule), so Do waits for it. A non-empty
//     string "error" (documented for UserRedirect and UserReroute), a
//     non-zero number or true is an *Error; a reply of another mt too.
//     UserEnd lists no properties: it sends the user handle as "user", the
//     SOAP API's argument. UserCtrlCall's "info" has no documented type: it
//     is sent as the caller's raw JSON.
//   - Dialing (TestDialable): Watched.Dialable turns an international
//     number into the digits for the user's node from the prefixes of
//     UserInitializeResult, always in national form within the user's
//     country (see Dialable for why).
//
// # Reconnects
//
// Call and user handles belong to one PBX session. When the session is
// lost (Disconnected, Closed, or a ConnectComplete of a new session whose
// Disconnected the consumer never saw), Handle reports every call it knew
// as CallEnded with Call.Lost set, since the calls may go on but can no
// longer be followed or controlled by their handles. It keeps the users.
// The next session's ConnectComplete makes Sync send Initialize again, and
// UserInitialize as the users come in again; the user list sent again is
// compared with the one kept, and the changes end with Synced.
package rcc
