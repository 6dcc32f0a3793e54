package matcher

import "github.com/patientmatch/patientmatch/scoring"

// TermCounts counts the given and family names of the live patients now
// (the table Open builds, but current). A cluster sums its shards' counts
// into the cluster-wide table (Options.TermFrequencies).
func (e *Engine) TermCounts() *scoring.TermFrequencies {
	tf := scoring.NewTermFrequencies()
	e.mu.RLock()
	defer e.mu.RUnlock()
	for _, p := range e.mu.table {
		tf.Add(p)
	}
	return tf
}
