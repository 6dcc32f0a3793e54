package scoring

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

const household = "number=12;street=main;type=st;city=canberra;postal=2600;phone=0262771234"

// TestHazards: relatives and namesakes must never be certain under the
// default model; true duplicates with ordinary errors must be at least
// probable.
func TestHazards(t *testing.T) {
	s := MustScorer(DefaultModel())
	base := "given=robert;family=smith;birth=1970-05-12;sex=male;email=rsmith@mail.com;" + household
	cases := []struct {
		name     string
		a, b     string
		min, max Grade
	}{
		{"twins", base,
			"given=richard;family=smith;birth=1970-05-12;sex=male;" + household, GradeNone, GradeProbable},
		{"twins sound-alike names", "given=john;family=smith;birth=1970-05-12;sex=male;" + household,
			"given=joan;family=smith;birth=1970-05-12;sex=female;" + household, GradeNone, GradeProbable},
		{"twins sound-alike, sex unknown", "given=daniel;family=smith;birth=1970-05-12;" + household,
			"given=danielle;family=smith;birth=1970-05-12;" + household, GradeNone, GradeProbable},
		{"junior with suffix", "suffix=jr;" + strings.Replace(base, "1970-05-12", "1995-02-03", 1),
			"suffix=sr;" + base, GradeNone, GradePossible},
		{"junior without suffix", strings.Replace(base, "1970-05-12", "1995-02-03", 1),
			base, GradeNone, GradePossible},
		{"junior one-sided suffix", "suffix=jr;" + strings.Replace(base, "1970-05-12", "1995-02-03", 1),
			base, GradeNone, GradePossible},
		{"siblings", base,
			"given=susan;family=smith;birth=1972-01-03;sex=female;" + household, GradeNone, GradePossible},
		{"siblings, one birth date missing", base,
			"given=susan;family=smith;sex=female;" + household, GradeNone, GradePossible},
		{"siblings, birth dates missing, sex unknown", "given=robert;family=smith;" + household,
			"given=susan;family=smith;" + household, GradeNone, GradePossible},
		{"brothers close in age", base,
			"given=roberto;family=smith;birth=1971-08-30;sex=male;" + household, GradeNone, GradeProbable},
		{"spouse", base,
			"given=mary;family=smith;birth=1971-09-23;sex=female;email=msmith@mail.com;" + household, GradeNone, GradePossible},
		{"namesake", base,
			"given=robert;family=smith;birth=1970-05-12;sex=male;number=7;street=ocean;type=rd;city=perth;postal=6000;phone=0893334444",
			GradeNone, GradeProbable},
		{"namesake without contact data", "given=robert;family=smith;birth=1970-05-12",
			"given=robert;family=smith;birth=1970-05-12", GradeNone, GradeProbable},
		{"namesake different ssn", base + ";ssn=4227775", "given=robert;family=smith;birth=1970-05-12;ssn=9967942",
			GradeNone, GradeProbable},

		{"identical", base, base, GradeCertain, GradeCertain},
		{"birth date missing, same given name", base,
			"given=robert;family=smith;sex=male;" + household, GradeProbable, GradeCertain},
		{"identical with ssn", base + ";ssn=4227775", base + ";ssn=4227775", GradeCertain, GradeCertain},
		{"typo in family name", base,
			"given=robert;family=smtih;birth=1970-05-12;sex=male;" + household, GradeProbable, GradeCertain},
		{"nickname", base,
			"given=bob;family=smith;birth=1970-05-12;sex=male;" + household, GradeCertain, GradeCertain},
		{"moved, same phone", base,
			"given=robert;family=smith;birth=1970-05-12;sex=male;number=7;street=ocean;type=rd;city=perth;postal=6000;phone=0262771234",
			GradeProbable, GradeCertain},
		{"moved, nothing else", base,
			"given=robert;family=smith;birth=1970-05-12;sex=male;number=7;street=ocean;type=rd;city=perth;postal=6000",
			GradeProbable, GradeProbable},
		{"day and month transposed", base,
			"given=robert;family=smith;birth=1970-12-05;sex=male;" + household, GradeProbable, GradeCertain},
		{"married name, moved, same email", "given=mary;family=jones;birth=1975-02-11;sex=female;email=mary.j@mail.com;number=3;street=high;type=st;city=sydney;postal=2000",
			"given=mary;family=smith;birth=1975-02-11;sex=female;email=mary.j@mail.com;" + household, GradeProbable, GradeProbable},
		{"swapped names", base,
			"given=smith;family=robert;birth=1970-05-12;sex=male;" + household, GradeProbable, GradeCertain},
		{"compound surname part dropped", "given=maria;family=garcia lopez;birth=1980-03-04;sex=female;" + household,
			"given=maria;family=garcia;birth=1980-03-04;sex=female;" + household, GradeProbable, GradeCertain},
		// A family registered together: consecutive MRNs from one system
		// are no evidence, whatever else the household shares.
		{"household, consecutive mrns", "given=victoria;family=person;birth=1973-06-04;sex=female;mrn=100000123;mrn_system=h;" + household,
			"given=ronald;family=person;birth=1977-09-10;sex=male;mrn=100000124;mrn_system=h;" + household, GradeNone, GradePossible},
		{"twins, consecutive mrns", "given=ava;family=person;birth=2015-06-04;sex=female;mrn=100000125;mrn_system=h;" + household,
			"given=mia;family=person;birth=2015-06-04;sex=female;mrn=100000126;mrn_system=h;" + household, GradeNone, GradePossible},
		{"siblings, ssn one off", base + ";ssn=422777511",
			"given=susan;family=smith;birth=1972-01-03;sex=female;ssn=422777512;" + household, GradeNone, GradePossible},
		// Placeholders without erasure: a registered Jane Doe is found
		// through the rest of her record; two stand-in names alone are
		// nothing.
		{"jane doe with her own birth date, sex and contacts", "given=jane;family=doe;birth=1991-12-31;sex=female;email=jd1991@mail.com;" + household,
			"given=jane;family=doe;birth=1991-12-31;sex=female;email=jd1991@mail.com;" + household, GradePossible, GradeProbable},
		{"two jane does", "given=jane;family=doe;birth=1991-12-31;sex=female",
			"given=jane;family=doe;birth=1964-03-08;sex=female", GradeNone, GradeNone},
		{"two baby boys", "given=baby boy;family=smith;birth=2024-03-08;sex=male",
			"given=baby boy;family=jones;birth=2024-02-11;sex=male", GradeNone, GradeNone},
		{"placeholder phone only", "given=robert;family=smith;birth=1970-05-12;phone=0000000000",
			"given=robert;family=smith;birth=1970-05-12;phone=0000000000", GradeNone, GradeProbable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, b := s.Prepare(mustRecord(t, tc.a)), s.Prepare(mustRecord(t, tc.b))
			r := s.Score(a, b)
			if r.Grade < tc.min || r.Grade > tc.max {
				t.Errorf("grade %v (cap %v, p=%.6f, w=%.2f), want %v..%v; %s", r.Grade, r.Cap, r.Probability, r.Weight,
					tc.min, tc.max, explainString(s.Explain(a, b)))
			}
			if r2 := s.Score(b, a); r2 != r {
				t.Errorf("not symmetric: %+v vs %+v", r, r2)
			}
		})
	}
}

