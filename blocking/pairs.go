package blocking

import (
	"slices"

	"github.com/patientmatch/patientmatch/scoring"
)

// DefaultMaxBlock is the block size above which Pairs skips a block.
const DefaultMaxBlock = 1000

// PairOptions configure Pairs and LinkPairs.
type PairOptions struct {
	// MaxBlock skips blocks holding more than this many records (in
	// LinkPairs: more than this many on either side). A block that large
	// is a key shared by strangers (a placeholder that slipped through, a
	// very common name at scale); comparing it would cost MaxBlock²/2
	// comparisons for few true pairs, which other rules catch anyway.
	// Skipped blocks are counted in Stats. Default (0): DefaultMaxBlock.
	MaxBlock int
	// Rules restricts blocking to these rules. Default (nil): all rules.
	// One rule at a time gives the training passes of EM (see Rule.Fixes).
	Rules []Rule
}

// Stats describe one run of Pairs or LinkPairs.
type Stats struct {
	Records        int   // records blocked (both sides for LinkPairs)
	Keys           int   // key occurrences, after removing a record's duplicates
	Blocks         int   // distinct keys shared by at least two records (one per side for LinkPairs)
	SkippedBlocks  int   // blocks over MaxBlock, not compared
	SkippedRecords int   // sum of the sizes of skipped blocks
	LargestBlock   int   // size of the largest block compared
	Pairs          int64 // distinct pairs emitted
}

// ReductionRatio is 1 − pairs / all possible pairs, the usual measure of
// how much work blocking saves; n is the number of possible pairs.
func (s Stats) ReductionRatio(n int64) float64 {
	if n <= 0 {
		return 0
	}
	return 1 - float64(s.Pairs)/float64(n)
}

// entry is one key occurrence: the 64-bit hash of the key and the record
// holding it (its side in bit 31 for linkage).
type entry struct {
	h   uint64
	rec int32
}

// Pairs calls fn once for every distinct pair of records (i < j, indices
// into records) that share at least one key under opts.Rules, skipping
// blocks larger than opts.MaxBlock, and returns what it did.
//
// Keys are hashed to 64 bits and sorted, so a block is a run of equal
// hashes; no map of keys is built. A pair sharing several keys is emitted
// only from the first of them in hash order (its other blocks check for an
// earlier shared, compared key and stay silent), so no set of seen pairs
// is needed either: memory is about 24 bytes per key occurrence. A 64-bit
// hash collision between two different keys merely merges their blocks.
func Pairs(records []*scoring.Prepared, opts PairOptions, fn func(i, j int32)) Stats {
	maxBlock := opts.MaxBlock
	if maxBlock <= 0 {
		maxBlock = DefaultMaxBlock
	}
	st := Stats{Records: len(records)}
	recKeys, entries := hashAll(records, opts.Rules)
	st.Keys = len(entries)
	skipped := make(map[uint64]struct{})

	// First pass: find the skipped blocks, since the duplicate check of any
	// block must know about all of them.
	forRuns(entries, func(run []entry) {
		if len(run) > maxBlock {
			skipped[run[0].h] = struct{}{}
		}
	})
	forRuns(entries, func(run []entry) {
		if len(run) < 2 {
			return
		}
		st.Blocks++
		if len(run) > maxBlock {
			st.SkippedBlocks++
			st.SkippedRecords += len(run)
			return
		}
		st.LargestBlock = max(st.LargestBlock, len(run))
		h := run[0].h
		for a := 0; a < len(run); a++ {
			i := run[a].rec
			for b := a + 1; b < len(run); b++ {
				j := run[b].rec
				if sharesEarlier(recKeys[i], recKeys[j], h, skipped) {
					continue
				}
				// run is sorted by record within a hash, so i < j.
				fn(i, j)
				st.Pairs++
			}
		}
	})
	return st
}

// PairsByRule is Pairs restricted to one rule: the candidate pairs of one
// EM training pass, which must leave r.Fixes() out of its comparisons.
func PairsByRule(records []*scoring.Prepared, r Rule, maxBlock int, fn func(i, j int32)) Stats {
	return Pairs(records, PairOptions{MaxBlock: maxBlock, Rules: []Rule{r}}, fn)
}

