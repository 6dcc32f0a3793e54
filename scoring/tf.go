package scoring

import (
	"math"
	"strings"
	"unicode/utf8"

	"github.com/patientmatch/patientmatch/record"
)

// TermFrequencies counts given and family names among a set of records, for
// the term-frequency adjustment of exact name agreement (as Splink does):
// two records agreeing on "smith" are weaker evidence than two agreeing on a
// rare name, because a random pair agrees on a value with probability about
// its frequency, not the average u of the exact level. The same counts
// lower a common family name's phonetic and jw>=0.92 levels
// (Scorer.levelWeight, agreement).
//
// The engine builds it from its store (Add each prepared record) or the
// model JSON carries it. It is not safe for concurrent mutation; build it,
// then share it read-only.
type TermFrequencies struct {
	// Records is the number of records counted.
	Records int `json:"records"`
	// Given and Family count each comparison-ready (placeholder-free) value.
	// Values counted once may be dropped (see Compact): an unseen value is
	// treated as seen once.
	Given  map[string]uint32 `json:"given,omitempty"`
	Family map[string]uint32 `json:"family,omitempty"`
	// FormalSex counts the carriers of each given name that is the formal
	// name of a nickname group (Charles, Charlotte), female then male: it
	// tells which of an ambiguous diminutive's names (Charlie: Charles,
	// Charlotte) a pair of one sex can stand for (sexResolves). A few
	// hundred names at most.
	FormalSex map[string][2]uint32 `json:"formal_sex,omitempty"`
	// Middle counts each first middle name spelt out (not an initial, not
	// a stand-in: the names middleAgrees reads), and Middles the records
	// that carry one: how often a middle name is given tells whether two
	// records agreeing on it are one person or twins given a middle name
	// many share (Thi, Marie, Lee; rareMiddle).
	Middle  map[string]uint32 `json:"middle,omitempty"`
	Middles int               `json:"middles,omitempty"`
}

// NewTermFrequencies returns an empty table.
func NewTermFrequencies() *TermFrequencies {
	return &TermFrequencies{Given: map[string]uint32{}, Family: map[string]uint32{}}
}

// BuildTermFrequencies counts the names of records.
func BuildTermFrequencies(records []*Prepared) *TermFrequencies {
	t := NewTermFrequencies()
	for _, p := range records {
		t.Add(p)
	}
	return t
}

// Add counts one record.
func (t *TermFrequencies) Add(p *Prepared) {
	if t.Given == nil {
		t.Given = map[string]uint32{}
	}
	if t.Family == nil {
		t.Family = map[string]uint32{}
	}
	t.Records++
	count(t.Given, p.given)
	count(t.Family, p.family)
	if m, ok := spelledMiddle(p); ok {
		if t.Middle == nil {
			t.Middle = map[string]uint32{}
		}
		t.Middles++
		count(t.Middle, m)
	}
	if i, ok := sexIndex(p.Rec.Sex); ok && p.given != "" && isFormalName(p.given) {
		if t.FormalSex == nil {
			t.FormalSex = map[string][2]uint32{}
		}
		c, seen := t.FormalSex[p.given]
		c[i]++
		if seen {
			t.FormalSex[p.given] = c
		} else {
			t.FormalSex[strings.Clone(p.given)] = c
		}
	}
}

// Merge adds o's counts to t, as if t had counted o's records too (a
// cluster's shards summed into one table). A nil o adds nothing.
func (t *TermFrequencies) Merge(o *TermFrequencies) {
	if o == nil {
		return
	}
	if t.Given == nil {
		t.Given = map[string]uint32{}
	}
	if t.Family == nil {
		t.Family = map[string]uint32{}
	}
	t.Records += o.Records
	for k, v := range o.Given {
		t.Given[k] += v
	}
	for k, v := range o.Family {
		t.Family[k] += v
	}
	t.Middles += o.Middles
	for k, v := range o.Middle {
		if t.Middle == nil {
			t.Middle = map[string]uint32{}
		}
		t.Middle[k] += v
	}
	for k, v := range o.FormalSex {
		if t.FormalSex == nil {
			t.FormalSex = map[string][2]uint32{}
		}
		c := t.FormalSex[k]
		t.FormalSex[k] = [2]uint32{c[0] + v[0], c[1] + v[1]}
	}
}

// sexIndex is the FormalSex column of s: 0 female, 1 male; ok is false
// for any other value.
func sexIndex(s record.Sex) (i int, ok bool) {
	switch s {
	case record.SexFemale:
		return 0, true
	case record.SexMale:
		return 1, true
	}
	return 0, false
}

// isFormalName reports whether name is the formal name of a nickname
// group (the first name of a line of nicknames.txt).
func isFormalName(name string) bool {
	t := defaultNicknames()
	for _, id := range t.groups[name] {
		if t.formal[id-1] == name {
			return true
		}
	}
	return false
}

