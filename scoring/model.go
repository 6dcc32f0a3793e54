package scoring

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
)

// ModelVersion is the version of the model JSON this package reads and writes.
const ModelVersion = 1

// ErrInvalidModel is wrapped by every model validation and loading error.
var ErrInvalidModel = errors.New("scoring: invalid model")

// Model is a Fellegi–Sunter model over the coded comparisons: for each
// comparison, the probability m of each level among true matches and u
// among non-matches; the prior λ that a random pair of records is a match;
// and the probability thresholds of the grades. Its JSON form is the
// model.json the engine and the train command use.
type Model struct {
	Version int `json:"version"`
	// Description says where the numbers come from.
	Description string `json:"description,omitempty"`
	// Prior is λ, the probability that two records drawn at random are the
	// same person; the match weight starts at log2(λ/(1−λ)).
	Prior float64 `json:"prior"`
	// Thresholds are the posterior probabilities at which each grade starts.
	Thresholds Thresholds `json:"thresholds"`
	// Comparisons, in the order of the Comp* constants.
	Comparisons []ComparisonModel `json:"comparisons"`
	// TermFrequencies, when present, turn on the term-frequency adjustment
	// for comparisons whose TF settings enable it. The engine may instead
	// build them from its store (Scorer.WithTermFrequencies).
	TermFrequencies *TermFrequencies `json:"term_frequencies,omitempty"`
	// Relatives, when present, adds the third class of the model: pairs of
	// different people of one household (spouses, siblings, twins, parent
	// and child), with each level's probability among them in Level.R.
	// Grades then come from P(same person | levels) against both other
	// classes, so household agreement that relatives share stops counting
	// for a match (see RelativesClass). A model without it (model files of
	// earlier versions) is the two-class Fellegi–Sunter model.
	Relatives *RelativesClass `json:"relatives,omitempty"`
	// Training records how the model was estimated; nil for DefaultModel.
	Training *TrainingInfo `json:"training,omitempty"`
}

// Thresholds are grade boundaries on the posterior match probability. The
// grade caps (see Cap) can only lower a grade these give.
type Thresholds struct {
	Certain  float64 `json:"certain"`
	Probable float64 `json:"probable"`
	Possible float64 `json:"possible"`
}

// ComparisonModel holds one comparison's levels. The implicit last level,
// "missing", has no m or u and weight 0.
type ComparisonModel struct {
	Name   string      `json:"name"`
	TF     *TFSettings `json:"tf,omitempty"`
	Levels []Level     `json:"levels"`
}

// Level is one agreement level of a comparison.
type Level struct {
	Label string  `json:"label"`
	M     float64 `json:"m"`
	U     float64 `json:"u"`
	// R is the level's probability among pairs of relatives (same
	// household, different person); 0 in a model without Relatives.
	R float64 `json:"r,omitempty"`
}

// RelativesClass is the prior and the one dependence of the relatives
// class. Fellegi–Sunter has two classes, and on household-rich data the
// pairs of one household — agreeing on family name, address, phone and
// email — outnumber true duplicates among candidate pairs: a two-class
// model either learns households or must be corrected by hand rules. The
// third class takes them: relatives agree on the household and usually
// on the family name, and differ in given name, birth date or sex
// (MATCHING-NOTES "Households break the independence assumption").
//
// Within the class the levels are independent but for one dependence that
// makes the class: a relative with the same given name has another birth
// date (a junior), one with the same birth date another given name (a
// twin). PersonAgreement is the probability that a pair of relatives
// agrees on both (given name at jw>=0.92 or better, birth date exact,
// transposed or one digit off): a clerk's error, not a family. Where both
// agree the class is negligible and the pair is scored as by the
// two-class model; it acts on the pairs whose person fields differ and
// whose household and family name agree.
//
// So the class cannot tell twins with alike names (Christopher, Christian;
// Jerry, Jeremy) from one person's slip, and must not be read as lifting
// the hazard caps: twins are given alike names about as often as two
// strangers are (the given name's u from nickname to jw>=0.92, about 1%),
// which on generated registries and households is one twin pair in about
// 500 pairs of that shape against the 1 in 100,000 `certain` asks; a
// class that lifted the caps certified such twins at every
// PersonAgreement that lifted anything (bench/README "relclass (session
// 6)", TestRelativesStayBelowCertain).
type RelativesClass struct {
	// Prior is the probability that two records drawn at random are
	// different people of one household.
	Prior float64 `json:"prior"`
	// PersonAgreement is P(given name and birth date both agree |
	// relatives).
	PersonAgreement float64 `json:"person_agreement"`
}

// Weight is log2(m/u), the level's contribution to the match weight.
func (l Level) Weight() float64 { return math.Log2(l.M / l.U) }

