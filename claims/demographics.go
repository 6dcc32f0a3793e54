package claims

import (
	"strings"

	"github.com/patientmatch/patientmatch/record"
)

// RawOptions tune how claims become demographics.
type RawOptions struct {
	// RequireVerifiedContact drops email and phone_number unless their
	// *_verified flag is present and true. By default only an explicit
	// false drops them (many providers never send the flags).
	RequireVerifiedContact bool
}

// ToRaw maps OIDC claims to record.Raw, the input of the one normalization
// path (record.Normalize), so claims are folded exactly like FHIR and CSV
// records.
//
//   - given_name may hold several names ("Mary Ann"): the first is the given
//     name, the rest and middle_name are middle names, as FHIR's given array
//     would hold them. name is used as free text (Normalize parses it when
//     given/family are missing).
//   - birthdate "YYYY-MM-DD" or "YYYY" is passed on; "0000-MM-DD" (year
//     withheld, OIDC §5.1) is dropped: a record date cannot hold a month and
//     day without a year, and "0000" must never be compared as a year.
//   - email and phone_number are dropped when email_verified /
//     phone_number_verified is false. Unverified contact claims are typed in
//     by whoever registered the account — an attacker who knows a victim's
//     name and birth date can add the victim's e-mail or phone to tip the
//     match — and households share them, which already pulls siblings and
//     parents together (MATCHING-NOTES: households).
//   - address: structured parts when any is present (street_address may
//     span lines), else formatted as free text.
func ToRaw(c *OIDCClaims, opts RawOptions) record.Raw {
	var raw record.Raw
	if c == nil {
		return raw
	}
	raw.Family = strings.TrimSpace(c.FamilyName)
	raw.Given = append(raw.Given, strings.Fields(c.GivenName)...)
	raw.Given = append(raw.Given, strings.Fields(c.MiddleName)...)
	raw.Text = strings.TrimSpace(c.Name)
	raw.BirthDate = birthdate(c.Birthdate)
	raw.Sex = strings.TrimSpace(c.Gender)

	if a := c.Address; a != nil {
		structured := a.StreetAddress != "" || a.Locality != "" || a.Region != "" || a.PostalCode != "" || a.Country != ""
		if structured {
			for _, line := range strings.Split(strings.ReplaceAll(a.StreetAddress, "\r\n", "\n"), "\n") {
				if line = strings.TrimSpace(line); line != "" {
					raw.AddressLines = append(raw.AddressLines, line)
				}
			}
			raw.City = strings.TrimSpace(a.Locality)
			raw.State = strings.TrimSpace(a.Region)
			raw.PostalCode = strings.TrimSpace(a.PostalCode)
			raw.Country = strings.TrimSpace(a.Country)
		} else {
			raw.AddressText = strings.TrimSpace(strings.Join(strings.Fields(a.Formatted), " "))
		}
	}
	if usable(c.PhoneNumberVerified, opts) {
		raw.Phone = strings.TrimSpace(c.PhoneNumber)
	}
	if usable(c.EmailVerified, opts) {
		raw.Email = strings.TrimSpace(c.Email)
	}
	return raw
}

func usable(verified *FlexBool, opts RawOptions) bool {
	if verified == nil {
		return !opts.RequireVerifiedContact
	}
	return bool(*verified)
}

// birthdate drops the OIDC "year withheld" form 0000-MM-DD and passes
// anything else on for record.ParseDate.
func birthdate(s string) string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "0000") {
		return ""
	}
	return s
}
