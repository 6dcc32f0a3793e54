package matcher

import (
	"encoding/json"
	"time"

	"github.com/patientmatch/patientmatch/scoring"
)

// MatchOptions are per-request settings of Engine.Match.
type MatchOptions struct {
	// Count caps the number of matches returned; 0 means DefaultCount.
	Count int
	// OnlyCertain returns the one certain match, and none when no match or
	// more than one is certain (IHE PDQm ITI-119: more than one person
	// could be meant).
	OnlyCertain bool
	// OnlySingle returns the best match alone, and none when the next has
	// the same grade (IHE PDQm ITI-119 onlySingleMatch).
	OnlySingle bool
	// MinGrade drops matches below this grade; the zero value keeps
	// everything graded possible or better.
	MinGrade scoring.Grade
	// Explain attaches the per-comparison levels and weights to each match.
	Explain bool
}

// Match is one ranked answer of Engine.Match.
type Match struct {
	ID string
	// Resource is the stored FHIR Patient JSON.
	Resource json.RawMessage
	// Probability is the posterior match probability in [0,1].
	Probability float64
	// Weight is the total log2 likelihood ratio (match weight).
	Weight float64
	Grade  scoring.Grade
	// Cap is the hazard rule that lowered Grade (twins, junior, ...;
	// scoring.CapNone when none did), so a reader can tell a pair the
	// rules hold back from one the score alone places (issue 13). It is
	// set on every match: one byte, in what was the struct's padding, so
	// it costs nothing; the surfaces show it with the explanation. Like
	// Grade it crosses the cluster wire as its number, so scoring's Cap and
	// Grade constants may only be appended to: renumbering them would
	// misname caps between nodes of two versions during a rolling upgrade.
	Cap scoring.Cap
	// Explanation is set when MatchOptions.Explain is true.
	Explanation []scoring.ComparisonResult
}

// StoredPatient is a patient as the store holds it.
type StoredPatient struct {
	ID          string
	Resource    json.RawMessage // FHIR Patient JSON with meta.versionId and meta.lastUpdated set
	VersionID   uint64
	LastUpdated time.Time
	// Outcome is set by Upsert and UpsertBatch (zero for reads).
	Outcome Outcome
}

// Outcome is what a write did.
type Outcome uint8

// Outcomes of Upsert.
const (
	Unchanged Outcome = iota // identical to the stored version; nothing written
	Created
	Updated
)
