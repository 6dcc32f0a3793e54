package scoring

import (
	"strings"

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
	// givenCarriers and familyCarriers count the records that carry the
	// names, this one included, for a record the term frequencies were
	// not counted from (Scorer.PrepareQuery); 0 for one they were, whose
	// count GivenTF and FamilyTF give.
	givenCarriers, familyCarriers uint32
	familyParts                   []string
	givenNick                     [maxNickGroups]uint16
	familyNick                    [maxNickGroups]uint16 // only for a lone family name (a mononym)
	birth                         record.Date           // Year == 0 when missing
	birthDigits                   string                // "YYYYMMDD" for full dates, else ""
	number                        string                // house number
	street                        string                // street name and type
	city                          string
	postal                        string
	phone                         string // digits only
	phone7                        string // last seven digits of phone
	email                         string
	ids                           []record.Identifier

	// middle1 is the first word of the middle name ("carlos" of "carlos
	// alberto"), second the second given name (secondGiven: the first word
	// after any particle, "carmen" of "del carmen"), and secondNone marks
	// a second given name that says nothing (noMiddle: none, "nmn", a
	// stand-in). The given-name comparators read them for every pair with
	// a shared first name (joinedGiven, joinedAlike, secondsConflict), so
	// they are cut and looked up here, once per record.
	middle1, second string
	secondNone      bool
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
	p.prepareNames(r)
	if d := r.BirthDate; !d.IsZero() && !record.IsPlaceholderBirth(d) {
		p.birth = d
		p.birthDigits = birthDigits(d)
	}
	p.prepareAddress(r.Address)
	p.phone, p.phone7 = phoneDigits(r.Phone)
	if r.Email != "" && !record.IsPlaceholderEmail(r.Email) {
		p.email = r.Email
	}
	p.ids = realIdentifiers(r.Identifiers)
}

// prepareNames computes the names' phonetic codes and nickname groups,
// which blocking and the name comparators both read, and marks stand-in
// names.
func (p *Prepared) prepareNames(r record.Record) {
	if r.Given != "" {
		p.given = r.Given
		p.GivenDM1, p.GivenDM2 = matchr.DoubleMetaphone(r.Given)
		p.GivenNYSIIS = matchr.NYSIIS(r.Given)
		p.GivenSoundex = matchr.Soundex(r.Given)
		defaultNicknames().lookup(r.Given, &p.givenNick)
	}
	p.middle1, _, _ = strings.Cut(r.Middle, " ")
	p.second = secondGiven(r.Middle)
	p.secondNone = noMiddle(p.second)
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
}

// birthDigits writes a full date as "YYYYMMDD", for the digit-by-digit
// comparison levels (one digit off, transposed), or "" for a partial date
// or one that does not fit eight digits.
func birthDigits(d record.Date) string {
	if !(d.Year > 0 && d.Month > 0 && d.Day > 0 && d.Year < 10000 && d.Month < 100 && d.Day < 100) {
		return ""
	}
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
	return string(b[:])
}

// prepareAddress keeps the parts of a that compare: a placeholder street
// drops the street and number (they would agree on the placeholder), and
// a postal code too short or all one digit is dropped as no code.
func (p *Prepared) prepareAddress(a record.Address) {
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
}

// phoneDigits returns the digits of phone and its last seven (the local
// number, which survives a changed or missing area code), or "", "" when
// it has fewer than seven digits or they are a placeholder.
func phoneDigits(phone string) (digits, last7 string) {
	d := make([]byte, 0, len(phone))
	for i := 0; i < len(phone); i++ {
		if isDigit(phone[i]) {
			d = append(d, phone[i])
		}
	}
	if len(d) >= 7 && !record.IsPlaceholderDigits(string(d[len(d)-7:]), 7) {
		digits = string(d)
		return digits, digits[len(digits)-7:]
	}
	return "", ""
}

// realIdentifiers returns ids without placeholder values. It returns ids
// itself, not a copy, when none is a placeholder, the common case, so that
// preparing a record allocates no identifiers.
func realIdentifiers(ids []record.Identifier) []record.Identifier {
	for i, id := range ids {
		if record.IsPlaceholderID(id.Value) {
			// Copy once, keeping only the real identifiers.
			kept := make([]record.Identifier, 0, len(ids)-1)
			kept = append(kept, ids[:i]...)
			for _, id := range ids[i+1:] {
				if !record.IsPlaceholderID(id.Value) {
					kept = append(kept, id)
				}
			}
			return kept
		}
	}
	return ids
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
