package record

import "strings"

// The one placeholder policy of patientmatch. Placeholder values are what
// registration clerks type when they do not know a value ("Baby Boy",
// 0000000000, 1900-01-01, unknown@…): unrelated patients share them, so two
// records agreeing on one is no evidence at all. Every package asks here:
//
//   - Normalize drops stand-in contacts, identifiers and the 1900-01-01
//     birth date (they are no data: nothing is lost);
//   - names are kept as given, even stand-ins ("Jane Doe" is also a real
//     person's name, and a registered Jane Doe must still be found): the
//     scoring package compares a stand-in name as carrying no evidence
//     either way, while blocking still keys on it (the block-size cap and
//     the index's rare-keys-first ranking absorb a large block), so a record
//     with a stand-in name is found through the rest of its record;
//   - blocking never builds a key from a stand-in contact, identifier,
//     street or birth date (one giant block of strangers).

// placeholderNames are stand-ins for an unknown given or family name.
var placeholderNames = map[string]bool{
	"unknown": true, "unk": true, "unkn": true, "fnu": true, "lnu": true, "nfn": true, "nln": true,
	"baby": true, "babyboy": true, "babygirl": true, "baby boy": true, "baby girl": true,
	"infant": true, "newborn": true, "boy": true, "girl": true, "male": true, "female": true,
	"test": true, "patient": true, "none": true, "na": true, "nn": true, "noname": true, "no name": true,
	"anonymous": true, "anon": true, "xxx": true, "xx": true, "x": true, "zzz": true, "trauma": true,
	"doe": true,
}

// standInGiven are given names that are stand-ins only beside the family
// name "doe" (John Doe, Jane Doe): on their own they are ordinary names.
var standInGiven = map[string]bool{"john": true, "jane": true, "baby": true, "unknown": true}

// IsPlaceholderName reports whether a normalized given or family name is a
// stand-in on its own ("unknown", "baby boy", "fnu"). "doe" is one only
// beside a stand-in given name: see IsPlaceholderPerson.
func IsPlaceholderName(s string) bool { return s != "doe" && placeholderNames[s] }

// IsPlaceholderPerson reports whether a normalized given and family name
// together are the stand-in for an unknown patient ("john doe", "jane
// doe", "baby doe").
func IsPlaceholderPerson(given, family string) bool {
	return family == "doe" && (given == "" || standInGiven[given] || IsPlaceholderName(given))
}

// IsPlaceholderBirth reports stand-in birth dates: 1900-01-01 and
// 1901-01-01 (system defaults), anything before 1850 or after 2199
// (0001-01-01, 9999-12-31).
func IsPlaceholderBirth(d Date) bool {
	if d.Year == 0 {
		return false
	}
	if d.Year < 1850 || d.Year > 2199 {
		return true
	}
	return (d.Year == 1900 || d.Year == 1901) && d.Month == 1 && d.Day == 1
}

// IsPlaceholderDigits reports numbers (phone digits, identifier values)
// that carry no identity: shorter than minLen, one repeated character
// (0000000000, 999999999), or a run up or down (123456789, 987654321).
func IsPlaceholderDigits(s string, minLen int) bool {
	if len(s) < minLen {
		return true
	}
	same, up, down := true, true, true
	for i := 1; i < len(s); i++ {
		if s[i] != s[0] {
			same = false
		}
		if s[i] != s[i-1]+1 && !(s[i-1] == '9' && s[i] == '0') {
			up = false
		}
		if s[i] != s[i-1]-1 && !(s[i-1] == '0' && s[i] == '9') {
			down = false
		}
	}
	return same || up || down
}

// IsPlaceholderID reports identifier values that carry no identity:
// shorter than four characters, one repeated character (000000000), or a
// straight run of six or more digits (123456789, 987654321).
func IsPlaceholderID(v string) bool {
	if len(v) < 4 {
		return true
	}
	if len(v) < 6 || !allDigits(v) {
		return allSameByte([]byte(v))
	}
	return IsPlaceholderDigits(v, 4)
}

var placeholderEmailLocal = map[string]bool{
	"unknown": true, "none": true, "noemail": true, "no": true, "na": true, "n/a": true,
	"test": true, "nomail": true, "null": true, "declined": true, "refused": true,
	"noreply": true, "no-reply": true, "donotreply": true, "nobody": true, "email": true, "x": true,
}

var placeholderEmailDomain = map[string]bool{
	"example.com": true, "example.org": true, "example.net": true, "test.com": true,
	"noemail.com": true, "none.com": true, "unknown.com": true, "email.com": true, "na.com": true,
}

// IsPlaceholderEmail reports e-mail addresses that are nobody's: missing,
// malformed, or a well-known stand-in local part or domain.
func IsPlaceholderEmail(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || domain == "" || !strings.Contains(domain, ".") {
		return true
	}
	return placeholderEmailLocal[local] || placeholderEmailDomain[domain]
}

var placeholderStreets = map[string]bool{
	"unknown": true, "none": true, "homeless": true, "na": true, "no fixed abode": true,
	"nfa": true, "no address": true, "general delivery": true, "xxx": true, "x": true,
}

// IsPlaceholderStreet reports street names that are no address.
func IsPlaceholderStreet(s string) bool { return placeholderStreets[s] }
