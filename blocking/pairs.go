package blocking

import (
	"runtime"
	"slices"
	"sync"

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
	// Rules restricts blocking to these rules. Default (nil): the candidate
	// rules (Rules()).
	// One rule at a time gives the training passes of EM (see Rule.Fixes).
	Rules []Rule
	// MaxCandidates keeps, for each record, at most this many candidates,
	// best first, as the server's index does for a query: a pair is
	// emitted when either record has the other among its MaxCandidates
	// best, so at most N·MaxCandidates pairs come out of N records (see
	// Pairs for the ranking). Default (0): DefaultMaxCandidates.
	// NoCandidateLimit (or any negative value): every pair sharing a key
	// in a compared block, whatever the count.
	MaxCandidates int
}

// DefaultMaxCandidates is the number of candidates Pairs and LinkPairs keep
// per record by default. It is the candidate limit of the online engine
// (index.DefaultCandidateLimit, matcher.Options.CandidateLimit), so that a
// batch job compares a record with as many others as a match request would.
const DefaultMaxCandidates = 64

// NoCandidateLimit as PairOptions.MaxCandidates turns the per-record cap
// off: every pair sharing a key in a compared block is emitted.
const NoCandidateLimit = -1

func (o PairOptions) maxBlock() int {
	if o.MaxBlock <= 0 {
		return DefaultMaxBlock
	}
	return o.MaxBlock
}

