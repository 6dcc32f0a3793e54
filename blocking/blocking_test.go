package blocking

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/patientmatch/patientmatch/record"
	"github.com/patientmatch/patientmatch/scoring"
)

func rec(given, family, birth string) record.Record {
	r := record.Record{Given: given, Family: family, BirthDate: parseDate(birth)}
	if f := strings.Fields(family); len(f) > 1 {
		r.FamilyParts = f
	}
	return r
}

func keysOf(r record.Record) []string {
	return Keys(scoring.PrepareWithoutTF(r), nil)
}

func ruleKeys(r record.Record, rule Rule) []string {
	return RuleKeys(scoring.PrepareWithoutTF(r), rule, nil)
}

func shareKey(a, b []string) bool {
	for _, k := range a {
		if slices.Contains(b, k) {
			return true
		}
	}
	return false
}

// TestKeysShared checks, per rule, which record pairs share a key: each
// rule must survive the error it is there for and stay silent on strangers.
func TestKeysShared(t *testing.T) {
	base := rec("robert", "smith", "1980-03-04")
	base.Address = record.Address{Number: "12", Street: "main", StreetType: "st", City: "springfield", PostalCode: "62704"}
	base.Phone = "+12175551234"
	base.Email = "rsmith@mail.org"
	base.Identifiers = []record.Identifier{{Type: record.IDSSN, Value: "123456780"}, {Type: record.IDMRN, System: "urn:a", Value: "A77"}}
	mod := func(f func(r *record.Record)) record.Record {
		r := base
		r.Address = base.Address
		r.Identifiers = slices.Clone(base.Identifiers)
		f(&r)
		return r
	}
	tests := []struct {
		name  string
		rule  Rule
		other record.Record
		share bool
	}{
		{"name: same", RuleName, base, true},
		{"name: swapped", RuleName, mod(func(r *record.Record) { r.Given, r.Family = "smith", "robert" }), true},
		{"name: phonetic typo", RuleName, mod(func(r *record.Record) { r.Family = "smyth" }), true},
		{"name: other given", RuleName, mod(func(r *record.Record) { r.Given = "william" }), false},
		{"name: placeholder given", RuleName, mod(func(r *record.Record) { r.Given = "unknown" }), false},
		{"family_year: nickname", RuleFamilyYear, mod(func(r *record.Record) { r.Given = "bob" }), true},
		{"family_year: other year", RuleFamilyYear, mod(func(r *record.Record) { r.BirthDate = parseDate("1981-03-04") }), false},
		{"family_year: year only", RuleFamilyYear, mod(func(r *record.Record) { r.BirthDate = parseDate("1980") }), true},
		{"given_birth: married", RuleGivenBirth, mod(func(r *record.Record) { r.Family = "jones" }), true},
		{"given_birth: transposed", RuleGivenBirth, mod(func(r *record.Record) { r.BirthDate = parseDate("1980-04-03") }), true},
		{"given_birth: partial date", RuleGivenBirth, mod(func(r *record.Record) { r.BirthDate = parseDate("1980-03") }), false},
		{"given_birth: other date", RuleGivenBirth, mod(func(r *record.Record) { r.BirthDate = parseDate("1980-02-28") }), false},
		{"birth_initial: married", RuleBirthInitial, mod(func(r *record.Record) { r.Family = "jones" }), true},
		{"birth_initial: married, given typo'd", RuleBirthInitial, mod(func(r *record.Record) { r.Family, r.Given = "jones", "rboert" }), true},
		{"birth_initial: both names typo'd", RuleBirthInitial, mod(func(r *record.Record) { r.Given, r.Family = "rboert", "simth" }), true},
		{"birth_initial: swapped with typo", RuleBirthInitial, mod(func(r *record.Record) { r.Given, r.Family = "smith", "rboert" }), true},
		{"birth_initial: other initials", RuleBirthInitial, mod(func(r *record.Record) { r.Given, r.Family = "john", "jones" }), false},
		{"birth_initial: placeholder date", RuleBirthInitial, mod(func(r *record.Record) { r.BirthDate = parseDate("1900-01-01") }), false},
		{"birth_initial: off-calendar date kept", RuleBirthInitial, mod(func(r *record.Record) { r.BirthDate = parseDate("1980-02-30") }), false},
		{"birth_locality: both names changed", RuleBirthLocality, mod(func(r *record.Record) { r.Given, r.Family = "bobby", "jones" }), true},
		{"birth_locality: moved", RuleBirthLocality, mod(func(r *record.Record) { r.Address.PostalCode = "10001" }), false},
		{"month_initials: day wrong, names typo'd", RuleMonthInitials, mod(func(r *record.Record) { r.BirthDate = parseDate("1980-03-14"); r.Given, r.Family = "rboert", "simth" }), true},
		{"month_initials: swapped", RuleMonthInitials, mod(func(r *record.Record) { r.Given, r.Family = "smith", "robert" }), true},
		{"month_initials: other given initial", RuleMonthInitials, mod(func(r *record.Record) { r.Given = "bob" }), false},
		{"locality_family: new birth date", RuleLocalityFamily, mod(func(r *record.Record) { r.BirthDate = parseDate("1990-01-01"); r.Given = "bob" }), true},
		{"locality_family: other postal", RuleLocalityFamily, mod(func(r *record.Record) { r.Address.PostalCode = "62705" }), false},
		{"locality_given: married, wrong date", RuleLocalityGiven, mod(func(r *record.Record) { r.Family = "jones"; r.BirthDate = parseDate("1990-01-01") }), true},
		{"phone: area code dropped", RulePhone, mod(func(r *record.Record) { r.Phone = "5551234" }), true},
		{"phone: placeholder", RulePhone, mod(func(r *record.Record) { r.Phone = "0000000000" }), false},
		{"email: same", RuleEmail, base, true},
		{"identifier: same ssn", RuleIdentifier, mod(func(r *record.Record) { r.Identifiers = r.Identifiers[:1] }), true},
		{"identifier: mrn of another system", RuleIdentifier, mod(func(r *record.Record) {
			r.Identifiers = []record.Identifier{{Type: record.IDMRN, System: "urn:b", Value: "A77"}}
		}), false},
		{"identifier: same value other type", RuleIdentifier, mod(func(r *record.Record) {
			r.Identifiers = []record.Identifier{{Type: record.IDPassport, Value: "123456780"}}
		}), false},
		{"address: other person", RuleAddress, rec("alice", "brown", "1950-01-01"), false},
		{"address: household member", RuleAddress, mod(func(r *record.Record) { r.Given, r.BirthDate = "alice", parseDate("1950-01-01") }), true},
		{"address: no number", RuleAddress, mod(func(r *record.Record) { r.Address.Number = "" }), false},
		{"locality_given: mononym (lone name filed as family)", RuleLocalityGiven, mod(func(r *record.Record) { r.Given, r.Family = "", "robert"; r.BirthDate = parseDate("1980-03-14") }), true},
		{"locality_given: lone family name, other given", RuleLocalityGiven, mod(func(r *record.Record) { r.Given, r.Family = "", "william" }), false},
		{"locality_family: lone given name that is the surname", RuleLocalityFamily, mod(func(r *record.Record) { r.Given, r.Family = "smith", ""; r.BirthDate = parseDate("1990-01-01") }), true},
		{"family_year: lone given name that is the surname", RuleFamilyYear, mod(func(r *record.Record) { r.Given, r.Family = "smith", "" }), true},
		{"family_year: lone given name", RuleFamilyYear, mod(func(r *record.Record) { r.Family = "" }), false},
		{"birth_date: names changed, transposed", RuleBirthDate, mod(func(r *record.Record) { r.Given, r.Family = "bobby", "jones"; r.BirthDate = parseDate("1980-04-03") }), true},
		{"birth_date: other day", RuleBirthDate, mod(func(r *record.Record) { r.BirthDate = parseDate("1980-03-05") }), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := ruleKeys(base, tc.rule), ruleKeys(tc.other, tc.rule)
			if got := shareKey(a, b); got != tc.share {
				t.Errorf("share = %v, want %v\n a=%q\n b=%q", got, tc.share, a, b)
			}
			for _, k := range append(a, b...) {
				if r, ok := RuleOf(k); !ok || r != tc.rule {
					t.Errorf("key %q: RuleOf = %v %v, want %v", k, r, ok, tc.rule)
				}
			}
		})
	}
}

