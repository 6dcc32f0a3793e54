package bench

import (
	"context"
	"fmt"

	"github.com/patientmatch/patientmatch/batch"
	"github.com/patientmatch/patientmatch/scoring"
)

// BatchSource is the PairSource of package batch: the blocking, parallel
// scoring and clustering the dedupe and link commands run. Use one per
// dataset; Dedupe remembers the records so that Cluster can score the
// cross pairs of two clusters, as the dedupe command does.
type BatchSource struct {
	// Scorer scores the pairs; the records must have been prepared with it
	// (ReadDataset does both). Required.
	Scorer *scoring.Scorer
	// Thresholds are the model's grade boundaries (Scorer's model).
	// Default (zero): scoring.DefaultThresholds().
	Thresholds scoring.Thresholds
	// ClusterThreshold is the probability at which a pair may link two
	// clusters. Default (0): Thresholds.Possible, the commands' default
	// --threshold.
	ClusterThreshold float64
	// Workers, MaxBlock and MaxCandidates are passed to batch.Options (0:
	// its defaults).
	Workers, MaxBlock, MaxCandidates int
	// Progress is passed to batch.Options.
	Progress func(done, total int64)

	records []*scoring.Prepared // of the last Dedupe, for Cluster's Score
}

func (s *BatchSource) options() batch.Options {
	// Threshold 0: every candidate pair is emitted, each with its score.
	return batch.Options{Scorer: s.Scorer, Workers: s.Workers, MaxBlock: s.MaxBlock, MaxCandidates: s.MaxCandidates, Progress: s.Progress}
}

// Dedupe implements PairSource with batch.Dedupe.
func (s *BatchSource) Dedupe(ctx context.Context, records []*scoring.Prepared, emit func(Pair) error) (int64, error) {
	s.records = records
	st, err := batch.Dedupe(ctx, records, s.options(), emit)
	if err != nil {
		return 0, err
	}
	if st.Emitted != st.CandidatePairs {
		return 0, fmt.Errorf("bench: batch emitted %d of %d candidate pairs with no threshold", st.Emitted, st.CandidatePairs)
	}
	return st.CandidatePairs, nil
}

// Promote implements PairSource with batch.Promote, as the dedupe command
// calls it: over the pairs at or above the cluster threshold (those dedupe
// keeps).
func (s *BatchSource) Promote(ctx context.Context, records []*scoring.Prepared, pairs []Pair) (int, error) {
	return batch.Promote(ctx, records, pairs, batch.PromoteOptions{Scorer: s.Scorer, Threshold: s.clusterThreshold()})
}

// clusterThreshold is ClusterThreshold or its default.
func (s *BatchSource) clusterThreshold() float64 {
	if s.ClusterThreshold > 0 {
		return s.ClusterThreshold
	}
	if s.Thresholds == (scoring.Thresholds{}) {
		return scoring.DefaultThresholds().Possible
	}
	return s.Thresholds.Possible
}

// Link implements PairSource with batch.Link.
func (s *BatchSource) Link(ctx context.Context, left, right []*scoring.Prepared, emit func(Pair) error) (int64, error) {
	s.records = nil
	st, err := batch.Link(ctx, left, right, s.options(), emit)
	if err != nil {
		return 0, err
	}
	return st.CandidatePairs, nil
}

// Cluster implements PairSource with batch.Cluster as the dedupe command
// calls it: on the pairs at or above the cluster threshold (those dedupe
// emits), and, after Dedupe, free to score any cross pair of two clusters
// (batch's Score option). After Link it judges merges on the given pairs
// only.
func (s *BatchSource) Cluster(n int, pairs []Pair) []int32 {
	if s.Thresholds == (scoring.Thresholds{}) {
		s.Thresholds = scoring.DefaultThresholds()
	}
	th := s.clusterThreshold()
	var bp []batch.Pair
	for _, p := range pairs {
		if p.Probability >= th {
			bp = append(bp, p)
		}
	}
	opts := batch.ClusterOptions{Threshold: th, Thresholds: s.Thresholds}
	if recs := s.records; recs != nil && len(recs) == n {
		sc := s.Scorer
		opts.Score = func(i, j int32) batch.Pair {
			r := sc.Score(recs[i], recs[j])
			return batch.Pair{Left: i, Right: j, Weight: r.Weight, Probability: r.Probability, Grade: r.Grade}
		}
	}
	return batch.Cluster(n, bp, opts)
}

// ReadDataset reads one input file (for dedupe) or two (for link) with
// batch.ReadFiles and prepares the records with model's scorer plus term
// frequencies from all of them (batch.WithInputFrequencies), as the dedupe
// and link commands do. It returns that scorer and the records of each
// file. Bad records go to ro.Report and are skipped.
func ReadDataset(ctx context.Context, paths []string, model *scoring.Model, ro batch.ReadOptions) (*scoring.Scorer, [][]*scoring.Prepared, error) {
	base, err := scoring.NewScorer(model)
	if err != nil {
		return nil, nil, err
	}
	ro.Scorer = base
	sides := make([][]*scoring.Prepared, len(paths))
	for i, p := range paths {
		if sides[i], err = batch.ReadFiles(ctx, []string{p}, ro); err != nil {
			return nil, nil, err
		}
	}
	sc, err := batch.WithInputFrequencies(ctx, base, ro.Workers, sides...)
	if err != nil {
		return nil, nil, err
	}
	return sc, sides, nil
}

// ids returns the record ids of prepared records, in order.
func ids(ps []*scoring.Prepared) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Rec.ID
	}
	return out
}
