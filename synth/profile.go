package synth

import (
	"fmt"
	"math/rand/v2"
	"slices"
)

// Profile is the shape of a generated data set. The default profile is a
// US-style registry of households; the others are there to check that the
// matcher generalizes to data unlike the data it was built on
// (MATCHING-NOTES "Data you have not seen"). No constant of the matcher may
// be tuned to any of them: they are judged on the whole accuracy table.
type Profile string

// The profiles.
const (
	// ProfileHousehold (the default): households with spouses, children,
	// twins, juniors and siblings; twelve fields; MRNs drawn at random.
	ProfileHousehold Profile = "household"
	// ProfileRegistry is the household profile as one hospital's registry
	// holds it: MRNs issued sequentially in registration order, so a family
	// registering together (and newborn twins) get consecutive numbers, and
	// a second registration of a person a much later one; and namesakes —
	// unrelated people with the same full name and birth date, living
	// elsewhere.
	ProfileRegistry Profile = "registry"
	// ProfileCivil is sparse historical civil records: given and family
	// name (the family name often missing), birth date (day and month
	// often swapped), sex often missing, and the place of birth as city and
	// postal code instead of an address; no contacts or identifiers. Some
	// people have many records (up to 20 extra).
	ProfileCivil Profile = "civil"
	// ProfileNames is names and birth date only, with typos in both.
	ProfileNames Profile = "names"
	// ProfileInsured is the household profile with an insurance member
	// number beside the MRN, and the registry's namesakes: a household is
	// covered by one plan (most are), and its payer either gives the whole
	// family the subscriber's number or adds a person suffix to it. The
	// number carries the payer as its system and the v2-0203 type MB, a
	// kind the matcher does not classify: a value that agrees may be one
	// person's or a whole family's.
	ProfileInsured Profile = "insured"
	// ProfileWorld is the household profile as a registry of a diverse
	// city holds it: households of several naming traditions (world.go),
	// whose names are written differently from record to record —
	// compound given names (twins María Lucía and María Alejandra), two
	// family names and particles, family-first order, given and middle
	// swapped, adopted English names and short forms, transliterations —
	// communities with few family names (Nguyen, Kim, Lee, Wang, Patel),
	// so namesakes are common, and adults born abroad whose unknown birth
	// date is recorded as 1 January.
	ProfileWorld Profile = "world"
)

// Profiles returns every profile, the default first.
func Profiles() []Profile {
	return []Profile{ProfileHousehold, ProfileRegistry, ProfileCivil, ProfileNames, ProfileInsured, ProfileWorld}
}

func profileNames() []string {
	var out []string
	for _, p := range Profiles() {
		out = append(out, string(p))
	}
	return out
}

func (p Profile) valid() bool { return p == "" || slices.Contains(Profiles(), p) }

// is reports whether p is q, the empty profile being the default.
func (p Profile) is(q Profile) bool {
	if p == "" {
		p = ProfileHousehold
	}
	return p == q
}

// extraRecords draws how many extra records a person with duplicates gets:
// 1–3, or in the civil profile a long tail up to 20 (a person recorded at
// every birth, marriage and death of the family).
func (g *Generator) extraRecords(r *rand.Rand) int {
	if g.opts.Profile.is(ProfileCivil) {
		n := 1
		for n < 20 && r.Float64() < 0.6 {
			n++
		}
		return n
	}
	extra := 1
	if u := r.Float64(); u > 0.9 {
		extra = 3
	} else if u > 0.6 {
		extra = 2
	}
	return extra
}

// mrnFor returns a fresh MRN: a keyed permutation of the counter (random
// looking) by default, the counter itself in the registry profile, where
// numbers are handed out in registration order.
func (g *Generator) mrnFor() string {
	g.mrnSeq++
	if g.opts.Profile.is(ProfileRegistry) {
		return fmt.Sprintf("%09d", 100_000_000+g.mrnSeq)
	}
	return fmt.Sprintf("%09d", permuteBelow(g.mrnSeq, 900_000_000, g.idKey^0x3a)+100_000_000)
}

// namesakeShare is the share of people of the registry and insured
// profiles who carry the full name and birth date of someone in another
// household.
const namesakeShare = 0.02

// namesakeRing bounds the earlier people a namesake is drawn from.
const namesakeRing = 1024

// namesake is what two namesakes share.
type namesake struct {
	sex                   byte
	given, middle, family string
	birth                 date
}

// namesakes, in the registry and insured profiles, makes some of the household's people
// namesakes of people of earlier households (same sex, names and birth
// date; everything else their own), and remembers this household's people
// for later ones.
func (g *Generator) namesakes(r *rand.Rand) {
	if !g.opts.Profile.is(ProfileRegistry) && !g.opts.Profile.is(ProfileInsured) {
		return
	}
	for i := range g.people {
		p := &g.people[i]
		if len(g.ring) > 0 && p.hazards&(HazTwin|HazJunior|HazSenior) == 0 && r.Float64() < namesakeShare {
			n := g.ring[r.IntN(len(g.ring))]
			p.sex, p.given, p.middle, p.family, p.birth = n.sex, n.given, n.middle, n.family, n.birth
			p.maiden = ""
			continue
		}
		n := namesake{p.sex, p.given, p.middle, p.family, p.birth}
		if len(g.ring) < namesakeRing {
			g.ring = append(g.ring, n)
		} else {
			g.ring[r.IntN(namesakeRing)] = n
		}
	}
}

// profileView changes a record's view to what the profile records, before
// formatting: in the civil profile the place of birth stays (an address
// change is no error there), the family name and sex are often missing
// and day and month are often swapped.
func (g *Generator) profileView(r *rand.Rand, p *person, v *view) {
	switch {
	case g.opts.Profile.is(ProfileCivil):
		v.addr, v.noAddr = p.addr, r.Float64() < 0.1
		if r.Float64() < 0.35 {
			v.family = ""
			v.hazards |= HazMissing
		}
		if r.Float64() < 0.3 {
			v.sex = ""
		}
		if len(v.birth) == 10 && v.hazards&HazDayMonth == 0 && r.Float64() < 0.1 {
			y, m, d := v.birth[:4], v.birth[5:7], v.birth[8:10]
			if m != d && d <= "12" {
				v.birth = y + "-" + d + "-" + m
				v.hazards |= HazDayMonth
			}
		}
		v.suffix = ""
	case g.opts.Profile.is(ProfileNames):
		v.suffix = ""
	}
}

// profileRow blanks the columns the profile does not record.
func (g *Generator) profileRow(r *rand.Rand, row *Row) {
	c := &row.Cols
	keep := func(cols ...int) {
		for i := ColFamily; i < NumCols; i++ {
			if !slices.Contains(cols, i) {
				c[i] = ""
			}
		}
	}
	switch {
	case g.opts.Profile.is(ProfileCivil):
		keep(ColFamily, ColGiven, ColMiddle, ColBirthDate, ColSex, ColCity, ColPostalCode)
		if len(c[ColPostalCode]) > 5 {
			c[ColPostalCode] = c[ColPostalCode][:5]
		}
		if r.Float64() < 0.4 {
			c[ColPostalCode] = ""
		}
	case g.opts.Profile.is(ProfileNames):
		keep(ColFamily, ColGiven, ColBirthDate)
	}
}
