package record

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// Format is an input file format.
type Format int

// Input formats.
const (
	// FormatNDJSON is one FHIR Patient per line (FHIR Bulk Data export).
	FormatNDJSON Format = iota + 1
	// FormatJSON is a FHIR Bundle whose entries are Patients, or one Patient.
	FormatJSON
	// FormatCSV is a header row with the canonical columns (CONTRACT.md).
	FormatCSV
)

// String returns the format's name as --format takes it.
func (f Format) String() string {
	switch f {
	case FormatNDJSON:
		return "ndjson"
	case FormatJSON:
		return "json"
	case FormatCSV:
		return "csv"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// ParseFormat parses a format name: ndjson, json or csv (any case).
func ParseFormat(name string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "ndjson", "jsonl":
		return FormatNDJSON, nil
	case "json":
		return FormatJSON, nil
	case "csv":
		return FormatCSV, nil
	}
	return 0, fmt.Errorf("%w: unknown format %q (want ndjson, json or csv)", ErrInvalid, name)
}

// FormatFromPath tells the format of a file from its extension: .ndjson
// (or .jsonl), .json, .csv, each optionally followed by .gz (NewReader
// decompresses gzip whatever the name).
func FormatFromPath(path string) (Format, error) {
	ext := strings.ToLower(filepath.Ext(path))
	if ext == ".gz" || ext == ".gzip" {
		ext = strings.ToLower(filepath.Ext(path[:len(path)-len(ext)]))
	}
	if ext == "" {
		return 0, fmt.Errorf("%w: cannot tell the format of %q: no extension (want .ndjson, .json or .csv)", ErrInvalid, path)
	}
	f, err := ParseFormat(ext[1:])
	if err != nil {
		return 0, fmt.Errorf("%w: cannot tell the format of %q (want .ndjson, .json or .csv)", ErrInvalid, path)
	}
	return f, nil
}

// MaxLineSize is the longest NDJSON line or CSV record a Reader accepts;
// a longer one is reported as a bad record and skipped.
const MaxLineSize = 16 << 20

// ReaderOptions configure a Reader.
type ReaderOptions struct {
	// Columns renames CSV columns: canonical name → source column name (the
	// --columns flag). Default: none; source columns are matched to
	// canonical names case-insensitively.
	Columns map[string]string
	// Delimiter separates CSV fields (the --delimiter flag). Default (0):
	// detected from the header, ',' unless ';' or tab occurs more often;
	// a detected separator other than ',' is reported in Warnings.
	Delimiter rune
	// DateOrder reads CSV birth dates written MM/DD/YYYY or DD/MM/YYYY.
	// Default (DateOrderUnknown): such dates are unreadable and reported.
	DateOrder DateOrder
}

// Item is one record read from input.
type Item struct {
	// Line is the 1-based line of the record (NDJSON, CSV) or its 1-based
	// entry index (Bundle).
	Line int
	// Patient is the decoded Patient; nil when Err is set.
	Patient *fhir.Patient
	// JSON is the Patient's JSON: the original bytes for NDJSON and JSON
	// input, marshalled for CSV.
	JSON []byte
	// Err, when not nil, says why this record is bad (it includes the line
	// or entry). The caller reports it and skips the record; the Reader goes
	// on.
	Err error
	// Unreadable lists values of a good record that could not be read
	// (see UnreadableValue); --strict callers treat the record as bad.
	Unreadable []UnreadableValue
}

// Reader reads Patients from an input file. NDJSON and CSV are streamed;
// a JSON Bundle is decoded whole. Not safe for concurrent use.
type Reader struct {
	next     func() (Item, error)
	warnings []string
	tally    unreadableTally
}

// NewReader returns a Reader of r in format f. For CSV it reads the header
// now: a header without an id column (after renaming) is an error, as is a
// --columns mapping that names an unknown canonical column or a source
// column the header lacks.
//
// Input compressed with gzip is decompressed, whatever the format.
func NewReader(r io.Reader, f Format, opts ReaderOptions) (*Reader, error) {
	if f != FormatNDJSON && f != FormatJSON && f != FormatCSV {
		return nil, fmt.Errorf("%w: unknown format %d", ErrInvalid, int(f))
	}
	r, err := maybeGunzip(r)
	if err != nil {
		return nil, err
	}
	switch f {
	case FormatNDJSON:
		nr := &ndjsonReader{br: bufio.NewReaderSize(r, 64<<10)}
		return &Reader{next: fhirChecked(nr.next)}, nil
	case FormatJSON:
		jr := &jsonReader{r: r}
		return &Reader{next: fhirChecked(jr.next)}, nil
	default:
		cr, err := newCSVReader(r, opts)
		if err != nil {
			return nil, err
		}
		return &Reader{next: cr.next, warnings: cr.warnings}, nil
	}
}

// Next returns the next record, or io.EOF after the last. A bad record is
// an Item with Err set and a nil error; an error is returned only for I/O
// failures, after which the Reader must not be used.
func (r *Reader) Next() (Item, error) {
	it, err := r.next()
	if err == nil && it.Err == nil && len(it.Unreadable) > 0 {
		r.tally.add(it.Line, it.Unreadable)
	}
	return it, err
}

// Warnings are what the Reader noticed about the input as a whole when it
// was opened: a detected CSV separator, ignored columns. Callers show them
// to the user.
func (r *Reader) Warnings() []string { return append([]string(nil), r.warnings...) }

// Unreadable sums up the unreadable values of the good records read so
// far, per column (see Item.Unreadable).
func (r *Reader) Unreadable() []UnreadableColumn { return r.tally.list() }

// fhirChecked wraps a FHIR reader so that a birthDate outside FHIR's date
// grammar is reported as unreadable (it is kept as written).
func fhirChecked(next func() (Item, error)) func() (Item, error) {
	return func() (Item, error) {
		it, err := next()
		if err != nil || it.Err != nil || it.Patient == nil || it.Patient.BirthDate == nil {
			return it, err
		}
		v := *it.Patient.BirthDate
		out, reason := fieldDate(v, DateOrderUnknown)
		if reason == "" && out != strings.TrimSpace(v) {
			reason = "not FHIR's date grammar (YYYY, YYYY-MM, YYYY-MM-DD)"
		}
		if reason != "" {
			it.Unreadable = append(it.Unreadable, UnreadableValue{Column: "birthDate", Value: v, Reason: reason})
		}
		return it, nil
	}
}

// badItem builds the Item of a bad record.
func badItem(line int, what string, err error) Item {
	return Item{Line: line, Err: fmt.Errorf("%s %d: %w", what, line, err)}
}

// ndjsonReader streams lines, each up to MaxLineSize.
type ndjsonReader struct {
	br   *bufio.Reader
	line int
	buf  []byte
	done bool
}

func (n *ndjsonReader) next() (Item, error) {
	for !n.done {
		n.line++
		n.buf = n.buf[:0]
		tooLong := false
		for {
			chunk, err := n.br.ReadSlice('\n')
			if !tooLong {
				if len(n.buf)+len(chunk) > MaxLineSize+1 {
					tooLong, n.buf = true, n.buf[:0]
				} else {
					n.buf = append(n.buf, chunk...)
				}
			}
			if err == bufio.ErrBufferFull {
				continue
			}
			if err == io.EOF {
				n.done = true
				break
			}
			if err != nil {
				return Item{}, fmt.Errorf("record: read line %d: %w", n.line, err)
			}
			break
		}
		if tooLong {
			return badItem(n.line, "line", fmt.Errorf("%w: line longer than %d bytes", ErrInvalid, MaxLineSize)), nil
		}
		data := n.buf
		if n.line == 1 {
			data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
		}
		data = bytes.TrimSpace(data)
		if len(data) == 0 {
			continue
		}
		js := bytes.Clone(data)
		p, err := DecodePatient(js)
		if err != nil {
			return badItem(n.line, "line", err), nil
		}
		return Item{Line: n.line, Patient: p, JSON: js}, nil
	}
	return Item{}, io.EOF
}

// jsonReader decodes a whole Bundle or Patient on the first call.
type jsonReader struct {
	r       io.Reader
	items   []Item
	started bool
}

func (j *jsonReader) next() (Item, error) {
	if !j.started {
		j.started = true
		data, err := io.ReadAll(j.r)
		if err != nil {
			return Item{}, fmt.Errorf("record: read: %w", err)
		}
		j.items = decodeJSONFile(data)
	}
	if len(j.items) == 0 {
		return Item{}, io.EOF
	}
	it := j.items[0]
	j.items[0] = Item{}
	j.items = j.items[1:]
	return it, nil
}

// decodeJSONFile splits a Bundle into one Item per entry, or returns the
// one Patient. A file that is neither is one bad record.
func decodeJSONFile(data []byte) []Item {
	data = bytes.TrimSpace(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")))
	var head struct {
		ResourceType string            `json:"resourceType"`
		Entry        []json.RawMessage `json:"entry"`
	}
	if len(data) == 0 || data[0] != '{' {
		_, err := DecodePatient(data)
		return []Item{badItem(1, "entry", err)}
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return []Item{badItem(1, "entry", fmt.Errorf("%w: %w", ErrInvalid, err))}
	}
	switch head.ResourceType {
	case "Patient":
		p, err := DecodePatient(data)
		if err != nil {
			return []Item{badItem(1, "entry", err)}
		}
		return []Item{{Line: 1, Patient: p, JSON: data}}
	case "Bundle":
	default:
		return []Item{badItem(1, "entry", fmt.Errorf("%w: resourceType is %q, want \"Bundle\" or \"Patient\"", ErrInvalid, head.ResourceType))}
	}
	items := make([]Item, 0, len(head.Entry))
	for i, raw := range head.Entry {
		var e struct {
			Resource json.RawMessage `json:"resource"`
		}
		if err := json.Unmarshal(raw, &e); err != nil {
			items = append(items, badItem(i+1, "entry", fmt.Errorf("%w: %w", ErrInvalid, err)))
			continue
		}
		if len(e.Resource) == 0 || string(e.Resource) == "null" {
			items = append(items, badItem(i+1, "entry", fmt.Errorf("%w: entry has no resource", ErrInvalid)))
			continue
		}
		p, err := DecodePatient(e.Resource)
		if err != nil {
			items = append(items, badItem(i+1, "entry", err))
			continue
		}
		items = append(items, Item{Line: i + 1, Patient: p, JSON: []byte(e.Resource)})
	}
	return items
}

// csvReader streams CSV rows into Patients.
type csvReader struct {
	cr *csv.Reader
	// names holds the canonical column name of each source column, "" for
	// columns that are ignored.
	names     []string
	cols      map[string]string
	header    int
	dateOrder DateOrder
	warnings  []string
}

func newCSVReader(r io.Reader, opts ReaderOptions) (*csvReader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	delim := opts.Delimiter
	var warnings []string
	if delim == 0 {
		delim = detectDelimiter(peekLine(br))
		if delim != ',' {
			warnings = append(warnings, fmt.Sprintf("fields are separated by %s (detected from the header; --delimiter sets it)", delimiterName(delim)))
		}
	}
	if delim == '"' || delim == '\r' || delim == '\n' || delim == 0xFFFD {
		return nil, fmt.Errorf("%w: csv: %s cannot separate fields", ErrInvalid, delimiterName(delim))
	}
	cr := csv.NewReader(newLimitedLineReader(br))
	cr.Comma = delim
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%w: csv: empty input, want a header row with an id column", ErrInvalid)
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("%w: csv header: %w", ErrInvalid, err)
		}
		return nil, fmt.Errorf("record: read csv header: %w", err)
	}
	header = slices.Clone(header)
	names, err := csvColumnNames(header, opts.Columns)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(names, "id") {
		return nil, noIDError(header, names, delim)
	}
	if w := unknownColumnsWarning(unknownColumns(header, names)); w != "" {
		warnings = append(warnings, w)
	}
	line, _ := cr.FieldPos(0)
	return &csvReader{cr: cr, names: names, cols: make(map[string]string, len(names)), header: line, dateOrder: opts.DateOrder, warnings: warnings}, nil
}

