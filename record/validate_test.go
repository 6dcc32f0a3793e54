package record

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"
)

func TestCheckBirthDate(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	good := []string{"1980", "1980-03", "1980-03-16", "2000-02-29", "2026-12-04", "2026-12-05", "0001-01-01"}
	bad := []string{"", "yesterday", "99999-01-01", "1980/01/01", "19800101", "1980-13-01", "1980-02-30",
		"1981-02-29", "1980-1-1", "0000", "2027", "2026-12-06", "1980-03-16T10:00:00Z", " 1980-03-16", "１９８０"}
	for _, s := range good {
		if err := CheckBirthDate(s, now); err != nil {
			t.Errorf("CheckBirthDate(%q) = %v, want nil", s, err)
		}
	}
	for _, s := range bad {
		if err := CheckBirthDate(s, now); !errors.Is(err, ErrInvalid) {
			t.Errorf("CheckBirthDate(%q) = %v, want ErrInvalid", s, err)
		}
	}
}

func TestCheckLimits(t *testing.T) {
	v := "x"
	mk := func(ids, names, addrs, tels int) *fhir.Patient {
		p := &fhir.Patient{}
		for i := range ids {
			val := fmt.Sprint("A", i)
			p.Identifier = append(p.Identifier, fhir.Identifier{Value: &val})
		}
		for range names {
			p.Name = append(p.Name, fhir.HumanName{Family: &v})
		}
		for range addrs {
			p.Address = append(p.Address, fhir.Address{City: &v})
		}
		for range tels {
			p.Telecom = append(p.Telecom, fhir.ContactPoint{Value: &v})
		}
		return p
	}
	if err := CheckLimits(mk(MaxIdentifiers, MaxNames, MaxAddresses, MaxTelecoms)); err != nil {
		t.Fatalf("at the limits: %v", err)
	}
	for name, p := range map[string]*fhir.Patient{
		"identifiers": mk(MaxIdentifiers+1, 0, 0, 0),
		"names":       mk(0, MaxNames+1, 0, 0),
		"addresses":   mk(0, 0, MaxAddresses+1, 0),
		"telecoms":    mk(0, 0, 0, MaxTelecoms+1),
		"given":       {Name: []fhir.HumanName{{Given: make([]string, MaxGivenNames+1)}}},
		"lines":       {Address: []fhir.Address{{Line: make([]string, MaxAddrLines+1)}}},
	} {
		if err := CheckLimits(p); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s over the limit: %v", name, err)
		}
	}
}

func TestUnreadableBirthDate(t *testing.T) {
	for s, want := range map[string]bool{"yesterday": true, "1980/01/01": false, "19800101": false,
		"1985-02-30": false, "1900-01-01": false, "n/a": true, "99999-01-01": true} {
		s := s
		if got := UnreadableBirthDate(&fhir.Patient{BirthDate: &s}); got != want {
			t.Errorf("UnreadableBirthDate(%q) = %v, want %v", s, got, want)
		}
	}
}

// TestNormalizeIdentifiersLinear is issue 14 item 5: de-duplicating n
// identifiers is linear. It counts the work instead of timing it (a
// timing bound failed on a loaded machine): the quadratic de-dup compared
// each identifier with every one kept before it, n²/2 comparisons, 5·10⁹
// at 100,000.
func TestNormalizeIdentifiersLinear(t *testing.T) {
	for _, n := range []int{0, 1, dedupSetFrom, dedupSetFrom + 1, 1000, 100000} {
		var raw []RawIdentifier
		for i := range n {
			raw = append(raw, RawIdentifier{TypeCode: "MR", System: "urn:x", Value: fmt.Sprintf("M%07d", i)})
		}
		raw = append(raw, raw[:min(n, 100)]...) // repeats, dropped
		out, ops := dedupIdentifiersCounted(raw)
		if len(out) != n {
			t.Fatalf("n=%d: %d identifiers after de-dup, want %d", n, len(out), n)
		}
		// At most dedupSetFrom² comparisons before the set, then a lookup,
		// an insert and the one-off copy into the set per identifier.
		if limit := dedupSetFrom*dedupSetFrom + 3*len(raw); ops > limit {
			t.Errorf("n=%d: %d operations for %d identifiers, want at most %d (linear)", n, ops, len(raw), limit)
		}
		if n > 0 && (out[0].Value != "M0000000" || out[n-1].Value != fmt.Sprintf("M%07d", n-1)) {
			t.Errorf("n=%d: order not kept: %v … %v", n, out[0], out[n-1])
		}
	}
	// Normalize de-duplicates through it.
	r := Normalize("p", Raw{Identifiers: []RawIdentifier{{Value: "A12345"}, {Value: "B67890"}, {Value: "a-12345"}}})
	if len(r.Identifiers) != 2 {
		t.Errorf("Normalize kept %v, want A12345 and B67890", r.Identifiers)
	}
}

// BenchmarkNormalizeIdentifiers times de-duplication at growing sizes:
// linear time shows as a constant ns/identifier.
func BenchmarkNormalizeIdentifiers(b *testing.B) {
	for _, n := range []int{100, 10000, 100000} {
		raw := Raw{}
		for i := range n {
			raw.Identifiers = append(raw.Identifiers, RawIdentifier{TypeCode: "MR", System: "urn:x", Value: fmt.Sprintf("M%07d", i)})
		}
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for b.Loop() {
				Normalize("p", raw)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/identifier")
		})
	}
}

// FuzzCheckBirthDate: never a panic, and an accepted date is one ParseDate
// reads as valid, with the same text.
func FuzzCheckBirthDate(f *testing.F) {
	for _, s := range []string{"1980", "1980-03", "1980-03-16", "yesterday", "99999-01-01", "1980/01/01", "2000-02-30"} {
		f.Add(s)
	}
	now := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		if err := CheckBirthDate(s, now); err != nil {
			return
		}
		if d := ParseDate(s); !d.Valid || d.Text != s || d.Year == 0 {
			t.Fatalf("accepted %q but ParseDate gives %+v", s, d)
		}
	})
}
