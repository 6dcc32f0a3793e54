package synth

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

// worldHazards are the hazard kinds only the world profile's records carry.
const worldHazards = HazCompound | HazFamilyForm | HazOrder | HazAlias | HazRespelled | HazJanFirst

// TestWorldDeterminism: the world profile gives the same bytes for the same
// seed, other bytes for another seed, and valid UTF-8 (its names carry
// accents, and typos edit bytes).
func TestWorldDeterminism(t *testing.T) {
	opts := Options{N: 3000, Seed: 7, DupRate: DefaultDupRate, Profile: ProfileWorld}
	a, at, _ := generate(t, opts, FormatCSV)
	b, bt, _ := generate(t, opts, FormatCSV)
	if !bytes.Equal(a, b) || !bytes.Equal(at, bt) {
		t.Fatal("same seed gave different output")
	}
	if !utf8.Valid(a) {
		t.Error("output is not valid UTF-8")
	}
	opts.Seed = 8
	if c, _, _ := generate(t, opts, FormatCSV); bytes.Equal(a, c) {
		t.Fatal("different seeds gave the same output")
	}
	n, _, _ := generate(t, opts, FormatNDJSON)
	if !utf8.Valid(n) || bytes.Count(n, []byte("\n")) != opts.N {
		t.Errorf("NDJSON: %d lines, valid UTF-8 %v", bytes.Count(n, []byte("\n")), utf8.Valid(n))
	}
}

// TestWorldProfile checks the world profile against its own rows: every
// hazard of its names occurs, and the hazards it says each record has are
// what the record shows: a compound name written in two ways, Hispanic
// twins sharing a first given name, 1 January birth dates, communities
// with few family names.
func TestWorldProfile(t *testing.T) {
	rs := rows(t, Options{N: 20_000, Seed: 3, DupRate: DefaultDupRate, Profile: ProfileWorld})
	count := map[Hazard]int{}
	family := map[string]int{}
	var janFirst, janFirstWrong, twinsSharing int
	byHousehold := map[int][]Row{}
	for _, r := range rs {
		for _, h := range HazardKinds() {
			if r.Hazards&h != 0 {
				count[h]++
			}
		}
		family[stripAccents(strings.ToLower(r.Cols[ColFamily]))]++
		if r.Hazards&HazJanFirst != 0 && r.Hazards&(HazDayMonth|HazDateDigit|HazPlaceholder|HazMissing) == 0 {
			janFirst++
			if !strings.HasSuffix(r.Cols[ColBirthDate], "-01-01") {
				janFirstWrong++
			}
		}
		if r.Hazards&HazTwin != 0 && r.Hazards&HazDuplicate == 0 {
			byHousehold[r.Household] = append(byHousehold[r.Household], r)
		}
	}
	for _, h := range HazardKinds() {
		if h&worldHazards != 0 && count[h] < 50 {
			t.Errorf("hazard %s: %d records of 20,000", h, count[h])
		}
	}
	if janFirst < 50 || janFirstWrong > 0 {
		t.Errorf("%d records of people with an unknown birth date, %d not on 1 January", janFirst, janFirstWrong)
	}
	for _, tw := range byHousehold {
		if len(tw) == 2 && tw[0].Cols[ColBirthDate] == tw[1].Cols[ColBirthDate] {
			g0, _, _ := strings.Cut(tw[0].Cols[ColGiven], " ")
			g1, _, _ := strings.Cut(tw[1].Cols[ColGiven], " ")
			if strings.EqualFold(stripAccents(g0), stripAccents(g1)) {
				twinsSharing++
			}
		}
	}
	if twinsSharing < 3 {
		t.Errorf("%d twin pairs sharing a first given name", twinsSharing)
	}
	if family["nguyen"] < 150 || family["kim"] < 50 || family["patel"] < 100 {
		t.Errorf("Nguyen %d, Kim %d, Patel %d records: few family names should be common", family["nguyen"], family["kim"], family["patel"])
	}
	t.Logf("hazards %v; twins sharing a first given name %d; Nguyen %d, Kim %d, Patel %d", count, twinsSharing, family["nguyen"], family["kim"], family["patel"])
}

// TestWorldNameForms: each way of writing a name does what its hazard says.
func TestWorldNameForms(t *testing.T) {
	g, err := New(Options{N: 1, Profile: ProfileWorld})
	if err != nil {
		t.Fatal(err)
	}
	hisp := g.comms[1]
	if hisp.name != "hispanic" || len(hisp.family.forms["Vásquez"]) != 2 || hisp.family.w.names[0] != "García" {
		t.Fatalf("hispanic community %s: tables not parsed", hisp.name)
	}
	if s := g.comms[5].male.short["Oluwaseun"]; s != "Seun" {
		t.Errorf("short form of Oluwaseun %q", s)
	}
	total := 0.0
	for _, c := range g.comms {
		total += c.share
	}
	if total < 0.999 || total > 1.001 {
		t.Errorf("community shares sum to %v", total)
	}
	for in, want := range map[string]string{"José": "Jose", "Nguyễn": "Nguyen", "Đặng": "Dang", "Smith": "Smith"} {
		if got := stripAccents(in); got != want {
			t.Errorf("stripAccents(%q) = %q, want %q", in, got, want)
		}
	}
	for _, bad := range []string{"", "Name", "Name x", "Name -1"} {
		if _, err := parseNames(bad); err == nil {
			t.Errorf("parseNames(%q) accepted", bad)
		}
	}
}
