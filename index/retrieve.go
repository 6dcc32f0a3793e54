package index

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"unsafe"

	"github.com/blevesearch/bleve/v2/index/scorch"
	segment "github.com/blevesearch/scorch_segment_api/v2"

	"github.com/patientmatch/patientmatch/blocking"
	"github.com/patientmatch/patientmatch/scoring"
)

// Candidate retrieval reads bleve's term dictionaries and posting lists
// directly: one dictionary lookup per key and segment, then the doc
// numbers. A bleve search (a disjunction of term queries) did the same
// lookups and then scored every posting with TF-IDF, kept a top-N heap and
// resolved every hit's external id: 80% of an in-process Match at 300k
// patients (bench/README, "Hot path").
//
// Ranking is decoy-proof: keys are taken rarest first, and every patient
// sharing one of the rarest keys reaches scoring, however many patients
// share the common ones. TF-IDF ranked a document by the sum of its
// shared terms' weights divided by the square root of its number of
// terms, so 2,884 planted look-alikes sharing the name and birth-date keys
// of a query, each with fewer keys than the true record, pushed it out of
// the 64 best (issue 14, item 11).

// maxScanDF is the document frequency above which a key's posting list is
// no longer scanned once the candidate limit is reached: its patients add
// weight to the candidates already found (probed by doc number) but are
// not candidates themselves. A key held by more than this many patients
// is too common to single anyone out, and scanning it would let a flood
// of look-alikes make every query slow.
const maxScanDF = 1024

// exactPrefix starts the exact-identity key: the whole given name, the
// whole family name (the two in sorted order, as RuleName does, so a swap
// still meets) and the full birth date. Look-alike names share the
// phonetic keys of blocking; only the spelled-out name tells them apart.
// It is an index term only, not a blocking rule: batch jobs do not need
// it, and it changes no pair they compare.
const exactPrefix = "x:"

// Keys appends the index keys of p to dst: its blocking keys
// (blocking.Keys) and its exact-identity key. Documents are indexed and
// queries are made with the same keys.
func Keys(p *scoring.Prepared, dst []string) []string {
	dst = blocking.Keys(p, dst)
	if k := exactKey(p); k != "" {
		dst = append(dst, k)
	}
	return dst
}

// exactKey is the exact-identity key of p, or "" when p lacks a usable
// given name, family name (placeholders count as missing, as they do for
// blocking) or full birth date.
func exactKey(p *scoring.Prepared) string {
	r := &p.Rec
	d := r.BirthDate
	if p.GivenDM1 == "" || p.FamilyDM1 == "" || d.Year == 0 || d.Month == 0 || d.Day == 0 {
		return ""
	}
	a, b := r.Given, r.Family
	if b < a {
		a, b = b, a
	}
	buf := make([]byte, 0, len(exactPrefix)+len(a)+len(b)+11)
	buf = append(buf, exactPrefix...)
	buf = append(buf, a...)
	buf = append(buf, '|')
	buf = append(buf, b...)
	buf = append(buf, '|')
	buf = appendDigits(buf, d.Year, 4)
	buf = appendDigits(buf, d.Month, 2)
	buf = appendDigits(buf, d.Day, 2)
	return string(buf)
}

