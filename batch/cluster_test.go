package batch

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/patientmatch/patientmatch/scoring"
)

// pr builds a pair with probability p and the grade the default thresholds
// give it, unless g is given (a capped grade).
func pr(a, b int32, p float64, g ...scoring.Grade) Pair {
	t := scoring.DefaultThresholds()
	grade := scoring.GradeNone
	switch {
	case p >= t.Certain:
		grade = scoring.GradeCertain
	case p >= t.Probable:
		grade = scoring.GradeProbable
	case p >= t.Possible:
		grade = scoring.GradePossible
	}
	if len(g) > 0 {
		grade = g[0]
	}
	return Pair{Left: a, Right: b, Weight: math.Log2(p / (1 - p)), Probability: p, Grade: grade}
}

// groups turns a cluster number per record into the sets of records, for
// comparison: [[0 1] [2]].
func groups(c []int32) [][]int32 {
	var out [][]int32
	for i, k := range c {
		for int(k) >= len(out) {
			out = append(out, nil)
		}
		out[k] = append(out[k], int32(i))
	}
	return out
}

func TestCluster(t *testing.T) {
	const (
		A, B, C, D int32 = 0, 1, 2, 3
	)
	possible := scoring.GradePossible
	tests := []struct {
		name  string
		n     int
		pairs []Pair
		score map[[2]int32]Pair // the Score hook, when set
		want  [][]int32
	}{
		{"no pairs: singletons", 3, nil, nil, [][]int32{{0}, {1}, {2}}},
		{"below threshold: apart", 2, []Pair{pr(A, B, 0.3)}, nil, [][]int32{{0}, {1}}},
		{"one weak link does not merge", 3, []Pair{pr(B, C, 0.7)}, nil, [][]int32{{0}, {1}, {2}}},
		{"one strong link merges", 3, []Pair{pr(B, C, 0.999)}, nil, [][]int32{{0}, {1, 2}}},
		{"a weak link corroborated by a second merges",
			3, []Pair{pr(A, B, 0.999999), pr(B, C, 0.7), pr(A, C, 0.6)}, nil,
			[][]int32{{A, B, C}}},
		{"chain vetoed by a clear non-match",
			3, []Pair{pr(A, B, 0.999999), pr(B, C, 0.7), pr(A, C, 0.001)}, nil,
			[][]int32{{A, B}, {C}}},
		{"chain of a strong and an uncorroborated weak link",
			3, []Pair{pr(A, B, 0.999999), pr(B, C, 0.7)}, nil,
			[][]int32{{A, B}, {C}}},
		{"chain vetoed through the Score hook",
			3, []Pair{pr(A, B, 0.999999), pr(B, C, 0.99)},
			map[[2]int32]Pair{{A, C}: pr(A, C, 0.001)},
			[][]int32{{A, B}, {C}}},
		{"chain corroborated through the Score hook",
			3, []Pair{pr(A, B, 0.999999), pr(B, C, 0.7)},
			map[[2]int32]Pair{{A, C}: pr(A, C, 0.8)},
			[][]int32{{A, B, C}}},
		{"weak link with little support stays apart",
			4, []Pair{pr(A, B, 0.99999), pr(A, C, 0.99999), pr(B, C, 0.9999), pr(A, D, 0.6), pr(B, D, 0.2), pr(C, D, 0.2)}, nil,
			[][]int32{{A, B, C}, {D}}},
		{"strong link merges despite little support",
			4, []Pair{pr(A, B, 0.99999), pr(A, C, 0.99999), pr(B, C, 0.9999), pr(A, D, 0.99), pr(B, D, 0.2), pr(C, D, 0.2)}, nil,
			[][]int32{{A, B, C, D}}},
		{"strong links vetoed: the later one loses",
			3, []Pair{pr(A, B, 0.999999), pr(B, C, 0.99999), pr(A, C, 0.005)}, nil,
			[][]int32{{A, B}, {C}}},
		{"twins: two people whose records look alike stay two",
			4, []Pair{
				pr(A, B, 0.999999), pr(C, D, 0.999998), // each twin's records
				pr(A, C, 0.99999, possible), pr(B, D, 0.9999, possible), // capped: twins
				pr(A, D, 0.999, possible), pr(B, C, 0.7)},
			nil,
			[][]int32{{A, B}, {C, D}}},
		{"a capped pair alone never merges",
			2, []Pair{pr(A, B, 0.99999, possible)}, nil,
			[][]int32{{A}, {B}}},
		{"four records of one person, strong and medium edges",
			4, []Pair{
				pr(A, B, 0.999999), pr(C, D, 0.97), pr(B, C, 0.8),
				pr(A, D, 0.6), pr(A, C, 0.3), pr(B, D, 0.55)},
			nil,
			[][]int32{{A, B, C, D}}},
		{"four records of one person, Score hook sees the same",
			4, []Pair{pr(A, B, 0.999999), pr(C, D, 0.97), pr(B, C, 0.8)},
			map[[2]int32]Pair{{A, D}: pr(A, D, 0.6), {A, C}: pr(A, C, 0.3), {B, D}: pr(B, D, 0.55)},
			[][]int32{{A, B, C, D}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts ClusterOptions
			if tt.score != nil {
				given := map[[2]int32]Pair{}
				for _, p := range tt.pairs {
					given[[2]int32{p.Left, p.Right}] = p
				}
				opts.Score = func(i, j int32) Pair {
					if i >= j {
						t.Errorf("Score(%d, %d): want i < j", i, j)
					}
					if p, ok := tt.score[[2]int32{i, j}]; ok {
						return p
					}
					if p, ok := given[[2]int32{i, j}]; ok {
						return p
					}
					return pr(i, j, 0.3)
				}
			}
			got := groups(Cluster(tt.n, tt.pairs, opts))
			if !slices.EqualFunc(got, tt.want, slices.Equal) {
				t.Errorf("clusters = %v, want %v", got, tt.want)
			}
			// The order of the pairs given does not matter.
			rev := slices.Clone(tt.pairs)
			slices.Reverse(rev)
			for k := range rev {
				rev[k].Left, rev[k].Right = rev[k].Right, rev[k].Left
			}
			if got2 := groups(Cluster(tt.n, rev, opts)); !slices.EqualFunc(got2, got, slices.Equal) {
				t.Errorf("reversed pairs: clusters = %v, want %v", got2, got)
			}
		})
	}
}

