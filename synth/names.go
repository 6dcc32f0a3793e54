package synth

import (
	"math"
	"math/rand/v2"
	"strings"
	"unicode"
)

// Surname draws: the embedded table carries the head of the distribution and
// generated names the long tail. The tail continues the curve with density
// ∝ 1/rank over ranks [tailFirst, tailLast] (log-uniform), so the least common
// table name and the most common generated name have about the same
// frequency, and the whole curve is Zipf-like. tableShare is the share of
// people whose surname is in the table: in the US the few hundred commonest
// surnames cover roughly a quarter to a third of people.
const (
	tableShare = 0.28
	tailFirst  = 361
	tailLast   = 500_000

	rareGivenShare = 0.06 // given names outside the tables
	rareGivenLast  = 20_000
)

func (g *Generator) surname(r *rand.Rand) string {
	if g.comm != nil {
		return g.comm.family.draw(r)
	}
	if r.Float64() < tableShare {
		return g.t.surnames.names[g.t.surnames.pick(r.Float64())]
	}
	rank := logUniform(r, tailFirst, tailLast)
	return tailSurname(rank)
}

func (g *Generator) givenName(r *rand.Rand, sex byte) string {
	if g.comm != nil {
		return g.worldGiven(r, sex)
	}
	if r.Float64() < rareGivenShare {
		return rareGiven(logUniform(r, 1, rareGivenLast), sex)
	}
	t := &g.t.male
	if sex == 'F' {
		t = &g.t.female
	}
	return t.names[t.pick(r.Float64())]
}

// logUniform draws an integer rank in [lo, hi] with density ∝ 1/rank.
func logUniform(r *rand.Rand, lo, hi int) uint64 {
	x := float64(lo) * math.Pow(float64(hi)/float64(lo), r.Float64())
	return uint64(x)
}

var (
	onsets = []string{"b", "br", "c", "ch", "cr", "d", "dr", "f", "g", "gr", "h", "j", "k", "kl", "l", "m", "n", "p", "pr", "r", "s", "sh", "st", "t", "tr", "v", "w", "z"}
	vowels = []string{"a", "e", "i", "o", "u", "a", "e", "o", "ai", "ea", "ou", "y", "ie"}
	codas  = []string{"", "", "", "n", "r", "l", "s", "t", "m", "nd", "rk", "ck", "st", "x"}
	// endings common in US surnames of English, German, Slavic, Italian,
	// Spanish, Scandinavian and Armenian origin.
	endings = []string{"son", "sen", "man", "berg", "ski", "ez", "ton", "ley", "er", "ford", "wood", "stein", "ovich", "ian", "elli", "ard", "well", "ner", "ino", "ova", "field", "by", "dale", "ak"}

	givenEndM = []string{"o", "an", "el", "us", "on", "ie", "ar", "im"}
	givenEndF = []string{"a", "ia", "elle", "ina", "ette", "lyn", "ah", "ie"}
)

// tailSurname turns a tail rank into a name. It is a pure function of rank, so
// the same rank always gives the same name and frequent ranks give frequent
// names.
func tailSurname(rank uint64) string {
	h := splitmix(rank ^ 0x5eed5eed)
	var b strings.Builder
	b.Grow(16)
	syl := 1
	if h%10 < 3 {
		syl = 2
	}
	h /= 10
	for range syl {
		b.WriteString(onsets[h%uint64(len(onsets))])
		h /= uint64(len(onsets))
		b.WriteString(vowels[h%uint64(len(vowels))])
		h /= uint64(len(vowels))
		b.WriteString(codas[h%uint64(len(codas))])
		h /= uint64(len(codas))
	}
	if h%4 != 0 {
		b.WriteString(endings[(h/4)%uint64(len(endings))])
	}
	return title(b.String())
}

func rareGiven(rank uint64, sex byte) string {
	h := splitmix(rank ^ 0x61e0)
	var b strings.Builder
	b.WriteString(onsets[h%uint64(len(onsets))])
	h /= uint64(len(onsets))
	b.WriteString(vowels[h%uint64(len(vowels))])
	h /= uint64(len(vowels))
	b.WriteString(codas[h%uint64(len(codas))])
	h /= uint64(len(codas))
	ends := givenEndM
	if sex == 'F' {
		ends = givenEndF
	}
	b.WriteString(ends[h%uint64(len(ends))])
	return title(b.String())
}

// splitmix is the SplitMix64 finaliser: a fast, well-mixed hash of x.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// title upper-cases the first letter of each word (after space, hyphen or
// apostrophe) and lower-cases the rest.
func title(s string) string {
	b := []byte(strings.ToLower(s))
	up := true
	for i, c := range b {
		if up && c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
		up = c == ' ' || c == '-' || c == '\''
	}
	return string(b)
}