// TFSettings configure the term-frequency adjustment of a name comparison:
// on the exact level u becomes max(frequency of the value, MinU); on the
// family name's phonetic and jw>=0.92 levels a common name's weight is
// lowered (Scorer.levelWeight; Model.TFAdjusts says which levels).
type TFSettings struct {
	Enabled bool `json:"enabled"`
	// MinU floors the adjusted u so that agreeing on a value seen once does
	// not outweigh everything else (default 1e-4).
	MinU float64 `json:"min_u"`
}

// TrainingInfo summarises the estimation of a trained model.
type TrainingInfo struct {
	Records int         `json:"records"`
	UPairs  int         `json:"u_pairs"`
	Passes  []PassStats `json:"passes"`
	// Warnings say the model may be wrong (EM learned households, a pass
	// did not converge); Notes say what training adjusted.
	Warnings []string `json:"warnings,omitempty"`
	Notes    []string `json:"notes,omitempty"`
}

// PassStats describes one EM training pass.
type PassStats struct {
	Name       string   `json:"name"`
	Pairs      int      `json:"pairs"`
	Excluded   []string `json:"excluded,omitempty"`
	Iterations int      `json:"iterations"`
	Converged  bool     `json:"converged"`
	// Lambda is the share of matches EM found among the pass's pairs.
	Lambda float64 `json:"lambda"`
	// Matches is the expected number of matching pairs among them.
	Matches float64 `json:"matches"`
}

// DefaultModel returns the built-in model, usable without training. Its m
// and u are round figures from general record-linkage experience with
// person registries (name, date-of-birth and address error rates reported
// in the linkage literature, first-name and surname frequency in English-
// speaking populations, one birthday in ~25,000 across ages); they are not
// estimated from, or tuned to, any dataset shipped with patientmatch.
// Training (Train) replaces them with estimates from the data.
//
// The relatives class (r, RelativesClass): a person has about three times
// as many relatives in a registry (spouse, children, siblings, parents) as
// extra records, hence its prior; relatives share the family name three
// times in four and the household nine times in ten, a twin the birth date
// (4%), a junior the given name (2%); and practically never both
// (PersonAgreement, one in a billion: a clerk's error) or an identifier.
// That PersonAgreement leaves twins given alike names by chance out, so
// the caps, not the class, hold them (RelativesClass).
//
// Identifier one_off is reached only by hand-keyed numbers (SSN, national
// id, driver's licence, passport) one character off, a typo; an MRN one
// off is the next registration of its system and no evidence
// (compareIdentifiers).
func DefaultModel() *Model {
	return &Model{
		Version:     ModelVersion,
		Description: "built-in default: m and u from general record-linkage experience, not trained",
		Prior:       1e-4,
		Thresholds:  DefaultThresholds(),
		Comparisons: []ComparisonModel{
			{Name: "given_name", TF: &TFSettings{Enabled: true, MinU: 1e-4}, Levels: []Level{
				{"exact", 0.85, 0.01, 0.02},
				{"nickname", 0.03, 0.002, 0.001},
				{"swapped", 0.005, 0.0001, 0.0005},
				{"phonetic", 0.03, 0.005, 0.01},
				{"jw>=0.92", 0.04, 0.004, 0.01},
				{"jw>=0.80", 0.02, 0.03, 0.05},
				{"else", 0.025, 0.9489, 0.9085},
			}},
			{Name: "family_name", TF: &TFSettings{Enabled: true, MinU: 1e-4}, Levels: []Level{
				{"exact", 0.85, 0.003, 0.75},
				{"swapped", 0.005, 0.0001, 0.002},
				{"compound_part", 0.02, 0.0005, 0.05},
				{"phonetic", 0.03, 0.002, 0.005},
				{"jw>=0.92", 0.04, 0.003, 0.005},
				{"jw>=0.80", 0.02, 0.02, 0.01},
				{"crossed", 0.005, 0.0003, 0.002},
				{"else", 0.03, 0.9711, 0.176},
			}},
			{Name: "birth_date", Levels: []Level{
				{"exact", 0.88, 0.00004, 0.04},
				{"transposed", 0.01, 0.00002, 0.0005},
				{"one_digit", 0.05, 0.0008, 0.01},
				{"year_month", 0.01, 0.0012, 0.005},
				{"year_within_one", 0.02, 0.04, 0.08},
				{"else", 0.03, 0.95794, 0.8645},
			}},
			{Name: "sex", Levels: []Level{
				{"agree", 0.98, 0.5, 0.5},
				{"disagree", 0.02, 0.5, 0.5},
			}},
			{Name: "household", Levels: []Level{
				{"address+contact", 0.35, 0.000005, 0.45},
				{"address", 0.30, 0.00002, 0.30},
				{"contact", 0.08, 0.00001, 0.10},
				{"postal_code", 0.07, 0.002, 0.03},
				{"city_or_postal3", 0.05, 0.02, 0.02},
				{"disagree", 0.15, 0.977965, 0.10},
			}},
			{Name: "identifier", Levels: []Level{
				{"exact", 0.90, 0.000001, 0.000001},
				{"one_off", 0.05, 0.00001, 0.002},
				{"disagree", 0.05, 0.999989, 0.997999},
			}},
		},
	}
}

