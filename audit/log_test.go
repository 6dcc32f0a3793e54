package audit

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeN(t testing.TB, path string, n int) {
	t.Helper()
	l, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		err := l.Write(Entry{Protocol: "http", Operation: "POST /fhir/Patient/$match", Outcome: "ok", Status: "200",
			Client:   Client{Issuer: "https://as.example", Subject: "svc", Peer: "127.0.0.1"},
			Patients: []Patient{{ID: "p" + strings.Repeat("x", i%3), Action: "matched", Grade: "certain"}}, Count: 1})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

func verifyFile(t *testing.T, path string) (Result, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return Verify(f)
}

func TestLogChainAndReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	writeN(t, path, 5)
	writeN(t, path, 3) // reopening continues the chain
	res, err := verifyFile(t, path)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if res.Records != 8 || res.LastSeq != 8 {
		t.Fatalf("result %+v, want 8 records", res)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", info.Mode().Perm())
	}
}

func TestVerifyDetectsTampering(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.jsonl")
	writeN(t, path, 6)
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(orig, []byte("\n"))
	lines = lines[:len(lines)-1] // the empty tail after the last newline
	edits := map[string][]byte{
		"edited outcome": bytes.Replace(orig, []byte(`"outcome":"ok"`), []byte(`"outcome":"no"`), 1),
		"edited id":      bytes.Replace(orig, []byte(`"id":"px"`), []byte(`"id":"py"`), 1),
		"line removed":   bytes.Join(append(append([][]byte{}, lines[:2]...), lines[3:]...), nil),
		"lines swapped":  bytes.Join([][]byte{lines[0], lines[2], lines[1], lines[3], lines[4], lines[5]}, nil),
		"line inserted":  bytes.Join([][]byte{lines[0], lines[1], lines[1], lines[2]}, nil),
		"garbage":        append(append([]byte{}, orig...), []byte("{\"x\":1}\n")...),
	}
	for name, data := range edits {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_"))
			if err := os.WriteFile(p, data, 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := verifyFile(t, p); err == nil {
				t.Fatal("tampered trail verified")
			}
			// And the server refuses to append to it.
			if l, err := Open(p, Options{}); err == nil {
				l.Close()
				t.Fatal("Open appended to a broken trail")
			}
		})
	}
}

func TestLogSyncsInBatches(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := Open(path, Options{SyncEvery: 3, SyncInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for range 2 {
		if err := l.Write(Entry{Protocol: "grpc", Operation: "/patientmatch.v1.PatientMatch/Get", Outcome: "ok"}); err != nil {
			t.Fatal(err)
		}
	}
	if data, _ := os.ReadFile(path); len(data) != 0 {
		t.Fatalf("written before the batch was full: %q", data)
	}
	if err := l.Write(Entry{Protocol: "grpc", Operation: "x", Outcome: "ok"}); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(path); bytes.Count(data, []byte("\n")) != 3 {
		t.Fatalf("after a full batch: %d lines", bytes.Count(data, []byte("\n")))
	}
}

func TestTemplate(t *testing.T) {
	for in, want := range map[string]string{
		"/fhir/Patient/$match":            "/fhir/Patient/$match",
		"/fhir/Patient/p123":              "/fhir/Patient/{id}",
		"/fhir/Patient/p1/_history/3":     "/fhir/Patient/{id}/_history/{id}",
		"/match/links":                    "/match/links",
		"/fhir/Patient/Smith%20John/../x": "/fhir/Patient/{id}/{id}/{id}",
		"/":                               "/",
	} {
		if got := Template(in); got != want {
			t.Errorf("Template(%q) = %q, want %q", in, got, want)
		}
	}
}
