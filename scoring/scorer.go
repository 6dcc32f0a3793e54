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
	rel                            relCompiled
	// familySlip is the model's share of misspelt family names
	// (misspellingRate), for telling a recurring slip from a name
	// (nameTypos: given names get no such share).
	familySlip float64
	// givenSlip is the same share for given names, read only beside
	// middle names agreeing in full (nameTypos).
	givenSlip float64
}

// relCompiled is the relatives class of a model, compiled: the weight of
// a pair against relatives is its weight against strangers minus
// log2(m/r) of each level, which keeps the term-frequency adjustment of
// u (it divides both classes alike).
type relCompiled struct {
	on    bool
	prior float64 // log2(λr/λu)
	mr    [NumComparisons][MaxLevels]float64
	// both and notBoth correct the independence of given name and birth
	// date within the class (RelativesClass.PersonAgreement), when both
	// are present.
	both, notBoth float64
}

type tfCompiled struct {
	mExact float64
	minU   float64
	// meanF is the chance that two records of the counted population
	// agree on the name, Σ f² over its values (TermFrequencies.agreement):
	// how common the name an average agreeing pair shares is. levels
	// marks the levels (bit l) adjusted: exact and fuzzyTFLevels when
	// the model enables the adjustment, none otherwise (one test on the
	// hot path).
	meanF  float64
	levels uint16
	// floor is the least a fuzzy level's adjusted weight may fall to: the
	// weight of the looser jw>=0.80 level, which is not adjusted. Without
	// it a very common name's close spelling (Smith / Smyth, −4.5 bits on
	// a 20,000-record file, about ½·log2(records) at worst) would weigh
	// less than a looser one (Smith / Spith), even less than "else".
	floor float64
}

// looserLevel is, for each name comparison, the fuzzy level below those
// the term frequencies adjust: the floor of their adjusted weight
// (tfCompiled.floor).
var looserLevel = [2]uint8{CompGivenName: GivenJW80, CompFamilyName: FamilyJW80}

// fuzzyTFLevels are the levels of each name comparison (bit l) whose
// weight the commoner spelling's frequency lowers (Scorer.levelWeight):
// the family name's phonetic and jw>=0.92 levels, which say "the same
// name, written differently" and so agree by chance about as often as the
// name is common — "Hussain" beside "Hussein" is a namesake's far more
// often than "Quartermaine" beside "Quartermaike". Other levels say
// something else (swapped fields, one part of a compound, jw>=0.80's
// loose resemblance) and are not adjusted.
//
// The given name's nickname, phonetic and jw>=0.92 levels are not
// adjusted either, by measurement (bench/README "tfuzzy (session 6)"):
// adjusting them too took world's false probable pairs a little further
// down, but on the civil and names profiles, where the given name often
// stands without a family name beside the birth date, it took about 90
// true pairs out of probable for each false one (built-in model, civil
// 20000), and the $match queries answered probable fell by 1.3 points.
var fuzzyTFLevels = [2]uint16{
	0,
	1<<FamilyPhonetic | 1<<FamilyJW92,
}

// Result is the score of one pair.
type Result struct {
	// Weight is the total match weight: log2 prior odds plus each level's
	// log2(m/u).
	Weight float64
	// Probability is the posterior match probability 1/(1+2^−Weight).
	Probability float64
	// Grade is the grade of Probability, lowered by any cap that applies;
	// except that possible is the grade of the weight against strangers
	// alone (Weight − Relatives), so household members of the query stay
	// visible to a reviewer who searches.
	Grade Grade
	// Cap is the hazard rule that lowered the grade, CapNone if none did.
	Cap Cap
	// Relatives is the weight the relatives class took off (≤ 0; 0 for a
	// model without one): −log2(1 + odds of relatives against strangers).
	Relatives float64
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
		if levels := m.tfLevels(c); levels != 0 {
			s.tf[c] = tfCompiled{mExact: cm.Levels[0].M, minU: cm.TF.MinU, levels: levels,
				floor: s.weights[c][looserLevel[c]]}
		}
	}
	s.compileAgreement()
	s.prior = logit2(m.Prior)
	s.familySlip = misspellingRate(m, CompFamilyName)
	s.givenSlip = misspellingRate(m, CompGivenName)
	if r := m.Relatives; r != nil {
		s.compileRelatives(m)
	}
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

