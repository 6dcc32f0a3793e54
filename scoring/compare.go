package scoring

import (
	"slices"
	"strings"

	"github.com/patientmatch/patientmatch/record"
)

// The comparisons of the model, in the order of Comparison.Levels. Each is
// coded here (the comparator is code); a model only carries their m and u.
const (
	CompGivenName = iota
	CompFamilyName
	CompBirthDate
	CompSex
	// CompHousehold is the joint comparison of address, postal code, city,
	// phone and email. Households share all of them, so they are one piece
	// of evidence with ordered joint levels, not five independent ones.
	CompHousehold
	CompIdentifier
	// NumComparisons is the number of comparisons; Comparison.Levels has
	// this many entries.
	NumComparisons
)

// MaxLevels bounds the levels of one comparison, the missing level included.
const MaxLevels = 9

// Level indices of each comparison, strongest agreement first. The last
// level of every comparison is "missing" (a value absent on either side):
// it is neutral, with weight 0, and carries no m or u.
const (
	GivenExact = iota
	GivenNickname
	GivenSwapped
	GivenPhonetic
	GivenJW92
	GivenJW80 // jw>=0.80, or one keystroke apart (oneKeystroke)
	GivenElse
	GivenMissing
)

// Family name levels.
const (
	FamilyExact = iota
	FamilySwapped
	FamilyPart // one part of a compound or hyphenated name agrees
	FamilyPhonetic
	FamilyJW92
	FamilyJW80    // jw>=0.80, or one keystroke apart (oneKeystroke)
	FamilyCrossed // one record's family name is the other's given name
	FamilyElse
	FamilyMissing
)

// Birth date levels.
const (
	BirthExact      = iota
	BirthTransposed // day and month swapped
	BirthOneDigit   // one digit changed, or two adjacent digits swapped
	BirthYearMonth  // same year and month, as far as both dates record them
	BirthYearNear   // years at most one apart
	BirthElse
	BirthMissing
)

// Sex levels.
const (
	SexAgree = iota
	SexDisagree
	SexMissing
)

// Household (joint address/contact) levels.
const (
	HouseAddressContact = iota // full address and (phone or email) agree
	HouseAddress               // full address agrees
	HouseContact               // phone or email agrees
	HousePostal                // postal code agrees
	HouseCityPostal3           // city or first three characters of postal code agree
	HouseDisagree              // something present on both sides, nothing agrees
	HouseMissing
)

// Identifier levels (identifiers of the same type, and same issuing system
// where both give one). one_off and disagree are reached only by hand-keyed
// numbers (SSN, national id, driver's licence, passport): a system-assigned
// MRN either agrees or says nothing (see compareIdentifiers).
const (
	IDExact  = iota
	IDOneOff // one character changed, added, dropped, or two adjacent swapped
	IDDisagree
	IDMissing
)

// comparisonSpec names a comparison and its levels; the missing level is
// implicit and always last.
type comparisonSpec struct {
	name   string
	levels []string // agreement levels, strongest first, without "missing"
}

// specs describes the coded comparisons. Read only.
var specs = [NumComparisons]comparisonSpec{
	CompGivenName:  {"given_name", []string{"exact", "nickname", "swapped", "phonetic", "jw>=0.92", "jw>=0.80", "else"}},
	CompFamilyName: {"family_name", []string{"exact", "swapped", "compound_part", "phonetic", "jw>=0.92", "jw>=0.80", "crossed", "else"}},
	CompBirthDate:  {"birth_date", []string{"exact", "transposed", "one_digit", "year_month", "year_within_one", "else"}},
	CompSex:        {"sex", []string{"agree", "disagree"}},
	CompHousehold:  {"household", []string{"address+contact", "address", "contact", "postal_code", "city_or_postal3", "disagree"}},
	CompIdentifier: {"identifier", []string{"exact", "one_off", "disagree"}},
}

// SuffixRelation says how the generational suffixes of two records relate.
type SuffixRelation uint8

// Suffix relations.
const (
	SuffixSame     SuffixRelation = iota // both absent, or equal
	SuffixOneSided                       // one record has a suffix, the other none
	SuffixConflict                       // both have one and they differ (jr vs sr)
)