func TestKeysMissing(t *testing.T) {
	if k := keysOf(record.Record{ID: "x"}); len(k) != 0 {
		t.Errorf("empty record has keys %q", k)
	}
	// A lone family name is no key at all: it would not be selective.
	if k := keysOf(rec("", "smith", "")); len(k) != 0 {
		t.Errorf("family-only record has keys %q", k)
	}
	// Keys appends to dst.
	dst := []string{"keep"}
	dst = Keys(scoring.PrepareWithoutTF(rec("ann", "lee", "1970-01-02")), dst)
	if dst[0] != "keep" || len(dst) < 4 {
		t.Errorf("Keys did not append: %q", dst)
	}
}

// TestTrainingOnlyRules: a training-only rule is an EM pass and nothing
// else — no index key, no candidate pair — while every candidate rule is a
// training pass too.
func TestTrainingOnlyRules(t *testing.T) {
	cand, train := Rules(), TrainingRules()
	if slices.Contains(cand, RuleGivenBirth) || !slices.Contains(train, RuleGivenBirth) {
		t.Fatalf("given_birth: in Rules %v, in TrainingRules %v; want training only", slices.Contains(cand, RuleGivenBirth), slices.Contains(train, RuleGivenBirth))
	}
	for _, r := range cand {
		if r.TrainingOnly() || !slices.Contains(train, r) {
			t.Errorf("%v: candidate rule missing from the training passes", r)
		}
	}
	// The record has a given_birth key; Keys must not emit it.
	p := scoring.PrepareWithoutTF(rec("robert", "smith", "1980-03-04"))
	if len(RuleKeys(p, RuleGivenBirth, nil)) == 0 {
		t.Fatal("test record has no given_birth key")
	}
	for _, k := range Keys(p, nil) {
		if r, _ := RuleOf(k); r.TrainingOnly() {
			t.Errorf("Keys emitted training-only key %q", k)
		}
	}
	// Pairs' default is the candidate rules: two records sharing only a
	// given_birth key (married, given name spelled with another initial)
	// are no pair, unless the rule is asked for explicitly.
	// Each has a phone of its own, so neither is sparse: sparse records
	// would also share a given_year key (see TestSparseFallbackKeys).
	a := rec("catherine", "smith", "1980-03-04")
	b := rec("katherine", "jones", "1980-03-04")
	a.Phone, b.Phone = "+12175551234", "+13125559876"
	recs := []*scoring.Prepared{scoring.PrepareWithoutTF(a), scoring.PrepareWithoutTF(b)}
	count := func(opts PairOptions) int {
		n := 0
		opts.MaxCandidates = NoCandidateLimit
		Pairs(recs, opts, func(i, j int32) { n++ })
		return n
	}
	if n := count(PairOptions{}); n != 0 {
		t.Errorf("default Pairs: %d pairs, want 0 (only given_birth is shared)", n)
	}
	if n := count(PairOptions{Rules: []Rule{RuleGivenBirth}}); n != 1 {
		t.Errorf("Pairs under given_birth: %d pairs, want 1", n)
	}
}