// phoneticRules rewrite a spelling into one that sounds the same or nearly:
// what a clerk writes when a name is spelled aloud badly.
var phoneticRules = [...][2]string{
	{"ph", "f"}, {"f", "ph"}, {"ck", "k"}, {"c", "k"}, {"k", "c"}, {"y", "i"},
	{"i", "y"}, {"ie", "y"}, {"ey", "y"}, {"son", "sen"}, {"sen", "son"},
	{"th", "t"}, {"ll", "l"}, {"tt", "t"}, {"nn", "n"}, {"mm", "m"},
	{"ss", "s"}, {"z", "s"}, {"s", "z"}, {"ei", "ie"}, {"ou", "ow"},
	{"ay", "ai"}, {"ee", "ea"}, {"er", "ar"}, {"man", "mann"}, {"mc", "mac"},
	{"x", "ks"}, {"gh", "g"}, {"dt", "t"},
}

// phonetic rewrites one applicable spelling of name; ok is false when no rule
// applies (the name is returned unchanged).
func phonetic(r *rand.Rand, name string) (string, bool) {
	low := strings.ToLower(name)
	var cands [len(phoneticRules)]int
	n := 0
	for i, rule := range phoneticRules {
		// Never touch the first letter: a changed initial is a typo, not a
		// phonetic spelling, and most phonetic codes keep it.
		if j := strings.Index(low[1:], rule[0]); j >= 0 {
			cands[n] = i
			n++
		}
	}
	if n == 0 {
		return name, false
	}
	rule := phoneticRules[cands[r.IntN(n)]]
	j := 1 + strings.Index(low[1:], rule[0])
	out := low[:j] + rule[1] + low[j+len(rule[0]):]
	return restoreCase(name, out), true
}

// restoreCase gives out the casing style of like (upper, lower or title).
func restoreCase(like, out string) string {
	switch {
	case like == strings.ToUpper(like):
		return strings.ToUpper(out)
	case like == strings.ToLower(like):
		return out
	default:
		return title(out)
	}
}

// keyboard neighbours on a QWERTY layout, for substitution typos.
var neighbours = map[byte]string{
	'a': "qwsz", 'b': "vghn", 'c': "xdfv", 'd': "serfcx", 'e': "wsdr",
	'f': "drtgvc", 'g': "ftyhbv", 'h': "gyujnb", 'i': "ujko", 'j': "huikmn",
	'k': "jiolm", 'l': "kop", 'm': "njk", 'n': "bhjm", 'o': "iklp",
	'p': "ol", 'q': "wa", 'r': "edft", 's': "awedxz", 't': "rfgy",
	'u': "yhji", 'v': "cfgb", 'w': "qase", 'x': "zsdc", 'y': "tghu", 'z': "asx",
}

// typoKind names the four single-edit typos.
type typoKind int

const (
	typoInsert typoKind = iota
	typoDelete
	typoSubstitute
	typoTranspose
)

// typo applies one edit of kind k to s, keeping the result at least two
// letters long and never identical to s when that is possible.
func typo(r *rand.Rand, s string, k typoKind) string {
	b := []byte(stripAccents(s)) // edits by byte; the ASCII names are unchanged
	switch {
	case len(b) < 3:
		k = typoInsert
	case len(b) < 4 && k != typoInsert:
		k = typoSubstitute
	}
	upper := len(b) > 0 && unicode.IsUpper(rune(b[len(b)-1]))
	letter := func(near byte) byte {
		lc := near | 0x20
		c := byte('a' + r.IntN(26))
		if nb, ok := neighbours[lc]; ok {
			c = nb[r.IntN(len(nb))]
		}
		if upper {
			c -= 'a' - 'A'
		}
		return c
	}
	switch k {
	case typoInsert:
		i := 1 + r.IntN(len(b))
		if i > len(b) {
			i = len(b)
		}
		near := byte('e')
		if len(b) > 0 {
			near = b[i-1]
		}
		b = append(b[:i], append([]byte{letter(near)}, b[i:]...)...)
	case typoDelete:
		i := 1 + r.IntN(len(b)-1)
		b = append(b[:i], b[i+1:]...)
	case typoSubstitute:
		i := 1 + r.IntN(len(b)-1)
		b[i] = letter(b[i])
	case typoTranspose:
		// Swap two adjacent, different letters after the first.
		for range 4 {
			i := 1 + r.IntN(len(b)-2)
			if b[i] != b[i+1] {
				b[i], b[i+1] = b[i+1], b[i]
				break
			}
		}
	}
	return string(b)
}
