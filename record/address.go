package record

import "strings"

// streetTypes maps every spelling of a street type we recognise to its
// canonical abbreviation (the USPS / Australia Post short form).
var streetTypes = map[string]string{
	"st": "st", "str": "st", "street": "st", "strt": "st",
	"ave": "ave", "av": "ave", "avenue": "ave", "avn": "ave", "aven": "ave", "avnue": "ave",
	"rd": "rd", "road": "rd",
	"dr": "dr", "drive": "dr", "drv": "dr",
	"ln": "ln", "lane": "ln",
	"ct": "ct", "court": "ct", "crt": "ct",
	"pl": "pl", "place": "pl",
	"blvd": "blvd", "boulevard": "blvd", "boul": "blvd", "blv": "blvd",
	"cres": "cres", "crescent": "cres", "cresc": "cres", "crsnt": "cres", "crs": "cres",
	"cir": "cir", "circle": "cir", "circ": "cir",
	"tce": "tce", "terrace": "tce", "ter": "tce", "terr": "tce",
	"hwy": "hwy", "highway": "hwy", "hiway": "hwy",
	"pkwy": "pkwy", "parkway": "pkwy", "pky": "pkwy", "pkway": "pkwy",
	"way": "way", "wy": "way",
	"sq": "sq", "square": "sq",
	"cl": "cl", "close": "cl",
	"cct": "cct", "circuit": "cct",
	"gr": "gr", "grove": "gr", "grv": "gr",
	"pde": "pde", "parade": "pde",
	"trl": "trl", "trail": "trl",
	"aly": "aly", "alley": "aly",
	"row": "row", "walk": "walk", "loop": "loop", "path": "path", "mews": "mews",
	"esp": "esp", "esplanade": "esp",
	"plz": "plz", "plaza": "plz",
	"hts": "hts", "heights": "hts",
	"gdns": "gdns", "gardens": "gdns",
	"pike": "pike", "run": "run",
	"xing": "xing", "crossing": "xing",
	"expy": "expy", "expressway": "expy",
	"fwy": "fwy", "freeway": "fwy",
}

// unitDesignators introduce the unit within a building.
var unitDesignators = map[string]bool{
	"apt": true, "apartment": true, "unit": true, "suite": true, "ste": true,
	"flat": true, "rm": true, "room": true, "#": true,
}

// directionals are canonicalised inside street names (North Main → n main).
var directionals = map[string]string{
	"north": "n", "south": "s", "east": "e", "west": "w",
	"northeast": "ne", "northwest": "nw", "southeast": "se", "southwest": "sw",
	"n": "n", "s": "s", "e": "e", "w": "w", "ne": "ne", "nw": "nw", "se": "se", "sw": "sw",
}

// streetWords are canonicalised anywhere in street and city names, so that
// "Saint Kilda" and "St Kilda", "Third Ave" and "3rd Ave" agree.
var streetWords = map[string]string{
	"saint": "st", "mount": "mt", "fort": "ft",
	"first": "1st", "second": "2nd", "third": "3rd", "fourth": "4th", "fifth": "5th",
	"sixth": "6th", "seventh": "7th", "eighth": "8th", "ninth": "9th", "tenth": "10th",
}

// countries folds the commonest spellings of a few countries to ISO 3166
// alpha-2; anything else is folded text.
var countries = map[string]string{
	"us": "us", "usa": "us", "united states": "us", "united states of america": "us", "america": "us",
	"au": "au", "aus": "au", "australia": "au",
	"gb": "gb", "uk": "gb", "united kingdom": "gb", "great britain": "gb", "england": "gb",
	"ca": "ca", "can": "ca", "canada": "ca",
	"ug": "ug", "uga": "ug", "uganda": "ug",
	"nz": "nz", "new zealand": "nz", "ie": "ie", "ireland": "ie",
	"de": "de", "germany": "de", "fr": "fr", "france": "fr", "mx": "mx", "mexico": "mx",
}

// states folds US state and Australian state names to their abbreviations.
var states = map[string]string{
	"alabama": "al", "alaska": "ak", "arizona": "az", "arkansas": "ar", "california": "ca",
	"colorado": "co", "connecticut": "ct", "delaware": "de", "florida": "fl", "georgia": "ga",
	"hawaii": "hi", "idaho": "id", "illinois": "il", "indiana": "in", "iowa": "ia",
	"kansas": "ks", "kentucky": "ky", "louisiana": "la", "maine": "me", "maryland": "md",
	"massachusetts": "ma", "michigan": "mi", "minnesota": "mn", "mississippi": "ms",
	"missouri": "mo", "montana": "mt", "nebraska": "ne", "nevada": "nv", "new hampshire": "nh",
	"new jersey": "nj", "new mexico": "nm", "new york": "ny", "north carolina": "nc",
	"north dakota": "nd", "ohio": "oh", "oklahoma": "ok", "oregon": "or", "pennsylvania": "pa",
	"rhode island": "ri", "south carolina": "sc", "south dakota": "sd", "tennessee": "tn",
	"texas": "tx", "utah": "ut", "vermont": "vt", "virginia": "va", "washington": "wa",
	"west virginia": "wv", "wisconsin": "wi", "wyoming": "wy", "district of columbia": "dc",
	"puerto rico":     "pr",
	"new south wales": "nsw", "victoria": "vic", "queensland": "qld", "south australia": "sa",
	"western australia": "wa", "tasmania": "tas", "northern territory": "nt",
	"australian capital territory": "act",
}

