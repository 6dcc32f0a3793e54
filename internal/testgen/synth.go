package testgen

import (
	"context"
	"fmt"
	"testing"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/patientmatch/patientmatch/record"
	"github.com/patientmatch/patientmatch/synth"
)

// SynthPatients generates n patients with package synth (seeded; households,
// duplicates with typical registration errors, synth.DefaultDupRate of
// people duplicated) and reads them through record.PatientFromColumns, as
// loading or deduplicating a CSV does. entity gives each patient's person.
func SynthPatients(tb testing.TB, n int, seed uint64) (pats []*fm.Patient, entity []int) {
	tb.Helper()
	g, err := synth.New(synth.Options{N: n, Seed: seed, DupRate: synth.DefaultDupRate})
	if err != nil {
		tb.Fatal(err)
	}
	header := synth.Header()
	pats = make([]*fm.Patient, 0, n)
	_, err = g.Each(context.Background(), func(row *synth.Row) error {
		cols := make(map[string]string, len(header))
		for i, h := range header {
			cols[h] = row.Cols[i]
		}
		p, err := record.PatientFromColumns(cols)
		if err != nil {
			return fmt.Errorf("row %s: %w", row.ID(), err)
		}
		pats = append(pats, p)
		entity = append(entity, row.Entity)
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return pats, entity
}
