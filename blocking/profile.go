package blocking

import "github.com/patientmatch/patientmatch/scoring"

// Profile is what blocking a set of records costs, and on how many of
// them the fallback keys fire (package comment, "Sparse records"): the
// figures to check that a file of dense records keeps its keys and to
// see what a sparse file pays for its own.
type Profile struct {
	Records int
	// Sparse counts the records with no usable street address, phone or
	// identifier, which get the fallback keys.
	Sparse int
	// Keys counts key occurrences under the candidate rules, each record's
	// duplicates removed (Stats.Keys).
	Keys int
	// LargestBlock is the number of records holding the most common key,
	// before MaxBlock and the per-record cap.
	LargestBlock int
}

// KeysPerRecord is Keys / Records, or 0 for no records.
func (p Profile) KeysPerRecord() float64 {
	if p.Records == 0 {
		return 0
	}
	return float64(p.Keys) / float64(p.Records)
}

// ProfileOf profiles records under the candidate rules. It hashes and
// sorts the keys as Pairs does, without enumerating any pair.
func ProfileOf(records []*scoring.Prepared) Profile {
	pr := Profile{Records: len(records)}
	for _, p := range records {
		if sparse(p) {
			pr.Sparse++
		}
	}
	entries := hashKeys(records, nil).sortedEntries()
	pr.Keys = len(entries)
	forRuns(entries, func(run []entry) { pr.LargestBlock = max(pr.LargestBlock, len(run)) })
	return pr
}
