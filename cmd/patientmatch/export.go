package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/patientmatch/patientmatch/matcher"
)

// runExport writes every stored Patient as NDJSON, one resource per line
// as GET /fhir/Patient/{id} returns it, in id order: the FHIR Bulk Data
// export format, which load reads back. A FILE ending in .gz is gzipped.
func runExport(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "export", "[FILE]")
	data := fs.String("data", dataDir(env), "data folder (env PATIENTMATCH_DATA)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return usageErrorf("want at most one output file (default: stdout), got %d", fs.NArg())
	}
	path := "-"
	if fs.NArg() == 1 {
		path = fs.Arg(0)
	}
	if err := requireDataDir(*data); err != nil {
		return err
	}
	start := time.Now()
	eng, err := matcher.Open(*data, matcher.Options{})
	if err != nil {
		return err
	}
	defer eng.Close()
	out, err := createOutput(env, path)
	if err != nil {
		return err
	}
	defer out.abort()
	n, err := exportTo(ctx, eng, out, strings.HasSuffix(strings.ToLower(path), ".gz"))
	if err != nil {
		return err
	}
	if err := out.commit(); err != nil {
		return err
	}
	where := path
	if path == "-" {
		where = "stdout"
	}
	fmt.Fprintf(env.stderr, "export: %d patients written to %s in %.1fs\n", n, where, time.Since(start).Seconds())
	return nil
}

// exportTo writes the NDJSON, gzipped when asked.
func exportTo(ctx context.Context, eng *matcher.Engine, w io.Writer, gz bool) (int, error) {
	var zw *gzip.Writer
	if gz {
		zw = gzip.NewWriter(w)
		w = zw
	}
	bw := bufio.NewWriterSize(w, 256<<10)
	var line bytes.Buffer
	n := 0
	err := eng.Scan(ctx, func(p matcher.StoredPatient) error {
		line.Reset()
		if err := json.Compact(&line, p.Resource); err != nil {
			return fmt.Errorf("patient %s: stored resource: %w", p.ID, err)
		}
		line.WriteByte('\n')
		n++
		_, err := bw.Write(line.Bytes())
		return err
	})
	if err == nil {
		err = bw.Flush()
	}
	if err == nil && zw != nil {
		err = zw.Close()
	}
	return n, err
}
