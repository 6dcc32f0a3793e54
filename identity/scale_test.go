package identity

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/patientmatch/patientmatch/matcher"
)

// Tests on a loaded data folder (the 1M bench folder, copied: opening an
// engine writes to it), skipped unless PM_IDENTITY_ENGINE names one. They
// report figures; timing is never asserted.

// openScaleEngine opens the engine of PM_IDENTITY_ENGINE.
func openScaleEngine(t *testing.T) *matcher.Engine {
	dir := os.Getenv("PM_IDENTITY_ENGINE")
	if dir == "" {
		t.Skip("PM_IDENTITY_ENGINE not set")
	}
	start := time.Now()
	eng, err := matcher.Open(dir, matcher.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	t.Logf("engine open: %d patients in %v", eng.LastSeq(), time.Since(start).Round(time.Millisecond))
	return eng
}

// startCPUProfile profiles the CPU into file until the returned stop.
func startCPUProfile(t *testing.T, file string) (stop func()) {
	out, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := pprof.StartCPUProfile(out); err != nil {
		t.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		out.Close()
	}
}

// cpuTime is the CPU this process has used (user + system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// TestScaleCatchUp runs the catch-up of a fresh identity log over the
// folder's patients for PM_IDENTITY_CATCHUP_N of them (default 20,000)
// with PM_IDENTITY_WORKERS Matches at once (default 1), and reports
// patients/s and CPU a patient; PM_IDENTITY_CPU=<file> writes a CPU
// profile. Then it replays the log it wrote and reports the state's heap
// a patient.
func TestScaleCatchUp(t *testing.T) {
	eng := openScaleEngine(t)
	n := envInt("PM_IDENTITY_CATCHUP_N", 20000)
	workers := envInt("PM_IDENTITY_WORKERS", 1)
	kv := NewMemKV()
	svc, err := Open(context.Background(), kv, eng, Options{CatchUpWorkers: workers})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	if f := os.Getenv("PM_IDENTITY_CPU"); f != "" {
		defer startCPUProfile(t, f)()
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start, cpu0 := time.Now(), cpuTime()
	done := 0
	_, err = svc.CatchUp(ctx, false, ActorBatch, func(d int) {
		if done = d; d >= n {
			cancel()
		}
	})
	wall, cpu := time.Since(start), cpuTime()-cpu0
	if err != nil && ctx.Err() == nil {
		t.Fatal(err)
	}
	st := svc.Stats()
	t.Logf("catch-up, %d workers: %d patients in %v: %.0f patients/s, %v CPU a patient; %d identities, %d open tasks",
		workers, done, wall.Round(time.Millisecond), float64(done)/wall.Seconds(), (cpu / time.Duration(done)).Round(time.Microsecond),
		st.Identities, st.OpenTasks)
	if err := svc.Close(); err != nil {
		t.Fatal(err)
	}
	if f := os.Getenv("PM_IDENTITY_LOG"); f != "" {
		saveLog(t, kv, f)
	}
	reportReplay(t, kv)
}

// saveLog writes the log batches in kv to file, one a line
// (TestReplayMemory reads them back).
func saveLog(t *testing.T, kv KV, file string) {
	out, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	w := bufio.NewWriter(out)
	err = kv.Scan(context.Background(), []byte(batchPrefix), func(_, v []byte) error {
		w.Write(v)
		return w.WriteByte('\n')
	})
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		t.Fatal(err)
	}
}

// TestScaleWrites measures what automatic linking adds to the write path
// at the folder's scale: PM_IDENTITY_WRITES (default 2,000) patients from
// PM_IDENTITY_INPUT (NDJSON; records already stored, written again under
// new ids, so each has its duplicate to find) written one at a time, as
// clients do, then in batches of 100, first with no identity service,
// then with one observing (its state from PM_IDENTITY_LOG when set). It
// reports what a writer waits (p50, p99) and the process CPU a write,
// linking included (the linked phase ends when Sync returns).
func TestScaleWrites(t *testing.T) {
	input := os.Getenv("PM_IDENTITY_INPUT")
	if input == "" {
		t.Skip("PM_IDENTITY_INPUT not set")
	}
	eng := openScaleEngine(t)
	n := envInt("PM_IDENTITY_WRITES", 2000)
	ps := readPatients(t, input, 4*n) // each phase writes its own
	phase := 0
	run := time.Now().Format("150405")
	ctx := context.Background()
	for _, mode := range []string{"off", "identities"} {
		var svc *Service
		if mode == "identities" {
			var kv KV = NewMemKV()
			if f := os.Getenv("PM_IDENTITY_LOG"); f != "" {
				kv = loadLog(t, f)
			}
			var err error
			if svc, err = Open(ctx, kv, eng, Options{}); err != nil {
				t.Fatal(err)
			}
			if err := svc.Sync(ctx); err != nil { // the log replayed
				t.Fatal(err)
			}
			eng.SetObserver(svc)
			if f := os.Getenv("PM_IDENTITY_CPU"); f != "" {
				stop := startCPUProfile(t, f)
				defer stop()
			}
		}
		for _, batch := range []int{1, 100} {
			phase++
			var waits []time.Duration
			cpu0, start := cpuTime(), time.Now()
			for i := 0; i < n; i += batch {
				chunk := make([]*fm.Patient, 0, batch)
				for k := i; k < min(i+batch, n); k++ {
					p := *ps[(k+n*(phase-1))%len(ps)]
					id := fmt.Sprintf("w%s-%s-%d-%d", run, mode, batch, k)
					p.Id = &id
					chunk = append(chunk, &p)
				}
				t0 := time.Now()
				if _, err := eng.UpsertBatch(ctx, chunk); err != nil {
					t.Fatal(err)
				}
				waits = append(waits, time.Since(t0)/time.Duration(len(chunk)))
			}
			written := time.Since(start)
			if err := eng.WaitIndexed(ctx); err != nil {
				t.Fatal(err)
			}
			if svc != nil {
				if err := svc.Sync(ctx); err != nil {
					t.Fatal(err)
				}
			}
			all, cpu := time.Since(start), cpuTime()-cpu0
			slices.Sort(waits)
			t.Logf("%s, batches of %d: %d writes; writer waits p50 %v p99 %v a write (all written in %v); until indexed%s %v: %v CPU a write",
				mode, batch, n, waits[len(waits)/2].Round(time.Microsecond), waits[len(waits)*99/100].Round(time.Microsecond),
				written.Round(time.Millisecond), map[bool]string{true: " and linked", false: ""}[svc != nil],
				all.Round(time.Millisecond), (cpu / time.Duration(n)).Round(time.Microsecond))
		}
		if svc != nil {
			eng.SetObserver(nil)
			if err := svc.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// readPatients reads up to n Patients from an NDJSON file.
func readPatients(t *testing.T, file string, n int) []*fm.Patient {
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []*fm.Patient
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for len(out) < n && sc.Scan() {
		var p fm.Patient
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			t.Fatal(err)
		}
		out = append(out, &p)
	}
	return out
}