// sexResolves reports whether the sex two records agree on says which
// name an ambiguous diminutive between them stands for: every other
// group of either name (besides the ones they share) has a formal name
// the population gives to the other sex — carried by records of the
// pair's sex no more than rate (the model's share of records whose sex
// disagrees with their person's) of the time. Charlie beside Charles, both
// male, is then Charles, not Charlotte; Jerry beside Jeremy stays
// ambiguous (Gerald, Jerome are men's names too). A name that is the
// formal name of a group of its own, an unknown sex, or a formal name
// nobody carries leaves the pair ambiguous.
func (t *TermFrequencies) sexResolves(a, b *Prepared, rate float64) bool {
	if t == nil || len(t.FormalSex) == 0 || a.Rec.Sex != b.Rec.Sex {
		return false
	}
	i, ok := sexIndex(a.Rec.Sex)
	if !ok {
		return false
	}
	nt := defaultNicknames()
	for _, pr := range [2][2]*Prepared{{a, b}, {b, a}} {
		x, y := pr[0], pr[1]
		for _, g := range x.givenNick {
			if g == 0 {
				break
			}
			if inGroups(g, &y.givenNick) {
				continue
			}
			f := nt.formal[g-1]
			c := t.FormalSex[f]
			if f == x.given || c[0]+c[1] == 0 || float64(c[i]) > rate*float64(c[0]+c[1]) {
				return false
			}
		}
	}
	return true
}

// inGroups reports whether group id g is among gs.
func inGroups(g uint16, gs *[maxNickGroups]uint16) bool {
	for _, x := range gs {
		if x == 0 {
			return false
		}
		if x == g {
			return true
		}
	}
	return false
}

// count adds one to m[v]. A new key is copied: v may share the memory of
// a larger string (a record decoded from the store keeps all its fields
// in one), and a map key that points into it would keep the whole record
// alive for as long as the table lives.
func count(m map[string]uint32, v string) {
	if v == "" {
		return
	}
	if n, ok := m[v]; ok {
		m[v] = n + 1
		return
	}
	m[strings.Clone(v)] = 1
}

// Compact drops values counted at most once; frequencies are unchanged,
// since an unseen value counts as seen once. It keeps model files small.
func (t *TermFrequencies) Compact() {
	for _, m := range []map[string]uint32{t.Given, t.Family, t.Middle} {
		for k, n := range m {
			if n <= 1 {
				delete(m, k)
			}
		}
	}
}

// rareMiddle reports whether the first middle name m, agreeing on a and
// b, is given rarely enough that it says one person rather than twins: no
// more often than the rarer of the two given names. The rarer given name's
// share of the records is how often a twin would carry it as a name of
// their own, the evidence the middle name overrides (Scorer.middleTells);
// a middle name given more often is as likely a twin's own too, and says
// nothing the household does not. Both are read as the carriers other
// than the pair (a middle name the pair itself shares counts twice for
// it, a given spelling once), as shares of the records with a middle name
// and of all records, compared crosswise in whole counts so that a tie —
// no one else carries either — is not lost to rounding. With no middle
// names counted, or a given-name frequency unknown, it reports false: the
// caps then stay as they are.
func (t *TermFrequencies) rareMiddle(m string, a, b *Prepared) bool {
	if t == nil || t.Middles == 0 || t.Records == 0 || m == "" || a.GivenTF <= 0 || b.GivenTF <= 0 {
		return false
	}
	given := min(t.carriers(a.GivenTF, a.givenCarriers), t.carriers(b.GivenTF, b.givenCarriers)) - 1
	middle := int(t.Middle[m]) - counted(a) - counted(b)
	return float64(max(middle, 0))*float64(t.Records) <= max(given, 0)*float64(t.Middles)
}

// counted is 1 when p was prepared from the records the table counts
// (Scorer.Prepare: its own names are among the counts) and 0 for a
// query (Scorer.PrepareQuery, which sets its own carriers): what p itself
// adds to a count.
func counted(p *Prepared) int {
	if p.givenCarriers > 0 {
		return 0
	}
	return 1
}

// spelledMiddle is the first middle name of p when it is spelt out (two
// letters or more, not a stand-in such as "nmn"): the one middleAgrees
// compares.
func spelledMiddle(p *Prepared) (string, bool) {
	first := p.middle1
	if utf8.RuneCountInString(first) < 2 || noMiddle(first) {
		return "", false
	}
	return first, true
}

// GivenFrequency is the relative frequency of a given name (at least
// 1/Records), or 0 when the table is empty or v is.
func (t *TermFrequencies) GivenFrequency(v string) float64 { return t.freq(t.Given, v) }

