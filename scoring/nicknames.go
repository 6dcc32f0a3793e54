package scoring

import (
	_ "embed"
	"fmt"
	"strings"
	"sync"
)

//go:embed nicknames.txt
var nicknamesText string

// maxNickGroups is how many nickname groups Prepared keeps per given name.
// A handful of short names belong to more groups (al: alan, albert, alfred,
// alexander); past this many, further groups are ignored.
const maxNickGroups = 6

// nickTable maps a given name to the ids (1-based) of the nickname groups it
// belongs to. It is built once from the embedded nicknames.txt and never
// changed afterwards.
type nickTable struct {
	groups map[string][]uint16
	// formal[id-1] is the first name of group id, for explanations.
	formal []string
}

// defaultNicknames is the parsed embedded table; immutable once built.
var defaultNicknames = sync.OnceValue(func() *nickTable {
	t, err := parseNicknames(nicknamesText)
	if err != nil {
		// The file is embedded and covered by tests: a parse error is a
		// broken build, not a runtime condition.
		panic(err)
	}
	return t
})

// parseNicknames reads the "formal: variant variant" format of nicknames.txt.
func parseNicknames(text string) (*nickTable, error) {
	t := &nickTable{groups: make(map[string][]uint16)}
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		formal, rest, ok := strings.Cut(line, ":")
		formal = strings.TrimSpace(formal)
		if !ok || formal == "" {
			return nil, fmt.Errorf("scoring: nicknames line %d: want \"name: variants\"", n+1)
		}
		t.formal = append(t.formal, formal)
		id := uint16(len(t.formal))
		for _, name := range append([]string{formal}, strings.Fields(rest)...) {
			for i := 0; i < len(name); i++ {
				if c := name[i]; c < 'a' || c > 'z' {
					return nil, fmt.Errorf("scoring: nicknames line %d: %q is not lower-case ASCII", n+1, name)
				}
			}
			g := t.groups[name]
			if len(g) > 0 && g[len(g)-1] == id {
				continue // listed twice on one line
			}
			t.groups[name] = append(g, id)
		}
	}
	return t, nil
}

// lookup fills dst with the group ids of name (zeros when it has none).
func (t *nickTable) lookup(name string, dst *[maxNickGroups]uint16) {
	*dst = [maxNickGroups]uint16{}
	copy(dst[:], t.groups[name])
}

// sharesGroup reports whether two group sets have a group in common.
func sharesGroup(a, b *[maxNickGroups]uint16) bool {
	for _, x := range a {
		if x == 0 {
			return false
		}
		for _, y := range b {
			if y == 0 {
				break
			}
			if x == y {
				return true
			}
		}
	}
	return false
}