// peekLine returns the start of the input up to its first newline (at most
// 64 KiB) without consuming it.
func peekLine(br *bufio.Reader) []byte {
	for n := 512; ; n *= 2 {
		b, err := br.Peek(min(n, br.Size()))
		if bytes.IndexByte(b, '\n') >= 0 || err != nil || n >= br.Size() {
			return b
		}
	}
}

// csvColumnNames maps each header column to its canonical name ("" when
// ignored): same name in any case, or a --columns rename.
func csvColumnNames(header []string, renames map[string]string) ([]string, error) {
	source := make(map[string]int, len(header))
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		header[i] = strings.TrimSpace(strings.TrimPrefix(header[i], "\ufeff"))
		if _, dup := source[h]; !dup {
			source[h] = i
		}
	}
	names := make([]string, len(header))
	for i, h := range header {
		h = strings.ToLower(h)
		if IsColumn(h) && source[h] == i {
			names[i] = h
		}
	}
	canon := make([]string, 0, len(renames))
	for c := range renames {
		canon = append(canon, c)
	}
	sort.Strings(canon) // one error, the same every run
	for _, c := range canon {
		src := renames[c]
		if !IsColumn(c) {
			return nil, fmt.Errorf("%w: --columns: %q is not a canonical column (want one of %s)", ErrInvalid, c, strings.Join(canonicalColumns[:], ", "))
		}
		i, ok := source[strings.ToLower(strings.TrimSpace(src))]
		if !ok {
			return nil, fmt.Errorf("%w: --columns: source column %q for %s is not in the header (%s)", ErrInvalid, src, c, strings.Join(header, ", "))
		}
		// The renamed column replaces any column already called c.
		for j, n := range names {
			if n == c {
				names[j] = ""
			}
		}
		names[i] = c
	}
	return names, nil
}

