package record

import "strings"

// ParseSex reads an administrative gender: the FHIR codes, their initials
// (m, f, o, u) and nothing else; anything unrecognised is SexUnknown.
func ParseSex(s string) Sex {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "male", "m":
		return SexMale
	case "female", "f":
		return SexFemale
	case "other", "o":
		return SexOther
	default:
		return SexUnknown
	}
}

// NormalizePhone keeps the digits of a phone number, in E.164 form where the
// country is known: a leading "+" is kept; ten digits that form a North
// American number (area code 2–9) become +1 and the ten; eleven digits
// starting with 1 become +1…; anything else stays digits as given.
// An extension ("x123", "ext 123") is dropped. Placeholders (fewer than
// seven digits, or the last seven digits one repeated digit: 0000000000,
// 555-555-5555) become "".
func NormalizePhone(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "xX;,"); i >= 0 {
		s = s[:i]
	}
	if i := strings.Index(strings.ToLower(s), "ext"); i >= 0 {
		s = s[:i]
	}
	plus := strings.HasPrefix(s, "+")
	d := make([]byte, 0, len(s)+2)
	d = append(d, '+', '1')
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			d = append(d, s[i])
		}
	}
	digits := d[2:]
	if len(digits) < 7 || allSameByte(digits[len(digits)-7:]) {
		return ""
	}
	switch {
	case plus, len(digits) == 11 && digits[0] == '1':
		d[1] = '+'
		return string(d[1:])
	case len(digits) == 10 && digits[0] >= '2':
		return string(d)
	}
	return string(digits)
}

func allSameByte(b []byte) bool {
	for i := 1; i < len(b); i++ {
		if b[i] != b[0] {
			return false
		}
	}
	return true
}

// NormalizeEmail trims and lower-cases an email address (a "mailto:"
// prefix is dropped). Anything that is not local@domain, and the stand-ins
// clerks type for "no email" (unknown@…, noemail@…, …@example.com),
// become "".
func NormalizeEmail(s string) string {
	e := strings.TrimSpace(foldASCII(s))
	e = strings.TrimPrefix(e, "mailto:")
	if strings.IndexFunc(e, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
		return ""
	}
	local, domain, ok := strings.Cut(e, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") {
		return ""
	}
	if placeholderEmailLocal[local] || placeholderEmailDomain[domain] { // placeholder.go
		return ""
	}
	return e
}

// Identifier systems we recognise by URI.
const (
	SystemSSN      = "http://hl7.org/fhir/sid/us-ssn"
	SystemSSNOID   = "urn:oid:2.16.840.1.113883.4.1"
	systemPassport = "http://hl7.org/fhir/sid/passport-"
	// systemDLOID prefixes the US state driver's licence OIDs.
	systemDLOID = "urn:oid:2.16.840.1.113883.4.3."
	// SystemV2IdentifierType is the HL7 v2-0203 identifier type code system.
	SystemV2IdentifierType = "http://terminology.hl7.org/CodeSystem/v2-0203"
	// SystemMRN is the system given to MRNs that arrive without one.
	SystemMRN = "urn:patientmatch:mrn"
)

// identifierType classifies an identifier by its type code (HL7 v2-0203, or
// the canonical column name) and, failing that, by its system.
func identifierType(typeCode, system string) IdentifierType {
	switch c := strings.ToUpper(strings.TrimSpace(typeCode)); {
	case c == "SS" || c == "SSN":
		return IDSSN
	case c == "NI" || strings.HasPrefix(c, "NN") || c == "NATIONAL_ID":
		return IDNational
	case c == "MR" || c == "MRN":
		return IDMRN
	case c == "DL" || c == "DRIVERS_LICENSE":
		return IDDriversLicense
	case c == "PPN" || c == "PASSPORT":
		return IDPassport
	}
	switch sys := strings.TrimSpace(system); {
	case sys == SystemSSN || sys == SystemSSNOID:
		return IDSSN
	case strings.HasPrefix(sys, systemPassport):
		return IDPassport
	case strings.HasPrefix(sys, systemDLOID):
		return IDDriversLicense
	case sys == SystemMRN:
		return IDMRN
	}
	return IDOther
}

// normalizeIdentifier returns the typed, cleaned identifier, and false for
// a placeholder. The value keeps letters and digits, upper-case. Only MRNs
// and unclassified identifiers keep their system: they are unique only
// within it, while an SSN or passport number is compared on its own.
func normalizeIdentifier(raw RawIdentifier) (Identifier, bool) {
	t := identifierType(raw.TypeCode, raw.System)
	v := strings.ToUpper(alnumLower(raw.Value))
	if IsPlaceholderID(v) {
		return Identifier{}, false
	}
	id := Identifier{Type: t, Value: v}
	if t == IDMRN || t == IDOther {
		id.System = strings.TrimSpace(raw.System)
	}
	return id, true
}
