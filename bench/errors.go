package bench

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/patientmatch/patientmatch/record"
	"github.com/patientmatch/patientmatch/scoring"
)

// The false positives and false negatives at each grade, with both records
// and the explanation of their score: what a reader needs to see *why*
// pairs are missed or wrongly joined. The HTML report and --json show the
// same lists.

// MaxErrorPairs is how many pairs each error list keeps.
const MaxErrorPairs = 100

// Error list kinds.
const (
	KindFalsePositive = "false_positive"
	KindFalseNegative = "false_negative"
)

// GradeNotCompared is the Grade of the list of true pairs that blocking
// never proposed: they were not scored by the pipeline.
const GradeNotCompared = "not_compared"

// ErrorList is one list of mistakes. False positives at a grade are the
// pairs of different people given exactly that grade: what deciding at that
// grade wrongly joins. False negatives at a grade are the true pairs given
// exactly that grade (or "none", or not compared at all): what deciding at
// any higher grade misses.
type ErrorList struct {
	Kind  string `json:"kind"`
	Grade string `json:"grade"`
	// Total counts every such pair; Pairs holds the first MaxErrorPairs:
	// false positives by falling match weight (the most convincing first),
	// false negatives by rising match weight (the worst missed first),
	// ties by record ids.
	Total int64       `json:"total"`
	Pairs []ErrorPair `json:"pairs"`
}

// ErrorPair is one listed pair: both records as normalized, its score, and
// each comparison's level and weight.
type ErrorPair struct {
	Left        ErrorRecord `json:"left"`
	Right       ErrorRecord `json:"right"`
	MatchWeight float64     `json:"match_weight"`
	Probability float64     `json:"probability"`
	Grade       string      `json:"grade"`
	Cap         string      `json:"cap,omitempty"`
	// LinkedBy is the id of the record through which the job graded the
	// pair certain (batch.Promote); Grade is then certain, the job's
	// decision, while the score and cap stay the pair's own.
	LinkedBy    string            `json:"linked_by,omitempty"`
	Comparisons []ComparisonLevel `json:"comparisons"`
}

// ComparisonLevel is one comparison's outcome for a pair.
type ComparisonLevel struct {
	Comparison string  `json:"comparison"`
	Level      string  `json:"level"`
	Weight     float64 `json:"weight"`
	TFAdjusted bool    `json:"tf_adjusted,omitempty"`
}

// ErrorRecord is a record as the scorer saw it (normalized), flattened for
// a side-by-side view.
type ErrorRecord struct {
	ID          string `json:"id"`
	Family      string `json:"family,omitempty"`
	Given       string `json:"given,omitempty"`
	Middle      string `json:"middle,omitempty"`
	Suffix      string `json:"suffix,omitempty"`
	BirthDate   string `json:"birth_date,omitempty"`
	Sex         string `json:"sex,omitempty"`
	Address     string `json:"address,omitempty"`
	Phone       string `json:"phone,omitempty"`
	Email       string `json:"email,omitempty"`
	Identifiers string `json:"identifiers,omitempty"`
}

// errorRecord flattens r.
func errorRecord(r *record.Record) ErrorRecord {
	a := r.Address
	street := strings.Join(nonEmpty(a.Number, a.Street, a.StreetType, a.Unit), " ")
	addr := strings.Join(nonEmpty(street, a.City, a.State, a.PostalCode), ", ")
	ids := make([]string, 0, len(r.Identifiers))
	for _, id := range r.Identifiers {
		ids = append(ids, id.Type.String()+":"+id.Value)
	}
	sex := ""
	if r.Sex != record.SexUnknown {
		sex = r.Sex.String()
	}
	return ErrorRecord{
		ID: r.ID, Family: r.Family, Given: r.Given, Middle: r.Middle, Suffix: r.Suffix,
		BirthDate: r.BirthDate.Text, Sex: sex, Address: addr, Phone: r.Phone, Email: r.Email,
		Identifiers: strings.Join(ids, " "),
	}
}

func nonEmpty(s ...string) []string {
	return slices.DeleteFunc(s, func(v string) bool { return v == "" })
}

// errorSides are the records of an evaluation: Right is nil for
// deduplication.
type errorSides struct {
	left, right []*scoring.Prepared
	labels      Labels
}

func (e errorSides) pair(p Pair) (a, b *scoring.Prepared) {
	if e.right != nil {
		return e.left[p.Left], e.right[p.Right]
	}
	return e.left[p.Left], e.left[p.Right]
}

// errorKey identifies a list: kind and grade.
type errorKey struct {
	kind  string
	grade scoring.Grade
}

