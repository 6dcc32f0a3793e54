package scoring

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/patientmatch/patientmatch/record"
)

// synthPopulation makes households of 1–5 people sharing family name,
// address and phone (with twins among the children), and gives a third of
// the people a second record with ordinary errors. entity[i] says whose
// record i is.
func synthPopulation(r *rand.Rand, households int) (recs []record.Record, entity []int) {
	givens := []string{"robert", "william", "margaret", "elizabeth", "james", "john", "mary", "patricia",
		"michael", "linda", "david", "barbara", "richard", "susan", "joseph", "jessica", "thomas", "sarah",
		"charles", "karen", "daniel", "nancy", "matthew", "lisa", "anthony", "betty", "mark", "sandra",
		"steven", "ashley", "andrew", "kimberly", "joshua", "emily", "kenneth", "donna", "kevin", "michelle",
		"brian", "carol", "george", "amanda", "timothy", "melissa", "ronald", "deborah", "jason", "stephanie"}
	families := []string{"smith", "johnson", "williams", "brown", "jones", "garcia", "miller", "davis",
		"rodriguez", "martinez", "hernandez", "lopez", "gonzalez", "wilson", "anderson", "thomas", "taylor",
		"moore", "jackson", "martin", "lee", "perez", "thompson", "white", "harris", "sanchez", "clark",
		"ramirez", "lewis", "robinson", "walker", "young", "allen", "king", "wright", "scott", "torres",
		"nguyen", "hill", "flores", "green", "adams", "nelson", "baker", "hall", "rivera", "campbell"}
	streets := []string{"main", "high", "ocean", "park", "church", "mill", "station", "victoria", "george", "king"}
	typo := func(s string) string {
		if len(s) < 3 {
			return s
		}
		b := []byte(s)
		i := 1 + r.IntN(len(b)-2)
		b[i], b[i+1] = b[i+1], b[i]
		return string(b)
	}
	person := 0
	for h := 0; h < households; h++ {
		fam := families[r.IntN(len(families))]
		addr := record.Address{Number: fmt.Sprint(1 + r.IntN(200)), Street: streets[r.IntN(len(streets))], StreetType: "st",
			City: fmt.Sprintf("town%d", r.IntN(60)), PostalCode: fmt.Sprint(2000 + r.IntN(3000))}
		phone := fmt.Sprintf("02%08d", r.IntN(100000000))
		size := 1 + r.IntN(5)
		parentYear := 1940 + r.IntN(40)
		var twinDate record.Date
		for k := 0; k < size; k++ {
			y := parentYear
			if k >= 2 {
				y = parentYear + 20 + r.IntN(15)
			}
			d := record.Date{Year: y, Month: 1 + r.IntN(12), Day: 1 + r.IntN(28), Valid: true}
			if k == 3 && r.IntN(10) == 0 {
				d = twinDate
			}
			twinDate = d
			given := givens[r.IntN(len(givens))]
			for k > 0 && given == recs[len(recs)-1].Given {
				given = givens[r.IntN(len(givens))] // parents do not give twins one name
			}
			p := record.Record{Given: given, Family: fam, BirthDate: d,
				Sex: record.Sex(1 + r.IntN(2)), Address: addr, Phone: phone}
			if r.IntN(3) == 0 {
				p.Identifiers = []record.Identifier{{Type: record.IDSSN, Value: fmt.Sprintf("%09d", 100000000+r.IntN(800000000))}}
			}
			recs = append(recs, p)
			entity = append(entity, person)
			if r.IntN(3) == 0 {
				q := p
				q.Identifiers = append([]record.Identifier(nil), p.Identifiers...)
				switch r.IntN(6) {
				case 0:
					q.Given = typo(q.Given)
				case 1:
					q.Family = typo(q.Family)
				case 2:
					q.BirthDate.Day, q.BirthDate.Month = q.BirthDate.Month, q.BirthDate.Day
				case 3:
					q.Address = record.Address{Number: "9", Street: "far", StreetType: "rd", City: "elsewhere", PostalCode: "9999"}
				case 4:
					q.Phone = ""
				}
				recs = append(recs, q)
				entity = append(entity, person)
			}
			person++
		}
	}
	return recs, entity
}

