package record

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode"
)

// Files from the field rarely follow the canonical layout: semicolons or
// tabs instead of commas, column names from another system, dates written
// day first, gzip. This file holds what the readers do about it: read what
// can be read unambiguously, and say plainly what could not.

// UnreadableValue is one value of a record that could not be read. The
// record is still good; the value is left out (sex) or kept as written
// (birth dates, which then compare as missing or digit by digit).
type UnreadableValue struct {
	// Column is the CSV column, or the Patient element for FHIR input
	// ("birthDate").
	Column string
	Value  string
	Reason string
}

// UnreadableColumn sums up the unreadable values of one column.
type UnreadableColumn struct {
	Column string
	Count  int
	// Lines are the first MaxUnreadableLines lines with such a value.
	Lines []int
	// Example and Reason are those of the first unreadable value.
	Example, Reason string
}

// MaxUnreadableLines is how many line numbers an UnreadableColumn keeps.
const MaxUnreadableLines = 5

// String says what was unreadable, e.g. `birth_date: 3 values could not be
// read, e.g. "03/16/1980" (day and month order unknown: ...), lines 2, 5, 9`.
func (u UnreadableColumn) String() string {
	lines := make([]string, len(u.Lines))
	for i, l := range u.Lines {
		lines[i] = fmt.Sprint(l)
	}
	more := ""
	if u.Count > len(u.Lines) {
		more = ", …"
	}
	what := "values could not be read"
	if u.Count == 1 {
		what = "value could not be read"
	}
	return fmt.Sprintf("%s: %d %s, e.g. %q (%s), line %s%s", u.Column, u.Count, what, u.Example, u.Reason, strings.Join(lines, ", "), more)
}

// unreadableTally counts unreadable values per column, in the order the
// columns were first seen.
type unreadableTally struct {
	cols []UnreadableColumn
}

func (t *unreadableTally) add(line int, vs []UnreadableValue) {
	for _, v := range vs {
		i := 0
		for i < len(t.cols) && t.cols[i].Column != v.Column {
			i++
		}
		if i == len(t.cols) {
			t.cols = append(t.cols, UnreadableColumn{Column: v.Column, Example: v.Value, Reason: v.Reason})
		}
		c := &t.cols[i]
		c.Count++
		if len(c.Lines) < MaxUnreadableLines {
			c.Lines = append(c.Lines, line)
		}
	}
}

func (t *unreadableTally) list() []UnreadableColumn {
	out := make([]UnreadableColumn, len(t.cols))
	for i, c := range t.cols {
		c.Lines = append([]int(nil), c.Lines...)
		out[i] = c
	}
	return out
}

// maybeGunzip returns a reader of r's content, decompressed when it starts
// with the gzip magic bytes, so .ndjson.gz, .csv.gz and gzip on stdin are
// read without a flag.
func maybeGunzip(r io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, err := br.Peek(2)
	if err != nil || magic[0] != 0x1f || magic[1] != 0x8b {
		return br, nil // short or empty input: the format reader reports it
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, fmt.Errorf("%w: gzip: %w", ErrInvalid, err)
	}
	zr.Multistream(true)
	return gzipContent{zr}, nil
}

// gzipContent marks a corrupt compressed stream as invalid input rather
// than an I/O failure.
type gzipContent struct{ zr *gzip.Reader }

func (g gzipContent) Read(p []byte) (int, error) {
	n, err := g.zr.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("%w: gzip: %w", ErrInvalid, err)
	}
	return n, err
}

// delimiterName names a field separator in messages.
func delimiterName(d rune) string {
	switch d {
	case '\t':
		return "tab"
	case ',':
		return "','"
	case ';':
		return "';'"
	}
	return fmt.Sprintf("%q", d)
}

// detectDelimiter picks the CSV separator from the header line: whichever
// of ',', ';' and tab occurs most outside quotes, ',' on a tie (and for a
// header of one column).
func detectDelimiter(header []byte) rune {
	if i := bytes.IndexByte(header, '\n'); i >= 0 {
		header = header[:i]
	}
	var n [3]int
	quoted := false
	for _, c := range header {
		switch {
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == ',':
			n[0]++
		case c == ';':
			n[1]++
		case c == '\t':
			n[2]++
		}
	}
	best, d := n[0], ','
	if n[1] > best {
		best, d = n[1], ';'
	}
	if n[2] > best {
		d = '\t'
	}
	return d
}

