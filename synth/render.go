package synth

import (
	"math/rand/v2"
	"strconv"
	"strings"
)

// view is one record's version of a person: the fields a registration clerk
// captured, before formatting. Duplicate records change a view with errors.
type view struct {
	given, middle, family, suffix string
	birth                         string // YYYY-MM-DD, possibly corrupted
	sex                           string
	addr                          address
	noAddr                        bool
	phone, email                  string
	ssn, mrn, dl, passport        string
	member, memberSystem          string
	hazards                       Hazard
}

// render writes one record of p into row. dup marks an extra record of the
// entity, which gets 1–3 errors and usually its own MRN (a second
// registration, or another system).
func (g *Generator) render(r *rand.Rand, p *person, dup bool, row *Row) {
	v := view{
		given: p.given, family: p.family, suffix: p.suffix,
		birth: p.birth.String(), addr: p.addr, phone: p.phone, email: p.email,
		ssn: p.ssn, mrn: p.mrn, dl: p.dl, passport: p.passport,
		member: p.member, memberSystem: p.memberSystem,
		hazards: p.hazards,
	}
	v.sex = "male"
	if p.sex == 'F' {
		v.sex = "female"
	}
	// What every record varies in, duplicate or not: a middle name as given,
	// as an initial or not at all; a suffix recorded only sometimes; optional
	// identifiers not always captured.
	if p.middle != "" {
		switch u := r.Float64(); {
		case u < 0.6:
			v.middle = p.middle
		case u < 0.85:
			v.middle = initial(p.middle)
		}
	}
	switch v.suffix {
	case "Jr", "II":
		if r.Float64() > 0.35 {
			v.suffix = ""
		}
	case "Sr":
		if r.Float64() > 0.1 {
			v.suffix = ""
		}
	}
	if v.ssn != "" && r.Float64() < 0.3 {
		v.ssn = ""
	}
	if v.email != "" && r.Float64() < 0.1 {
		v.email = ""
	}
	if r.Float64() < 0.08 {
		v.mrn = ""
	}
	if v.dl != "" && r.Float64() < 0.2 {
		v.dl = ""
	}
	if r.Float64() < 0.015 {
		v.sex = ""
	}
	captureMember(r, &v)
	g.worldView(r, p, &v)
	if dup {
		v.hazards |= HazDuplicate
		if r.Float64() < 0.85 {
			v.mrn = g.mrn()
		}
		for range 1 + r.IntN(3) {
			g.corrupt(r, p, &v)
		}
	}
	g.profileView(r, p, &v)
	g.format(r, &v, row)
	g.profileRow(r, row)
	row.Entity = p.entity
	row.Household = p.household
	row.Hazards = v.hazards
}

// corrupt applies one error to v, drawn by rough frequency in real MPI
// duplicates; kinds that cannot apply to this person fall through to a typo.
// The switch is the frequency table, so it stays whole; each kind of error
// is its own function.
func (g *Generator) corrupt(r *rand.Rand, p *person, v *view) {
	u := r.Float64()
	done := true
	switch {
	case u < 0.07 && p.maiden != "":
		useMaiden(r, p, v)
	case u < 0.14:
		done = g.useNickname(r, v)
	case u < 0.22:
		done = phoneticError(r, v)
	case u < 0.28 && len(v.birth) == 10 && v.hazards&HazDayMonth == 0:
		done = swapDayMonth(v)
	case u < 0.35 && len(v.birth) == 10:
		birthDigitError(r, v)
	case u < 0.45:
		g.moveHouse(r, v)
	case u < 0.51:
		v.phone = g.newPhone(r, v.addr.city)
		v.hazards |= HazPhoneChange
	case u < 0.63:
		g.blank(r, v)
	case u < 0.68:
		done = dropFamilyPart(r, v)
	case u < 0.71 && v.hazards&HazSwapped == 0:
		v.given, v.family = v.family, v.given
		v.hazards |= HazSwapped
	case u < 0.73:
		placeholderField(r, v)
	default:
		done = false
	}
	if !done {
		typoField(r, v)
	}
}

// useMaiden renders a record from before the person's marriage: the
// maiden name with the address then, often the phone then, and half the
// time no email.
func useMaiden(r *rand.Rand, p *person, v *view) {
	v.family = p.maiden
	v.addr = p.prevAddr
	v.hazards |= HazNameChange
	if r.Float64() < 0.6 {
		v.phone = p.prevPhone
	}
	if r.Float64() < 0.5 {
		v.email = ""
	}
}