func TestRuleNames(t *testing.T) {
	known := []string{CompGivenName, CompFamilyName, CompBirthDate, CompHousehold, CompIdentifier, CompSex}
	seen := map[string]bool{}
	for _, r := range TrainingRules() {
		if seen[r.Prefix()] {
			t.Errorf("duplicate prefix %q", r.Prefix())
		}
		seen[r.Prefix()] = true
		if got, ok := ParseRule(r.String()); !ok || got != r {
			t.Errorf("ParseRule(%q) = %v, %v", r.String(), got, ok)
		}
		if len(r.Fixes()) == 0 {
			t.Errorf("%v fixes nothing", r)
		}
		for _, c := range r.Fixes() {
			if !slices.Contains(known, c) {
				t.Errorf("%v fixes unknown comparison %q", r, c)
			}
		}
	}
	if _, ok := RuleOf("zz:1"); ok {
		t.Error("RuleOf accepted a non-key")
	}
}

// randomRecords makes small records over tiny value sets, so that keys
// collide often and blocks of all sizes occur.
func randomRecords(rng *rand.Rand, n int) []*scoring.Prepared {
	givens := []string{"ann", "anne", "bob", "robert", "carl", "karl", "dora", ""}
	families := []string{"lee", "leigh", "smith", "smyth", "khan", "", "stone"}
	out := make([]*scoring.Prepared, n)
	for i := range out {
		r := rec(givens[rng.IntN(len(givens))], families[rng.IntN(len(families))], "")
		if rng.IntN(4) > 0 {
			r.BirthDate = record.Date{Year: 1970 + rng.IntN(3), Month: 1 + rng.IntN(2), Day: 1 + rng.IntN(3)}
		}
		if rng.IntN(3) == 0 {
			r.Phone = fmt.Sprintf("55501%02d", rng.IntN(20))
		}
		if rng.IntN(3) == 0 {
			r.Address = record.Address{Number: fmt.Sprint(rng.IntN(3)), Street: "main", PostalCode: fmt.Sprint(1000 + rng.IntN(3))}
		}
		out[i] = scoring.PrepareWithoutTF(r)
	}
	return out
}

