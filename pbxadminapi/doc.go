// Package pbxadminapi speaks innovaphone's PbxAdminApi, the PBX API for
// reading and provisioning PBX objects (users, app objects, config
// templates), over an appws client logged in to a PBX app object that has
// the PbxAdminApi enabled. It follows doc/appwebsocket/PbxAdminApi.htm and
// common/interface/pbx_admin.htm of innovaphone's 13r1 SDK, build 132940,
// and has the shape of every typed API of appws (ARCHITECTURE.md): the
// examples are the best way to start.
//
// What the caller asks is an operation: a struct per message, which
// marshals with "api":"PbxAdminApi" and its "mt", with a Do method that
// sends it with Client.Request and decodes its Result:
//
//	o, err := pbxadminapi.GetObject{CN: "alice"}.Do(ctx, c)
//	guid, err := pbxadminapi.UpdateObject{GUID: o.GUID, E164: pbxadminapi.Set("201")}.Do(ctx, c)
//	for u, err := range (pbxadminapi.SearchUsers{}).All(ctx, c) { ... }
//
// The operations: GetObject, UpdateObject (create or change), SetPassword
// (UpdateObject with a plain password, sent encrypted), DeleteObject,
// SearchUsers, GetRegs, GetGroup, GetGroups, GetNodes, GetConfigObjects and
// GetAppObjects. A Result that carries an error becomes an *Error{Op, Code,
// Text}, and so does a reply that is not the operation's Result.
//
// An UpdateObject sends only what is set: "Any property present in the
// message updates the respective information of the PBX object. Properties
// not present are left unchanged." Its strings, numbers and lists are
// Opt values (the zero Opt is not sent; Set(v) sends v) and its booleans
// Flag values (Unset, True, False, and Inherit, which deletes the object's
// own value so its config template's applies). Object, what GetObject
// returns, is plain Go values.
//
// What the PBX pushes is followed by a ConfigMonitor, fed every event of
// the client: the local PBX's config (MonitorConfig) and, with
// Config.AdminObject, the admin object's key pair (MonitorAdminObject),
// which passwords need. The loop is the same as for every typed API:
//
//	m := pbxadminapi.New(pbxadminapi.Config{AdminObject: true})
//	for ev := range c.Events() {
//		for _, ch := range m.Handle(ev) { ... } // configChanged, adminKeyChanged, monitorEnded, synced, invalid
//		if err := m.Sync(ctx, c); err != nil { ... } // a failed Send: retried by the next Sync
//		c.Handled(ev)
//	}
//
// # Passwords
//
// UpdateObject's pwd is "encrypted by key of the admin object". The
// scheme, from innovaphone's wiki ("Howto:Encrypt or Decrypt PBX user
// passwords"): the PBX key K is the admin object's key decrypted with RC4
// under the PBX password (the PBX's security password, not the app's
// password, not the session key) zero-padded to 16 bytes; the admin
// object's pwd, decrypted with K, is the PBX password again, which tells a
// right PBX password from a wrong one (ErrWrongPBXPassword); a password is
// stored as the lowercase hex of RC4 under K of the password zero-padded to
// 24 bytes. EncryptPassword and DecryptPassword do this; SetPassword sends
// it. The wiki's public example is a test of this package
// (TestPasswordWikiVector, TestFakeAdminObjectIsTheWikis).
//
// Inferred, not documented: that MonitorAdminObjectInfo's key and pwd are
// the wiki's admin attributes (same names and descriptions), and that
// UpdateObject and GetObjectResult carry the stored form (innovaphone's
// own PHP sample copies a GetObjectResult's pwd into an UpdateObject
// unchanged). innovaphone's manager plugin template sends a clear-text pwd
// when it creates app objects, so UpdateObject.Pwd also sends whatever it
// is given, unchanged. What the scheme does not say is refused with an
// error rather than guessed: user passwords over 23 bytes (24 with the
// terminating zero; innovaphone's UsersAdmin caps them at 23 characters),
// PBX passwords over 16 bytes, empty user passwords, and characters outside
// printable ASCII in either (TestPasswordRefusals, TestSetPasswordRefusedSendsNothing).
//
// Passwords and keys never reach an error, a Change or a log line: Secret
// (Object.Pwd, UpdateObject.Pwd), AdminKey and SetPassword print and log
// redacted, and an Object's JSON leaves its pwd out (TestSecretsNeverPrint).
//
// # Reconnects
//
// The pages say nothing about them. The C++ interface object lives and
// dies with its connection, so a monitor is taken to end with its session:
// the ConfigMonitor reports the loss at once (MonitorEnded, Lost), keeps
// the config and the admin key, and sends MonitorConfig (and
// MonitorAdminObject) again in the next session, where it reports only
// what changed meanwhile, then Synced (TestMonitorAgainstFakeAcrossReconnects,
// TestMonitorLossByNewerSession). Operations are not retried: a Do
// whose message was sent and whose reply never came fails with
// appws.ErrNoReply, and the PBX may have acted on it.
//
// # Where the pages are silent
//
// Each choice has its test (in parentheses).
//
//   - Errors: no Result documents error fields. A Result fails when its
//     "error" is a non-zero number (Code), a non-empty string (Text), true,
//     or anything else that is not null, false, 0 or "", or when it has a
//     non-empty "errorText" (Text, preferred to the "error" string; the
//     shape of SetPresenceResult in PbxApi.htm). Text is one line of at most
//     200 bytes. (TestResultErrors)
//   - UpdateObjectResult has no documented fields; Do returns its "guid",
//     which innovaphone's own code reads. (TestUpdateObjectCreates)
//   - An unknown object: GetObject's Result without a guid, and GetRegs'
//     without a cn, are taken to mean there is none, an *Error matching
//     ErrNotFound. (TestGetObject, TestGetRegs)
//   - Removing values: the page documents -1 for booleans only (Inherit).
//     A string is cleared by sending "" and a list by sending [] (a nil
//     slice in an Opt is sent as [], never null), inferred. (TestUpdateObjectRemovalForms,
//     TestUpdateObjectRemoves)
//   - Refused before sending, because the PBX could not make sense of them:
//     guid "*" or "?" without a cn, pwd and copyPwd together, a Flag that is
//     not one of its constants, DeleteObject without a guid or by cn
//     (the page names it by guid only), GetObject and GetRegs without guid
//     and cn, GetNodes' limit over 200. (TestBadOperationsSendNothing)
//   - Paging: no operation defines first/last/more. SearchUsers.All asks
//     from "" and then from the last cn of each page until a page is empty,
//     as the page says; GetNodes.All asks for 200 nodes after the last name
//     until a page is empty, as the C++ interface says (build 132592); the
//     JSON names "limit" and "last" are inferred from its parameters. Both
//     stop with an *Error when a page ends on a key that a page ended on
//     before, so a PBX that never ends paging cannot make them loop.
//     (TestSearchUsersAll, TestSearchUsersAllStopsWhenPagingDoesNotAdvance,
//     TestGetNodes)
//   - Monitors: MonitorConfig and MonitorAdminObject are sent, not
//     requested, with the srcs "pbxadminapi-config" and "pbxadminapi-admin";
//     their Infos are matched by mt, and may come before or after the
//     Result. The pages say Infos come "whenever" the object changes; a
//     first Info right after the start is taken for granted (the C++
//     callbacks are the only way an App learns the values), and Synced
//     waits for the Result and the first Info of each monitor.
//     (TestMonitorHandle, TestMonitorAdminKey)
//   - MonitorConfigInfo: the page lists domain, pbx, dns and ip4 (the C++
//     callback has no ip4); PBXConfig has all four. A config equal to the
//     one kept is no change. (TestMonitorHandle)
//   - Object's JSON uses the PBX's names (cd-filter, app-sharing, no-dev),
//     not lowerCamel, so that what appws admin get prints can be sent back
//     with appws admin update. (TestObjectJSONFeedsUpdateObject)
package pbxadminapi
