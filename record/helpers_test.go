package record

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patientmatch/patientmatch/internal/modroot"
)

// flatten lists the non-empty normalized fields of r as "key = value"
// lines, in a fixed order: the form normalize.txt and the golden file use.
func flatten(r Record) []string {
	var out []string
	add := func(k, v string) {
		if v != "" {
			out = append(out, k+" = "+v)
		}
	}
	add("family", r.Family)
	add("family_parts", strings.Join(r.FamilyParts, " | "))
	add("given", r.Given)
	add("middle", r.Middle)
	add("suffix", r.Suffix)
	d := r.BirthDate
	if d.Year != 0 || d.Month != 0 || d.Day != 0 {
		var s string
		switch {
		case d.Month == 0 && d.Day == 0:
			s = fmt.Sprintf("%04d", d.Year)
		case d.Day == 0:
			s = fmt.Sprintf("%04d-%02d", d.Year, d.Month)
		default:
			s = fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day)
		}
		if !d.Valid {
			s += " invalid"
		}
		add("birth_date", s)
	} else {
		add("birth_text", d.Text)
	}
	if r.Sex != SexUnknown {
		add("sex", r.Sex.String())
	}
	a := r.Address
	add("number", a.Number)
	add("street", a.Street)
	add("street_type", a.StreetType)
	add("unit", a.Unit)
	add("city", a.City)
	add("state", a.State)
	add("postal_code", a.PostalCode)
	add("country", a.Country)
	add("phone", r.Phone)
	add("email", r.Email)
	for _, id := range r.Identifiers {
		add("identifier", id.Type.String()+" | "+id.System+" | "+id.Value)
	}
	return out
}

// moduleRoot is the directory holding go.mod (package record's tests
// cannot use internal/testsets, which imports record).
func moduleRoot(t testing.TB) string { return modroot.Dir(t) }

// datasetPath returns the path of a shared labelled dataset, skipping the
// test when the datasets are not checked out beside the module.
func datasetPath(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(moduleRoot(t), "..", "shared", "datasets", name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("dataset %s not available: %v", name, err)
	}
	return p
}
