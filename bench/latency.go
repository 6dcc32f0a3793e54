package bench

import (
	"math"
	"math/bits"
	"time"
)

// subBuckets is the number of linear sub-buckets per power of two in
// LatencyHistogram: a recorded value is known to within 1/subBuckets
// (under 0.8%) of itself, HDR-histogram style, at a fixed 60 KiB.
const (
	subBucketBits = 7
	subBuckets    = 1 << subBucketBits
	// Values below subBuckets ns are exact; each power of two above gets
	// subBuckets buckets; 64-bit values need at most this many.
	latencyBuckets = subBuckets * (64 - subBucketBits + 1)
)

// LatencyHistogram records durations in log-linear buckets: exact below
// 128 ns, then 128 buckets per power of two, so any quantile is reported
// within 0.8% without keeping every sample. The maximum and minimum are
// kept exactly. The zero value is ready to use; it is not safe for
// concurrent use (give each worker its own and Merge them).
type LatencyHistogram struct {
	counts   []int64
	n        int64
	sum      float64 // ns
	min, max int64   // ns
}

func bucketOf(v uint64) int {
	if v < subBuckets {
		return int(v)
	}
	e := bits.Len64(v) - subBucketBits - 1 // v>>e is in [128, 256)
	return subBuckets*(e+1) + int(v>>uint(e)) - subBuckets
}

// bucketHigh is the largest value that falls into bucket i.
func bucketHigh(i int) uint64 {
	if i < subBuckets {
		return uint64(i)
	}
	e := i/subBuckets - 1
	m := uint64(i%subBuckets + subBuckets)
	return (m+1)<<uint(e) - 1
}

// Record adds one duration; negative durations count as zero.
func (h *LatencyHistogram) Record(d time.Duration) {
	if h.counts == nil {
		h.counts = make([]int64, latencyBuckets)
	}
	v := max(int64(d), 0)
	h.counts[bucketOf(uint64(v))]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.n++
	h.sum += float64(v)
}

// Merge adds every sample of o to h.
func (h *LatencyHistogram) Merge(o *LatencyHistogram) {
	if o.n == 0 {
		return
	}
	if h.counts == nil {
		h.counts = make([]int64, latencyBuckets)
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.n += o.n
	h.sum += o.sum
}

// Count is the number of samples.
func (h *LatencyHistogram) Count() int64 { return h.n }

// Max is the largest sample, exactly.
func (h *LatencyHistogram) Max() time.Duration { return time.Duration(h.max) }

// Min is the smallest sample, exactly.
func (h *LatencyHistogram) Min() time.Duration { return time.Duration(h.min) }

// Mean is the average sample.
func (h *LatencyHistogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum / float64(h.n))
}

// Quantile returns the smallest recorded value v (to bucket precision,
// reported as the top of its bucket, never above Max) such that at least
// q of the samples are ≤ v. Quantile(1) is Max; 0 for an empty histogram.
func (h *LatencyHistogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(h.n)))
	rank = min(max(rank, 1), h.n)
	var seen int64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return time.Duration(min(int64(bucketHigh(i)), h.max))
		}
	}
	return time.Duration(h.max)
}
