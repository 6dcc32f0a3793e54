// Package batch runs the offline jobs over whole files: deduplication of one
// set of records (Dedupe), linkage of two sets (Link), clustering of the
// scored pairs into people (Cluster) and the one-to-one assignment of a
// linkage (OneToOne).
//
// # Pipeline
//
// Candidate pairs come from package blocking, the same keys the server's
// candidate index uses, so what a batch job compares and what the server can
// find are one and the same. One goroutine enumerates the pairs and packs
// them into fixed-size batches; Options.Workers goroutines score batches
// with the scoring.Scorer; the goroutine that called Dedupe or Link receives
// the scored batches, puts them back in enumeration order and calls emit
// with each pair at or above Options.Threshold. emit therefore runs on the
// caller's goroutine, needs no locking, and sees pairs in a deterministic
// order: blocking's order (block by block, keys hashed with FNV and
// sorted), the same for any number of workers.
//
// # Memory
//
// The prepared records are held in memory (roughly 0.5–1 KiB each with their
// normalized record and phonetic codes); blocking needs about 24 bytes per
// key occurrence (a dozen keys per record) and 8 bytes per record plus 8 per
// record and core, however many candidates it keeps per record
// (Options.MaxCandidates, which bounds the pairs scored by records ×
// MaxCandidates). Pairs are never all held: a
// fixed pool of 4×Workers batches of batchSize pairs circulates between the
// enumerator, the workers and the writer, and the enumerator waits for a
// free batch, so at most 4×Workers×batchSize pairs are in flight whatever
// the input size. What the caller keeps is its business: the dedupe command
// keeps only the pairs at or above the threshold, compactly (EdgeList, 20
// bytes a pair), for clustering.
//
// # Clustering
//
// Transitive closure over scored pairs chains: one weak or wrong link merges
// two people, and at scale a single household of look-alikes becomes one
// "person". Cluster guards each merge; see its documentation.
package batch
