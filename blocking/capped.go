package blocking

import (
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/patientmatch/patientmatch/scoring"
)

// This file is the capped enumeration of Pairs and LinkPairs: each record
// keeps its MaxCandidates best candidates (see Pairs for the ranking and the
// two passes).

// side is one set of records as the capped enumeration sees it: the
// compared block of each key occurrence of each record, and the members of
// each compared block on this side. Block numbers are shared by the two
// sides of a linkage.
type side struct {
	starts  []int32 // record i's key occurrences are occ[starts[i]:starts[i+1]]
	occ     []int32 // the compared block of each key occurrence; -1: none
	first   []int32 // block b's members are members[first[b]:first[b+1]]
	members []int32 // records of each compared block, ascending within one
}

func (s *side) records() int { return len(s.starts) - 1 }

// addMembers appends the records of run as the members of the next block.
func (s *side) addMembers(run []entry) {
	for _, e := range run {
		s.members = append(s.members, e.rec)
	}
	s.first = append(s.first, int32(len(s.members)))
}

// place records block b (or -1) as the block of the next key occurrence of
// each record in run. Runs come in increasing hash order and each record's
// keys are sorted by hash, so the next occurrence is the one of this run.
func (s *side) place(run []entry, b int32, cursor []int32) {
	for _, e := range run {
		s.occ[s.starts[e.rec]+cursor[e.rec]] = b
		cursor[e.rec]++
	}
}

// blocksOf hashes and sorts the keys of records and numbers the compared
// blocks (2 to maxBlock records); size holds each block's size.
func blocksOf(records []*scoring.Prepared, only []Rule, maxBlock int, st *Stats) (s side, size []int32) {
	kh := hashKeys(records, only)
	entries := kh.sortedEntries()
	starts := kh.starts
	kh = nil // the entries carry the hashes from here on
	st.Keys = len(entries)
	s.starts = starts
	s.occ = make([]int32, len(entries))
	s.first = []int32{0}
	cursor := make([]int32, len(records))
	forRuns(entries, func(run []entry) {
		b := int32(-1)
		if len(run) >= 2 {
			st.Blocks++
			if len(run) > maxBlock {
				st.SkippedBlocks++
				st.SkippedRecords += len(run)
			} else {
				st.LargestBlock = max(st.LargestBlock, len(run))
				b = int32(len(size))
				size = append(size, int32(len(run)))
				s.addMembers(run)
			}
		}
		s.place(run, b, cursor)
	})
	return s, size
}

// linkBlocksOf is blocksOf for a linkage: a compared block is a key held on
// both sides by at most maxBlock records each; its size counts both sides.
func linkBlocksOf(left, right []*scoring.Prepared, only []Rule, maxBlock int, st *Stats) (l, r side, size []int32) {
	lh, rh := hashKeys(left, only), hashKeys(right, only)
	le, re := lh.sortedEntries(), rh.sortedEntries()
	ls, rs := lh.starts, rh.starts
	lh, rh = nil, nil // the entries carry the hashes from here on
	st.Keys = len(le) + len(re)
	l = side{starts: ls, occ: make([]int32, len(le)), first: []int32{0}}
	r = side{starts: rs, occ: make([]int32, len(re)), first: []int32{0}}
	lc, rc := make([]int32, len(left)), make([]int32, len(right))
	li, ri := 0, 0
	for li < len(le) || ri < len(re) {
		var h uint64
		switch {
		case ri == len(re):
			h = le[li].h
		case li == len(le):
			h = re[ri].h
		default:
			h = min(le[li].h, re[ri].h)
		}
		lj, rj := li, ri
		for lj < len(le) && le[lj].h == h {
			lj++
		}
		for rj < len(re) && re[rj].h == h {
			rj++
		}
		lrun, rrun := le[li:lj], re[ri:rj]
		b := int32(-1)
		if len(lrun) > 0 && len(rrun) > 0 {
			st.Blocks++
			if len(lrun) > maxBlock || len(rrun) > maxBlock {
				st.SkippedBlocks++
				st.SkippedRecords += len(lrun) + len(rrun)
			} else {
				st.LargestBlock = max(st.LargestBlock, len(lrun)+len(rrun))
				b = int32(len(size))
				size = append(size, int32(len(lrun)+len(rrun)))
				l.addMembers(lrun)
				r.addMembers(rrun)
			}
		}
		l.place(lrun, b, lc)
		r.place(rrun, b, rc)
		li, ri = lj, rj
	}
	return l, r, size
}

