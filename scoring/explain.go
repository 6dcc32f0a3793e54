package scoring

// ComparisonResult explains one comparison of a scored pair: which level was
// reached and what weight it contributed.
type ComparisonResult struct {
	Comparison string  // comparison name, e.g. "given_name", "birth_date", "household"
	Level      string  // level label, e.g. "exact", "nickname", "jw>=0.92", "missing"
	LevelIndex int     // index of the level within the comparison
	Weight     float64 // log2(m/u) contributed (0 for missing)
	// TFAdjusted is true when Weight used a name's term frequency: the
	// agreeing value's in place of the level's u (exact name agreement),
	// or the commoner spelling's lowering a fuzzy family-name level
	// (Scorer.levelWeight).
	TFAdjusted bool
}
