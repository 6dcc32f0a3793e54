// Package audit writes the trail that answers "who looked up which patients,
// and what did they get": one JSON line per request that reads, matches or
// writes patients, over HTTP and gRPC.
//
// A record names the client (token iss/sub/client_id, or the peer address
// when no token is required), the operation, its outcome, and the ids of the
// patients the request returned or changed with their match grades. It never
// holds names, dates, addresses, contact points, identifiers' values or any
// other demographics: the trail is read by more people than the records.
//
// The file is tamper-evident: every line carries the SHA-256 of the line
// before it ("prev") and of itself ("hash"), so editing, inserting or
// deleting a line breaks the chain, which Verify (and `patientmatch audit
// verify FILE`) detects. Cutting lines off the end is not detectable from
// the file alone; ship it to an append-only store to close that gap. Lines
// are written as requests finish and fsynced in batches (every Options.
// SyncEvery records or Options.SyncInterval, whichever comes first).
package audit