// DefaultRelatives is the relatives class that goes with DefaultModel's r
// (Level.R). DefaultModel leaves it off for now (its grades are the
// two-class ones); a model with it set grades from P(same person) against
// strangers and relatives both.
func DefaultRelatives() *RelativesClass {
	return &RelativesClass{Prior: 3e-4, PersonAgreement: 1e-9}
}

// DefaultThresholds are the grade boundaries of DefaultModel. certain starts
// at a posterior of 0.99999 — and the grade caps also require identifier or
// address/contact corroboration and no hazard pattern — so that certain is
// what a reviewer would accept without looking; probable at 0.95; possible
// at 0.5 (more likely than not).
func DefaultThresholds() Thresholds {
	return Thresholds{Certain: 0.99999, Probable: 0.95, Possible: 0.5}
}

// Clone returns a deep copy of m (term frequencies are shared: they are
// read-only once built).
func (m *Model) Clone() *Model {
	c := *m
	c.Comparisons = make([]ComparisonModel, len(m.Comparisons))
	for i, cm := range m.Comparisons {
		c.Comparisons[i] = cm
		c.Comparisons[i].Levels = append([]Level(nil), cm.Levels...)
		if cm.TF != nil {
			tf := *cm.TF
			c.Comparisons[i].TF = &tf
		}
	}
	if m.Relatives != nil {
		r := *m.Relatives
		c.Relatives = &r
	}
	if m.Training != nil {
		t := *m.Training
		t.Passes = append([]PassStats(nil), t.Passes...)
		t.Warnings = append([]string(nil), t.Warnings...)
		t.Notes = append([]string(nil), t.Notes...)
		c.Training = &t
	}
	return &c
}

// Validate reports every problem of the model at once, each wrapping
// ErrInvalidModel.
func (m *Model) Validate() error {
	var p problems
	if m.Version != ModelVersion {
		p.add("version %d, want %d", m.Version, ModelVersion)
	}
	if !(m.Prior > 0 && m.Prior < 1) {
		p.add("prior %v not in (0,1)", m.Prior)
	}
	p.thresholds(m.Thresholds)
	if len(m.Comparisons) != NumComparisons {
		p.add("%d comparisons, want %d", len(m.Comparisons), NumComparisons)
	}
	for i := 0; i < len(m.Comparisons) && i < NumComparisons; i++ {
		p.comparison(i, m.Comparisons[i])
	}
	if m.Relatives != nil {
		p.relatives(m)
	}
	if tf := m.TermFrequencies; tf != nil && tf.Records < 0 {
		p.add("term_frequencies: negative record count")
	}
	return errors.Join(p...)
}

// problems collects what Validate finds, so that a user fixing a model by
// hand sees every problem in one go rather than one per attempt.
type problems []error

// add records one problem, wrapping ErrInvalidModel.
func (p *problems) add(format string, args ...any) {
	*p = append(*p, fmt.Errorf("%w: "+format, append([]any{ErrInvalidModel}, args...)...))
}

// thresholds checks that each threshold is a probability and that they
// are ordered, as the grades they separate are.
func (p *problems) thresholds(t Thresholds) {
	for _, x := range []float64{t.Certain, t.Probable, t.Possible} {
		if !(x > 0 && x < 1) {
			p.add("threshold %v not in (0,1)", x)
		}
	}
	if !(t.Possible <= t.Probable && t.Probable <= t.Certain) {
		p.add("thresholds must satisfy possible <= probable <= certain")
	}
}

// comparison checks comparison i against what this version of the code
// compares: its name and levels must be the built-in ones, since the
// comparators produce level indices, not labels; a model from another
// version must be retrained, not reinterpreted. m and u must be
// distributions over the levels.
func (p *problems) comparison(i int, c ComparisonModel) {
	spec := specs[i]
	if c.Name != spec.name {
		p.add("comparison %d is %q, want %q", i, c.Name, spec.name)
		return
	}
	if len(c.Levels) != len(spec.levels) {
		p.add("%s: %d levels, this version compares with %d (%s): retrain the model with patientmatch train",
			c.Name, len(c.Levels), len(spec.levels), strings.Join(spec.levels, ", "))
		return
	}
	var sm, su float64
	for j, l := range c.Levels {
		if l.Label != spec.levels[j] {
			p.add("%s level %d is %q, want %q", c.Name, j, l.Label, spec.levels[j])
		}
		if !(l.M > 0 && l.M <= 1) || !(l.U > 0 && l.U <= 1) {
			p.add("%s %s: m=%v u=%v, both must be in (0,1]", c.Name, l.Label, l.M, l.U)
		}
		sm += l.M
		su += l.U
	}
	if math.Abs(sm-1) > 1e-3 || math.Abs(su-1) > 1e-3 {
		p.add("%s: m sums to %v and u to %v, want 1", c.Name, sm, su)
	}
	if c.TF != nil {
		if i != CompGivenName && i != CompFamilyName {
			p.add("%s: term-frequency adjustment applies only to names", c.Name)
		}
		if !(c.TF.MinU > 0 && c.TF.MinU < 1) {
			p.add("%s: tf min_u %v not in (0,1)", c.Name, c.TF.MinU)
		}
	}
}

