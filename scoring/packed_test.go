package scoring

import (
	"bytes"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"unsafe"

	"github.com/patientmatch/patientmatch/internal/testsets"
	"github.com/patientmatch/patientmatch/record"
)

// fillAll sets every field of v (unexported ones too), recursively, to a
// distinct non-zero value, and slices to two elements.
func fillAll(v reflect.Value, n *int) {
	if !v.CanSet() {
		v = reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem()
	}
	*n++
	switch v.Kind() {
	case reflect.String:
		v.SetString(fmt.Sprintf("s%d", *n))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(int64(*n))
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(*n % 200))
	case reflect.Float64:
		v.SetFloat(float64(*n) + 0.25)
	case reflect.Struct:
		for i := range v.NumField() {
			fillAll(v.Field(i), n)
		}
	case reflect.Array:
		for i := range v.Len() {
			fillAll(v.Index(i), n)
		}
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			fillAll(s.Index(i), n)
		}
		v.Set(s)
	default:
		panic(fmt.Sprintf("fillAll: add %s", v.Kind()))
	}
}

func roundTrip(t *testing.T, p *Prepared, scratch *Prepared) {
	t.Helper()
	b := p.AppendPacked([]byte("prefix"))
	if !bytes.HasPrefix(b, []byte("prefix")) {
		t.Fatalf("AppendPacked did not append")
	}
	b = b[len("prefix"):]
	var fresh Prepared
	if err := UnpackPrepared(&fresh, b); err != nil {
		t.Fatalf("UnpackPrepared: %v", err)
	}
	if !reflect.DeepEqual(&fresh, p) {
		t.Fatalf("round trip differs:\n got %+v\nwant %+v", fresh, *p)
	}
	if err := UnpackPrepared(scratch, b); err != nil || !reflect.DeepEqual(scratch, p) {
		t.Fatalf("round trip into a reused Prepared differs (%v):\n got %+v\nwant %+v", err, *scratch, *p)
	}
	if id, err := PackedID(b); err != nil || id != p.Rec.ID {
		t.Fatalf("PackedID = %q, %v; want %q", id, err, p.Rec.ID)
	}
	// Every truncation is an error, never a panic or a silent success.
	for i := range len(b) {
		var q Prepared
		if UnpackPrepared(&q, b[:i]) == nil {
			t.Fatalf("a packed record cut to %d of %d bytes unpacked", i, len(b))
		}
	}
}

// TestPackedEveryField fails when a field of Prepared (or of the record
// types it holds) is added without being packed. The carriers of a query
// (Scorer.PrepareQuery) are the one exception: a stored record is counted
// in the term frequencies, so packed records never have them.
func TestPackedEveryField(t *testing.T) {
	var p Prepared
	n := 0
	fillAll(reflect.ValueOf(&p).Elem(), &n)
	p.givenCarriers, p.familyCarriers = 0, 0
	roundTrip(t, &p, &Prepared{})
	// Nil and empty slices stay apart; shared strings are referred back to.
	p.Rec.FamilyParts, p.familyParts = []string{}, nil
	p.ids = p.Rec.Identifiers
	p.given, p.email = p.Rec.Given, p.Rec.Email
	roundTrip(t, &p, &Prepared{})
}

func TestPackedRecords(t *testing.T) {
	recs := testsets.Records(t, filepath.Join(testsets.ModuleRoot(t), "testdata", "demo", "patients.ndjson"))
	recs = append(recs,
		record.Normalize("placeholders", record.Raw{Family: "doe", Given: []string{"john"}, BirthDate: "1900-01-01",
			Phone: "0000000000", Email: "noemail@example.com", Identifiers: []record.RawIdentifier{{TypeCode: "SS", Value: "000000000"}, {TypeCode: "MR", Value: "123"}}}),
		record.Normalize("partial", record.Raw{Family: "garcia lopez", BirthDate: "1980-05"}),
		record.Normalize("", record.Raw{Text: "x"}),
	)
	tf := NewTermFrequencies()
	for _, r := range recs {
		tf.Add(PrepareWithoutTF(r))
	}
	s := MustScorer(DefaultModel()).WithTermFrequencies(tf)
	var scratch Prepared
	ps := make([]*Prepared, len(recs))
	packed := make([][]byte, len(recs))
	for i, r := range recs {
		p := s.Prepare(r)
		roundTrip(t, p, &scratch)
		ps[i], packed[i] = p, p.AppendPacked(nil)
		// TermFrequenciesOf gives what Scorer.PrepareInto sets.
		g, f := s.TermFrequenciesOf(PrepareWithoutTF(r))
		if g != p.GivenTF || f != p.FamilyTF {
			t.Fatalf("%s: TermFrequenciesOf = %v, %v; PrepareInto set %v, %v", r.ID, g, f, p.GivenTF, p.FamilyTF)
		}
		b := PrepareWithoutTF(r).AppendPacked(nil)
		SetPackedTermFrequencies(b, g, f)
		if !bytes.Equal(b, packed[i]) {
			t.Fatalf("%s: packed without frequencies, then set, differs from packed with them", r.ID)
		}
	}
	// Scores of unpacked records are the scores of the records.
	var a, b Prepared
	for i := 0; i+1 < len(ps); i += 7 {
		j := (i * 31) % len(ps)
		if err := UnpackPrepared(&a, packed[i]); err != nil {
			t.Fatal(err)
		}
		if err := UnpackPrepared(&b, packed[j]); err != nil {
			t.Fatal(err)
		}
		if got, want := s.Score(&a, &b), s.Score(ps[i], ps[j]); got != want {
			t.Fatalf("score of unpacked %s/%s = %+v, want %+v", ps[i].Rec.ID, ps[j].Rec.ID, got, want)
		}
	}
}
