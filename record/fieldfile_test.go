package record

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func gzipped(s string) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(s))
	zw.Close()
	return b.Bytes()
}

func csvReaderOf(t *testing.T, in string, opts ReaderOptions) *Reader {
	t.Helper()
	r, err := NewReader(strings.NewReader(in), FormatCSV, opts)
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	return r
}

func TestFieldDate(t *testing.T) {
	for _, c := range []struct {
		in    string
		order DateOrder
		out   string
		bad   string // part of the reason, "" for none
	}{
		{"1980-03-16", DateOrderUnknown, "1980-03-16", ""},
		{"19800316", DateOrderUnknown, "19800316", ""},
		{"1980/3/16", DateOrderUnknown, "1980/3/16", ""},
		{"1980-03", DateOrderUnknown, "1980-03", ""},
		{"1980", DateOrderUnknown, "1980", ""},
		{"1980-03-16T10:00:00Z", DateOrderUnknown, "1980-03-16T10:00:00Z", ""},
		{"1900-01-01", DateOrderUnknown, "1900-01-01", ""}, // the placeholder: read, compares as missing
		{"16.03.1980", DateOrderUnknown, "1980-03-16", ""},
		{"6.3.1980", DateOrderMDY, "1980-03-06", ""}, // dots are day first whatever the order
		{"03/16/1980", DateOrderUnknown, "03/16/1980", "--date-order"},
		{"16/03/1980", DateOrderUnknown, "16/03/1980", "--date-order"},
		{"03/16/1980", DateOrderMDY, "1980-03-16", ""},
		{"16/03/1980", DateOrderDMY, "1980-03-16", ""},
		{"03-04-1980", DateOrderDMY, "1980-04-03", ""},
		{"03/16/1980", DateOrderDMY, "1980-16-03", "not a calendar date"},
		{"30.02.1980", DateOrderUnknown, "1980-02-30", "not a calendar date"},
		{"1985-02-30", DateOrderUnknown, "1985-02-30", "not a calendar date"},
		{"yesterday", DateOrderMDY, "yesterday", "not a date layout"},
		{"03/16/80", DateOrderMDY, "03/16/80", "not a date layout"}, // two-digit years are never guessed
		{"1980-03/16", DateOrderUnknown, "1980-03/16", "not a date layout"},
		{"1980-", DateOrderUnknown, "1980-", "not a date layout"},
		{"", DateOrderUnknown, "", ""},
	} {
		out, reason := fieldDate(c.in, c.order)
		if out != c.out || (c.bad == "") != (reason == "") || !strings.Contains(reason, c.bad) {
			t.Errorf("fieldDate(%q, %v) = %q, %q; want %q, reason with %q", c.in, c.order, out, reason, c.out, c.bad)
		}
		if c.bad == "" && c.out != "" && c.in != "1900-01-01" {
			if d := ParseDate(out); !d.Valid {
				t.Errorf("fieldDate(%q) = %q, which ParseDate does not read", c.in, out)
			}
		}
	}
	for in, want := range map[string]DateOrder{"": DateOrderUnknown, "MDY": DateOrderMDY, "dmy": DateOrderDMY} {
		if got, err := ParseDateOrder(in); err != nil || got != want {
			t.Errorf("ParseDateOrder(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseDateOrder("ymd"); !errors.Is(err, ErrInvalid) {
		t.Errorf("ParseDateOrder(ymd) error %v", err)
	}
}

// A semicolon-separated export used to fail with "no id column" and no
// hint; it is now read, and the detected separator is reported.
func TestCSVDelimiterDetected(t *testing.T) {
	for _, c := range []struct {
		name, in, warn string
	}{
		{"semicolon", "id;family;given\na;Smith;John\nb;\"Le;Roux\";Ann\n", "';'"},
		{"tab", "id\tfamily\tgiven\na\tSmith\tJohn\nb\tLe;Roux\tAnn\n", "tab"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := csvReaderOf(t, c.in, ReaderOptions{})
			good, bad := readAll(t, r)
			if len(good) != 2 || len(bad) != 0 {
				t.Fatalf("%d good, %d bad", len(good), len(bad))
			}
			if f := *good[1].Patient.Name[0].Family; f != "Le;Roux" {
				t.Errorf("family %q", f)
			}
			w := strings.Join(r.Warnings(), "\n")
			if !strings.Contains(w, c.warn) || !strings.Contains(w, "--delimiter") {
				t.Errorf("warnings %q: want the detected separator %s and --delimiter", w, c.warn)
			}
		})
	}
	// A comma file says nothing about its separator.
	r := csvReaderOf(t, "id,family\na,Smith\n", ReaderOptions{})
	if w := r.Warnings(); len(w) != 0 {
		t.Errorf("warnings for a canonical file: %q", w)
	}
	// --delimiter overrides detection: a pipe file.
	r = csvReaderOf(t, "id|family|given\na|Smith|Jo,hn\n", ReaderOptions{Delimiter: '|'})
	good, _ := readAll(t, r)
	if len(good) != 1 || good[0].Patient.Name[0].Given[0] != "Jo,hn" {
		t.Fatalf("pipe file: %+v", good)
	}
	if _, err := NewReader(strings.NewReader("id\n"), FormatCSV, ReaderOptions{Delimiter: '"'}); !errors.Is(err, ErrInvalid) {
		t.Errorf("delimiter '\"': %v", err)
	}
}

func TestCSVNoIDColumnHints(t *testing.T) {
	for _, c := range []struct {
		in   string
		opts ReaderOptions
		want []string
	}{
		// Forced to ',' a semicolon file has one column: say so.
		{"id;family\na;b\n", ReaderOptions{Delimiter: ','}, []string{"no id column", "one column", "--delimiter"}},
		// Another system's id column: the exact --columns to give.
		{"patient_id,last_name\n1,x\n", ReaderOptions{}, []string{"no id column", "--columns id=patient_id"}},
		{"foo,bar\n1,x\n", ReaderOptions{}, []string{"no id column", "foo, bar", "the canonical columns are id, family"}},
	} {
		_, err := NewReader(strings.NewReader(c.in), FormatCSV, c.opts)
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("%q: error %v", c.in, err)
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q: error %q lacks %q", c.in, err, w)
			}
		}
	}
}

