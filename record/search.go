package record

// FoldWords folds s the way names are folded before they are compared
// (lower-case ASCII, diacritics removed, apostrophes joined, other
// punctuation a word break) and joins the words with single spaces. FHIR
// string search (GET /fhir/Patient?family=…) uses it, so that a search and
// a match agree on what "the same name" means: "Marché", "MARCHE" and
// "marche" are all "marche".
func FoldWords(s string) string { return joinWords(s) }

// FoldAlnum folds s and keeps only its letters and digits, as postal codes
// are compared ("SW1A 1AA" and "sw1a1aa" are the same).
func FoldAlnum(s string) string { return alnumLower(s) }
