package synth

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// asOfYear is the "current" year of every data set, fixed so output does not
// depend on the clock.
const asOfYear = 2025

// date is a calendar date.
type date struct{ y, m, d int }

func (d date) String() string {
	var b [10]byte
	b[0] = byte('0' + d.y/1000%10)
	b[1] = byte('0' + d.y/100%10)
	b[2] = byte('0' + d.y/10%10)
	b[3] = byte('0' + d.y%10)
	b[4] = '-'
	b[5] = byte('0' + d.m/10)
	b[6] = byte('0' + d.m%10)
	b[7] = '-'
	b[8] = byte('0' + d.d/10%10)
	b[9] = byte('0' + d.d%10)
	return string(b[:])
}

// address is a US postal address, kept in parts so duplicates can format it
// differently.
type address struct {
	number     int
	street     int // index into tables.streets
	streetType int // index into streetTypes
	streetTypo int // 0, or 1 + the typoKind misspelling the street name
	unitKind   int // 0: none; index into unitKinds otherwise
	unit       string
	city       int // index into tables.cities
	zip        string
}

var streetTypes = [][3]string{ // full, abbreviation, abbreviation with period
	{"Street", "St", "St."}, {"Avenue", "Ave", "Ave."}, {"Road", "Rd", "Rd."},
	{"Drive", "Dr", "Dr."}, {"Lane", "Ln", "Ln."}, {"Boulevard", "Blvd", "Blvd."},
	{"Court", "Ct", "Ct."}, {"Way", "Way", "Way"}, {"Place", "Pl", "Pl."},
	{"Circle", "Cir", "Cir."}, {"Terrace", "Ter", "Ter."}, {"Parkway", "Pkwy", "Pkwy."},
}

var unitKinds = []string{"", "Apt", "#", "Unit", "Suite"}

// person is the truth about one entity; records are views of it.
type person struct {
	entity    int
	household int
	sex       byte // 'M' or 'F'
	given     string
	middle    string // "" when none
	family    string
	suffix    string // "Jr", "Sr", "II" or ""
	maiden    string // family name before marriage, "" when unchanged
	birth     date
	addr      address
	prevAddr  address // address before marriage (with maiden)
	phone     string  // 10 digits
	prevPhone string
	email     string
	ssn       string // 9 digits or ""
	mrn       string
	dl        string
	passport  string
	// member and memberSystem are the insurance member number and its
	// payer (insured profile), "" when none.
	member, memberSystem string
	hazards              Hazard
	// The world profile's names: the person's community (nil in the
	// other profiles and the general community), a second family name
	// (the maternal one of Spanish naming), an adopted English name, and
	// whether middle is the second of a compound given name.
	comm     *community
	family2  string
	alias    string
	compound bool
}

// household generates one household's people into g.people.
func (g *Generator) household(r *rand.Rand, hh int) {
	g.people = g.people[:0]
	g.worldHousehold(r)
	defer g.worldFinish(r)
	home := g.newAddress(r, -1)
	landline := ""
	if r.Float64() < 0.45 {
		landline = g.newPhone(r, home.city)
	}
	u := r.Float64()
	switch {
	case u < 0.30: // one adult
		a := g.adult(r, hh, 0, home, landline, 0)
		if a.sex == 'F' && age(a.birth) > 28 && r.Float64() < 0.3 {
			g.marry(r, a, g.surname(r)) // divorced or widowed, kept the married name
		}
	case u < 0.55: // couple
		g.couple(r, hh, home, landline)
	case u < 0.85: // couple with children
		dad, mum := g.couple(r, hh, home, landline)
		g.children(r, hh, home, landline, dad, mum)
	case u < 0.95: // single parent with children
		p := g.adult(r, hh, 0, home, landline, 20)
		var dad, mum *person
		if p.sex == 'M' {
			dad = p
		} else {
			mum = p
		}
		g.children(r, hh, home, landline, dad, mum)
	default: // adult siblings sharing a home
		first := g.adult(r, hh, 0, home, landline, 0)
		first.hazards |= HazSibling
		for range 1 + r.IntN(2) {
			s := g.adult(r, hh, 0, home, landline, 0)
			s.family = first.family
			for g.nameTaken(s.given, []string{first.given}) {
				s.given = g.givenName(r, s.sex)
			}
			s.birth = randomDate(r, min(asOfYear-18, first.birth.y+1+r.IntN(8)))
			s.hazards |= HazSibling
			g.setEmail(r, s, "")
		}
	}
}

