package record

import (
	"fmt"
	"strings"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// canonicalColumns are the CSV columns of the external contract, in order.
// mrn_system is an extension: the issuing system of the mrn column;
// member_id and member_system are another, an insurance member number and
// its payer.
var canonicalColumns = [...]string{
	"id", "family", "given", "middle", "suffix", "birth_date", "sex",
	"address_line", "city", "state", "postal_code", "country", "phone", "email",
	"ssn", "national_id", "mrn", "drivers_license", "passport", "mrn_system",
	"member_id", "member_system",
}

// Columns returns the canonical CSV column names, "id" first.
func Columns() []string { return append([]string(nil), canonicalColumns[:]...) }

// IsColumn reports whether name is a canonical CSV column.
func IsColumn(name string) bool {
	for _, c := range canonicalColumns {
		if c == name {
			return true
		}
	}
	return false
}

// csvIdentifiers maps identifier columns to their v2-0203 type code, the
// system they get and the column that can name another. member_id is an
// insurance member number (type MB), which the matcher does not classify
// (record.IDOther): it arrives that way in FHIR from payers' systems, and
// a whole family may share one (MATCHING-NOTES "Identifiers differ by
// kind").
var csvIdentifiers = [...]struct{ column, code, system, systemColumn string }{
	{"ssn", "SS", SystemSSN, ""},
	{"national_id", "NI", "", ""},
	{"mrn", "MR", SystemMRN, "mrn_system"},
	{"drivers_license", "DL", "", ""},
	{"passport", "PPN", "", ""},
	{"member_id", "MB", "", "member_system"},
}

// PatientFromColumns builds a FHIR Patient from the canonical CSV columns
// (CONTRACT.md). Values keep their original spelling and case, since the
// store keeps the Patient to show to users; normalization happens later, in
// FromFHIR, so CSV → Patient → FromFHIR is the only way a CSV row becomes a
// Record. The birth date is kept as given, even when it is not a calendar
// date. Identifiers get their v2-0203 type code and, for SSN and MRN, a
// system (the mrn_system column, else urn:patientmatch:mrn).
//
// Missing or empty columns are absent. sex takes the FHIR gender codes or
// their initials, any case; another value leaves the gender absent. id is
// required: its absence is an error wrapping ErrInvalid.
func PatientFromColumns(cols map[string]string) (*fhir.Patient, error) {
	get := func(k string) string { return strings.TrimSpace(cols[k]) }
	id := get("id")
	if id == "" {
		return nil, fmt.Errorf("%w: id is required", ErrInvalid)
	}
	p := &fhir.Patient{Id: &id}
	p.Name = columnsName(get)
	if v := get("birth_date"); v != "" {
		p.BirthDate = &v
	}
	if v := get("sex"); v != "" {
		p.Gender = genderOf(v)
	}
	p.Address = columnsAddress(get)
	if v := get("phone"); v != "" {
		sys := fhir.ContactPointSystemPhone
		p.Telecom = append(p.Telecom, fhir.ContactPoint{System: &sys, Value: &v})
	}
	if v := get("email"); v != "" {
		sys := fhir.ContactPointSystemEmail
		p.Telecom = append(p.Telecom, fhir.ContactPoint{System: &sys, Value: &v})
	}
	p.Identifier = columnsIdentifiers(get)
	return p, nil
}

// columnsName is the one name of the family, given, middle and suffix
// columns (middle names follow the given name), or none.
func columnsName(get func(string) string) []fhir.HumanName {
	var name fhir.HumanName
	if v := get("family"); v != "" {
		name.Family = &v
	}
	if v := get("given"); v != "" {
		name.Given = append(name.Given, v)
	}
	name.Given = append(name.Given, strings.Fields(get("middle"))...)
	if v := get("suffix"); v != "" {
		name.Suffix = []string{v}
	}
	if name.Family != nil || len(name.Given) > 0 || len(name.Suffix) > 0 {
		return []fhir.HumanName{name}
	}
	return nil
}

// genderOf reads the sex column: a FHIR gender code or its initial, any
// case. Corrupt values (OpenCR's test data has "k") give nil, leaving the
// gender absent rather than losing the whole record: it is compared as
// missing.
func genderOf(v string) *fhir.AdministrativeGender {
	var g fhir.AdministrativeGender
	switch strings.ToLower(v) {
	case "male", "m":
		g = fhir.AdministrativeGenderMale
	case "female", "f":
		g = fhir.AdministrativeGenderFemale
	case "other", "o":
		g = fhir.AdministrativeGenderOther
	case "unknown", "u":
		g = fhir.AdministrativeGenderUnknown
	default:
		return nil
	}
	return &g
}

// columnsAddress is the one address of the address_line (one line per
// text line), city, state, postal_code and country columns, or none.
func columnsAddress(get func(string) string) []fhir.Address {
	var addr fhir.Address
	hasAddr := false
	if v := get("address_line"); v != "" {
		for _, l := range strings.Split(strings.ReplaceAll(v, "\r\n", "\n"), "\n") {
			if l = strings.TrimSpace(l); l != "" {
				addr.Line = append(addr.Line, l)
			}
		}
		hasAddr = true
	}
	for _, f := range []struct {
		col string
		dst **string
	}{{"city", &addr.City}, {"state", &addr.State}, {"postal_code", &addr.PostalCode}, {"country", &addr.Country}} {
		if v := get(f.col); v != "" {
			*f.dst = &v
			hasAddr = true
		}
	}
	if hasAddr {
		return []fhir.Address{addr}
	}
	return nil
}

// columnsIdentifiers are the identifiers of the identifier columns, typed
// by their v2-0203 code; SSN and MRN get a system (mrn_system, else
// urn:patientmatch:mrn, for MRN), a member number that of member_system.
func columnsIdentifiers(get func(string) string) []fhir.Identifier {
	var ids []fhir.Identifier
	for _, ci := range csvIdentifiers {
		v := get(ci.column)
		if v == "" {
			continue
		}
		system := ci.system
		if ci.systemColumn != "" {
			if s := get(ci.systemColumn); s != "" {
				system = s
			}
		}
		code, typeSystem := ci.code, SystemV2IdentifierType
		ident := fhir.Identifier{
			Type:  &fhir.CodeableConcept{Coding: []fhir.Coding{{System: &typeSystem, Code: &code}}},
			Value: &v,
		}
		if system != "" {
			ident.System = &system
		}
		ids = append(ids, ident)
	}
	return ids
}
