// Package identity keeps the persistent identities of a master patient
// index: every stored Patient belongs to exactly one identity (served as a
// FHIR Person), new and changed records are linked to an identity as they
// are written, uncertain pairs become review tasks for a data steward, and
// the steward's decisions (match, no-match, defer, merge, unmerge) stick.
//
// State is event-sourced. Every change — a link, a task, a decision, a
// merge, a never-link — is an Event appended to a log in the engine's
// key-value store, and the in-memory State is the replay of that log. The
// log is the history (who decided what, when, from which score) and makes
// every change reversible: an unmerge reads which merge brought a record in
// and restores the identity it had before, under the same Person id.
// Open replays the log in the background (seconds at a million patients);
// the service's methods wait for it.
//
// Linking runs behind the writes: the engine hands each committed write
// to the service under its write lock, the service queues it, and a
// linker goroutine links the queue in commit order. A Match inside every
// write would make the index commit one document at a time (measured on the
// demo set: 3.1–3.3 ms a write, against 0.30–0.33 ms queued); queued, the index batches as it does without
// identities. Every read and decision of the service first waits for the
// writes queued before it (Service.Sync).
//
// Pairs graded possible or probable (and certain pairs that cannot be
// linked automatically) become tasks; Options.TaskGrade can narrow the
// queue to probable, leaving possible pairs (on household-heavy data mostly
// relatives) to $match.
//
// A catch-up (after a bulk load or a crash, or dedupe --data) runs the
// Matches of the writes ahead of the plans, on Options.CatchUpWorkers
// goroutines: a Match reads the engine, never the identity state, so only
// the plans need to be made in commit order.
//
// Durability follows what can be recomputed. Links made automatically on
// a write are derived from the store's changelog, so they are group
// committed in the background; after a crash the service replays the
// patient writes after the last event batch that reached the disk
// (Service.CatchUp). A steward's decision cannot be recomputed: it is
// synced, with every event before it, before it is acknowledged.
package identity