// Comparison is the outcome of comparing two prepared records: the level
// reached in each comparison, plus the facts the grade caps need.
type Comparison struct {
	Levels [NumComparisons]uint8
	// YearsApart is the absolute difference of the birth years, or -1 when
	// either is unknown.
	YearsApart int
	// MonthOrYearDiffers is set when both birth dates give a year and a
	// month and they differ in either: not the date of twins born either
	// side of midnight, whose dates differ in the day alone.
	MonthOrYearDiffers bool
	Suffix             SuffixRelation
	// AmbiguousNickname is set when the given names agree as nicknames
	// and one of them belongs to more than one nickname group (Jerry:
	// Gerald, Jeremy, Jerome), so that it does not say which name it
	// stands for.
	AmbiguousNickname bool
	// JanuaryFirst is set when either birth date is 1 January, the date
	// many registries record for an immigrant whose birthday is unknown:
	// it agrees by convention, not by fact (MATCHING-NOTES.md).
	JanuaryFirst bool
	// UntypedIDOnly is set when the identifiers agree exactly only on
	// identifiers of unknown kind (compareIdentifiers): evidence for the
	// score, but not the evidence relatives never share that lifts the
	// relatives' caps.
	UntypedIDOnly bool
	// IDConflict is set when a typed identifier disagrees beside another
	// typed one that agrees (an MRN equal, the SSNs different): the level
	// keeps the agreement's weight, but the pair carries a conflict the
	// caps must see (compareIdentifiers).
	IDConflict bool
	// EmailSlip is set when the household level's contact agreement rests
	// on an e-mail one slip apart alone (emailSlip), and
	// HouseholdWithoutSlip is then the level without it: what the rules
	// that lift a cap read (capsHousehold, SharesHousehold). The slip
	// weighs as the contact agreeing, since it is one address keyed wrong
	// far more often than two people's; but it is not the shared contact
	// that tells one household from a namesake elsewhere, because
	// namesakes' addresses are built from one name and may lie one letter
	// apart (jsmith@gmail.com, jsmith@ymail.com), so it lifts no cap. The
	// siblings rule, which lowers a grade in a shared household, reads
	// Levels[CompHousehold], the slip counted (capFacts.mayShareHouse).
	EmailSlip            bool
	HouseholdWithoutSlip uint8
	// JoinedAlike is set when the given-name level rests on a name written
	// as two words on one record and joined with a slip on the other
	// (joinedAlike: "zhi wei", "zhiwen"). That is as often two siblings'
	// names sharing a generation syllable as one name keyed wrong, so the
	// relatives' rules read it as given names that differ and the typo
	// rule never as a slip of an established name (capFactsOf, nameTypos).
	JoinedAlike bool
}

// Conflicts reports the evidence the conflict rule reads (CapConflict):
// an identifier of one kind disagreeing, a typed one disagreeing beside
// another agreeing (IDConflict), or the sexes disagreeing.
func (c *Comparison) Conflicts() bool {
	return c.Levels[CompIdentifier] == IDDisagree || c.IDConflict || c.Levels[CompSex] == SexDisagree
}

// IDAgrees reports an identifier agreeing exactly or one character off.
func (c *Comparison) IDAgrees() bool {
	id := c.Levels[CompIdentifier]
	return id == IDExact || id == IDOneOff
}

// capsHousehold is the household level the rules that lift a cap or
// corroborate a pair read (sharesHouse, marriedName, typoCorroborated):
// without an e-mail slip (Comparison.EmailSlip).
func (c *Comparison) capsHousehold() uint8 {
	if c.EmailSlip {
		return c.HouseholdWithoutSlip
	}
	return c.Levels[CompHousehold]
}

// SharesHousehold reports whether the full address or the contact (phone
// or e-mail) agrees, an e-mail slip not counted: what tells one household
// from a namesake elsewhere (CapCorroboration reads the same).
func (c *Comparison) SharesHousehold() bool {
	return c.capsHousehold() <= HouseContact
}

// Thresholds of the fuzzy string levels.
const (
	jwStrong      = 0.92 // jw>=0.92
	jwWeak        = 0.80 // jw>=0.80
	jwPhoneticMin = 0.70 // phonetic codes agree only count when spelling is this close
	jwStreet      = 0.88 // street names agree
	jwCity        = 0.92 // city names agree
)