// unknownColumns lists the header columns that map to no canonical column.
func unknownColumns(header, names []string) (unknown []string, present map[string]bool) {
	present = map[string]bool{}
	for i, n := range names {
		if n != "" {
			present[n] = true
		} else if header[i] != "" {
			unknown = append(unknown, header[i])
		}
	}
	return unknown, present
}

// noIDError explains a header without an id column, with what would fix
// it: another separator, or a rename.
func noIDError(header, names []string, delim rune) error {
	msg := fmt.Sprintf("csv header has no id column (header: %s)", strings.Join(header, string(delim)))
	if len(header) == 1 {
		msg += fmt.Sprintf("; split at %s it has one column: give --delimiter if fields are separated by something else", delimiterName(delim))
	}
	unknown, present := unknownColumns(header, names)
	for _, u := range unknown {
		if columnAliases[aliasKey(u)] == "id" {
			return fmt.Errorf("%w: %s; to use %q as the id give --columns id=%s", ErrInvalid, msg, u, u)
		}
	}
	if w := unknownColumnsWarning(unknown, present); w != "" {
		msg += "; " + w
	}
	return fmt.Errorf("%w: %s", ErrInvalid, msg)
}

func (c *csvReader) next() (Item, error) {
	for {
		row, err := c.cr.Read()
		if err == io.EOF {
			return Item{}, io.EOF
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return badItem(pe.StartLine, "line", fmt.Errorf("%w: %w", ErrInvalid, pe.Err)), nil
			}
			var tl *lineTooLongError
			if errors.As(err, &tl) {
				return Item{}, fmt.Errorf("record: csv: %w", err)
			}
			return Item{}, fmt.Errorf("record: read csv: %w", err)
		}
		line, _ := c.cr.FieldPos(0)
		if len(row) == 1 && strings.TrimSpace(row[0]) == "" {
			continue // a blank line inside quotes-free CSV
		}
		if len(row) != len(c.names) {
			return badItem(line, "line", fmt.Errorf("%w: %d fields, the header has %d", ErrInvalid, len(row), len(c.names))), nil
		}
		clear(c.cols)
		for i, v := range row {
			if c.names[i] != "" {
				c.cols[c.names[i]] = v
			}
		}
		unreadable := c.readValues()
		p, err := PatientFromColumns(c.cols)
		if err != nil {
			return badItem(line, "line", err), nil
		}
		js, err := json.Marshal(p)
		if err != nil {
			return badItem(line, "line", fmt.Errorf("%w: %w", ErrInvalid, err)), nil
		}
		return Item{Line: line, Patient: p, JSON: js, Unreadable: unreadable}, nil
	}
}

