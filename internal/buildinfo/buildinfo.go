// Package buildinfo reports what binary is running: the module version and
// the VCS revision the Go toolchain stamped into it. The CLI prints it
// (patientmatch --version), the CapabilityStatement names it and /metrics
// exports it as patientmatch_build_info, so an operator can tell which
// build answered.
package buildinfo

import (
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// Info describes the running binary.
type Info struct {
	// Module is the main module path.
	Module string
	// Version is the main module version: a tag, a pseudo-version the Go
	// toolchain derived from the VCS (with "+dirty" for a modified tree), or
	// "(devel)" when it knew neither.
	Version string
	// Revision is the VCS commit ("" when unknown, e.g. go run or a build
	// outside a checkout), Modified whether the tree had local changes.
	Revision string
	Modified bool
	// Time is the commit time (RFC 3339) when known.
	Time string
	// GoVersion is the toolchain that built the binary.
	GoVersion string
}

// Read returns the build information of the running binary.
func Read() Info {
	info := Info{Module: "github.com/patientmatch/patientmatch", Version: "(devel)", GoVersion: runtime.Version()}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return info
	}
	return fromBuildInfo(bi, info)
}

// fromBuildInfo fills def from bi.
func fromBuildInfo(bi *debug.BuildInfo, def Info) Info {
	if bi.Main.Path != "" {
		def.Module = bi.Main.Path
	}
	if bi.Main.Version != "" {
		def.Version = bi.Main.Version
	}
	if bi.GoVersion != "" {
		def.GoVersion = bi.GoVersion
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			def.Revision = s.Value
		case "vcs.modified":
			def.Modified = s.Value == "true"
		case "vcs.time":
			def.Time = s.Value
		}
	}
	return def
}

// ShortRevision is the first 12 hex digits of the revision, "unknown" when
// there is none, with "+modified" for a modified tree.
func (i Info) ShortRevision() string {
	r := i.Revision
	if r == "" {
		return "unknown"
	}
	if len(r) > 12 {
		r = r[:12]
	}
	if i.Modified {
		r += "+modified"
	}
	return r
}

// String is the one-line form the CLI prints:
// "patientmatch VERSION (revision REV, built with GO)".
func (i Info) String() string {
	var b strings.Builder
	b.WriteString("patientmatch ")
	b.WriteString(i.Version)
	b.WriteString(" (revision ")
	b.WriteString(i.ShortRevision())
	if i.Time != "" {
		b.WriteString(", committed " + i.Time)
	}
	b.WriteString(", " + i.GoVersion + ")")
	return b.String()
}

// Collector is the patientmatch_build_info gauge: always 1, with the
// version, revision and Go version as labels.
func (i Info) Collector() prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "patientmatch_build_info",
		Help: "Build of the running server: always 1; the labels say which build.",
		ConstLabels: prometheus.Labels{
			"version":   i.Version,
			"revision":  i.Revision,
			"modified":  boolLabel(i.Modified),
			"goversion": i.GoVersion,
		},
	}, func() float64 { return 1 })
}

func boolLabel(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
