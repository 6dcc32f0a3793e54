// Package bench is patientmatch's measuring harness: accuracy of the batch
// pipeline against labelled data, and latency of a running server under
// load.
//
// Accuracy (RunAccuracy) scores every candidate pair of a dataset through a
// PairSource — BatchSource is package batch, the very code of the dedupe
// and link commands — with no threshold, then compares pairs and clusters
// with a truth file (ReadTruth; read here and nowhere in matching code).
// It reports pairwise precision, recall and F1 per grade and over a sweep
// of match weights, the true and false pairs at each grade, pairs
// completeness and reduction ratio of blocking, and B-cubed measures of the
// clustering; as text, JSON, or a self-contained HTML page (WriteHTML).
// Every candidate pair is held in memory (32 bytes each, plus 24 for the
// sweep), which suits labelled sets up to a few million candidates.
//
// Load (RunLoad) sends $match requests to a server. At a fixed rate it is
// open-loop: request i is due at t0 + i/rate whatever happened before, and
// its latency runs from that intended start, so a server stall shows in
// every request it delayed instead of being hidden by a client that waited
// (coordinated omission). Closed loop (Max) finds throughput and says its
// latencies understate stalls. Latencies go into an HDR-style log-linear
// histogram (LatencyHistogram, 0.8% precision, fixed memory).
package bench