// Unknown columns used to be ignored silently: names and dates came out
// empty and the file still produced pairs.
func TestCSVUnknownColumnsWarning(t *testing.T) {
	r := csvReaderOf(t, "id,last_name,first_name,dob,favourite_colour\n1,Smith,John,1980-03-16,blue\n", ReaderOptions{})
	w := strings.Join(r.Warnings(), "\n")
	for _, want := range []string{
		"ignoring 4 unknown column(s): last_name, first_name, dob, favourite_colour",
		"canonical columns are id, family, given",
		"--columns birth_date=dob,family=last_name,given=first_name",
	} {
		if !strings.Contains(w, want) {
			t.Errorf("warning %q lacks %q", w, want)
		}
	}
	// Following the advice reads the names, and warns only of the rest.
	cols := map[string]string{"family": "last_name", "given": "first_name", "birth_date": "dob"}
	r = csvReaderOf(t, "id,last_name,first_name,dob,favourite_colour\n1,Smith,John,1980-03-16,blue\n", ReaderOptions{Columns: cols})
	good, _ := readAll(t, r)
	if len(good) != 1 || *good[0].Patient.Name[0].Family != "Smith" || *good[0].Patient.BirthDate != "1980-03-16" {
		t.Fatalf("renamed: %s", good[0].JSON)
	}
	if w := strings.Join(r.Warnings(), "\n"); !strings.Contains(w, "favourite_colour") || strings.Contains(w, "--columns family") {
		t.Errorf("warning after renaming: %q", w)
	}
}

func TestCSVUnreadableValues(t *testing.T) {
	in := "id,birth_date,sex\n" +
		"a,1980-03-16,m\n" +
		"b,03/16/1980,f\n" +
		"c,16.03.1980,k\n" +
		"d,yesterday,\n" +
		"e,04/01/1975,x\n" +
		"f,1985-02-30,female\n"
	r := csvReaderOf(t, in, ReaderOptions{})
	good, bad := readAll(t, r)
	if len(good) != 6 || len(bad) != 0 {
		t.Fatalf("%d good, %d bad: unreadable values must not drop records", len(good), len(bad))
	}
	if bd := *good[2].Patient.BirthDate; bd != "1980-03-16" {
		t.Errorf("16.03.1980 stored as %q", bd)
	}
	if bd := *good[1].Patient.BirthDate; bd != "03/16/1980" {
		t.Errorf("03/16/1980 without an order stored as %q, want it kept as written", bd)
	}
	if good[2].Patient.Gender != nil {
		t.Errorf("sex k read as %v", *good[2].Patient.Gender)
	}
	if len(good[1].Unreadable) != 1 || good[1].Unreadable[0].Column != "birth_date" {
		t.Errorf("line 3 unreadable %+v", good[1].Unreadable)
	}
	got := fmt.Sprint(r.Unreadable())
	u := r.Unreadable()
	if len(u) != 2 || u[0].Column != "birth_date" || u[0].Count != 4 || fmt.Sprint(u[0].Lines) != "[3 5 6 7]" ||
		u[1].Column != "sex" || u[1].Count != 2 || fmt.Sprint(u[1].Lines) != "[4 6]" {
		t.Fatalf("unreadable %s", got)
	}
	if s := u[0].String(); !strings.Contains(s, `birth_date: 4 values could not be read, e.g. "03/16/1980"`) ||
		!strings.Contains(s, "--date-order") || !strings.Contains(s, "line 3, 5, 6, 7") {
		t.Errorf("summary %q", s)
	}

	// With the order given, the US dates are read.
	r = csvReaderOf(t, in, ReaderOptions{DateOrder: DateOrderMDY})
	good, _ = readAll(t, r)
	if bd := *good[1].Patient.BirthDate; bd != "1980-03-16" {
		t.Errorf("03/16/1980 with mdy stored as %q", bd)
	}
	if u := r.Unreadable(); len(u) != 2 || u[1].Column != "birth_date" || u[1].Count != 2 || fmt.Sprint(u[1].Lines) != "[5 7]" {
		t.Errorf("with mdy: %v", u)
	}
}