// addrToken is one word of an address line.
type addrToken struct {
	w string
	// unitNumber is set for the Australian "4/12" form: w is the house
	// number and unitNumber the unit.
	unitNumber string
}

// tokenizeAddress splits a folded address segment into words. '#' is a word
// of its own ("#18b" → "#", "18b"); "12-14" keeps the first number of the
// range; "4/12" is unit 4, number 12; apostrophes join; other punctuation
// separates.
func tokenizeAddress(seg string) []addrToken {
	var out []addrToken
	for _, field := range strings.Fields(seg) {
		if field[0] == '#' {
			out = append(out, addrToken{w: "#"})
			field = field[1:]
		}
		if u, n, ok := strings.Cut(field, "/"); ok && isHouseNumber(u) && isHouseNumber(alnumPrefix(n)) {
			out = append(out, addrToken{w: alnumPrefix(n), unitNumber: u})
			continue
		}
		if a, _, ok := strings.Cut(field, "-"); ok && isHouseNumber(a) {
			out = append(out, addrToken{w: a})
			continue
		}
		for _, w := range appendWords(nil, field) {
			out = append(out, addrToken{w: w})
		}
	}
	return out
}

// alnumPrefix returns the leading letters and digits of s.
func alnumPrefix(s string) string {
	i := 0
	for i < len(s) && isAlnum(s[i]) {
		i++
	}
	return s[:i]
}

// isHouseNumber reports digits followed by at most one letter: "12", "12a",
// but not "3rd".
func isHouseNumber(s string) bool {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return i > 0 && (i == len(s) || (i == len(s)-1 && 'a' <= s[i] && s[i] <= 'z'))
}

// ParseAddress normalizes a postal address given as street lines and parts.
// The street line is split into house number ("12", "12a"; "12-14" → "12"),
// street name, canonical street type (the last word, "Street" → "st") and
// unit ("Apt 4", "#4", "Flat 2", or the "4/12" form). Lines or
// comma-separated segments that hold no street (a building name, a
// locality) are skipped once a street is found. City and state are folded
// (US and Australian state names to abbreviations), the postal code kept as
// lower-case letters and digits (US ZIP+4 cut to five digits), and the
// country folded (common names to ISO alpha-2).
func ParseAddress(lines []string, city, state, postal, country string) Address {
	var a Address
	a.Country = normalizeCountry(country)
	a.City = normalizePlace(city)
	a.State = normalizeState(state)
	a.PostalCode = normalizePostal(postal, a.Country)
	for _, line := range lines {
		for _, seg := range strings.Split(foldASCII(line), ",") {
			parseStreetSegment(&a, tokenizeAddress(seg))
		}
	}
	return a
}

// parseAddressText parses a whole address in one free-text string, "12 Main
// St, Springfield, IL 62701" or without commas. The trailing postal code,
// state and (after a street type) city fill only the parts not given
// separately.
func parseAddressText(text string, a *Address) {
	segs := strings.Split(foldASCII(text), ",")
	// A last segment that names a country ("United Kingdom") is the country.
	if n := len(segs); n > 1 {
		if c, ok := countries[joinWords(segs[n-1])]; ok {
			if a.Country == "" {
				a.Country = c
			}
			segs = segs[:n-1]
		}
	}
	var tail []addrToken
	for i, seg := range segs {
		toks := tokenizeAddress(seg)
		if i > 0 && a.Street != "" {
			tail = append(tail, toks...)
			continue
		}
		if i == 0 && len(segs) == 1 {
			// No commas: the street ends at its street type.
			end := -1
			for j := 1; j < len(toks); j++ {
				if _, ok := streetTypes[toks[j].w]; ok && j > 0 {
					end = j
					// a unit may follow the type: "12 main st apt 4 springfield"
					if j+2 < len(toks) && unitDesignators[toks[j+1].w] {
						end = j + 2
					}
					break
				}
			}
			if end >= 0 {
				tail = toks[end+1:]
				toks = toks[:end+1]
			}
		}
		parseStreetSegment(a, toks)
	}
	if len(tail) == 0 {
		return
	}
	w := make([]string, 0, len(tail))
	for i := 0; i < len(tail); i++ {
		if unitDesignators[tail[i].w] && i+1 < len(tail) {
			if a.Unit == "" {
				a.Unit = tail[i+1].w
			}
			i++
			continue
		}
		w = append(w, tail[i].w)
	}
	if n := len(w); n > 0 && a.Country == "" {
		if c, ok := countries[w[n-1]]; ok && n > 1 {
			a.Country, w = c, w[:n-1]
		}
	}
	// Postal code: a trailing run with digits (62701, 62701 1234, sw1a 1aa).
	if n := len(w); n > 0 && a.PostalCode == "" {
		switch {
		case n >= 2 && len(w[n-1]) == 3 && hasDigit(w[n-1]) && len(w[n-2]) <= 4 && hasDigit(w[n-2]) && !allDigits(w[n-2]):
			a.PostalCode, w = normalizePostal(w[n-2]+w[n-1], a.Country), w[:n-2]
		case n >= 2 && allDigits(w[n-1]) && len(w[n-1]) == 4 && allDigits(w[n-2]) && len(w[n-2]) == 5:
			a.PostalCode, w = w[n-2], w[:n-2]
		case hasDigit(w[n-1]):
			a.PostalCode, w = normalizePostal(w[n-1], a.Country), w[:n-1]
		}
	}
	if n := len(w); n > 0 && a.State == "" {
		if len(w[n-1]) <= 3 && n > 1 {
			a.State, w = w[n-1], w[:n-1]
		}
	}
	if len(w) > 0 && a.City == "" {
		a.City = normalizePlace(strings.Join(w, " "))
	}
}

