package matcher

import (
	"context"
	"testing"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/patientmatch/patientmatch/scoring"
)

// twinOf is a twin brother of p: same family name, birth date, sex,
// address and phone, another given name and no identifier (twins never
// share one; a different SSN would be a conflict of its own).
func twinOf(p *fm.Patient, id, given string) *fm.Patient {
	t := withContact(testPatient(id, *p.Name[0].Family, given, *p.BirthDate), p.Address[0].Line[0],
		*p.Address[0].City, *p.Address[0].PostalCode, *p.Telecom[0].Value, "")
	t.Identifier = nil
	t.Gender = p.Gender
	return t
}

// TestMatchNamesTheCap: a match carries the hazard rule that lowered its
// grade, with or without an explanation, and none when no rule did.
func TestMatchNamesTheCap(t *testing.T) {
	ctx := context.Background()
	e := openMem(t)
	male := fm.AdministrativeGenderMale
	michael := withContact(testPatient("michael", "Okafor", "Michael", "2001-03-14"), "9 Birch Ln", "Tulsa", "74103", "9185550142", "")
	michael.Identifier = nil
	michael.Gender = &male
	stranger := withContact(testPatient("ruth", "Abernathy", "Ruth", "1950-01-30"), "1 Main St", "Reno", "89501", "7755550100", "222-33-4444")
	if _, err := e.UpsertBatch(ctx, []*fm.Patient{michael, stranger}); err != nil {
		t.Fatal(err)
	}
	for _, explain := range []bool{false, true} {
		ms, err := e.Match(ctx, query(twinOf(michael, "", "David")), MatchOptions{Explain: explain})
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 1 || ms[0].ID != "michael" || ms[0].Grade != scoring.GradePossible || ms[0].Cap != scoring.CapTwins {
			t.Fatalf("explain %v: twin query = %+v, want michael, possible, capped by twins", explain, summary(ms))
		}
		ms, err = e.Match(ctx, query(michael), MatchOptions{Explain: explain})
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 1 || ms[0].ID != "michael" || ms[0].Grade != scoring.GradeCertain || ms[0].Cap != scoring.CapNone {
			t.Fatalf("explain %v: exact query = %+v, want michael, certain, no cap", explain, summary(ms))
		}
	}
	// The conflict cap: the candidate a different sex holds at probable.
	e2, q := cappedOutranksCertain(t)
	ms, err := e2.Match(ctx, query(q), MatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := summary(ms); len(got) != 2 || got[0] != "only certain none" || got[1] != "capped probable conflict" {
		t.Fatalf("caps = %v, want [only certain none, capped probable conflict]", got)
	}
}

// summary lists each match as "id grade cap".
func summary(ms []Match) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID + " " + m.Grade.String() + " " + m.Cap.String()
	}
	return out
}
