package scoring

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/patientmatch/patientmatch/record"
)

// parseDate reads YYYY, YYYY-MM or YYYY-MM-DD; anything else is kept as Text.
func parseDate(s string) record.Date {
	d := record.Date{Text: s}
	parts := strings.Split(s, "-")
	if len(parts) > 3 {
		return d
	}
	var v [3]int
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil {
			return record.Date{Text: s}
		}
		v[i] = n
	}
	d.Year, d.Month, d.Day = v[0], v[1], v[2]
	d.Valid = true
	return d
}

// recordFrom builds a record from "key=value;key=value" (see
// testdata/levels.txt for the keys). A bare value goes to defaultKey.
func recordFrom(spec, defaultKey string) (record.Record, error) {
	var r record.Record
	spec = strings.TrimSpace(spec)
	if spec == "-" || spec == "" {
		return r, nil
	}
	var mrnSystem string
	for _, kv := range strings.Split(spec, ";") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			k, v = defaultKey, kv
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "given":
			r.Given = v
		case "middle":
			r.Middle = v
		case "family":
			r.Family = v
			if f := strings.Fields(v); len(f) > 1 {
				r.FamilyParts = f
			}
		case "suffix":
			r.Suffix = v
		case "birth":
			r.BirthDate = parseDate(v)
		case "sex":
			switch v {
			case "male":
				r.Sex = record.SexMale
			case "female":
				r.Sex = record.SexFemale
			case "other":
				r.Sex = record.SexOther
			}
		case "number":
			r.Address.Number = v
		case "street":
			r.Address.Street = v
		case "type":
			r.Address.StreetType = v
		case "city":
			r.Address.City = v
		case "postal":
			r.Address.PostalCode = v
		case "phone":
			r.Phone = v
		case "email":
			r.Email = v
		case "ssn":
			r.Identifiers = append(r.Identifiers, record.Identifier{Type: record.IDSSN, Value: v})
		case "passport":
			r.Identifiers = append(r.Identifiers, record.Identifier{Type: record.IDPassport, Value: v})
		case "national":
			r.Identifiers = append(r.Identifiers, record.Identifier{Type: record.IDNational, Value: v})
		case "mrn":
			r.Identifiers = append(r.Identifiers, record.Identifier{Type: record.IDMRN, Value: v})
		case "mrn_system":
			mrnSystem = v
		case "member": // an insurance member number: a kind we cannot tell
			r.Identifiers = append(r.Identifiers, record.Identifier{Type: record.IDOther, System: "urn:payer", Value: v})
		default:
			return r, fmt.Errorf("unknown key %q", k)
		}
	}
	for i := range r.Identifiers {
		if r.Identifiers[i].Type == record.IDMRN {
			r.Identifiers[i].System = mrnSystem
		}
	}
	return r, nil
}

// mustRecord is recordFrom for tests, with no default key.
func mustRecord(t testing.TB, spec string) record.Record {
	t.Helper()
	r, err := recordFrom(spec, "")
	if err != nil {
		t.Fatalf("record %q: %v", spec, err)
	}
	return r
}

// recordOf builds a record from fuzzer strings: given, family (split into
// parts on spaces), and a birth date.
func recordOf(given, family, birth string) record.Record {
	r := record.Record{Given: given, Family: family, BirthDate: parseDate(birth)}
	if f := strings.Fields(family); len(f) > 1 {
		r.FamilyParts = f
	}
	r.Address.City = family
	r.Phone = given + "5551234"
	return r
}
