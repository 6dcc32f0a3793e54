package blocking

import (
	"encoding/csv"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/patientmatch/patientmatch/record"
)

// datasetsDir returns /work/shared/datasets found from the module root
// (the directory holding go.mod), or skips the test.
func datasetsDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("no go.mod above the package directory")
		}
		dir = parent
	}
	ds := filepath.Join(dir, "..", "shared", "datasets")
	if _, err := os.Stat(ds); err != nil {
		t.Skipf("datasets not available: %v", err)
	}
	return ds
}

// readCanonicalCSV is a tiny test-only reader of the canonical CSV; the
// real normalizer lives in package record. It does the minimum to build
// comparable records: lower-case, split names, parse dates and the house
// number, keep digits of phones, upper-case identifiers.
func readCanonicalCSV(t testing.TB, path string) []record.Record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Skipf("dataset not available: %v", err)
	}
	defer f.Close()
	cr := csv.NewReader(f)
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[h] = i
	}
	var out []record.Record
	for {
		row, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		get := func(name string) string {
			if i, ok := col[name]; ok && i < len(row) {
				return strings.ToLower(strings.TrimSpace(row[i]))
			}
			return ""
		}
		out = append(out, csvRecord(get))
	}
	return out
}

func csvRecord(get func(string) string) record.Record {
	r := record.Record{ID: get("id"), Suffix: get("suffix")}
	fam := strings.Join(strings.FieldsFunc(get("family"), func(c rune) bool { return c == ' ' || c == '-' }), " ")
	r.Family = fam
	if parts := strings.Fields(fam); len(parts) > 1 {
		r.FamilyParts = parts
	}
	given := strings.Fields(get("given"))
	if len(given) > 0 {
		r.Given = given[0]
		r.Middle = strings.Join(append(given[1:], strings.Fields(get("middle"))...), " ")
	}
	r.BirthDate = parseDate(get("birth_date"))
	switch get("sex") {
	case "male", "m":
		r.Sex = record.SexMale
	case "female", "f":
		r.Sex = record.SexFemale
	case "other":
		r.Sex = record.SexOther
	}
	line, _, _ := strings.Cut(get("address_line"), ",")
	words := strings.Fields(line)
	if len(words) > 0 && words[0][0] >= '0' && words[0][0] <= '9' {
		r.Address.Number = words[0]
		words = words[1:]
	}
	r.Address.Street = strings.Join(words, " ")
	r.Address.City = get("city")
	r.Address.State = get("state")
	r.Address.PostalCode = strings.ReplaceAll(get("postal_code"), " ", "")
	r.Address.Country = get("country")
	var digits []byte
	for _, c := range []byte(get("phone")) {
		if c >= '0' && c <= '9' {
			digits = append(digits, c)
		}
	}
	r.Phone = string(digits)
	r.Email = get("email")
	for _, c := range []struct {
		col string
		typ record.IdentifierType
	}{{"ssn", record.IDSSN}, {"national_id", record.IDNational}, {"mrn", record.IDMRN},
		{"drivers_license", record.IDDriversLicense}, {"passport", record.IDPassport}} {
		v := strings.Map(func(c rune) rune {
			switch {
			case c >= 'a' && c <= 'z':
				return c - 'a' + 'A'
			case c >= '0' && c <= '9':
				return c
			}
			return -1
		}, get(c.col))
		if v != "" {
			r.Identifiers = append(r.Identifiers, record.Identifier{Type: c.typ, Value: v})
		}
	}
	return r
}

func parseDate(s string) record.Date {
	d := record.Date{Text: s}
	if s == "" {
		return d
	}
	parts := strings.Split(s, "-")
	nums := make([]int, 0, 3)
	for _, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil {
			return d
		}
		nums = append(nums, n)
	}
	switch len(nums) {
	case 3:
		d.Day = nums[2]
		fallthrough
	case 2:
		d.Month = nums[1]
		fallthrough
	case 1:
		d.Year = nums[0]
	}
	d.Valid = true
	return d
}

// readTruth reads id,entity into a map.
func readTruth(t testing.TB, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Skipf("truth not available: %v", err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	m := make(map[string]string, len(rows))
	for _, row := range rows[1:] {
		m[row[0]] = row[1]
	}
	return m
}
