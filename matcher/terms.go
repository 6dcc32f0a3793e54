package matcher

import (
	"bytes"

	"github.com/patientmatch/patientmatch/scoring"
)

// TermCounts counts the given and family names of the live patients now
// (the table Open builds, but current). A cluster sums its shards' counts
// into the cluster-wide table (Options.TermFrequencies).
func (e *Engine) TermCounts() *scoring.TermFrequencies {
	tf := scoring.NewTermFrequencies()
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.mu.table == nil {
		return tf
	}
	var p scoring.Prepared
	e.mu.table.each(func(b []byte) {
		// A copy of the bytes: the counts' keys must not pin the table's
		// slabs. The table's records always unpack (they were packed here).
		if scoring.UnpackPrepared(&p, bytes.Clone(b)) == nil {
			tf.Add(&p)
		}
	})
	return tf
}
