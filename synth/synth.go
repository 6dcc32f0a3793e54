// Package synth generates synthetic US-style patients with the hazards that
// make patient matching hard: households (spouses, siblings, twins, juniors),
// common names that collide across households, and duplicate records of one
// person carrying realistic errors (typos, nicknames, phonetic spellings,
// married-name changes, transposed or mistyped birth dates, moves, missing
// fields, placeholders).
//
// Output is deterministic: the same Options give byte-identical output, so a
// benchmark can name its data set by its seed. Generation streams: memory is
// bounded by one household plus the shuffle window (see shuffleWindow), not by
// N.
package synth

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalid is returned (wrapped) for invalid Options or formats.
var ErrInvalid = errors.New("synth: invalid options")

// DefaultDupRate is the fraction of people given extra records when the
// caller has no better figure (the command's --dup-rate default).
const DefaultDupRate = 0.2

// Options configure a Generator.
type Options struct {
	// N is the number of records to write. Required, > 0.
	N int
	// Seed selects the data set; the same seed gives the same bytes.
	// Zero is a valid seed.
	Seed uint64
	// DupRate is the fraction of people (entities) that get 1–3 extra
	// records, in [0, 1]. Zero means no duplicates; callers wanting the usual
	// mix pass DefaultDupRate.
	DupRate float64
	// Profile selects the shape of the data set (ProfileHousehold when
	// empty); see Profiles.
	Profile Profile
}

// Validate reports every problem with o at once.
func (o Options) Validate() error {
	var errs []error
	if o.N <= 0 {
		errs = append(errs, fmt.Errorf("%w: N must be > 0, got %d", ErrInvalid, o.N))
	}
	if !(o.DupRate >= 0 && o.DupRate <= 1) { // also rejects NaN
		errs = append(errs, fmt.Errorf("%w: DupRate must be in [0,1], got %v", ErrInvalid, o.DupRate))
	}
	if !o.Profile.valid() {
		errs = append(errs, fmt.Errorf("%w: unknown profile %q (want one of %s)", ErrInvalid, o.Profile, strings.Join(profileNames(), ", ")))
	}
	return errors.Join(errs...)
}

// Column indexes of Row.Cols, in canonical CSV order.
const (
	ColID = iota
	ColFamily
	ColGiven
	ColMiddle
	ColSuffix
	ColBirthDate
	ColSex
	ColAddressLine
	ColCity
	ColState
	ColPostalCode
	ColCountry
	ColPhone
	ColEmail
	ColSSN
	ColNationalID
	ColMRN
	ColDriversLicense
	ColPassport
	// ColMemberID and ColMemberSystem are an insurance member number and
	// its payer (the reader's extension columns member_id and
	// member_system), written only by the profile that fills them
	// (Profile.Header).
	ColMemberID
	ColMemberSystem
	NumCols
)

// Header returns the canonical CSV columns (CONTRACT.md), in Row.Cols
// order: the first len(Header()) columns of a Row.
func Header() []string {
	return []string{"id", "family", "given", "middle", "suffix", "birth_date", "sex",
		"address_line", "city", "state", "postal_code", "country", "phone", "email",
		"ssn", "national_id", "mrn", "drivers_license", "passport"}
}

// Header returns the columns the profile writes, in Row.Cols order: the
// canonical ones, and the member-number columns where the profile fills
// them, so that the other profiles' files keep the contract's columns.
func (p Profile) Header() []string {
	h := Header()
	if p.is(ProfileInsured) {
		h = append(h, "member_id", "member_system")
	}
	return h
}

// Row is one generated record.
type Row struct {
	Cols [NumCols]string
	// Entity identifies the person; records with the same Entity are
	// duplicates of each other.
	Entity int
	// Household identifies the household the person was generated in.
	Household int
	// Hazards says what makes this record hard: the person's relations
	// (twin, junior, ...) and, for duplicate records, the errors applied.
	Hazards Hazard
}

// ID returns the record id.
func (r *Row) ID() string { return r.Cols[ColID] }

// Hazard is a set of hazard kinds.
type Hazard uint32

// Hazard kinds. The first group describes the person, the second the errors
// of a duplicate record.
const (
	HazSpouse     Hazard = 1 << iota // lives with a spouse (shared address, phone)
	HazChild                         // a child in a household with parent(s)
	HazSibling                       // shares a household with a sibling
	HazTwin                          // has a twin: same birth date, address, family
	HazJunior                        // son named after his father (father gets HazSenior)
	HazSenior                        // father of a junior
	HazHyphenated                    // hyphenated or double family name
	HazMaiden                        // changed family name on marriage

	HazDuplicate    // record is an extra record of its entity
	HazTypo         // insert/delete/substitute/transpose in a name or street
	HazNickname     // given name replaced by a nickname
	HazPhonetic     // name respelled as it sounds
	HazNameChange   // maiden name with the pre-marriage address
	HazDayMonth     // birth day and month transposed
	HazDateDigit    // one digit of the birth date off
	HazMoved        // different address
	HazPhoneChange  // different phone
	HazMissing      // fields left empty
	HazHyphenDrop   // one part of a hyphenated/double family name dropped
	HazSwapped      // given and family swapped
	HazPlaceholder  // a placeholder value (0000000000, 1900-01-01, unknown@)
	HazFormatChange // same data in a different format (case, ZIP+4, phone)

	// Ways of writing a name, of the world profile's records (worldView),
	// and its people's 1 January birth dates.
	HazCompound   // compound or two-syllable given name written otherwise (María Lucía → María L; Xiao Ming → Xiaoming)
	HazFamilyForm // two family names or a particle written otherwise (García López → García; De la Cruz → Delacruz)
	HazOrder      // family name written first (East Asian), or given and middle swapped (West African)
	HazAlias      // an adopted English name or a short form as given name (Nancy for My; Tope for Temitope)
	HazRespelled  // another transliteration (Mohammed → Muhammad; Lee → Yi)
	HazJanFirst   // an adult born abroad whose unknown birth date is recorded as 1 January
	hazEnd
)

var hazardNames = [...]string{"spouse", "child", "sibling", "twin", "junior", "senior",
	"hyphenated", "maiden", "duplicate", "typo", "nickname", "phonetic", "name_change",
	"day_month", "date_digit", "moved", "phone_change", "missing", "hyphen_drop",
	"swapped", "placeholder", "format_change", "compound", "family_form", "order", "alias",
	"respelled", "jan_first"}

// String lists the kinds in h, joined by "|".
func (h Hazard) String() string {
	var parts []string
	for i, n := range hazardNames {
		if h&(1<<i) != 0 {
			parts = append(parts, n)
		}
	}
	return strings.Join(parts, "|")
}

// HazardKinds returns every single hazard kind, in order.
func HazardKinds() []Hazard {
	var out []Hazard
	for h := Hazard(1); h < hazEnd; h <<= 1 {
		out = append(out, h)
	}
	return out
}
