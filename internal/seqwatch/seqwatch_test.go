package seqwatch

import (
	"context"
	"errors"
	"testing"
)

func TestWatch(t *testing.T) {
	var w Watch
	w.Init(3)
	ctx := context.Background()
	if err := w.Wait(ctx, 3); err != nil {
		t.Fatalf("target reached: %v", err)
	}
	done := make(chan error)
	go func() { done <- w.Wait(ctx, 5) }()
	w.Advance(4)
	w.Advance(2) // never back
	if got := w.Load(); got != 4 {
		t.Fatalf("Load = %d after 4 then 2, want 4", got)
	}
	w.Advance(5)
	if err := <-done; err != nil {
		t.Fatalf("waiter for 5: %v", err)
	}

	cctx, cancel := context.WithCancel(ctx)
	go func() { done <- w.Wait(cctx, 9) }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled waiter: %v", err)
	}

	go func() { done <- w.Wait(ctx, 9) }()
	w.Stop()
	if err := <-done; !errors.Is(err, ErrStopped) {
		t.Fatalf("waiter at Stop: %v, want ErrStopped", err)
	}
	if err := w.Wait(ctx, 9); !errors.Is(err, ErrStopped) {
		t.Fatalf("waiter after Stop: %v, want ErrStopped", err)
	}
	if err := w.Wait(ctx, 5); err != nil {
		t.Fatalf("reached target after Stop: %v", err)
	}
}
