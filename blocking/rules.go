// Package blocking computes the blocking keys of a patient record and the
// candidate pairs they imply.
//
// Comparing every record with every other is quadratic: at a million
// patients that is 5·10¹¹ comparisons. Blocking keeps only the pairs that
// share at least one key, and the same keys feed both the candidate index
// (package index, one query per incoming record) and the batch jobs
// (dedupe, link, EM training), so that what the server can find and what
// the batch jobs compare are one and the same.
//
// Each key is a compound of fields, prefixed by its rule, chosen to be
// selective (a common surname alone would put 1% of all patients in one
// block) while tolerating the errors registration data really has: every
// rule is built so that a true duplicate missed by one rule because of a
// typo in one field is still caught by another rule that does not use that
// field. A field that is missing or a placeholder yields no key for the
// rules that need it, never a shared "empty" key.
//
// # Sparse records
//
// Which keys a record gets adapts to the fields it holds. A record with
// a street address, phone or identifier meets its duplicates through them
// as well as through names and birth date; one without any (see sparse:
// historical civil records, names-and-birth-date files) has only its
// names, birth date, place and perhaps an e-mail address, and one typo in
// each leaves it with no key its duplicate shares. Such a record gets
// fallback keys: its place as the city as well as the postal code (a
// duplicate often carries only one of the two) and, with its birth date,
// as the city's sound (a typo'd place name), RulePlaceWindow, RuleGivenYear, the year
// after its own in RuleFamilyYear and RuleNameDay (a birth year one off
// or slipped), and RuleEmailHandle (an e-mail domain typo'd or changed). The
// choice depends on the record alone, never on the file or the stored
// population, so the index, the batch jobs and every node of a cluster
// key a record the same way without a profile to keep in step, and a
// dense record pays nothing: a file of dense records has exactly the keys
// it had before.
package blocking

import (
	"strconv"
	"strings"

	"github.com/antzucaro/matchr"

	"github.com/patientmatch/patientmatch/record"
	"github.com/patientmatch/patientmatch/scoring"
)

// Rule is one blocking rule: a recipe that turns a record into zero or more
// keys. Rules are numbered in the order Keys emits them.
type Rule uint8

