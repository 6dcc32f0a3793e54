package record

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// foldASCII returns s as lower-case ASCII: letters are decomposed (NFKD, so
// "é" becomes "e" and full-width "Ａ" becomes "a"), combining marks dropped,
// a few letters that do not decompose transliterated (ß → ss, ø → o,
// Cyrillic → Latin), curly apostrophes and dashes mapped to their ASCII
// forms and other Unicode spaces to ' '. ASCII punctuation is kept so that
// the callers can decide what it means (a comma in a name, '#' in an
// address); anything else non-ASCII is dropped.
//
// The ASCII-only case, nearly every record, allocates only the result.
func foldASCII(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		for i := 0; i < len(s); i++ {
			if c := s[i]; 'A' <= c && c <= 'Z' {
				b := []byte(s)
				for j := i; j < len(b); j++ {
					if 'A' <= b[j] && b[j] <= 'Z' {
						b[j] += 'a' - 'A'
					}
				}
				return string(b)
			}
		}
		return s
	}
	s = norm.NFKD.String(s)
	b := make([]byte, 0, len(s))
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf:
			c := byte(r)
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			b = append(b, c)
		case unicode.Is(unicode.Mn, r):
			// combining mark: the base letter was already written
		case r == '\u2018' || r == '\u2019' || r == '\u02bc' || r == '\u00b4' || r == '\u2032':
			b = append(b, '\'')
		case r >= '\u2010' && r <= '\u2015', r == '\u2212':
			b = append(b, '-')
		case unicode.IsSpace(r):
			b = append(b, ' ')
		default:
			if t, ok := translit[unicode.ToLower(r)]; ok {
				b = append(b, t...)
			}
		}
	}
	return string(b)
}

// translit maps lower-case letters that have no ASCII decomposition.
var translit = map[rune]string{
	'ß': "ss", 'ø': "o", 'æ': "ae", 'œ': "oe", 'ł': "l", 'đ': "d", 'ð': "d",
	'þ': "th", 'ı': "i", 'ħ': "h", 'ŀ': "l", 'ŋ': "n", 'ĸ': "k", 'ſ': "s",
	// Russian/Ukrainian Cyrillic, after the common passport transliteration.
	'а': "a", 'б': "b", 'в': "v", 'г': "g", 'д': "d", 'е': "e", 'ё': "e",
	'ж': "zh", 'з': "z", 'и': "i", 'й': "i", 'к': "k", 'л': "l", 'м': "m",
	'н': "n", 'о': "o", 'п': "p", 'р': "r", 'с': "s", 'т': "t", 'у': "u",
	'ф': "f", 'х': "kh", 'ц': "ts", 'ч': "ch", 'ш': "sh", 'щ': "shch",
	'ъ': "", 'ы': "y", 'ь': "", 'э': "e", 'ю': "iu", 'я': "ia",
	'і': "i", 'ї': "i", 'є': "ie", 'ґ': "g",
}

// isAlnum reports whether c is a lower-case ASCII letter or a digit.
func isAlnum(c byte) bool { return ('a' <= c && c <= 'z') || ('0' <= c && c <= '9') }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// appendWords splits folded text into words of letters and digits:
// apostrophes join (o'brien → obrien), every other character separates
// (smith-jones → smith jones, st.john → st john).
func appendWords(dst []string, folded string) []string {
	var cur []byte
	start, joined := -1, false
	flush := func(end int) {
		if start < 0 {
			return
		}
		if joined {
			dst = append(dst, string(cur))
		} else {
			dst = append(dst, folded[start:end])
		}
		start, joined, cur = -1, false, cur[:0]
	}
	for i := 0; i < len(folded); i++ {
		c := folded[i]
		switch {
		case isAlnum(c):
			if start < 0 {
				start = i
			}
			if joined {
				cur = append(cur, c)
			}
		case c == '\'' || c == '`':
			if start >= 0 && !joined {
				joined = true
				cur = append(cur[:0], folded[start:i]...)
			}
		default:
			flush(i)
		}
	}
	flush(len(folded))
	return dst
}

// words folds s and splits it into words (see appendWords).
func words(s string) []string { return appendWords(nil, foldASCII(s)) }

// alnumLower folds s and keeps only its letters and digits.
func alnumLower(s string) string {
	f := foldASCII(s)
	for i := 0; i < len(f); i++ {
		if !isAlnum(f[i]) {
			b := make([]byte, 0, len(f))
			for j := 0; j < len(f); j++ {
				if isAlnum(f[j]) {
					b = append(b, f[j])
				}
			}
			return string(b)
		}
	}
	return f
}

// joinWords folds s and joins its words with single spaces.
func joinWords(s string) string {
	f := foldASCII(s)
	clean := true
	for i := 0; i < len(f); i++ {
		c := f[i]
		if !isAlnum(c) && !(c == ' ' && i > 0 && i < len(f)-1 && f[i-1] != ' ') {
			clean = false
			break
		}
	}
	if clean {
		return f
	}
	w := appendWords(make([]string, 0, 4), f)
	n := 0
	for _, x := range w {
		n += len(x) + 1
	}
	b := make([]byte, 0, n)
	for i, x := range w {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, x...)
	}
	return string(b)
}