// relatives checks the relatives class of m: the three classes' priors
// must leave room for strangers, and every level needs an r, a
// distribution like m and u, since a model with relatives scores with it.
func (p *problems) relatives(m *Model) {
	r := m.Relatives
	if !(r.Prior > 0 && r.Prior+m.Prior < 1) {
		p.add("relatives prior %v not in (0, 1-prior)", r.Prior)
	}
	if !(r.PersonAgreement > 0 && r.PersonAgreement < 1) {
		p.add("relatives person_agreement %v not in (0,1)", r.PersonAgreement)
	}
	for _, c := range m.Comparisons {
		var sr float64
		for _, l := range c.Levels {
			if !(l.R > 0 && l.R <= 1) {
				p.add("%s %s: r=%v must be in (0,1] in a model with relatives", c.Name, l.Label, l.R)
			}
			sr += l.R
		}
		if math.Abs(sr-1) > 1e-3 {
			p.add("%s: r sums to %v, want 1", c.Name, sr)
		}
	}
}

// LoadModel reads and validates a model JSON.
func LoadModel(r io.Reader) (*Model, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var m Model
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidModel, err)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// WriteJSON writes the model as indented JSON. Writing a loaded model gives
// back the same bytes.
func (m *Model) WriteJSON(w io.Writer) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("scoring: encode model: %w", err)
	}
	b = append(b, '\n')
	_, err = w.Write(b)
	return err
}

// Table prints the levels with their m, u and weight, one comparison after
// another, for people (patientmatch train).
func (m *Model) Table(w io.Writer) error {
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 2, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "comparison\tlevel\tm\tu\tweight\t\n")
	for ci, c := range m.Comparisons {
		for li, l := range c.Levels {
			tfNote := ""
			if m.TFAdjusts(ci, li) {
				tfNote = " (tf)"
			}
			fmt.Fprintf(tw, "%s\t%s%s\t%.6f\t%.6g\t%+.2f\t\n", c.Name, l.Label, tfNote, l.M, l.U, l.Weight())
		}
		fmt.Fprintf(tw, "%s\tmissing\t-\t-\t%+.2f\t\n", c.Name, 0.0)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(&buf, "prior λ = %.4g (weight %+.2f); thresholds: certain ≥ %g, probable ≥ %g, possible ≥ %g\n",
		m.Prior, math.Log2(m.Prior/(1-m.Prior)), m.Thresholds.Certain, m.Thresholds.Probable, m.Thresholds.Possible)
	if t := m.Training; t != nil {
		fmt.Fprintf(&buf, "trained on %d records, u from %d random pairs\n", t.Records, t.UPairs)
		for _, p := range t.Passes {
			fmt.Fprintf(&buf, "  pass %-20s pairs=%d iterations=%d converged=%v λ_pass=%.4g matches≈%.0f excluded=%v\n",
				p.Name, p.Pairs, p.Iterations, p.Converged, p.Lambda, p.Matches, p.Excluded)
		}
		for _, n := range t.Notes {
			fmt.Fprintf(&buf, "note: %s\n", n)
		}
		for _, wmsg := range t.Warnings {
			fmt.Fprintf(&buf, "WARNING: %s\n", wmsg)
		}
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// TFAdjusts reports whether term frequencies adjust level l of comparison
// c: the exact level of a name comparison with TF enabled, and the fuzzy
// levels the scorer adjusts too (fuzzyTFLevels).
func (m *Model) TFAdjusts(c, l int) bool {
	return l >= 0 && l < 16 && m.tfLevels(c)&(1<<l) != 0
}

// tfLevels is the mask (bit l) of comparison c's levels the term
// frequencies adjust: exact and fuzzyTFLevels for a name comparison with
// TF enabled, none otherwise.
func (m *Model) tfLevels(c int) uint16 {
	if c < 0 || c >= len(m.Comparisons) || c >= len(fuzzyTFLevels) {
		return 0
	}
	if tf := m.Comparisons[c].TF; tf == nil || !tf.Enabled {
		return 0
	}
	return 1<<0 | fuzzyTFLevels[c]
}
