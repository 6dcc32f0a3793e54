package fhir

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/patientmatch/patientmatch/internal/elide"
	"github.com/patientmatch/patientmatch/record"
)

// Search paging bounds: _count defaults to defaultSearchCount and is capped
// at maxCount (asking for more is not an error; FHIR lets a server return
// fewer).
const defaultSearchCount = 20

// searchParamNames are the Patient search parameters served (IHE PDQm
// ITI-78), plus the result parameters.
var searchParamNames = []string{"_id", "identifier", "family", "given", "birthdate", "gender", "address-postalcode", "telecom"}

// searchQuery is a parsed GET /fhir/Patient?… request. Each criterion is
// a list of alternatives (a comma-separated value: OR); the criteria are
// ANDed, a repeated parameter too.
type searchQuery struct {
	criteria []criterion
	count    int
	// after is the paging cursor: only ids sorting after it are returned.
	after string
	// canonical is the query string of the criteria (for self/next links).
	canonical url.Values
	// ids are the values of the first _id parameter: when set, the search
	// reads those patients alone instead of listing the store.
	ids []string
}

// criterion is one parameter occurrence: a patient passes when any of its
// alternatives holds.
type criterion struct {
	name string
	alts []func(*searchPatient) bool
}

// parseSearch reads the query parameters of a search. Unknown parameters
// are refused (400) unless lenient, so that a misspelt parameter never
// silently widens the result to patients the caller did not ask for.
func parseSearch(q url.Values, lenient bool) (searchQuery, error) {
	sq := searchQuery{count: defaultSearchCount, canonical: url.Values{}}
	for _, key := range sortedKeys(q) {
		name, modifier, _ := strings.Cut(key, ":")
		switch name {
		case "_format", "_pretty", "_summary":
			// _format is negotiation; _pretty and _summary change nothing here.
			continue
		case "_count":
			n, err := strconv.Atoi(q.Get(key))
			if err != nil || n < 1 {
				return sq, invalid(fm.IssueTypeInvalid, "_count must be a positive integer")
			}
			sq.count = min(n, maxCount)
			continue
		case "_cursor":
			sq.after = q.Get(key)
			if !record.ValidID(sq.after) {
				return sq, invalid(fm.IssueTypeInvalid, "_cursor is not a valid paging cursor; follow the Bundle's next link")
			}
			continue
		}
		if !slices.Contains(searchParamNames, name) {
			if lenient {
				continue
			}
			return sq, badRequest(400, fm.IssueTypeNotSupported,
				"unknown search parameter %q; supported: %s, _count (send Prefer: handling=lenient to ignore unknown parameters)",
				elide.Text(key, 64), strings.Join(searchParamNames, ", "))
		}
		for _, v := range q[key] {
			c, err := parseCriterion(name, modifier, v)
			if err != nil {
				return sq, err
			}
			sq.criteria = append(sq.criteria, c)
			sq.canonical.Add(key, v)
			if name == "_id" && sq.ids == nil {
				sq.ids = splitValues(v)
			}
		}
	}
	return sq, nil
}

// sortedKeys returns the keys of q in order (for stable links and errors).
func sortedKeys(q url.Values) []string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// parseCriterion parses one occurrence of a parameter.
func parseCriterion(name, modifier, value string) (criterion, error) {
	c := criterion{name: name}
	if modifier != "" && !(modifier == "exact" || modifier == "contains") {
		return c, invalid(fm.IssueTypeNotSupported, "modifier :%s is not supported on %s (supported: :exact, :contains on string parameters)", elide.Text(modifier, 32), name)
	}
	if modifier != "" && (name != "family" && name != "given" && name != "address-postalcode") {
		return c, invalid(fm.IssueTypeNotSupported, "modifier :%s is not supported on %s", modifier, name)
	}
	for _, v := range splitValues(value) {
		if v == "" {
			return c, invalid(fm.IssueTypeInvalid, "search parameter %s has an empty value", name)
		}
		f, err := valueMatcher(name, modifier, v)
		if err != nil {
			return c, err
		}
		c.alts = append(c.alts, f)
	}
	return c, nil
}

