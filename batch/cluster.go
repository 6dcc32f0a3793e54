package batch

import (
	"cmp"
	"slices"

	"github.com/patientmatch/patientmatch/scoring"
)

// Default clustering parameters (see ClusterOptions).
const (
	DefaultSupport  = 0.5
	DefaultVeto     = 0.01
	DefaultMaxCross = 4096
)

// ClusterOptions configure Cluster. Every field has a usable zero value.
type ClusterOptions struct {
	// Threshold: a pair at or above this probability that is not a hazard
	// (see Veto) is a link, an edge that may merge two clusters.
	// Default (0): Thresholds.Possible.
	Threshold float64
	// Strong: a link at or above this probability and graded probable or
	// better merges two clusters on its own, when no cross pair vetoes it.
	// Default (0): the larger of Threshold and Thresholds.Probable.
	Strong float64
	// Support: for a link that is not strong, the share of the known cross
	// pairs of the two clusters that must be links. Default (0):
	// DefaultSupport.
	Support float64
	// Veto: a cross pair below this probability is evidence that the two
	// clusters are different people and forbids their merge; so is a pair
	// whose grade a hazard rule capped to possible although its probability
	// reaches Thresholds.Probable (twins, siblings, junior/senior). It is
	// never above Threshold. Default (0): DefaultVeto.
	Veto float64
	// Thresholds are the model's grade boundaries, used to tell a capped
	// pair. Default (zero): scoring.DefaultThresholds().
	Thresholds scoring.Thresholds
	// Score, when set, scores any two records (i < j), so that Cluster
	// judges every cross pair of two clusters, not only the pairs it was
	// given, as long as there are at most MaxCross of them. Without it only
	// the pairs given are known; give the pairs below the threshold too
	// (at least the vetoes) for the vetoes to work.
	Score func(i, j int32) Pair
	// MaxCross bounds the cross pairs Score is asked for in one merge
	// decision; larger merges are judged on the given pairs only.
	// Default (0): DefaultMaxCross.
	MaxCross int
}

func (o ClusterOptions) withDefaults() ClusterOptions {
	if o.Thresholds == (scoring.Thresholds{}) {
		o.Thresholds = scoring.DefaultThresholds()
	}
	if o.Threshold <= 0 {
		o.Threshold = o.Thresholds.Possible
	}
	if o.Strong <= 0 {
		o.Strong = max(o.Threshold, o.Thresholds.Probable)
	}
	if o.Support <= 0 {
		o.Support = DefaultSupport
	}
	if o.Veto <= 0 {
		o.Veto = DefaultVeto
	}
	o.Veto = min(o.Veto, o.Threshold)
	if o.MaxCross <= 0 {
		o.MaxCross = DefaultMaxCross
	}
	return o
}

// edge is a pair kept compactly for clustering: 20 bytes instead of Pair's
// 32, which matters when a million-record dedupe keeps millions of them.
type edge struct {
	a, b int32
	w, p float32
	g    scoring.Grade
}

// EdgeList collects scored pairs for ClusterEdges, 20 bytes a pair.
// The zero value is an empty list.
type EdgeList struct {
	e []edge
}

// Add appends p.
func (l *EdgeList) Add(p Pair) {
	a, b := p.Left, p.Right
	if a > b {
		a, b = b, a
	}
	l.e = append(l.e, edge{a: a, b: b, w: float32(p.Weight), p: float32(p.Probability), g: p.Grade})
}

// Len returns the number of pairs added.
func (l *EdgeList) Len() int { return len(l.e) }

// verdict is what one scored pair says about its two records.
type verdict int8

const (
	neutral verdict = iota // neither a link nor evidence against
	link                   // at or above the threshold
	veto                   // evidence that they are different people
)

func (o *ClusterOptions) judge(p float32, g scoring.Grade) verdict {
	switch {
	case float64(p) < o.Veto:
		return veto
	case g <= scoring.GradePossible && float64(p) >= o.Thresholds.Probable:
		return veto // a hazard rule capped it: twins, siblings, junior
	case float64(p) >= o.Threshold:
		return link
	}
	return neutral
}

// Cluster assigns each of n records a cluster number (0, 1, ... in order of
// each cluster's first record) from scored pairs, guarding against the
// chaining of plain connected components.
//
// The method is greedy agglomeration with a veto. Every record starts
// alone. The links (pairs at or above Threshold that no hazard rule capped)
// are taken strongest first (by weight, ties by record index); a link
// between two different clusters X and Y merges them only if
//
//   - no known cross pair of X and Y is a veto — below Veto, or capped to
//     possible by a hazard rule although its probability reaches probable
//     (one record of X is a twin, sibling or parent of one of Y), and
//   - the link is strong (at least Strong and graded probable or better),
//     or it is corroborated: at least two known cross pairs are links, and
//     at least Support of them are.
//
// The known cross pairs are all |X|·|Y| pairs when opts.Score is set (and
// there are at most MaxCross of them), else the pairs given. So one weak
// link never merges two clusters on its own (on household-rich data most
// pairs graded possible are relatives, not duplicates); a chain A–B
// strong, B–C weak, with A–C a clear non-match keeps C apart; two twins
// whose records each form a cluster stay apart however strong their
// household makes them look; and a true person's records, which mostly
// link to each other, come together even where some pairs are weak.
//
// Links are processed once, in order: a link refused early is not retried
// after later merges. Cost: sorting the links, plus per merge decision the
// cross pairs of the smaller cluster (or |X|·|Y| calls of Score).
func Cluster(n int, pairs []Pair, opts ClusterOptions) []int32 {
	var l EdgeList
	l.e = make([]edge, 0, len(pairs))
	for _, p := range pairs {
		l.Add(p)
	}
	return ClusterEdges(n, &l, opts)
}