// adult adds an adult at least minAge years old, of the given sex ('M', 'F',
// or 0 for either).
func (g *Generator) adult(r *rand.Rand, hh int, sex byte, home address, landline string, minAge int) *person {
	if sex == 0 {
		sex = 'M'
		if r.IntN(2) == 0 {
			sex = 'F'
		}
	}
	a := 18 + int(r.NormFloat64()*16+27)
	if a < 18 {
		a = 18 + r.IntN(10)
	}
	if a > 95 {
		a = 95 - r.IntN(10)
	}
	if a < minAge {
		a = minAge + r.IntN(20)
	}
	family := g.surname(r)
	// A double surname, Hispanic style or hyphenated; the world profile's
	// communities have their own (worldFinish).
	if g.comm == nil && r.Float64() < 0.03 {
		sep := " "
		if r.IntN(2) == 0 {
			sep = "-"
		}
		family += sep + g.surname(r)
	}
	p := g.newPerson(r, hh, sex, family, randomDate(r, asOfYear-a))
	p.addr = home
	p.phone = landline
	if landline == "" || r.Float64() < 0.5 {
		p.phone = g.newPhone(r, home.city)
	}
	g.setEmail(r, p, "")
	return p
}

// newPerson adds a person to the household. g.people never grows past its
// capacity (maxHousehold), so pointers into it stay valid for the household.
func (g *Generator) newPerson(r *rand.Rand, hh int, sex byte, family string, birth date) *person {
	if len(g.people) == cap(g.people) {
		panic("synth: household larger than maxHousehold")
	}
	g.people = append(g.people, person{})
	p := &g.people[len(g.people)-1]
	g.entities++
	p.entity = g.entities
	p.household = hh
	p.sex = sex
	p.family = family
	if strings.ContainsAny(family, " -") {
		p.hazards |= HazHyphenated
	}
	p.given = g.givenName(r, sex)
	if r.Float64() < 0.65 {
		for p.middle = g.givenName(r, sex); p.middle == p.given; {
			p.middle = g.givenName(r, sex)
		}
	}
	g.worldPerson(r, p)
	p.birth = birth
	if r.Float64() < 0.4 {
		p.ssn = g.ssn()
	}
	p.mrn = g.mrn()
	if age(birth) >= 16 && r.Float64() < 0.25 {
		p.dl = g.driversLicense(r)
	}
	if r.Float64() < 0.06 {
		p.passport = g.passport()
	}
	return p
}

// couple adds two adults sharing home; the second often takes the first's
// family name (and then has a maiden name and a pre-marriage address).
func (g *Generator) couple(r *rand.Rand, hh int, home address, landline string) (dad, mum *person) {
	a := g.adult(r, hh, 'M', home, landline, 20)
	b := g.adult(r, hh, 'F', home, landline, 0)
	b.birth = randomDate(r, min(asOfYear-18, a.birth.y+r.IntN(7)-2))
	a.hazards |= HazSpouse
	b.hazards |= HazSpouse
	married := 0.72 // US women taking the husband's name
	if g.comm != nil {
		married *= 1 - g.comm.keepName
	}
	switch u := r.Float64(); {
	case u < married:
		g.marry(r, b, a.family)
	case u < married+0.08:
		g.marry(r, b, b.family+"-"+a.family)
		b.hazards |= HazHyphenated
	}
	// Spouses sometimes share an email domain of their own, sometimes one
	// address outright.
	switch u := r.Float64(); {
	case u < 0.12 && a.email != "":
		b.email = a.email
	case u < 0.30:
		dom := lowerAlpha(a.family) + strconv.Itoa(r.IntN(100)) + ".net"
		g.setEmail(r, a, dom)
		g.setEmail(r, b, dom)
	}
	return a, b
}

// marry gives p a new family name, keeping the old one as maiden name and
// inventing the pre-marriage address and phone.
func (g *Generator) marry(r *rand.Rand, p *person, newFamily string) {
	p.maiden = p.family
	p.family = newFamily
	p.hazards |= HazMaiden
	city := p.addr.city
	if r.Float64() < 0.5 {
		city = -1
	}
	p.prevAddr = g.newAddress(r, city)
	p.prevPhone = g.newPhone(r, p.prevAddr.city)
	if r.Float64() < 0.5 {
		g.setEmail(r, p, "")
	}
}

