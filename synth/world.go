package synth

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// The world profile: a registry of a diverse city (MATCHING-NOTES "Names
// from everywhere"). Each household belongs to one community, which names
// its people and decides how clerks write those names. The rates below are
// rough figures from general knowledge of naming in each community and of
// a large, diverse US city's population (census-style shares of
// Hispanic, East Asian, West African, Arab and Somali, and South Asian
// residents); none was chosen by looking at how the matcher scores the
// result.

// community is one naming tradition of the world profile.
type community struct {
	name  string
	share float64 // share of households
	// family, male and female name the community's people; english are
	// the names adopted or given beside them (East Asian English names,
	// West African church names), nil when none.
	family, male, female     *nameTable
	englishMale, englishFem  *nameTable
	second                   map[string][]string // compound given names by first name
	compound                 float64             // share of people whose given name is compound, of those whose first name has seconds
	doubleFamily             float64             // share of adults with two family names (paternal, maternal)
	keepName                 float64             // share of married women who keep their own family name
	adopted                  float64             // share of people with an adopted English name (alias)
	familyFirst, middleFirst float64             // per record: family name written first; given and middle swapped
	useAlias, useShort       float64             // per record: the alias or the short form written as given name
	respell                  float64             // per record: another spelling of a name with several
	janFirst                 float64             // share of adults born abroad whose unknown birth date is recorded as 1 January
	vietMiddle               bool                // Văn / Thị as middle name
}

// nameTable is a weighted list of names, each with its spellings (the
// first the commonest) and short form.
type nameTable struct {
	w     weighted // names are the first spellings
	forms map[string][]string
	short map[string]string
}

// parseNames reads a table of worldnames.go: "Name|Spelling/Short weight"
// entries separated by ';'.
func parseNames(src string) (*nameTable, error) {
	t := &nameTable{forms: map[string][]string{}, short: map[string]string{}}
	for _, e := range strings.Split(src, ";") {
		e = strings.Join(strings.Fields(e), " ")
		if e == "" {
			continue
		}
		i := strings.LastIndexByte(e, ' ')
		w, err := strconv.ParseFloat(e[i+1:], 64)
		if i < 0 || err != nil || w <= 0 {
			return nil, fmt.Errorf("synth: world names: bad entry %q", e)
		}
		name, short, _ := strings.Cut(e[:i], "/")
		forms := strings.Split(name, "|")
		t.w.add(forms[0], w)
		if len(forms) > 1 {
			t.forms[forms[0]] = forms
		}
		if short != "" {
			t.short[forms[0]] = short
		}
	}
	if len(t.w.names) == 0 {
		return nil, fmt.Errorf("synth: world names: empty table")
	}
	return t, nil
}

func (t *nameTable) draw(r *rand.Rand) string { return t.w.names[t.w.pick(r.Float64())] }

// worldCommunities builds the world profile's communities, the general
// (US tables) one first. The shares sum to one.
func worldCommunities() ([]*community, error) {
	var err error
	tab := func(src string) *nameTable {
		t, e := parseNames(src)
		if e != nil && err == nil {
			err = e
		}
		return t
	}
	east := func(name string, share float64, fam, m, f string) *community {
		return &community{name: name, share: share, family: tab(fam), male: tab(m), female: tab(f),
			englishMale: tab(eastAsianEnglishMale), englishFem: tab(eastAsianEnglishFemale),
			keepName: 0.6, adopted: 0.35, familyFirst: 0.12, useAlias: 0.35, respell: 0.10}
	}
	cs := []*community{
		{name: "general", share: 0.42},
		{name: "hispanic", share: 0.28, family: tab(hispanicFamily), male: tab(hispanicMale), female: tab(hispanicFemale),
			second: hispanicSecond, compound: 0.45, doubleFamily: 0.75, keepName: 0.6, respell: 0.10},
		east("vietnamese", 0.04, vietnameseFamily, vietnameseMale, vietnameseFemale),
		east("chinese", 0.06, chineseFamily, chineseMale, chineseFemale),
		east("korean", 0.03, koreanFamily, koreanMale, koreanFemale),
		{name: "westafrican", share: 0.05, family: tab(westAfricanFamily), male: tab(westAfricanMale), female: tab(westAfricanFemale),
			englishMale: tab(westAfricanChristianMale), englishFem: tab(westAfricanChristianFemale),
			middleFirst: 0.25, useShort: 0.25, janFirst: 0.05},
		{name: "arabic", share: 0.06, family: tab(arabicFamily), male: tab(arabicMale), female: tab(arabicFemale),
			keepName: 0.8, respell: 0.25, janFirst: 0.15},
		{name: "southasian", share: 0.06, family: tab(southAsianFamily), male: tab(southAsianMale), female: tab(southAsianFemale),
			respell: 0.10},
	}
	cs[2].vietMiddle = true
	return cs, err
}

