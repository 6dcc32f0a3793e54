package scoring

import (
	"github.com/antzucaro/matchr"

	"github.com/patientmatch/patientmatch/record"
)

// Prepared is a record made ready for comparison: everything a comparator
// needs that can be computed from one record alone (phonetic codes, digit
// strings, nickname groups) is computed here, once, so that comparing two
// prepared records allocates nothing.
//
// Blocking (package blocking) and the candidate index read the phonetic
// codes from here too, so they are computed exactly once per record.
type Prepared struct {
	Rec record.Record

	// Double Metaphone primary and alternate codes and NYSIIS code of the
	// first given name and of the whole family name (spaces removed).
	GivenDM1, GivenDM2, GivenNYSIIS    string
	FamilyDM1, FamilyDM2, FamilyNYSIIS string
}

// Prepare computes the comparison-ready form of r.
func Prepare(r record.Record) *Prepared {
	p := &Prepared{Rec: r}
	PrepareInto(p, r)
	return p
}

// PrepareInto fills p from r, reusing p's memory where it can.
func PrepareInto(p *Prepared, r record.Record) {
	*p = Prepared{Rec: r}
	if r.Given != "" {
		p.GivenDM1, p.GivenDM2 = matchr.DoubleMetaphone(r.Given)
		p.GivenNYSIIS = matchr.NYSIIS(r.Given)
	}
	if fam := joinedFamily(r); fam != "" {
		p.FamilyDM1, p.FamilyDM2 = matchr.DoubleMetaphone(fam)
		p.FamilyNYSIIS = matchr.NYSIIS(fam)
	}
}

// joinedFamily is the family name with the spaces between its parts removed,
// the form phonetic encoders expect.
func joinedFamily(r record.Record) string {
	if len(r.FamilyParts) == 0 {
		return r.Family
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