// children adds 1–4 children of dad and/or mum (either may be nil), with the
// occasional pair of twins and a first son named after his father.
func (g *Generator) children(r *rand.Rand, hh int, home address, landline string, dad, mum *person) {
	parent := mum
	if parent == nil {
		parent = dad
	}
	n := childCount(r)
	twinAt := -1
	if r.Float64() < 0.08 { // twins are ~3% of US births; oversampled for tests
		twinAt = r.IntN(n)
	}
	first := parent.birth.y + 18 + r.IntN(10)
	// Parents do not give two living children the same first name, nor a
	// child a parent's, except the junior below who is named after his
	// father on purpose. Drawn independently, popular names would repeat
	// within a family at a few percent a household: same-name siblings that
	// real registries almost never hold.
	var taken []string
	for _, p := range []*person{dad, mum} {
		if p != nil {
			taken = append(taken, p.given)
		}
	}
	for k := 0; k < n; k++ {
		y := min(asOfYear, first+2*k+r.IntN(2))
		fam := childFamily(r, parent, dad, mum)
		births := 1
		if k == twinAt {
			births = 2
		}
		bd := randomDate(r, y)
		var twin *person
		for range births {
			c := g.child(r, hh, fam, bd, home, n > 1, taken)
			if twin != nil {
				c.hazards |= HazTwin
				twin.hazards |= HazTwin
				shareMiddle(c, twin)
			}
			g.childContact(r, c, parent, home, landline)
			// A first son may be named after his father, 20–40 years younger.
			if dad != nil && k == 0 && twinAt != 0 && c.sex == 'M' && r.Float64() < 0.25 {
				nameAfterFather(r, c, dad)
			}
			taken = append(taken, c.given)
			twin = c
		}
	}
}

// shareMiddle gives a twin the other's middle name some of the time:
// twins are not always given middle names of their own (a family name as
// middle name, Vietnamese Thi and Van, Marie, Lee), and a matcher must not
// read a middle name both carry as one person's. Only twins of one sex who
// both have a middle name, one in four, decided by the entity number so
// that no random draw is added: every other record generated stays as it
// was.
func shareMiddle(c, twin *person) {
	if c.sex == twin.sex && c.middle != "" && twin.middle != "" && twin.middle != c.given && c.entity%4 == 0 {
		c.middle = twin.middle
	}
}

// childCount draws the number of children of a family with any, 1–4,
// most often one or two.
func childCount(r *rand.Rand) int {
	switch u := r.Float64(); {
	case u < 0.35:
		return 1
	case u < 0.75:
		return 2
	case u < 0.92:
		return 3
	default:
		return 4
	}
}

// childFamily is the children's family name: the father's when there is
// one, though a mother who kept a hyphenated name passes it on half the
// time; else the single parent's.
func childFamily(r *rand.Rand, parent, dad, mum *person) string {
	fam := parent.family
	if dad != nil {
		fam = dad.family
		if mum != nil && mum.hazards&HazHyphenated != 0 && r.Float64() < 0.5 {
			fam = mum.family
		}
	}
	return fam
}

// child adds one child living at home, born on bd, with a given name
// none of taken (see children). siblings marks a child who has some.
func (g *Generator) child(r *rand.Rand, hh int, fam string, bd date, home address, siblings bool, taken []string) *person {
	sex := byte('M')
	if r.IntN(2) == 0 {
		sex = 'F'
	}
	c := g.newPerson(r, hh, sex, fam, bd)
	c.addr = home
	c.hazards |= HazChild
	if siblings {
		c.hazards |= HazSibling
	}
	for g.nameTaken(c.given, taken) {
		c.given = g.givenName(r, c.sex)
	}
	return c
}

// childContact gives a child the contact details children have: the
// parent's phone, or a mobile of their own for most teenagers in a home
// without a landline; an email of their own from about thirteen, else
// sometimes the family's shared one.
func (g *Generator) childContact(r *rand.Rand, c, parent *person, home address, landline string) {
	c.phone = parent.phone
	if age(c.birth) >= 14 && landline == "" && r.Float64() < 0.7 {
		c.phone = g.newPhone(r, home.city)
	}
	if age(c.birth) >= 13 && r.Float64() < 0.7 {
		g.setEmail(r, c, "")
	} else if r.Float64() < 0.3 {
		c.email = parent.email // the family's shared address
	}
}

// nameAfterFather makes c a junior: his father's names, Jr (or II), and
// a birth 20–40 years after the father's, so the pair looks like the
// namesakes registries confuse rather than an impossible father. The
// father becomes Sr.
func nameAfterFather(r *rand.Rand, c, dad *person) {
	if gap := c.birth.y - dad.birth.y; gap < 20 || gap > 40 {
		c.birth = randomDate(r, min(asOfYear, dad.birth.y+20+r.IntN(21)))
	}
	c.given, c.middle, c.family = dad.given, dad.middle, dad.family
	c.compound, c.alias = dad.compound, dad.alias
	c.suffix = "Jr"
	if r.Float64() < 0.08 {
		c.suffix = "II"
	}
	c.hazards |= HazJunior
	dad.suffix = "Sr"
	dad.hazards |= HazSenior
}

