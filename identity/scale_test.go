package identity

import (
	"bufio"
	"context"
	"os"
	"runtime/pprof"
	"strconv"
	"syscall"
	"testing"
	"time"

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
		out, err := os.Create(f)
		if err != nil {
			t.Fatal(err)
		}
		defer out.Close()
		if err := pprof.StartCPUProfile(out); err != nil {
			t.Fatal(err)
		}
		defer pprof.StopCPUProfile()
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