// FamilyFrequency is the relative frequency of a family name.
func (t *TermFrequencies) FamilyFrequency(v string) float64 { return t.freq(t.Family, v) }

func (t *TermFrequencies) freq(m map[string]uint32, v string) float64 {
	if t == nil || t.Records == 0 || v == "" {
		return 0
	}
	n := m[v]
	if n == 0 {
		n = 1
	}
	return float64(n) / float64(t.Records)
}

// agreement is the chance that two records of t's population, drawn at
// random, agree on the given (c = CompGivenName) or family name: Σ f² over
// the values counted, each value dropped by Compact (or never seen twice)
// counted as carried once — and so is each record without the name, which
// the table does not count apart: on a file with many missing family names
// meanF comes out larger than among the records that have one, so the
// adjustment errs small, never large. 0 for an empty or nil table. It is how common
// the name an average agreeing pair shares is, the yardstick of the fuzzy
// levels' adjustment (Scorer.levelWeight).
func (t *TermFrequencies) agreement(c int) float64 {
	if t == nil || t.Records == 0 {
		return 0
	}
	m := t.Given
	if c == CompFamilyName {
		m = t.Family
	}
	var sq, carried float64
	for _, n := range m {
		sq += float64(n) * float64(n)
		carried += float64(n)
	}
	r := float64(t.Records)
	return (sq + max(r-carried, 0)) / (r * r)
}

// carriersWith is the number of records carrying v among the counted ones
// plus one not counted (Scorer.PrepareQuery); 0 when v is empty.
func (t *TermFrequencies) carriersWith(m map[string]uint32, v string) uint32 {
	if v == "" {
		return 0
	}
	return m[v] + 1
}

// carriers is the number of records carrying a spelling of relative
// frequency f among t's records, or own when set (carriersWith).
func (t *TermFrequencies) carriers(f float64, own uint32) float64 {
	if own > 0 {
		return float64(own)
	}
	return math.Round(f * float64(t.Records))
}

// typoOfEstablished reports whether two different spellings, of relative
// frequencies fa and fb among t's records (as PrepareInto sets them), look
// like a keying error of an established name rather than two names.
// ownA and ownB, when set, are the carriers of a record not counted in t
// (carriersWith).
//
// One spelling carried by no record but the one that has it (a count of at
// most one), the other by more than one, always does: twins with alike
// names (Kristin, Kristen) each carry a name other people carry too; a
// one-keystroke slip is a spelling nobody else has.
//
// In a large population a frequent name's slips recur (Wiliam beside
// William), so with slip > 0 a rarer spelling also counts when it is
// carried by no more records than slip times the other's: slip is the
// share of records whose name is misspelt (misspellingRate), and all of an
// established name's misspellings landing on one spelling is the most a
// keying error can produce. A spelling carried more often than that is a
// name of its own. The caller passes slip only for family-name spellings
// alike enough that a frequency says which is the slip (Scorer.nameTypos):
// for a given name such a spelling may be a twin's name of its own.
//
// With no table, or a frequency unknown, it reports false: the caps then
// stay as they are.
func (t *TermFrequencies) typoOfEstablished(fa, fb, slip float64, ownA, ownB uint32) bool {
	if t == nil || t.Records == 0 || fa <= 0 || fb <= 0 {
		return false
	}
	na, nb := t.carriers(fa, ownA), t.carriers(fb, ownB)
	lo, hi := min(na, nb), max(na, nb)
	return hi > 1 && (lo <= 1 || lo <= slip*hi)
}

// unshared reports whether neither of two spellings, of relative
// frequencies fa and fb among t's records (ownA and ownB as for
// typoOfEstablished), is carried by any record but the one that has it.
// With no table, or a frequency unknown, it reports false.
func (t *TermFrequencies) unshared(fa, fb float64, ownA, ownB uint32) bool {
	if t == nil || t.Records == 0 || fa <= 0 || fb <= 0 {
		return false
	}
	return t.carriers(fa, ownA) <= 1 && t.carriers(fb, ownB) <= 1
}

// misspellingRate is the share of records whose given (c = CompGivenName)
// or family name is misspelt, as model m estimates it: a pair of one
// person's records reaches an alike level (phonetic, jw>=0.92, jw>=0.80)
// when either record's name is misspelt, so about twice that share of
// matches do — the sum of those levels' m, halved.
func misspellingRate(m *Model, c int) float64 {
	alike := [2][3]int{{GivenPhonetic, GivenJW92, GivenJW80}, {FamilyPhonetic, FamilyJW92, FamilyJW80}}
	if c != CompGivenName && c != CompFamilyName {
		return 0
	}
	var sum float64
	for _, l := range alike[c] {
		sum += m.Comparisons[c].Levels[l].M
	}
	return sum / 2
}
