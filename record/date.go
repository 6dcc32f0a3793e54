package record

import (
	"strings"
	"time"
)

// ParseDate parses a birth date in the forms that cannot be misread:
// YYYY-MM-DD, YYYYMMDD, YYYY-MM and YYYY (month and day may have one
// digit; '/' or '.' may separate instead of '-'; a FHIR dateTime's time
// part after 'T' is ignored). Forms that put the day or month first
// (01/02/1985) are not guessed at: they are kept in Text only.
//
// A date that is not on the calendar (1985-02-30, month 13) keeps its
// digits with Valid false: corrupt data must still be compared digit by
// digit. The placeholder 1900-01-01, which systems store for "unknown", is
// kept in Text with zero Year/Month/Day so that it compares as missing.
// Text always holds the trimmed input, so ParseDate(d.Text) == d.
func ParseDate(s string) Date {
	s = strings.TrimSpace(s)
	d := Date{Text: s}
	if s == "" {
		return d
	}
	body := s
	if i := strings.IndexByte(body, 'T'); i >= 8 {
		body = body[:i]
	}
	var parts [3]int
	n := 0
	if len(body) == 8 && allDigits(body) {
		parts = [3]int{atoi(body[:4]), atoi(body[4:6]), atoi(body[6:])}
		n = 3
	} else {
		rest := body
		for n < 3 {
			end := 0
			for end < len(rest) && isDigit(rest[end]) {
				end++
			}
			want := 2
			if n == 0 {
				want = 4
			}
			if end == 0 || end > want || (n == 0 && end != 4) {
				return d
			}
			parts[n] = atoi(rest[:end])
			n++
			rest = rest[end:]
			if rest == "" {
				break
			}
			if n == 3 || (rest[0] != '-' && rest[0] != '/' && rest[0] != '.') || len(rest) == 1 {
				return d
			}
			if n > 1 && rest[0] != body[4] {
				return d // mixed separators: 1985-02/03
			}
			rest = rest[1:]
		}
	}
	y, m, day := parts[0], parts[1], parts[2]
	if y == 1900 && m == 1 && day == 1 {
		return d
	}
	d.Year, d.Month, d.Day = y, m, day
	switch n {
	case 1:
		d.Valid = y > 0
	case 2:
		d.Valid = y > 0 && m >= 1 && m <= 12
	default:
		d.Valid = y > 0 && m >= 1 && m <= 12 && day >= 1 && day <= daysIn(y, m)
	}
	return d
}

func daysIn(year, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

// atoi converts a short run of ASCII digits.
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}
