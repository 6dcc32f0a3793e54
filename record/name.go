package record

import (
	"slices"
	"strings"
)

// Generational suffixes, by every spelling we recognise, to their canonical
// form. They are identity evidence (John Smith Jr and Sr are two people), so
// they are pulled out of the name parts wherever they were typed.
var generationalSuffix = map[string]string{
	"jr": "jr", "jnr": "jr", "junior": "jr",
	"sr": "sr", "snr": "sr", "senior": "sr",
	"ii": "ii", "2nd": "ii",
	"iii": "iii", "3rd": "iii",
	"iv": "iv", "4th": "iv",
}

// Academic and professional suffixes carry no identity; they are dropped
// when they trail a name.
var credentialSuffix = map[string]bool{
	"md": true, "phd": true, "dds": true, "dmd": true, "esq": true, "rn": true,
	"mba": true, "cpa": true, "dvm": true, "jd": true, "facs": true,
}

// Prefixes (titles) carry no identity and are dropped.
var namePrefix = map[string]bool{
	"mr": true, "mrs": true, "ms": true, "miss": true, "mx": true, "dr": true,
	"prof": true, "rev": true, "revd": true, "fr": true, "sir": true, "dame": true,
	"lord": true, "lady": true, "hon": true, "capt": true, "mstr": true, "master": true,
}

// Particles bind to the word after them: "van der berg" is one part of a
// family name, not three, so that a dropped part of a compound name is
// recognised without "van" counting as a part.
var nameParticle = map[string]bool{
	"van": true, "von": true, "der": true, "den": true, "de": true, "del": true,
	"della": true, "delle": true, "dei": true, "di": true, "da": true, "das": true,
	"dos": true, "do": true, "du": true, "des": true, "la": true, "le": true,
	"lo": true, "las": true, "los": true, "ter": true, "ten": true, "te": true,
	"vanden": true, "vander": true, "st": true, "ste": true, "san": true,
	"santa": true, "al": true, "el": true, "bin": true, "ibn": true, "ben": true,
	"mac": true, "mc": true, "ap": true, "af": true, "zu": true,
}

// nameFields is a name split into its normalized parts.
type nameFields struct {
	family []string // words of the family name
	given  []string // words of the given names, first is the given name
	suffix string   // canonical generational suffix
}

// stripSuffixes removes trailing generational and credential suffixes from
// w (keeping at least one word) and returns the words left and the first
// generational suffix seen.
func stripSuffixes(w []string) ([]string, string) {
	suffix := ""
	for len(w) > 1 {
		last := w[len(w)-1]
		if s, ok := generationalSuffix[last]; ok {
			if suffix == "" {
				suffix = s
			}
		} else if !credentialSuffix[last] {
			break
		}
		w = w[:len(w)-1]
	}
	return w, suffix
}

// stripPrefixes removes leading titles from w, keeping at least one word.
func stripPrefixes(w []string) []string {
	for len(w) > 1 && namePrefix[w[0]] {
		w = w[1:]
	}
	return w
}

// parseNameText splits free-text names: "Smith, John A" (family first,
// comma) and "John A Smith" (family last, with its particles: "Ludwig van
// Beethoven"). A single word is a mononym and becomes the family name.
func parseNameText(text string) nameFields {
	var n nameFields
	folded := foldASCII(text)
	if fam, giv, ok := strings.Cut(folded, ","); ok {
		var sfx string
		n.family, sfx = stripSuffixes(stripPrefixes(appendWords(nil, fam)))
		n.given, n.suffix = stripSuffixes(stripPrefixes(appendWords(nil, giv)))
		if n.suffix == "" {
			n.suffix = sfx
		}
		// "Smith, Jr, John" and similar leave a suffix as the whole given.
		if len(n.given) == 1 {
			if s, ok := generationalSuffix[n.given[0]]; ok && len(n.family) > 0 {
				n.given, n.suffix = nil, s
			}
		}
		if len(n.family) == 0 && len(n.given) == 1 {
			n.family, n.given = n.given, nil
		}
		return n
	}
	w, sfx := stripSuffixes(stripPrefixes(appendWords(nil, folded)))
	n.suffix = sfx
	if len(w) <= 1 {
		n.family = w
		return n
	}
	i := len(w) - 1
	for i > 1 && nameParticle[w[i-1]] {
		i--
	}
	n.given, n.family = w[:i], w[i:]
	return n
}

// normalizeName builds the name fields of a record from the raw name parts.
func normalizeName(r *Record, raw *Raw) {
	fam := words(raw.Family)
	var given []string
	for _, g := range raw.Given {
		given = appendWords(given, foldASCII(g))
	}
	var suffix string
	for _, s := range raw.Suffix {
		for _, w := range words(s) {
			if c, ok := generationalSuffix[w]; ok && suffix == "" {
				suffix = c
			}
		}
	}
	fam, fs := stripSuffixes(fam)
	given, gs := stripSuffixes(stripPrefixes(given))

	if (len(fam) == 0 || len(given) == 0) && strings.TrimSpace(raw.Text) != "" {
		t := parseNameText(raw.Text)
		switch {
		case len(fam) == 0 && len(given) == 0:
			fam, given = t.family, t.given
		case len(fam) == 0:
			// Given names are known; the text supplies the family name
			// unless it is the same mononym.
			if len(t.given) > 0 || !slices.Equal(t.family, given) {
				fam = t.family
			}
		default:
			given = t.given
		}
		if suffix == "" && fs == "" && gs == "" {
			suffix = t.suffix
		}
	}
	if suffix == "" {
		suffix = fs
	}
	if suffix == "" {
		suffix = gs
	}
	// A single name with no family name is a mononym: it goes in Family so
	// that it is compared with family names (and blocked on).
	if len(fam) == 0 && len(given) == 1 {
		fam, given = given, nil
	}

	r.Suffix = suffix
	setFamily(r, fam)
	if len(given) > 0 {
		r.Given = given[0]
		r.Middle = strings.Join(given[1:], " ")
	}
}

// setFamily sets Family and FamilyParts from the words of a family name.
// The Spanish conjunction "y" between two surnames is dropped (García y
// López is García López); particles bind to the word after them.
func setFamily(r *Record, fam []string) {
	if len(fam) == 0 {
		return
	}
	if len(fam) > 2 {
		kept := fam[:0:0]
		for i, w := range fam {
			if w == "y" && i > 0 && i < len(fam)-1 {
				continue
			}
			kept = append(kept, w)
		}
		fam = kept
	}
	r.Family = strings.Join(fam, " ")
	if len(fam) == 1 {
		return
	}
	var parts []string
	start := 0
	for i, w := range fam {
		if nameParticle[w] && i < len(fam)-1 {
			continue
		}
		parts = append(parts, strings.Join(fam[start:i+1], " "))
		start = i + 1
	}
	if len(parts) > 1 {
		r.FamilyParts = parts
	}
}
