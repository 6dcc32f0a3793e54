package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/patientmatch/patientmatch/bench"
	"github.com/patientmatch/patientmatch/internal/testsets"
)

// runBenchMatchJSON runs bench match with args and --json and decodes the
// result.
func runBenchMatchJSON(t *testing.T, args ...string) bench.MatchEval {
	t.Helper()
	env, out, errb := testEnv()
	if err := runBench(context.Background(), env, append([]string{"match", "--json"}, args...)); err != nil {
		t.Fatalf("bench match %v: %v\n%s", args, err, errb.String())
	}
	var ev bench.MatchEval
	if err := json.Unmarshal(out.Bytes(), &ev); err != nil {
		t.Fatalf("--json: %v\n%s", err, out.String())
	}
	return ev
}

// TestBenchMatchHandmade runs the command on a handmade file whose answers
// are known: three unrelated people with two identical, complete records
// each (the one left stored is certain for the other) and one person with
// a single record (stored, never asked).
func TestBenchMatchHandmade(t *testing.T) {
	dir := t.TempDir()
	data, truth := filepath.Join(dir, "people.csv"), filepath.Join(dir, "truth.csv")
	rows := []string{
		"id,family,given,birth_date,sex,address_line,city,state,postal_code,phone,ssn",
		"a1,Ray,Ann,1971-04-12,female,12 Elm St,Boise,ID,83702,208-555-0101,123-45-6701",
		"a2,Ray,Ann,1971-04-12,female,12 Elm St,Boise,ID,83702,208-555-0101,123-45-6701",
		"b1,Fox,Robert,1958-11-30,male,400 Oak Ave,Austin,TX,78701,512-555-0199,234-56-7802",
		"b2,Fox,Robert,1958-11-30,male,400 Oak Ave,Austin,TX,78701,512-555-0199,234-56-7802",
		"c1,Nakamura,Keiko,1990-02-03,female,9 Pine Rd,Salem,OR,97301,503-555-0147,345-67-8903",
		"c2,Nakamura,Keiko,1990-02-03,female,9 Pine Rd,Salem,OR,97301,503-555-0147,345-67-8903",
		"z1,Okafor,Chidi,2001-07-19,male,77 Lake Dr,Duluth,MN,55802,218-555-0123,456-78-9004",
	}
	if err := os.WriteFile(data, []byte(strings.Join(rows, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(truth, []byte("id,entity\na1,A\na2,A\nb1,B\nb2,B\nc1,C\nc2,C\nz1,Z\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		absent                  string
		present, absentQ, store int
	}{
		// Everyone with two records asked, all found certain.
		{"0", 3, 0, 4},
		// 0.6: people are held out until 60% of the queries are absent:
		// whatever the draw, one of A, B, C stays (Z held out counts as
		// an absent query too).
		{"0.6", 1, -1, -1},
	} {
		ev := runBenchMatchJSON(t, "--absent", tc.absent, "--seed", "5", "--truth", truth, data)
		p, a := ev.Present, ev.Missing
		if p.Queries != tc.present || tc.absentQ >= 0 && (a.Queries != tc.absentQ || ev.Stored != tc.store) {
			t.Errorf("absent %s: %d present, %d absent queries, %d stored; want %d, %d, %d", tc.absent, p.Queries, a.Queries, ev.Stored, tc.present, tc.absentQ, tc.store)
		}
		if ev.Records != 7 || p.Queries+a.Queries < 3 {
			t.Errorf("absent %s: %d records, %d queries", tc.absent, ev.Records, p.Queries+a.Queries)
		}
		all := bench.MatchCount{N: p.Queries, Rate: 1}
		if p.Queries == 0 {
			t.Fatalf("absent %s: no present query", tc.absent)
		}
		if p.Top1 != all || p.CertainRight != all || p.CertainWrong.N != 0 || p.ProbableWrong.N != 0 {
			t.Errorf("absent %s: present %+v, want every right patient first and certain, no wrong one above possible", tc.absent, p)
		}
		// Absent people here are strangers to everyone stored.
		if a.Certain.N != 0 || a.Probable.N != 0 || a.Registry.Stranger != a.Queries || a.Registry.Household != 0 {
			t.Errorf("absent %s: %+v, want strangers answered below probable", tc.absent, a)
		}
		if tc.absent == "0.6" && (a.Queries < 2 || float64(a.Queries)/float64(a.Queries+p.Queries) < 0.6) {
			t.Errorf("absent 0.6: %d absent of %d queries", a.Queries, a.Queries+p.Queries)
		}
	}

	for _, bad := range [][]string{
		{"--absent", "1", "--truth", truth, data},
		{"--count", "0", "--truth", truth, data},
		{data},
		{"--truth", truth},
	} {
		env, _, _ := testEnv()
		if err := runBench(context.Background(), env, append([]string{"match"}, bad...)); err == nil || exitCode(err) != 2 {
			t.Errorf("bench match %v: %v, want a usage error", bad, err)
		}
	}
}

// TestBenchMatchCommittedSets measures the committed labelled sets
// (testdata/labelled) with the built-in model. The split of each is fixed
// by the file and the seed (golden figures); the floors sit a little below
// what was measured when this test was written (in the comments): they
// catch a regression of $match, they do not describe it. Issue 13's
// hard targets hold on all three: no certain answer for anyone not in the
// registry or for a wrong patient.
func TestBenchMatchCommittedSets(t *testing.T) {
	if testing.Short() {
		t.Skip("loads three 2,000-record registries")
	}
	for _, tc := range []struct {
		set                                    string
		stored, present, absent, household     int
		top1, certainRight, probableRight, abs float64
	}{
		// measured at d202bb3: top-1 0.9935, certain 0.8419 (0.7581 before
		// the name-typo rule of 739e05c), probable+ 0.9806; absent probable+ 0.0000;
		// certain 0.8613 after the certain lane's rules (5a217b2, aefc0b9, 4210d8a)
		{"synth2000", 1585, 310, 78, 65, 0.98, 0.85, 0.95, 0.05},
		// measured 0.9342, 0.0000, 0.8519; 0.0000
		{"civil2000", 1649, 243, 61, 0, 0.90, 0, 0.80, 0.05},
		// measured 0.9387, 0.0000, 0.8548; 0.0000
		{"names2000", 1585, 310, 78, 0, 0.90, 0, 0.80, 0.05},
	} {
		t.Run(tc.set, func(t *testing.T) {
			dir := filepath.Join("..", "..", "testdata", "labelled")
			ev := runBenchMatchJSON(t, "--truth", filepath.Join(dir, tc.set+".truth.csv"), filepath.Join(dir, tc.set+".csv"))
			p, a := ev.Present, ev.Missing
			t.Logf("top-1 %.4f, certain %.4f, probable+ %.4f; absent certain %.4f probable+ %.4f possible+ %.4f",
				p.Top1.Rate, p.CertainRight.Rate, p.ProbableRight.Rate, a.Certain.Rate, a.Probable.Rate, a.Possible.Rate)
			if ev.Records != 2000 || ev.Stored != tc.stored || p.Queries != tc.present || a.Queries != tc.absent || a.Registry.Household != tc.household {
				t.Errorf("split: %d records, %d stored, %d present, %d absent (%d with household); want 2000, %d, %d, %d (%d)",
					ev.Records, ev.Stored, p.Queries, a.Queries, a.Registry.Household, tc.stored, tc.present, tc.absent, tc.household)
			}
			for _, f := range []struct {
				what       string
				got, floor float64
			}{{"top-1", p.Top1.Rate, tc.top1}, {"right patient certain", p.CertainRight.Rate, tc.certainRight}, {"right patient probable+", p.ProbableRight.Rate, tc.probableRight}} {
				if f.got < f.floor {
					t.Errorf("%s %.4f below the floor %.2f", f.what, f.got, f.floor)
				}
			}
			if p.CertainWrong.N != 0 || a.Certain.N != 0 {
				t.Errorf("certain on a wrong patient for %d present and %d absent queries, want none", p.CertainWrong.N, a.Certain.N)
			}
			missed := 0
			for _, r := range p.NotCertainBy {
				missed += r.N
			}
			if missed != p.Queries-p.CertainRight.N {
				t.Errorf("reasons %+v account for %d queries not certain, want %d", p.NotCertainBy, missed, p.Queries-p.CertainRight.N)
			}
			if a.Probable.Rate > tc.abs {
				t.Errorf("absent answered probable+ %.4f, want at most %.2f", a.Probable.Rate, tc.abs)
			}
		})
	}
}

// TestBenchMatchDeterministic checks that a split and its figures depend on
// the seed alone, not on how many queries run at once.
func TestBenchMatchDeterministic(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "labelled")
	args := []string{"--truth", filepath.Join(dir, "synth2000.truth.csv"), "--seed", "9", filepath.Join(dir, "synth2000.csv")}
	one := runBenchMatchJSON(t, append([]string{"--workers", "1"}, args...)...)
	two := runBenchMatchJSON(t, append([]string{"--workers", "3"}, args...)...)
	one.Elapsed, two.Elapsed = 0, 0
	if !reflect.DeepEqual(one, two) {
		t.Errorf("1 worker and 3 workers differ:\n%+v\n%+v", one, two)
	}
	if one.Seed != 9 || one.Absent != 0.2 || one.Count != 10 {
		t.Errorf("run described as seed %d, absent %v, count %d", one.Seed, one.Absent, one.Count)
	}
}

// TestBenchMatchInsuredSet: $match on the committed insured2000 set, whose
// households share payers' member numbers. A number that stored records
// of different people carry, or would with the query counted as one more
// carrier, says nothing (matcher's IdentifierCarriers), so
// relatives are answered possible far less: 119 present queries had a
// household member among their possible answers before, 76 after. No
// wrong or absent certain either way. The account of misses grades each
// pair as Match prepares the query (Engine.PrepareQuery): a certain pair
// that Match answered lower would show as "certain pair not answered".
func TestBenchMatchInsuredSet(t *testing.T) {
	data, truth := testsets.Committed(t, "insured2000")
	ev := runBenchMatchJSON(t, "--absent", "0.2", "--seed", "1", "--truth", truth, data)
	p, a := ev.Present, ev.Missing
	if p.CertainWrong.N != 0 || a.Certain.N != 0 {
		t.Errorf("wrong certain %d, absent certain %d; want none", p.CertainWrong.N, a.Certain.N)
	}
	household := -1
	for _, w := range p.WrongBy {
		if w.Relation == "household" {
			household = w.Possible
		}
	}
	if household < 0 || household >= 100 {
		t.Errorf("%d present queries answered a household member possible or better (-1: none counted); want 0 to 99 (76 measured; 119 without the set-aside)", household)
	}
	for _, r := range p.NotCertainBy {
		if r.Reason == "certain pair not answered" {
			t.Errorf("%d certain pairs not answered certain: the account of misses and Match prepare the query differently", r.N)
		}
	}
}