// Compare compares two prepared records, filling out. It allocates nothing
// and is symmetric: Compare(a, b) and Compare(b, a) give the same result.
func Compare(a, b *Prepared, out *Comparison) {
	out.Levels[CompGivenName], out.JoinedAlike = compareGiven(a, b)
	out.Levels[CompFamilyName] = compareFamily(a, b)
	alignSingleName(a, b, out)
	out.Levels[CompBirthDate] = compareBirth(a, b)
	out.Levels[CompSex] = compareSex(a, b)
	out.Levels[CompHousehold], out.HouseholdWithoutSlip, out.EmailSlip = compareHousehold(a, b)
	out.Levels[CompIdentifier], out.UntypedIDOnly, out.IDConflict = compareIdentifiers(a, b)

	out.YearsApart = -1
	if a.birth.Year != 0 && b.birth.Year != 0 {
		d := a.birth.Year - b.birth.Year
		if d < 0 {
			d = -d
		}
		out.YearsApart = d
	}
	ya, yb := a.birth, b.birth
	out.MonthOrYearDiffers = ya.Year != 0 && yb.Year != 0 && ya.Month != 0 && yb.Month != 0 &&
		(ya.Year != yb.Year || ya.Month != yb.Month)
	out.JanuaryFirst = (ya.Month == 1 && ya.Day == 1) || (yb.Month == 1 && yb.Day == 1)
	out.AmbiguousNickname = out.Levels[CompGivenName] == GivenNickname &&
		(a.givenNick[1] != 0 || b.givenNick[1] != 0)
	sa, sb := a.Rec.Suffix, b.Rec.Suffix
	switch {
	case sa == sb:
		out.Suffix = SuffixSame
	case sa == "" || sb == "":
		out.Suffix = SuffixOneSided
	default:
		out.Suffix = SuffixConflict
	}
}

// nameFields says which name fields a prepared record holds.
type nameFields uint8

const (
	namesNone nameFields = iota
	namesGiven
	namesFamily
	namesBoth
)

func namesOf(p *Prepared) nameFields {
	switch {
	case p.given != "" && p.family != "":
		return namesBoth
	case p.given != "":
		return namesGiven
	case p.family != "":
		return namesFamily
	}
	return namesNone
}

// alignSingleName compares a record that holds one name with a record
// that holds the other field, or both: the field a lone name was put in
// says little (a mononym is filed as a family name by record.Normalize, a
// missing family name can leave the surname in the given field), so the
// name is compared with the other record's name it agrees with best, and
// the other field compares as missing. Civil and historical records often
// lack the family name; "Ashley" alone is then Ashley Crandard's given
// name, not a disagreeing surname.
//
// Straight agreement wins ties: a lone family name that agrees with the
// other's family name stays a family-name agreement. A lone name that
// agrees with neither keeps the levels Compare gave.
func alignSingleName(a, b *Prepared, out *Comparison) {
	fa, fb := namesOf(a), namesOf(b)
	if fa == fb || fa == namesNone || fb == namesNone {
		return
	}
	if fa != namesBoth && fb != namesBoth {
		// One holds a lone given name, the other a lone family name.
		ga, gb := asGiven(a), asGiven(b)
		if l, joined := compareGiven(&ga, &gb); l <= GivenJW80 {
			out.Levels[CompGivenName], out.Levels[CompFamilyName], out.JoinedAlike = l, FamilyMissing, joined
		}
		return
	}
	lone, full := a, b
	if fa == namesBoth {
		lone, full = b, a
	}
	ag := asGiven(lone)
	g, joined := compareGiven(&ag, full)
	af := asFamily(lone)
	f := compareFamily(&af, full)
	if f == FamilyCrossed {
		f = FamilyElse // crossed into the given name: that is g
	}
	switch {
	case g < f && g <= GivenJW80:
		out.Levels[CompGivenName], out.Levels[CompFamilyName], out.JoinedAlike = g, FamilyMissing, joined
	case f <= g && f <= FamilyJW80:
		out.Levels[CompGivenName], out.Levels[CompFamilyName], out.JoinedAlike = GivenMissing, f, false
	}
}

// asGiven is p's lone name in the given-name fields.
func asGiven(p *Prepared) Prepared {
	v := *p
	if v.given == "" {
		v.given, v.givenStandIn = v.family, v.familyStandIn
		v.GivenDM1, v.GivenDM2, v.GivenNYSIIS = v.FamilyDM1, v.FamilyDM2, v.FamilyNYSIIS
		v.givenNick = v.familyNick
	}
	v.family, v.familyParts = "", nil
	return v
}

