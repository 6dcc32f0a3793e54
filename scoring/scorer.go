package scoring

import (
	"fmt"
	"math"

	"github.com/patientmatch/patientmatch/record"
)

// Scorer is a compiled model: weights in a fixed table, thresholds as match
// weights, so that scoring a prepared pair is a handful of comparisons and
// additions with no allocation. It is immutable and safe for concurrent use.
type Scorer struct {
	model   *Model
	weights [NumComparisons][MaxLevels]float64
	prior   float64 // log2(λ/(1−λ))
	// Grade boundaries as total match weights.
	certainW, probableW, possibleW float64
	tf                             [2]tfCompiled // given, family
	terms                          *TermFrequencies
}

type tfCompiled struct {
	enabled bool
	mExact  float64
	minU    float64
}

// Result is the score of one pair.
type Result struct {
	// Weight is the total match weight: log2 prior odds plus each level's
	// log2(m/u).
	Weight float64
	// Probability is the posterior match probability 1/(1+2^−Weight).
	Probability float64
	// Grade is the grade of Probability, lowered by any cap that applies.
	Grade Grade
	// Cap is the hazard rule that lowered the grade, CapNone if none did.
	Cap Cap
	// Levels is the level reached in each comparison.
	Levels [NumComparisons]uint8
}

// NewScorer validates and compiles m. The scorer uses m.TermFrequencies
// when present.
func NewScorer(m *Model) (*Scorer, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	s := &Scorer{model: m.Clone(), terms: m.TermFrequencies}
	for c, cm := range m.Comparisons {
		for l, lv := range cm.Levels {
			s.weights[c][l] = lv.Weight()
		}
		// The missing level stays 0: absent data is neutral.
		if cm.TF != nil && cm.TF.Enabled && (c == CompGivenName || c == CompFamilyName) {
			s.tf[c] = tfCompiled{enabled: true, mExact: cm.Levels[0].M, minU: cm.TF.MinU}
		}
	}
	s.prior = logit2(m.Prior)
	s.certainW = logit2(m.Thresholds.Certain)
	s.probableW = logit2(m.Thresholds.Probable)
	s.possibleW = logit2(m.Thresholds.Possible)
	return s, nil
}

// MustScorer is NewScorer for models known to be valid (DefaultModel);
// it panics on an invalid one.
func MustScorer(m *Model) *Scorer {
	s, err := NewScorer(m)
	if err != nil {
		panic(fmt.Sprintf("scoring: MustScorer: %v", err))
	}
	return s
}

// WithTermFrequencies returns a scorer like s that adjusts exact name
// agreement by t (nil turns the adjustment off). Records must be prepared
// with the returned scorer for the adjustment to apply.
func (s *Scorer) WithTermFrequencies(t *TermFrequencies) *Scorer {
	c := *s
	c.terms = t
	return &c
}

// Model returns a copy of the scorer's model.
func (s *Scorer) Model() *Model { return s.model.Clone() }

// Prepare is Prepare plus the term frequencies of the scorer.
func (s *Scorer) Prepare(r record.Record) *Prepared {
	p := &Prepared{}
	s.PrepareInto(p, r)
	return p
}

// PrepareInto is PrepareInto plus the term frequencies of the scorer, so that
// the hot path needs no map lookup.
func (s *Scorer) PrepareInto(p *Prepared, r record.Record) {
	PrepareInto(p, r)
	if s.terms != nil {
		p.GivenTF = s.terms.GivenFrequency(p.given)
		p.FamilyTF = s.terms.FamilyFrequency(p.family)
	}
}

// logit2 is log2(p/(1−p)).
func logit2(p float64) float64 { return math.Log2(p / (1 - p)) }

// levelWeight is the weight of comparison c at level l for the pair, with
// the term-frequency adjustment on exact name agreement.
func (s *Scorer) levelWeight(c int, l uint8, a, b *Prepared) (w float64, tfAdjusted bool) {
	if l == 0 && c < 2 && s.tf[c].enabled {
		fa, fb := a.GivenTF, b.GivenTF
		if c == CompFamilyName {
			fa, fb = a.FamilyTF, b.FamilyTF
		}
		if fa > 0 && fb > 0 {
			u := max(fa, fb, s.tf[c].minU)
			return math.Log2(s.tf[c].mExact / u), true
		}
	}
	return s.weights[c][l], false
}

// Score compares and scores a pair. It allocates nothing, and
// Score(a, b) == Score(b, a).
func (s *Scorer) Score(a, b *Prepared) Result {
	var cmp Comparison
	Compare(a, b, &cmp)
	return s.ScoreComparison(&cmp, a, b)
}

// ScoreComparison scores a pair already compared into cmp.
func (s *Scorer) ScoreComparison(cmp *Comparison, a, b *Prepared) Result {
	w := s.prior
	for c := 0; c < NumComparisons; c++ {
		lw, _ := s.levelWeight(c, cmp.Levels[c], a, b)
		w += lw
	}
	r := Result{Weight: w, Probability: probability(w), Levels: cmp.Levels}
	switch {
	case w >= s.certainW:
		r.Grade = GradeCertain
	case w >= s.probableW:
		r.Grade = GradeProbable
	case w >= s.possibleW:
		r.Grade = GradePossible
	}
	r.Grade, r.Cap = applyCaps(cmp, r.Grade)
	return r
}

// probability is the posterior 1/(1+2^−w).
func probability(w float64) float64 { return 1 / (1 + math.Exp2(-w)) }

// Explain returns, per comparison, the level reached and the weight it
// contributed.
func (s *Scorer) Explain(a, b *Prepared) []ComparisonResult {
	var cmp Comparison
	Compare(a, b, &cmp)
	out := make([]ComparisonResult, NumComparisons)
	for c := 0; c < NumComparisons; c++ {
		l := cmp.Levels[c]
		w, adj := s.levelWeight(c, l, a, b)
		out[c] = ComparisonResult{
			Comparison: specs[c].name,
			Level:      LevelLabel(c, int(l)),
			LevelIndex: int(l),
			Weight:     w,
			TFAdjusted: adj,
		}
	}
	return out
}

// ComparisonName returns the name of comparison c ("given_name", ...).
func ComparisonName(c int) string { return specs[c].name }

// LevelLabel returns the label of level l of comparison c ("missing" for
// the last level).
func LevelLabel(c, l int) string {
	if l >= len(specs[c].levels) {
		return "missing"
	}
	return specs[c].levels[l]
}

// NumLevels returns the number of levels of comparison c, missing included.
func NumLevels(c int) int { return len(specs[c].levels) + 1 }