// worldHousehold draws the household's community (nil: the general one,
// named from the US tables), in the world profile only.
func (g *Generator) worldHousehold(r *rand.Rand) {
	g.comm = nil
	if !g.opts.Profile.is(ProfileWorld) {
		return
	}
	u := r.Float64()
	for _, c := range g.comms {
		if u < c.share {
			if c.family != nil {
				g.comm = c
			}
			return
		}
		u -= c.share
	}
}

// worldGiven draws a given name of the household's community.
func (g *Generator) worldGiven(r *rand.Rand, sex byte) string {
	return g.comm.givenTable(sex).draw(r)
}

// worldPerson gives a new person of a world household the names of the
// community: a compound given name, Văn or Thị, a church name as middle
// name, an adopted English name.
func (g *Generator) worldPerson(r *rand.Rand, p *person) {
	c := g.comm
	if c == nil {
		return
	}
	p.comm = c
	if seconds := c.second[p.given]; len(seconds) > 0 && r.Float64() < c.compound {
		p.middle, p.compound = seconds[r.IntN(len(seconds))], true
	}
	eng := c.englishMale
	if p.sex == 'F' {
		eng = c.englishFem
	}
	switch {
	case c.vietMiddle && r.Float64() < 0.7:
		p.middle = "Văn"
		if p.sex == 'F' {
			p.middle = "Thị"
		}
	case c.name == "westafrican" && r.Float64() < 0.7:
		p.middle = eng.draw(r)
	case eng != nil && !p.compound:
		p.middle = "" // Chinese and Korean names have no middle name
	}
	if c.adopted > 0 && r.Float64() < c.adopted {
		p.alias = eng.draw(r)
	}
}

// worldFinish completes a world household: a Hispanic adult's second
// family name, the children's (father's first and mother's first), twins
// who share a first given name, and the 1 January birth dates of adults
// born abroad whose birth date was unknown.
func (g *Generator) worldFinish(r *rand.Rand) {
	c := g.comm
	if c == nil {
		return
	}
	var dad, mum *person
	for i := range g.people {
		p := &g.people[i]
		if p.hazards&HazChild != 0 {
			continue
		}
		if p.hazards&HazSpouse != 0 && p.sex == 'M' {
			dad = p
		} else if p.hazards&HazSpouse != 0 {
			mum = p
		}
		switch {
		case p.hazards&HazSibling != 0 && i > 0:
			p.family2 = g.people[0].family2 // adult siblings share both
		case p.maiden == "" && r.Float64() < c.doubleFamily:
			p.family2 = g.surname(r)
		}
		if age(p.birth) >= 25 && r.Float64() < c.janFirst {
			p.birth.m, p.birth.d = 1, 1
			p.hazards |= HazJanFirst
		}
	}
	for i := range g.people {
		p := &g.people[i]
		if p.hazards&HazChild == 0 || c.doubleFamily == 0 {
			continue
		}
		switch {
		case mum != nil && dad != nil && p.family == dad.family:
			p.family2 = firstFamily(mum)
		case mum == nil && dad == nil:
			p.family2 = g.people[0].family2
		}
		if i > 0 && p.hazards&HazTwin != 0 && g.people[i-1].hazards&HazTwin != 0 {
			g.twinNames(r, &g.people[i-1], p)
		}
	}
}

// firstFamily is a woman's own first family name: her maiden name when she
// took her husband's.
func firstFamily(p *person) string {
	if p.maiden != "" {
		return p.maiden
	}
	return p.family
}

// twinNames gives Hispanic twins of one sex one first given name and two
// second ones half the time ("María Lucía", "María Alejandra"): only the
// second tells them apart.
func (g *Generator) twinNames(r *rand.Rand, a, b *person) {
	seconds := g.comm.second[a.given]
	if a.sex != b.sex || b.birth != a.birth || len(seconds) < 2 || r.Float64() < 0.5 {
		return
	}
	i := r.IntN(len(seconds))
	j := (i + 1 + r.IntN(len(seconds)-1)) % len(seconds)
	b.given = a.given
	a.middle, b.middle = seconds[i], seconds[j]
	a.compound, b.compound = true, true
}

// stripAccents drops the accents of s ("José" → "Jose"), as an ASCII-only
// system records it; Đ and đ, which do not decompose, become D and d.
func stripAccents(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	var b strings.Builder
	for _, c := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, c):
		case c == 'Đ':
			b.WriteByte('D')
		case c == 'đ':
			b.WriteByte('d')
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}
