package blocking

import (
	"strings"
	"testing"
)

// TestStandInNamesKey: placeholders without erasure. A registered "Jane
// Doe" and a query for her share keys (birth date with an initial, the
// name codes), while stand-in contacts and birth dates make none.
func TestStandInNamesKey(t *testing.T) {
	a, b := rec("jane", "doe", "1991-12-31"), rec("jane", "doe", "1991-12-31")
	ka, kb := ruleKeys(a, RuleBirthInitial), ruleKeys(b, RuleBirthInitial)
	if len(ka) == 0 || !shareKey(ka, kb) {
		t.Errorf("jane doe birth_initial keys %v and %v: want shared keys", ka, kb)
	}
	stand := rec("unknown", "doe", "1900-01-01")
	stand.Phone = "0000000000"
	stand.Email = "unknown@unknown.com"
	for _, k := range keysOf(stand) {
		if !strings.HasPrefix(k, RuleName.Prefix()) {
			t.Errorf("stand-in record keyed %q: only its names may key", k)
		}
	}
}
