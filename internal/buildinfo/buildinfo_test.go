package buildinfo

import (
	"runtime/debug"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestFromBuildInfo(t *testing.T) {
	bi := &debug.BuildInfo{
		GoVersion: "go1.26.0",
		Main:      debug.Module{Path: "github.com/patientmatch/patientmatch", Version: "v0.0.0-20261204161500-7bf5155a1b2c+dirty"},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "7bf5155a1b2c3d4e5f60718293a4b5c6d7e8f901"},
			{Key: "vcs.modified", Value: "true"},
			{Key: "vcs.time", Value: "2026-12-04T16:15:00Z"},
		},
	}
	i := fromBuildInfo(bi, Info{})
	want := "patientmatch v0.0.0-20261204161500-7bf5155a1b2c+dirty (revision 7bf5155a1b2c+modified, committed 2026-12-04T16:15:00Z, go1.26.0)"
	if got := i.String(); got != want {
		t.Fatalf("String() = %q\nwant %q", got, want)
	}
	if r := (Info{}).ShortRevision(); r != "unknown" {
		t.Errorf("empty revision: %q", r)
	}
}

func TestCollector(t *testing.T) {
	reg := prometheus.NewRegistry()
	i := Info{Version: "v1.2.3", Revision: "abc", GoVersion: "go1.26.0"}
	reg.MustRegister(i.Collector())
	mfs, err := reg.Gather()
	if err != nil || len(mfs) != 1 || mfs[0].GetName() != "patientmatch_build_info" {
		t.Fatalf("gathered %v, %v", mfs, err)
	}
	m := mfs[0].GetMetric()[0]
	labels := map[string]string{}
	for _, l := range m.GetLabel() {
		labels[l.GetName()] = l.GetValue()
	}
	if m.GetGauge().GetValue() != 1 || labels["version"] != "v1.2.3" || labels["revision"] != "abc" ||
		labels["goversion"] != "go1.26.0" || labels["modified"] != "false" {
		t.Fatalf("build_info = %v %v", m.GetGauge().GetValue(), labels)
	}
}

func TestReadInTest(t *testing.T) {
	i := Read()
	if i.GoVersion == "" || i.Module == "" || i.Version == "" {
		t.Fatalf("Read() left fields empty: %+v", i)
	}
}