// TestCapRules: the hazard rule that sets the grade, for the patterns the
// rules are about and the near misses they must leave alone.
func TestCapRules(t *testing.T) {
	s := MustScorer(DefaultModel())
	base := "given=robert;family=smith;birth=1970-05-12;sex=male;email=rsmith@mail.com;" + household
	const notTwins = Cap(255) // any rule but twins, or none
	cases := []struct {
		name string
		a, b string
		cap  Cap
		max  Grade
	}{
		{"twins", base, "given=richard;family=smith;birth=1970-05-12;sex=male;" + household, CapTwins, GradePossible},
		{"twins, family name mistyped", base, "given=richard;family=smiht;birth=1970-05-12;sex=male;" + household, CapTwins, GradePossible},
		{"twins, one family name missing", base, "given=richard;birth=1970-05-12;sex=male;" + household, CapTwins, GradePossible},
		// Not twin-shaped: twins share a family name. A spouse born the same
		// day who kept her own name is left to the score and the other caps.
		{"same birthday, unrelated names", "given=mary;family=jones;birth=1970-05-12;" + household,
			"given=robert;family=smith;birth=1970-05-12;" + household, notTwins, GradeProbable},
		{"family name crossed into given, same birthday", "given=smith;family=jones;birth=1970-05-12;sex=male;" + household,
			"given=robert;family=smith;birth=1970-05-12;sex=male;" + household, notTwins, GradeProbable},
		{"junior", strings.Replace(base, "1970-05-12", "1995-02-03", 1), base, CapJunior, GradePossible},
		// Jerry is a diminutive of Gerald, Jeremy and Jerome, and a name
		// of its own: twins Jeremy and Jerry, consecutive MRNs.
		{"twins, one named by an ambiguous diminutive of the other's name",
			"given=jeremy;family=smith;birth=2015-12-07;sex=male;mrn=100010360;mrn_system=h;ssn=333189966;" + household,
			"given=jerry;family=smith;birth=2015-12-07;sex=male;mrn=100010359;mrn_system=h;" + household, CapTwins, GradeProbable},
		// A family's insurance member number (a kind we cannot tell)
		// agrees for twins, juniors and siblings alike: it lifts no
		// relatives' cap, as an MRN agreeing would.
		{"twins sharing a member number", "given=ava;family=kairby;birth=2015-06-16;sex=female;member=G573501638;" + household,
			"given=mia;family=kairby;birth=2015-06-16;sex=female;member=G573501638;" + household, CapTwins, GradePossible},
		{"twins with alike names sharing a member number", "given=kristin;family=kairby;birth=2015-06-16;sex=female;member=G573501638;" + household,
			"given=kristen;family=kairby;birth=2015-06-16;sex=female;member=G573501638;" + household, CapWeakAgreement, GradeProbable},
		{"junior sharing a member number", strings.Replace(base, "1970-05-12", "1995-02-03", 1) + ";member=G573501638",
			base + ";member=G573501638", CapJunior, GradePossible},
		{"siblings sharing a member number", "given=mary;family=smith;birth=1998-02-03;sex=female;member=G573501638;" + household,
			base + ";member=G573501638", CapSiblings, GradePossible},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, b := s.Prepare(mustRecord(t, tc.a)), s.Prepare(mustRecord(t, tc.b))
			r := s.Score(a, b)
			// The relatives class usually grades relatives down on its own;
			// then no rule needs to, and the rule is only a safety net.
			capOK := r.Cap == tc.cap || r.Cap == CapNone || (tc.cap == notTwins && r.Cap != CapTwins)
			if !capOK || r.Grade > tc.max {
				t.Errorf("cap %v grade %v (p=%.6f), want cap %v and at most %v; %s", r.Cap, r.Grade, r.Probability,
					tc.cap, tc.max, explainString(s.Explain(a, b)))
			}
		})
	}
}

