package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/patientmatch/patientmatch/synth"
)

// runGenerate writes a synthetic data set (and optionally its truth file).
// The logic is in package synth; this only parses flags and opens files.
func runGenerate(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "generate", "")
	n := fs.Int("n", 0, "number of records to write (required)")
	seed := fs.Uint64("seed", 1, "random seed; the same seed gives the same bytes")
	dupRate := fs.Float64("dup-rate", synth.DefaultDupRate, "fraction of people with 1-3 extra records, in [0,1]")
	out := fs.String("out", "", "output file, .csv or .ndjson (required)")
	truth := fs.String("truth", "", "optional truth file (id,entity CSV)")
	profile := fs.String("profile", string(synth.ProfileHousehold),
		"shape of the data: household (US registry of households), registry (sequential MRNs, namesakes), civil (sparse civil records), names (names and birth date only), insured (household with insurance member numbers a family may share: columns member_id, member_system), world (a diverse city's registry: compound and double family names, particles, family-first order, adopted names, transliterations, few family names, 1 January birth dates)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return usageErrorf("unexpected argument %q", fs.Arg(0))
	case *out == "":
		return usageErrorf("--out is required")
	case *n <= 0:
		return usageErrorf("--n must be > 0")
	case !(*dupRate >= 0 && *dupRate <= 1):
		return usageErrorf("--dup-rate must be in [0,1]")
	}
	format, err := synth.FormatForPath(*out)
	if err != nil {
		return usageErrorf("--out: %v", err)
	}
	g, err := synth.New(synth.Options{N: *n, Seed: *seed, DupRate: *dupRate, Profile: synth.Profile(*profile)})
	if err != nil {
		return usageErrorf("%v", err)
	}

	start := time.Now()
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	var tf *os.File
	if *truth != "" {
		if tf, err = os.Create(*truth); err != nil {
			f.Close()
			return err
		}
	}
	var tw io.Writer // stays a nil interface, not a nil *os.File, without --truth
	if tf != nil {
		tw = tf
	}
	st, err := g.Write(ctx, f, format, tw)
	err = errors.Join(err, f.Close())
	if tf != nil {
		err = errors.Join(err, tf.Close())
	}
	if err != nil {
		// Never leave a half-written data set behind.
		os.Remove(*out)
		if *truth != "" {
			os.Remove(*truth)
		}
		return err
	}
	fmt.Fprintf(env.stderr, "generate: %d records, %d entities, %d households in %.2fs\n",
		st.Records, st.Entities, st.Households, time.Since(start).Seconds())
	return nil
}
