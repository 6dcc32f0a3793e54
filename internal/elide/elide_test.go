package elide

import (
	"testing"
	"unicode/utf8"
)

func TestText(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"Patient", 64, "Patient"},
		{"abcdef", 6, "abcdef"},
		{"abcdef", 3, "abc…"},
		{"aéb", 2, "a…"}, // é is two bytes: never cut in half
		{"éé", 3, "é…"},
		{"abc", 0, "…"},
	} {
		got := Text(tc.in, tc.n)
		if got != tc.want || !utf8.ValidString(got) {
			t.Errorf("Text(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}
