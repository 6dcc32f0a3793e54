package record

import (
	"fmt"
	"strings"
)

// DateOrder says how to read a birth date written day and month before the
// year with '/' or '-' (03/04/1980): such a date means 4 March in one
// country and 3 April in another, so it is read only when the caller says
// which (the --date-order flag).
type DateOrder int

// Date orders.
const (
	// DateOrderUnknown leaves 03/04/1980 unread (counted as unreadable).
	DateOrderUnknown DateOrder = iota
	// DateOrderMDY reads 03/04/1980 as 1980-03-04 (United States).
	DateOrderMDY
	// DateOrderDMY reads 03/04/1980 as 1980-04-03 (most other countries).
	DateOrderDMY
)

// ParseDateOrder parses --date-order: "" (unknown), "mdy" or "dmy".
func ParseDateOrder(s string) (DateOrder, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return DateOrderUnknown, nil
	case "mdy", "us":
		return DateOrderMDY, nil
	case "dmy":
		return DateOrderDMY, nil
	}
	return 0, fmt.Errorf("%w: unknown date order %q (want mdy or dmy)", ErrInvalid, s)
}

// String returns the order as --date-order takes it ("" when unknown).
func (o DateOrder) String() string {
	switch o {
	case DateOrderMDY:
		return "mdy"
	case DateOrderDMY:
		return "dmy"
	}
	return ""
}

// Reasons a birth date is unreadable, as Unreadable reports them.
const (
	reasonDateOrder   = "day and month order unknown: give --date-order mdy or dmy"
	reasonNotCalendar = "not a calendar date (kept, compared digit by digit)"
	reasonDateLayout  = "not a date layout patientmatch reads (YYYY-MM-DD, YYYY-MM, YYYY, YYYYMMDD, DD.MM.YYYY, or MM/DD/YYYY and DD/MM/YYYY with --date-order)"
)

// fieldDate reads a birth date from a file. Year-first forms (YYYY-MM-DD,
// YYYY/MM/DD, YYYY.MM.DD, YYYYMMDD, YYYY-MM, YYYY, a dateTime) are kept as
// written, as ParseDate reads them. Day-first DD.MM.YYYY, and MM/DD/YYYY or
// DD/MM/YYYY under a known order, become YYYY-MM-DD. A date that is not on
// the calendar keeps its digits (corrupt data is still compared digit by
// digit) but is reported; so is a value that cannot be read at all, which
// is kept as written and compares as missing. reason is "" for a good date.
func fieldDate(s string, order DateOrder) (out, reason string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", ""
	}
	parts, sep, ok := dateParts(s)
	if !ok {
		return s, reasonDateLayout
	}
	var y, m, d int
	switch {
	case len(parts[0]) == 4 || (len(parts) == 1 && len(parts[0]) == 8):
		pd := ParseDate(s)
		if pd.Year == 0 && !isPlaceholderDate(s) {
			return s, reasonDateLayout
		}
		if pd.Year != 0 && !pd.Valid {
			return s, reasonNotCalendar
		}
		return s, ""
	case len(parts) == 3 && len(parts[2]) == 4 && len(parts[0]) <= 2 && len(parts[1]) <= 2:
		y = atoi(parts[2])
		a, b := atoi(parts[0]), atoi(parts[1])
		switch {
		case sep == '.' || order == DateOrderDMY:
			d, m = a, b
		case order == DateOrderMDY:
			m, d = a, b
		default:
			return s, reasonDateOrder
		}
	default:
		return s, reasonDateLayout
	}
	out = fmt.Sprintf("%04d-%02d-%02d", y, m, d)
	if !(y > 0 && m >= 1 && m <= 12 && d >= 1 && d <= daysIn(y, m)) {
		return out, reasonNotCalendar
	}
	return out, ""
}

// dateParts splits a date into its runs of digits: one run, or up to three
// separated by one kind of separator ('-', '/' or '.'). A dateTime's time
// after 'T' is ignored.
func dateParts(s string) (parts []string, sep byte, ok bool) {
	if i := strings.IndexByte(s, 'T'); i >= 8 {
		s = s[:i]
	}
	for len(s) > 0 {
		end := 0
		for end < len(s) && isDigit(s[end]) {
			end++
		}
		if end == 0 || len(parts) == 3 {
			return nil, 0, false
		}
		parts = append(parts, s[:end])
		s = s[end:]
		if s == "" {
			break
		}
		if (s[0] != '-' && s[0] != '/' && s[0] != '.') || (sep != 0 && s[0] != sep) {
			return nil, 0, false
		}
		sep, s = s[0], s[1:]
		if s == "" {
			return nil, 0, false
		}
	}
	return parts, sep, len(parts) > 0
}