func explainString(e []ComparisonResult) string {
	var sb strings.Builder
	for _, c := range e {
		sb.WriteString(c.Comparison + "=" + c.Level + " ")
	}
	return sb.String()
}

// TestExplainAddsUp: the explanation's weights plus the prior give Weight.
func TestExplainAddsUp(t *testing.T) {
	m := DefaultModel()
	m.Relatives = DefaultRelatives()
	s := MustScorer(m)
	a := s.Prepare(mustRecord(t, "given=bob;family=smith;birth=1970-05-12;sex=male;"+household))
	b := s.Prepare(mustRecord(t, "given=robert;family=smyth;birth=1970-12-05;"+household))
	r := s.Score(a, b)
	sum := math.Log2(m.Prior / (1 - m.Prior - m.Relatives.Prior))
	e := s.Explain(a, b)
	if len(e) != NumComparisons || r.Relatives >= 0 {
		t.Fatalf("%d explanations, relatives %v", len(e), r.Relatives)
	}
	sum += r.Relatives
	for c, x := range e {
		sum += x.Weight
		if x.LevelIndex != int(r.Levels[c]) || x.Level != LevelLabel(c, x.LevelIndex) {
			t.Errorf("%s: level %d %q, result says %d", x.Comparison, x.LevelIndex, x.Level, r.Levels[c])
		}
	}
	if math.Abs(sum-r.Weight) > 1e-9 {
		t.Errorf("explanation sums to %v, weight %v", sum, r.Weight)
	}
	if e[CompSex].Level != "missing" || e[CompSex].Weight != 0 {
		t.Errorf("missing sex: %+v, want neutral", e[CompSex])
	}
}

