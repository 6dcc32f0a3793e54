package blocking

import (
	"slices"
	"strings"
	"testing"

	"github.com/patientmatch/patientmatch/record"
	"github.com/patientmatch/patientmatch/scoring"
)

// TestSparseFallbackKeys: a record with no address, phone or identifier keys its place as the city as well as the postal code, and
// gets a given_year key, so that it meets a duplicate whose place is a
// city alone and whose family name and birth date differ, and an
// email_handle key, so that it meets one whose e-mail domain differs; the
// same pair with a phone each (dense) keys as before and does not meet.
func TestSparseFallbackKeys(t *testing.T) {
	civil := func(given, family, birth, city, postal string) record.Record {
		r := rec(given, family, birth)
		r.Address = record.Address{City: city, PostalCode: postal}
		return r
	}
	dense := func(r record.Record, phone string) record.Record {
		r.Phone = phone
		return r
	}
	mail := func(r record.Record, email string) record.Record {
		r.Email = email
		return r
	}
	a := civil("jennifer", "pox", "1994-06-22", "mesa", "85268")
	b := civil("jennifer", "", "1993-06-23", "mesa", "")
	c := civil("ryan", "perez", "1986-02-17", "", "")
	d := civil("ryan", "persez", "1986-01-17", "", "")
	tests := []struct {
		name  string
		rule  Rule
		x, y  record.Record
		share bool
	}{
		{"locality_given: postal and city against city alone", RuleLocalityGiven, a, b, true},
		{"locality_given: dense records keep the postal code", RuleLocalityGiven, dense(a, "+14805551234"), dense(b, "+14805559876"), false},
		{"locality_given: other city", RuleLocalityGiven, a, civil("jennifer", "", "1993-06-23", "tempe", ""), false},
		{"locality_family: postal and city against city alone", RuleLocalityFamily,
			civil("daniel", "mcdonald", "1976-03-20", "houston", "77008"), civil("daiel", "mcdonald", "1975-03-20", "houston", ""), true},
		{"birth_locality: nickname, postal and city against city alone", RuleBirthLocality,
			civil("amanda", "klavel", "1972-07-03", "boston", ""), civil("mandy", "", "1972-07-03", "boston", "02177"), true},
		{"given_year: family typo'd, month wrong, no place", RuleGivenYear, c, d, true},
		{"given_year: lone name filed as family", RuleGivenYear, c, civil("", "ryan", "1986-11-07", "", ""), true},
		{"given_year: other year", RuleGivenYear, c, civil("ryan", "", "1987-02-17", "", ""), false},
		{"given_year: dense records have none", RuleGivenYear, dense(c, "+15125551234"), dense(d, "+15125559876"), false},
		{"email_handle: domain typo'd", RuleEmailHandle, mail(c, "ar20@miller-torres.org"), mail(d, "ar20@miller-tores.org"), true},
		{"email_handle: another provider", RuleEmailHandle, mail(c, "ryan.p86@gmail.com"), mail(d, "ryan.p86@outlook.com"), true},
		{"email_handle: other handle", RuleEmailHandle, mail(c, "ryan.p86@gmail.com"), mail(d, "ryan.p68@gmail.com"), false},
		{"email_handle: two letters are initials", RuleEmailHandle, mail(c, "rp@gmail.com"), mail(d, "rp@outlook.com"), false},
		{"email_handle: placeholder", RuleEmailHandle, mail(c, "noemail@gmail.com"), mail(d, "noemail@outlook.com"), false},
		{"family_year: birth year one off, given name missing", RuleFamilyYear,
			civil("logan", "ferguson", "2013-10-15", "", ""), civil("", "ferguson", "2014-02-01", "", ""), true},
		{"family_year: two years off", RuleFamilyYear,
			civil("logan", "ferguson", "2013-10-15", "", ""), civil("", "ferguson", "2015-10-15", "", ""), false},
		{"family_year: dense records key their own year only", RuleFamilyYear,
			dense(civil("logan", "ferguson", "2013-10-15", "", ""), "+15125551234"), dense(civil("logan", "ferguson", "2014-10-15", "", ""), "+15125559876"), false},
		{"name_day: year slipped, family name missing", RuleNameDay,
			civil("sofia", "russell", "2014-09-03", "", ""), civil("sofia", "", "2024-09-03", "", ""), true},
		{"name_day: lone name filed as family, day and month swapped", RuleNameDay,
			civil("sofia", "rusel", "2014-09-03", "", ""), civil("", "sofia", "2004-03-09", "", ""), true},
		{"name_day: other day", RuleNameDay,
			civil("sofia", "russell", "2014-09-03", "", ""), civil("sofia", "", "2024-09-04", "", ""), false},
		{"name_day: dense records have none", RuleNameDay,
			dense(civil("sofia", "russell", "2014-09-03", "", ""), "+15125551234"), dense(civil("sofia", "", "2024-09-03", "", ""), "+15125559876"), false},
		{"birth_locality: the city typo'd, no name in common", RuleBirthLocality,
			civil("isaac", "", "2008-02-23", "southampton", ""), civil("", "", "2008-02-23", "sothampton", ""), true},
		{"birth_locality: another city", RuleBirthLocality,
			civil("isaac", "", "2008-02-23", "southampton", ""), civil("", "", "2008-02-23", "bristol", ""), false},
		{"birth_locality: dense records key the city as written", RuleBirthLocality,
			dense(civil("isaac", "", "2008-02-23", "southampton", ""), "+15125551234"), dense(civil("", "", "2008-02-23", "sothampton", ""), "+15125559876"), false},
		{"place_window: date weeks off across a year, city typo'd, no name", RulePlaceWindow,
			civil("alfie", "roberts", "1995-01-10", "southampton", ""), civil("", "", "1994-12-12", "sothampton", ""), true},
		{"place_window: dates months apart", RulePlaceWindow,
			civil("alfie", "roberts", "1995-01-10", "southampton", ""), civil("", "", "1995-05-10", "southampton", ""), false},
		{"place_window: another city", RulePlaceWindow,
			civil("alfie", "roberts", "1995-01-10", "southampton", ""), civil("", "", "1995-01-12", "bristol", ""), false},
		{"place_window: dense records have none", RulePlaceWindow,
			dense(civil("alfie", "roberts", "1995-01-10", "southampton", ""), "+15125551234"), dense(civil("", "", "1994-12-12", "sothampton", ""), "+15125559876"), false},
		{"email_handle: dense records have none", RuleEmailHandle,
			dense(mail(c, "ar20@miller-torres.org"), "+15125551234"), dense(mail(d, "ar20@miller-tores.org"), "+15125559876"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kx, ky := ruleKeys(tc.x, tc.rule), ruleKeys(tc.y, tc.rule)
			if got := shareKey(kx, ky); got != tc.share {
				t.Errorf("share = %v, want %v\n x=%q\n y=%q", got, tc.share, kx, ky)
			}
		})
	}
}

