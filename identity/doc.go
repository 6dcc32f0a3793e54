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
//
// Durability follows what can be recomputed. Links made automatically on
// a write are derived from the store's changelog, so they are group
// committed in the background; after a crash the service replays the
// patient writes after the last event batch that reached the disk
// (Service.CatchUp). A steward's decision cannot be recomputed: it is
// synced, with every event before it, before it is acknowledged.
package identity