func hasDigit(s string) bool {
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			return true
		}
	}
	return false
}

// parseStreetSegment fills the street parts of a from one segment of a
// street line. A segment that is only a unit ("Apt 4") sets the unit; a
// segment without a number is a street only when no street is known yet.
func parseStreetSegment(a *Address, toks []addrToken) {
	// Units first, wherever they are: "apt 4", "# 18b", "flat 2".
	rest := toks[:0:0]
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if unitDesignators[t.w] {
			if i+1 < len(toks) && toks[i+1].unitNumber == "" {
				if a.Unit == "" {
					a.Unit = toks[i+1].w
				}
				i++
			}
			continue // a designator without a value ("#") is noise
		}
		rest = append(rest, t)
	}
	if len(rest) == 0 {
		return
	}
	number := ""
	switch {
	case isHouseNumber(rest[0].w) || rest[0].unitNumber != "":
		number = rest[0].w
		if rest[0].unitNumber != "" && a.Unit == "" {
			a.Unit = rest[0].unitNumber
		}
		rest = rest[1:]
	case len(rest) > 1 && isHouseNumber(rest[len(rest)-1].w):
		// European order: "Hauptstrasse 12".
		number = rest[len(rest)-1].w
		rest = rest[:len(rest)-1]
	}
	if a.Street != "" && (number == "" || a.Number != "") {
		return // a locality or building line after the street
	}
	if len(rest) == 0 {
		if a.Number == "" {
			a.Number = number
		}
		return
	}
	w := make([]string, len(rest))
	for i, t := range rest {
		w[i] = t.w
	}
	streetType := ""
	n := len(w)
	if n >= 3 && directionals[w[n-1]] != "" {
		if st, ok := streetTypes[w[n-2]]; ok {
			// "Main St NW": the directional belongs to the name.
			streetType = st
			w = append(w[:n-2:n-2], w[n-1])
		}
	}
	if streetType == "" && len(w) >= 2 {
		if st, ok := streetTypes[w[len(w)-1]]; ok {
			streetType = st
			w = w[:len(w)-1]
		}
	}
	for i, x := range w {
		if c, ok := streetWords[x]; ok {
			w[i] = c
		} else if c, ok := directionals[x]; ok && len(w) > 1 {
			w[i] = c
		}
	}
	a.Number = number
	a.Street = strings.Join(w, " ")
	a.StreetType = streetType
}

// normalizePlace folds a city name: words joined by single spaces,
// "Saint" → "st", "Mount" → "mt".
func normalizePlace(s string) string {
	w := words(s)
	for i, x := range w {
		if c, ok := streetWords[x]; ok && i < len(w)-1 && !isDigit(c[0]) {
			w[i] = c
		}
	}
	return strings.Join(w, " ")
}

func normalizeState(s string) string {
	f := joinWords(s)
	if c, ok := states[f]; ok {
		return c
	}
	return f
}

func normalizeCountry(s string) string {
	f := joinWords(s)
	if c, ok := countries[f]; ok {
		return c
	}
	return f
}

// normalizePostal keeps letters and digits, lower-case; a US ZIP+4
// (12345-6789, or nine digits in the US) becomes its five-digit ZIP.
func normalizePostal(s, country string) string {
	p := alnumLower(s)
	if len(p) == 9 && allDigits(p) && (country == "us" || (country == "" && strings.ContainsAny(s, "- "))) {
		return p[:5]
	}
	return p
}
