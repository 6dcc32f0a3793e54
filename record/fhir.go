package record

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// typedPatient decodes a Patient together with its resourceType in one
// pass: samply's Patient ignores resourceType on Unmarshal (and writes it on
// Marshal), so the check has to be ours.
type typedPatient struct {
	fhir.OtherPatient
	ResourceType *string `json:"resourceType"`
}

// DecodePatient decodes FHIR R4 Patient JSON. The input must be one JSON
// object whose resourceType is "Patient"; anything else is a *PatientError
// (wrapping ErrInvalid) that says what was found. It is the one Patient
// decoder: files, the FHIR API, gRPC and cluster replication all use it.
func DecodePatient(data []byte) (*fhir.Patient, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, &PatientError{Problem: EmptyInput}
	}
	if trimmed[0] != '{' {
		return nil, &PatientError{Problem: NotObject, Found: jsonKind(trimmed[0])}
	}
	var tp typedPatient
	if err := json.Unmarshal(trimmed, &tp); err != nil {
		// Say what the resource is when the failure is about its content.
		var probe struct {
			ResourceType string `json:"resourceType"`
		}
		if json.Unmarshal(trimmed, &probe) == nil && probe.ResourceType != "" && probe.ResourceType != "Patient" {
			return nil, &PatientError{Problem: OtherResource, Found: probe.ResourceType}
		}
		// Name fields as a Patient's, not as typedPatient's embedding.
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			te.Struct, te.Field = "Patient", strings.TrimPrefix(te.Field, "OtherPatient.")
		}
		return nil, &PatientError{Problem: Malformed, Err: err}
	}
	switch {
	case tp.ResourceType == nil || *tp.ResourceType == "":
		return nil, &PatientError{Problem: NoResourceType}
	case *tp.ResourceType != "Patient":
		return nil, &PatientError{Problem: OtherResource, Found: *tp.ResourceType}
	}
	// A pointer into tp, not a copy: tp is on the heap already (Unmarshal
	// took its address), and a second Patient per decode is garbage on
	// every $match.
	return (*fhir.Patient)(&tp.OtherPatient), nil
}

// PatientError is the error of DecodePatient. It wraps ErrInvalid (and,
// when Problem is Malformed, the encoding/json error). Problem lets a
// surface that reports errors in its own terms, such as the FHIR API's
// OperationOutcome issue types, classify the failure without decoding the
// input a second time.
type PatientError struct {
	Problem PatientProblem
	// Found is what stood where a Patient was wanted: the kind of JSON
	// value ("an array", "null") for NotObject, the resourceType for
	// OtherResource.
	Found string
	// Err is the encoding/json error, for Malformed.
	Err error
}

// PatientProblem says why input is not a FHIR Patient.
type PatientProblem uint8

// The problems DecodePatient reports.
const (
	EmptyInput     PatientProblem = iota + 1 // nothing but white space
	NotObject                                // a JSON value other than an object, or not JSON
	NoResourceType                           // an object without a resourceType
	OtherResource                            // another resourceType than Patient
	Malformed                                // broken JSON, or a field of the wrong type or with an unknown code
)

func (e *PatientError) Error() string {
	var detail string
	switch e.Problem {
	case EmptyInput:
		detail = "empty input, want a FHIR Patient JSON object"
	case NotObject:
		detail = "want a FHIR Patient JSON object, found " + e.Found
	case NoResourceType:
		detail = `missing resourceType, want "Patient"`
	case OtherResource:
		detail = fmt.Sprintf("resourceType is %q, want \"Patient\"", e.Found)
	default:
		detail = "Patient JSON"
		if e.Err != nil {
			detail += ": " + e.Err.Error()
		}
	}
	return ErrInvalid.Error() + ": " + detail
}

// Unwrap returns ErrInvalid and, for Malformed, the JSON error.
func (e *PatientError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrInvalid, e.Err}
	}
	return []error{ErrInvalid}
}

// jsonKind names the JSON value that starts with c, for error messages.
func jsonKind(c byte) string {
	switch {
	case c == '[':
		return "an array"
	case c == '"':
		return "a string"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	case c == '-' || isDigit(c):
		return "a number"
	}
	return "text that is not JSON"
}

// FromFHIR normalizes a FHIR Patient. Of several names the official one is
// used, else the usual one, else the first that is not old, maiden, a
// nickname or temporary; of several addresses the first home address, else
// the first that is not old; phone and email prefer home and mobile
// contact points over work and old ones. Identifiers are typed by their
// v2-0203 type code or their system (see Normalize).
func FromFHIR(p *fhir.Patient) Record {
	if p == nil {
		return Record{}
	}
	return Normalize(deref(p.Id), RawFromFHIR(p))
}

