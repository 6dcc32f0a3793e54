package index

import (
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/blevesearch/bleve/v2"

	"github.com/patientmatch/patientmatch/internal/testsets"
	"github.com/patientmatch/patientmatch/record"
	"github.com/patientmatch/patientmatch/scoring"
)

// keysDigests holds, for each KeysVersion, the digest of the keys of the
// committed labelled sets (a dense one and a sparse one). When Keys
// change, the digest changes: bump KeysVersion (so that existing indexes
// are rebuilt) and add the new digest here.
var keysDigests = map[string]string{
	"6": "9e0e645b510a9e8c82893208e84965a41817a9794d4f61352bd2fdbefed7248f",
}

// TestKeysVersion fails when the index keys change without KeysVersion.
func TestKeysVersion(t *testing.T) {
	h := sha256.New()
	var keys []string
	for _, name := range []string{"synth2000.csv", "civil2000.csv"} {
		path := filepath.Join(testsets.ModuleRoot(t), "testdata", "labelled", name)
		for _, r := range testsets.Records(t, path) {
			keys = Keys(scoring.PrepareWithoutTF(r), keys[:0])
			h.Write([]byte(r.ID + "\t" + strings.Join(keys, "\t") + "\n"))
		}
	}
	// Neither set holds a sparse record with an e-mail address (the
	// email_handle key): two such records, a domain apart.
	for i, email := range []string{"ar20@miller-torres.org", "ar20@miller-tores.org"} {
		r := record.Record{ID: "mail" + strconv.Itoa(i), Given: "alfie", Family: "roberts",
			BirthDate: record.ParseDate("1995-01-10"), Email: email, Address: record.Address{City: "london"}}
		keys = Keys(scoring.PrepareWithoutTF(r), keys[:0])
		h.Write([]byte(r.ID + "\t" + strings.Join(keys, "\t") + "\n"))
	}
	got := hex.EncodeToString(h.Sum(nil))
	if want, ok := keysDigests[KeysVersion]; !ok || got != want {
		t.Errorf("the index keys of the committed sets have digest %s; KeysVersion %q expects %q: "+
			"if Keys changed on purpose, bump KeysVersion and record the new digest", got, KeysVersion, want)
	}
}

// TestOpenIndexRebuildsOtherKeys: an index built with other keys, or
// before the version was kept, is discarded and rebuilt on open; one built
// with the current keys is kept.
func TestOpenIndexRebuildsOtherKeys(t *testing.T) {
	for _, tc := range []struct {
		name    string
		version []byte // nil: no version kept
		rebuilt bool
	}{
		{"current keys", []byte(KeysVersion), false},
		{"other keys", []byte("1"), true},
		{"no version kept", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "index")
			ix, err := OpenIndex(dir, IndexOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if ix.Rebuilt() {
				t.Fatal("a new index reports a rebuild")
			}
			if err := ix.Close(); err != nil {
				t.Fatal(err)
			}
			raw, err := bleve.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			if tc.version == nil {
				err = raw.DeleteInternal(keysVersionKey)
			} else {
				err = raw.SetInternal(keysVersionKey, tc.version)
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := raw.Close(); err != nil {
				t.Fatal(err)
			}
			ix, err = OpenIndex(dir, IndexOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer ix.Close()
			if ix.Rebuilt() != tc.rebuilt {
				t.Errorf("Rebuilt() = %v, want %v", ix.Rebuilt(), tc.rebuilt)
			}
			v, err := ix.idx.GetInternal(keysVersionKey)
			if err != nil || string(v) != KeysVersion {
				t.Errorf("version kept after open: %q, %v; want %q", v, err, KeysVersion)
			}
		})
	}
}
