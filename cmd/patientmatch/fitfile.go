package main

import (
	"fmt"
	"io"

	"github.com/patientmatch/patientmatch/scoring"
)

// fitToFile fits the built-in model to the records of one file before
// they are scored (scoring.FitToFile): its u from random pairs of the
// records, its m by EM over the candidate pairs, its prior and the
// posterior at which `probable` starts,
// estimated from the candidate pairs of the training blocking rules, so
// that a grade means the same on a four-field file as on a twelve-field
// one, and on 1,000 records as on 100,000. The `certain` bar keeps at
// least the built-in likelihood ratio. A model given with --model is used as it is (training already
// fitted it), as is the built-in one with --fit=false. What was fitted is
// written to stderr (w), one "fit: " line per note, so that a run says
// which prior and thresholds graded its pairs.
//
// tf is the input's name counts (batch.WithInputFrequencies, which runs
// first so that they are counted once), nil when it counted none; the
// returned scorer is the job's, fitted or not, with them.
func (job *batchJob) fitToFile(w io.Writer, recs []*scoring.Prepared, tf *scoring.TermFrequencies) (*scoring.Scorer, error) {
	if *job.flags.model != "" || job.flags.fit == nil || !*job.flags.fit {
		return job.scorer.WithTermFrequencies(tf), nil
	}
	passes := trainingPasses(recs, *job.flags.maxBlock, &trainProgress{})
	m, notes := scoring.FitToFile(recs, passes, job.model, tf)
	for _, n := range notes {
		fmt.Fprintf(w, "fit: %s\n", n)
	}
	scorer, err := scoring.NewScorer(m)
	if err != nil {
		return nil, err
	}
	threshold, err := parseThreshold(*job.flags.threshold, m.Thresholds)
	if err != nil {
		return nil, usageErrorf("%v", err)
	}
	job.model, job.scorer, job.threshold = m, scorer, threshold
	return scorer.WithTermFrequencies(tf), nil
}
