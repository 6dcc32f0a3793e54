// Package record defines the normalized demographics record that every other
// part of patientmatch compares, and the parsers that build it from outside
// input (FHIR R4 Patient JSON, NDJSON, Bundles and the canonical CSV).
//
// Normalization happens once, when a record enters the system, so that the
// scoring hot path only ever sees folded, tokenized, comparable values.
package record

// Sex is the administrative gender of a patient, as FHIR codes it.
type Sex uint8

// Sex values. SexUnknown is also used when the value is absent.
const (
	SexUnknown Sex = iota
	SexMale
	SexFemale
	SexOther
)

// String returns the FHIR code of the sex ("male", "female", "other", "unknown").
func (s Sex) String() string {
	switch s {
	case SexMale:
		return "male"
	case SexFemale:
		return "female"
	case SexOther:
		return "other"
	default:
		return "unknown"
	}
}

// Date is a birth date that may be partial (year, or year and month) and may
// not be on the calendar (1985-02-30 is kept, not rejected: corrupt data must
// still be compared). Zero fields mean "not given".
type Date struct {
	Year  int // 0 when absent
	Month int // 0 when absent or year-only
	Day   int // 0 when absent, year-only or year-month
	// Valid reports whether Year/Month/Day form a real calendar date (or a
	// well-formed partial one).
	Valid bool
	// Text is the date as given, trimmed; kept for dates that could not be
	// parsed into digits at all.
	Text string
}

// IsZero reports whether no birth date was given.
func (d Date) IsZero() bool { return d.Year == 0 && d.Text == "" }

// Address is a normalized postal address. All strings are lower-case ASCII.
type Address struct {
	Number     string // house number, e.g. "12", "12a"
	Street     string // street name without number, type or unit, e.g. "main"
	StreetType string // canonical street type, e.g. "st", "ave", "rd"
	Unit       string // apartment/unit designator value, e.g. "4b"
	City       string
	State      string
	PostalCode string // letters and digits only, lower-case
	Country    string
}

// IsZero reports whether the address holds nothing.
func (a Address) IsZero() bool { return a == Address{} }

// IdentifierType classifies an identifier so that only like is compared with like.
type IdentifierType uint8

// Identifier types.
const (
	IDOther IdentifierType = iota
	IDSSN
	IDNational
	IDMRN
	IDDriversLicense
	IDPassport
)

// String returns the canonical CSV column name of the identifier type.
func (t IdentifierType) String() string {
	switch t {
	case IDSSN:
		return "ssn"
	case IDNational:
		return "national_id"
	case IDMRN:
		return "mrn"
	case IDDriversLicense:
		return "drivers_license"
	case IDPassport:
		return "passport"
	default:
		return "other"
	}
}

// Identifier is a typed identifier. Value is upper-case letters and digits only.
// System scopes it: an MRN is only unique within its issuing system.
type Identifier struct {
	Type   IdentifierType
	System string
	Value  string
}

// Record is a patient's normalized demographics. Every string is folded to
// lower-case ASCII (diacritics removed, punctuation dropped) so comparators can
// work on bytes.
type Record struct {
	ID string

	// Family is the whole family name, parts joined by one space
	// ("garcia lopez", "smith jones" for Smith-Jones).
	Family string
	// FamilyParts holds the parts of a compound or hyphenated family name;
	// nil when the name has one part.
	FamilyParts []string
	// Given is the first given name; Middle the remaining given names joined
	// by a space.
	Given  string
	Middle string
	// Suffix is a recognised generational suffix: "jr", "sr", "ii", "iii", "iv".
	Suffix string

	BirthDate Date
	Sex       Sex
	Address   Address
	// Phone is digits only, E.164 with a leading "+" when the country code is
	// known (US/Canada numbers of 10 digits become +1XXXXXXXXXX).
	Phone string
	// Email is lower-cased and trimmed.
	Email string

	Identifiers []Identifier
}

// HasDemographics reports whether r holds anything a comparison could
// use: a name, birth date, address, phone, email or identifier. A record
// without any is nothing to match on (every surface refuses it).
func (r *Record) HasDemographics() bool {
	return r.Family != "" || r.Given != "" || !r.BirthDate.IsZero() || !r.Address.IsZero() ||
		r.Phone != "" || r.Email != "" || len(r.Identifiers) > 0
}