// appendDigits appends v in decimal, zero-padded to width.
func appendDigits(b []byte, v, width int) []byte {
	var tmp [20]byte
	i := len(tmp)
	for v > 0 || len(tmp)-i < width {
		i--
		tmp[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, tmp[i:]...)
}

// candidate is one patient found through the keys, by its place in the
// snapshot: segment index and the segment's own doc number.
type candidate struct {
	seg    int
	num    uint64
	weight float64
}

// retrieval is the scratch state of one Candidates call; pooled.
type retrieval struct {
	pls   []segment.PostingsList // key i, segment s at i*len(segs)+s
	dfs   []uint64
	order []int
	cands []candidate
	at    map[uint64]int // seg<<40 | num → index in cands
	byDoc []int          // cands indexes in (seg, num) order, for probing
	// it is the posting iterator handed back to Iterator for reuse, so
	// that a query does not allocate one per key and segment. Pooled with
	// the retrieval, it may keep the last segment it read reachable until
	// the pool drops it; it is reset before it reads anything again.
	it segment.PostingsIterator
}

var retrievals = sync.Pool{New: func() any { return &retrieval{at: make(map[uint64]int, 256)} }}

func (r *retrieval) reset() {
	clear(r.pls)
	r.pls, r.dfs, r.order, r.cands, r.byDoc = r.pls[:0], r.dfs[:0], r.order[:0], r.cands[:0], r.byDoc[:0]
	clear(r.at)
}

func docKey(seg int, num uint64) uint64 { return uint64(seg)<<40 | num }

// candidates ranks the patients sharing keys in the current snapshot of
// the index and returns the ids of the best limit of them, best first.
//
// Keys are visited in increasing document frequency. As long as the
// patients of the keys visited so far number at most limit, all of them
// are candidates ("the rarest keys win"); the remaining places go to the
// patients with the greatest sum of inverse document frequencies,
// log2(1 + N/df), over the keys they share, ties broken by index order.
func (ix *Index) candidates(ctx context.Context, keys []string, limit int) ([]string, error) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.closed {
		return nil, ErrClosed
	}
	adv, err := ix.idx.Advanced()
	if err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	rd, err := adv.Reader()
	if err != nil {
		return nil, fmt.Errorf("index: reader: %w", err)
	}
	defer rd.Close()
	snap, ok := rd.(*scorch.IndexSnapshot)
	if !ok {
		return nil, fmt.Errorf("index: reader is a %T, not a scorch snapshot", rd)
	}
	r := retrievals.Get().(*retrieval)
	defer func() { r.reset(); retrievals.Put(r) }()
	segs := snap.Segments()
	if err := r.lookup(segs, keys); err != nil {
		return nil, err
	}
	total, err := snap.DocCount()
	if err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	sure, err := r.gather(ctx, segs, keys, limit, total)
	if err != nil {
		return nil, err
	}
	return r.best(segs, sure, limit)
}

// lookup finds every key's posting list in every segment (deleted
// documents excluded) and its document frequency, and orders the keys
// rarest first; keys nobody has are left out.
func (r *retrieval) lookup(segs []*scorch.SegmentSnapshot, keys []string) error {
	ns := len(segs)
	r.pls = slices.Grow(r.pls[:0], len(keys)*ns)[:len(keys)*ns]
	r.dfs = slices.Grow(r.dfs[:0], len(keys))[:len(keys)]
	clear(r.dfs)
	for s, ss := range segs {
		d, err := ss.Segment().Dictionary(keyField)
		if err != nil {
			return fmt.Errorf("index: dictionary: %w", err)
		}
		del := ss.Deleted()
		for i, k := range keys {
			pl, err := d.PostingsList(unsafe.Slice(unsafe.StringData(k), len(k)), del, nil)
			if err != nil {
				return fmt.Errorf("index: postings: %w", err)
			}
			r.pls[i*ns+s] = pl
			r.dfs[i] += pl.Count()
		}
	}
	r.order = r.order[:0]
	for i := range keys {
		if r.dfs[i] > 0 {
			r.order = append(r.order, i)
		}
	}
	slices.SortFunc(r.order, func(a, b int) int {
		if c := cmp.Compare(r.dfs[a], r.dfs[b]); c != 0 {
			return c
		}
		return cmp.Compare(keys[a], keys[b])
	})
	return nil
}