// asFamily is p's lone name in the family-name fields.
func asFamily(p *Prepared) Prepared {
	v := *p
	if v.family == "" {
		v.family, v.familyStandIn, v.familyParts = v.given, v.givenStandIn, nil
		v.FamilyDM1, v.FamilyDM2, v.FamilyNYSIIS = v.GivenDM1, v.GivenDM2, v.GivenNYSIIS
	}
	v.given = ""
	return v
}

// swappedNames reports whether a's given and family names are b's family
// and given names: exactly; or one exactly and the other within
// Jaro–Winkler 0.80; or one close at the straight comparison's strong
// levels (jw>=0.92, or sounding alike and spelt within 0.70) and the other
// within 0.80. A swap is a transcription error, and the names it moves
// suffer typos like any other: the straight comparison accepts a single
// name at jw>=0.80 as partial agreement, so a swap whose one name agrees
// strongly and whose other is that close is a swap with a typo ("shepherd
// jaxk" for "jack shepherd", "fymwood robrt" for "robert fimwood"), not
// two different names.
func swappedNames(a, b *Prepared) bool {
	if a.given == "" || a.family == "" || b.given == "" || b.family == "" || standIn(a) || standIn(b) {
		return false
	}
	g, f := a.given == b.family, a.family == b.given
	if g && f {
		return true
	}
	if a.given[0] != b.family[0] || a.family[0] != b.given[0] {
		return false
	}
	jg, jf := JaroWinkler(a.given, b.family), JaroWinkler(a.family, b.given)
	if g || f {
		return min(jg, jf) >= jwWeak
	}
	strongG := jg >= jwStrong || (jg >= jwPhoneticMin && phoneticAgree(a.GivenDM1, a.GivenDM2, a.GivenNYSIIS, b.FamilyDM1, b.FamilyDM2, b.FamilyNYSIIS))
	strongF := jf >= jwStrong || (jf >= jwPhoneticMin && phoneticAgree(a.FamilyDM1, a.FamilyDM2, a.FamilyNYSIIS, b.GivenDM1, b.GivenDM2, b.GivenNYSIIS))
	return (strongG && jf >= jwWeak) || (strongF && jg >= jwWeak)
}

// phoneticAgree reports whether two names share a Double Metaphone code, or
// their NYSIIS codes agree. Soundex codes are kept for blocking but do not
// count here: four characters of a name are too coarse to tell a sound-alike
// from a typo.
func phoneticAgree(dm1a, dm2a, nya, dm1b, dm2b, nyb string) bool {
	if dm1a != "" && (dm1a == dm1b || dm1a == dm2b) {
		return true
	}
	if dm2a != "" && (dm2a == dm1b || dm2a == dm2b) {
		return true
	}
	return nya != "" && nya == nyb
}

// compareGiven is the given-name level, and whether it rests on a name
// written joined with a slip (Comparison.JoinedAlike).
func compareGiven(a, b *Prepared) (level uint8, joinedAlike bool) {
	l, joined := straightGiven(a, b)
	// Beside exact or jw>=0.92 first names only. Not beside a swap: a
	// compound family name keyed into the given field leaves its second
	// part as a middle name ("dest-johnson ronald" read as given dest,
	// middle johnson: registry 20k, 6 true pairs lost certain when swaps
	// were read too). Nor beside a nickname or a phonetic agreement, whose
	// middle names the caps read themselves (an ambiguous diminutive needs
	// them to agree, Scorer.middleTells; the typo rules weigh them).
	if !joined && (l == GivenExact || l == GivenJW92) && secondsConflict(a, b) {
		return GivenJW80, false
	}
	return l, joined && l == GivenJW92
}

// straightGiven is the level of the first given names (or of a name
// written joined on one record, joined then true).
func straightGiven(a, b *Prepared) (level uint8, joined bool) {
	if a.given == "" || b.given == "" || a.givenStandIn || b.givenStandIn {
		return GivenMissing, false
	}
	if a.given == b.given {
		return GivenExact, false
	}
	if sharesGroup(&a.givenNick, &b.givenNick) {
		return GivenNickname, false
	}
	if swappedNames(a, b) {
		return GivenSwapped, false
	}
	if joinedGiven(a, b) || joinedGiven(b, a) {
		return GivenExact, true
	}
	jw := JaroWinkler(a.given, b.given)
	if jw >= jwPhoneticMin && phoneticAgree(a.GivenDM1, a.GivenDM2, a.GivenNYSIIS,
		b.GivenDM1, b.GivenDM2, b.GivenNYSIIS) {
		return GivenPhonetic, false
	}
	switch {
	case jw >= jwStrong:
		return GivenJW92, false
	case joinedAlike(a, b) || joinedAlike(b, a):
		return GivenJW92, true
	case jw >= jwWeak || oneKeystroke(a.given, b.given):
		return GivenJW80, false
	}
	return GivenElse, false
}