// TestClusterProperties checks, on random pair sets, what holds for any
// input: every record gets a cluster, numbered by first appearance; shuffling
// the pairs changes nothing; no two records joined by a veto share a
// cluster; and every cluster of two or more is connected by links.
func TestClusterProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	opts := ClusterOptions{}.withDefaults()
	for iter := range 200 {
		n := 2 + rng.IntN(30)
		var pairs []Pair
		seen := map[[2]int32]bool{}
		for range rng.IntN(3 * n) {
			a, b := int32(rng.IntN(n)), int32(rng.IntN(n))
			if a == b || seen[[2]int32{min(a, b), max(a, b)}] {
				continue
			}
			seen[[2]int32{min(a, b), max(a, b)}] = true
			p := []float64{0.001, 0.2, 0.6, 0.9, 0.97, 0.999999}[rng.IntN(6)]
			pairs = append(pairs, pr(a, b, p))
		}
		c := Cluster(n, pairs, ClusterOptions{})
		if len(c) != n {
			t.Fatalf("iter %d: %d clusters for %d records", iter, len(c), n)
		}
		next := int32(0)
		for i, k := range c {
			if k > next {
				t.Fatalf("iter %d: record %d has cluster %d before %d appeared", iter, i, k, next)
			}
			if k == next {
				next++
			}
		}
		shuffled := slices.Clone(pairs)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		if c2 := Cluster(n, shuffled, ClusterOptions{}); !slices.Equal(c, c2) {
			t.Fatalf("iter %d: shuffled pairs give %v, want %v", iter, c2, c)
		}
		// Connectivity by links within each cluster.
		u := newUnionFind(n)
		for _, p := range pairs {
			v := opts.judge(float32(p.Probability), p.Grade)
			if v == veto && c[p.Left] == c[p.Right] {
				t.Fatalf("iter %d: vetoed pair %d-%d in one cluster", iter, p.Left, p.Right)
			}
			if v == link && c[p.Left] == c[p.Right] {
				if x, y := u.find(p.Left), u.find(p.Right); x != y {
					u.union(x, y)
				}
			}
		}
		for i := range n {
			for j := i + 1; j < n; j++ {
				if c[i] == c[j] && u.find(int32(i)) != u.find(int32(j)) {
					t.Fatalf("iter %d: %d and %d share a cluster without a path of links", iter, i, j)
				}
			}
		}
	}
}

func TestOneToOne(t *testing.T) {
	tests := []struct {
		name  string
		pairs []Pair
		want  [][2]int32
	}{
		{"empty", nil, nil},
		{"best first", []Pair{pr(0, 0, 0.9), pr(0, 1, 0.99), pr(1, 1, 0.98), pr(1, 0, 0.7)},
			[][2]int32{{0, 1}, {1, 0}}},
		{"ties by left then right index", []Pair{pr(1, 0, 0.9), pr(0, 0, 0.9), pr(0, 1, 0.9)},
			[][2]int32{{0, 0}}},
		{"disjoint pairs all kept", []Pair{pr(0, 2, 0.6), pr(1, 1, 0.7), pr(2, 0, 0.8)},
			[][2]int32{{2, 0}, {1, 1}, {0, 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := slices.Clone(tt.pairs)
			got := OneToOne(tt.pairs)
			var ids [][2]int32
			for _, p := range got {
				ids = append(ids, [2]int32{p.Left, p.Right})
			}
			if !slices.Equal(ids, tt.want) {
				t.Errorf("OneToOne = %v, want %v", ids, tt.want)
			}
			if !slices.Equal(in, tt.pairs) {
				t.Error("OneToOne changed its input")
			}
		})
	}
}