func (o PairOptions) maxCandidates() int {
	if o.MaxCandidates == 0 {
		return DefaultMaxCandidates
	}
	return o.MaxCandidates
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
	// CappedRecords is the number of records with more candidates than
	// MaxCandidates (both sides for LinkPairs), and DroppedPairs the
	// distinct pairs sharing a compared key that the cap left out.
	CappedRecords int
	DroppedPairs  int64
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

// Pairs calls fn once for every candidate pair of records (i < j, indices
// into records) and returns what it did. Candidates share at least one key
// under opts.Rules in a block of at most opts.MaxBlock records. The order
// is deterministic: block by block, blocks in the order of their key's
// hash, pairs within a block by record index; a pair sharing several
// blocks comes from the first. Block order keeps the records a scorer
// reads next in the cache (at a million records, scoring in record order
// instead costs half as much again).
//
// # The per-record cap
//
// Compound keys hold more records as the input grows (a family name and a
// birth year are shared by a handful of people in ten thousand, by dozens in
// a million), so enumerating every pair of every block grows much faster
// than the input. Like the server's index, which returns a query's 64 best
// candidates, Pairs ranks the candidates of each record and keeps the best
// opts.MaxCandidates (K): a pair is emitted when either record has the
// other among its K best (the union, so a record in a crowded block is
// still reached from the quieter side). At most N·K pairs come out, however
// large the blocks.
//
// Candidates of a record rank, best first, by
//  1. the number of distinct keys they share with it (more shared keys,
//     more evidence: the same name and birth date and address beat the same
//     family name and birth year alone);
//  2. the size of the smallest block they share, smaller first (a rare key
//     says more than a common one, as TF-IDF ranks the index's candidates);
//  3. the record index, lower first, so that the outcome is deterministic.
//
// Both counts are symmetric, which lets the cap be applied in two streaming
// passes without holding any candidate list: the first pass ranks each
// record's candidates and keeps only the rank of its K-th best (8 bytes a
// record); the second enumerates the pairs block by block, counts what
// each pair shares by intersecting the two records' block lists, and keeps
// it when it ranks at or above the K-th best of either side.
//
// # Cost
//
// Memory is linear in the input and independent of K: about 24 bytes per
// key occurrence while the keys are hashed and sorted, then 8 bytes per key
// occurrence (the block of each key, the members of each block), 8 bytes
// per record for the ranks, 8 bytes per record for each goroutine's
// counters, and a scratch list of one record's candidates (at most keys per
// record × MaxBlock). Pairs are passed to fn, never stored. Time: the
// scorer, by far the dearest part of a batch job, sees at most N·K pairs;
// counting shared keys visits each record's blocks, and intersecting the
// block lists each pair of a block (at most keys × MaxBlock records per
// record), cheap next to scoring a pair. Hashing and the first pass use GOMAXPROCS goroutines, all finished
// before Pairs returns; fn is called from the calling goroutine only.
//
// With opts.MaxCandidates negative (NoCandidateLimit), every distinct pair
// sharing a compared key is emitted once, in the order of the hash of the
// first key it shares: the full-block enumeration, quadratic in the block
// sizes, which EM training uses (see PairsByRule).
//
// Keys are hashed to 64 bits and sorted, so a block is a run of equal
// hashes; no map of keys is built. A 64-bit hash collision between two
// different keys merely merges their blocks.
func Pairs(records []*scoring.Prepared, opts PairOptions, fn func(i, j int32)) Stats {
	if k := opts.maxCandidates(); k > 0 {
		return cappedPairs(records, opts.Rules, opts.maxBlock(), k, fn)
	}
	return allPairs(records, opts, fn)
}

// allPairs is Pairs without the cap. A pair sharing several keys is
// emitted only from the first of them in hash order (its other blocks
// check for an earlier shared, compared key and stay silent), so no set of
// seen pairs is needed: memory is about 24 bytes per key occurrence.
func allPairs(records []*scoring.Prepared, opts PairOptions, fn func(i, j int32)) Stats {
	maxBlock := opts.maxBlock()
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

// PairsByRule is Pairs restricted to one rule, without the per-record cap:
// the candidate pairs of one EM training pass, which must leave r.Fixes()
// out of its comparisons.
//
// The cap is off because under one rule nearly every candidate shares
// exactly one key, so the ranking would fall to its tie-breaks and keep the
// pairs of small blocks (rare values) and low record indices: a skewed
// sample of the non-matches, which would bias the u-probabilities that EM
// estimates from them. maxBlock still bounds the work.
func PairsByRule(records []*scoring.Prepared, r Rule, maxBlock int, fn func(i, j int32)) Stats {
	return Pairs(records, PairOptions{MaxBlock: maxBlock, Rules: []Rule{r}, MaxCandidates: NoCandidateLimit}, fn)
}

// LinkPairs calls fn once for every candidate pair (i into left, j into
// right), in block order as Pairs: pairs sharing at least one key
// in a block of at most opts.MaxBlock records on either side, kept when
// either record has the other among its opts.MaxCandidates best candidates
// on the other side (ranked as in Pairs; with NoCandidateLimit, all of
// them). Candidate pairs for linking two files; pairs within
// one side are not produced. At most (len(left)+len(right))·MaxCandidates
// pairs come out; memory is as for Pairs.
func LinkPairs(left, right []*scoring.Prepared, opts PairOptions, fn func(i, j int32)) Stats {
	if k := opts.maxCandidates(); k > 0 {
		return cappedLinkPairs(left, right, opts.Rules, opts.maxBlock(), k, fn)
	}
	return allLinkPairs(left, right, opts, fn)
}

func allLinkPairs(left, right []*scoring.Prepared, opts PairOptions, fn func(i, j int32)) Stats {
	maxBlock := opts.maxBlock()
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
// The per-record slices share the backing arrays of the hashing.
func hashAll(records []*scoring.Prepared, only []Rule) ([][]uint64, []entry) {
	kh := hashKeys(records, only)
	recKeys := make([][]uint64, len(records))
	kh.each(func(i int, hs []uint64) { recKeys[i] = hs })
	return recKeys, kh.sortedEntries()
}

// keyHashes are the key hashes of a set of records, computed in parts.
type keyHashes struct {
	// starts[i] is the position of record i's first hash counted over all
	// parts, starts[len(records)] their total.
	starts []int32
	parts  [][]uint64 // hashes of the records first[p] to first[p+1]-1
	first  []int
}

// each calls fn with the hashes of every record, in order: sorted, without
// duplicates, with no room to append.
func (kh *keyHashes) each(fn func(i int, hs []uint64)) {
	for p, part := range kh.parts {
		base := kh.starts[kh.first[p]]
		for i := kh.first[p]; i < kh.first[p+1]; i++ {
			lo, hi := kh.starts[i]-base, kh.starts[i+1]-base
			fn(i, part[lo:hi:hi])
		}
	}
}

// hashKeys computes the key hashes of every record under only (nil: every
// rule). GOMAXPROCS goroutines hash contiguous parts of the records, and
// are done when it returns.
func hashKeys(records []*scoring.Prepared, only []Rule) *keyHashes {
	n := min(runtime.GOMAXPROCS(0), (len(records)+4095)/4096)
	n = max(n, 1)
	kh := &keyHashes{starts: make([]int32, len(records)+1), parts: make([][]uint64, n), first: make([]int, n+1)}
	for p := range n + 1 {
		kh.first[p] = p * len(records) / n
	}
	// Each part writes the ends of its records' hashes counted from its
	// own start; they are made absolute once the parts' sizes are known.
	var wg sync.WaitGroup
	for p := range n {
		lo, hi := kh.first[p], kh.first[p+1]
		wg.Add(1)
		go func() {
			defer wg.Done()
			kh.parts[p] = hashPart(records[lo:hi], only, kh.starts[lo:hi+1])
		}()
	}
	wg.Wait()
	for p := 1; p < n; p++ {
		base := kh.starts[kh.first[p]] // the previous part's end, already absolute
		for i := kh.first[p] + 1; i <= kh.first[p+1]; i++ {
			kh.starts[i] += base
		}
	}
	return kh
}

// hashPart returns the key hashes of records, each record's sorted and
// without duplicates, and sets ends[i+1] to the end of record i's hashes;
// ends[0] is left alone.
func hashPart(records []*scoring.Prepared, only []Rule, ends []int32) []uint64 {
	// Generated records have about 13 keys, registries' fewer.
	kb := keyBuilder{hashOnly: true, hashes: make([]uint64, 0, len(records)*12)}
	for i, p := range records {
		start := len(kb.hashes)
		if only == nil {
			for r := Rule(0); r < numRules; r++ {
				if !r.TrainingOnly() {
					kb.appendRule(p, r, nil)
				}
			}
		} else {
			for _, r := range only {
				kb.appendRule(p, r, nil)
			}
		}
		mine := kb.hashes[start:]
		slices.Sort(mine)
		mine = slices.Compact(mine)
		kb.hashes = kb.hashes[:start+len(mine)]
		ends[i+1] = int32(len(kb.hashes))
	}
	return kb.hashes
}

// sortedEntries lists every key occurrence as (hash, record), sorted by
// hash then record.
func (kh *keyHashes) sortedEntries() []entry {
	entries := make([]entry, 0, kh.starts[len(kh.starts)-1])
	kh.each(func(i int, hs []uint64) {
		for _, h := range hs {
			entries = append(entries, entry{h: h, rec: int32(i)})
		}
	})
	slices.SortFunc(entries, func(a, b entry) int {
		switch {
		case a.h < b.h:
			return -1
		case a.h > b.h:
			return 1
		}
		return int(a.rec - b.rec)
	})
	return entries
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
func hashKey[T string | []byte](s T) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}