// TestDenseKeysUnchanged: a record holding any of street address, phone
// or (non-placeholder) identifier gets no fallback key — one key per
// locality rule, by postal code, and no given_year — while the same
// record without them does, e-mail or not; placeholders do not make a
// record dense.
func TestDenseKeysUnchanged(t *testing.T) {
	base := rec("robert", "smith", "1980-03-04")
	base.Address = record.Address{City: "springfield", PostalCode: "62704"}
	withs := map[string]func(r *record.Record){
		"street":      func(r *record.Record) { r.Address.Number, r.Address.Street = "12", "main" },
		"email+phone": func(r *record.Record) { r.Email, r.Phone = "rsmith@mail.org", "+12175551234" },
		"phone":       func(r *record.Record) { r.Phone = "+12175551234" },
		"identifier":  func(r *record.Record) { r.Identifiers = []record.Identifier{{Type: record.IDSSN, Value: "123456780"}} },
	}
	for name, with := range withs {
		r := base
		with(&r)
		keys := keysOf(r)
		for _, k := range keys {
			if strings.HasPrefix(k, RuleGivenYear.Prefix()) || strings.HasPrefix(k, RuleEmailHandle.Prefix()) ||
				strings.HasPrefix(k, RuleNameDay.Prefix()) || strings.Contains(k, ":cspringfield") || strings.HasSuffix(k, "|1981") ||
				strings.HasPrefix(k, "bl:19800304|m") || strings.HasPrefix(k, RulePlaceWindow.Prefix()) {
				t.Errorf("%s: dense record has fallback key %q", name, k)
			}
		}
	}
	keys := keysOf(base)
	for _, want := range []string{"gy:", "lg:cspringfield|", "lf:cspringfield|", "bl:19800304|cspringfield", "bl:19800304|m", "pw:", "nd:", "fy:SNAT|1981"} {
		if !slices.ContainsFunc(keys, func(k string) bool { return strings.HasPrefix(k, want) }) {
			t.Errorf("sparse record lacks a %q key: %q", want, keys)
		}
	}
	placeholder := base
	placeholder.Phone = "0000000000"
	if !sparse(scoring.PrepareWithoutTF(placeholder)) {
		t.Error("a placeholder phone made the record dense")
	}
	withEmail := base
	withEmail.Email = "rsmith@mail.org"
	if !sparse(scoring.PrepareWithoutTF(withEmail)) {
		t.Error("an e-mail address made the record dense")
	}
}

// TestProfileOf: the profile counts sparse records, de-duplicated keys
// and the size of the most common key's block.
func TestProfileOf(t *testing.T) {
	a := rec("robert", "smith", "1980-03-04")
	a.Address = record.Address{City: "springfield", PostalCode: "62704"}
	b := a
	b.Phone = "+12175551234"
	c := rec("ann", "lee", "1970-01-02")
	var recs []*scoring.Prepared
	want := 0
	for _, r := range []record.Record{a, b, c} {
		p := scoring.PrepareWithoutTF(r)
		recs = append(recs, p)
		ks := Keys(p, nil)
		slices.Sort(ks)
		want += len(slices.Compact(ks))
	}
	pr := ProfileOf(recs)
	if pr.Records != 3 || pr.Sparse != 2 || pr.Keys != want {
		t.Errorf("profile %+v, want 3 records, 2 sparse, %d keys", pr, want)
	}
	// a and b share every key of b (b is a with a phone): blocks of two.
	if pr.LargestBlock != 2 {
		t.Errorf("largest block %d, want 2", pr.LargestBlock)
	}
	if got := pr.KeysPerRecord(); got != float64(want)/3 {
		t.Errorf("keys per record %v", got)
	}
	if (Profile{}).KeysPerRecord() != 0 {
		t.Error("empty profile: keys per record not 0")
	}
}
