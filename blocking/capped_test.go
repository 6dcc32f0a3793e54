package blocking

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"github.com/patientmatch/patientmatch/record"
	"github.com/patientmatch/patientmatch/scoring"
)

// distinctKeys returns each record's keys under rules, sorted and without
// duplicates.
func distinctKeys(records []*scoring.Prepared, rules []Rule) [][]string {
	out := make([][]string, len(records))
	for i, p := range records {
		for _, r := range rules {
			out[i] = RuleKeys(p, r, out[i])
		}
		slices.Sort(out[i])
		out[i] = slices.Compact(out[i])
	}
	return out
}

// topCandidates is the naive statement of the ranking: for each record of
// from, its at most k best candidates on to, given which keys are compared
// and their block sizes. same: from and to are one set (a record is not
// its own candidate).
func topCandidates(from, to [][]string, size map[string]int, compared func(string) bool, k int, same bool) []map[int]bool {
	out := make([]map[int]bool, len(from))
	for i, ki := range from {
		type cand struct{ j, shared, rarest int }
		var cs []cand
		for j, kj := range to {
			if same && i == j {
				continue
			}
			c := cand{j: j, rarest: 1 << 30}
			for _, key := range ki {
				if compared(key) && slices.Contains(kj, key) {
					c.shared++
					c.rarest = min(c.rarest, size[key])
				}
			}
			if c.shared > 0 {
				cs = append(cs, c)
			}
		}
		slices.SortFunc(cs, func(a, b cand) int {
			return cmp.Or(cmp.Compare(b.shared, a.shared), cmp.Compare(a.rarest, b.rarest), cmp.Compare(a.j, b.j))
		})
		out[i] = map[int]bool{}
		for _, c := range cs[:min(k, len(cs))] {
			out[i][c.j] = true
		}
	}
	return out
}

// cappedOracle is the oracle of capped Pairs: a pair is kept when either
// record has the other among its k best.
func cappedOracle(records []*scoring.Prepared, rules []Rule, maxBlock, k int) map[[2]int32]bool {
	keys := distinctKeys(records, rules)
	size := map[string]int{}
	for _, ks := range keys {
		for _, key := range ks {
			size[key]++
		}
	}
	top := topCandidates(keys, keys, size, func(key string) bool { return size[key] >= 2 && size[key] <= maxBlock }, k, true)
	want := map[[2]int32]bool{}
	for i := range records {
		for j := range top[i] {
			want[[2]int32{int32(min(i, j)), int32(max(i, j))}] = true
		}
	}
	return want
}

// collectPairs runs Pairs (or LinkPairs) through emit and checks that each
// pair comes once, with i < j when within is set (Pairs).
func collectPairs(t *testing.T, within bool, run func(fn func(i, j int32)) Stats) (map[[2]int32]bool, [][2]int32, Stats) {
	t.Helper()
	got := map[[2]int32]bool{}
	var order [][2]int32
	st := run(func(i, j int32) {
		p := [2]int32{i, j}
		if within && i >= j {
			t.Fatalf("pair %v not ordered", p)
		}
		if got[p] {
			t.Fatalf("pair %v emitted twice", p)
		}
		got[p] = true
		order = append(order, p)
	})
	if st.Pairs != int64(len(got)) {
		t.Errorf("Stats.Pairs = %d, emitted %d", st.Pairs, len(got))
	}
	return got, order, st
}

func sameSet(t *testing.T, got, want map[[2]int32]bool) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("got %d pairs, want %d", len(got), len(want))
	}
	for p := range want {
		if !got[p] {
			t.Errorf("missing pair %v", p)
			break
		}
	}
	for p := range got {
		if !want[p] {
			t.Errorf("extra pair %v", p)
			break
		}
	}
}

// TestCappedPairsVersusOracle: capped Pairs emits exactly the pairs the
// naive ranking keeps, once each, at most N·K of them, and accounts for
// the pairs it drops.
func TestCappedPairsVersusOracle(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	records := randomRecords(rng, 250)
	sets := [][]Rule{Rules(), {RuleName}, {RulePhone, RuleAddress, RuleName}}
	for _, rules := range sets {
		for _, maxBlock := range []int{10, 1000} {
			all := Pairs(records, PairOptions{MaxBlock: maxBlock, Rules: rules, MaxCandidates: NoCandidateLimit}, func(i, j int32) {})
			for _, k := range []int{1, 3, 10, DefaultMaxCandidates} {
				t.Run(fmt.Sprintf("%v/max%d/k%d", rules, maxBlock, k), func(t *testing.T) {
					got, _, st := collectPairs(t, true, func(fn func(i, j int32)) Stats {
						return Pairs(records, PairOptions{MaxBlock: maxBlock, Rules: rules, MaxCandidates: k}, fn)
					})
					sameSet(t, got, cappedOracle(records, rules, maxBlock, k))
					if st.Pairs > int64(len(records)*k) {
						t.Errorf("%d pairs > N·K = %d", st.Pairs, len(records)*k)
					}
					if st.Pairs+st.DroppedPairs != all.Pairs {
						t.Errorf("kept %d + dropped %d != %d pairs without the cap", st.Pairs, st.DroppedPairs, all.Pairs)
					}
					if st.Blocks != all.Blocks || st.SkippedBlocks != all.SkippedBlocks || st.LargestBlock != all.LargestBlock || st.Keys != all.Keys {
						t.Errorf("block stats %+v differ from uncapped %+v", st, all)
					}
					if k == 1 && (st.CappedRecords == 0 || st.DroppedPairs == 0) {
						t.Errorf("K=1 capped nothing: %+v", st)
					}
				})
			}
		}
	}
}

