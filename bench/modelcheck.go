package bench

import (
	"fmt"

	"github.com/patientmatch/patientmatch/scoring"
)

// weakAgreement are the level labels that agree only loosely: a trained
// model may rightly give them a weight near zero or below it (a birth year
// one apart is about as common among strangers as among records of one
// person), so a negative weight there is not flagged.
var weakAgreement = map[string]bool{
	"jw>=0.80": true, "year_within_one": true, "year_month": true, "city_or_postal3": true,
}

// disagreement are the level labels that say the values differ.
var disagreement = map[string]bool{"else": true, "disagree": true}

// aboveExactMargin is how far (in bits) a level may weigh more than exact
// agreement before it is flagged: EM's estimates of rare levels are noisy,
// and a fraction of a bit changes no decision.
const aboveExactMargin = 1.0

// ModelWarnings flags learned weights that cannot be right, so that a model
// trained on odd data is not used blindly: an agreement level (exact,
// nickname, phonetic, transposed date, shared address…) with a negative
// weight, a disagreement level with a positive one, and a level weighing
// more than a bit above exact agreement of its comparison. Weak agreement levels
// (weakAgreement) may be negative.
func ModelWarnings(m *scoring.Model) []string {
	var out []string
	for _, c := range m.Comparisons {
		if len(c.Levels) == 0 {
			continue
		}
		top := c.Levels[0]
		for i, l := range c.Levels {
			w := l.Weight()
			switch {
			case disagreement[l.Label] && w > 0:
				out = append(out, fmt.Sprintf("%s %s has weight %+.2f (m %.3g, u %.3g): disagreeing makes a match more likely", c.Name, l.Label, w, l.M, l.U))
			case !disagreement[l.Label] && !weakAgreement[l.Label] && w < 0:
				out = append(out, fmt.Sprintf("%s %s has weight %+.2f (m %.3g, u %.3g): agreeing makes a match less likely", c.Name, l.Label, w, l.M, l.U))
			case i > 0 && !disagreement[l.Label] && w > top.Weight()+aboveExactMargin:
				out = append(out, fmt.Sprintf("%s %s has weight %+.2f, above %s %s (%+.2f): a weaker agreement counts for more", c.Name, l.Label, w, c.Name, top.Label, top.Weight()))
			}
		}
	}
	return out
}
