// Package testgen generates small seeded sets of test patients for the
// store and index tests: households whose members are distinct people, and
// duplicates with typical registration errors (typos, nickname, swapped
// names, transposed birth date, moved, missing fields); Entity says which
// records are one person. Only tests import it.
package testgen

import (
	"fmt"
	"math/rand/v2"

	"github.com/patientmatch/patientmatch/record"
)

var (
	genGiven = []string{"james", "mary", "robert", "patricia", "john", "jennifer", "michael", "linda",
		"william", "elizabeth", "david", "barbara", "richard", "susan", "joseph", "jessica", "thomas",
		"sarah", "charles", "karen", "christopher", "nancy", "daniel", "lisa", "matthew", "betty",
		"anthony", "margaret", "mark", "sandra", "donald", "ashley", "steven", "kimberly", "paul",
		"emily", "andrew", "donna", "joshua", "michelle", "kenneth", "dorothy", "kevin", "carol",
		"brian", "amanda", "george", "melissa", "timothy", "deborah", "aaliyah", "xavier", "zelda"}
	genFamily = []string{"smith", "johnson", "williams", "brown", "jones", "garcia", "miller", "davis",
		"rodriguez", "martinez", "hernandez", "lopez", "gonzalez", "wilson", "anderson", "thomas",
		"taylor", "moore", "jackson", "martin", "lee", "perez", "thompson", "white", "harris",
		"sanchez", "clark", "ramirez", "lewis", "robinson", "walker", "young", "allen", "king",
		"wright", "scott", "torres", "nguyen", "hill", "flores", "green", "adams", "nelson", "baker",
		"hall", "rivera", "campbell", "mitchell", "carter", "roberts", "okonkwo", "vandermeer"}
	genStreets = []string{"main", "oak", "pine", "maple", "cedar", "elm", "washington", "lake", "hill",
		"park", "view", "church", "mill", "river", "spring", "north", "south", "ridge", "sunset", "forest"}
	genNick = map[string]string{"robert": "bob", "william": "bill", "elizabeth": "liz", "james": "jim",
		"margaret": "peggy", "richard": "dick", "joseph": "joe", "thomas": "tom", "michael": "mike",
		"christopher": "chris", "daniel": "dan", "jennifer": "jenny", "patricia": "pat", "kimberly": "kim"}
)

// Record is one generated patient and the person (entity) it is.
type Record struct {
	Rec    record.Record
	Entity int
}

// Generate returns about n records (people with duplicates), seeded.
func Generate(n int, seed uint64) []Record {
	rng := rand.New(rand.NewPCG(seed, 0x1de))
	var out []Record
	entity := 0
	for len(out) < n {
		// One household.
		fam := genFamily[rng.IntN(len(genFamily))]
		if rng.IntN(5) == 0 {
			fam = fmt.Sprintf("%s%s", fam[:len(fam)/2+1], genFamily[rng.IntN(len(genFamily))]) // rarer names
		}
		addr := record.Address{
			Number:     fmt.Sprint(1 + rng.IntN(9999)),
			Street:     genStreets[rng.IntN(len(genStreets))],
			StreetType: "st",
			City:       "springfield",
			PostalCode: fmt.Sprintf("%05d", 10000+rng.IntN(2000)),
		}
		phone := fmt.Sprintf("+1555%07d", rng.IntN(10_000_000))
		members := 1 + rng.IntN(4)
		year := 1940 + rng.IntN(60)
		for m := 0; m < members && len(out) < n; m++ {
			entity++
			r := record.Record{
				Family:  fam,
				Given:   genGiven[rng.IntN(len(genGiven))],
				Address: addr,
				Phone:   phone,
				BirthDate: record.Date{Year: year + 25*min(m, 1) + rng.IntN(3), Month: 1 + rng.IntN(12),
					Day: 1 + rng.IntN(28), Valid: true},
				Sex: record.Sex(1 + rng.IntN(2)),
			}
			if m == 0 && rng.IntN(3) == 0 {
				r.Identifiers = []record.Identifier{{Type: record.IDSSN, Value: fmt.Sprintf("%09d", 100000000+rng.IntN(800000000))}}
			}
			if rng.IntN(4) == 0 {
				r.Email = fmt.Sprintf("%s.%s%d@mail.test.org", r.Given, fam, rng.IntN(100))
			}
			out = append(out, Record{r, entity})
			for d := 0; d < dupCount(rng) && len(out) < n; d++ {
				out = append(out, Record{corrupt(rng, r), entity})
			}
		}
	}
	for i := range out {
		out[i].Rec.ID = fmt.Sprintf("p%06d", i)
		out[i].Rec.BirthDate.Text = fmt.Sprintf("%04d-%02d-%02d", out[i].Rec.BirthDate.Year, out[i].Rec.BirthDate.Month, out[i].Rec.BirthDate.Day)
	}
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func dupCount(rng *rand.Rand) int {
	switch x := rng.IntN(10); {
	case x < 7:
		return 0
	case x < 9:
		return 1
	default:
		return 2
	}
}

// corrupt returns a duplicate of r with one to three errors.
func corrupt(rng *rand.Rand, r record.Record) record.Record {
	d := r
	d.Identifiers = append([]record.Identifier(nil), r.Identifiers...)
	for e := 0; e < 1+rng.IntN(3); e++ {
		switch rng.IntN(9) {
		case 0:
			d.Given = typo(rng, d.Given)
		case 1:
			d.Family = typo(rng, d.Family)
		case 2:
			if nick, ok := genNick[d.Given]; ok {
				d.Given = nick
			} else {
				d.Given = typo(rng, d.Given)
			}
		case 3:
			d.Given, d.Family = d.Family, d.Given
		case 4:
			if d.BirthDate.Day <= 12 {
				d.BirthDate.Day, d.BirthDate.Month = d.BirthDate.Month, d.BirthDate.Day
			} else {
				d.BirthDate.Day = 1 + rng.IntN(28)
			}
		case 5:
			d.Address = record.Address{Number: fmt.Sprint(1 + rng.IntN(999)), Street: genStreets[rng.IntN(len(genStreets))],
				City: "shelbyville", PostalCode: fmt.Sprintf("%05d", 20000+rng.IntN(2000))}
			d.Phone = ""
		case 6:
			d.Phone = ""
			d.Email = ""
		case 7:
			d.BirthDate.Year += 1 - 2*rng.IntN(2)
		case 8:
			d.Address.PostalCode = ""
		}
	}
	return d
}

// typo applies one keyboard-style error: substitution, deletion,
// insertion or transposition.
func typo(rng *rand.Rand, s string) string {
	if len(s) < 3 {
		return s
	}
	b := []byte(s)
	i := 1 + rng.IntN(len(b)-2)
	switch rng.IntN(4) {
	case 0:
		b[i] = byte('a' + rng.IntN(26))
	case 1:
		b = append(b[:i], b[i+1:]...)
	case 2:
		b = append(b[:i], append([]byte{byte('a' + rng.IntN(26))}, b[i:]...)...)
	default:
		b[i], b[i+1] = b[i+1], b[i]
	}
	return string(b)
}
