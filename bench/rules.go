package bench

import (
	"slices"

	"github.com/patientmatch/patientmatch/blocking"
	"github.com/patientmatch/patientmatch/scoring"
)

// RuleRecall is the pairs completeness of one blocking rule on its own:
// the share of true pairs whose two records share a key of the rule. The
// rules overlap on purpose (each survives errors the others do not), so
// these do not add up to the total; a rule that finds few true pairs on a
// file is one whose fields the file lacks or garbles.
type RuleRecall struct {
	Rule string `json:"rule"`
	// TruePairs is the number of true pairs the rule proposes.
	TruePairs int64 `json:"true_pairs"`
	// Completeness is TruePairs over all true pairs.
	Completeness float64 `json:"completeness"`
	// Only counts the true pairs no other candidate rule proposes.
	Only int64 `json:"only"`
}

// RuleCompleteness measures each candidate rule of package blocking on the
// true pairs within records (deduplication). labels are the records'
// entities (Truth.Label). The keys are the rules' own (blocking.RuleKeys),
// before the per-record candidate cap, which the total pairs completeness
// of the batch run includes.
func RuleCompleteness(records []*scoring.Prepared, labels []int32) []RuleRecall {
	byEntity := map[int32][]int{}
	for i, l := range labels {
		byEntity[l] = append(byEntity[l], i)
	}
	rules := blocking.Rules()
	out := make([]RuleRecall, len(rules))
	for k, r := range rules {
		out[k].Rule = r.String()
	}
	var total int64
	keys := make([][][]string, len(records)) // record → rule → keys, for records with duplicates only
	keysOf := func(i int) [][]string {
		if keys[i] == nil {
			keys[i] = make([][]string, len(rules))
			for k, r := range rules {
				keys[i][k] = blocking.RuleKeys(records[i], r, nil)
			}
		}
		return keys[i]
	}
	ents := make([]int32, 0, len(byEntity))
	for e := range byEntity {
		ents = append(ents, e)
	}
	slices.Sort(ents)
	for _, e := range ents {
		members := byEntity[e]
		for x := 0; x < len(members); x++ {
			for y := x + 1; y < len(members); y++ {
				total++
				a, b := keysOf(members[x]), keysOf(members[y])
				found, last := 0, -1
				for k := range rules {
					if shareKey(a[k], b[k]) {
						out[k].TruePairs++
						found++
						last = k
					}
				}
				if found == 1 {
					out[last].Only++
				}
			}
		}
	}
	for k := range out {
		if total > 0 {
			out[k].Completeness = float64(out[k].TruePairs) / float64(total)
		}
	}
	return out
}

// KeyProfile is what blocking a file costs (blocking.Profile): the keys
// per record, the most common key's block, and the sparse records, which
// get the fallback keys (package blocking, "Sparse records").
type KeyProfile struct {
	KeysPerRecord float64 `json:"keys_per_record"`
	// LargestBlock is before MaxBlock and the per-record cap.
	LargestBlock  int `json:"largest_block"`
	SparseRecords int `json:"sparse_records"`
}

func keyProfile(records []*scoring.Prepared) *KeyProfile {
	p := blocking.ProfileOf(records)
	return &KeyProfile{KeysPerRecord: p.KeysPerRecord(), LargestBlock: p.LargestBlock, SparseRecords: p.Sparse}
}

func shareKey(a, b []string) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}
