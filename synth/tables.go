package synth

import (
	"bufio"
	"embed"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// The tables under data/ were written for this package from general
// knowledge; no data set was copied.
//
//   - surnames.tsv: a few hundred common US surnames in rough rank order. The
//     weights follow a power law in rank (w ∝ rank^-0.55), which is the rough
//     shape of the US census surname distribution: Smith about 1% of people,
//     the tenth name under half of that, the few-hundredth around a twentieth.
//     In the census the top few hundred names cover only about a quarter of
//     people; the rest is a very long tail, which generated names supply
//     (see tailSurname).
//   - given_male.tsv, given_female.tsv: common given names by sex, mixing
//     generations and origins, weights ∝ rank^-0.8 (given names are more
//     concentrated than surnames).
//   - nicknames.txt: formal name → common diminutives.
//   - streets.txt: street names; cities.tsv: city, state, ZIP prefix, area
//     code and a rough population weight, so addresses and phones are
//     consistent-ish.
//
//go:embed data/*
var dataFS embed.FS

// weighted is a list of values drawn with probability proportional to weight.
type weighted struct {
	names []string
	cum   []float64 // cumulative weights, cum[len-1] is the total
}

func (t *weighted) add(name string, w float64) {
	total := 0.0
	if n := len(t.cum); n > 0 {
		total = t.cum[n-1]
	}
	t.names = append(t.names, name)
	t.cum = append(t.cum, total+w)
}

// pick returns the index of a value drawn by weight, given u uniform in [0,1).
func (t *weighted) pick(u float64) int {
	x := u * t.cum[len(t.cum)-1]
	return sort.SearchFloat64s(t.cum, math.Nextafter(x, math.Inf(1)))
}

// city is one row of cities.tsv.
type city struct {
	Name, State, Zip3, Area string
}

// tables holds every embedded table, parsed once per Generator.
type tables struct {
	surnames   weighted
	male       weighted
	female     weighted
	nicknames  map[string][]string // lower-case formal name → nicknames
	streets    []string
	cities     []city
	cityWeight weighted // names are unused; index into cities
}

func loadTables() (*tables, error) {
	t := &tables{nicknames: map[string][]string{}}
	for _, f := range []struct {
		path string
		dst  *weighted
	}{
		{"data/surnames.tsv", &t.surnames},
		{"data/given_male.tsv", &t.male},
		{"data/given_female.tsv", &t.female},
	} {
		err := eachLine(f.path, func(fields []string) error {
			if len(fields) != 2 {
				return fmt.Errorf("want 2 fields, got %d", len(fields))
			}
			w, err := strconv.ParseFloat(fields[1], 64)
			if err != nil || w <= 0 {
				return fmt.Errorf("bad weight %q", fields[1])
			}
			f.dst.add(fields[0], w)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	err := eachLine("data/nicknames.txt", func(fields []string) error {
		if len(fields) != 2 {
			return fmt.Errorf("want 2 fields, got %d", len(fields))
		}
		t.nicknames[strings.ToLower(fields[0])] = strings.Fields(fields[1])
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = eachLine("data/streets.txt", func(fields []string) error {
		t.streets = append(t.streets, fields[0])
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = eachLine("data/cities.tsv", func(fields []string) error {
		if len(fields) != 5 {
			return fmt.Errorf("want 5 fields, got %d", len(fields))
		}
		w, err := strconv.ParseFloat(fields[4], 64)
		if err != nil || w <= 0 {
			return fmt.Errorf("bad weight %q", fields[4])
		}
		t.cities = append(t.cities, city{fields[0], fields[1], fields[2], fields[3]})
		t.cityWeight.add(fields[0], w)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// eachLine calls fn with the tab-separated fields of every non-blank,
// non-comment line of an embedded file.
func eachLine(path string, fn func([]string) error) error {
	b, err := dataFS.ReadFile(path)
	if err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := fn(strings.Split(line, "\t")); err != nil {
			return fmt.Errorf("synth: %s:%d: %w", path, n, err)
		}
	}
	return nil
}
