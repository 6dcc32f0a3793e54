package record

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/patientmatch/patientmatch/internal/elide"
)

// Per-Patient limits. Real registrations carry a few of each; the limits
// are generous for them and keep one request from costing the server
// seconds of normalization and scoring. Input beyond a limit is refused
// (400 / INVALID_ARGUMENT), not truncated: silently dropping an identifier
// could change who the patient matches.
const (
	MaxIdentifiers = 100 // Patient.identifier
	MaxNames       = 20  // Patient.name
	MaxGivenNames  = 20  // HumanName.given, per name
	MaxAddresses   = 20  // Patient.address
	MaxAddrLines   = 10  // Address.line, per address
	MaxTelecoms    = 50  // Patient.telecom
)

// CheckLimits refuses a Patient with more identifiers, names, given names
// per name, addresses, lines per address or telecoms than the limits above.
// The error wraps ErrInvalid and names the element and the limit.
func CheckLimits(p *fhir.Patient) error {
	if p == nil {
		return nil
	}
	over := func(what string, n, limit int) error {
		return fmt.Errorf("%w: %s has %d entries, at most %d are accepted", ErrInvalid, what, n, limit)
	}
	switch {
	case len(p.Identifier) > MaxIdentifiers:
		return over("Patient.identifier", len(p.Identifier), MaxIdentifiers)
	case len(p.Name) > MaxNames:
		return over("Patient.name", len(p.Name), MaxNames)
	case len(p.Address) > MaxAddresses:
		return over("Patient.address", len(p.Address), MaxAddresses)
	case len(p.Telecom) > MaxTelecoms:
		return over("Patient.telecom", len(p.Telecom), MaxTelecoms)
	}
	for i, n := range p.Name {
		if len(n.Given) > MaxGivenNames {
			return over(fmt.Sprintf("Patient.name[%d].given", i), len(n.Given), MaxGivenNames)
		}
	}
	for i, a := range p.Address {
		if len(a.Line) > MaxAddrLines {
			return over(fmt.Sprintf("Patient.address[%d].line", i), len(a.Line), MaxAddrLines)
		}
	}
	return nil
}

// CheckRawLimits applies the same limits to demographics that do not come
// as a FHIR Patient (gRPC Demographics).
func CheckRawLimits(r Raw) error {
	switch {
	case len(r.Identifiers) > MaxIdentifiers:
		return fmt.Errorf("%w: %d identifiers, at most %d are accepted", ErrInvalid, len(r.Identifiers), MaxIdentifiers)
	case len(r.Given) > MaxGivenNames:
		return fmt.Errorf("%w: %d given names, at most %d are accepted", ErrInvalid, len(r.Given), MaxGivenNames)
	case len(r.AddressLines) > MaxAddrLines:
		return fmt.Errorf("%w: %d address lines, at most %d are accepted", ErrInvalid, len(r.AddressLines), MaxAddrLines)
	}
	return nil
}

// fhirDate is the FHIR R4 date datatype's regular expression: YYYY,
// YYYY-MM or YYYY-MM-DD, year 0001 or later.
var fhirDate = regexp.MustCompile(`^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1]))?)?$`)

// birthDateSkew is how far past "now" (UTC) a birth date may lie: a child
// born today east of UTC has tomorrow's UTC date for up to 14 hours.
const birthDateSkew = 14 * time.Hour

// CheckBirthDate checks a birthDate as written to the store over HTTP or
// gRPC: the FHIR date grammar (YYYY, YYYY-MM, YYYY-MM-DD), a real calendar
// date, and not in the future. Legacy forms that ParseDate reads leniently
// in files (1980/01/01, 19800101) are refused here: new writes must be FHIR.
func CheckBirthDate(s string, now time.Time) error {
	if !fhirDate.MatchString(s) {
		return fmt.Errorf("%w: birthDate %q is not a FHIR date (YYYY, YYYY-MM or YYYY-MM-DD)", ErrInvalid, elide.Text(s, 40))
	}
	d := ParseDate(s)
	if !d.Valid {
		return fmt.Errorf("%w: birthDate %q is not a calendar date", ErrInvalid, s)
	}
	latest := now.UTC().Add(birthDateSkew)
	month, day := d.Month, d.Day
	if month == 0 {
		month = 1
	}
	if day == 0 {
		day = 1
	}
	if time.Date(d.Year, time.Month(month), day, 0, 0, 0, 0, time.UTC).After(latest) {
		return fmt.Errorf("%w: birthDate %q is in the future", ErrInvalid, s)
	}
	return nil
}

// CheckForWrite is what every write over HTTP and gRPC checks of a Patient
// beyond its id: the limits, a valid birthDate when one is given, and valid
// UTF-8 in its text (the decoders replace invalid bytes; a check here keeps
// callers that build Patients by hand honest too).
func CheckForWrite(p *fhir.Patient, now time.Time) error {
	if err := CheckLimits(p); err != nil {
		return err
	}
	if p != nil && p.BirthDate != nil {
		if err := CheckBirthDate(*p.BirthDate, now); err != nil {
			return err
		}
	}
	return nil
}

// UnreadableBirthDate reports whether a Patient's birthDate is present but
// could not be read as a date at all (neither FHIR nor a legacy form):
// loads keep such records, count them and report them.
func UnreadableBirthDate(p *fhir.Patient) bool {
	if p == nil || p.BirthDate == nil {
		return false
	}
	d := ParseDate(*p.BirthDate)
	return d.Year == 0 && d.Text != "" && !isPlaceholderDate(d.Text)
}

// isPlaceholderDate reports 1900-01-01 in any separator style, which
// ParseDate deliberately keeps as missing rather than failing to read.
func isPlaceholderDate(s string) bool {
	s = strings.NewReplacer("/", "-", ".", "-").Replace(s)
	return strings.HasPrefix(s, "1900-01-01") || strings.HasPrefix(s, "19000101") || strings.HasPrefix(s, "1900-1-1")
}