// The blocking rules. The comment of each says what it keys on and which
// error it is there to survive.
const (
	// RuleName: Double Metaphone of given name and of family name, the two
	// codes in sorted order so that a given/family swap still shares the key;
	// a second key from the alternate codes when they differ. Survives any
	// error outside the names and phonetic-preserving typos in them.
	RuleName Rule = iota
	// RuleFamilyYear: NYSIIS of the family name + birth year. Survives a
	// different or nicknamed given name (Robert/Bob) and moves. A sparse
	// record (see sparse) also keys the year after its own, so that it
	// meets a duplicate whose birth year is one off (a year derived from
	// an age, a slipped digit) with a typo'd or missing given name; a
	// dense record meets that one through its address or phone.
	RuleFamilyYear
	// RuleGivenBirth: Double Metaphone of the given name + full birth date.
	// A training pass only (see TrainingRules): EM over pairs blocked on it
	// estimates how often true pairs agree on family name, address and the
	// rest. As a candidate rule it is redundant with RuleBirthInitial, whose
	// given-initial blocks contain its blocks except when the two given
	// names start with different letters (Catherine, Katherine), and then
	// the family-initial key still meets unless the family name changed
	// too. Measured on febrl1, febrl3, opencr_uganda and a generated 50k
	// set, it found no true pair the other rules miss, for one more
	// near-unique index term per patient (bench/README).
	RuleGivenBirth
	// RuleBirthInitial: full birth date + first letter of a name, one key
	// for the given and one for the family name, not saying which, so a
	// given/family swap still meets. Survives phonetic-breaking typos in
	// both names, nicknames, a missing or changed family name (marriage).
	RuleBirthInitial
	// RuleMonthInitials: birth year and month + the initials of both names
	// (sorted, for swaps). Survives a wrong birth day together with
	// phonetic-breaking typos in both names; the second initial keeps the
	// blocks small (a year-month and one initial would hold ~0.3% of all
	// patients at a million).
	RuleMonthInitials
	// RuleBirthLocality: full birth date + postal code (the city when there
	// is no postal code; a sparse record keys the city as well, see
	// localityKeys, and the city's Double Metaphone, which survives a
	// typo'd place name). Survives errors in both names at once (a
	// married name with a typo in the given name).
	RuleBirthLocality
	// RuleLocalityFamily: postal code (the city when there is no postal
	// code) + Double Metaphone of the family name. Survives a wrong birth
	// date and a different given name.
	RuleLocalityFamily
	// RuleLocalityGiven: postal code (or city) + Double Metaphone of the
	// given name. Survives a married name together with a wrong birth date.
	RuleLocalityGiven
	// RulePhone: last seven digits of the phone number (area codes are
	// often dropped or mistyped). Survives errors in all demographics.
	RulePhone
	// RuleEmail: the whole e-mail address.
	RuleEmail
	// RuleIdentifier: each identifier as type + value; an MRN (or an
	// untyped identifier) also carries its issuing system, since it is only
	// unique within it.
	RuleIdentifier
	// RuleAddress: house number + street name + postal code (the city when
	// there is no postal code). Survives errors in all person fields.
	RuleAddress
	// RuleBirthDate: the full birth date alone (month and day in ascending
	// order, as RuleBirthInitial). A training pass only (see
	// TrainingRules): it fixes one comparison, so that on a file holding
	// little more than names and a birth date EM still has two to learn
	// from (the names) where every other pass leaves it one or none
	// (scoring.EstimateM does not use such passes); and its non-matches
	// are strangers born the same day, not relatives (only twins share a
	// birth date within a household). Too coarse to find candidates.
	RuleBirthDate
	// RuleGivenYear: Double Metaphone of the given name (a lone name as
	// either, see loneName) + birth year, for sparse records only (see
	// sparse). Survives a missing or changed family name together with a
	// wrong birth day or month, which a record with a street address or
	// phone survives through them, and a sparse record without a place
	// through nothing else. Dense records do not get it: given name and
	// year are shared by hundreds of patients in a large registry (blocks
	// of 172 at 100k generated), for pairs their other keys already find.
	RuleGivenYear
	// RuleEmailHandle: the part of the e-mail address before the "@" (at
	// least three characters), for sparse records only (see sparse).
	// Survives a typo in the provider's domain (miller-torres.org,
	// miller-tores.org) and a handle kept at another provider, where
	// RuleEmail, which keys the whole address, does not. A sparse record
	// has no phone, street address or identifier to meet such a duplicate
	// by when its names and birth date are slipped too; a dense one has,
	// and a handle shared by strangers (j.smith) would cost it pairs for
	// nothing (measured on the registry profile: 338 pairs more, no true
	// pair gained).
	RuleEmailHandle
	// RuleNameDay: Double Metaphone of a name (one key for the given and
	// one for the family name, not saying which, as RuleBirthInitial) +
	// birth month and day in ascending order, the year left out, for
	// sparse records only (see sparse). Survives a wrong birth year (a
	// slipped digit, 1983 for 1993) together with a typo'd or missing
	// other name: every other key of a sparse record without a place
	// holds the year or both names. Dense records do not get it: their
	// street address and phone survive a wrong year. It fixes the birth
	// date too (its pairs agree on month and day by construction), so
	// that an EM pass over it does not count their birth dates.
	RuleNameDay
	// RulePlaceWindow: the city's Double Metaphone + the birth date's
	// two-month window, for sparse records only (see sparse): two keys,
	// windows of 60 days offset by 30, so that birth dates up to 30 days
	// apart always share one. Survives a birth date off by days or weeks
	// (across a month or year boundary too) together with missing or
	// typo'd names, where every other key of a sparse record needs the
	// exact date, its year or month, or a name. Dense records do not get
	// it: their street address and phone survive that.
	RulePlaceWindow

	numRules
)

// loneName: a record holding only one name (a mononym, which
// record.Normalize files as a family name, or a given name whose family
// name is missing, as civil and historical records often are) may hold it
// in the wrong field, so the rules that key on one name — locality_given,
// locality_family and family_year — key a lone name as either, and meet
// the duplicate that has both. Records with both names key as before: the
// extra key costs only the records that lack a name (scoring compares a
// lone name the same way, see scoring.Compare).

// Comparison names of the scoring model (see scoring.Model), used to say
// which comparisons a rule fixes.
const (
	CompGivenName  = "given_name"
	CompFamilyName = "family_name"
	CompBirthDate  = "birth_date"
	CompHousehold  = "household"
	CompIdentifier = "identifier"
	CompSex        = "sex"
)

