// Package tableusers keeps a copy of an innovaphone PBX's users table,
// replicated over the PbxTableUsers API of an AppWebsocket connection: the
// "Replication" protocol with api "PbxTableUsers". The examples are the
// best place to start; package tableusers/tableuserstest is a fake PBX
// table for tests.
//
// It follows, from innovaphone's 13r1 SDK build 132940 (and the pages'
// history): doc/appwebsocket/PbxTableUsers.htm (the API, the users table's
// columns, the ReplicateUpdate example), doc/appwebsocket/Replication.htm
// (the messages; "columns" is one Columns object since build 132394),
// common/interface/replication.htm (innovaphone's C++ replicator: a full
// replication each time the connection is established, add and del) and
// doc/tutorials/Replicator.htm (the "pseudo" array of ReplicateStart).
//
// # The shape
//
// A Replicator has the shape of every typed PBX API of this module (see
// ARCHITECTURE.md): New(Config) does no I/O; Handle(ev) takes every event
// of the client, in order, and returns the changes (Added, Changed with the
// old and new row, Removed, Synced when a replication of the whole table
// completed, Invalid for a message that did not decode); Sync(ctx, c)
// sends what the protocol needs (ReplicateStart on each new session,
// ReplicateNext after each page), and is a no-op when nothing is pending.
// The event loop is:
//
//	for ev := range c.Events() {
//		for _, ch := range users.Handle(ev) { ... }
//		if err := users.Sync(ctx, c); err != nil { ... } // retried by the next Sync
//		c.Handled(ev)
//	}
//
// Every method is safe from any goroutine; Snapshot, Lookup, Len, Synced
// and Available read the table and return copies.
//
// After a reconnect the whole table is replicated again (the C++
// replicator does the same: "Full replication each time the websocket
// connection is established"). Until that replication completes the
// table stays the last complete one; then Handle reports only the
// difference (users added, changed and removed while the connection was
// down), then Synced. A connection lost in the middle of a replication
// abandons it; the next session starts over.
//
// # Secrets
//
// PbxTableUsers.htm lists a pwd column (the user's password, in the PBX's
// encrypted form), and its ReplicateUpdate example shows the PBX sending
// it, with every other column, whatever the replicator asked for. This
// package never asks for pwd (a Config naming it is invalid: Validate and
// Sync return ErrSecretColumn), and keeps only the columns it asked for, so
// pwd never reaches a User, a Change, a Snapshot, an error, a log line or
// the output of `appws users`. Decoding errors name the column and the JSON
// types, never a value.
//
// # Where the pages are silent, and what this package does
//
// Each choice has its test (named in brackets).
//
//   - Which mt carries a page. Replication.htm lists ReplicateNextResult
//     ("Send row") among the publisher's messages, but its examples of
//     ReplicateNextResult and of ReplicateUpdate carry mt "ReplicateAdd".
//     The package goes by the message list: ReplicateNextResult is a page;
//     a ReplicateAdd while paging is a live change of the table being
//     built, and answered with no ReplicateNext
//     [TestAddWhilePagingIsNotAPage].
//   - The shape of "columns". Replication.htm (since build 132394) makes it
//     one Columns object in every message: a row is one object of column
//     values, as PbxTableUsers.htm's example shows. An array there (the
//     "[Column, ...]" of the pages before 132394) is not a row: it is
//     Invalid, and paging goes on [TestNextResultWithArrayIsInvalid].
//   - The end of the initial replication is not documented. A
//     ReplicateNextResult without a row (no "columns", null, {} or []) ends
//     it [TestEndOfInitialReplication].
//   - ReplicateStart's columns: the Columns object, each column asked for as
//     {} (no "update": the Replicator changes nothing on the PBX), guid
//     always; "add" and "del" false, since it never adds or deletes rows
//     (replication.htm: the replication does not start if the publisher
//     cannot allow what they announce). How innovaphone's C++ replicator
//     announces an array column (AddArray) is undocumented: an array
//     column is asked for like any other, "grps":{} [TestReplicateStartMessage].
//   - "pseudo" is documented only by the tutorial's ReplicatorStart
//     callback (["", "executive"]): it is sent when Config.Pseudo is set;
//     without it the PBX chooses [TestReplicateStartMessage].
//   - ReplicateStartResult names the columns the publisher has
//     (Available); one that does not decode is Invalid and paging goes on;
//     one without "columns" names none [TestStartResultColumns].
//   - ReplicateUpdate carries "all the user object data"
//     (PbxTableUsers.htm), so it replaces the whole row: a column asked for
//     and missing from it is gone. An update of an unknown guid adds the
//     user, an add of a known one changes it, one that changes nothing is
//     no change, a delete of an unknown guid nothing [TestUpdateReplacesRow].
//   - ReplicateDel's columns is read for its guid only: the rest is not
//     checked [TestDelReadsGuidOnly].
//   - Columns not asked for are not kept, from any message
//     [TestUnaskedColumnsAreNotKept, TestUnaskedColumnsNotKeptFromPagesAndAdds,
//     TestPwdFromThePBXIsNeverKept]; pwd is never asked for
//     [TestPwdMayNotBeAskedFor].
//   - Types. A String column is a JSON string or null (""), a Bool column
//     true, false or null (false); anything else, a row without a guid, or
//     a message that is not JSON makes the message Invalid, and the row is
//     skipped [TestInvalidRows]. The tristates cfpr and t-cfpr have no
//     documented encoding, and the arrays (emails, allows, t-allows, grps,
//     devices, cds, forks, wakeups) are tables of their own: when asked
//     for, they are kept as received in User.Extra [TestExtraColumnsKeptRaw].
//   - src: PbxTableUsers.htm supports it without saying what the PBX puts
//     on ReplicateAdd, Update and Del. With Config.Src set, messages
//     carrying another non-empty src are another replication's and
//     ignored; messages without src are taken [TestOtherMessages].
//   - A message of the API whose mt the pages do not list is Invalid, not
//     dropped silently; messages of a session other than the one
//     replicating, and answers when none is awaited (a ReplicateNextResult
//     before ReplicateStartResult), are ignored [TestOtherMessages,
//     TestStaleMessagesIgnored, TestNewerSessionRestarts].
//   - Changes while paging are applied to the table being built and
//     reported with the rest when it completes [TestChangesWhilePaging].
//   - The PBX answers only on connections whose app object has TableUsers
//     enabled; elsewhere ReplicateStart gets no answer and Synced never
//     comes. The package has no timeout of its own: the caller knows how
//     long to wait [TestNoAnswerWithoutTableUsers].
//
// The JSON form of User and Change is lowerCamel, as for every typed API
// (ARCHITECTURE.md), not the PBX's column names ("appsMy", not "apps-my");
// the keys of User.Extra are the PBX's names.
package tableusers
