// Package scoring decides how alike two patient records are: comparators,
// a Fellegi–Sunter model with hazard-aware grading, explanations, and the
// unsupervised training (u from random pairs, m and λ by EM) that fits the
// model to a dataset.
//
// The flow is Prepare (once per record: placeholders dropped, phonetic
// codes, nickname groups, digit strings, term frequencies) → Compare (one
// level per comparison into a fixed array, no allocation) → Scorer.Score
// (weights from a compiled table, posterior, grade, caps).
//
// The comparisons are given name, family name, birth date, sex, household
// and identifier. A record holding one name (a mononym, or a given name
// with the family name missing) is compared with whichever of the other
// record's names it agrees with best (alignSingleName). Address, postal code, city, phone and email are one
// joint "household" comparison with ordered levels, because households
// share all of them: scored as five independent fields they let a sibling
// outweigh a different first name and birth date (MATCHING-NOTES.md). For
// the same reason Train keeps the household comparison passive in EM, and
// leaves family name out of passes blocked on a household field; and grade
// caps (caps.go) keep twins, juniors, siblings and namesakes from being
// graded certain whatever their probability.
package scoring
