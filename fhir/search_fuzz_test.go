package fhir

import (
	"net/url"
	"testing"
)

// FuzzParseSearch: search query strings are outside input. Parsing never
// panics, and an accepted query evaluates against a patient without
// panicking.
func FuzzParseSearch(f *testing.F) {
	for _, s := range []string{
		"family=smith&given=ann,anne", "birthdate=ge1980-03&birthdate=lt1990", "identifier=urn:x|1\\,2",
		"telecom=phone|(208) 440-8482", "gender=female&_count=5&_cursor=a1", "family:exact=O'Brien", "address-postalcode:contains=1AA",
		"_id=a,b,c", "birthdate=eb2000-02-29", "famly=x",
	} {
		f.Add(s)
	}
	p := &searchPatient{ID: "a1", Gender: "female", BirthDate: "1980-03", families: []string{"Marché"}, givens: []string{"Ann"},
		postals: []string{"SW1A 1AA"}, identifiers: []systemValue{{"urn:x", "1,2"}}, telecoms: []systemValue{{"phone", "2084408482"}}}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		for _, lenient := range []bool{false, true} {
			sq, err := parseSearch(q, lenient)
			if err != nil {
				continue
			}
			if sq.count < 1 || sq.count > maxCount {
				t.Fatalf("_count %d out of range", sq.count)
			}
			_ = sq.matches(p)
		}
	})
}
