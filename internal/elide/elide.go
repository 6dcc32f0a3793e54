// Package elide shortens untrusted text before it is quoted in an error
// message or a log line (a resourceType, a parameter name, a token's kid),
// so that a hostile request cannot make a diagnostic as long as itself.
package elide

import "unicode/utf8"

// Text returns s when it is at most n bytes long, else its first n bytes,
// cut back to a whole UTF-8 character, followed by "…".
func Text(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := max(n, 0)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