// TestTermFrequencies: exact agreement on a common surname weighs less than
// on a rare one, and only when the scorer has frequencies.
func TestTermFrequencies(t *testing.T) {
	var recs []*Prepared
	for i := 0; i < 200; i++ {
		recs = append(recs, PrepareWithoutTF(mustRecord(t, "given=john;family=smith")))
	}
	recs = append(recs, PrepareWithoutTF(mustRecord(t, "given=zebedee;family=quartermaine")))
	tf := BuildTermFrequencies(recs)
	if got := tf.FamilyFrequency("smith"); math.Abs(got-200.0/201) > 1e-12 {
		t.Fatalf("smith frequency %v", got)
	}
	tf.Compact()
	if _, ok := tf.Family["quartermaine"]; ok {
		t.Fatalf("Compact kept a value seen once")
	}
	if got := tf.FamilyFrequency("quartermaine"); got != 1.0/201 {
		t.Fatalf("unseen value frequency %v, want 1/201", got)
	}
	plain := MustScorer(DefaultModel())
	s := plain.WithTermFrequencies(tf)
	common := func(sc *Scorer) float64 {
		a, b := sc.Prepare(mustRecord(t, "given=john;family=smith")), sc.Prepare(mustRecord(t, "given=john;family=smith"))
		return sc.Explain(a, b)[CompFamilyName].Weight
	}
	rare := func(sc *Scorer) (float64, bool) {
		a := sc.Prepare(mustRecord(t, "given=zebedee;family=quartermaine"))
		e := sc.Explain(a, a)[CompFamilyName]
		return e.Weight, e.TFAdjusted
	}
	if common(s) >= common(plain) {
		t.Errorf("smith with TF %v, without %v: a common name should weigh less", common(s), common(plain))
	}
	rw, adj := rare(s)
	if !adj || rw <= common(s) {
		t.Errorf("rare name weight %v (adjusted %v) not above common %v", rw, adj, common(s))
	}
	if w, _ := rare(plain); w != DefaultModel().Comparisons[CompFamilyName].Levels[0].Weight() {
		t.Errorf("no TF: weight %v, want the level weight", w)
	}
	// MinU bounds the adjustment.
	min := DefaultModel().Comparisons[CompFamilyName].TF.MinU
	if want := math.Log2(0.85 / math.Max(1.0/201, min)); math.Abs(rw-want) > 1e-9 {
		t.Errorf("rare weight %v, want %v", rw, want)
	}
}

// TestScoreSymmetricRandom: Score(a,b) == Score(b,a) and weights are finite
// on random records built from a small vocabulary (so that levels vary).
func TestScoreSymmetricRandom(t *testing.T) {
	s := MustScorer(DefaultModel())
	r := rand.New(rand.NewPCG(7, 8))
	givens := []string{"robert", "bob", "roberta", "rob", "susan", "sue", "john", "jon", "joan", "", "unknown"}
	families := []string{"smith", "smyth", "smith jones", "jones", "garcia lopez", "garcia", ""}
	dates := []string{"1970-05-12", "1970-12-05", "1970-05-13", "1970-05", "1971", "1995-02-03", "", "1900-01-01"}
	pick := func(xs []string) string { return xs[r.IntN(len(xs))] }
	mk := func() *Prepared {
		spec := "given=" + pick(givens) + ";family=" + pick(families) + ";birth=" + pick(dates) +
			";sex=" + pick([]string{"male", "female", ""}) +
			";suffix=" + pick([]string{"", "", "jr", "sr"}) +
			";number=" + pick([]string{"12", "14", ""}) + ";street=" + pick([]string{"main", "mian", ""}) +
			";postal=" + pick([]string{"2600", "2609", ""}) + ";phone=" + pick([]string{"0262771234", "0362771234", ""}) +
			";ssn=" + pick([]string{"4227775", "4227757", "", "9967942"})
		return s.Prepare(mustRecord(t, spec))
	}
	for i := 0; i < 3000; i++ {
		a, b := mk(), mk()
		ab, ba := s.Score(a, b), s.Score(b, a)
		if ab != ba {
			t.Fatalf("not symmetric: %+v vs %+v", ab, ba)
		}
		if math.IsNaN(ab.Weight) || math.IsInf(ab.Weight, 0) {
			t.Fatalf("weight %v", ab.Weight)
		}
	}
}

