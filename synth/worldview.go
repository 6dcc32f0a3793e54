package synth

import (
	"math/rand/v2"
	"strings"
)

// worldView writes a world-profile person's names as one clerk records
// them, before any error of a duplicate: every record draws its own way
// of writing a compound given name, two family names, a particle, a
// two-syllable East Asian given name, the order of the names, an
// adopted or short form and a spelling; and half the records come from a
// system without accents. Each way other than the usual one marks the
// record with its hazard.
func (g *Generator) worldView(r *rand.Rand, p *person, v *view) {
	c := p.comm
	if c == nil {
		return
	}
	v.given = respell(r, c, c.givenTable(p.sex), p.given, v)
	if p.middle != "" && v.middle != "" && len(v.middle) > 1 {
		v.middle = respell(r, c, c.givenTable(p.sex), p.middle, v)
	}
	v.family = respell(r, c, c.family, p.family, v)
	if p.compound {
		compoundGiven(r, p, v)
	}
	if strings.Contains(v.given, " ") && !p.compound {
		syllables(r, v)
	}
	g.familyForm(r, p, v)
	switch {
	case p.alias != "" && r.Float64() < c.useAlias:
		if r.Float64() < 0.4 {
			v.middle = v.given // the birth name kept as middle name
		} else {
			v.middle = ""
		}
		v.given = p.alias
		v.hazards |= HazAlias
	case c.useShort > 0 && c.givenTable(p.sex).short[p.given] != "" && r.Float64() < c.useShort:
		v.given = c.givenTable(p.sex).short[p.given]
		v.hazards |= HazAlias
	}
	switch {
	case r.Float64() < c.familyFirst && v.family != "":
		v.given, v.family = v.family, v.given
		v.hazards |= HazOrder
	case v.middle != "" && len(v.middle) > 1 && r.Float64() < c.middleFirst:
		v.given, v.middle = v.middle, v.given
		v.hazards |= HazOrder
	}
	if r.Float64() < 0.5 {
		v.given, v.middle, v.family = stripAccents(v.given), stripAccents(v.middle), stripAccents(v.family)
	}
}

func (c *community) givenTable(sex byte) *nameTable {
	if sex == 'F' {
		return c.female
	}
	return c.male
}

// respell returns name, or at the community's rate another of its
// spellings (Mohammed, Muhammad, Mohamed), marking v.
func respell(r *rand.Rand, c *community, t *nameTable, name string, v *view) string {
	forms := t.forms[name]
	if len(forms) < 2 || r.Float64() >= c.respell {
		return name
	}
	v.hazards |= HazRespelled
	return forms[1+r.IntN(len(forms)-1)]
}

// compoundGiven writes a compound given name ("María Lucía") as one given
// name of two words, as given and middle name, with the second as an
// initial, or the first alone.
func compoundGiven(r *rand.Rand, p *person, v *view) {
	switch u := r.Float64(); {
	case u < 0.40:
		v.given, v.middle = v.given+" "+p.middle, ""
	case u < 0.75:
		v.middle = p.middle
		return
	case u < 0.85:
		v.middle = initial(p.middle)
	default:
		v.middle = ""
	}
	v.hazards |= HazCompound
}

// syllables writes a two-syllable East Asian given name ("Xiao Ming") as
// two words, joined ("Xiaoming") or hyphenated ("Xiao-Ming").
func syllables(r *rand.Rand, v *view) {
	a, b, _ := strings.Cut(v.given, " ")
	switch u := r.Float64(); {
	case u < 0.40:
		return
	case u < 0.75:
		v.given = a + strings.ToLower(b)
	default:
		v.given = a + "-" + b
	}
	v.hazards |= HazCompound
}

// familyForm writes two family names ("García López") in full, hyphenated,
// the first alone, or the second as a middle name; and a family name with
// a particle ("De la Cruz") as it is, joined ("Delacruz") or without its
// particles ("Cruz").
func (g *Generator) familyForm(r *rand.Rand, p *person, v *view) {
	if words := strings.Fields(v.family); len(words) > 1 && isParticle(words[0]) {
		switch u := r.Float64(); {
		case u < 0.60:
		case u < 0.80:
			v.family = words[0] + strings.ToLower(strings.Join(words[1:], ""))
			v.hazards |= HazFamilyForm
		default:
			v.family = words[len(words)-1]
			v.hazards |= HazFamilyForm
		}
	}
	if p.family2 == "" {
		return
	}
	second := respell(r, p.comm, p.comm.family, p.family2, v)
	switch u := r.Float64(); {
	case u < 0.45:
		v.family += " " + second
		return
	case u < 0.55:
		v.family += "-" + second
	case u < 0.90:
	default:
		v.middle = second
	}
	v.hazards |= HazFamilyForm
}

// isParticle reports whether w begins a family name with particles.
func isParticle(w string) bool {
	switch strings.ToLower(w) {
	case "de", "del", "la", "los", "las", "van", "von":
		return true
	}
	return false
}