// bruteForce is the oracle of Pairs: every pair sharing a key whose block
// holds at most maxBlock records.
func bruteForce(records []*scoring.Prepared, rules []Rule, maxBlock int) map[[2]int32]bool {
	keys := make([][]string, len(records))
	size := map[string]int{}
	for i, p := range records {
		for _, r := range rules {
			keys[i] = RuleKeys(p, r, keys[i])
		}
		slices.Sort(keys[i])
		keys[i] = slices.Compact(keys[i])
		for _, k := range keys[i] {
			size[k]++
		}
	}
	want := map[[2]int32]bool{}
	for i := range records {
		for j := i + 1; j < len(records); j++ {
			for _, k := range keys[i] {
				if size[k] <= maxBlock && slices.Contains(keys[j], k) {
					want[[2]int32{int32(i), int32(j)}] = true
					break
				}
			}
		}
	}
	return want
}

// TestPairsVersusBruteForce: Pairs without the per-record cap emits exactly
// the pairs the quadratic oracle finds, each once, under every rule set and
// block cap. (The capped enumeration has its own oracle in capped_test.go.)
func TestPairsVersusBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	records := randomRecords(rng, 300)
	sets := [][]Rule{Rules(), {RuleName}, {RulePhone, RuleAddress}, {RuleFamilyYear, RuleGivenBirth}}
	for _, rules := range sets {
		for _, maxBlock := range []int{3, 10, 40, 1000} {
			t.Run(fmt.Sprintf("%v/max%d", rules, maxBlock), func(t *testing.T) {
				want := bruteForce(records, rules, maxBlock)
				got := map[[2]int32]bool{}
				st := Pairs(records, PairOptions{MaxBlock: maxBlock, Rules: rules, MaxCandidates: NoCandidateLimit}, func(i, j int32) {
					p := [2]int32{i, j}
					if i >= j {
						t.Fatalf("pair %v not ordered", p)
					}
					if got[p] {
						t.Fatalf("pair %v emitted twice", p)
					}
					got[p] = true
				})
				sameSet(t, got, want)
				if st.Pairs != int64(len(got)) {
					t.Errorf("Stats.Pairs = %d, emitted %d", st.Pairs, len(got))
				}
				if maxBlock == 3 && st.SkippedBlocks == 0 {
					t.Error("expected skipped blocks at MaxBlock 3")
				}
				if st.LargestBlock > maxBlock {
					t.Errorf("compared a block of %d > %d", st.LargestBlock, maxBlock)
				}
			})
		}
	}
}

// TestLinkPairsVersusBruteForce: LinkPairs finds exactly the cross pairs
// sharing a key, once each, with no pair inside one side.
func TestLinkPairsVersusBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	left, right := randomRecords(rng, 120), randomRecords(rng, 150)
	for _, maxBlock := range []int{5, 1000} {
		all := append(slices.Clone(left), right...)
		oracle := bruteForce(all, Rules(), 1<<30)
		sizes := func(side []*scoring.Prepared) map[string]int {
			m := map[string]int{}
			for _, p := range side {
				ks := Keys(p, nil)
				slices.Sort(ks)
				for _, k := range slices.Compact(ks) {
					m[k]++
				}
			}
			return m
		}
		ls, rs := sizes(left), sizes(right)
		want := map[[2]int32]bool{}
		for p := range oracle {
			i, j := p[0], p[1]
			if i >= int32(len(left)) || j < int32(len(left)) {
				continue
			}
			j -= int32(len(left))
			for _, k := range Keys(left[i], nil) {
				if ls[k] <= maxBlock && rs[k] <= maxBlock && slices.Contains(Keys(right[j], nil), k) {
					want[[2]int32{i, j}] = true
					break
				}
			}
		}
		got := map[[2]int32]bool{}
		st := LinkPairs(left, right, PairOptions{MaxBlock: maxBlock, MaxCandidates: NoCandidateLimit}, func(i, j int32) {
			p := [2]int32{i, j}
			if got[p] {
				t.Fatalf("pair %v emitted twice", p)
			}
			got[p] = true
		})
		if len(got) != len(want) || st.Pairs != int64(len(want)) {
			t.Errorf("max %d: got %d pairs (stats %d), want %d", maxBlock, len(got), st.Pairs, len(want))
		}
		for p := range want {
			if !got[p] {
				t.Errorf("max %d: missing %v", maxBlock, p)
				break
			}
		}
	}
}

func BenchmarkKeys(b *testing.B) {
	r := rec("robert", "smith", "1980-03-04")
	r.Address = record.Address{Number: "12", Street: "main", PostalCode: "62704"}
	r.Phone = "+12175551234"
	r.Identifiers = []record.Identifier{{Type: record.IDSSN, Value: "123456780"}}
	p := scoring.PrepareWithoutTF(r)
	var dst []string
	b.ReportAllocs()
	for b.Loop() {
		dst = Keys(p, dst[:0])
	}
}
