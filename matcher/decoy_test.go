package matcher

import (
	"context"
	"fmt"
	"testing"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/patientmatch/patientmatch/record"
)

// TestMatchThroughDecoys plants 2,500 look-alikes of a patient (same given
// name and birth date, family names spelled differently but sounding the
// same, nothing else) and matches the patient's exact name and birth
// date: the patient must come first (issue 14, item 11: 2,884 such
// records hid the exact match from $match).
func TestMatchThroughDecoys(t *testing.T) {
	ctx := context.Background()
	e, err := Open("", Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	var pats []*fm.Patient
	n := 0
	for _, v := range []string{"a", "e", "i", "o", "u", "ai", "ei", "oi", "ou", "ee", "ia", "io", "ua", "ue", "oo", "ie", "eu", "au", "ea", "oa"} {
		for _, m := range []string{"m", "mm"} {
			for _, th := range []string{"th", "tth", "thh"} {
				for _, suffix := range []string{"", "e", "h"} {
					for _, w := range []string{"", "a", "o", "e", "i", "u", "ae", "ao", "oe", "ua", "ui", "eo", "iu", "ay"} {
						fam := "s" + w + m + v + th + suffix
						if fam == "smith" || n == 2500 {
							continue
						}
						n++
						pats = append(pats, testPatient(fmt.Sprintf("decoy%d", n), fam, "Maria", "1984-03-14"))
						if n == 1250 {
							pats = append(pats, testPatient("target", "Smith", "Maria", "1984-03-14"))
						}
					}
				}
			}
		}
	}
	for j := 0; j < len(pats); j += 500 {
		if _, err := e.UpsertBatch(ctx, pats[j:min(j+500, len(pats))]); err != nil {
			t.Fatal(err)
		}
	}
	q := record.Normalize("", record.Raw{Family: "Smith", Given: []string{"Maria"}, BirthDate: "1984-03-14"})
	ms, err := e.Match(ctx, q, MatchOptions{Count: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 || ms[0].ID != "target" {
		ids := make([]string, len(ms))
		for i, m := range ms {
			ids[i] = m.ID
		}
		t.Fatalf("Match among %d look-alikes answered %v, want target first", n, ids)
	}
}
