package blocking

import (
	"strings"
	"time"

	"github.com/patientmatch/patientmatch/record"
	"github.com/patientmatch/patientmatch/scoring"
)

// Field extraction for keys. Placeholder values are shared by unrelated
// patients; as keys they would build one giant block of strangers, so each
// helper returns "" for them, by the one placeholder policy of package
// record (record/placeholder.go). Stand-in names are the exception: they
// do key, so a registered "Jane Doe" is still found; the block-size cap in
// Pairs and the index's IDF ranking absorb the large blocks they make.

// birthYear returns "YYYY", or "" when the year is missing or a placeholder.
func birthYear(d record.Date) string {
	if !plausibleYear(d) {
		return ""
	}
	var b [4]byte
	putDigits(b[:], d.Year)
	return string(b[:])
}

// birthMonth returns "YYYYMM", or "" without a month.
func birthMonth(d record.Date) string {
	if !plausibleYear(d) || d.Month <= 0 || d.Month > 99 {
		return ""
	}
	var b [6]byte
	putDigits(b[:4], d.Year)
	putDigits(b[4:], d.Month)
	return string(b[:])
}

// birthDay returns the full date as "YYYY" followed by month and day in
// ascending order, so that a day/month transposition (03-04 vs 04-03)
// shares the key; "" for partial dates. Dates that are not on the calendar
// (1985-02-30) are kept: corrupt data must still meet its duplicate.
func birthDay(d record.Date) string {
	if !plausibleYear(d) || d.Month <= 0 || d.Day <= 0 || d.Month > 99 || d.Day > 99 {
		return ""
	}
	lo, hi := d.Month, d.Day
	if hi < lo {
		lo, hi = hi, lo
	}
	var b [8]byte
	putDigits(b[:4], d.Year)
	putDigits(b[4:6], lo)
	putDigits(b[6:], hi)
	return string(b[:])
}

// monthDay returns the month and day in ascending order ("0304" for both
// 03-04 and 04-03), or "" for a partial date or one whose year is
// missing or a placeholder (a stand-in date is no one's birthday).
func monthDay(d record.Date) string {
	full := birthDay(d)
	if full == "" {
		return ""
	}
	return full[4:]
}

// epochDay returns the days from 1970-01-01 to d, and false for a partial
// date, one not on the calendar's months and days, or a placeholder.
func epochDay(d record.Date) (int, bool) {
	if !plausibleYear(d) || d.Month < 1 || d.Month > 12 || d.Day < 1 || d.Day > 31 {
		return 0, false
	}
	return int(time.Date(d.Year, time.Month(d.Month), d.Day, 0, 0, 0, 0, time.UTC).Unix() / 86400), true
}

// plausibleYear rejects stand-in years (0001, 9999) and stand-in dates
// (1900-01-01): no key comes from any part of them.
func plausibleYear(d record.Date) bool {
	return d.Year >= 1850 && d.Year <= 2199 && !record.IsPlaceholderBirth(d)
}

func putDigits(b []byte, v int) {
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
}

// postal returns a usable postal code: at least three characters, not one
// repeated character (00000, xxxxx).
func postal(pc string) string {
	if len(pc) < 3 || allSame(pc) {
		return ""
	}
	return pc
}

// locality returns "p" + the postal code, or "c" + the city when there is
// no usable postal code, or "": the place part of keys that need one.
func locality(a *record.Address) string {
	if pc := postal(a.PostalCode); pc != "" {
		return "p" + pc
	}
	if a.City != "" {
		return "c" + a.City
	}
	return ""
}

// phone7 returns the last seven digits of a phone number, or "" for fewer
// digits or a placeholder (0000000, 1234567).
func phone7(ph string) string {
	var b [7]byte
	n := 0
	for i := len(ph) - 1; i >= 0 && n < 7; i-- {
		if c := ph[i]; c >= '0' && c <= '9' {
			n++
			b[7-n] = c
		}
	}
	if n < 7 || record.IsPlaceholderDigits(string(b[:]), 7) {
		return ""
	}
	return string(b[:])
}

// emailHandle returns the part of an e-mail address before the "@", or ""
// when it is shorter than three characters (two-letter handles are
// initials, shared by strangers) or there is no "@".
func emailHandle(e string) string {
	i := strings.IndexByte(e, '@')
	if i < 3 {
		return ""
	}
	return e[:i]
}

func allSame(s string) bool {
	for i := 1; i < len(s); i++ {
		if s[i] != s[0] {
			return false
		}
	}
	return true
}

// sparse reports whether p holds no field that places it in a household or
// a registration — no usable street address, phone or identifier
// (placeholders count as missing, as for their own keys) — and so meets
// its duplicates through names, birth date and place alone: such a record
// gets the fallback keys (package comment, "Sparse records"). An e-mail
// address does not make a record dense: it is one person's, not a
// household's, people hold several and change them, and so it is the
// contact least often shared by two records of one person.
func sparse(p *scoring.Prepared) bool {
	r := &p.Rec
	if phone7(r.Phone) != "" {
		return false
	}
	if r.Address.Street != "" && !record.IsPlaceholderStreet(r.Address.Street) {
		return false
	}
	for _, id := range r.Identifiers {
		if id.Value != "" && !record.IsPlaceholderID(id.Value) {
			return false
		}
	}
	return true
}
