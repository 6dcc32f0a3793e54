package matcher

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/patientmatch/patientmatch/index"
	"github.com/patientmatch/patientmatch/record"
	"github.com/patientmatch/patientmatch/scoring"
)

// testPatient builds a FHIR Patient with the given id, names and birth date.
func testPatient(id, family, given, birth string) *fm.Patient {
	return &fm.Patient{Id: &id, Name: []fm.HumanName{{Family: &family, Given: []string{given}}}, BirthDate: &birth}
}

// withContact adds a home address, phone and SSN, the corroboration a
// certain match needs.
func withContact(p *fm.Patient, line, city, postal, phone, ssn string) *fm.Patient {
	ph, sys := fm.ContactPointSystemPhone, "http://hl7.org/fhir/sid/us-ssn"
	p.Address = []fm.Address{{Line: []string{line}, City: &city, PostalCode: &postal}}
	p.Telecom = []fm.ContactPoint{{System: &ph, Value: &phone}}
	p.Identifier = []fm.Identifier{{System: &sys, Value: &ssn}}
	return p
}

func openMem(t *testing.T) *Engine {
	t.Helper()
	e, err := Open("", Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func query(p *fm.Patient) record.Record { return record.FromFHIR(p) }

func TestUpsertGetVersions(t *testing.T) {
	ctx := context.Background()
	e := openMem(t)
	p := testPatient("a1", "Okafor", "Chidi", "1980-03-04")
	sp, created, err := e.Upsert(ctx, p)
	if err != nil || !created || sp.VersionID != 1 {
		t.Fatalf("create: %+v created=%v err=%v", sp, created, err)
	}
	var meta struct {
		Meta struct {
			VersionID string `json:"versionId"`
		} `json:"meta"`
	}
	if err := json.Unmarshal(sp.Resource, &meta); err != nil || meta.Meta.VersionID != "1" {
		t.Fatalf("stored resource meta.versionId = %q (%v)", meta.Meta.VersionID, err)
	}
	// Same content again: nothing changes.
	sp, created, err = e.Upsert(ctx, testPatient("a1", "Okafor", "Chidi", "1980-03-04"))
	if err != nil || created || sp.VersionID != 1 || sp.Outcome != Unchanged {
		t.Fatalf("identical upsert: %+v created=%v err=%v", sp, created, err)
	}
	sp, _, err = e.Upsert(ctx, testPatient("a1", "Okafor", "Chidi", "1980-03-05"))
	if err != nil || sp.VersionID != 2 || sp.Outcome != Updated {
		t.Fatalf("update: %+v err=%v", sp, err)
	}
	got, err := e.Get(ctx, "a1")
	if err != nil || got.VersionID != 2 {
		t.Fatalf("get: %+v err=%v", got, err)
	}
	if e.Len() != 1 {
		t.Fatalf("Len = %d", e.Len())
	}
}

// TestUnchangedAcrossReopenAndDelete checks the unchanged-patient check,
// which consults the store only for patients in the table: after a reopen
// (table loaded from the store) and after a delete.
func TestUnchangedAcrossReopenAndDelete(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	e, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.Upsert(ctx, testPatient("u1", "Okafor", "Chidi", "1980-03-04")); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	e, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	sp, _, err := e.Upsert(ctx, testPatient("u1", "Okafor", "Chidi", "1980-03-04"))
	if err != nil || sp.Outcome != Unchanged || sp.VersionID != 1 {
		t.Fatalf("identical upsert after reopen: %+v err=%v", sp, err)
	}
	if err := e.Delete(ctx, "u1"); err != nil {
		t.Fatal(err)
	}
	sp, created, err := e.Upsert(ctx, testPatient("u1", "Okafor", "Chidi", "1980-03-04"))
	if err != nil || !created || sp.Outcome != Created || sp.VersionID != 3 {
		t.Fatalf("upsert after delete: %+v created=%v err=%v", sp, created, err)
	}
}

// TestRecreateAfterReopen: a patient deleted in an earlier run and stored
// again keeps counting versions (the engine learns the deleted ids when it
// opens, so it does not tell the store the id is new), while never-stored
// ids in the same batch start at 1.
func TestRecreateAfterReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	e, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.Upsert(ctx, testPatient("r1", "Okafor", "Chidi", "1980-03-04")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.Upsert(ctx, testPatient("r1", "Okafor", "Chidi", "1980-03-05")); err != nil {
		t.Fatal(err)
	}
	if err := e.Delete(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 2; round++ {
		e, err = Open(dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		n1, n2 := fmt.Sprintf("new%d-a", round), fmt.Sprintf("new%d-b", round)
		sps, err := e.UpsertBatch(ctx, []*fm.Patient{
			testPatient(n1, "Adeyemi", "Tolu", "1990-01-01"),
			testPatient("r1", "Okafor", "Chidi", "1980-03-04"),
			testPatient(n2, "Bello", "Sade", "1991-02-02"),
		})
		if err != nil {
			t.Fatal(err)
		}
		// Round 0 re-creates r1 (versions 1, 2, deleted 3, now 4); round 1
		// changes nothing for it.
		wantR1, wantOutcome := uint64(4), Created
		if round == 1 {
			wantOutcome = Unchanged
		}
		if sps[1].VersionID != wantR1 || sps[1].Outcome != wantOutcome {
			t.Errorf("round %d: r1 = version %d %v, want %d %v", round, sps[1].VersionID, sps[1].Outcome, wantR1, wantOutcome)
		}
		for _, i := range []int{0, 2} {
			if sps[i].VersionID != 1 || sps[i].Outcome != Created {
				t.Errorf("round %d: %s = version %d %v, want 1 created", round, sps[i].ID, sps[i].VersionID, sps[i].Outcome)
			}
		}
		// Deleting and re-creating within one run continues the count too.
		if err := e.Delete(ctx, n1); err != nil {
			t.Fatal(err)
		}
		sp, _, err := e.Upsert(ctx, testPatient(n1, "Adeyemi", "Tolu", "1990-01-01"))
		if err != nil || sp.VersionID != 3 || sp.Outcome != Created {
			t.Errorf("round %d: %s re-created = %+v, %v; want version 3", round, n1, sp, err)
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestMarshalForStoreBytes checks that marshalling through Patient's own
// MarshalJSON gives exactly what json.Marshal gives, with meta.versionId
// and meta.lastUpdated (in UTC) of the write.
func TestMarshalForStoreBytes(t *testing.T) {
	pats := synthPatients(t, 300, 3)
	pats = append(pats, withContact(testPatient("m1", "O'Brien <&>", "Zoë", "1980"), "1 \"Main\" St", "Zürich", "8001", "+41 44 000", "123-45-6789"))
	at := time.Date(2024, 5, 6, 7, 8, 9, 120000000, time.FixedZone("x", 3600))
	for _, p := range pats {
		got, err := marshalForStore(p, 7, at)
		if err != nil {
			t.Fatal(err)
		}
		q := *p
		v, u := "7", "2024-05-06T06:08:09.12Z"
		q.Meta = &fm.Meta{VersionId: &v, LastUpdated: &u}
		want, err := json.Marshal(q)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("patient %s:\n got %s\nwant %s", *p.Id, got, want)
		}
	}
}

func TestInvalidInput(t *testing.T) {
	ctx := context.Background()
	e := openMem(t)
	for _, p := range []*fm.Patient{nil, {}, testPatient("bad id!", "X", "Y", "2000")} {
		if _, _, err := e.Upsert(ctx, p); !errors.Is(err, ErrInvalid) {
			t.Errorf("Upsert(%v) err = %v, want ErrInvalid", p, err)
		}
	}
	if _, err := e.Match(ctx, record.Record{}, MatchOptions{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty query err = %v, want ErrInvalid", err)
	}
	if _, err := e.Get(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(absent) err = %v", err)
	}
	if err := e.Delete(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Delete(absent) err = %v", err)
	}
	// A batch is all or nothing: one bad entry stores nothing.
	_, err := e.UpsertBatch(ctx, []*fm.Patient{testPatient("ok1", "A", "B", "1990"), {}})
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("batch err = %v", err)
	}
	if _, err := e.Get(ctx, "ok1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("half a batch was stored: %v", err)
	}
}

func TestMatchRanksAndGrades(t *testing.T) {
	ctx := context.Background()
	e := openMem(t)
	pats := []*fm.Patient{
		withContact(testPatient("m1", "Hernandez", "Robert", "1975-06-12"), "12 Oak St", "Austin", "78701", "5125550101", "412-58-7730"),
		withContact(testPatient("m2", "Hernandez", "Lucia", "1977-02-01"), "12 Oak St", "Austin", "78701", "5125550101", "987-65-4321"),
		withContact(testPatient("m3", "Nguyen", "Thi", "1990-11-30"), "4 Elm Ave", "Dallas", "75201", "2145550199", "555-12-3456"),
	}
	if _, err := e.UpsertBatch(ctx, pats); err != nil {
		t.Fatal(err)
	}
	// Nickname + typo in the family name, same birth date, address, SSN.
	q := withContact(testPatient("", "Hernandes", "Bob", "1975-06-12"), "12 Oak St", "Austin", "78701", "5125550101", "412-58-7730")
	ms, err := e.Match(ctx, query(q), MatchOptions{Explain: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 || ms[0].ID != "m1" {
		t.Fatalf("best match = %v, want m1 first", ids(ms))
	}
	if ms[0].Grade < scoring.GradeProbable || len(ms[0].Explanation) == 0 {
		t.Fatalf("m1 grade %v explanation %d", ms[0].Grade, len(ms[0].Explanation))
	}
	for _, m := range ms[1:] {
		if m.Grade == scoring.GradeCertain {
			t.Fatalf("spouse %s graded certain", m.ID)
		}
	}
	// Deleting stops matching at once.
	if err := e.Delete(ctx, "m1"); err != nil {
		t.Fatal(err)
	}
	ms, err = e.Match(ctx, query(q), MatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.ID == "m1" {
			t.Fatal("deleted patient still matches")
		}
	}
}

func TestOnlyCertainTwins(t *testing.T) {
	ctx := context.Background()
	e := openMem(t)
	// Two identical stored records of one person under two ids (a duplicate
	// registration): two certain candidates, so OnlyCertain returns none.
	a := withContact(testPatient("d1", "Kowalski", "Anna", "1988-08-08"), "7 Pine Rd", "Boston", "02110", "6175550123", "111-22-3333")
	b := withContact(testPatient("d2", "Kowalski", "Anna", "1988-08-08"), "7 Pine Rd", "Boston", "02110", "6175550123", "111-22-3333")
	if _, err := e.UpsertBatch(ctx, []*fm.Patient{a, b}); err != nil {
		t.Fatal(err)
	}
	all, err := e.Match(ctx, query(a), MatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].Grade != scoring.GradeCertain || all[1].Grade != scoring.GradeCertain {
		t.Fatalf("want two certain matches, got %d (%v)", len(all), ids(all))
	}
	ms, err := e.Match(ctx, query(a), MatchOptions{OnlyCertain: true})
	if err != nil || len(ms) != 0 {
		t.Fatalf("OnlyCertain with two certain = %v (%v), want none", ids(ms), err)
	}
	if err := e.Delete(ctx, "d2"); err != nil {
		t.Fatal(err)
	}
	ms, err = e.Match(ctx, query(a), MatchOptions{OnlyCertain: true})
	if err != nil || len(ms) != 1 || ms[0].ID != "d1" {
		t.Fatalf("OnlyCertain with one certain = %v (%v)", ids(ms), err)
	}
}

func TestReopenAndRebuild(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	e, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := withContact(testPatient("r1", "Lindqvist", "Sven", "1961-01-15"), "3 Birch Ln", "Duluth", "55802", "2185550111", "222-33-4444")
	if _, _, err := e.Upsert(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	// Deleting the index folder: Open rebuilds it from the store.
	if err := os.RemoveAll(filepath.Join(dir, "index")); err != nil {
		t.Fatal(err)
	}
	var stages []string
	e, err = Open(dir, Options{Progress: func(stage string, done, total int) { stages = append(stages, stage) }})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if len(stages) == 0 {
		t.Error("rebuild reported no progress")
	}
	ms, err := e.Match(ctx, query(p), MatchOptions{})
	if err != nil || len(ms) != 1 || ms[0].ID != "r1" {
		t.Fatalf("after rebuild: %v (%v)", ids(ms), err)
	}
	if _, err := e.Match(ctx, query(p), MatchOptions{}); err != nil {
		t.Fatal(err)
	}
}

// rebuiltIndex is an in-memory index rebuilt from e's store, to compare
// with the index e filled by its writes.
func rebuiltIndex(t *testing.T, e *Engine) *index.Index {
	t.Helper()
	ix, err := index.OpenIndex("", index.IndexOptions{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	// A new index is empty, so Sync rebuilds it from a full scan.
	if err := ix.Sync(context.Background(), e.store, nil); err != nil {
		t.Fatal(err)
	}
	return ix
}

// TestWriteKeysVersusRebuild checks that the blocking keys the engine hands
// the index with each write (from its own prepared records) are the ones
// the index computes itself when it rebuilds from the store: every query
// finds the same candidates in both indexes.
func TestWriteKeysVersusRebuild(t *testing.T) {
	ctx := context.Background()
	e := openMem(t)
	pats := synthPatients(t, 1500, 7)
	for j := 0; j < len(pats); j += 500 {
		if _, err := e.UpsertBatch(ctx, pats[j:min(j+500, len(pats))]); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.WaitIndexed(ctx); err != nil {
		t.Fatal(err)
	}
	rebuilt := rebuiltIndex(t, e)
	for i := 0; i < len(pats); i += 7 {
		keys := index.Keys(scoring.PrepareWithoutTF(query(pats[i])), nil)
		// A limit above the store size returns every patient sharing a key,
		// so the sets are equal exactly when the documents' keys are.
		got, err := e.idx.Candidates(ctx, keys, len(pats)+1)
		if err != nil {
			t.Fatal(err)
		}
		want, err := rebuilt.Candidates(ctx, keys, len(pats)+1)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("patient %s: written index has %d candidates, rebuilt %d", *pats[i].Id, len(got), len(want))
		}
	}
}

// TestConcurrentIndexBatchesKeepOrder: the indexer writes up to
// indexWorkers bleve batches at once. Rewriting and deleting the same few
// patients in many small commits puts one patient in consecutive batches;
// the index must still end up as a rebuild from the store (every patient's
// latest keys, no deleted one), and after Close its checkpoint must be the
// store's last change, so the next Open replays nothing.
func TestConcurrentIndexBatchesKeepOrder(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	// Small commits must still make concurrent batches here.
	e, err := Open(dir, Options{minConcurrentBatch: 1})
	if err != nil {
		t.Fatal(err)
	}
	families := []string{"Okafor", "Smith", "Nguyen", "Garcia", "Kowalski", "Haddad"}
	givens := []string{"Ada", "Ben", "Chi", "Dana", "Eli", "Femi", "Gus"}
	rng := rand.New(rand.NewPCG(5, 5))
	live := map[string]bool{}
	for round := 0; round < 300; round++ {
		var batch []*fm.Patient
		for _, k := range rng.Perm(40)[:12] {
			id := fmt.Sprintf("o%d", k)
			batch = append(batch, testPatient(id, families[rng.IntN(len(families))], givens[rng.IntN(len(givens))],
				fmt.Sprintf("19%02d-0%d-1%d", 40+rng.IntN(50), 1+rng.IntN(9), rng.IntN(10))))
			live[id] = true
		}
		if _, err := e.UpsertBatch(ctx, batch); err != nil {
			t.Fatal(err)
		}
		if round%3 == 2 {
			id := fmt.Sprintf("o%d", rng.IntN(40))
			if live[id] {
				if err := e.Delete(ctx, id); err != nil {
					t.Fatal(err)
				}
				live[id] = false
			}
		}
	}
	if err := e.WaitIndexed(ctx); err != nil {
		t.Fatal(err)
	}
	rebuilt := rebuiltIndex(t, e)
	var allKeys []string
	for _, f := range families {
		for _, g := range givens {
			allKeys = append(allKeys, index.Keys(scoring.PrepareWithoutTF(query(testPatient("", f, g, "1970-01-01"))), nil)...)
		}
	}
	for i := 0; i < 40; i++ {
		sp, err := e.Get(ctx, fmt.Sprintf("o%d", i))
		if err != nil {
			continue
		}
		p, err := fm.UnmarshalPatient(sp.Resource)
		if err != nil {
			t.Fatal(err)
		}
		allKeys = append(allKeys, index.Keys(scoring.PrepareWithoutTF(query(&p)), nil)...)
	}
	for _, k := range allKeys {
		got, err := e.idx.Candidates(ctx, []string{k}, 100)
		if err != nil {
			t.Fatal(err)
		}
		want, err := rebuilt.Candidates(ctx, []string{k}, 100)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("key %q: written index has %v, rebuilt %v", k, got, want)
		}
	}
	last := e.store.LastSeq()
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	ix, err := index.OpenIndex(filepath.Join(dir, "index"), index.IndexOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	if cp, err := ix.Checkpoint(); err != nil || cp != last {
		t.Errorf("checkpoint after Close = %d (%v), want the store's last change %d", cp, err, last)
	}
}

// TestIndexBatchOrderPerPatient drives the indexer's two batches in
// flight deterministically: while a first batch is held back, a batch of
// other patients overtakes it (the concurrency is real), but a batch
// holding a patient of the held one waits for it, so that patient's latest
// version is what the index keeps.
func TestIndexBatchOrderPerPatient(t *testing.T) {
	ctx := context.Background()
	holding, release := make(chan struct{}), make(chan struct{})
	written := make(chan []string, 8)
	var held atomic.Bool
	wrap := func(next indexWriteFunc) indexWriteFunc {
		return func(ctx context.Context, changes []index.Change, checkpoint uint64) error {
			var ids []string
			for _, c := range changes {
				ids = append(ids, c.ID)
			}
			if slices.Contains(ids, "o0") && held.CompareAndSwap(false, true) {
				close(holding)
				<-release
			}
			err := next(ctx, changes, checkpoint)
			written <- ids
			return err
		}
	}
	e, err := Open("", Options{InMemory: true, minConcurrentBatch: 1, wrapIndexWrite: wrap})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	// Released before Close (defers run last-in first-out) even when the
	// test fails early, so Close does not wait on the held batch forever.
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	defer free()
	upsert := func(ps ...*fm.Patient) {
		t.Helper()
		if _, err := e.UpsertBatch(ctx, ps); err != nil {
			t.Fatal(err)
		}
	}
	upsert(testPatient("o0", "Okafor", "Chidi", "1980-03-04"), testPatient("o1", "Smith", "Ann", "1970-01-02"))
	<-holding // its batch is in flight, so the next commit is a batch of its own
	upsert(testPatient("o2", "Nguyen", "Bao", "1990-05-06"))
	select {
	case ids := <-written:
		if !slices.Equal(ids, []string{"o2"}) {
			t.Fatalf("first batch written = %v, want [o2] overtaking the held batch", ids)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a batch of other patients did not run while the first was held")
	}
	upsert(testPatient("o0", "Kowalski", "Chidi", "1980-03-04"))
	select {
	case ids := <-written:
		t.Fatalf("batch %v was written before the held batch holding o0", ids)
	case <-time.After(200 * time.Millisecond):
	}
	free()
	if err := e.WaitIndexed(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := e.idx.Candidates(ctx, index.Keys(scoring.PrepareWithoutTF(query(testPatient("", "Kowalski", "Chidi", "1980-03-04"))), nil), 10)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(got, "o0") {
		t.Errorf("the index lost o0's latest version: candidates %v", got)
	}
	old, err := e.idx.Candidates(ctx, []string{"fy:" + scoring.PrepareWithoutTF(query(testPatient("", "Okafor", "Chidi", "1980-03-04"))).FamilyNYSIIS + "|1980"}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(old, "o0") {
		t.Errorf("o0's old family name is still indexed: %v", old)
	}
}

func TestClosedEngine(t *testing.T) {
	e, err := Open("", Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	e.Close()
	ctx := context.Background()
	if _, err := e.Match(ctx, query(testPatient("", "A", "B", "2000-01-01")), MatchOptions{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Match after Close: %v", err)
	}
	if _, _, err := e.Upsert(ctx, testPatient("x", "A", "B", "2000")); !errors.Is(err, ErrClosed) {
		t.Errorf("Upsert after Close: %v", err)
	}
	if err := e.Ping(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Ping after Close: %v", err)
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
		ok   bool
	}{
		{"zero", Options{}, true},
		{"bulk buffers", Options{WriteBuffer: BulkWriteBuffer}, true},
		{"negative limit", Options{CandidateLimit: -1}, false},
		{"negative buffer", Options{WriteBuffer: -1}, false},
		{"tiny buffer", Options{WriteBuffer: 4096}, false},
	} {
		if err := tc.o.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
	if _, err := Open(t.TempDir(), Options{WriteBuffer: 4096}); err == nil {
		t.Error("Open accepted a 4 KiB write buffer")
	}
}