// candidatesAtMost bounds the number of distinct candidates of record i of
// s on to: the members of its blocks, itself left out when same.
func (s *side) candidatesAtMost(to *side, i int32, same bool) int {
	n := 0
	for _, b := range s.occ[s.starts[i]:s.starts[i+1]] {
		if b >= 0 {
			n += int(to.first[b+1] - to.first[b])
			if same {
				n--
			}
		}
	}
	return n
}

// rank orders the candidates of one record, lower first: more shared keys,
// then a smaller smallest shared block, then a lower record index, packed
// as 16 | 16 | 32 bits. The first two are the same seen from either record
// of a pair. Blocks over 65535 records (only with such a MaxBlock) rank as
// equally common.
type rank uint64

func rankOf(shared, rarest, id int32) rank {
	return rank(0xFFFF-min(uint64(shared), 0xFFFF))<<48 | rank(min(uint64(rarest), 0xFFFF))<<32 | rank(uint32(id))
}

// keepAll is the last kept rank of a record with no more than MaxCandidates
// candidates: it admits everything.
const keepAll = ^rank(0)

// tally counts the keys one record shares with each of its candidates.
// Its array is indexed by candidate and is zero between records.
type tally struct {
	count []shareCount
	cands []int32
	ranks []rank // scratch for last
}

// shareCount is what a record shares with one candidate; the two fields
// sit together so that counting touches one cache line per candidate.
type shareCount struct {
	shared int32 // distinct keys shared
	rarest int32 // size of the smallest block shared
}

func newTally(n int) *tally {
	return &tally{count: make([]shareCount, n)}
}

// collect counts the candidates of record i of from among the members of
// its blocks on to, leaving out record self and records at or below
// after (-1: none).
func (t *tally) collect(from, to *side, size []int32, i, self, after int32) {
	for _, b := range from.occ[from.starts[i]:from.starts[i+1]] {
		if b < 0 {
			continue
		}
		sz := size[b]
		m := to.members[to.first[b]:to.first[b+1]]
		if after >= 0 {
			k, _ := slices.BinarySearch(m, after+1)
			m = m[k:]
		}
		for _, j := range m {
			if j == self {
				continue
			}
			c := &t.count[j]
			if c.shared == 0 {
				t.cands = append(t.cands, j)
				c.rarest = sz
			} else if sz < c.rarest {
				c.rarest = sz
			}
			c.shared++
		}
	}
}

// last returns the rank of the k-th best candidate, or keepAll (and false)
// when there are at most k.
func (t *tally) last(k int) (rank, bool) {
	if len(t.cands) <= k {
		return keepAll, false
	}
	t.ranks = t.ranks[:0]
	for _, j := range t.cands {
		t.ranks = append(t.ranks, rankOf(t.count[j].shared, t.count[j].rarest, j))
	}
	slices.Sort(t.ranks)
	return t.ranks[k-1], true
}

func (t *tally) reset() {
	for _, j := range t.cands {
		t.count[j].shared = 0
	}
	t.cands = t.cands[:0]
}