type ruleInfo struct {
	name   string
	prefix string
	fixes  []string
}

var rules = [numRules]ruleInfo{
	RuleName:           {"name", "n:", []string{CompGivenName, CompFamilyName}},
	RuleFamilyYear:     {"family_year", "fy:", []string{CompFamilyName, CompBirthDate}},
	RuleGivenBirth:     {"given_birth", "gb:", []string{CompGivenName, CompBirthDate}},
	RuleBirthInitial:   {"birth_initial", "bi:", []string{CompBirthDate, CompGivenName, CompFamilyName}},
	RuleBirthLocality:  {"birth_locality", "bl:", []string{CompBirthDate, CompHousehold}},
	RuleMonthInitials:  {"month_initials", "mi:", []string{CompBirthDate, CompGivenName, CompFamilyName}},
	RuleLocalityFamily: {"locality_family", "lf:", []string{CompHousehold, CompFamilyName}},
	RuleLocalityGiven:  {"locality_given", "lg:", []string{CompHousehold, CompGivenName}},
	RulePhone:          {"phone", "ph:", []string{CompHousehold}},
	RuleEmail:          {"email", "em:", []string{CompHousehold}},
	RuleIdentifier:     {"identifier", "id:", []string{CompIdentifier}},
	RuleAddress:        {"address", "ad:", []string{CompHousehold}},
	RuleBirthDate:      {"birth_date", "bd:", []string{CompBirthDate}},
	RuleGivenYear:      {"given_year", "gy:", []string{CompGivenName, CompBirthDate}},
	RuleEmailHandle:    {"email_handle", "eh:", []string{CompHousehold}},
	RuleNameDay:        {"name_day", "nd:", []string{CompBirthDate, CompGivenName, CompFamilyName}},
	RulePlaceWindow:    {"place_window", "pw:", []string{CompBirthDate, CompHousehold}},
}

// Rules returns the candidate rules, in the order Keys applies them: the
// keys of the index and of Pairs' default.
func Rules() []Rule {
	out := make([]Rule, 0, numRules)
	for r := Rule(0); r < numRules; r++ {
		if !r.TrainingOnly() {
			out = append(out, r)
		}
	}
	return out
}

// TrainingRules returns the rules whose blocks EM trains over, one pass
// each: the candidate rules and the training-only ones. As in Splink, the
// rules that find candidates and those that train m need not be the same:
// a training pass is worth having when it fixes a different set of
// comparisons, even if its candidates are already found by other rules.
func TrainingRules() []Rule {
	out := make([]Rule, numRules)
	for i := range out {
		out[i] = Rule(i)
	}
	return out
}

// TrainingOnly reports whether r is a training pass only, never a source of
// candidates (Keys and Pairs' default skip it).
func (r Rule) TrainingOnly() bool {
	return r == RuleGivenBirth || r == RuleBirthDate
}

// String returns the rule's name, e.g. "family_year".
func (r Rule) String() string {
	if r >= numRules {
		return "rule(" + strconv.Itoa(int(r)) + ")"
	}
	return rules[r].name
}

// Prefix returns the prefix that starts every key of the rule, e.g. "fy:".
func (r Rule) Prefix() string {
	if r >= numRules {
		return ""
	}
	return rules[r].prefix
}

// Fixes returns the names of the scoring comparisons the rule blocks on.
// Pairs blocked on a rule agree (exactly or nearly) on these comparisons by
// construction, so an EM training pass over them must leave them out, as
// Splink does. The slice is a copy.
func (r Rule) Fixes() []string {
	if r >= numRules {
		return nil
	}
	return append([]string(nil), rules[r].fixes...)
}

// RuleOf returns the rule a key was made by, and false for a string that
// is not a blocking key.
func RuleOf(key string) (Rule, bool) {
	for i, ri := range rules {
		if strings.HasPrefix(key, ri.prefix) {
			return Rule(i), true
		}
	}
	return 0, false
}

// ParseRule returns the rule with the given name (see Rule.String).
func ParseRule(name string) (Rule, bool) {
	for i, ri := range rules {
		if ri.name == name {
			return Rule(i), true
		}
	}
	return 0, false
}