// readValues rewrites the birth date into the form ParseDate reads and
// lists the values that cannot be read.
func (c *csvReader) readValues() []UnreadableValue {
	var out []UnreadableValue
	if v, ok := c.cols["birth_date"]; ok {
		d, reason := fieldDate(v, c.dateOrder)
		c.cols["birth_date"] = d
		if reason != "" {
			out = append(out, UnreadableValue{Column: "birth_date", Value: strings.TrimSpace(v), Reason: reason})
		}
	}
	if v := c.cols["sex"]; v != "" {
		if reason := readSex(v); reason != "" {
			out = append(out, UnreadableValue{Column: "sex", Value: strings.TrimSpace(v), Reason: reason})
		}
	}
	return out
}

// lineTooLongError stops a CSV read at a line longer than MaxLineSize: the
// csv package cannot skip one, so it is fatal rather than a bad record.
type lineTooLongError struct{ max int }

func (e *lineTooLongError) Error() string {
	return fmt.Sprintf("line longer than %d bytes", e.max)
}

// limitedLineReader fails once a line exceeds max bytes, so that a file
// without newlines cannot make the csv package buffer it whole.
type limitedLineReader struct {
	r       io.Reader
	max     int
	current int // bytes since the last '\n'
}

func newLimitedLineReader(r io.Reader) *limitedLineReader {
	return &limitedLineReader{r: r, max: MaxLineSize}
}

func (l *limitedLineReader) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	for _, c := range p[:n] {
		if c == '\n' {
			l.current = 0
		} else if l.current++; l.current > l.max {
			return 0, &lineTooLongError{max: l.max}
		}
	}
	return n, err
}
