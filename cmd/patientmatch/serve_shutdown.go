package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// shutdownBudget is how long open connections and streams get to finish
// once the server is told to stop.
const shutdownBudget = 10 * time.Second

// wait returns when ctx is cancelled (nil), a server stops by itself
// (its error) or failed receives what leaves the server unable to serve.
func (s *servers) wait(ctx context.Context, failed <-chan error) error {
	select {
	case <-ctx.Done():
		return nil
	case err := <-s.errc:
		return err
	case err := <-failed:
		return err
	}
}

// shutdown stops both servers at the same time, on one budget, and returns
// runErr joined with what went wrong stopping them. A client that keeps a
// connection or stream open past the budget is cut off: that is the end
// of a graceful stop, not a failure of the server, so it is logged, not
// returned (a SIGTERM'd server exits 0).
func (s *servers) shutdown(log *slog.Logger, runErr error) error {
	log.Info("shutting down")
	stopCtx, cancel := context.WithTimeout(context.Background(), shutdownBudget)
	defer cancel()
	var wg sync.WaitGroup
	stopErrs := make([]error, 2)
	if s.http != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.http.Shutdown(stopCtx); err != nil {
				s.http.Close()
				stopErrs[0] = fmt.Errorf("http: %w", err)
			}
		}()
	}
	if s.grpc != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stopErrs[1] = s.grpc.Stop(stopCtx)
		}()
	}
	wg.Wait()
	for _, err := range stopErrs {
		switch {
		case err == nil:
		case errors.Is(err, context.DeadlineExceeded):
			log.Warn("graceful stop cut short: open connections were closed", "err", err)
		default:
			runErr = errors.Join(runErr, err)
		}
	}
	return runErr
}