// maxJoined bounds the given and middle names joinedAlike writes as one.
const maxJoined = 32

// joinedAlike reports whether a's given and first middle name written as
// one word are within Jaro–Winkler 0.92 of b's given name, of about its
// length: a two-syllable name written as two words on one record and
// joined, with a slip, on the other ("soo young", "sxooyoung"; "zhi wei",
// "zgiwei"). Exact joins are joinedGiven's.
func joinedAlike(a, b *Prepared) bool {
	m := a.middle1
	n := len(a.given) + len(m)
	if len(m) < 2 || n > maxJoined || n < len(b.given)-2 || n > len(b.given)+2 {
		return false
	}
	var buf [maxJoined]byte
	j := append(append(buf[:0], a.given...), m...)
	return jaroWinkler(j, b.given) >= jwStrong
}

// secondsConflict reports whether two records whose first given names
// agree (exactly or within jw 0.92) both give a second given
// name and the two are two names: not equal, not one keyed wrong
// (jw>=0.92), not a part of the other record's family name (a second
// family name recorded as a middle name: "maría garcía lópez" beside
// "maría lópez garcía"); an initial conflicts when it is neither the
// other's first letter nor that of a part of either family name. A
// compound given name is one name: "María Lucía" and "María Alejandra",
// "José Antonio" and "José Alberto", "Rosa Isela" and "Rosa M." are two
// people's — twins are often given such names, sharing the first — so
// compareGiven reads the given names as only somewhat alike (jw>=0.80), as
// two names sharing a part are, and the twins' rule holds the pair
// (MATCHING-NOTES "Names from everywhere"). Not else: the middle field
// also holds a second family name ("Juan Torres" beside "Juan Raúl" of
// Juan Raúl García Torres), which the pair alone cannot tell from a
// second given name; at else such pairs fell below probable (19 true
// pairs of the world profile's 20,000 records). A middle name missing, a
// stand-in or "nmn" says nothing.
func secondsConflict(a, b *Prepared) bool {
	ma, mb := a.second, b.second
	if a.secondNone || b.secondNone || ma == mb {
		return false
	}
	if len(ma) == 1 || len(mb) == 1 {
		return ma[0] != mb[0] && !familyInitial(a, ma[0]) && !familyInitial(b, ma[0]) &&
			!familyInitial(a, mb[0]) && !familyInitial(b, mb[0])
	}
	return !slices.Contains(a.familyParts, mb) && !slices.Contains(b.familyParts, ma) && ma != b.family && mb != a.family &&
		JaroWinkler(ma, mb) < jwStrong
}

// familyInitial reports whether c is the first letter of p's family name
// or of a part of it.
func familyInitial(p *Prepared, c byte) bool {
	if p.family != "" && p.family[0] == c {
		return true
	}
	for _, f := range p.familyParts {
		if f != "" && f[0] == c {
			return true
		}
	}
	return false
}

// joinedGiven reports whether a's given and first middle name written as
// one word are b's given name: a two-syllable name written as two words
// on one record and joined on the other ("xiao ming", "xiaoming"; "min
// jun", "minjun"). A hyphen already splits into words, as a space does.
func joinedGiven(a, b *Prepared) bool {
	m := a.middle1
	return len(m) >= 2 && len(b.given) == len(a.given)+len(m) &&
		strings.HasPrefix(b.given, a.given) && strings.HasSuffix(b.given, m)
}

// secondGiven is the first word of a middle name after any particle
// ("del carmen": carmen).
func secondGiven(middle string) string {
	for {
		w, rest, _ := strings.Cut(middle, " ")
		switch w {
		case "de", "del", "la", "las", "los":
			if rest != "" {
				middle = rest
				continue
			}
		}
		return w
	}
}

