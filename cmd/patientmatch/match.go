package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/patientmatch/patientmatch/fhir"
	"github.com/patientmatch/patientmatch/matcher"
)

// runMatch answers one $match request from the command line. It drives the
// FHIR service's own handler in-process (no socket), so the CLI and the
// server give the same answer for the same request.
func runMatch(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "match", "FILE|-")
	data := fs.String("data", dataDir(env), "data folder (env PATIENTMATCH_DATA)")
	count := fs.Int("count", 0, "return at most N matches (0: the server default)")
	onlyCertain := fs.Bool("only-certain", false, "return only a single certain match, or none")
	explain := fs.Bool("explain", false, "add the per-comparison explanation extension to each entry")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageErrorf("want exactly one input file (or - for stdin), got %d", fs.NArg())
	}
	if *count < 0 {
		return usageErrorf("--count must not be negative")
	}
	var in []byte
	var err error
	if p := fs.Arg(0); p == "-" {
		in, err = io.ReadAll(env.stdin)
	} else {
		in, err = os.ReadFile(p)
	}
	if err != nil {
		return err
	}
	body, err := matchParameters(in, *count, *onlyCertain)
	if err != nil {
		return err
	}
	if err := requireDataDir(*data); err != nil {
		return err
	}

	eng, err := matcher.Open(*data, matcher.Options{})
	if err != nil {
		return err
	}
	defer eng.Close()
	srv, err := fhir.NewServer(eng, fhir.Options{BaseURL: "http://localhost:8080", MaxBodyBytes: int64(len(body)) + 1})
	if err != nil {
		return err
	}
	target := "/fhir/Patient/$match"
	if *explain {
		target += "?_explain=true"
	}
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/fhir+json")
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		return fmt.Errorf("%s", outcomeText(rec.Body.Bytes()))
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, rec.Body.Bytes(), "", "  "); err != nil {
		return err
	}
	pretty.WriteByte('\n')
	_, err = env.stdout.Write(pretty.Bytes())
	return err
}

// matchParameters turns the input (a Patient or a Parameters resource) into
// a $match Parameters body carrying the command line's count and
// onlyCertainMatches. Parameters already in the input are kept; the flags
// are added only when set.
func matchParameters(in []byte, count int, onlyCertain bool) ([]byte, error) {
	var probe struct {
		ResourceType string            `json:"resourceType"`
		Parameter    []json.RawMessage `json:"parameter"`
	}
	if err := json.Unmarshal(in, &probe); err != nil {
		return nil, fmt.Errorf("input is not JSON: %w", err)
	}
	var params []json.RawMessage
	switch probe.ResourceType {
	case "Patient":
		params = append(params, mustJSON(map[string]any{"name": "resource", "resource": json.RawMessage(in)}))
	case "Parameters":
		params = probe.Parameter
	default:
		return nil, fmt.Errorf("input resourceType is %q; want Patient or Parameters", probe.ResourceType)
	}
	if count > 0 {
		params = append(params, mustJSON(map[string]any{"name": "count", "valueInteger": count}))
	}
	if onlyCertain {
		params = append(params, mustJSON(map[string]any{"name": "onlyCertainMatches", "valueBoolean": true}))
	}
	return json.Marshal(map[string]any{"resourceType": "Parameters", "parameter": params})
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only called with maps of JSON-able values
	}
	return b
}

// outcomeText extracts the diagnostics of an OperationOutcome body.
func outcomeText(body []byte) string {
	var oo struct {
		Issue []struct {
			Code        string `json:"code"`
			Diagnostics string `json:"diagnostics"`
		} `json:"issue"`
	}
	if err := json.Unmarshal(body, &oo); err != nil || len(oo.Issue) == 0 {
		return string(body)
	}
	return fmt.Sprintf("%s: %s", oo.Issue[0].Code, oo.Issue[0].Diagnostics)
}
