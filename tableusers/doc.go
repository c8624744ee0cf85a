// Package tableusers keeps a copy of an innovaphone PBX's users table,
// replicated over the PbxTableUsers API of an AppWebsocket connection
// (innovaphone's "Replication" protocol with api "PbxTableUsers"). The
// examples are the best place to start.
//
// A Replicator has no goroutines of its own. The service's event loop hands
// it every event of its *appws.Client with Handle, and gets back the
// changes to the table: Added, Changed (old and new row), Removed, and
// Synced when a replication of the whole table completed. Handle sends what
// the protocol asks for itself (ReplicateStart on each ConnectComplete,
// ReplicateNext until the table is complete). The table can be read at any
// time, from any goroutine: Snapshot (a copy), Lookup, Len.
//
// After a reconnect the whole table is replicated again (the protocol knows
// no other way: the PBX holds no state for a replicator). Until that
// replication completes the table stays the last complete one; then Handle
// reports only the difference (users added, changed and removed while the
// connection was down), not a reload. A connection lost in the middle of a
// replication abandons it; the next session starts over.
//
// The package is named after the API rather than "replicator": the
// replication protocol is generic, but what this package knows, the typed
// columns of User, is the users table.
//
// # Where innovaphone's documentation is vague, and what this package does
//
// The protocol is described in the SDK's Replication.htm and
// PbxTableUsers.htm, which leave gaps and disagree in places:
//
//   - ReplicateUpdate: Replication.htm's example of it carries mt
//     "ReplicateAdd", as does its ReplicateNextResult example; both are
//     evidently copies of the ReplicateAdd example. PbxTableUsers.htm's
//     example, the PBX's own, has mt "ReplicateUpdate", and so does the
//     message list. The package goes by the mt names of the message lists:
//     ReplicateNextResult for pages, ReplicateUpdate for updates. An
//     update and an add are applied alike (insert or replace), so a PBX
//     that sent ReplicateAdd for an update would still be followed.
//   - The shape of "columns": Replication.htm writes it as an array of a
//     "Column" object it never defines; PbxTableUsers.htm's example sends
//     one row as an object of column values, and apps in the field read it
//     so. Rows are read as that object; an array of such objects is taken
//     as several rows, for the "Get next rows" of ReplicateNext.
//     ReplicateStart sends the requested columns as the "Columns" object
//     that Replication.htm defines for ReplicateStartResult
//     ({"guid":{},"cn":{},...}), as apps in the field do.
//   - The end of the initial replication is not documented. A
//     ReplicateNextResult without a row (no "columns", null, or an empty
//     object or array) ends it, as apps in the field take it.
//   - ReplicateUpdate carries "all the user object data" (PbxTableUsers.htm),
//     so an update replaces the whole row: a column missing from it is
//     gone, not kept from before. ReplicateDel is read for its guid only.
//     An update for an unknown guid adds the user; a delete for an unknown
//     guid changes nothing.
//   - "add" and "del" in ReplicateStart announce that the replicator will
//     add or delete rows on the PBX. This package only reads, so it sends
//     both false.
//   - The tristate columns cfpr and t-cfpr have no documented encoding;
//     they, pwd and the arrays (emails, allows, t-allows, grps, devices,
//     cds, forks, wakeups) are kept as received in User.Extra when asked
//     for in Options.Columns. pwd is not asked for by default.
//   - innovaphone's C++ replicator may add a "pseudo" array to
//     ReplicateStart to choose users by their pseudo information; it is
//     sent when Options.Pseudo is set.
//   - The PBX sends the API only on connections whose app object has
//     TableUsers enabled; elsewhere ReplicateStart gets no answer and the
//     table stays empty (Synced never comes). The package does not time
//     out on that: the caller knows how long to wait.
package tableusers
