// Package pbxapi speaks innovaphone's PbxApi over an appws.Client: the
// presence of PBX users, the favourites of the logged-in user's first
// profile, and the node information. It follows
// doc/appwebsocket/PbxApi.htm and common/interface/pbx.htm of the 13r1
// SDK, build 132940 (the JSON page is unchanged since build 131879). The
// PBX's app object must be enabled for the PbxApi. The examples are the
// best place to start.
//
// The package has the shape of every typed PBX API of appws (see
// ARCHITECTURE.md): what the PBX pushes is followed by a Watcher fed every
// event; what the caller asks is an operation struct with a Do method.
//
//	w := pbxapi.New(pbxapi.Config{Profile: true})
//	w.SubscribePresence(pbxapi.Target{SIP: "bob"})
//	for ev := range c.Events() {
//		for _, ch := range w.Handle(ev) { // nil for what is not PbxApi
//			... // StateChanged, PresenceChanged, Contact..., Synced, Invalid
//		}
//		if err := w.Sync(ctx, c); err != nil { ... } // retried by the next Sync
//		c.Handled(ev)
//	}
//
// The operations, SetPresence, GetNodeInfo, AddProfileContact,
// DelProfileContact and UpdateProfileContact, marshal with "api":"PbxApi"
// and their "mt"; Do sends one with Client.Request and waits for its
// Result. A Result with an error is an *Error.
//
// # Reconnects
//
// The pages say nothing; the C++ interface object dies with its
// connection (pbx.htm: CreatePbxApi), so every subscription is made again
// in each new session. The Watcher keeps the list of subscriptions and
// what the PBX last said about each (up, endpoint, presence items), and
// the profile table. When a session is lost (Disconnected, Closed, or a
// ConnectComplete of a newer session whose Disconnected the consumer never
// saw) every subscription heard from in it is reported StateChanged with
// Up false and Lost set. The next ConnectComplete makes Sync send every
// subscription again, with fresh srcs; what the PBX sends then is compared
// with what was kept and only the difference is reported, then Synced.
//
// # Where the pages are silent
//
// Each choice below has a test (named in brackets).
//
//   - PresenceUpdate names no user. Each SubscribePresence goes out with a
//     src of its own (Config.Src, "pbxapi" by default, then "-p" and a
//     number, fresh in each session), and PresenceState and PresenceUpdate
//     are matched to their subscription by src alone (PROTOCOL.md: the PBX
//     copies a subscription's src into its indications). Messages with a
//     src the Watcher did not send are another subscriber's and ignored; a
//     presence message without src belongs to no one and is reported
//     Invalid. [TestPresenceUpdateMatchedBySrc, TestInvalidMessagesReported]
//   - UnsubscribePresence carries the subscription's sip, num and src, so
//     the PBX can match it either way; a subscription whose
//     SubscribePresence is still pending is dropped without sending
//     either. [TestUnsubscribe, TestUnsubscribeWhileItsSubscribeIsSent]
//   - When a subscription's state is complete (for Synced): after its
//     PresenceUpdate ("sent after the presence monitor is up"), or a
//     PresenceState with up false (a monitor that is down sends no
//     presence). SubscribePresenceResult alone does not complete it: the
//     state follows it. A PBX that confirms a subscription and then sends
//     neither holds Synced back. [TestSyncedWhenEveryStateIsComplete]
//   - PresenceState and PresenceUpdate are reported only when they differ
//     from what is kept (the first of each always), so the same presence
//     sent again after a reconnect is not reported.
//     [TestPresenceStateReported, TestReconnectResubscribesAndReportsTheDifference]
//   - A PresenceUpdate without "presence" is an empty list.
//     [TestPresenceUpdateWithoutPresence]
//   - SetPresenceResult: "error" is documented as unsigned with no codes;
//     absent, null or 0 with no errorText is success; a non-zero error or
//     a non-empty errorText is an *Error (pbx.htm's ITask has no codes
//     either); an error that is not an unsigned number is an *Error
//     ("bad reply"). SetPresence needs sip or guid (pbx.htm: "guid or sip
//     must be specified"), else ErrNoTarget; an empty Contact is sent as
//     "tel:", the presence a user sets. [TestResultErrors,
//     TestNoTargetSendsNothing, TestOperationsMarshal]
//   - AddProfileContact, DelProfileContact and UpdateProfileContact show no
//     Result on the page; by its general rule ("the result is returned with
//     a message with message type <name>Result") Do waits for one, and an
//     error in it is an *Error, as for SetPresence. AddProfileContact's
//     top-level "name" is taken as the name of a profile it creates.
//     [TestProfileOperationsAgainstTheFake]
//   - Profile indications: only ProfileContactAdded and
//     ProfileContactDeleted are documented. An Added for a favourite id the
//     table has is taken as its update (ContactChanged), which is how the
//     fake reports UpdateProfileContact. They are the Watcher's when their
//     src is its SubscribeProfile's or they have none (the page's examples
//     show none; there is one profile per connection). Of favourites with
//     the same id in one profile the last is kept. A SubscribeProfileResult
//     without a profile is an empty table. [TestProfileKeptAsATable,
//     TestProfileDuplicateIDs, TestNoProfile, TestProfileAfterReconnect]
//   - GetNodeInfoResult lists name, prefix_intl, prefix_ntl, prefix_subs,
//     country_code; pbx.htm's IPbxApiTaskGetNodeInfo also has an area code
//     (since build 131731), read from "area_code" when present (the JSON
//     name is inferred). [TestGetNodeInfoAgainstTheFake]
//   - The subscriptions are sent, never requested: Sync sends them, and
//     Handle reads their Results and indications from the event stream.
//     A Sync given an *appws.Client in another session than the Watcher was
//     last fed sends nothing (the messages are for a session that is gone).
//     [TestSyncSendsNothingForAGoneSession]
//
// The fake in package pbxapitest plays the PBX's side for tests, with the
// same choices.
package pbxapi