// RawFromFHIR picks the demographics of p into a Raw (see FromFHIR).
func RawFromFHIR(p *fhir.Patient) Raw {
	var raw Raw
	if p == nil {
		return raw
	}
	if n := pickName(p.Name); n != nil {
		raw.Family = deref(n.Family)
		raw.Given = n.Given
		raw.Prefix = n.Prefix
		raw.Suffix = n.Suffix
		raw.Text = deref(n.Text)
	}
	raw.BirthDate = deref(p.BirthDate)
	if p.Gender != nil {
		raw.Sex = p.Gender.Code()
	}
	if a := pickAddress(p.Address); a != nil {
		raw.AddressLines = a.Line
		raw.City = deref(a.City)
		raw.State = deref(a.State)
		raw.PostalCode = deref(a.PostalCode)
		raw.Country = deref(a.Country)
		raw.AddressText = deref(a.Text)
	}
	raw.Phone = pickTelecom(p.Telecom, fhir.ContactPointSystemPhone)
	if raw.Phone == "" {
		raw.Phone = pickTelecom(p.Telecom, fhir.ContactPointSystemSms)
	}
	raw.Email = pickTelecom(p.Telecom, fhir.ContactPointSystemEmail)
	for _, id := range p.Identifier {
		if id.Value == nil || strings.TrimSpace(*id.Value) == "" {
			continue
		}
		if id.Use != nil && *id.Use == fhir.IdentifierUseOld {
			continue
		}
		raw.Identifiers = append(raw.Identifiers, RawIdentifier{
			System:   deref(id.System),
			TypeCode: identifierTypeCode(id.Type),
			Value:    *id.Value,
		})
	}
	return raw
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func pickName(names []fhir.HumanName) *fhir.HumanName {
	for _, want := range []fhir.NameUse{fhir.NameUseOfficial, fhir.NameUseUsual} {
		for i := range names {
			if names[i].Use != nil && *names[i].Use == want {
				return &names[i]
			}
		}
	}
	for i := range names {
		if u := names[i].Use; u == nil || (*u != fhir.NameUseOld && *u != fhir.NameUseMaiden &&
			*u != fhir.NameUseNickname && *u != fhir.NameUseTemp && *u != fhir.NameUseAnonymous) {
			return &names[i]
		}
	}
	if len(names) > 0 {
		return &names[0]
	}
	return nil
}

func pickAddress(addrs []fhir.Address) *fhir.Address {
	for i := range addrs {
		if u := addrs[i].Use; u != nil && *u == fhir.AddressUseHome {
			return &addrs[i]
		}
	}
	for i := range addrs {
		if u := addrs[i].Use; u == nil || *u != fhir.AddressUseOld {
			return &addrs[i]
		}
	}
	if len(addrs) > 0 {
		return &addrs[0]
	}
	return nil
}

// pickTelecom returns the best value of the given system: home and mobile
// first, then unspecified or temp, then work, then old; lower rank first
// within the same use.
func pickTelecom(cps []fhir.ContactPoint, system fhir.ContactPointSystem) string {
	best, bestScore := "", -1
	for _, cp := range cps {
		if cp.System == nil || *cp.System != system || cp.Value == nil || strings.TrimSpace(*cp.Value) == "" {
			continue
		}
		score := 3000
		if cp.Use != nil {
			switch *cp.Use {
			case fhir.ContactPointUseHome, fhir.ContactPointUseMobile:
				score = 4000
			case fhir.ContactPointUseWork:
				score = 2000
			case fhir.ContactPointUseOld:
				score = 1000
			}
		}
		if cp.Rank != nil && *cp.Rank > 0 && *cp.Rank < 1000 {
			score += 999 - *cp.Rank
		}
		if score > bestScore {
			best, bestScore = *cp.Value, score
		}
	}
	return best
}

// identifierTypeCode returns the identifier's v2-0203 type code, else the
// first coded type, else its text.
func identifierTypeCode(cc *fhir.CodeableConcept) string {
	if cc == nil {
		return ""
	}
	for _, c := range cc.Coding {
		if c.Code != nil && deref(c.System) == SystemV2IdentifierType {
			return *c.Code
		}
	}
	for _, c := range cc.Coding {
		if c.Code != nil {
			return *c.Code
		}
	}
	return deref(cc.Text)
}