// gather collects and weighs the patients of the keys, rarest key first,
// and returns how many of the first candidates came from the longest
// run of rarest keys holding at most limit patients.
func (r *retrieval) gather(ctx context.Context, segs []*scorch.SegmentSnapshot, keys []string, limit int, total uint64) (int, error) {
	ns := len(segs)
	sure, sureOpen := 0, true
	for _, i := range r.order {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		df := r.dfs[i]
		w := math.Log2(1 + float64(total)/float64(df))
		common := df > maxScanDF
		if common && len(r.cands) >= limit {
			if err := r.probe(r.pls[i*ns:(i+1)*ns], w); err != nil {
				return 0, err
			}
			continue
		}
		complete := true
		for s := range segs {
			whole, err := r.scan(r.pls[i*ns+s], s, w, common, limit)
			if err != nil {
				return 0, err
			}
			complete = complete && whole
		}
		if sureOpen && !complete {
			sureOpen = false
		}
		if sureOpen {
			if len(r.cands) <= limit {
				sure = len(r.cands)
			} else {
				sureOpen = false
			}
		}
	}
	return sure, nil
}

// scan adds w to every patient of pl (segment seg), adding new candidates;
// for a common key, no more once there are limit of them. It reports
// whether every patient of pl is now a candidate.
func (r *retrieval) scan(pl segment.PostingsList, seg int, w float64, common bool, limit int) (bool, error) {
	it := pl.Iterator(false, false, false, r.it)
	r.it = it
	whole := true
	for {
		p, err := it.Next()
		if err != nil {
			return false, fmt.Errorf("index: postings: %w", err)
		}
		if p == nil {
			return whole, nil
		}
		k := docKey(seg, p.Number())
		if j, ok := r.at[k]; ok {
			r.cands[j].weight += w
			continue
		}
		if common && len(r.cands) >= limit {
			whole = false
			continue
		}
		r.at[k] = len(r.cands)
		r.cands = append(r.cands, candidate{seg: seg, num: p.Number(), weight: w})
	}
}

// probe adds w to the candidates found in pls (one posting list per
// segment), advancing each list to the candidates' doc numbers instead of
// reading it whole.
func (r *retrieval) probe(pls []segment.PostingsList, w float64) error {
	if len(r.byDoc) != len(r.cands) {
		r.byDoc = r.byDoc[:0]
		for j := range r.cands {
			r.byDoc = append(r.byDoc, j)
		}
		slices.SortFunc(r.byDoc, func(a, b int) int {
			ca, cb := &r.cands[a], &r.cands[b]
			return cmp.Or(cmp.Compare(ca.seg, cb.seg), cmp.Compare(ca.num, cb.num))
		})
	}
	var (
		it        segment.PostingsIterator
		seg       = -1
		cur       uint64 // doc number the iterator is at, when at one
		at, ended bool
	)
	for _, j := range r.byDoc {
		c := &r.cands[j]
		if c.seg != seg {
			seg, at, ended = c.seg, false, false
			it = pls[seg].Iterator(false, false, false, r.it)
			r.it = it
		}
		if ended || (at && c.num < cur) {
			continue
		}
		if !at || c.num > cur {
			p, err := it.Advance(c.num)
			if err != nil {
				return fmt.Errorf("index: postings: %w", err)
			}
			if p == nil {
				ended = true
				continue
			}
			cur, at = p.Number(), true
		}
		if cur == c.num {
			c.weight += w
		}
	}
	return nil
}

// best orders the candidates — the first sure of them always kept — and
// returns the ids of the first limit.
func (r *retrieval) best(segs []*scorch.SegmentSnapshot, sure, limit int) ([]string, error) {
	byWeight := func(a, b candidate) int {
		if c := cmp.Compare(b.weight, a.weight); c != 0 {
			return c
		}
		return cmp.Or(cmp.Compare(a.seg, b.seg), cmp.Compare(a.num, b.num))
	}
	rest := r.cands[sure:]
	slices.SortFunc(rest, byWeight)
	n := min(len(r.cands), limit) // sure <= limit
	chosen := r.cands[:n]
	slices.SortFunc(chosen, byWeight)
	ids := make([]string, 0, n)
	for _, c := range chosen {
		id, err := segs[c.seg].DocID(c.num)
		if err != nil {
			return nil, fmt.Errorf("index: doc id: %w", err)
		}
		ids = append(ids, string(id))
	}
	return ids, nil
}
