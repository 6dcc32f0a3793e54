package scoring

import (
	"testing"
)

// benchPairs are typical candidate pairs: a near duplicate, a household
// member, a stranger; and, for the second given names the given-name
// comparator reads (secondsConflict, joinedAlike), brothers sharing a
// first given name ("Juan Carlos", "Juan Pablo") and strangers with a
// middle name of joinable length.
func benchPairs(b *testing.B, s *Scorer) [][2]*Prepared {
	specs := [][2]string{
		{"given=robert;family=smith jones;birth=1970-05-12;sex=male;ssn=4227775;email=r@x.com;" + household,
			"given=bob;family=smyth;birth=1970-12-05;sex=male;ssn=4227757;number=14;street=mian;type=st;postal=2609;phone=0262771235"},
		{"given=christopher;family=fitzgerald;birth=1970-05-12;" + household,
			"given=christina;family=fitzgerald;birth=1972-01-03;" + household},
		{"given=alexandra;family=kowalczyk;birth=1981-02-03;postal=4870;city=cairns",
			"given=margaret;family=thompson;birth=1955-11-30;postal=2600;city=canberra"},
		{"given=juan;middle=carlos;family=garcia lopez;birth=2010-03-04;" + household,
			"given=juan;middle=pablo;family=garcia;birth=2012-07-04;" + household},
		{"given=alexandra;middle=jo;family=kowalczyk;birth=1981-02-03;postal=4870;city=cairns",
			"given=margaret;middle=ann;family=thompson;birth=1955-11-30;postal=2600;city=canberra"},
	}
	var out [][2]*Prepared
	for _, sp := range specs {
		out = append(out, [2]*Prepared{s.Prepare(mustRecord(b, sp[0])), s.Prepare(mustRecord(b, sp[1]))})
	}
	return out
}

func BenchmarkScorePair(b *testing.B) {
	s := MustScorer(DefaultModel())
	pairs := benchPairs(b, s)
	b.ReportAllocs()
	b.ResetTimer()
	var sink float64
	for i := 0; i < b.N; i++ {
		p := pairs[i%len(pairs)]
		sink += s.Score(p[0], p[1]).Weight
	}
	_ = sink
}

func BenchmarkPrepare(b *testing.B) {
	s := MustScorer(DefaultModel())
	r := mustRecord(b, "given=christopher;family=smith jones;birth=1970-05-12;sex=male;ssn=4227775;email=r@x.com;"+household)
	var p Prepared
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.PrepareInto(&p, r)
	}
}
