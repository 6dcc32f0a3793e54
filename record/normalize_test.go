package record

import (
	"bufio"
	"os"
	"reflect"
	"strings"
	"testing"
)

// normCase is one case of testdata/normalize.txt.
type normCase struct {
	name string
	line int
	raw  Raw
	want []string
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, "|") {
		out = append(out, strings.TrimSpace(s))
	}
	return out
}

// readNormalizeCases parses testdata/normalize.txt (format described at the
// top of that file).
func readNormalizeCases(t *testing.T, path string) []normCase {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []normCase
	var cur *normCase
	inWant := false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "" || strings.HasPrefix(trimmed, "#"):
			continue
		case strings.HasPrefix(trimmed, "case:"):
			cases = append(cases, normCase{name: strings.TrimSpace(trimmed[5:]), line: n})
			cur, inWant = &cases[len(cases)-1], false
			continue
		case cur == nil:
			t.Fatalf("%s:%d: field before the first case", path, n)
		case trimmed == "=>":
			inWant = true
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s:%d: want \"field = value\", got %q", path, n, line)
		}
		k = strings.TrimSpace(k)
		// Values keep inner spaces but lose the one after '='; a value
		// written with more leading/trailing spaces keeps them (to test
		// trimming).
		v = strings.TrimPrefix(v, " ")
		if inWant {
			cur.want = append(cur.want, k+" = "+strings.TrimSpace(v))
			continue
		}
		r := &cur.raw
		switch k {
		case "family":
			r.Family = v
		case "given":
			r.Given = splitList(v)
		case "prefix":
			r.Prefix = splitList(v)
		case "suffix":
			r.Suffix = splitList(v)
		case "text":
			r.Text = v
		case "birth_date":
			r.BirthDate = v
		case "sex":
			r.Sex = v
		case "address_line":
			r.AddressLines = splitList(v)
		case "city":
			r.City = v
		case "state":
			r.State = v
		case "postal_code":
			r.PostalCode = v
		case "country":
			r.Country = v
		case "address_text":
			r.AddressText = v
		case "phone":
			r.Phone = v
		case "email":
			r.Email = v
		case "identifier":
			p := splitList(v)
			if len(p) != 3 {
				t.Fatalf("%s:%d: identifier wants system | type | value", path, n)
			}
			r.Identifiers = append(r.Identifiers, RawIdentifier{System: p[0], TypeCode: p[1], Value: p[2]})
		default:
			t.Fatalf("%s:%d: unknown input field %q", path, n, k)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cases
}

func TestNormalizeData(t *testing.T) {
	cases := readNormalizeCases(t, "testdata/normalize.txt")
	if len(cases) < 40 {
		t.Fatalf("only %d cases read", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := flatten(Normalize("id", c.raw))
			// Expected lines were trimmed; so are the flattened ones
			// (an identifier without system has two spaces).
			for i := range got {
				got[i] = strings.TrimSpace(got[i])
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("normalize.txt:%d:\n got:\n  %s\nwant:\n  %s", c.line,
					strings.Join(got, "\n  "), strings.Join(c.want, "\n  "))
			}
		})
	}
}
