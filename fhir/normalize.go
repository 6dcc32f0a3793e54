package fhir

import (
	"strings"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/patientmatch/patientmatch/record"
)

// toRecord normalizes a Patient to match on.
//
// TEMPORARY: record.FromFHIR is being written concurrently; until it lands
// this keeps the package building with a minimal conversion. Replace the
// body with `return record.FromFHIR(p)`.
func toRecord(p *fm.Patient) record.Record {
	var r record.Record
	if p.Id != nil {
		r.ID = *p.Id
	}
	if len(p.Name) > 0 {
		n := p.Name[0]
		if n.Family != nil {
			r.Family = strings.ToLower(*n.Family)
		}
		if len(n.Given) > 0 {
			r.Given = strings.ToLower(n.Given[0])
		}
	}
	if p.BirthDate != nil {
		r.BirthDate.Text = *p.BirthDate
	}
	return r
}