// ClusterEdges is Cluster over an EdgeList. It reorders the list.
func ClusterEdges(n int, l *EdgeList, opts ClusterOptions) []int32 {
	o := opts.withDefaults()
	edges := l.e
	// Links first, strongest first (ties by records); the rest after, in
	// any order.
	nlinks := 0
	for k, e := range edges {
		if o.judge(e.p, e.g) == link {
			edges[k], edges[nlinks] = edges[nlinks], edges[k]
			nlinks++
		}
	}
	slices.SortFunc(edges[:nlinks], func(x, y edge) int {
		if c := cmp.Compare(y.w, x.w); c != 0 {
			return c
		}
		if c := cmp.Compare(x.a, y.a); c != 0 {
			return c
		}
		return cmp.Compare(x.b, y.b)
	})

	// Adjacency (CSR) of every given pair, for the known cross pairs.
	start := make([]int32, n+1)
	for _, e := range edges {
		start[e.a+1]++
		start[e.b+1]++
	}
	for i := 1; i <= n; i++ {
		start[i] += start[i-1]
	}
	adj := make([]int32, 2*len(edges))
	fill := slices.Clone(start[:n])
	for k, e := range edges {
		adj[fill[e.a]] = int32(k)
		fill[e.a]++
		adj[fill[e.b]] = int32(k)
		fill[e.b]++
	}
	fill = nil

	u := newUnionFind(n)
	for _, e := range edges[:nlinks] {
		x, y := u.find(e.a), u.find(e.b)
		if x == y {
			continue
		}
		strong := float64(e.p) >= o.Strong && e.g >= scoring.GradeProbable
		if mayMerge(&o, u, x, y, strong, edges, start, adj) {
			u.union(x, y)
		}
	}

	out := make([]int32, n)
	num := make(map[int32]int32)
	for i := range n {
		r := u.find(int32(i))
		c, ok := num[r]
		if !ok {
			c = int32(len(num))
			num[r] = c
		}
		out[i] = c
	}
	return out
}

// mayMerge decides whether clusters x and y (roots) may merge, as Cluster
// documents.
func mayMerge(o *ClusterOptions, u *unionFind, x, y int32, strong bool, edges []edge, start, adj []int32) bool {
	var links, known int
	if o.Score != nil && int64(u.size[x])*int64(u.size[y]) <= int64(o.MaxCross) {
		for a := x; a >= 0; a = u.next[a] {
			for b := y; b >= 0; b = u.next[b] {
				i, j := min(a, b), max(a, b)
				p := o.Score(i, j)
				switch o.judge(float32(p.Probability), p.Grade) {
				case veto:
					return false
				case link:
					links++
				}
				known++
			}
		}
	} else {
		small, big := x, y
		if u.size[small] > u.size[big] {
			small, big = big, small
		}
		for a := small; a >= 0; a = u.next[a] {
			for _, k := range adj[start[a]:start[a+1]] {
				e := edges[k]
				other := e.a
				if other == a {
					other = e.b
				}
				if u.find(other) != big {
					continue
				}
				switch o.judge(e.p, e.g) {
				case veto:
					return false
				case link:
					links++
				}
				known++
			}
		}
	}
	if strong {
		return true
	}
	// A weak link alone is one weak link: it needs a second to corroborate.
	return links >= 2 && float64(links) >= o.Support*float64(known)
}

// unionFind is a disjoint-set forest with union by size and path halving,
// and each set's members as a linked list (head is the root) so that a
// merge decision can visit them.
type unionFind struct {
	parent []int32
	size   []int32
	next   []int32 // next member of the same set, -1 at the end
	tail   []int32 // last member, valid at roots
}

func newUnionFind(n int) *unionFind {
	u := &unionFind{parent: make([]int32, n), size: make([]int32, n), next: make([]int32, n), tail: make([]int32, n)}
	for i := range n {
		u.parent[i] = int32(i)
		u.size[i] = 1
		u.next[i] = -1
		u.tail[i] = int32(i)
	}
	return u
}

func (u *unionFind) find(x int32) int32 {
	for u.parent[x] != x {
		u.parent[x] = u.parent[u.parent[x]]
		x = u.parent[x]
	}
	return x
}

// union merges the sets of roots x and y.
func (u *unionFind) union(x, y int32) {
	if u.size[x] < u.size[y] {
		x, y = y, x
	}
	u.parent[y] = x
	u.size[x] += u.size[y]
	// Append y's members after x's; the list head stays the root.
	u.next[u.tail[x]] = y
	u.tail[x] = u.tail[y]
}

// OneToOne keeps, of linkage pairs, each left and each right record in at
// most one pair: greedily, strongest first (by weight, ties by left then
// right index). The result is in that order.
func OneToOne(pairs []Pair) []Pair {
	s := slices.Clone(pairs)
	slices.SortFunc(s, func(x, y Pair) int {
		if c := cmp.Compare(y.Weight, x.Weight); c != 0 {
			return c
		}
		if c := cmp.Compare(x.Left, y.Left); c != 0 {
			return c
		}
		return cmp.Compare(x.Right, y.Right)
	})
	usedL := make(map[int32]bool)
	usedR := make(map[int32]bool)
	out := s[:0]
	for _, p := range s {
		if usedL[p.Left] || usedR[p.Right] {
			continue
		}
		usedL[p.Left], usedR[p.Right] = true, true
		out = append(out, p)
	}
	return slices.Clip(out)
}
