package bench

import (
	"context"
	"errors"
	"testing"

	"github.com/patientmatch/patientmatch/record"
)

// fakeSearcher answers each query id with a fixed list.
type fakeSearcher map[string][]string

func (f fakeSearcher) Search(_ context.Context, q record.Record, n int) ([]string, error) {
	ids, ok := f[q.ID]
	if !ok {
		return nil, errors.New("no answer")
	}
	return ids[:min(n, len(ids))], nil
}

func TestRecallAtK(t *testing.T) {
	truth := NewTruth(map[string]string{"a1": "A", "a2": "A", "a3": "A", "b1": "B", "b2": "B", "c1": "C"})
	queries := []record.Record{{ID: "a1"}, {ID: "a2"}, {ID: "a3"}, {ID: "b1"}, {ID: "b2"}, {ID: "c1"}, {ID: "x"}}
	s := fakeSearcher{
		"a1": {"a1", "a2", "a3"},      // both duplicates, self first
		"a2": {"b1", "a2", "a1"},      // a stranger first; with k=1 a1 is cut
		"a3": {"a3"},                  // none found
		"b1": {"b2", "b1"},            // found, self second
		"b2": {"c1", "x", "b2", "b1"}, // found only at rank 3 without self
		"c1": {"c1"},                  // no duplicates to find
		"x":  {"x", "a1"},             // unlabelled: its own entity
	}
	for _, tc := range []struct {
		k                  int
		found, falses      int64
		allFound           int
		wantRecall         float64
		wantDups, withDups int
	}{
		// Duplicates: a1,a2,a3 have 2 each, b1,b2 have 1 each: 8.
		{k: 1, found: 2, falses: 3, allFound: 2, wantDups: 8, withDups: 5},
		{k: 2, found: 4, falses: 4, allFound: 2, wantDups: 8, withDups: 5},
		{k: 3, found: 5, falses: 4, allFound: 3, wantDups: 8, withDups: 5},
	} {
		r, err := RecallAtK(context.Background(), s, queries, truth, tc.k, 3)
		if err != nil {
			t.Fatal(err)
		}
		if r.Found != tc.found || r.FalseInTopK != tc.falses || r.AllFound != tc.allFound ||
			r.Duplicates != int64(tc.wantDups) || r.QueriesWithDuplicates != tc.withDups || r.Queries != len(queries) {
			t.Errorf("k=%d: %+v, want found %d falses %d allFound %d", tc.k, r, tc.found, tc.falses, tc.allFound)
		}
		if want := float64(tc.found) / float64(tc.wantDups); r.RecallAtK != want {
			t.Errorf("k=%d: recall %v, want %v", tc.k, r.RecallAtK, want)
		}
	}

	if _, err := RecallAtK(context.Background(), s, append(queries, record.Record{ID: "missing"}), truth, 5, 2); err == nil {
		t.Error("a failing search did not fail the run")
	}
	if _, err := RecallAtK(context.Background(), s, queries, truth, 0, 1); err == nil {
		t.Error("k=0 accepted")
	}
}