// lastKept runs the first pass over the records of from: the rank of each
// one's k-th best candidate on to. The records are shared out in chunks
// among GOMAXPROCS goroutines, each with its own tally (8 bytes per
// candidate record); they are done when it returns. same: from and to are
// one set.
func lastKept(from, to *side, size []int32, k int, same bool, st *Stats) []rank {
	out := make([]rank, from.records())
	const chunk = 1024
	var next atomic.Int64
	var capped atomic.Int64
	var wg sync.WaitGroup
	workers := min(runtime.GOMAXPROCS(0), (len(out)+chunk-1)/chunk)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := newTally(to.records())
			var n int64
			for {
				lo := int(next.Add(chunk)) - chunk
				if lo >= len(out) {
					break
				}
				for i := lo; i < min(lo+chunk, len(out)); i++ {
					if from.candidatesAtMost(to, int32(i), same) <= k {
						out[i] = keepAll // no need to count them
						continue
					}
					self := int32(-1)
					if same {
						self = int32(i)
					}
					t.collect(from, to, size, int32(i), self, -1)
					var c bool
					if out[i], c = t.last(k); c {
						n++
					}
					t.reset()
				}
			}
			capped.Add(n)
		}()
	}
	wg.Wait()
	st.CappedRecords += int(capped.Load())
	return out
}

// emitKept runs the second pass, block by block (in hash order, as the
// uncapped enumeration goes, so that the records a scorer reads next are
// the ones it just read): each pair of a block that has it as its first
// shared compared block is emitted when either record ranks the other at
// or above its last kept rank. same: from and to are one set, and a
// block's pairs are its members i < j.
func emitKept(from, to *side, size []int32, lastFrom, lastTo []rank, same bool, st *Stats, fn func(i, j int32)) {
	for b := range int32(len(size)) {
		lm := from.members[from.first[b]:from.first[b+1]]
		rm := to.members[to.first[b]:to.first[b+1]]
		for x, i := range lm {
			oi := from.occ[from.starts[i]:from.starts[i+1]]
			js := rm
			if same {
				js = rm[x+1:]
			}
			for _, j := range js {
				shared, rarest, first := sharedBlocks(oi, to.occ[to.starts[j]:to.starts[j+1]], size, b)
				if !first {
					continue // emitted, or dropped, from an earlier block
				}
				if rankOf(shared, rarest, j) <= lastFrom[i] || rankOf(shared, rarest, i) <= lastTo[j] {
					fn(i, j)
					st.Pairs++
				} else {
					st.DroppedPairs++
				}
			}
		}
	}
}

// sharedBlocks intersects the compared blocks of two records (ascending
// block numbers, -1 for keys in no compared block), both in block b: how
// many they share and the size of the smallest, and whether b is the first
// shared. It stops at an earlier shared block.
func sharedBlocks(a, c []int32, size []int32, b int32) (shared, rarest int32, first bool) {
	x, y := 0, 0
	for x < len(a) && y < len(c) {
		p, q := a[x], c[y]
		switch {
		case p < 0:
			x++
		case q < 0:
			y++
		case p < q:
			x++
		case p > q:
			y++
		default:
			if shared == 0 {
				if p != b {
					return 0, 0, false
				}
				rarest = size[p]
			} else {
				rarest = min(rarest, size[p])
			}
			shared++
			x++
			y++
		}
	}
	return shared, rarest, shared > 0
}

// cappedPairs is Pairs with at most k candidates per record.
func cappedPairs(records []*scoring.Prepared, only []Rule, maxBlock, k int, fn func(i, j int32)) Stats {
	st := Stats{Records: len(records)}
	s, size := blocksOf(records, only, maxBlock, &st)
	last := lastKept(&s, &s, size, k, true, &st)
	emitKept(&s, &s, size, last, last, true, &st, fn)
	return st
}

// cappedLinkPairs is LinkPairs with at most k candidates per record.
func cappedLinkPairs(left, right []*scoring.Prepared, only []Rule, maxBlock, k int, fn func(i, j int32)) Stats {
	st := Stats{Records: len(left) + len(right)}
	l, r, size := linkBlocksOf(left, right, only, maxBlock, &st)
	lastL := lastKept(&l, &r, size, k, false, &st)
	lastR := lastKept(&r, &l, size, k, false, &st)
	emitKept(&l, &r, size, lastL, lastR, false, &st, fn)
	return st
}
