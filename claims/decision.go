package claims

import (
	"slices"

	"github.com/patientmatch/patientmatch/matcher"
	"github.com/patientmatch/patientmatch/scoring"
)

// Decision is the answer to "which patient is this user?".
type Decision string

// Decisions.
const (
	// DecisionMatch: one certain candidate, clearly ahead of the next.
	DecisionMatch Decision = "match"
	// DecisionAmbiguous: more than one candidate could be meant (two or
	// more probable-or-better, or a certain one without a clear lead).
	DecisionAmbiguous Decision = "ambiguous"
	// DecisionNoMatch: no candidate is strong enough.
	DecisionNoMatch Decision = "no_match"
	// DecisionLinked: answered from a stored (iss, sub) link, without
	// matching.
	DecisionLinked Decision = "linked"
)

// DefaultMargin is the default lead, in match weight (log2 likelihood
// ratio), the best candidate needs over the second: 10 bits, a likelihood
// ratio of about 1000.
const DefaultMargin = 10.0

// decide applies the decision rule to matches (any order):
//
//   - two or more candidates probable or better → ambiguous (two certain
//     twins never yield match);
//   - else the best is certain and leads the second (if any) by at least
//     margin bits of match weight → match;
//   - else the best is certain without that lead → ambiguous;
//   - else → no_match (a lone probable candidate is listed, not chosen).
//
// A NaN weight never passes the margin test, so bad numbers fail safe.
func decide(ms []matcher.Match, margin float64) Decision {
	if len(ms) == 0 {
		return DecisionNoMatch
	}
	strong := 0
	for _, m := range ms {
		if m.Grade >= scoring.GradeProbable {
			strong++
		}
	}
	if strong >= 2 {
		return DecisionAmbiguous
	}
	ranked := slices.Clone(ms)
	matcher.Rank(ranked)
	best := ranked[0]
	if best.Grade != scoring.GradeCertain {
		return DecisionNoMatch
	}
	if len(ranked) > 1 && !(best.Weight-ranked[1].Weight >= margin) {
		return DecisionAmbiguous
	}
	return DecisionMatch
}
