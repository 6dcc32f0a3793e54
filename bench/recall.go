package bench

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/patientmatch/patientmatch/record"
)

// Searcher is what RecallAtK needs of a matching engine: the ids of the
// stored patients that best match a record, best first, at most n of them.
// The command wraps matcher.Engine.Match, so recall is measured on the
// path a $match request takes (index candidates, scoring, grading).
type Searcher interface {
	Search(ctx context.Context, q record.Record, n int) ([]string, error)
}

// Recall is the result of RecallAtK.
type Recall struct {
	K int `json:"k"`
	// Queries is the number of records queried.
	Queries int `json:"queries"`
	// Duplicates counts (query, true duplicate) pairs: each stored record of
	// the query's entity other than the query itself.
	Duplicates int64 `json:"duplicates"`
	// Found is how many of those pairs had the duplicate among the first K
	// answers, the query's own record left out.
	Found int64 `json:"found"`
	// RecallAtK is Found / Duplicates.
	RecallAtK float64 `json:"recall_at_k"`
	// QueriesWithDuplicates is the number of queries having at least one
	// duplicate; AllFound of them had every duplicate in the first K (K
	// duplicates when they have more than K).
	QueriesWithDuplicates int `json:"queries_with_duplicates"`
	AllFound              int `json:"all_found"`
	// FalseInTopK counts answers among the first K that are not the
	// query's entity: what a reviewer would have to dismiss.
	FalseInTopK int64 `json:"false_in_top_k"`
	// Latency of one Search, median and 99th percentile.
	P50 time.Duration `json:"p50_ns"`
	P99 time.Duration `json:"p99_ns"`
	// Elapsed is the wall time of all queries.
	Elapsed time.Duration `json:"elapsed_ns"`
}

// RecallAtK queries s with every record of queries (which must all be
// stored in s, under their Rec.ID) and measures how many of each record's
// true duplicates, per truth, come back in the first k answers besides the
// record itself. This is the retrieval question a $match caller asks ("is
// the chart I want on the first page?"), where the pairwise figures of
// RunAccuracy ask about decisions. Records missing from the truth are
// their own entity. Queries run on workers goroutines (at least one).
func RecallAtK(ctx context.Context, s Searcher, queries []record.Record, truth *Truth, k, workers int) (Recall, error) {
	if k < 1 {
		return Recall{}, fmt.Errorf("bench: recall at %d: k must be at least 1", k)
	}
	entityOf := func(id string) string {
		if e, ok := truth.Entity(id); ok {
			return e
		}
		return "\x00" + id // unlabelled: alone
	}
	size := map[string]int{}
	for i := range queries {
		size[entityOf(queries[i].ID)]++
	}
	results := make([]recallQuery, len(queries))
	start := time.Now()
	err := forEachQuery(len(queries), workers, func(i int) error {
		q := &queries[i]
		ent := entityOf(q.ID)
		t0 := time.Now()
		ids, err := s.Search(ctx, *q, k+1)
		if err != nil {
			return fmt.Errorf("bench: query %q: %w", q.ID, err)
		}
		results[i] = recallQuery{dups: size[ent] - 1, lat: time.Since(t0)}
		results[i].found, results[i].falses = countAnswers(ids, q.ID, ent, k, entityOf)
		return nil
	})
	if err != nil {
		return Recall{}, err
	}
	if err := ctx.Err(); err != nil {
		return Recall{}, err
	}
	return summarizeRecall(results, k, time.Since(start)), nil
}

// recallQuery is what one query of RecallAtK found: how many of its dups
// true duplicates and how many other people were among the first k
// answers, and how long the search took.
type recallQuery struct {
	found, falses int64
	dups          int
	lat           time.Duration
}

// forEachQuery calls fn(i) for every i in [0,n) on workers goroutines (at
// least one), stopping at the first error, which it returns.
func forEachQuery(n, workers int, fn func(i int) error) error {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		next     int
	)
	take := func() int {
		mu.Lock()
		defer mu.Unlock()
		if firstErr != nil || next >= n {
			return -1
		}
		next++
		return next - 1
	}
	for range max(workers, 1) {
		wg.Go(func() {
			for i := take(); i >= 0; i = take() {
				if err := fn(i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	return firstErr
}

// countAnswers counts, among the first k answers ids other than the query
// self, those of the query's entity ent and those of other people.
func countAnswers(ids []string, self, ent string, k int, entityOf func(string) string) (found, falses int64) {
	shown := 0
	for _, id := range ids {
		if id == self {
			continue
		}
		if shown == k {
			break
		}
		shown++
		if entityOf(id) == ent {
			found++
		} else {
			falses++
		}
	}
	return found, falses
}

// summarizeRecall adds up the queries' results.
func summarizeRecall(results []recallQuery, k int, elapsed time.Duration) Recall {
	out := Recall{K: k, Queries: len(results), Elapsed: elapsed}
	lats := make([]time.Duration, len(results))
	for i, r := range results {
		lats[i] = r.lat
		out.Duplicates += int64(r.dups)
		out.Found += r.found
		out.FalseInTopK += r.falses
		if r.dups > 0 {
			out.QueriesWithDuplicates++
			if r.found == int64(min(r.dups, k)) {
				out.AllFound++
			}
		}
	}
	if out.Duplicates > 0 {
		out.RecallAtK = float64(out.Found) / float64(out.Duplicates)
	}
	if len(lats) > 0 {
		slices.Sort(lats)
		out.P50 = lats[len(lats)/2]
		out.P99 = lats[min(len(lats)-1, len(lats)*99/100)]
	}
	return out
}
