package record

import (
	"bytes"
	"os"
	"testing"
)

// benchRaw is a typical record: every field present, a little punctuation.
func benchRaw() Raw {
	return Raw{
		Family: "Drouxovich", Given: []string{"George", "A"}, Suffix: []string{"Jr."},
		BirthDate: "1971-11-17", Sex: "male",
		AddressLines: []string{"3 School Ter. #18B"}, City: "Nashville", State: "TN", PostalCode: "37244", Country: "US",
		Phone: "615.585.0630", Email: "george.drouxovich@yahoo.com",
		Identifiers: []RawIdentifier{{System: SystemSSN, Value: "762-92-2903"}, {System: SystemMRN, TypeCode: "MR", Value: "526983567"}},
	}
}

func BenchmarkNormalize(b *testing.B) {
	raw := benchRaw()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		_ = Normalize("p5e3b8pi8", raw)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkFromFHIR(b *testing.B) {
	cols := map[string]string{
		"id": "p5e3b8pi8", "family": "Drouxovich", "given": "George", "middle": "A", "suffix": "Jr.",
		"birth_date": "1971-11-17", "sex": "male", "address_line": "3 School Ter. #18B", "city": "Nashville",
		"state": "TN", "postal_code": "37244", "country": "US", "phone": "615.585.0630",
		"email": "george.drouxovich@yahoo.com", "ssn": "762-92-2903", "mrn": "526983567",
	}
	p, err := PatientFromColumns(cols)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		_ = FromFHIR(p)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkNormalizeDemo normalizes the 3,000 bundled demo patients (real
// variety: nicknames, typos, missing fields), reporting records per second.
func BenchmarkNormalizeDemo(b *testing.B) {
	f, err := os.Open(moduleRoot(b) + "/testdata/demo/patients.csv")
	if err != nil {
		b.Skip(err)
	}
	r, err := NewReader(f, FormatCSV, ReaderOptions{})
	if err != nil {
		b.Fatal(err)
	}
	good, _ := readAll(b, r)
	f.Close()
	raws := make([]Raw, len(good))
	ids := make([]string, len(good))
	for i, it := range good {
		raws[i] = RawFromFHIR(it.Patient)
		ids[i] = *it.Patient.Id
	}
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		for i := range raws {
			_ = Normalize(ids[i], raws[i])
		}
		n += len(raws)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkReadCSV measures the whole load-side path: CSV row → Patient →
// JSON → Record.
func BenchmarkReadCSV(b *testing.B) {
	data, err := os.ReadFile(moduleRoot(b) + "/testdata/demo/patients.csv")
	if err != nil {
		b.Skip(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	n := 0
	for b.Loop() {
		r, err := NewReader(bytesReader(data), FormatCSV, ReaderOptions{})
		if err != nil {
			b.Fatal(err)
		}
		good, _ := readAll(b, r)
		for _, it := range good {
			_ = FromFHIR(it.Patient)
		}
		n += len(good)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