// nameTaken reports whether name is one of taken or a diminutive of one
// (or has one as its diminutive): Elizabeth and Lisa are one name to the
// parents choosing it, as they are to a matcher.
func (g *Generator) nameTaken(name string, taken []string) bool {
	for _, t := range taken {
		if strings.EqualFold(name, t) || g.isNickname(name, t) || g.isNickname(t, name) {
			return true
		}
	}
	return false
}

// isNickname reports whether nick is one of formal's diminutives.
func (g *Generator) isNickname(nick, formal string) bool {
	for _, n := range g.t.nicknames[strings.ToLower(formal)] {
		if strings.EqualFold(n, nick) {
			return true
		}
	}
	return false
}

func age(d date) int { return asOfYear - d.y }

// randomDate returns a uniformly random day of year y.
func randomDate(r *rand.Rand, y int) date {
	days := 365
	if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
		days = 366
	}
	t := time.Date(y, 1, 1+r.IntN(days), 0, 0, 0, 0, time.UTC)
	return date{t.Year(), int(t.Month()), t.Day()}
}

// newAddress invents a home; in city when city >= 0.
func (g *Generator) newAddress(r *rand.Rand, city int) address {
	if city < 0 {
		city = g.t.cityWeight.pick(r.Float64())
	}
	a := address{
		number:     1 + int(logUniform(r, 1, 9999)),
		street:     r.IntN(len(g.t.streets)),
		streetType: r.IntN(len(streetTypes)),
		city:       city,
		zip:        g.t.cities[city].Zip3 + fmt.Sprintf("%02d", 1+r.IntN(98)),
	}
	if r.Float64() < 0.18 {
		a.unitKind = 1 + r.IntN(len(unitKinds)-1)
		a.unit = strconv.Itoa(1 + r.IntN(30))
		if r.IntN(3) == 0 {
			a.unit += string(rune('A' + r.IntN(6)))
		}
	}
	return a
}

// newPhone invents a 10-digit phone number, usually in the city's area code.
func (g *Generator) newPhone(r *rand.Rand, city int) string {
	area := g.t.cities[city].Area
	if r.Float64() < 0.25 { // mobiles keep the area code of where they were bought
		area = g.t.cities[g.t.cityWeight.pick(r.Float64())].Area
	}
	return fmt.Sprintf("%s%d%02d%04d", area, 2+r.IntN(8), r.IntN(100), r.IntN(10000))
}

var emailDomains = []string{"gmail.com", "gmail.com", "gmail.com", "yahoo.com", "yahoo.com",
	"outlook.com", "hotmail.com", "aol.com", "icloud.com", "comcast.net", "att.net", "msn.com"}

// setEmail gives p an email made from the name, at domain when not empty.
// About a quarter of people have none.
func (g *Generator) setEmail(r *rand.Rand, p *person, domain string) {
	if domain == "" {
		if r.Float64() < 0.25 {
			p.email = ""
			return
		}
		domain = emailDomains[r.IntN(len(emailDomains))]
	}
	gv, fm := lowerAlpha(p.given), lowerAlpha(p.family)
	var local string
	switch r.IntN(6) {
	case 0:
		local = gv + "." + fm
	case 1:
		local = gv[:1] + fm
	case 2:
		local = gv + fm + strconv.Itoa(r.IntN(100))
	case 3:
		local = gv + "_" + fm + strconv.Itoa(p.birth.y%100)
	case 4:
		local = fm + gv[:1] + strconv.Itoa(1+r.IntN(999))
	default:
		local = gv + strconv.Itoa(p.birth.y)
	}
	// Taken: add digits, as a sign-up form makes one do.
	email := local + "@" + domain
	for {
		h := fnv1a(email)
		if _, taken := g.emails[h]; !taken {
			g.emails[h] = struct{}{}
			break
		}
		local += strconv.Itoa(r.IntN(10))
		email = local + "@" + domain
	}
	p.email = email
}

// fnv1a is the 64-bit FNV-1a hash of s.
func fnv1a(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// lowerAlpha keeps the letters of s, lower-cased ("O'Brien-Li" → "obrienli").
func lowerAlpha(s string) string {
	s = stripAccents(s) // "José" → "jose"; ASCII names unchanged
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z':
			b = append(b, c)
		case c >= 'A' && c <= 'Z':
			b = append(b, c+'a'-'A')
		}
	}
	if len(b) == 0 {
		return "x"
	}
	return string(b)
}