// LinkPairs calls fn once for every distinct pair (i into left, j into
// right) sharing at least one key: candidate pairs for linking two files.
// Pairs within one side are not produced.
func LinkPairs(left, right []*scoring.Prepared, opts PairOptions, fn func(i, j int32)) Stats {
	maxBlock := opts.MaxBlock
	if maxBlock <= 0 {
		maxBlock = DefaultMaxBlock
	}
	st := Stats{Records: len(left) + len(right)}
	leftKeys, le := hashAll(left, opts.Rules)
	rightKeys, re := hashAll(right, opts.Rules)
	st.Keys = len(le) + len(re)

	skipped := make(map[uint64]struct{})
	type block struct{ l, r []entry }
	// Merge the two sorted entry lists run by run.
	eachBlock := func(visit func(b block)) {
		li, ri := 0, 0
		for li < len(le) && ri < len(re) {
			switch {
			case le[li].h < re[ri].h:
				li++
			case le[li].h > re[ri].h:
				ri++
			default:
				h := le[li].h
				lj, rj := li, ri
				for lj < len(le) && le[lj].h == h {
					lj++
				}
				for rj < len(re) && re[rj].h == h {
					rj++
				}
				visit(block{le[li:lj], re[ri:rj]})
				li, ri = lj, rj
			}
		}
	}
	eachBlock(func(b block) {
		if len(b.l) > maxBlock || len(b.r) > maxBlock {
			skipped[b.l[0].h] = struct{}{}
		}
	})
	eachBlock(func(b block) {
		st.Blocks++
		h := b.l[0].h
		if _, skip := skipped[h]; skip {
			st.SkippedBlocks++
			st.SkippedRecords += len(b.l) + len(b.r)
			return
		}
		st.LargestBlock = max(st.LargestBlock, len(b.l)+len(b.r))
		for _, x := range b.l {
			for _, y := range b.r {
				if sharesEarlier(leftKeys[x.rec], rightKeys[y.rec], h, skipped) {
					continue
				}
				fn(x.rec, y.rec)
				st.Pairs++
			}
		}
	})
	return st
}

// hashAll computes the sorted, de-duplicated key hashes of every record
// and the list of all (hash, record) entries sorted by hash then record.
// The per-record slices share one backing array.
func hashAll(records []*scoring.Prepared, only []Rule) ([][]uint64, []entry) {
	recKeys := make([][]uint64, len(records))
	all := make([]uint64, 0, len(records)*8)
	var kb keyBuilder
	var keys []string
	starts := make([]int, len(records)+1)
	for i, p := range records {
		keys = keys[:0]
		if only == nil {
			for r := Rule(0); r < numRules; r++ {
				keys = kb.appendRule(p, r, keys)
			}
		} else {
			for _, r := range only {
				keys = kb.appendRule(p, r, keys)
			}
		}
		start := len(all)
		for _, k := range keys {
			all = append(all, hashKey(k))
		}
		mine := all[start:]
		slices.Sort(mine)
		mine = slices.Compact(mine)
		all = all[:start+len(mine)]
		starts[i+1] = len(all)
	}
	entries := make([]entry, 0, len(all))
	for i := range records {
		recKeys[i] = all[starts[i]:starts[i+1]:starts[i+1]]
		for _, h := range recKeys[i] {
			entries = append(entries, entry{h: h, rec: int32(i)})
		}
	}
	slices.SortFunc(entries, func(a, b entry) int {
		switch {
		case a.h < b.h:
			return -1
		case a.h > b.h:
			return 1
		}
		return int(a.rec - b.rec)
	})
	return recKeys, entries
}

// forRuns calls fn with each run of entries sharing one hash.
func forRuns(entries []entry, fn func(run []entry)) {
	for i := 0; i < len(entries); {
		j := i + 1
		for j < len(entries) && entries[j].h == entries[i].h {
			j++
		}
		fn(entries[i:j])
		i = j
	}
}

// sharesEarlier reports whether the sorted key hashes a and b have a
// common hash below h that was not skipped: the pair was (or will be)
// emitted from that block instead.
func sharesEarlier(a, b []uint64, h uint64, skipped map[uint64]struct{}) bool {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		x, y := a[i], b[j]
		if x >= h || y >= h {
			return false
		}
		switch {
		case x < y:
			i++
		case x > y:
			j++
		default:
			if _, skip := skipped[x]; !skip {
				return true
			}
			i++
			j++
		}
	}
	return false
}

// hashKey is 64-bit FNV-1a: deterministic across runs, so that pair order
// (and hence training) is reproducible.
func hashKey(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}