func compareFamily(a, b *Prepared) uint8 {
	if a.family == "" || b.family == "" || a.familyStandIn || b.familyStandIn {
		return FamilyMissing
	}
	if a.family == b.family {
		return FamilyExact
	}
	if swappedNames(a, b) {
		return FamilySwapped
	}
	if familyPartAgrees(a, b) {
		return FamilyPart
	}
	jw := JaroWinkler(a.family, b.family)
	if jw >= jwPhoneticMin && phoneticAgree(a.FamilyDM1, a.FamilyDM2, a.FamilyNYSIIS,
		b.FamilyDM1, b.FamilyDM2, b.FamilyNYSIIS) {
		return FamilyPhonetic
	}
	switch {
	case jw >= jwStrong:
		return FamilyJW92
	case jw >= jwWeak || oneKeystroke(a.family, b.family):
		return FamilyJW80
	}
	if crossedNames(a, b) {
		return FamilyCrossed
	}
	return FamilyElse
}

// crossedNames reports whether one record's family name is the other's
// given name (exactly or within Jaro–Winkler 0.92) when the family names
// themselves disagree: a name keyed into the wrong field while the other
// field was left empty or filled with something else ("ella carraill" for
// "willian carrsill"). It is checked only after the straight comparison
// fails, so it never outranks family-name agreement; a full swap is the
// swapped level. Being one comparison's level, its weight is learned like
// any other (u from random pairs, where a given name equal to another
// person's family name is uncommon but not rare: Thomas, James, Lee).
func crossedNames(a, b *Prepared) bool {
	if standIn(a) || standIn(b) {
		return false
	}
	cross := func(family, given string) bool {
		return family != "" && given != "" &&
			(family == given || (family[0] == given[0] && JaroWinkler(family, given) >= jwStrong))
	}
	return cross(a.family, b.given) || cross(b.family, a.given)
}

// standIn reports whether either name of p is a stand-in, which takes no
// part in name comparisons.
func standIn(p *Prepared) bool { return p.givenStandIn || p.familyStandIn }

// familyPartAgrees reports whether a part of one compound family name
// equals a part of the other (garcia lopez vs garcia; smith jones vs jones).
func familyPartAgrees(a, b *Prepared) bool {
	if len(a.familyParts) == 0 && len(b.familyParts) == 0 {
		return false
	}
	pa, pb := a.familyParts, b.familyParts
	one := [1]string{}
	if len(pa) == 0 {
		one[0] = a.family
		pa = one[:]
	} else if len(pb) == 0 {
		one[0] = b.family
		pb = one[:]
	}
	for _, x := range pa {
		if len(x) < 2 {
			continue
		}
		for _, y := range pb {
			if x == y {
				return true
			}
		}
	}
	return false
}

func compareBirth(a, b *Prepared) uint8 {
	da, db := a.birth, b.birth
	if da.Year == 0 || db.Year == 0 {
		// Unparseable dates kept as text still count when they are equal.
		if da.Year == 0 && db.Year == 0 && da.Text != "" && da.Text == db.Text {
			return BirthExact
		}
		return BirthMissing
	}
	if a.birthDigits != "" && b.birthDigits != "" {
		if a.birthDigits == b.birthDigits {
			return BirthExact
		}
		if da.Year == db.Year && da.Month == db.Day && da.Day == db.Month {
			return BirthTransposed
		}
		if withinOneEdit(a.birthDigits, b.birthDigits) {
			return BirthOneDigit
		}
	}
	// Same year and month as far as both dates record them: a date kept
	// as its year alone ("1995", civil and historical records) against a
	// full date of that year agrees on all it says, which is not the
	// mere nearness of year_within_one.
	if da.Year == db.Year && (da.Month == db.Month || da.Month == 0 || db.Month == 0) {
		return BirthYearMonth
	}
	if d := da.Year - db.Year; d >= -1 && d <= 1 {
		return BirthYearNear
	}
	return BirthElse
}

func compareSex(a, b *Prepared) uint8 {
	sa, sb := a.Rec.Sex, b.Rec.Sex
	if sa == record.SexUnknown || sb == record.SexUnknown {
		return SexMissing
	}
	if sa == sb {
		return SexAgree
	}
	return SexDisagree
}