// Keys appends the blocking keys of p under every candidate rule (Rules) to
// dst and returns the extended slice. A record with nothing usable has no
// keys.
func Keys(p *scoring.Prepared, dst []string) []string {
	var kb keyBuilder
	for r := Rule(0); r < numRules; r++ {
		if !r.TrainingOnly() {
			dst = kb.appendRule(p, r, dst)
		}
	}
	return dst
}

// RuleKeys appends the keys of p under one rule to dst.
func RuleKeys(p *scoring.Prepared, r Rule, dst []string) []string {
	var kb keyBuilder
	return kb.appendRule(p, r, dst)
}

// keyBuilder reuses one byte buffer across the keys of a record. With
// hashOnly set it appends each key's hash (hashKey) to hashes instead of
// the key to dst: blocking a whole file needs the hashes only, and a
// string per key would be millions of allocations.
type keyBuilder struct {
	buf      []byte
	hashOnly bool
	hashes   []uint64
	// Facts of one record several recipes read, worked out once for the
	// record they were of (rec): whether it is sparse, and its city's
	// Double Metaphone (city, set when hasCity).
	rec      *scoring.Prepared
	isSparse bool
	city     string
	hasCity  bool
}

// of makes kb's per-record facts p's, working out sparse anew when p
// is not the record they were of.
func (kb *keyBuilder) of(p *scoring.Prepared) {
	if kb.rec != p {
		kb.rec, kb.isSparse, kb.city, kb.hasCity = p, sparse(p), "", false
	}
}

// sparse reports sparse(p), once per record.
func (kb *keyBuilder) sparse(p *scoring.Prepared) bool {
	kb.of(p)
	return kb.isSparse
}

// cityCode is the Double Metaphone of p's city, once per record.
func (kb *keyBuilder) cityCode(p *scoring.Prepared) string {
	kb.of(p)
	if !kb.hasCity {
		kb.city, _ = matchr.DoubleMetaphone(p.Rec.Address.City)
		kb.hasCity = true
	}
	return kb.city
}

func (kb *keyBuilder) start(r Rule) {
	kb.buf = append(kb.buf[:0], rules[r].prefix...)
}

func (kb *keyBuilder) add(parts ...string) {
	for i, s := range parts {
		if i > 0 {
			kb.buf = append(kb.buf, '|')
		}
		kb.buf = append(kb.buf, s...)
	}
}

// emit adds the key built so far: to dst, or as a hash to kb.hashes.
func (kb *keyBuilder) emit(dst []string) []string {
	if kb.hashOnly {
		kb.hashes = append(kb.hashes, hashKey(kb.buf))
		return dst
	}
	return append(dst, string(kb.buf))
}

// appendRule appends the keys of p under rule r: each rule's recipe is
// one function of ruleRecipes.
func (kb *keyBuilder) appendRule(p *scoring.Prepared, r Rule, dst []string) []string {
	if r >= numRules {
		return dst
	}
	return ruleRecipes[r](kb, p, dst)
}

// ruleRecipes holds the recipe of each rule (see the Rule constants).
var ruleRecipes = [numRules]func(kb *keyBuilder, p *scoring.Prepared, dst []string) []string{
	RuleName:           (*keyBuilder).nameKeys,
	RuleFamilyYear:     (*keyBuilder).familyYearKeys,
	RuleGivenBirth:     (*keyBuilder).givenBirthKeys,
	RuleBirthInitial:   (*keyBuilder).birthInitialKeys,
	RuleMonthInitials:  (*keyBuilder).monthInitialsKeys,
	RuleBirthLocality:  (*keyBuilder).birthLocalityKeys,
	RuleLocalityFamily: (*keyBuilder).localityFamilyKeys,
	RuleLocalityGiven:  (*keyBuilder).localityGivenKeys,
	RulePhone:          (*keyBuilder).phoneKeys,
	RuleEmail:          (*keyBuilder).emailKeys,
	RuleIdentifier:     (*keyBuilder).identifierKeys,
	RuleAddress:        (*keyBuilder).addressKeys,
	RuleBirthDate:      (*keyBuilder).birthDateKeys,
	RuleGivenYear:      (*keyBuilder).givenYearKeys,
	RuleEmailHandle:    (*keyBuilder).emailHandleKeys,
	RuleNameDay:        (*keyBuilder).nameDayKeys,
	RulePlaceWindow:    (*keyBuilder).placeWindowKeys,
}

