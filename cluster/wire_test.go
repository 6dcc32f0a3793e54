package cluster

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/patientmatch/patientmatch/matcher"
	"github.com/patientmatch/patientmatch/scoring"
)

// TestShardReplyCarriesMatches: a shard's matches cross the wire whole —
// grade, the cap that lowered it (every rule), the explanation — so a
// merged answer explains itself as one engine's does.
func TestShardReplyCarriesMatches(t *testing.T) {
	expl := []scoring.ComparisonResult{{Comparison: "given_name", Level: "else", LevelIndex: 5, Weight: -5.25}}
	var ms []matcher.Match
	for c := scoring.CapNone; c <= scoring.CapWeakAgreement; c++ {
		if c != scoring.CapNone && c.String() == "none" {
			t.Fatalf("cap %d has no name", c)
		}
		ms = append(ms, matcher.Match{ID: "p-" + c.String(), Resource: json.RawMessage(`{"resourceType":"Patient"}`),
			Probability: 0.75, Weight: 12.5, Grade: scoring.GradePossible, Cap: c, Explanation: expl})
	}
	data, err := json.Marshal(shardReply{Matches: ms})
	if err != nil {
		t.Fatal(err)
	}
	var got shardReply
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Matches, ms) {
		t.Errorf("matches after the wire:\n got %+v\nwant %+v", got.Matches, ms)
	}
}