func TestTrainSynthetic(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	raw, entity := synthPopulation(r, 700)
	recs := make([]*Prepared, len(raw))
	for i, x := range raw {
		recs[i] = PrepareWithoutTF(x)
	}
	passes := []TrainingPass{
		{Name: "family", Pairs: blockOn(recs, func(p *Prepared) string { return p.family }, 400), Exclude: []string{"family_name"}},
		{Name: "birth", Pairs: blockOn(recs, func(p *Prepared) string { return p.birthDigits }, 400), Exclude: []string{"birth_date"}},
		{Name: "postal", Pairs: blockOn(recs, func(p *Prepared) string { return p.postal }, 400), Exclude: []string{"household"}},
	}
	m, err := Train(recs, passes, TrainOptions{UPairs: 100_000})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Training.Warnings) > 0 {
		t.Errorf("warnings: %v", m.Training.Warnings)
	}
	for _, p := range m.Training.Passes {
		if !p.Converged {
			t.Errorf("pass %s did not converge", p.Name)
		}
	}
	w := func(c, l int) float64 { return m.Comparisons[c].Levels[l].Weight() }
	if w(CompGivenName, GivenExact) <= 0 || w(CompBirthDate, BirthExact) <= 0 || w(CompGivenName, GivenElse) >= 0 ||
		w(CompBirthDate, BirthElse) >= 0 || w(CompHousehold, HouseDisagree) >= 0 {
		t.Errorf("implausible weights:\n%v", m.Comparisons)
	}
	// True prior: duplicate pairs over all pairs.
	count := map[int]int{}
	for _, e := range entity {
		count[e]++
	}
	dups := 0
	for _, n := range count {
		dups += n * (n - 1) / 2
	}
	n := float64(len(recs))
	trueLambda := float64(dups) / (n * (n - 1) / 2)
	// The prior comes from the candidate pairs (candidatePrior), not from
	// per-pass recall guesses that overestimate it several times over.
	if ratio := m.Prior / trueLambda; ratio < 0.75 || ratio > 1.33 {
		t.Errorf("prior %.3g, true %.3g", m.Prior, trueLambda)
	}

	s := MustScorer(m)
	for i, x := range raw {
		s.PrepareInto(recs[i], x)
	}
	var found, falseCertain, falseProbable int
	for i := range recs {
		for j := i + 1; j < len(recs); j++ {
			if raw[i].Family != raw[j].Family && entity[i] != entity[j] {
				continue
			}
			g := s.Score(recs[i], recs[j]).Grade
			switch {
			case entity[i] == entity[j] && g >= GradeProbable:
				found++
			case entity[i] != entity[j] && g == GradeCertain:
				falseCertain++
				t.Logf("relatives graded certain: %+v / %+v: %s", raw[i], raw[j], explainString(s.Explain(recs[i], recs[j])))
			case entity[i] != entity[j] && g == GradeProbable:
				falseProbable++
			}
		}
	}
	t.Logf("prior %.3g (true %.3g); duplicates ≥ probable %d of %d; false certain %d, false probable %d",
		m.Prior, trueLambda, found, dups, falseCertain, falseProbable)
	if falseCertain > 0 {
		t.Errorf("%d relatives graded certain", falseCertain)
	}
	if float64(found) < 0.9*float64(dups) {
		t.Errorf("only %d of %d duplicates graded probable or better", found, dups)
	}
}

func TestTrainErrors(t *testing.T) {
	recs := []*Prepared{PrepareWithoutTF(mustRecord(t, "given=a;family=b")), PrepareWithoutTF(mustRecord(t, "given=a;family=b"))}
	cases := map[string][]TrainingPass{
		"no passes":    nil,
		"unknown name": {{Name: "x", Pairs: [][2]int32{{0, 1}}, Exclude: []string{"surname"}}},
		"bad index":    {{Name: "x", Pairs: [][2]int32{{0, 7}}}},
	}
	for name, passes := range cases {
		if _, err := Train(recs, passes, TrainOptions{UPairs: 10}); !errors.Is(err, ErrTraining) {
			t.Errorf("%s: %v, want ErrTraining", name, err)
		}
	}
	if _, err := Train(recs[:1], nil, TrainOptions{}); !errors.Is(err, ErrTraining) {
		t.Errorf("one record: %v", err)
	}
}

func TestHouseholdWarnings(t *testing.T) {
	if w := HouseholdWarnings(DefaultModel()); len(w) != 0 {
		t.Errorf("default model: %v", w)
	}
	m := DefaultModel()
	lv := m.Comparisons[CompGivenName].Levels
	lv[GivenExact].M -= 0.4
	lv[GivenElse].M += 0.4 // EM that learned households: different names common among "matches"
	if w := HouseholdWarnings(m); len(w) != 1 {
		t.Errorf("household model: %v", w)
	}
}

func TestConstrainWeights(t *testing.T) {
	m := DefaultModel()
	b := m.Comparisons[CompBirthDate].Levels
	b[BirthYearMonth].M = 1e-6 // EM drove it to the floor
	var seen [NumComparisons][MaxLevels]bool
	for c := range seen {
		for l := range seen[c] {
			seen[c][l] = true
		}
	}
	seen[CompHousehold][HouseContact] = false
	constrainWeights(m, &seen)
	if got, floor := b[BirthYearMonth].Weight(), b[BirthElse].Weight(); got < floor-1e-9 {
		t.Errorf("year_month weight %v below else %v", got, floor)
	}
	h := m.Comparisons[CompHousehold].Levels
	if w := h[HouseContact].Weight(); math.Abs(w) > 1e-9 {
		t.Errorf("unseen level weight %v, want 0", w)
	}
	if h[HouseAddressContact].Weight() < h[HouseAddress].Weight()-1e-9 {
		t.Errorf("address+contact weighs less than address")
	}
	if err := m.Validate(); err != nil {
		t.Errorf("constrained model invalid: %v", err)
	}
}