// key emits one key of rule r made of parts, or nothing when a part is
// missing.
func (kb *keyBuilder) key(r Rule, dst []string, parts ...string) []string {
	for _, s := range parts {
		if s == "" {
			return dst
		}
	}
	kb.start(r)
	kb.add(parts...)
	return kb.emit(dst)
}

func (kb *keyBuilder) nameKeys(p *scoring.Prepared, dst []string) []string {
	if p.GivenDM1 == "" || p.FamilyDM1 == "" {
		return dst
	}
	first := namePair(p.GivenDM1, p.FamilyDM1)
	dst = kb.key(RuleName, dst, first[0], first[1])
	alt := namePair(orElse(p.GivenDM2, p.GivenDM1), orElse(p.FamilyDM2, p.FamilyDM1))
	if alt != first {
		dst = kb.key(RuleName, dst, alt[0], alt[1])
	}
	return dst
}

func (kb *keyBuilder) familyYearKeys(p *scoring.Prepared, dst []string) []string {
	fam := p.FamilyNYSIIS
	if p.Rec.Family == "" {
		fam = p.GivenNYSIIS // a lone name may be the family name (loneName)
	}
	y := birthYear(p.Rec.BirthDate)
	dst = kb.key(RuleFamilyYear, dst, fam, y)
	if y != "" && kb.sparse(p) {
		// The next year too (see RuleFamilyYear): two sparse records a
		// year apart share the later one.
		next := p.Rec.BirthDate
		next.Year++
		dst = kb.key(RuleFamilyYear, dst, fam, birthYear(next))
	}
	return dst
}

func (kb *keyBuilder) givenBirthKeys(p *scoring.Prepared, dst []string) []string {
	return kb.key(RuleGivenBirth, dst, p.GivenDM1, birthDay(p.Rec.BirthDate))
}

func (kb *keyBuilder) birthDateKeys(p *scoring.Prepared, dst []string) []string {
	return kb.key(RuleBirthDate, dst, birthDay(p.Rec.BirthDate))
}

func (kb *keyBuilder) birthInitialKeys(p *scoring.Prepared, dst []string) []string {
	rec := &p.Rec
	d := birthDay(rec.BirthDate)
	gi, fi := "", ""
	if p.GivenDM1 != "" {
		gi = rec.Given[:1]
	}
	if p.FamilyDM1 != "" {
		fi = rec.Family[:1]
	}
	dst = kb.key(RuleBirthInitial, dst, d, gi)
	if fi != gi {
		dst = kb.key(RuleBirthInitial, dst, d, fi)
	}
	return dst
}

func (kb *keyBuilder) monthInitialsKeys(p *scoring.Prepared, dst []string) []string {
	m := birthMonth(p.Rec.BirthDate)
	if p.FamilyDM1 == "" || p.GivenDM1 == "" || m == "" {
		return dst
	}
	return kb.key(RuleMonthInitials, dst, m, initials(p.Rec.Given[:1], p.Rec.Family[:1]))
}

func (kb *keyBuilder) birthLocalityKeys(p *scoring.Prepared, dst []string) []string {
	d := birthDay(p.Rec.BirthDate)
	dst = kb.localityKeys(RuleBirthLocality, p, dst, d, true)
	if city := p.Rec.Address.City; city != "" && kb.sparse(p) {
		// The city's sound too (see RuleBirthLocality): a hand-keyed
		// place name is typo'd (southampton, sothampton) where a postal code is
		// not written at all.
		if code := kb.cityCode(p); code != "" {
			dst = kb.key(RuleBirthLocality, dst, d, "m"+code)
		}
	}
	return dst
}

func (kb *keyBuilder) localityFamilyKeys(p *scoring.Prepared, dst []string) []string {
	fam := p.FamilyDM1
	if p.Rec.Family == "" {
		fam = p.GivenDM1 // a lone name may be the family name (loneName)
	}
	return kb.localityKeys(RuleLocalityFamily, p, dst, fam, false)
}

func (kb *keyBuilder) localityGivenKeys(p *scoring.Prepared, dst []string) []string {
	given := p.GivenDM1
	if p.Rec.Given == "" {
		given = p.FamilyDM1 // a lone name may be the given name (loneName)
	}
	return kb.localityKeys(RuleLocalityGiven, p, dst, given, false)
}

