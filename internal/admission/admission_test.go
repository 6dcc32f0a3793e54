package admission

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestAcquireBound(t *testing.T) {
	reg := prometheus.NewRegistry()
	l, err := New(Options{MaxInFlight: 2, MaxWaiting: 1, Wait: 20 * time.Millisecond, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r1, err := l.Acquire(ctx, "http")
	if err != nil {
		t.Fatal(err)
	}
	r2, err := l.Acquire(ctx, "grpc")
	if err != nil {
		t.Fatal(err)
	}
	// Full: the next waits its 20 ms, then is refused.
	start := time.Now()
	if _, err := l.Acquire(ctx, "http"); !errors.Is(err, ErrOverloaded) {
		t.Fatalf("third acquire: %v, want ErrOverloaded", err)
	}
	if d := time.Since(start); d < 20*time.Millisecond || d > 2*time.Second {
		t.Errorf("refused after %v, want after the 20ms wait", d)
	}
	// A waiter gets the slot released while it waits.
	got := make(chan error, 1)
	go func() {
		rel, err := l.Acquire(ctx, "grpc")
		if err == nil {
			rel()
		}
		got <- err
	}()
	time.Sleep(5 * time.Millisecond)
	r1()
	if err := <-got; err != nil {
		t.Fatalf("waiter: %v, want admitted when a slot came free", err)
	}
	r2()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			name := mf.GetName()
			for _, lp := range m.GetLabel() {
				name += "{" + lp.GetValue() + "}"
			}
			switch {
			case m.GetCounter() != nil:
				seen[name] = m.GetCounter().GetValue()
			case m.GetHistogram() != nil:
				seen[name] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	want := map[string]float64{
		"patientmatch_admission_shed_total{http}":    1,
		"patientmatch_admission_queue_seconds{http}": 1,
		"patientmatch_admission_queue_seconds{grpc}": 2,
	}
	for k, v := range want {
		if seen[k] != v {
			t.Errorf("%s = %v, want %v (all: %v)", k, seen[k], v, seen)
		}
	}
}

func TestAcquireWaitersBounded(t *testing.T) {
	l, err := New(Options{MaxInFlight: 1, MaxWaiting: 1, Wait: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rel, err := l.Acquire(ctx, "http")
	if err != nil {
		t.Fatal(err)
	}
	defer rel()
	waiting := make(chan error, 1)
	go func() {
		_, err := l.Acquire(ctx, "http") // waits its second, then refused
		waiting <- err
	}()
	// Let the first waiter take the one waiting place.
	deadline := time.Now().Add(2 * time.Second)
	for len(l.waiting) == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	if _, err := l.Acquire(ctx, "http"); !errors.Is(err, ErrOverloaded) {
		t.Fatalf("acquire with the waiting room full: %v, want ErrOverloaded", err)
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("refused after %v, want at once", d)
	}
	if err := <-waiting; !errors.Is(err, ErrOverloaded) {
		t.Errorf("waiter: %v, want ErrOverloaded", err)
	}
}

func TestAcquireContext(t *testing.T) {
	l, err := New(Options{MaxInFlight: 1, Wait: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	rel, _ := l.Acquire(context.Background(), "http")
	defer rel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := l.Acquire(ctx, "http"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("acquire: %v, want the context's error", err)
	}
}

func TestOptionsValidate(t *testing.T) {
	if err := (Options{MaxInFlight: -1, MaxWaiting: -1, Wait: -1, RetryAfter: -1}).Validate(); err == nil {
		t.Error("negative options accepted")
	}
	l, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if l.MaxInFlight() != DefaultMaxInFlight() || l.RetryAfter() != DefaultRetryAfter {
		t.Errorf("defaults: %d, %v", l.MaxInFlight(), l.RetryAfter())
	}
}
