package matcher

import (
	"context"
	"testing"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// civilPatient is a sparse record (issue 13): names, birth date and a
// place of birth, no street address, phone or identifier.
func civilPatient(id, family, given, birth, city, postal string) *fm.Patient {
	p := testPatient(id, family, given, birth)
	if family == "" {
		p.Name[0].Family = nil
	}
	a := fm.Address{City: &city}
	if postal != "" {
		a.PostalCode = &postal
	}
	p.Address = []fm.Address{a}
	return p
}

// TestMatchSparseThroughFallbackKeys: $match finds a sparse patient
// through the fallback keys package blocking gives sparse records (the
// place as the city as well as the postal code): the stored record has
// city and postal code, the query the city alone, a diminutive and no
// family name, so it shares no other key with it. The index keys stored
// patients with blocking.Keys, as the batch jobs do, so this is the same
// keying that lifted civil's pairs completeness (bench/README).
func TestMatchSparseThroughFallbackKeys(t *testing.T) {
	ctx := context.Background()
	e := openMem(t)
	pats := []*fm.Patient{
		civilPatient("c1", "Klavel", "Amanda", "1972-07-03", "Boston", "02177"),
		civilPatient("c2", "Okafor", "Chidi", "1980-03-04", "Boston", "02118"),
	}
	if _, err := e.UpsertBatch(ctx, pats); err != nil {
		t.Fatal(err)
	}
	q := civilPatient("", "", "Mandy", "1972-07-03", "Boston", "")
	ms, err := e.Match(ctx, query(q), MatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 || ms[0].ID != "c1" {
		t.Fatalf("matches %v, want c1 first", ids(ms))
	}
}