// WithTermFrequencies returns a scorer like s that adjusts name agreement
// by t — exact, and the fuzzy levels of fuzzyTFLevels (levelWeight) — (nil
// turns the adjustment off). Records must be prepared
// with the returned scorer for the adjustment to apply.
func (s *Scorer) WithTermFrequencies(t *TermFrequencies) *Scorer {
	c := *s
	c.terms = t
	c.compileAgreement()
	return &c
}

// compileAgreement sets each name comparison's meanF from the scorer's
// term frequencies (0 without them: no fuzzy adjustment).
func (s *Scorer) compileAgreement() {
	s.tf[CompGivenName].meanF = s.terms.agreement(CompGivenName)
	s.tf[CompFamilyName].meanF = s.terms.agreement(CompFamilyName)
}

// TermFrequencies returns the name counts the scorer adjusts by (nil for
// none), shared, not copied: read them, do not change them.
func (s *Scorer) TermFrequencies() *TermFrequencies { return s.terms }

// Model returns a copy of the scorer's model.
func (s *Scorer) Model() *Model { return s.model.Clone() }

// Prepare is PrepareWithoutTF plus the term frequencies of the scorer: the
// form every record this scorer scores must have.
func (s *Scorer) Prepare(r record.Record) *Prepared {
	p := &Prepared{}
	s.PrepareInto(p, r)
	return p
}

// PrepareInto is PrepareIntoWithoutTF plus the term frequencies of the
// scorer, so that the hot path needs no map lookup.
func (s *Scorer) PrepareInto(p *Prepared, r record.Record) {
	PrepareIntoWithoutTF(p, r)
	if s.terms != nil {
		p.GivenTF = s.terms.GivenFrequency(p.given)
		p.FamilyTF = s.terms.FamilyFrequency(p.family)
	}
}

// PrepareQuery is Prepare for a record that is not among the records the
// term frequencies were counted from — a $match query. Its name weights
// are Prepare's; for telling a slip from a name (typoOfEstablished) its
// own spellings count one more carrier, as they will once it is stored
// and as they do when two records of one file are compared. Otherwise a
// spelling that one stored record carries (a twin's rare name) reads as
// one nobody else carries.
func (s *Scorer) PrepareQuery(r record.Record) *Prepared {
	p := s.Prepare(r)
	if s.terms != nil {
		p.givenCarriers = s.terms.carriersWith(s.terms.Given, p.given)
		p.familyCarriers = s.terms.carriersWith(s.terms.Family, p.family)
	}
	return p
}

// logit2 is log2(p/(1−p)).
func logit2(p float64) float64 { return math.Log2(p / (1 - p)) }

// levelWeight is the weight of comparison c at level l for the pair, with
// the term-frequency adjustments of name agreement.
//
// Exact agreement weighs log2(m/u) with u the value's frequency (floored at
// MinU), as Splink does. A fuzzy level (fuzzyTFLevels) weighs its own
// log2(m/u) plus log2(meanF / f), f the commoner spelling's frequency, but
// only when that is negative, and never below the jw>=0.80 level's weight
// (tfCompiled.floor). The level's u is an average over pairs;
// chance agreement on a name of frequency f is f/meanF times the average
// (meanF = Σ f² is how common the name an average agreeing pair shares
// is), so a slip of a name commoner than that is a namesake's more often
// than u says, and weighs less. This is Splink's adjustment of fuzzy
// levels, with the population's own average in place of the exact level's
// u: the built-in model's u is general experience, and in a file of
// several records per person (each name carried by its person's own
// records) that u would read every name as common. A slip of a rare name
// is not lifted: the rare spelling may be the slip itself, and lifting it
// would carry twins and namesakes toward certain.
func (s *Scorer) levelWeight(c int, l uint8, a, b *Prepared) (w float64, tfAdjusted bool) {
	if c < 2 && s.tf[c].levels&(1<<l) != 0 {
		return s.nameWeight(c, l, a, b)
	}
	return s.weights[c][l], false
}