// TestCappedLinkPairsVersusOracle: the same for LinkPairs, each side
// ranking its candidates on the other.
func TestCappedLinkPairsVersusOracle(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	left, right := randomRecords(rng, 120), randomRecords(rng, 150)
	rules := Rules()
	lk, rk := distinctKeys(left, rules), distinctKeys(right, rules)
	ls, rs, size := map[string]int{}, map[string]int{}, map[string]int{}
	for _, ks := range lk {
		for _, key := range ks {
			ls[key]++
			size[key]++
		}
	}
	for _, ks := range rk {
		for _, key := range ks {
			rs[key]++
			size[key]++
		}
	}
	for _, maxBlock := range []int{5, 1000} {
		compared := func(key string) bool {
			return ls[key] >= 1 && rs[key] >= 1 && ls[key] <= maxBlock && rs[key] <= maxBlock
		}
		all := LinkPairs(left, right, PairOptions{MaxBlock: maxBlock, MaxCandidates: NoCandidateLimit}, func(i, j int32) {})
		for _, k := range []int{1, 4, DefaultMaxCandidates} {
			t.Run(fmt.Sprintf("max%d/k%d", maxBlock, k), func(t *testing.T) {
				topL := topCandidates(lk, rk, size, compared, k, false)
				topR := topCandidates(rk, lk, size, compared, k, false)
				want := map[[2]int32]bool{}
				for i := range topL {
					for j := range topL[i] {
						want[[2]int32{int32(i), int32(j)}] = true
					}
				}
				for j := range topR {
					for i := range topR[j] {
						want[[2]int32{int32(i), int32(j)}] = true
					}
				}
				got, _, st := collectPairs(t, false, func(fn func(i, j int32)) Stats {
					return LinkPairs(left, right, PairOptions{MaxBlock: maxBlock, MaxCandidates: k}, fn)
				})
				sameSet(t, got, want)
				if n := int64((len(left) + len(right)) * k); st.Pairs > n {
					t.Errorf("%d pairs > (N+M)·K = %d", st.Pairs, n)
				}
				if st.Pairs+st.DroppedPairs != all.Pairs {
					t.Errorf("kept %d + dropped %d != %d pairs without the cap", st.Pairs, st.DroppedPairs, all.Pairs)
				}
			})
		}
	}
}

// TestCapKeepsBestSharing: in a crowded block, a record keeps the
// candidates that share the most keys, then the rarest ones, then the
// lowest indices.
func TestCapKeepsBestSharing(t *testing.T) {
	withContact := func(r record.Record, phone string) record.Record {
		r.Phone = phone
		r.Address = record.Address{Number: "12", Street: "main", PostalCode: "62704"}
		return r
	}
	// 300 namesakes born the same year on different days: one big
	// family_year and name block.
	crowd := func(n int) []record.Record {
		var out []record.Record
		for i := range n {
			out = append(out, rec("john", "smith", fmt.Sprintf("1980-%02d-%02d", 1+i/28, 1+i%28)))
		}
		return out
	}
	type pair [2]int32
	tests := []struct {
		name    string
		records []record.Record
		k       int
		keep    []pair // must be emitted
		drop    []pair // must not be
	}{
		{
			name: "duplicate at the end of a crowd shares the most keys",
			records: append(append([]record.Record{withContact(rec("john", "smith", "1980-12-30"), "2175551234")},
				crowd(300)...), withContact(rec("jon", "smith", "1980-12-30"), "5551234")),
			k:    1,
			keep: []pair{{0, 301}},
			drop: []pair{{150, 300}},
		},
		{
			// Records 0-49 share only the name key (a block of 51 with
			// record 51); 50 and 51 share only a phone (a block of 2).
			name: "rare key ranks before a common one; ties go to the lower index",
			records: append(crowdByYear(50), func() []record.Record {
				a := record.Record{Given: "zed", Family: "kim", Phone: "2175550000"}
				q := rec("ann", "lee", "1970-01-01")
				q.Phone = "2175550000"
				return []record.Record{a, q}
			}()...),
			k:    1,
			keep: []pair{{50, 51}, {0, 1}, {0, 49}},
			drop: []pair{{0, 51}, {1, 51}, {48, 51}, {1, 2}, {10, 20}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			records := make([]*scoring.Prepared, len(tc.records))
			for i, r := range tc.records {
				records[i] = scoring.PrepareWithoutTF(r)
			}
			got, _, st := collectPairs(t, true, func(fn func(i, j int32)) Stats {
				return Pairs(records, PairOptions{MaxCandidates: tc.k}, fn)
			})
			sameSet(t, got, cappedOracle(records, Rules(), DefaultMaxBlock, tc.k))
			for _, p := range tc.keep {
				if !got[p] {
					t.Errorf("pair %v dropped", p)
				}
			}
			for _, p := range tc.drop {
				if got[p] {
					t.Errorf("pair %v kept", p)
				}
			}
			if st.Pairs > int64(len(records)*tc.k) || st.DroppedPairs == 0 {
				t.Errorf("%d pairs kept, %d dropped, for %d records at K=%d", st.Pairs, st.DroppedPairs, len(records), tc.k)
			}
		})
	}
}