// localityKeys emits the key of rule r made of the record's locality (the
// postal code, else the city) and part, the place last when placeLast (so
// each rule's keys stay what they were before this fallback). A sparse record (see sparse) with
// both also emits the key with the city: its duplicates often carry the
// place as a city alone, and it has no address or phone to meet them by
// instead. Dense records do not, since a city holds far more patients
// than a postal code (locality_given blocks of 663 at 100k generated,
// against 16 by postal code).
func (kb *keyBuilder) localityKeys(r Rule, p *scoring.Prepared, dst []string, part string, placeLast bool) []string {
	a := &p.Rec.Address
	loc := locality(a)
	if loc == "" || part == "" {
		return dst
	}
	places, n := [2]string{loc}, 1
	if loc[0] == 'p' && a.City != "" && kb.sparse(p) {
		places[1], n = "c"+a.City, 2
	}
	for _, place := range places[:n] {
		if placeLast {
			dst = kb.key(r, dst, part, place)
		} else {
			dst = kb.key(r, dst, place, part)
		}
	}
	return dst
}

func (kb *keyBuilder) givenYearKeys(p *scoring.Prepared, dst []string) []string {
	if !kb.sparse(p) {
		return dst
	}
	given := p.GivenDM1
	if p.Rec.Given == "" {
		given = p.FamilyDM1 // a lone name may be the given name (loneName)
	}
	return kb.key(RuleGivenYear, dst, given, birthYear(p.Rec.BirthDate))
}

func (kb *keyBuilder) nameDayKeys(p *scoring.Prepared, dst []string) []string {
	if !kb.sparse(p) {
		return dst
	}
	d := monthDay(p.Rec.BirthDate)
	dst = kb.key(RuleNameDay, dst, p.GivenDM1, d)
	if p.FamilyDM1 != p.GivenDM1 {
		dst = kb.key(RuleNameDay, dst, p.FamilyDM1, d)
	}
	return dst
}

func (kb *keyBuilder) placeWindowKeys(p *scoring.Prepared, dst []string) []string {
	city := p.Rec.Address.City
	if city == "" || !kb.sparse(p) {
		return dst
	}
	day, ok := epochDay(p.Rec.BirthDate)
	if !ok {
		return dst
	}
	code := kb.cityCode(p)
	dst = kb.key(RulePlaceWindow, dst, code, "a"+strconv.Itoa(day/60))
	return kb.key(RulePlaceWindow, dst, code, "b"+strconv.Itoa((day+30)/60))
}

func (kb *keyBuilder) phoneKeys(p *scoring.Prepared, dst []string) []string {
	return kb.key(RulePhone, dst, phone7(p.Rec.Phone))
}

func (kb *keyBuilder) emailKeys(p *scoring.Prepared, dst []string) []string {
	if record.IsPlaceholderEmail(p.Rec.Email) {
		return dst
	}
	return kb.key(RuleEmail, dst, p.Rec.Email)
}

func (kb *keyBuilder) emailHandleKeys(p *scoring.Prepared, dst []string) []string {
	if !kb.sparse(p) || record.IsPlaceholderEmail(p.Rec.Email) {
		return dst
	}
	return kb.key(RuleEmailHandle, dst, emailHandle(p.Rec.Email))
}

func (kb *keyBuilder) identifierKeys(p *scoring.Prepared, dst []string) []string {
	for _, id := range p.Rec.Identifiers {
		if record.IsPlaceholderID(id.Value) {
			continue
		}
		kb.start(RuleIdentifier)
		kb.add(id.Type.String())
		if id.Type == record.IDMRN || id.Type == record.IDOther {
			kb.add("", id.System)
		}
		kb.add("", id.Value)
		dst = kb.emit(dst)
	}
	return dst
}

func (kb *keyBuilder) addressKeys(p *scoring.Prepared, dst []string) []string {
	a := &p.Rec.Address
	if record.IsPlaceholderStreet(a.Street) {
		return dst
	}
	return kb.key(RuleAddress, dst, a.Number, a.Street, locality(a))
}

// namePair orders two phonetic codes so that a given/family swap yields
// the same pair.
func namePair(a, b string) [2]string {
	if b < a {
		a, b = b, a
	}
	return [2]string{a, b}
}

// initials returns the two initials in sorted order, so that a given/family
// swap keeps them.
func initials(a, b string) string {
	if b < a {
		a, b = b, a
	}
	return a + b
}

func orElse(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
