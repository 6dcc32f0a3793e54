package cluster

import (
	"reflect"
	"testing"

	"github.com/patientmatch/patientmatch/record"
	"github.com/patientmatch/patientmatch/scoring"
)

// TestSumTermsCountsAsOneEngine: the cluster-wide table is what one engine
// holding every shard's patients counts — given and family names, the
// formal names' sexes and the middle names the twins' caps read — so a
// cluster grades pairs as a single server does.
func TestSumTermsCountsAsOneEngine(t *testing.T) {
	recs := []record.Record{
		{Given: "charles", Middle: "thi", Family: "nguyen", Sex: record.SexMale},
		{Given: "ashley", Middle: "thi", Family: "nguyen", Sex: record.SexFemale},
		{Given: "ashlee", Middle: "linh", Family: "tran", Sex: record.SexFemale},
		{Given: "charles", Middle: "l", Family: "tran", Sex: record.SexMale},
		{Given: "mai", Middle: "thi anh", Family: "le", Sex: record.SexFemale},
	}
	var all []*scoring.Prepared
	parts := []*scoring.TermFrequencies{scoring.NewTermFrequencies(), nil, scoring.NewTermFrequencies()}
	for i, r := range recs {
		p := scoring.PrepareWithoutTF(r)
		all = append(all, p)
		parts[2*(i%2)].Add(p)
	}
	want := scoring.BuildTermFrequencies(all)
	if want.Middles != 4 || want.Middle["thi"] != 3 {
		t.Fatalf("the records do not test what they say: middles %d %v", want.Middles, want.Middle)
	}
	if got := sumTerms(parts); !reflect.DeepEqual(got, want) {
		t.Errorf("sum of the shards' tables\n%+v\nwant one engine's\n%+v", got, want)
	}
}