// TestPersonFallback: an m that learned households (a fifth of "matches"
// with another given name) falls back to the base model's; a plausible one
// stays.
func TestPersonFallback(t *testing.T) {
	m := DefaultModel()
	lv := m.Comparisons[CompGivenName].Levels
	lv[GivenExact].M -= 0.4
	lv[GivenElse].M += 0.4
	m.Comparisons[CompBirthDate].Levels[BirthExact].M -= 0.01
	m.Comparisons[CompBirthDate].Levels[BirthElse].M += 0.01
	notes := personFallback(m, DefaultModel())
	if len(notes) != 1 || lv[GivenElse].M != DefaultModel().Comparisons[CompGivenName].Levels[GivenElse].M {
		t.Errorf("notes %v, given else m %v: want the base model's given_name m", notes, lv[GivenElse].M)
	}
	if got := m.Comparisons[CompBirthDate].Levels[BirthElse].M; got == DefaultModel().Comparisons[CompBirthDate].Levels[BirthElse].M {
		t.Errorf("birth_date m replaced though plausible")
	}
	if len(HouseholdWarnings(m)) != 0 {
		t.Errorf("warnings after fallback: %v", HouseholdWarnings(m))
	}
}

// TestPassUnused: a pass EM cannot learn persons from (one comparison left,
// or matches that are households) is named, with the reason; a pass with
// two comparisons and person-like m is used.
func TestPassUnused(t *testing.T) {
	m0, _ := ModelProbabilities(DefaultModel())
	households := m0
	households[CompBirthDate][BirthExact] -= 0.4
	households[CompBirthDate][BirthElse] += 0.4
	// A vector of a names-and-birth-date file: sex, household and
	// identifier missing.
	sparse := LevelVector{GivenExact, FamilyExact, BirthOneDigit, SexMissing, HouseMissing, IDMissing}
	dense := LevelVector{GivenExact, FamilyExact, BirthExact, SexAgree, HouseAddress, IDMissing}
	ex := func(cs ...int) (e [NumComparisons]bool) {
		for _, c := range cs {
			e[c] = true
		}
		return e
	}
	var passive [NumComparisons]bool
	passive[CompHousehold] = true
	tests := []struct {
		name    string
		vectors []LevelVector
		exclude [NumComparisons]bool
		m       Probabilities
		want    string // substring of the reason; "" for a used pass
	}{
		{"sparse, blocked on both names: birth date alone", []LevelVector{sparse}, ex(CompGivenName, CompFamilyName), m0, "1 comparison"},
		{"sparse, blocked on the birth date: two names", []LevelVector{sparse}, ex(CompBirthDate), m0, ""},
		{"sparse, blocked on names and date: nothing", []LevelVector{sparse}, ex(CompGivenName, CompFamilyName, CompBirthDate), m0, "0 comparison"},
		{"dense, blocked on names: birth date and sex (household passive)", []LevelVector{dense}, ex(CompGivenName, CompFamilyName), m0, ""},
		{"dense, blocked on date and initials: sex alone", []LevelVector{dense}, ex(CompGivenName, CompFamilyName, CompBirthDate), m0, "1 comparison"},
		{"households learned", []LevelVector{dense}, ex(CompFamilyName), households, "households"},
		{"households learned, birth date excluded", []LevelVector{dense}, ex(CompFamilyName, CompBirthDate), households, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := passUnused(tc.vectors, tc.exclude, passive, tc.m)
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Errorf("passUnused = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestPersonElseCeiling: a given-name or birth-date "else" m above the
// base model's is held to it, the other levels rescaled so m sums to 1
// and keep their ratios; one below the base's is the data's and kept.
func TestPersonElseCeiling(t *testing.T) {
	base := DefaultModel()
	m := base.Clone()
	g := m.Comparisons[CompGivenName].Levels
	last := len(g) - 1
	for l := range g {
		g[l].M = 0.94 / float64(last)
	}
	g[last].M = 0.06
	b := m.Comparisons[CompBirthDate].Levels
	lastB := len(b) - 1
	b[lastB].M = base.Comparisons[CompBirthDate].Levels[lastB].M / 2
	wantB := b[lastB].M
	notes := personElseCeiling(m, base)
	if len(notes) != 1 {
		t.Fatalf("notes %q, want one (given name only)", notes)
	}
	if got, want := g[last].M, base.Comparisons[CompGivenName].Levels[last].M; got != want {
		t.Errorf("given else m %g, want the base's %g", got, want)
	}
	var sum float64
	for l := range g {
		sum += g[l].M
		if l < last && math.Abs(g[l].M-g[0].M) > 1e-12 {
			t.Errorf("level %d m %g, want the same as level 0 (%g): ratios kept", l, g[l].M, g[0].M)
		}
	}
	if math.Abs(sum-1) > 1e-9 {
		t.Errorf("given-name m sums to %g", sum)
	}
	if b[lastB].M != wantB {
		t.Errorf("birth else m %g changed, want %g kept (below the base's)", b[lastB].M, wantB)
	}
}