// nameWeight is levelWeight for a name level the term frequencies adjust
// (ScoreComparison calls it only for those).
func (s *Scorer) nameWeight(c int, l uint8, a, b *Prepared) (w float64, tfAdjusted bool) {
	fa, fb := a.GivenTF, b.GivenTF
	if c == CompFamilyName {
		fa, fb = a.FamilyTF, b.FamilyTF
	}
	if fa <= 0 || fb <= 0 {
		return s.weights[c][l], false
	}
	if l == 0 {
		u := max(fa, fb, s.tf[c].minU)
		return math.Log2(s.tf[c].mExact / u), true
	}
	if f := max(fa, fb); s.tf[c].meanF > 0 && f > s.tf[c].meanF {
		w := s.weights[c][l]
		return min(w, max(w+math.Log2(s.tf[c].meanF/f), s.tf[c].floor)), true
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
	wr := s.rel.prior
	for c := 0; c < NumComparisons; c++ {
		l := cmp.Levels[c]
		lw := s.weights[c][l]
		if c < 2 && s.tf[c].levels&(1<<l) != 0 { // levelWeight, without a call on the common path
			lw, _ = s.nameWeight(c, l, a, b)
		}
		w += lw
		wr += lw - s.rel.mr[c][l]
	}
	// possible is judged against strangers alone: a reviewer who searches
	// is shown the query's household members too (MATCHING-NOTES
	// "Decided"); probable and certain are judged against relatives as
	// well.
	strangers := w
	var rel float64
	if s.rel.on {
		rel = -log2OnePlusExp2(wr + s.rel.personCorrection(cmp))
		w += rel
	}
	r := Result{Weight: w, Probability: probability(w), Levels: cmp.Levels, Relatives: rel}
	switch {
	case w >= s.certainW:
		r.Grade = GradeCertain
	case w >= s.probableW:
		r.Grade = GradeProbable
	case strangers >= s.possibleW:
		r.Grade = GradePossible
	}
	r.Grade, r.Cap = applyCaps(cmp, r.Grade, s.nameTypos(cmp, a, b))
	return r
}

// compileRelatives compiles m's relatives class. The prior of the match
// class becomes log2(λm/λu) with λu = 1 − λm − λr.
func (s *Scorer) compileRelatives(m *Model) {
	r := m.Relatives
	lu := 1 - m.Prior - r.Prior
	s.prior = math.Log2(m.Prior / lu)
	s.rel.on = true
	s.rel.prior = math.Log2(r.Prior / lu)
	for c, cm := range m.Comparisons {
		for l, lv := range cm.Levels {
			s.rel.mr[c][l] = math.Log2(lv.M / lv.R)
		}
	}
	// Independent levels would give P(both agree) = pg·pb; the class says
	// PersonAgreement, and the rest of the mass goes to the other cells.
	var pg, pb float64
	for _, l := range []int{GivenExact, GivenNickname, GivenSwapped, GivenPhonetic, GivenJW92} {
		pg += m.Comparisons[CompGivenName].Levels[l].R
	}
	for _, l := range []int{BirthExact, BirthTransposed, BirthOneDigit} {
		pb += m.Comparisons[CompBirthDate].Levels[l].R
	}
	pa := r.PersonAgreement
	s.rel.both = math.Log2(pa / (pg * pb))
	s.rel.notBoth = math.Log2((1 - pa) / (1 - pg*pb))
}

// personCorrection is the relatives class's given-name × birth-date
// dependence for the pair's levels.
func (rc *relCompiled) personCorrection(cmp *Comparison) float64 {
	g, b := cmp.Levels[CompGivenName], cmp.Levels[CompBirthDate]
	if g == GivenMissing || b == BirthMissing {
		return 0
	}
	if g <= GivenJW92 && b <= BirthOneDigit {
		return rc.both
	}
	return rc.notBoth
}

// log2OnePlusExp2 is log2(1 + 2^x) without overflow.
func log2OnePlusExp2(x float64) float64 {
	if x > 0 {
		return x + math.Log2(1+math.Exp2(-x))
	}
	return math.Log2(1 + math.Exp2(x))
}

// probability is the posterior 1/(1+2^−w).
func probability(w float64) float64 { return 1 / (1 + math.Exp2(-w)) }

// Explain returns, per comparison, the level reached and the weight it
// contributed. With a relatives class, the prior, these weights and
// Result.Relatives add up to the pair's Weight; the cap is Result.Cap.
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