// collectErrors builds the error lists from every scored candidate pair:
// false positives at certain, probable and possible; false negatives at
// probable, possible and none; and the true pairs blocking never proposed,
// scored here with s so their explanation shows what was missed.
func collectErrors(sides errorSides, pairs []Pair, s *scoring.Scorer) []ErrorList {
	idx := map[errorKey][]int32{}
	trueCand := map[[2]int32]bool{}
	for i, p := range pairs {
		same := sides.labels.same(p)
		g := min(p.Grade, scoring.GradeCertain)
		switch {
		case same:
			trueCand[[2]int32{p.Left, p.Right}] = true
			if g != scoring.GradeCertain {
				k := errorKey{KindFalseNegative, g}
				idx[k] = append(idx[k], int32(i))
			}
		case g != scoring.GradeNone:
			k := errorKey{KindFalsePositive, g}
			idx[k] = append(idx[k], int32(i))
		}
	}
	var out []ErrorList
	for _, g := range []scoring.Grade{scoring.GradeCertain, scoring.GradeProbable, scoring.GradePossible} {
		out = append(out, errorList(sides, pairs, idx[errorKey{KindFalsePositive, g}], KindFalsePositive, g.String(), s))
	}
	for _, g := range []scoring.Grade{scoring.GradeProbable, scoring.GradePossible, scoring.GradeNone} {
		out = append(out, errorList(sides, pairs, idx[errorKey{KindFalseNegative, g}], KindFalseNegative, g.String(), s))
	}
	return append(out, notCompared(sides, trueCand, s))
}

// errorList sorts one list's pairs and explains the first MaxErrorPairs.
func errorList(sides errorSides, pairs []Pair, idx []int32, kind, grade string, s *scoring.Scorer) ErrorList {
	l := ErrorList{Kind: kind, Grade: grade, Total: int64(len(idx)), Pairs: []ErrorPair{}}
	id := func(i int32) (string, string) {
		a, b := sides.pair(pairs[i])
		return a.Rec.ID, b.Rec.ID
	}
	slices.SortFunc(idx, func(x, y int32) int {
		wx, wy := pairs[x].Weight, pairs[y].Weight
		c := cmp.Compare(wx, wy)
		if kind == KindFalsePositive {
			c = -c
		}
		if c != 0 {
			return c
		}
		ax, bx := id(x)
		ay, by := id(y)
		return cmp.Or(cmp.Compare(ax, ay), cmp.Compare(bx, by))
	})
	for _, i := range idx[:min(len(idx), MaxErrorPairs)] {
		a, b := sides.pair(pairs[i])
		ep := explainedPair(a, b, s)
		if p := pairs[i]; p.Promoted {
			ep.Grade, ep.LinkedBy = p.Grade.String(), sides.left[p.LinkedBy].Rec.ID
		}
		l.Pairs = append(l.Pairs, ep)
	}
	return l
}

// notCompared lists the true pairs that are not among the candidates, in
// entity and record order; Total counts them all.
func notCompared(sides errorSides, trueCand map[[2]int32]bool, s *scoring.Scorer) ErrorList {
	l := ErrorList{Kind: KindFalseNegative, Grade: GradeNotCompared, Pairs: []ErrorPair{}}
	group := func(labels []int32) map[int32][]int32 {
		m := map[int32][]int32{}
		for i, e := range labels {
			m[e] = append(m[e], int32(i))
		}
		return m
	}
	left := group(sides.labels.Left)
	right := left
	if sides.right != nil {
		right = group(sides.labels.Right)
	}
	ents := make([]int32, 0, len(left))
	for e := range left {
		ents = append(ents, e)
	}
	slices.Sort(ents)
	for _, e := range ents {
		for _, i := range left[e] {
			for _, j := range right[e] {
				if (sides.right == nil && j <= i) || trueCand[[2]int32{i, j}] {
					continue
				}
				l.Total++
				if len(l.Pairs) < MaxErrorPairs {
					a, b := sides.pair(Pair{Left: i, Right: j})
					l.Pairs = append(l.Pairs, explainedPair(a, b, s))
				}
			}
		}
	}
	return l
}

// explainedPair scores a pair with s and explains it.
func explainedPair(a, b *scoring.Prepared, s *scoring.Scorer) ErrorPair {
	r := s.Score(a, b)
	ep := ErrorPair{
		Left: errorRecord(&a.Rec), Right: errorRecord(&b.Rec),
		MatchWeight: round4(r.Weight), Probability: r.Probability, Grade: r.Grade.String(),
	}
	if r.Cap != scoring.CapNone {
		ep.Cap = r.Cap.String()
	}
	for _, e := range s.Explain(a, b) {
		ep.Comparisons = append(ep.Comparisons, ComparisonLevel{Comparison: e.Comparison, Level: e.Level, Weight: round4(e.Weight), TFAdjusted: e.TFAdjusted})
	}
	return ep
}

// round4 keeps four decimals, so the JSON and the HTML show one number.
func round4(w float64) float64 { return math.Round(w*1e4) / 1e4 }

// addErrors fills in the error lists and the model warnings.
func (a *Accuracy) addErrors(in AccuracyInput, labels Labels, pairs []Pair) error {
	s := in.Scorer
	if bs, ok := in.Source.(*BatchSource); ok && s == nil {
		s = bs.Scorer
	}
	if s == nil {
		var err error
		if s, err = scoring.NewScorer(in.Model); err != nil {
			return fmt.Errorf("bench: explaining errors: %w", err)
		}
	}
	a.Errors = collectErrors(errorSides{left: in.Left, right: in.Right, labels: labels}, pairs, s)
	a.ModelWarnings = ModelWarnings(in.Model)
	if a.ModelWarnings == nil {
		a.ModelWarnings = []string{}
	}
	return nil
}

// ErrorList returns the list of kind at grade, and whether there is one.
func (a *Accuracy) ErrorList(kind, grade string) (ErrorList, bool) {
	for _, l := range a.Errors {
		if l.Kind == kind && l.Grade == grade {
			return l, true
		}
	}
	return ErrorList{}, false
}