// splitValues splits a parameter value at commas not escaped with "\".
func splitValues(v string) []string {
	var out []string
	var cur strings.Builder
	for i := 0; i < len(v); i++ {
		switch {
		case v[i] == '\\' && i+1 < len(v):
			i++
			cur.WriteByte(v[i])
		case v[i] == ',':
			out = append(out, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(v[i])
		}
	}
	return append(out, cur.String())
}

// valueMatcher returns the test of one alternative.
func valueMatcher(name, modifier, v string) (func(*searchPatient) bool, error) {
	switch name {
	case "_id":
		if !record.ValidID(v) {
			return nil, invalid(fm.IssueTypeInvalid, "_id %q is not a valid FHIR id", elide.Text(v, 64))
		}
		return func(p *searchPatient) bool { return p.ID == v }, nil
	case "family":
		return stringMatcher(modifier, v, func(p *searchPatient) []string { return p.families }), nil
	case "given":
		return stringMatcher(modifier, v, func(p *searchPatient) []string { return p.givens }), nil
	case "address-postalcode":
		return postalMatcher(modifier, v), nil
	case "gender":
		_, code := splitToken(v)
		if record.ParseSex(code).String() != code {
			return nil, invalid(fm.IssueTypeInvalid, "gender must be male, female, other or unknown")
		}
		return func(p *searchPatient) bool { return p.Gender == code }, nil
	case "identifier":
		return identifierMatcher(v), nil
	case "telecom":
		return telecomMatcher(v), nil
	case "birthdate":
		return birthdateMatcher(v)
	}
	return nil, fmt.Errorf("fhir: search parameter %s has no matcher", name)
}

// splitToken splits a token value "system|code"; hasSystem reports a "|".
func splitToken(v string) (system, code string) {
	if s, c, ok := strings.Cut(v, "|"); ok {
		return s, c
	}
	return "", v
}

// stringMatcher is FHIR string search: by default case-, accent- and
// punctuation-insensitive starts-with (folded as names are for matching);
// :exact is an exact, case-sensitive comparison; :contains a folded
// substring.
func stringMatcher(modifier, v string, values func(*searchPatient) []string) func(*searchPatient) bool {
	folded := record.FoldWords(v)
	return func(p *searchPatient) bool {
		for _, s := range values(p) {
			switch modifier {
			case "exact":
				if s == v {
					return true
				}
			case "contains":
				if strings.Contains(record.FoldWords(s), folded) {
					return true
				}
			default:
				if strings.HasPrefix(record.FoldWords(s), folded) {
					return true
				}
			}
		}
		return false
	}
}

// postalMatcher compares postal codes by their letters and digits.
func postalMatcher(modifier, v string) func(*searchPatient) bool {
	folded := record.FoldAlnum(v)
	return func(p *searchPatient) bool {
		for _, s := range p.postals {
			switch modifier {
			case "exact":
				if s == v {
					return true
				}
			case "contains":
				if strings.Contains(record.FoldAlnum(s), folded) {
					return true
				}
			default:
				if strings.HasPrefix(record.FoldAlnum(s), folded) {
					return true
				}
			}
		}
		return false
	}
}

// identifierMatcher is token search on Identifier: "system|value",
// "|value" (no system), "system|" (any value) or "value" (any system).
func identifierMatcher(v string) func(*searchPatient) bool {
	system, value := splitToken(v)
	hasSystem := strings.Contains(v, "|")
	return func(p *searchPatient) bool {
		for _, id := range p.identifiers {
			switch {
			case !hasSystem:
				if id.value == value {
					return true
				}
			case system == "":
				if id.system == "" && id.value == value {
					return true
				}
			case value == "":
				if id.system == system {
					return true
				}
			default:
				if id.system == system && id.value == value {
					return true
				}
			}
		}
		return false
	}
}

// telecomMatcher is token search on ContactPoint: "[system|]value", the
// value compared as the matcher normalizes phones (E.164 digits), so
// "(208) 440-8482" finds "+1 208 440 8482", and e-mail case-insensitively.
// Unlike matching, search keeps placeholder values findable: a clerk may
// well look for the records that carry one.
func telecomMatcher(v string) func(*searchPatient) bool {
	system, value := splitToken(v)
	phone := record.NormalizePhone(value)
	return func(p *searchPatient) bool {
		for _, t := range p.telecoms {
			if system != "" && t.system != system {
				continue
			}
			switch {
			case t.value == value:
				return true
			case (t.system == "phone" || t.system == "sms" || t.system == "fax" || t.system == "") && phone != "" && record.NormalizePhone(t.value) == phone:
				return true
			case (t.system == "email" || t.system == "") && strings.EqualFold(strings.TrimSpace(t.value), strings.TrimSpace(value)):
				return true
			}
		}
		return false
	}
}

// birthdateMatcher is FHIR date search with the prefixes eq (default), ne,
// gt, lt, ge, le, sa and eb, comparing the ranges a partial date covers
// (1980 is all of 1980) as FHIR R4 search.html#prefix says.
func birthdateMatcher(v string) (func(*searchPatient) bool, error) {
	prefix := "eq"
	if len(v) > 2 && v[0] >= 'a' && v[0] <= 'z' {
		prefix, v = v[:2], v[2:]
	}
	lo, hi, ok := dateRange(v)
	if !ok {
		return nil, invalid(fm.IssueTypeInvalid, "birthdate must be a date YYYY, YYYY-MM or YYYY-MM-DD, optionally prefixed with eq, ne, gt, lt, ge, le, sa or eb")
	}
	var test func(rlo, rhi time.Time) bool
	switch prefix {
	case "eq":
		test = func(rlo, rhi time.Time) bool { return !rlo.Before(lo) && !rhi.After(hi) }
	case "ne":
		test = func(rlo, rhi time.Time) bool { return rlo.Before(lo) || rhi.After(hi) }
	case "gt", "sa":
		test = func(_, rhi time.Time) bool { return rhi.After(hi) }
	case "lt", "eb":
		test = func(rlo, _ time.Time) bool { return rlo.Before(lo) }
	case "ge":
		test = func(rlo, rhi time.Time) bool { return rhi.After(hi) || (!rlo.Before(lo) && !rhi.After(hi)) }
	case "le":
		test = func(rlo, rhi time.Time) bool { return rlo.Before(lo) || (!rlo.Before(lo) && !rhi.After(hi)) }
	default:
		return nil, invalid(fm.IssueTypeInvalid, "birthdate prefix %q is not one of eq, ne, gt, lt, ge, le, sa, eb", prefix)
	}
	return func(p *searchPatient) bool {
		rlo, rhi, ok := dateRange(p.BirthDate)
		return ok && test(rlo, rhi)
	}, nil
}

// dateRange is the first and last day a FHIR date (YYYY, YYYY-MM,
// YYYY-MM-DD) covers.
func dateRange(s string) (lo, hi time.Time, ok bool) {
	for _, layout := range []struct {
		layout string
		span   func(time.Time) time.Time
	}{
		{"2006-01-02", func(t time.Time) time.Time { return t }},
		{"2006-01", func(t time.Time) time.Time { return t.AddDate(0, 1, -1) }},
		{"2006", func(t time.Time) time.Time { return t.AddDate(1, 0, -1) }},
	} {
		if len(s) != len(layout.layout) {
			continue
		}
		t, err := time.Parse(layout.layout, s)
		if err != nil {
			return lo, hi, false
		}
		return t, layout.span(t), true
	}
	return lo, hi, false
}