// useNickname replaces the given name with one of its nicknames, keeping
// the original's case; false when the name has none.
func (g *Generator) useNickname(r *rand.Rand, v *view) bool {
	nn := g.t.nicknames[strings.ToLower(v.given)]
	if len(nn) == 0 {
		return false
	}
	v.given = restoreCase(v.given, strings.ToLower(nn[r.IntN(len(nn))]))
	v.hazards |= HazNickname
	return true
}

// phoneticError respells the family name (two times in three) or the given
// name as it sounds, the error of a name taken down by ear; false when
// phonetic has no respelling for it.
func phoneticError(r *rand.Rand, v *view) bool {
	name := &v.family
	if r.IntN(3) == 0 {
		name = &v.given
	}
	s, ok := phonetic(r, *name)
	if !ok {
		return false
	}
	*name = s
	v.hazards |= HazPhonetic
	return true
}

// swapDayMonth writes the birth date with day and month swapped, the
// error of a date read in the other order; false when the swap would not
// be a valid month or would change nothing.
func swapDayMonth(v *view) bool {
	y, m, d := v.birth[:4], v.birth[5:7], v.birth[8:10]
	if m == d || d[0] > '1' || (d[0] != '0' && d[1] > '2') {
		return false
	}
	v.birth = y + "-" + d + "-" + m
	v.hazards |= HazDayMonth
	return true
}

// birthDigitError moves one digit of the birth date by one, mostly in the
// year and day units.
func birthDigitError(r *rand.Rand, v *view) {
	b := []byte(v.birth)
	i := []int{2, 3, 3, 6, 8, 9, 9}[r.IntN(7)] // mostly year and day units
	if b[i] == '9' || (b[i] != '0' && r.IntN(2) == 0) {
		b[i]--
	} else {
		b[i]++
	}
	v.birth = string(b)
	v.hazards |= HazDateDigit
}

// moveHouse gives the record a newer address, in the same city more often
// than not, and sometimes a new phone with it.
func (g *Generator) moveHouse(r *rand.Rand, v *view) {
	city := v.addr.city
	if r.Float64() < 0.4 {
		city = -1
	}
	v.addr = g.newAddress(r, city)
	v.hazards |= HazMoved
	if r.Float64() < 0.4 {
		v.phone = g.newPhone(r, v.addr.city)
		v.hazards |= HazPhoneChange
	}
}

// dropFamilyPart keeps one part of a compound family name, as a clerk
// recording a hyphenated or two-word name often does; false for a simple
// name.
func dropFamilyPart(r *rand.Rand, v *view) bool {
	i := strings.IndexAny(v.family, "- ")
	if i <= 0 {
		return false
	}
	if r.IntN(2) == 0 {
		v.family = v.family[:i]
	} else {
		v.family = v.family[i+1:]
	}
	v.hazards |= HazHyphenDrop
	return true
}

// placeholderField replaces the phone, birth date or email with the filler
// a registration system accepts when the value is unknown.
func placeholderField(r *rand.Rand, v *view) {
	switch r.IntN(3) {
	case 0:
		v.phone = "0000000000"
	case 1:
		v.birth = "1900-01-01"
	default:
		v.email = "unknown@unknown.com"
	}
	v.hazards |= HazPlaceholder
}

// typoField makes a typo, the commonest error, in the family name, given
// name or street (the given name when the record has no address).
// initial is the first letter of a name.
func initial(s string) string {
	for i := range s {
		if i > 0 {
			return s[:i]
		}
	}
	return s
}

func typoField(r *rand.Rand, v *view) {
	k := typoKind(r.IntN(4))
	switch x := r.Float64(); {
	case x < 0.45:
		v.family = typo(r, v.family, k)
	case x < 0.85:
		v.given = typo(r, v.given, k)
	default:
		if !v.noAddr {
			v.addr.streetTypo = 1 + int(k)
			v.hazards |= HazTypo
			return
		}
		v.given = typo(r, v.given, k)
	}
	v.hazards |= HazTypo
}