func TestScorePairAllocatesNothing(t *testing.T) {
	s := MustScorer(DefaultModel())
	a := s.Prepare(mustRecord(t, "given=robert;family=smith jones;birth=1970-05-12;sex=male;ssn=4227775;email=r@x.com;"+household))
	b := s.Prepare(mustRecord(t, "given=bob;family=smyth;birth=1970-12-05;sex=male;ssn=4227757;number=14;street=mian;type=st;postal=2609;phone=0262771235"))
	if n := testing.AllocsPerRun(100, func() { s.Score(a, b) }); n != 0 {
		t.Errorf("Score allocates %v times per pair", n)
	}
}

func TestModelJSONRoundTrip(t *testing.T) {
	m := DefaultModel()
	recs := []*Prepared{PrepareWithoutTF(mustRecord(t, "given=john;family=smith")), PrepareWithoutTF(mustRecord(t, "given=john;family=smith"))}
	m.TermFrequencies = BuildTermFrequencies(recs)
	m.Training = &TrainingInfo{Records: 2, Passes: []PassStats{{Name: "p", Pairs: 1, Lambda: 0.5}}, Warnings: []string{"w"}}
	var first bytes.Buffer
	if err := m.WriteJSON(&first); err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadModel(bytes.NewReader(first.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var second bytes.Buffer
	if err := loaded.WriteJSON(&second); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.Bytes(), second.Bytes()) {
		t.Fatalf("round trip changed the JSON:\n%s\n---\n%s", first.String(), second.String())
	}
	s1, s2 := MustScorer(m), MustScorer(loaded)
	a := s1.Prepare(mustRecord(t, "given=john;family=smith;birth=1970-05-12;"+household))
	b := s1.Prepare(mustRecord(t, "given=jon;family=smith;birth=1970-05-13"))
	a2 := s2.Prepare(mustRecord(t, "given=john;family=smith;birth=1970-05-12;"+household))
	b2 := s2.Prepare(mustRecord(t, "given=jon;family=smith;birth=1970-05-13"))
	if s1.Score(a, b) != s2.Score(a2, b2) || s1.Score(a, a) != s2.Score(a2, a2) {
		t.Fatalf("scores differ after round trip")
	}
}

func TestValidate(t *testing.T) {
	if err := DefaultModel().Validate(); err != nil {
		t.Fatalf("default model invalid: %v", err)
	}
	cases := map[string]func(m *Model){
		"prior":          func(m *Model) { m.Prior = 0 },
		"thresholds":     func(m *Model) { m.Thresholds.Certain = 0.5 },
		"missing comp":   func(m *Model) { m.Comparisons = m.Comparisons[:3] },
		"renamed":        func(m *Model) { m.Comparisons[1].Name = "surname" },
		"level label":    func(m *Model) { m.Comparisons[0].Levels[1].Label = "nick" },
		"zero u":         func(m *Model) { m.Comparisons[2].Levels[0].U = 0 },
		"m sum":          func(m *Model) { m.Comparisons[3].Levels[0].M = 0.5 },
		"tf on birth":    func(m *Model) { m.Comparisons[2].TF = &TFSettings{Enabled: true, MinU: 1e-4} },
		"tf min_u":       func(m *Model) { m.Comparisons[0].TF.MinU = 0 },
		"version":        func(m *Model) { m.Version = 99 },
		"levels dropped": func(m *Model) { m.Comparisons[4].Levels = m.Comparisons[4].Levels[:2] },
	}
	for name, breakIt := range cases {
		m := DefaultModel()
		breakIt(m)
		err := m.Validate()
		if !errors.Is(err, ErrInvalidModel) {
			t.Errorf("%s: Validate = %v, want ErrInvalidModel", name, err)
		}
		if _, err := NewScorer(m); err == nil {
			t.Errorf("%s: NewScorer accepted an invalid model", name)
		}
	}
	if _, err := LoadModel(strings.NewReader(`{"version":1,"bogus":true}`)); !errors.Is(err, ErrInvalidModel) {
		t.Errorf("unknown field: %v", err)
	}
}

func TestTable(t *testing.T) {
	var buf bytes.Buffer
	if err := DefaultModel().Table(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for c := 0; c < NumComparisons; c++ {
		for l := 0; l < NumLevels(c); l++ {
			if !strings.Contains(out, LevelLabel(c, l)) {
				t.Errorf("table lacks %s %s", ComparisonName(c), LevelLabel(c, l))
			}
		}
	}
	if !strings.Contains(out, "+6.41") { // given_name exact: log2(0.85/0.01)
		t.Errorf("table lacks the given exact weight:\n%s", out)
	}
}

func TestNicknamesParse(t *testing.T) {
	nt := defaultNicknames()
	if len(nt.formal) < 200 {
		t.Errorf("only %d nickname groups", len(nt.formal))
	}
	var a, b [maxNickGroups]uint16
	nt.lookup("peggy", &a)
	nt.lookup("margaret", &b)
	if !sharesGroup(&a, &b) {
		t.Errorf("peggy and margaret not equivalent")
	}
	nt.lookup("susan", &b)
	if sharesGroup(&a, &b) {
		t.Errorf("peggy and susan equivalent")
	}
	if _, err := parseNicknames("Bad: x"); err == nil {
		t.Errorf("accepted upper case")
	}
	if _, err := parseNicknames("no colon here"); err == nil {
		t.Errorf("accepted a line without a colon")
	}
}

// FuzzLoadModel: a model file is outside input (--model, DIR/model.json).
// Loading never panics; a model that loads is valid, compiles into a
// scorer, scores a pair to a probability in [0,1], and writes back to JSON
// that loads to the same bytes again.
func FuzzLoadModel(f *testing.F) {
	var seed bytes.Buffer
	if err := DefaultModel().WriteJSON(&seed); err != nil {
		f.Fatal(err)
	}
	f.Add(seed.Bytes())
	f.Add([]byte(`{"version":1}`))
	f.Add([]byte(`{"prior":0.5,"thresholds":{"certain":0.9,"probable":0.8,"possible":0.7}}`))
	a := PrepareWithoutTF(recordOf("robert", "smith", "1970-05-12"))
	b := PrepareWithoutTF(recordOf("bob", "smith", "1970-12-05"))
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := LoadModel(bytes.NewReader(in))
		if err != nil {
			if !errors.Is(err, ErrInvalidModel) {
				t.Fatalf("error %v does not wrap ErrInvalidModel", err)
			}
			return
		}
		s, err := NewScorer(m)
		if err != nil {
			t.Fatalf("a loaded model does not compile: %v", err)
		}
		if p := s.Score(a, b).Probability; !(p >= 0 && p <= 1) {
			t.Fatalf("probability %v", p)
		}
		var out1, out2 bytes.Buffer
		if err := m.WriteJSON(&out1); err != nil {
			t.Fatal(err)
		}
		m2, err := LoadModel(bytes.NewReader(out1.Bytes()))
		if err != nil {
			t.Fatalf("written model does not load: %v\n%s", err, out1.String())
		}
		if err := m2.WriteJSON(&out2); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out1.Bytes(), out2.Bytes()) {
			t.Fatalf("round trip changed the model:\n%s\n%s", out1.String(), out2.String())
		}
	})
}

