package scoring

import (
	"github.com/antzucaro/matchr"

	"github.com/patientmatch/patientmatch/record"
)

// Prepared is a record made ready for comparison: everything a comparator
// needs that can be computed from one record alone (phonetic codes, digit
// strings, nickname groups, term frequencies) is computed here, once, so
// that comparing two prepared records allocates nothing and looks nothing
// up in a map.
//
// Blocking (package blocking) and the candidate index read the phonetic
// codes from here too, so they are computed exactly once per record.
//
// Placeholder values (0000000000, 1900-01-01, noemail@...) are dropped
// from the comparison-ready fields, so they compare as missing; stand-in
// names are kept but compare as missing too (record/placeholder.go is the
// one placeholder policy). Rec keeps the record as given.
type Prepared struct {
	Rec record.Record

	// Double Metaphone primary and alternate codes and NYSIIS code of the
	// first given name and of the whole family name (spaces removed).
	GivenDM1, GivenDM2, GivenNYSIIS    string
	FamilyDM1, FamilyDM2, FamilyNYSIIS string
	// Soundex codes of the same names.
	GivenSoundex, FamilySoundex string

	// GivenTF and FamilyTF are the relative frequencies of the given and
	// family name among the records the term frequencies were built from
	// (see TermFrequencies); 0 when unknown, which turns the term-frequency
	// adjustment off for this record. Scorer.PrepareInto sets them.
	GivenTF, FamilyTF float64

	// Comparison-ready values; empty means missing.
	given, family string
	// givenStandIn and familyStandIn mark stand-in names (kept for
	// blocking, compared as missing).
	givenStandIn, familyStandIn bool
	familyParts                 []string
	givenNick                   [maxNickGroups]uint16
	familyNick                  [maxNickGroups]uint16 // only for a lone family name (a mononym)
	birth                       record.Date           // Year == 0 when missing
	birthDigits                 string                // "YYYYMMDD" for full dates, else ""
	number                      string                // house number
	street                      string                // street name and type
	city                        string
	postal                      string
	phone                       string // digits only
	phone7                      string // last seven digits of phone
	email                       string
	ids                         []record.Identifier
}

// PrepareWithoutTF computes the comparison-ready form of r without term
// frequencies (GivenTF and FamilyTF stay 0): what blocking keys, training
// and counting term frequencies need. A record that a Scorer with term
// frequencies will score must come from Scorer.Prepare instead, or the
// term-frequency adjustment is silently off for it; hence the long name.
func PrepareWithoutTF(r record.Record) *Prepared {
	p := &Prepared{}
	PrepareIntoWithoutTF(p, r)
	return p
}

// PrepareIntoWithoutTF fills p from r, without term frequencies (see
// PrepareWithoutTF).
func PrepareIntoWithoutTF(p *Prepared, r record.Record) {
	*p = Prepared{Rec: r}
	if r.Given != "" {
		p.given = r.Given
		p.GivenDM1, p.GivenDM2 = matchr.DoubleMetaphone(r.Given)
		p.GivenNYSIIS = matchr.NYSIIS(r.Given)
		p.GivenSoundex = matchr.Soundex(r.Given)
		defaultNicknames().lookup(r.Given, &p.givenNick)
	}
	if r.Family != "" {
		p.family = r.Family
		p.familyParts = r.FamilyParts
		fam := joinedFamily(r)
		p.FamilyDM1, p.FamilyDM2 = matchr.DoubleMetaphone(fam)
		p.FamilyNYSIIS = matchr.NYSIIS(fam)
		p.FamilySoundex = matchr.Soundex(fam)
		if r.Given == "" {
			// A lone name may be a given name (alignSingleName).
			defaultNicknames().lookup(r.Family, &p.familyNick)
		}
	}
	// Stand-in names ("unknown", "baby boy", "John Doe") are kept, so that
	// blocking still keys on them and a registered "Jane Doe" is found
	// through the rest of her record, but they compare as missing: agreeing
	// on one is no evidence (record.IsPlaceholderName).
	person := record.IsPlaceholderPerson(r.Given, r.Family)
	p.givenStandIn = person || record.IsPlaceholderName(r.Given)
	p.familyStandIn = person || record.IsPlaceholderName(r.Family)

	if d := r.BirthDate; !d.IsZero() && !record.IsPlaceholderBirth(d) {
		p.birth = d
		if d.Year > 0 && d.Month > 0 && d.Day > 0 && d.Year < 10000 && d.Month < 100 && d.Day < 100 {
			var b [8]byte
			put := func(at, v, n int) {
				for i := at + n - 1; i >= at; i-- {
					b[i] = byte('0' + v%10)
					v /= 10
				}
			}
			put(0, d.Year, 4)
			put(4, d.Month, 2)
			put(6, d.Day, 2)
			p.birthDigits = string(b[:])
		}
	}

	a := r.Address
	if a.Street != "" && !record.IsPlaceholderStreet(a.Street) {
		p.number = a.Number
		p.street = a.Street
		if a.StreetType != "" {
			p.street = a.Street + " " + a.StreetType
		}
	}
	p.city = a.City
	p.postal = a.PostalCode
	if len(p.postal) < 3 || allSame(p.postal) {
		p.postal = ""
	}

	digits := make([]byte, 0, len(r.Phone))
	for i := 0; i < len(r.Phone); i++ {
		if isDigit(r.Phone[i]) {
			digits = append(digits, r.Phone[i])
		}
	}
	if len(digits) >= 7 && !record.IsPlaceholderDigits(string(digits[len(digits)-7:]), 7) {
		p.phone = string(digits)
		p.phone7 = p.phone[len(p.phone)-7:]
	}
	if r.Email != "" && !record.IsPlaceholderEmail(r.Email) {
		p.email = r.Email
	}

	p.ids = r.Identifiers
	for i, id := range r.Identifiers {
		if record.IsPlaceholderID(id.Value) {
			// Copy once, keeping only the real identifiers.
			kept := make([]record.Identifier, 0, len(r.Identifiers)-1)
			kept = append(kept, r.Identifiers[:i]...)
			for _, id := range r.Identifiers[i+1:] {
				if !record.IsPlaceholderID(id.Value) {
					kept = append(kept, id)
				}
			}
			p.ids = kept
			break
		}
	}
}

// allSame reports whether every byte of s is the same.
func allSame(s string) bool {
	for i := 1; i < len(s); i++ {
		if s[i] != s[0] {
			return false
		}
	}
	return true
}

// joinedFamily is the family name with the spaces between its parts removed,
// the form phonetic encoders expect.
func joinedFamily(r record.Record) string {
	if len(r.FamilyParts) == 0 {
		b := make([]byte, 0, len(r.Family))
		for i := 0; i < len(r.Family); i++ {
			if r.Family[i] != ' ' {
				b = append(b, r.Family[i])
			}
		}
		return string(b)
	}
	n := 0
	for _, s := range r.FamilyParts {
		n += len(s)
	}
	b := make([]byte, 0, n)
	for _, s := range r.FamilyParts {
		b = append(b, s...)
	}
	return string(b)
}
