package scoring

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/antzucaro/matchr"
)

// realNames are spellings and misspellings the comparators meet.
var realNames = []string{
	"", "a", "ab", "smith", "smyth", "smithe", "jones", "johnson", "jonson", "martha", "marhta",
	"dixon", "dicksonx", "dwayne", "duane", "jellyfish", "smellyfish", "christopher", "chirstopher",
	"garcia lopez", "garcia", "o'brien", "obrien", "macdonald", "mcdonald", "aaaa", "aaab",
	"1980", "1908", "4227775", "4227757", "ca", "abc", "abcdefghijklmnopqrstuvwxyzabcdef",
}

// randomString draws short strings over a small alphabet, so that random
// pairs share letters and exercise transpositions.
func randomString(r *rand.Rand, maxLen int, alphabet string) string {
	n := r.IntN(maxLen + 1)
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

// TestJaroWinklerVersusMatchr checks the byte version against matchr on real
// and random strings.
func TestJaroWinklerVersusMatchr(t *testing.T) {
	check := func(a, b string) {
		t.Helper()
		got, want := JaroWinkler(a, b), matchr.JaroWinkler(a, b, false)
		if math.Abs(got-want) > 1e-12 {
			t.Fatalf("JaroWinkler(%q, %q) = %v, matchr says %v", a, b, got, want)
		}
	}
	for _, a := range realNames {
		for _, b := range realNames {
			check(a, b)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		alpha := "abcde"
		if i%2 == 0 {
			alpha = "abcdefghijklmnopqrstuvwxyz0123456789 "
		}
		check(randomString(r, MaxCompareLen, alpha), randomString(r, 12, alpha))
	}
}

// TestDamerauLevenshteinVersusMatchr checks the byte version against matchr,
// and withinOneEdit against the distance.
func TestDamerauLevenshteinVersusMatchr(t *testing.T) {
	check := func(a, b string) {
		t.Helper()
		got, want := DamerauLevenshtein(a, b), matchr.DamerauLevenshtein(a, b)
		if got != want {
			t.Fatalf("DamerauLevenshtein(%q, %q) = %d, matchr says %d", a, b, got, want)
		}
		if w := withinOneEdit(a, b); w != (got <= 1) {
			t.Fatalf("withinOneEdit(%q, %q) = %v, distance %d", a, b, w, got)
		}
	}
	for _, a := range realNames {
		for _, b := range realNames {
			check(a, b)
		}
	}
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 6000; i++ {
		a := randomString(r, maxDLLen, "abcd")
		// Half the time, b is a with one or two random edits.
		b := randomString(r, maxDLLen, "abcd")
		if i%2 == 0 && len(a) > 1 {
			bs := []byte(a)
			for k := 0; k <= r.IntN(2); k++ {
				j := r.IntN(len(bs) - 1)
				switch r.IntN(4) {
				case 0:
					bs[j], bs[j+1] = bs[j+1], bs[j]
				case 1:
					bs[j] = 'x'
				case 2:
					bs = append(bs[:j], bs[j+1:]...)
				default:
					bs = append(bs[:j], append([]byte{'y'}, bs[j:]...)...)
				}
				if len(bs) < 2 {
					break
				}
			}
			if len(bs) > maxDLLen {
				bs = bs[:maxDLLen]
			}
			b = string(bs)
		}
		check(a, b)
	}
}

// checkComparatorProperties: symmetric, in [0,1], 1 on equal non-empty input.
func checkComparatorProperties(t *testing.T, a, b string) {
	t.Helper()
	for _, f := range []struct {
		name string
		fn   func(a, b string) float64
	}{{"JaroWinkler", JaroWinkler}, {"Similarity", Similarity}} {
		ab, ba := f.fn(a, b), f.fn(b, a)
		if ab != ba {
			t.Fatalf("%s not symmetric: (%q,%q)=%v, reversed %v", f.name, a, b, ab, ba)
		}
		if !(ab >= 0 && ab <= 1) {
			t.Fatalf("%s(%q,%q) = %v, outside [0,1]", f.name, a, b, ab)
		}
		if a != "" && f.fn(a, a) != 1 {
			t.Fatalf("%s(%q,%q) = %v, want 1", f.name, a, a, f.fn(a, a))
		}
	}
	if d, e := DamerauLevenshtein(a, b), DamerauLevenshtein(b, a); d != e || d < 0 {
		t.Fatalf("DamerauLevenshtein(%q,%q) = %d, reversed %d", a, b, d, e)
	}
}

func TestComparatorProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 5000; i++ {
		checkComparatorProperties(t, randomString(r, 20, "abcdef"), randomString(r, 20, "abcdef"))
	}
	for _, a := range realNames {
		for _, b := range realNames {
			checkComparatorProperties(t, a, b)
		}
	}
}

func FuzzCompare(f *testing.F) {
	f.Add("robert", "bob", "1980-03-04", "1980-04-03")
	f.Add("smith jones", "jones", "1980", "1981-01-01")
	f.Add("", "x", "", "0001-01-01")
	f.Add("martha", "marhta", "1980-13-45", "junk")
	s := MustScorer(DefaultModel())
	f.Fuzz(func(t *testing.T, x, y, dx, dy string) {
		checkComparatorProperties(t, x, y)
		ra := recordOf(x, y, dx)
		rb := recordOf(y, x, dy)
		a, b := s.Prepare(ra), s.Prepare(rb)
		ab, ba := s.Score(a, b), s.Score(b, a)
		if ab != ba {
			t.Fatalf("Score not symmetric: %+v vs %+v", ab, ba)
		}
		if math.IsNaN(ab.Weight) || math.IsInf(ab.Weight, 0) {
			t.Fatalf("weight %v", ab.Weight)
		}
		if !(ab.Probability >= 0 && ab.Probability <= 1) {
			t.Fatalf("probability %v", ab.Probability)
		}
		self := s.Score(a, a)
		if self.Weight < ab.Weight {
			t.Fatalf("a record scores %v against itself, less than %v against another", self.Weight, ab.Weight)
		}
	})
}

// TestEmailSlip pins which two different e-mail addresses are one slip of
// one address (emailSlip): one letter substituted, added, dropped
// or two neighbours swapped (in the domain a sign too), never a digit or
// the first character.
func TestEmailSlip(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"hday48@thomas-carter.com", "hday48@thomas-carter.ocm", true}, // swapped neighbours
		{"dmacdonald@rivers-glass.biz", "dracdonald@rivers-glass.biz", true},
		{"aishab64@obrien-flores.com", "aishab64@obrien-flocres.com", true}, // one added
		{"aishab64@obrien-flocres.com", "aishab64@obrien-flores.com", true}, // one dropped
		{"fholmes@duncan.com", "fholms@duncan.com", true},                   // a letter dropped in the handle
		{"r.m51@leonard.net", "r..m51@leonard.net", false},                  // a sign in the handle
		{"john.smith@gmail.com", "johnsmith@gmail.com", false},              // namesakes' handles
		{"victoria.person@mail.com", "victoria_person@mail.com", false},     // namesakes' handles
		{"fholmes@duncan.com", "f@holmes@duncan.com", false},
		{"jt40@combs.net", "jt40@comsb.net", true},
		{"ann@mail-box.com", "ann@mailbox.com", true},       // a sign in the domain
		{"a@b.co", "a@b.co", false},                         // equal: not a slip, agreement
		{"jsmith@mail.com", "jsmith7@mail.com", false},      // a digit added: another account
		{"john12@mail.com", "john13@mail.com", false},       // a digit substituted
		{"msmith@mail.com", "jsmith@mail.com", false},       // another initial
		{"j.c65@ortiz.com", "jc@ortiz.com", false},          // two edits
		{"ab.cd@mail.com", "ba.cd@mail.com", false},         // swap at the first character
		{"anna.lee@mail.com", "anna.lee@mail.co.uk", false}, // more than one
		{"", "a@b.c", false},
	} {
		if got := emailSlip(c.a, c.b); got != c.want {
			t.Errorf("emailSlip(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
		if got := emailSlip(c.b, c.a); got != c.want {
			t.Errorf("emailSlip(%q, %q) = %v, want %v (not symmetric)", c.b, c.a, got, c.want)
		}
	}
}
