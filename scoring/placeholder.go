package scoring

import (
	"strings"

	"github.com/patientmatch/patientmatch/record"
)

// Placeholder values are what registration clerks type when they do not know
// a value: they are shared by unrelated patients, so two records agreeing on
// one is no evidence at all. The record normalizer drops most of them;
// Prepare drops them again (defensively) so that they compare as missing.

var placeholderNames = map[string]bool{
	"unknown": true, "unk": true, "unkn": true, "fnu": true, "lnu": true, "nfn": true, "nln": true,
	"baby": true, "babyboy": true, "babygirl": true, "baby boy": true, "baby girl": true,
	"infant": true, "newborn": true, "boy": true, "girl": true, "male": true, "female": true,
	"test": true, "patient": true, "none": true, "na": true, "nn": true, "noname": true, "no name": true,
	"anonymous": true, "anon": true, "xxx": true, "xx": true, "x": true, "zzz": true, "trauma": true,
}

// isPlaceholderName reports whether a given or family name is a stand-in.
func isPlaceholderName(s string) bool {
	return placeholderNames[s]
}

// isPlaceholderBirth reports stand-in birth dates: 1900-01-01 and
// 1901-01-01 (system defaults), anything before 1850 or after 2199
// (0001-01-01, 9999-12-31).
func isPlaceholderBirth(d record.Date) bool {
	if d.Year == 0 {
		return false
	}
	if d.Year < 1850 || d.Year > 2199 {
		return true
	}
	return (d.Year == 1900 || d.Year == 1901) && d.Month == 1 && d.Day == 1
}

// isPlaceholderDigits reports identifiers and phone numbers that carry no
// identity: shorter than minLen, one repeated character (0000000000,
// 999999999), or a run up or down (123456789, 987654321).
func isPlaceholderDigits(s string, minLen int) bool {
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

var placeholderEmailLocal = map[string]bool{
	"unknown": true, "none": true, "noemail": true, "no": true, "na": true, "test": true,
	"noreply": true, "no-reply": true, "donotreply": true, "nomail": true, "null": true,
	"email": true, "declined": true, "refused": true, "nobody": true, "x": true,
}

var placeholderEmailDomain = map[string]bool{
	"example.com": true, "example.org": true, "example.net": true, "test.com": true,
	"none.com": true, "noemail.com": true, "unknown.com": true, "email.com": true, "na.com": true,
}

// isPlaceholderEmail reports emails that are not a person's address.
func isPlaceholderEmail(s string) bool {
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

// isPlaceholderStreet reports street names that are no address.
func isPlaceholderStreet(s string) bool { return placeholderStreets[s] }
