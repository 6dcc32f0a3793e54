package scoring

import "math/bits"

// Allocation-free string comparators for the scoring hot path.
//
// matchr's JaroWinkler and DamerauLevenshtein convert to []rune and allocate
// flag slices, matrices and maps on every call. Normalized records hold
// lower-case ASCII, so these versions work on bytes with fixed-size stack
// buffers and give the same answers as matchr on inputs up to MaxCompareLen
// bytes (checked by the "versus" tests in strcmp_test.go). Longer inputs are
// truncated to their first MaxCompareLen bytes: no name, street or
// identifier worth comparing is that long.

// MaxCompareLen is the number of leading bytes the string comparators look at.
const MaxCompareLen = 64

// maxDLLen bounds DamerauLevenshtein's inputs: it keeps a full matrix on the
// stack, so its cap is smaller than MaxCompareLen. It compares identifiers
// and dates, which are short.
const maxDLLen = 32

// JaroWinkler returns the Jaro–Winkler similarity of a and b in [0,1]: 1 for
// equal strings, 0 when nothing is in common or either is empty. It follows
// matchr.JaroWinkler(a, b, false) exactly (including its use of the longer
// length for the match window and its rule that digits earn no prefix
// bonus) so that the two are interchangeable.
func JaroWinkler(a, b string) float64 { return jaroWinkler(a, b) }

// jaroWinkler is JaroWinkler for strings or byte slices, so that a name
// built in a stack buffer (joinedAlike) is compared without allocating.
func jaroWinkler[A, B ~string | ~[]byte](a A, b B) float64 {
	if len(a) > MaxCompareLen {
		a = a[:MaxCompareLen]
	}
	if len(b) > MaxCompareLen {
		b = b[:MaxCompareLen]
	}
	la, lb := len(a), len(b)
	if la == 0 || lb == 0 {
		return 0
	}
	if string(a) == string(b) { // no allocation: the compiler compares in place
		return 1
	}
	maxLen := la
	if lb > maxLen {
		maxLen = lb
	}
	window := maxLen/2 - 1
	if window < 0 {
		window = 0
	}
	// Match flags as bit sets: MaxCompareLen is 64, one bit per byte.
	var fa, fb uint64
	common := 0
	for i := 0; i < la; i++ {
		lo := 0
		if i >= window {
			lo = i - window
		}
		hi := lb - 1
		if i+window <= lb-1 {
			hi = i + window
		}
		c := a[i]
		for j := lo; j <= hi; j++ {
			if b[j] == c && fb&(1<<uint(j)) == 0 {
				fb |= 1 << uint(j)
				fa |= 1 << uint(i)
				common++
				break
			}
		}
	}
	if common == 0 {
		return 0
	}
	// Count transpositions: the k-th flagged byte of a against the k-th
	// flagged byte of b.
	trans := 0
	for fa != 0 {
		i := bits.TrailingZeros64(fa)
		j := bits.TrailingZeros64(fb)
		fa &= fa - 1
		fb &= fb - 1
		if a[i] != b[j] {
			trans++
		}
	}
	trans /= 2
	c := float64(common)
	d := (c/float64(la) + c/float64(lb) + float64(common-trans)/c) / 3
	if d > 0.7 {
		p := 4
		if maxLen < 4 {
			p = maxLen
		}
		i := 0
		for i < p && i < la && i < lb && a[i] == b[i] && !isDigit(a[i]) {
			i++
		}
		if i > 0 {
			d += float64(i) * 0.1 * (1 - d)
		}
	}
	return d
}

// Similarity returns 1 − normalized Damerau–Levenshtein distance, in [0,1].
// Two empty strings are similar (1); one empty string is not (0).
func Similarity(a, b string) float64 {
	if len(a) > maxDLLen {
		a = a[:maxDLLen]
	}
	if len(b) > maxDLLen {
		b = b[:maxDLLen]
	}
	n := len(a)
	if len(b) > n {
		n = len(b)
	}
	if n == 0 {
		return 1
	}
	return 1 - float64(DamerauLevenshtein(a, b))/float64(n)
}

// DamerauLevenshtein returns the Damerau–Levenshtein distance (insertions,
// deletions, substitutions and transpositions of adjacent characters, with
// edits allowed between transposed characters) of the first maxDLLen (32)
// bytes of a and b. It follows matchr.DamerauLevenshtein exactly on such
// inputs and allocates nothing.
func DamerauLevenshtein(a, b string) int {
	if len(a) > maxDLLen {
		a = a[:maxDLLen]
	}
	if len(b) > maxDLLen {
		b = b[:maxDLLen]
	}
	la, lb := len(a), len(b)
	if la == 0 {
		return lb
	}
	if lb == 0 {
		return la
	}
	inf := la + lb
	var m [maxDLLen][maxDLLen]uint8
	// seen[c] is 1 + the last row of a where byte c occurred, 0 if none.
	var seen [256]uint8
	if a[0] != b[0] {
		m[0][0] = 1
	}
	seen[a[0]] = 1
	for i := 1; i < la; i++ {
		del := int(m[i-1][0]) + 1
		ins := i + 2
		match := i + 1
		if a[i] == b[0] {
			match = i
		}
		m[i][0] = uint8(min(del, ins, match))
	}
	for j := 1; j < lb; j++ {
		del := (j + 1) * 2
		ins := int(m[0][j-1]) + 1
		match := j + 1
		if a[0] == b[j] {
			match = j
		}
		m[0][j] = uint8(min(del, ins, match))
	}
	for i := 1; i < la; i++ {
		maxSrc := -1
		if a[i] == b[0] {
			maxSrc = 0
		}
		for j := 1; j < lb; j++ {
			s := int(seen[b[j]]) - 1
			jSwap := maxSrc
			del := int(m[i-1][j]) + 1
			ins := int(m[i][j-1]) + 1
			match := int(m[i-1][j-1])
			if a[i] != b[j] {
				match++
			} else {
				maxSrc = j
			}
			swap := inf
			if s >= 0 && jSwap != -1 {
				pre := 0
				if s != 0 || jSwap != 0 {
					pre = int(m[max(0, s-1)][max(0, jSwap-1)])
				}
				swap = i + j + pre - s - jSwap - 1
			}
			m[i][j] = uint8(min(del, ins, match, swap))
		}
		seen[a[i]] = uint8(i + 1)
	}
	return int(m[la-1][lb-1])
}

// withinOneEdit reports whether a and b differ by at most one insertion,
// deletion, substitution or transposition of adjacent characters — that is,
// DamerauLevenshtein(a, b) <= 1 — in one linear pass.
func withinOneEdit(a, b string) bool {
	la, lb := len(a), len(b)
	switch {
	case la == lb:
		i := 0
		for i < la && a[i] == b[i] {
			i++
		}
		if i == la {
			return true
		}
		// First difference at i: either one substitution or a swap of i, i+1.
		if a[i+1:] == b[i+1:] {
			return true
		}
		return i+1 < la && a[i] == b[i+1] && a[i+1] == b[i] && a[i+2:] == b[i+2:]
	case la == lb+1:
		return oneDeletion(a, b)
	case lb == la+1:
		return oneDeletion(b, a)
	}
	return false
}

// oneDeletion reports whether deleting one byte of long gives short.
func oneDeletion(long, short string) bool {
	i := 0
	for i < len(short) && long[i] == short[i] {
		i++
	}
	return long[i+1:] == short[i:]
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