// blank empties 1–3 fields: what a hurried registration leaves out.
func (g *Generator) blank(r *rand.Rand, v *view) {
	for range 1 + r.IntN(3) {
		switch r.IntN(8) {
		case 0, 1:
			v.phone = ""
		case 2, 3:
			v.email = ""
		case 4:
			v.noAddr = true
		case 5:
			v.middle = ""
		case 6:
			v.ssn = ""
		case 7:
			if r.IntN(3) == 0 {
				v.birth = v.birth[:4] // year only
			} else {
				v.sex = ""
			}
		}
	}
	v.hazards |= HazMissing
}

// format turns a view into the canonical columns, with the formatting habits
// of different source systems (case, street-type spelling, ZIP+4, phone and
// SSN punctuation).
func (g *Generator) format(r *rand.Rand, v *view, row *Row) {
	c := &row.Cols
	c[ColID] = g.nextID()
	upper := r.Float64() < 0.12
	if upper && v.hazards&HazDuplicate != 0 {
		v.hazards |= HazFormatChange
	}
	cs := func(s string) string {
		if upper {
			return strings.ToUpper(s)
		}
		return s
	}
	c[ColFamily] = cs(v.family)
	c[ColGiven] = cs(v.given)
	c[ColMiddle] = cs(v.middle)
	c[ColSuffix] = v.suffix
	c[ColBirthDate] = v.birth
	c[ColSex] = v.sex
	if v.noAddr {
		c[ColAddressLine], c[ColCity], c[ColState], c[ColPostalCode], c[ColCountry] = "", "", "", "", ""
	} else {
		a := v.addr
		ct := g.t.cities[a.city]
		var b strings.Builder
		b.Grow(40)
		b.WriteString(strconv.Itoa(a.number))
		b.WriteByte(' ')
		b.WriteString(g.streetName(a))
		b.WriteByte(' ')
		b.WriteString(streetTypes[a.streetType][r.IntN(3)])
		if a.unitKind > 0 {
			b.WriteByte(' ')
			kind := unitKinds[a.unitKind]
			if r.IntN(3) == 0 {
				kind = unitKinds[1+r.IntN(len(unitKinds)-1)]
			}
			b.WriteString(kind)
			if kind != "#" {
				b.WriteByte(' ')
			}
			b.WriteString(a.unit)
		}
		c[ColAddressLine] = cs(b.String())
		c[ColCity] = cs(ct.Name)
		c[ColState] = ct.State
		c[ColPostalCode] = a.zip
		if r.Float64() < 0.1 {
			c[ColPostalCode] = a.zip + "-" + strconv.Itoa(1000+r.IntN(9000))
		}
		c[ColCountry] = ""
		if r.Float64() < 0.7 {
			c[ColCountry] = "US"
		}
	}
	c[ColPhone] = formatPhone(r, v.phone)
	c[ColEmail] = v.email
	c[ColSSN] = v.ssn
	if v.ssn != "" && r.IntN(2) == 0 {
		c[ColSSN] = v.ssn[:3] + "-" + v.ssn[3:5] + "-" + v.ssn[5:]
	}
	c[ColNationalID] = ""
	c[ColMRN] = v.mrn
	c[ColDriversLicense] = v.dl
	c[ColPassport] = v.passport
	c[ColMemberID], c[ColMemberSystem] = v.member, ""
	if v.member != "" {
		c[ColMemberSystem] = v.memberSystem
	}
}

// streetName returns the street name of a, misspelt when corrupt gave it a
// typo.
func (g *Generator) streetName(a address) string {
	s := g.t.streets[a.street]
	if a.streetTypo == 0 {
		return s
	}
	h := splitmix(uint64(a.street)<<3 | uint64(a.streetTypo))
	rr := rand.New(rand.NewPCG(h, 0))
	return typo(rr, s, typoKind(a.streetTypo-1))
}

// formatPhone writes a 10-digit number in one of the common US styles.
func formatPhone(r *rand.Rand, p string) string {
	if len(p) != 10 {
		return p
	}
	switch r.IntN(5) {
	case 0:
		return "(" + p[:3] + ") " + p[3:6] + "-" + p[6:]
	case 1:
		return p[:3] + "-" + p[3:6] + "-" + p[6:]
	case 2:
		return p
	case 3:
		return "+1 " + p[:3] + " " + p[3:6] + " " + p[6:]
	default:
		return p[:3] + "." + p[3:6] + "." + p[6:]
	}
}
