package cluster

import (
	"fmt"
	"testing"
)

// TestAssignSpreads: with random-looking node names, every node is first
// holder of some shards and holds about its share: rendezvous hashing
// must not let one name win every shard.
func TestAssignSpreads(t *testing.T) {
	for _, nodes := range [][]string{
		{"n-247d12571cf6", "n-5a951890ab53"},
		{"n-247d12571cf6", "n-5a951890ab53", "n-a7591e5c6366"},
		{"a", "b", "c", "d", "e"},
	} {
		const shards = 64
		first := map[string]int{}
		for s := range shards {
			first[rank(nodes, s)[0]]++
		}
		held := assign(nodes, shards, 2)
		for _, id := range nodes {
			share := shards / len(nodes)
			if first[id] < share/3 {
				t.Errorf("%v: %s is first holder of %d of %d shards", nodes, id, first[id], shards)
			}
			if want := 2 * shards / len(nodes); len(held[id]) < want/2 {
				t.Errorf("%v: %s holds %d shards, its share is %d", nodes, id, len(held[id]), want)
			}
		}
		t.Log(fmt.Sprint(nodes, first))
	}
}