// columnAliases maps the column names other systems use (lower case, with
// '_' for any run of spaces, dashes or dots) to the canonical column. They
// are suggestions for --columns, never applied silently: a column called
// "dob" might hold something else, and the contract ignores unknown
// columns. record/README.md lists them.
var columnAliases = map[string]string{
	"patient_id": "id", "person_id": "id", "record_id": "id", "rec_id": "id", "unique_id": "id", "identifier": "id",
	"last_name": "family", "lastname": "family", "surname": "family", "family_name": "family", "lname": "family", "last": "family",
	"first_name": "given", "firstname": "given", "given_name": "given", "fname": "given", "forename": "given", "first": "given",
	"middle_name": "middle", "middlename": "middle", "middle_initial": "middle", "mi": "middle",
	"name_suffix": "suffix",
	"dob":         "birth_date", "date_of_birth": "birth_date", "birthdate": "birth_date", "birth_day": "birth_date", "birthday": "birth_date", "bdate": "birth_date",
	"gender": "sex", "administrative_gender": "sex",
	"address": "address_line", "address1": "address_line", "address_1": "address_line", "street": "address_line", "street_address": "address_line", "addr": "address_line", "line": "address_line",
	"town": "city", "suburb": "city", "locality": "city",
	"province": "state", "region": "state", "county": "state",
	"zip": "postal_code", "zipcode": "postal_code", "zip_code": "postal_code", "postcode": "postal_code", "postalcode": "postal_code", "post_code": "postal_code",
	"phone_number": "phone", "telephone": "phone", "tel": "phone", "mobile": "phone", "cell": "phone", "phone1": "phone",
	"email_address": "email", "e_mail": "email", "mail": "email",
	"social_security_number": "ssn", "soc_sec_id": "ssn", "soc_sec": "ssn",
	"nin": "national_id", "national_identifier": "national_id", "nid": "national_id",
	"medical_record_number": "mrn", "mrn_number": "mrn",
	"drivers_licence": "drivers_license", "driver_license": "drivers_license", "dl": "drivers_license", "license": "drivers_license",
	"passport_number": "passport",
}

// aliasKey folds a header name for columnAliases.
func aliasKey(h string) string {
	var b strings.Builder
	sep := false
	for _, r := range strings.ToLower(strings.TrimSpace(h)) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if sep && b.Len() > 0 {
				b.WriteByte('_')
			}
			sep = false
			b.WriteRune(r)
		} else {
			sep = true
		}
	}
	return b.String()
}

// unknownColumnsWarning says which header columns are ignored, next to the
// canonical names, with a ready --columns value for those that look like a
// canonical column. present holds the canonical columns already mapped.
func unknownColumnsWarning(unknown []string, present map[string]bool) string {
	if len(unknown) == 0 {
		return ""
	}
	var renames []string
	used := map[string]bool{}
	for _, u := range unknown {
		if c, ok := columnAliases[aliasKey(u)]; ok && !present[c] && !used[c] {
			used[c] = true
			renames = append(renames, c+"="+u)
		}
	}
	sort.Strings(renames)
	msg := fmt.Sprintf("ignoring %d unknown column(s): %s; the canonical columns are %s",
		len(unknown), strings.Join(unknown, ", "), strings.Join(canonicalColumns[:], ", "))
	if len(renames) > 0 {
		msg += fmt.Sprintf("; to use them give --columns %s", strings.Join(renames, ","))
	} else {
		msg += "; rename with --columns canonical=source,..."
	}
	return msg
}

// readSex reads the sex column as PatientFromColumns does, saying why a
// value it will leave out cannot be read.
func readSex(v string) (reason string) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "male", "m", "female", "f", "other", "o", "unknown", "u":
		return ""
	}
	return "not a sex code (want male, female, other, unknown or their initials); left out"
}
