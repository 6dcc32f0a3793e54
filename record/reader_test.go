package record

import (
	"bytes"
	"errors"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
)

// readAll drains r, returning the good items and the bad ones.
func readAll(t testing.TB, r *Reader) (good, bad []Item) {
	t.Helper()
	for {
		it, err := r.Next()
		if err == io.EOF {
			return good, bad
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		if it.Err != nil {
			if it.Patient != nil {
				t.Errorf("bad item with a patient: %+v", it)
			}
			bad = append(bad, it)
			continue
		}
		if it.Patient == nil || len(it.JSON) == 0 {
			t.Fatalf("good item without patient or JSON: %+v", it)
		}
		good = append(good, it)
	}
}

func TestFormats(t *testing.T) {
	for path, want := range map[string]Format{
		"a.ndjson": FormatNDJSON, "dir.x/B.NDJSON": FormatNDJSON, "a.jsonl": FormatNDJSON,
		"a.json": FormatJSON, "a.csv": FormatCSV, "a.Csv": FormatCSV,
		"a.csv.gz": FormatCSV, "a.ndjson.GZ": FormatNDJSON, "a.json.gzip": FormatJSON,
	} {
		got, err := FormatFromPath(path)
		if err != nil || got != want {
			t.Errorf("FormatFromPath(%q) = %v, %v; want %v", path, got, err, want)
		}
		if back, err := ParseFormat(got.String()); err != nil || back != got {
			t.Errorf("ParseFormat(%q) = %v, %v", got.String(), back, err)
		}
	}
	for _, path := range []string{"a.txt", "a", "-", "a.gz", "a.txt.gz"} {
		if _, err := FormatFromPath(path); !errors.Is(err, ErrInvalid) {
			t.Errorf("FormatFromPath(%q) error %v, want ErrInvalid", path, err)
		}
	}
	if _, err := ParseFormat("xml"); !errors.Is(err, ErrInvalid) {
		t.Errorf("ParseFormat(xml) error %v", err)
	}
	if _, err := NewReader(strings.NewReader(""), Format(99), ReaderOptions{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("NewReader(unknown format) error %v", err)
	}
}

func TestNDJSONReader(t *testing.T) {
	in := "\ufeff" + `{"resourceType":"Patient","id":"a"}` + "\n" +
		"\n   \n" + // blank lines skipped, but counted
		`{"resourceType":"Observation","id":"o"}` + "\r\n" +
		`not json` + "\n" +
		`{"resourceType":"Patient","id":"b","name":[{"family":"Zed"}]}` // no final newline
	r, err := NewReader(strings.NewReader(in), FormatNDJSON, ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	good, bad := readAll(t, r)
	if len(good) != 2 || len(bad) != 2 {
		t.Fatalf("%d good, %d bad; want 2, 2", len(good), len(bad))
	}
	if good[0].Line != 1 || *good[0].Patient.Id != "a" || string(good[0].JSON) != `{"resourceType":"Patient","id":"a"}` {
		t.Errorf("first item %d %s", good[0].Line, good[0].JSON)
	}
	if good[1].Line != 6 || *good[1].Patient.Id != "b" {
		t.Errorf("last item on line %d", good[1].Line)
	}
	if bad[0].Line != 4 || !strings.Contains(bad[0].Err.Error(), "line 4") || !strings.Contains(bad[0].Err.Error(), "Observation") {
		t.Errorf("bad item: %d %v", bad[0].Line, bad[0].Err)
	}
	if bad[1].Line != 5 || !errors.Is(bad[1].Err, ErrInvalid) {
		t.Errorf("bad item: %d %v", bad[1].Line, bad[1].Err)
	}
	// Returned JSON must not alias the reader's buffer.
	if !bytes.Contains(good[1].JSON, []byte("Zed")) || !bytes.Contains(good[0].JSON, []byte(`"a"`)) {
		t.Error("item JSON changed by later reads")
	}
}

func TestNDJSONLongLines(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 30 MiB")
	}
	// A Patient line just under the limit is read; one over it is a bad
	// record and the next line is still read.
	pad := func(n int) string {
		return `{"resourceType":"Patient","id":"big","text":{"status":"generated","div":"` + strings.Repeat("x", n) + `"}}`
	}
	big := pad(MaxLineSize - 200)
	huge := pad(MaxLineSize + 10)
	in := big + "\n" + huge + "\n" + `{"resourceType":"Patient","id":"after"}` + "\n"
	r, _ := NewReader(strings.NewReader(in), FormatNDJSON, ReaderOptions{})
	good, bad := readAll(t, r)
	if len(good) != 2 || len(bad) != 1 || bad[0].Line != 2 || good[1].Line != 3 || *good[1].Patient.Id != "after" {
		t.Fatalf("good %d bad %d (%v)", len(good), len(bad), bad)
	}
}

type failingReader struct{ after int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.after <= 0 {
		return 0, errors.New("disk on fire")
	}
	n := copy(p, strings.Repeat("{}\n", f.after)[:min(len(p), 3*f.after)])
	f.after -= n / 3
	return n, nil
}

func TestReaderIOError(t *testing.T) {
	for _, f := range []Format{FormatNDJSON, FormatJSON} {
		r, err := NewReader(&failingReader{after: 2}, f, ReaderOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var last error
		for i := 0; i < 10; i++ {
			if _, last = r.Next(); last != nil {
				break
			}
		}
		if last == nil || last == io.EOF || !strings.Contains(last.Error(), "disk on fire") {
			t.Errorf("%v: error %v, want the I/O error", f, last)
		}
	}
}

func TestJSONReader(t *testing.T) {
	bundle := `{"resourceType":"Bundle","type":"collection","entry":[
	  {"resource":{"resourceType":"Patient","id":"a"}},
	  {"resource":{"resourceType":"Observation","id":"o"}},
	  {"fullUrl":"urn:x"},
	  {"resource":{"resourceType":"Patient","id":"b","gender":"nope"}},
	  {"resource":{"resourceType":"Patient","id":"c"}}]}`
	r, _ := NewReader(strings.NewReader(bundle), FormatJSON, ReaderOptions{})
	good, bad := readAll(t, r)
	if len(good) != 2 || good[0].Line != 1 || good[1].Line != 5 || *good[1].Patient.Id != "c" {
		t.Fatalf("good items %+v", good)
	}
	if len(bad) != 3 || bad[0].Line != 2 || bad[1].Line != 3 || bad[2].Line != 4 {
		t.Fatalf("bad items %+v", bad)
	}
	for _, b := range bad {
		if !errors.Is(b.Err, ErrInvalid) || !strings.Contains(b.Err.Error(), "entry ") {
			t.Errorf("bad item error %v", b.Err)
		}
	}

	r, _ = NewReader(strings.NewReader(`{"resourceType":"Patient","id":"solo"}`), FormatJSON, ReaderOptions{})
	good, bad = readAll(t, r)
	if len(good) != 1 || len(bad) != 0 || *good[0].Patient.Id != "solo" {
		t.Fatalf("single patient: %v %v", good, bad)
	}
	for _, in := range []string{`{"resourceType":"Observation"}`, `[1,2]`, `{"resourceType":"Bundle","entry":{}}`, ``, `{`} {
		r, _ = NewReader(strings.NewReader(in), FormatJSON, ReaderOptions{})
		good, bad = readAll(t, r)
		if len(good) != 0 || len(bad) != 1 || !errors.Is(bad[0].Err, ErrInvalid) {
			t.Errorf("%q: %d good, bad %v", in, len(good), bad)
		}
	}
}

func TestCSVReader(t *testing.T) {
	in := "\ufeffID,Family,given,birth_date,sex,extra\n" +
		"a1,Smith,John,1985-02-03,male,x\n" +
		"\n" +
		",NoId,Ann,,,\n" +
		"a3,Jones,\"Mary\nAnn\",1990,F,x\n" +
		"a4,Short\n" +
		"a5,Bad,Sex,,Q\n" +
		"a6,\"bad\"quote,x,,,\n" +
		"a7,Last,Lu,2001-01-01,f,\n"
	r, err := NewReader(strings.NewReader(in), FormatCSV, ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	good, bad := readAll(t, r)
	var goodIDs []string
	var goodLines, badLines []int
	for _, g := range good {
		goodIDs = append(goodIDs, *g.Patient.Id)
		goodLines = append(goodLines, g.Line)
	}
	for _, b := range bad {
		badLines = append(badLines, b.Line)
	}
	if strings.Join(goodIDs, ",") != "a1,a3,a7" || !slices.Equal(goodLines, []int{2, 5, 10}) || !slices.Equal(badLines, []int{4, 7, 8, 9}) {
		t.Fatalf("good %v on %v, bad on %v (%v)", goodIDs, goodLines, badLines, bad)
	}
	p, _ := DecodePatient(good[0].JSON)
	if p == nil || *p.Name[0].Family != "Smith" || *p.BirthDate != "1985-02-03" {
		t.Errorf("CSV item JSON does not decode to the patient: %s", good[0].JSON)
	}
}

func TestCSVColumns(t *testing.T) {
	in := "patient_id,surname,family\nx1,Smith,Ignored\n"
	r, err := NewReader(strings.NewReader(in), FormatCSV, ReaderOptions{Columns: map[string]string{"id": "Patient_ID", "family": "surname"}})
	if err != nil {
		t.Fatal(err)
	}
	good, _ := readAll(t, r)
	if len(good) != 1 || *good[0].Patient.Id != "x1" || *good[0].Patient.Name[0].Family != "Smith" {
		t.Fatalf("renamed columns not used: %+v", good)
	}

	for name, c := range map[string]struct {
		in   string
		cols map[string]string
	}{
		"no id column":        {"family,given\nA,B\n", nil},
		"empty input":         {"", nil},
		"unknown canonical":   {"id\n1\n", map[string]string{"surname": "id"}},
		"missing source":      {"id\n1\n", map[string]string{"family": "nope"}},
		"id renamed away":     {"id,pid\n1,2\n", map[string]string{"mrn": "id"}},
		"broken header quote": {"\"id,family\n", nil},
	} {
		if _, err := NewReader(strings.NewReader(c.in), FormatCSV, ReaderOptions{Columns: c.cols}); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: error %v, want ErrInvalid", name, err)
		}
	}
}

// The shared labelled datasets and the demo data must read and normalize
// without a bad record.
func TestReadDatasets(t *testing.T) {
	paths := []string{moduleRoot(t) + "/testdata/demo/patients.ndjson"}
	for _, name := range []string{"febrl1.csv", "febrl3.csv", "opencr_uganda.csv", "splink_fake_1000.csv"} {
		paths = append(paths, datasetPath(t, name))
	}
	for _, path := range paths {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		format, err := FormatFromPath(path)
		if err != nil {
			t.Fatal(err)
		}
		r, err := NewReader(f, format, ReaderOptions{})
		if err != nil {
			t.Fatal(err)
		}
		good, bad := readAll(t, r)
		f.Close()
		if len(bad) > 0 {
			t.Errorf("%s: %d bad records, first: %v", path, len(bad), bad[0].Err)
		}
		named, dated := 0, 0
		for _, it := range good {
			rec := FromFHIR(it.Patient)
			if rec.ID == "" {
				t.Fatalf("%s line %d: no id", path, it.Line)
			}
			if rec.Family != "" || rec.Given != "" {
				named++
			}
			if rec.BirthDate.Year != 0 {
				dated++
			}
		}
		// Nearly every record in these sets has a name and a birth date.
		if len(good) < 1000 || named < len(good)*9/10 || dated < len(good)*8/10 {
			t.Errorf("%s: %d records, %d named, %d dated", path, len(good), named, dated)
		}
		t.Logf("%s: %d records, %d named, %d dated", path, len(good), named, dated)
	}
}
