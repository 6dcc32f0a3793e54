package matcher

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/patientmatch/patientmatch/record"
)

// crashChildEnv makes the test binary act as a writer process that the
// parent test kills with SIGKILL.
const crashChildEnv = "PATIENTMATCH_CRASH_CHILD_DIR"

// TestCrashChild is the child side of TestKillDuringWrites: it upserts
// patients one by one and prints "ack ID" after each acknowledged write,
// until it is killed.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashChildEnv)
	if dir == "" {
		t.Skip("child process of TestKillDuringWrites only")
	}
	// Written as the load command writes (bulk write buffers); the parent
	// reopens with the defaults, as the server does.
	e, err := Open(dir, Options{WriteBuffer: BulkWriteBuffer})
	if err != nil {
		fmt.Println("open error:", err)
		os.Exit(3)
	}
	for i := 0; ; i++ {
		p := testPatient(fmt.Sprintf("c%d", i), "Crash", fmt.Sprintf("Given%d", i), fmt.Sprintf("19%02d-01-%02d", i%100, i%28+1))
		if _, _, err := e.Upsert(context.Background(), p); err != nil {
			fmt.Println("upsert error:", err)
			os.Exit(3)
		}
		fmt.Printf("ack %s\n", *p.Id)
	}
}

// TestKillDuringWrites kills a writing process with SIGKILL and checks that
// every write it acknowledged is there after a restart, and that the index
// agrees with the store (each acknowledged patient is found by matching).
func TestKillDuringWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked []string
	sc := bufio.NewScanner(out)
	deadline := time.Now().Add(20 * time.Second)
	for sc.Scan() {
		line := sc.Text()
		if id, ok := strings.CutPrefix(line, "ack "); ok {
			acked = append(acked, id)
		} else if strings.Contains(line, "error") {
			t.Fatalf("child: %s", line)
		}
		if len(acked) >= 60 || time.Now().After(deadline) {
			break
		}
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if len(acked) == 0 {
		t.Fatal("child acknowledged no write")
	}

	e, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("reopening after SIGKILL: %v", err)
	}
	defer e.Close()
	for _, id := range acked {
		sp, err := e.Get(context.Background(), id)
		if err != nil {
			t.Fatalf("acknowledged write %s lost: %v", id, err)
		}
		p, err := fm.UnmarshalPatient(sp.Resource)
		if err != nil {
			t.Fatal(err)
		}
		ms, err := e.Match(context.Background(), record.FromFHIR(&p), MatchOptions{Count: 3})
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) == 0 || ms[0].ID != id {
			t.Fatalf("index does not agree with the store: matching %s returned %v", id, ids(ms))
		}
	}
	t.Logf("%d acknowledged writes survived SIGKILL; %d patients stored", len(acked), e.Len())
}

func ids(ms []Match) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}