// crowdByYear makes n "ann lee"s born on January 1st of n different years
// from 1971, each with a phone of its own (so none gets the fallback keys
// of sparse records, which would make neighbours in years meet): they
// share the name key and nothing else.
func crowdByYear(n int) []record.Record {
	var out []record.Record
	for i := range n {
		r := rec("ann", "lee", fmt.Sprintf("%d-01-01", 1971+i))
		r.Phone = fmt.Sprintf("21755%05d", 10000+i)
		out = append(out, r)
	}
	return out
}

// TestCappedPairsDeterministic: two runs give the same pairs in the same
// order, and a cap no record reaches gives the uncapped enumeration, pair
// for pair in the same (block) order.
func TestCappedPairsDeterministic(t *testing.T) {
	recs, _ := synthRecords(t, 5_000, 3)
	run := func(k int) [][2]int32 {
		_, order, _ := collectPairs(t, true, func(fn func(i, j int32)) Stats {
			return Pairs(recs, PairOptions{MaxCandidates: k}, fn)
		})
		return order
	}
	a, b := run(4), run(4)
	if !slices.Equal(a, b) {
		t.Errorf("two runs differ: %d and %d pairs", len(a), len(b))
	}
	if len(a) == 0 {
		t.Error("no pairs")
	}
	if huge, all := run(1<<30), run(NoCandidateLimit); !slices.Equal(huge, all) {
		t.Errorf("an unreached cap changes the enumeration: %d pairs, %d without", len(huge), len(all))
	}
}

// TestHashKeysShares: hashing in parallel shares gives what one pass does,
// the hashes of the keys Keys returns.
func TestHashKeysShares(t *testing.T) {
	recs, _ := synthRecords(t, 10_000, 5)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(3)) // three shares, whatever the machine
	kh := hashKeys(recs, nil)
	if len(kh.parts) != 3 {
		t.Fatalf("%d parts, want 3", len(kh.parts))
	}
	var all []uint64
	starts := []int32{0}
	kh.each(func(i int, hs []uint64) {
		all = append(all, hs...)
		starts = append(starts, int32(len(all)))
	})
	oneStarts := make([]int32, len(recs)+1)
	one := hashPart(recs, nil, oneStarts)
	if !slices.Equal(all, one) || !slices.Equal(starts, oneStarts) || !slices.Equal(kh.starts, oneStarts) {
		t.Errorf("parallel hashing differs: %d keys, %d in one pass", len(all), len(one))
	}
	// The hashes are those of the keys Keys returns.
	for i, p := range recs {
		var want []uint64
		for _, k := range Keys(p, nil) {
			want = append(want, hashKey(k))
		}
		slices.Sort(want)
		if want = slices.Compact(want); !slices.Equal(all[starts[i]:starts[i+1]], want) {
			t.Fatalf("record %d: hashes %v, want those of its keys %v", i, all[starts[i]:starts[i+1]], want)
		}
	}
}

// TestPairsEmpty: no records, or one empty side, give no pairs, with or
// without the cap.
func TestPairsEmpty(t *testing.T) {
	some := randomRecords(rand.New(rand.NewPCG(9, 10)), 20)
	for _, k := range []int{0, NoCandidateLimit} {
		opts := PairOptions{MaxCandidates: k}
		fail := func(i, j int32) { t.Errorf("k=%d: pair (%d, %d) from nothing", k, i, j) }
		if st := Pairs(nil, opts, fail); st.Pairs != 0 || st.Keys != 0 {
			t.Errorf("k=%d: Pairs(nil) = %+v", k, st)
		}
		LinkPairs(nil, nil, opts, fail)
		LinkPairs(some, nil, opts, fail)
		LinkPairs(nil, some, opts, fail)
	}
}