// TestRelativesClassWithoutCaps: the relatives class, not the hazard
// rules, keeps household members below probable — by posterior alone —
// while a duplicate in the same household keeps its weight.
func TestRelativesClassWithoutCaps(t *testing.T) {
	m := DefaultModel()
	m.Relatives = DefaultRelatives()
	s := MustScorer(m)
	th := DefaultModel().Thresholds
	base := "given=robert;family=smith;birth=1970-05-12;sex=male;" + household
	relatives := map[string]string{
		"twin":         "given=richard;family=smith;birth=1970-05-12;sex=male;" + household,
		"junior":       strings.Replace(base, "1970-05-12", "1995-02-03", 1),
		"sister":       "given=susan;family=smith;birth=1972-01-03;sex=female;" + household,
		"spouse":       "given=mary;family=smith;birth=1971-09-23;sex=female;" + household,
		"brother, ssn": "given=roberto;family=smith;birth=1968-08-30;sex=male;ssn=422777512;" + household,
	}
	for name, spec := range relatives {
		a, b := s.Prepare(mustRecord(t, base+";ssn=422777511")), s.Prepare(mustRecord(t, spec))
		if r := s.Score(a, b); r.Probability >= th.Probable || r.Relatives >= 0 {
			t.Errorf("%s: posterior %.6f (relatives %.2f), want below probable without any cap; %s",
				name, r.Probability, r.Relatives, explainString(s.Explain(a, b)))
		}
	}
	a, b := s.Prepare(mustRecord(t, base)), s.Prepare(mustRecord(t, strings.Replace(base, "robert", "bob", 1)))
	if r := s.Score(a, b); r.Grade != GradeCertain {
		t.Errorf("duplicate in the household: %v p=%.7f, want certain", r.Grade, r.Probability)
	}
}

