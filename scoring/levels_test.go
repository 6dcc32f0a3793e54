package scoring

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// TestLevels runs testdata/levels.txt: each line a pair of records and the
// level one comparison must reach, checked both ways round.
func TestLevels(t *testing.T) {
	f, err := os.Open("testdata/levels.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	defaultKey := map[string]string{
		"given_name": "given", "family_name": "family", "birth_date": "birth",
		"sex": "sex", "identifier": "ssn", "household": "",
	}
	// covered[c][l] records which levels the file exercises.
	var covered [NumComparisons][MaxLevels]bool
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest, ok := strings.Cut(line, ":")
		lr, want, ok2 := strings.Cut(rest, "->")
		left, right, ok3 := strings.Cut(lr, "|")
		key, known := defaultKey[name]
		if !ok || !ok2 || !ok3 || !known {
			t.Fatalf("levels.txt:%d: cannot parse %q", n, line)
		}
		want = strings.TrimSpace(want)
		ra, err := recordFrom(left, key)
		if err != nil {
			t.Fatalf("levels.txt:%d: %v", n, err)
		}
		rb, err := recordFrom(right, key)
		if err != nil {
			t.Fatalf("levels.txt:%d: %v", n, err)
		}
		c := comparisonIndex(name)
		a, b := PrepareWithoutTF(ra), PrepareWithoutTF(rb)
		var ab, ba Comparison
		Compare(a, b, &ab)
		Compare(b, a, &ba)
		got := LevelLabel(c, int(ab.Levels[c]))
		if got != want {
			t.Errorf("levels.txt:%d: %s: %s | %s -> %s, want %s", n, name, strings.TrimSpace(left), strings.TrimSpace(right), got, want)
		}
		if ab.Levels != ba.Levels {
			t.Errorf("levels.txt:%d: not symmetric: %v vs %v", n, ab.Levels, ba.Levels)
		}
		covered[c][ab.Levels[c]] = true
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for c := 0; c < NumComparisons; c++ {
		for l := 0; l < NumLevels(c); l++ {
			if !covered[c][l] {
				t.Errorf("levels.txt covers no pair at %s level %s", ComparisonName(c), LevelLabel(c, l))
			}
		}
	}
}

func comparisonIndex(name string) int {
	for c := 0; c < NumComparisons; c++ {
		if ComparisonName(c) == name {
			return c
		}
	}
	return -1
}