// compareHousehold returns the household level, and whether its contact
// agreement rests on an e-mail slip alone with the level without it
// (Comparison.EmailSlip).
func compareHousehold(a, b *Prepared) (level, withoutSlip uint8, slipped bool) {
	streets := a.street != "" && b.street != ""
	phones := a.phone != "" && b.phone != ""
	emails := a.email != "" && b.email != ""
	postals := a.postal != "" && b.postal != ""
	cities := a.city != "" && b.city != ""
	if !streets && !phones && !emails && !postals && !cities {
		return HouseMissing, HouseMissing, false
	}
	postal3 := postals && a.postal[:3] == b.postal[:3]
	city := cities && (a.city == b.city || JaroWinkler(a.city, b.city) >= jwCity)
	address := streets && a.number == b.number &&
		(a.street == b.street || JaroWinkler(a.street, b.street) >= jwStreet) &&
		(!postals || postal3 || city)
	contact := (phones && (a.phone == b.phone || a.phone7 == b.phone7)) || (emails && a.email == b.email)
	slip := !contact && emails && emailSlip(a.email, b.email)
	postal := postals && a.postal == b.postal
	level = householdLevel(address, contact || slip, postal, city || postal3)
	if !slip {
		return level, level, false
	}
	return level, householdLevel(address, false, postal, city || postal3), true
}

// householdLevel is the household level of what agrees.
func householdLevel(address, contact, postal, cityOrPostal3 bool) uint8 {
	switch {
	case address && contact:
		return HouseAddressContact
	case address:
		return HouseAddress
	case contact:
		return HouseContact
	case postal:
		return HousePostal
	case cityOrPostal3:
		return HouseCityPostal3
	}
	return HouseDisagree
}

// compareIdentifiers compares identifiers by kind (MATCHING-NOTES
// "Identifiers differ by kind"). Only identifiers of the same type (and the
// same issuing system, where one is given) are compared.
//
//   - An identifier assigned by one system (an MRN, or an untyped
//     identifier with its system) is unique within it: equal values are
//     strong agreement, but a different value is what two registrations of
//     one person look like, and a value one digit away is the next
//     registration (families and newborn twins get consecutive numbers), so
//     neither is evidence either way.
//   - A hand-keyed number (SSN, national id, driver's licence, passport)
//     can carry a typo: one character off is (weak) agreement, any other
//     different value disagreement.
//
// The typed identifiers (every kind but record.IDOther) are judged on
// their own first. An identifier of a kind we cannot tell (an insurance
// member number, an unknown system) may be a whole family's — a payer
// gives one member number to the subscriber, the spouse and the children —
// so its agreement must neither hide a person's own number that disagrees
// (two relatives with one member number and different SSNs are two people:
// the level is disagree) nor lift the relatives' caps the way an MRN's
// does. Beside a typed number one off (twins' SSNs may be consecutive) or
// none, it gives the exact level, and untyped reports that the level is
// exact only through such identifiers (Comparison.UntypedIDOnly): weight,
// but no relatives' cap lifted.
//
// conflict reports a typed identifier that disagrees beside another typed
// one that agrees (an MRN equal, the SSNs different): the level is the
// agreement's, which keeps its weight, and the caps read the conflict
// (Comparison.IDConflict). Beside an exact agreement only a number a
// person keeps for life counts (the SSN): a passport is renewed, a
// driver's licence is issued again by another state, and two countries'
// national ids share one type here, so one of those differing beside an
// MRN that agrees is what one person's records look like. Beside an
// agreement one character off (twins' SSNs may be consecutive) any typed
// number that differs is a conflict. A type with one pair agreeing and
// another disagreeing (a record carrying an old and a corrected SSN) is no
// conflict.
func compareIdentifiers(a, b *Prepared) (level uint8, untyped, conflict bool) {
	typed := uint8(IDMissing)
	var otherExact bool
	var agreeing, disagreeing uint64 // bit per identifier type
	for i := range a.ids {
		x := &a.ids[i]
		for j := range b.ids {
			y := &b.ids[j]
			if x.Type != y.Type || (x.System != "" && y.System != "" && x.System != y.System) {
				continue
			}
			if x.Type == record.IDMRN && (x.System == "") != (y.System == "") {
				// An MRN is unique only within its issuing system.
				continue
			}
			if x.Type == record.IDOther {
				otherExact = otherExact || x.Value == y.Value
				continue
			}
			l := typedLevel(x, y)
			switch l {
			case IDExact, IDOneOff:
				agreeing |= 1 << (x.Type & 63)
			case IDDisagree:
				disagreeing |= 1 << (x.Type & 63)
			}
			typed = min(typed, l)
		}
	}
	differing := disagreeing &^ agreeing
	if typed == IDExact {
		differing &= 1 << (record.IDSSN & 63)
	}
	conflict = typed != IDDisagree && differing != 0
	switch {
	case typed == IDExact || typed == IDDisagree:
		return typed, false, conflict
	case otherExact:
		return IDExact, true, conflict
	}
	return typed, false, conflict
}