// TestFuzzyTermFrequencies: a common family name written two ways
// (phonetic, jw>=0.92) weighs less than its level's average, by
// log2(Σf² / f) of the commoner spelling, and so less than a rare
// name's slip at the same level, which keeps the level's weight (it is
// not lifted). Before the adjustment both weighed the level's weight.
// Given names keep their levels' weights (fuzzyTFLevels says why).
func TestFuzzyTermFrequencies(t *testing.T) {
	var recs []*Prepared
	add := func(n int, spec string) {
		for i := 0; i < n; i++ {
			recs = append(recs, PrepareWithoutTF(mustRecord(t, spec)))
		}
	}
	add(40, "given=mohammed;family=hussein")
	add(10, "given=muhammad;family=hussain")
	add(30, "given=william;family=smith")
	add(1, "given=zebedee;family=quartermaine")
	add(2, "given=bartholomew;family=featherstonehaugh")
	for i := 0; i < 917; i++ { // names nobody else carries
		add(1, "given=qy"+letters(i)+";family=zq"+letters(i))
	}
	tf := BuildTermFrequencies(recs)
	// Σ f² of either name: the counts of the population above, the
	// names carried once counting 1 each.
	const meanF = (40*40 + 10*10 + 30*30 + 1 + 2*2 + 917) / 1e6
	for _, c := range []int{CompGivenName, CompFamilyName} {
		if got := tf.agreement(c); math.Abs(got-meanF) > 1e-15 {
			t.Fatalf("agreement(%d) %v, want %v", c, got, meanF)
		}
	}
	tf.Compact() // the names carried once are dropped, and still count
	if got := tf.agreement(CompFamilyName); math.Abs(got-meanF) > 1e-15 {
		t.Fatalf("agreement after Compact %v, want %v", got, meanF)
	}
	s := MustScorer(DefaultModel()).WithTermFrequencies(tf)
	m := DefaultModel()
	cases := []struct {
		name       string
		a, b       string
		comp       int
		level      string
		commonFreq float64 // the commoner spelling's frequency; 0 where the level keeps its weight
	}{
		{"common family phonetic", "given=ann;family=hussein", "given=ann;family=hussain", CompFamilyName, "phonetic", 40.0 / 1000},
		{"rare family slip", "given=ann;family=quartermaine", "given=ann;family=quartermaike", CompFamilyName, "phonetic", 0},
		{"common given phonetic", "given=mohammed;family=x", "given=muhammad;family=x", CompGivenName, "phonetic", 0},
		{"common given nickname", "given=william;family=x", "given=bill;family=x", CompGivenName, "nickname", 0},
		{"rare given slip", "given=bartholomew;family=x", "given=bartholomex;family=x", CompGivenName, "phonetic", 0},
		{"rare given jw>=0.92", "given=bartholomew;family=x", "given=barthxlomew;family=x", CompGivenName, "jw>=0.92", 0},
		{"common family jw>=0.92", "given=ann;family=smith", "given=ann;family=smitk", CompFamilyName, "jw>=0.92", 30.0 / 1000},
		{"common given jw>=0.92", "given=william;family=x", "given=willixm;family=x", CompGivenName, "jw>=0.92", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, b := s.Prepare(mustRecord(t, tc.a)), s.Prepare(mustRecord(t, tc.b))
			e := s.Explain(a, b)[tc.comp]
			if e.Level != tc.level {
				t.Fatalf("level %q, want %q", e.Level, tc.level)
			}
			cm := m.Comparisons[tc.comp]
			want := cm.Levels[e.LevelIndex].Weight()
			if tc.commonFreq > 0 {
				want += math.Log2(meanF / tc.commonFreq)
			}
			if math.Abs(e.Weight-want) > 1e-9 || e.TFAdjusted != (tc.commonFreq > 0) {
				t.Errorf("weight %v (adjusted %v), want %v", e.Weight, e.TFAdjusted, want)
			}
			if tc.commonFreq > 0 && e.Weight >= cm.Levels[e.LevelIndex].Weight()-0.5 {
				t.Errorf("common name's %s weighs %v, not below the level's %v", tc.level, e.Weight, cm.Levels[e.LevelIndex].Weight())
			}
			ab, ba := s.Score(a, b), s.Score(b, a)
			if ab != ba {
				t.Errorf("not symmetric: %+v vs %+v", ab, ba)
			}
		})
	}
}
