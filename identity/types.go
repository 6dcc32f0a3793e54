package identity

import (
	"errors"
	"time"
)

// Sentinel errors, classified with errors.Is at the HTTP and gRPC
// boundaries.
var (
	// ErrNotFound: no such task, identity or assigned patient.
	ErrNotFound = errors.New("identity: not found")
	// ErrInvalid: a request that cannot be carried out as asked.
	ErrInvalid = errors.New("identity: invalid request")
	// ErrConflict: the request contradicts the current state (unmerging a
	// record that is alone in its identity, say).
	ErrConflict = errors.New("identity: conflict")
	// ErrClosed: the service was closed.
	ErrClosed = errors.New("identity: closed")
)

// Actor names who or what made a change: "auto" (a certain match on
// write), "batch" (the dedupe pass over stored patients), or
// "steward:<sub>" (a person, by the subject of their token).
type Actor = string

// Actors that are not people.
const (
	ActorAuto  Actor = "auto"
	ActorBatch Actor = "batch"
)

// Steward returns the actor of a steward with the given token subject.
func Steward(sub string) Actor {
	if sub == "" {
		sub = "local"
	}
	return "steward:" + sub
}

// Status is where a review task stands.
type Status string

// Task statuses.
const (
	StatusOpen     Status = "open"
	StatusMatched  Status = "matched"  // decided "match": one identity
	StatusNoMatch  Status = "no-match" // decided "no-match": a never-link
	StatusDeferred Status = "deferred" // decided "defer": out of the open queue
)

// Decision is a steward's answer to a task.
type Decision string

// Decisions.
const (
	DecisionMatch   Decision = "match"
	DecisionNoMatch Decision = "no-match"
	DecisionDefer   Decision = "defer"
)

// ParseDecision checks a decision code.
func ParseDecision(s string) (Decision, bool) {
	switch d := Decision(s); d {
	case DecisionMatch, DecisionNoMatch, DecisionDefer:
		return d, true
	}
	return "", false
}

// Task is a pair of patients a steward should look at.
type Task struct {
	ID    string  `json:"id"`
	Left  string  `json:"left"`  // patient id (APIs add "Patient/")
	Right string  `json:"right"` // patient id
	Score float64 `json:"score"` // match probability when proposed
	Grade string  `json:"grade"` // match grade when proposed
	// Status, and the last decision's actor and time (zero while open).
	Status    Status    `json:"status"`
	Created   time.Time `json:"created"`
	DecidedBy Actor     `json:"decidedBy,omitempty"`
	DecidedAt time.Time `json:"decidedAt,omitzero"`
}

// Member is one patient's link to its identity.
type Member struct {
	Patient string    `json:"patient"`
	By      Actor     `json:"by"`
	At      time.Time `json:"at"`
	// Score and Grade of the match that linked the patient; zero for the
	// record an identity was created for and for steward links.
	Score float64 `json:"score,omitempty"`
	Grade string  `json:"grade,omitempty"`
}

// Identity is one person: the Patients believed to be them.
type Identity struct {
	ID      string
	Members []Member // sorted by patient id
	Created time.Time
	Updated time.Time
	// ReplacedBy is the identity this one was merged into; an identity
	// with no members and no ReplacedBy was emptied by deletes or unmerges.
	ReplacedBy string
	// Version counts the events that changed the identity (Person
	// meta.versionId).
	Version uint64
}

// Active reports whether the identity has members.
func (i *Identity) Active() bool { return len(i.Members) > 0 }

// Event kinds.
const (
	KindLink    = "link"    // Patient joins Identity (a new one when unknown)
	KindUnlink  = "unlink"  // Patient leaves its identity (deleted)
	KindTask    = "task"    // a review task is opened
	KindDecide  = "decide"  // a task is decided
	KindMerge   = "merge"   // every member of From moves into Identity
	KindUnmerge = "unmerge" // Patients move from From back to Identity
	KindNever   = "never"   // Left and Right must never be linked automatically
	KindUnnever = "unnever" // a never-link is lifted (a later "match")
)

// Event is one change of the identity state: the unit of the log, of
// replay and of history.
type Event struct {
	Seq  uint64    `json:"seq"`
	At   time.Time `json:"at"`
	By   Actor     `json:"by"`
	Kind string    `json:"kind"`

	Patient  string   `json:"patient,omitempty"`
	Identity string   `json:"identity,omitempty"`
	From     string   `json:"from,omitempty"`
	Patients []string `json:"patients,omitempty"`

	Task     string   `json:"task,omitempty"`
	Left     string   `json:"left,omitempty"`
	Right    string   `json:"right,omitempty"`
	Score    float64  `json:"score,omitempty"`
	Grade    string   `json:"grade,omitempty"`
	Decision Decision `json:"decision,omitempty"`
	// Reason is free text a steward gave, or why the engine acted.
	Reason string `json:"reason,omitempty"`
}