// typedLevel is the level of two identifiers of one known type (and
// compatible systems): exact, one off or disagree for a hand-keyed
// number, exact or missing (nothing said) for a system-assigned one.
func typedLevel(x, y *record.Identifier) uint8 {
	switch {
	case x.Value == y.Value:
		return IDExact
	case systemAssigned(x.Type):
		return IDMissing
	case withinOneEdit(x.Value, y.Value):
		return IDOneOff
	}
	return IDDisagree
}

// systemAssigned reports identifier types issued by one system, whose
// values say nothing when they differ.
func systemAssigned(t record.IdentifierType) bool {
	return t == record.IDMRN || t == record.IDOther
}

// oneKeystroke reports whether two names of three letters or more are one
// edit apart (a letter changed, added, dropped, or two adjacent swapped).
// Jaro–Winkler is harsh on short names: one keystroke in "harper"
// ("hzrper") or "mou" ("mlu") puts them below 0.80, where a long name with
// the same slip stays above 0.92. Such a pair reaches the weak jw>=0.80
// level, not else; the caps read that level as names that differ, as
// before. Shorter names (initials, "al", "jo") are left to Jaro–Winkler:
// any two initials are one edit apart.
//
// One edit leaves the first or the last letter in place (names of three
// letters or more), so most strangers are told apart without the scan.
func oneKeystroke(a, b string) bool {
	if min(len(a), len(b)) < 3 || (a[0] != b[0] && a[len(a)-1] != b[len(b)-1]) {
		return false
	}
	return withinOneEdit(a, b)
}

// emailSlip reports whether two different e-mail addresses are one
// keystroke apart — one letter or sign substituted, added, dropped, or two
// neighbours swapped ("hday48@thomas-carter.com", "…thomas-carter.ocm") —
// which is a slip in keying one address, not a second one: on
// splink_fake_1000 233 true pairs and no false one have e-mails one edit
// apart, and the household comparison read every one as disagreement.
// Two edits are not a slip (12 false pairs there, short addresses of other
// people at one domain).
//
// What tells two people's addresses apart is kept apart: an edit that
// involves a digit (a sign-up form makes a second John Smith take
// "jsmith7" beside "jsmith"), a different first character (the initial:
// "msmith" and "jsmith" are a family), and in the handle before the "@"
// any edit but a letter's: namesakes build their handles from one name
// and tell them apart by a sign ("john.smith", "johnsmith",
// "john_smith"), and namesakes — same name and birth date, another
// household — are the pair the contact must not join (CapCorroboration). A slip counts as the
// contact agreeing; relatives who share an address are already the
// household comparison's case, and the caps, not it, tell them apart.
func emailSlip(a, b string) bool {
	if a == "" || b == "" || a[0] != b[0] {
		return false
	}
	if len(a) < len(b) {
		a, b = b, a
	}
	if len(a)-len(b) > 1 {
		return false
	}
	i := 0 // the first difference
	for i < len(b) && a[i] == b[i] {
		i++
	}
	// ok says whether a character the edit involves may be a slip's: in
	// the handle (at or before b's "@") only a letter, in the domain
	// anything but a digit.
	at := strings.IndexByte(b, '@')
	ok := func(c byte) bool {
		if at < 0 || i <= at {
			return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		}
		return !isDigit(c)
	}
	if len(a) == len(b) {
		if i == len(a) {
			return false // equal
		}
		if a[i+1:] == b[i+1:] { // one substituted
			return ok(a[i]) && ok(b[i])
		}
		// two neighbours swapped
		return i+1 < len(a) && a[i] == b[i+1] && a[i+1] == b[i] && a[i+2:] == b[i+2:] &&
			ok(a[i]) && ok(a[i+1])
	}
	// a has one more: dropped from b at i
	return a[i+1:] == b[i:] && ok(a[i])
}
