package synth

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/patientmatch/patientmatch/record"
)

// Format is an output format.
type Format string

// Output formats (CONTRACT.md input formats).
const (
	FormatCSV    Format = "csv"    // canonical columns with a header row
	FormatNDJSON Format = "ndjson" // one FHIR R4 Patient per line
)

// FormatForPath picks the format from a file name's extension.
func FormatForPath(path string) (Format, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		return FormatCSV, nil
	case ".ndjson":
		return FormatNDJSON, nil
	}
	return "", fmt.Errorf("%w: cannot tell the format of %q (want .csv or .ndjson)", ErrInvalid, path)
}

// Write generates the data set into w in format f and, when truth is not
// nil, the truth file (header "id,entity", one row per record, in the same
// order) into truth.
func (g *Generator) Write(ctx context.Context, w io.Writer, f Format, truth io.Writer) (Stats, error) {
	bw := bufio.NewWriterSize(w, 1<<16)
	var enc func(*Row) error
	var cw *csv.Writer
	switch f {
	case FormatCSV:
		cw = csv.NewWriter(bw)
		header := g.opts.Profile.Header()
		if err := cw.Write(header); err != nil {
			return Stats{}, fmt.Errorf("synth: write: %w", err)
		}
		enc = func(row *Row) error { return cw.Write(row.Cols[:len(header)]) }
	case FormatNDJSON:
		// The engine's own CSV-columns → Patient conversion, so NDJSON and
		// CSV output describe exactly the same patients.
		enc = ndjsonEncoder(bw, g.opts.Profile.Header(), record.PatientFromColumns)
	default:
		return Stats{}, fmt.Errorf("%w: unknown format %q", ErrInvalid, f)
	}
	var tw *bufio.Writer
	if truth != nil {
		tw = bufio.NewWriterSize(truth, 1<<15)
		tw.WriteString("id,entity\n")
	}
	var num []byte
	st, err := g.Each(ctx, func(row *Row) error {
		if err := enc(row); err != nil {
			return fmt.Errorf("synth: write record %s: %w", row.ID(), err)
		}
		if tw != nil {
			tw.WriteString(row.ID())
			tw.WriteByte(',')
			num = strconv.AppendInt(num[:0], int64(row.Entity), 10)
			tw.Write(num)
			tw.WriteByte('\n')
		}
		return nil
	})
	if err != nil {
		return st, err
	}
	if cw != nil {
		cw.Flush()
		if err := cw.Error(); err != nil {
			return st, fmt.Errorf("synth: write: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return st, fmt.Errorf("synth: write: %w", err)
	}
	if tw != nil {
		if err := tw.Flush(); err != nil {
			return st, fmt.Errorf("synth: write truth: %w", err)
		}
	}
	return st, nil
}

// patientFunc builds a FHIR Patient from canonical columns.
type patientFunc func(cols map[string]string) (*fhir.Patient, error)

// ndjsonEncoder returns an encoder writing each row as one FHIR Patient per
// line, built by toPatient from the row's columns named by header (empty
// columns omitted).
func ndjsonEncoder(w io.Writer, header []string, toPatient patientFunc) func(*Row) error {
	cols := make(map[string]string, NumCols)
	return func(row *Row) error {
		clear(cols)
		for i, v := range row.Cols[:len(header)] {
			if v != "" {
				cols[header[i]] = v
			}
		}
		p, err := toPatient(cols)
		if err != nil {
			return err
		}
		b, err := json.Marshal(p)
		if err != nil {
			return err
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
		_, err = w.Write([]byte{'\n'})
		return err
	}
}