func TestUnreadableLinesCapped(t *testing.T) {
	var b strings.Builder
	b.WriteString("id,birth_date\n")
	for i := range 20 {
		fmt.Fprintf(&b, "%d,never\n", i)
	}
	r := csvReaderOf(t, b.String(), ReaderOptions{})
	readAll(t, r)
	u := r.Unreadable()
	if len(u) != 1 || u[0].Count != 20 || len(u[0].Lines) != MaxUnreadableLines || !strings.HasSuffix(u[0].String(), ", …") {
		t.Fatalf("%v", u)
	}
}

func TestFHIRBirthDateUnreadable(t *testing.T) {
	in := `{"resourceType":"Patient","id":"a","birthDate":"1980-03-16"}` + "\n" +
		`{"resourceType":"Patient","id":"b","birthDate":"16.03.1980"}` + "\n"
	r, err := NewReader(strings.NewReader(in), FormatNDJSON, ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	good, _ := readAll(t, r)
	if len(good) != 2 || len(good[0].Unreadable) != 0 || len(good[1].Unreadable) != 1 {
		t.Fatalf("%+v", good)
	}
	if u := r.Unreadable(); len(u) != 1 || u[0].Column != "birthDate" || u[0].Lines[0] != 2 || !strings.Contains(u[0].Reason, "FHIR") {
		t.Errorf("%v", u)
	}
}

// .ndjson.gz used to be refused; gzip is now read in every format,
// whatever the file is called.
func TestGzipInput(t *testing.T) {
	for _, c := range []struct {
		f  Format
		in string
	}{
		{FormatNDJSON, `{"resourceType":"Patient","id":"a"}` + "\n" + `{"resourceType":"Patient","id":"b"}` + "\n"},
		{FormatCSV, "id,family\na,Smith\nb,Jones\n"},
		{FormatJSON, `{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient","id":"a"}},{"resource":{"resourceType":"Patient","id":"b"}}]}`},
	} {
		r, err := NewReader(bytes.NewReader(gzipped(c.in)), c.f, ReaderOptions{})
		if err != nil {
			t.Fatalf("%v: %v", c.f, err)
		}
		good, bad := readAll(t, r)
		if len(good) != 2 || len(bad) != 0 || *good[1].Patient.Id != "b" {
			t.Errorf("%v: %d good, %d bad", c.f, len(good), len(bad))
		}
	}
	// A corrupt stream is invalid input, not a crash.
	data := gzipped("id,family\na,Smith\n")
	data = append(data[:12:12], bytes.Repeat([]byte{0xff}, 20)...)
	r, err := NewReader(bytes.NewReader(data), FormatCSV, ReaderOptions{})
	if err == nil {
		_, err = r.Next()
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("corrupt gzip: %v", err)
	}
}

// FuzzFieldDate: any value either reads as a date ParseDate agrees with, or
// says why not; it never panics, and a rewritten value is YYYY-MM-DD.
func FuzzFieldDate(f *testing.F) {
	for _, s := range []string{"1980-03-16", "16.03.1980", "03/16/1980", "19800316", "1900-01-01", "30.02.1980", "x", "1/2/3", "1980-T"} {
		f.Add(s, uint8(0))
	}
	f.Fuzz(func(t *testing.T, s string, o uint8) {
		out, reason := fieldDate(s, DateOrder(o%3))
		trimmed := strings.TrimSpace(s)
		if out != trimmed && (len(out) != 10 || out[4] != '-' || out[7] != '-') {
			t.Fatalf("fieldDate(%q) rewrote it as %q", s, out)
		}
		if reason == "" && trimmed != "" && !isPlaceholderDate(out) && !ParseDate(out).Valid {
			t.Fatalf("fieldDate(%q) = %q without a reason, but ParseDate does not read it", s, out)
		}
	})
}
