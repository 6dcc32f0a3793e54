package bench

import (
	"errors"
	"strings"
	"testing"
)

// FuzzReadTruth: a truth file is outside input. Reading never panics; an
// accepted file labels every id with a non-empty entity, and labels two
// ids alike exactly when their entities are equal.
func FuzzReadTruth(f *testing.F) {
	for _, s := range []string{"id,entity\na,1\nb,1\n", "entity,id\n1,a\n", "id,entity\na,1\na,2\n", "\"id\",\"entity\"\n\"a,b\",1\n", "id\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		tr, err := ReadTruth(strings.NewReader(in))
		if err != nil {
			if !errors.Is(err, ErrTruth) {
				t.Fatalf("error %v does not wrap ErrTruth", err)
			}
			return
		}
		ids := make([]string, 0, tr.Len())
		for id, e := range tr.entity {
			if e == "" {
				t.Fatalf("id %q with an empty entity", id)
			}
			ids = append(ids, id)
		}
		labels, unlabelled := tr.Label(ids)
		if unlabelled != 0 {
			t.Fatalf("%d of its own ids unlabelled", unlabelled)
		}
		for i := range ids {
			for j := range ids {
				if (labels[0][i] == labels[0][j]) != (tr.entity[ids[i]] == tr.entity[ids[j]]) {
					t.Fatalf("labels disagree with entities for %q and %q", ids[i], ids[j])
				}
			}
		}
	})
}
