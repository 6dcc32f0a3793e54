package record

import (
	"slices"
	"strings"
)

// Raw is a patient's demographics as some producer received them: a FHIR
// Patient, a CSV row, OIDC claims, a gRPC request. Every producer fills a
// Raw and calls Normalize, so all input is folded by one code path and
// records from different sources compare like with like.
type Raw struct {
	Family string
	// Given holds the given names: the first is the given name, the rest
	// middle names (an element may hold several words).
	Given          []string
	Prefix, Suffix []string
	// Text is the name as one string (FHIR HumanName.text, OIDC name); it
	// is parsed when the family or given name is missing.
	Text string

	BirthDate, Sex string

	AddressLines                     []string
	City, State, PostalCode, Country string
	// AddressText is the whole address as one string; parsed when
	// AddressLines is empty.
	AddressText string

	Phone, Email string
	Identifiers  []RawIdentifier
}

// RawIdentifier is an identifier as received. TypeCode is an HL7 v2-0203
// code (SS, NI, MR, DL, PPN) or a canonical column name (ssn, mrn, …).
type RawIdentifier struct {
	System, TypeCode, Value string
}

// Normalize folds raw demographics into a Record; see the package
// documentation and the helpers (ParseDate, ParseAddress, NormalizePhone,
// NormalizeEmail) for what each field becomes. id is stored as given.
func Normalize(id string, raw Raw) Record {
	r := Record{ID: id}
	normalizeName(&r, &raw)
	r.BirthDate = ParseDate(raw.BirthDate)
	r.Sex = ParseSex(raw.Sex)
	if hasLineContent(raw.AddressLines) || strings.TrimSpace(raw.AddressText) == "" {
		r.Address = ParseAddress(raw.AddressLines, raw.City, raw.State, raw.PostalCode, raw.Country)
	} else {
		r.Address = ParseAddress(nil, raw.City, raw.State, raw.PostalCode, raw.Country)
		parseAddressText(raw.AddressText, &r.Address)
	}
	r.Phone = NormalizePhone(raw.Phone)
	r.Email = NormalizeEmail(raw.Email)
	r.Identifiers = dedupIdentifiers(raw.Identifiers)
	return r
}

// dedupIdentifiers normalizes ids and drops repeats, keeping first
// occurrences in order. It is linear: a set once there are more than a
// handful (a request with 50,000 identifiers must not cost n² comparisons).
func dedupIdentifiers(raw []RawIdentifier) []Identifier {
	out, _ := dedupIdentifiersCounted(raw)
	return out
}

// dedupSetFrom is how many kept identifiers dedupIdentifiersCounted
// compares one by one before it switches to a set.
const dedupSetFrom = 8

// dedupIdentifiersCounted is dedupIdentifiers, also returning how many
// identifier comparisons and set operations it made: the test of its
// linearity counts work instead of timing it.
func dedupIdentifiersCounted(raw []RawIdentifier) (out []Identifier, ops int) {
	var seen map[Identifier]struct{}
	for _, ri := range raw {
		id, ok := normalizeIdentifier(ri)
		if !ok {
			continue
		}
		if seen == nil && len(out) >= dedupSetFrom {
			seen = make(map[Identifier]struct{}, len(raw))
			for _, x := range out {
				seen[x] = struct{}{}
			}
			ops += len(out)
		}
		if seen != nil {
			ops += 2 // one lookup, at most one insert
			if _, dup := seen[id]; dup {
				continue
			}
			seen[id] = struct{}{}
		} else {
			ops += len(out) // slices.Contains compares with each kept one
			if slices.Contains(out, id) {
				continue
			}
		}
		out = append(out, id)
	}
	return out, ops
}

// hasLineContent reports whether any line holds more than spaces.
func hasLineContent(lines []string) bool {
	for _, l := range lines {
		if strings.TrimSpace(l) != "" {
			return true
		}
	}
	return false
}
