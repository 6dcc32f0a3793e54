package store

import (
	"context"
	"fmt"
	"time"

	badger "github.com/dgraph-io/badger/v4"
)

// reopenTiming paces Reopen: how it waits for an idle moment (lockIdle)
// and how it retries opening the store again (openAgain).
type reopenTiming struct {
	// poll is how often lockIdle tries for the lock within one try of
	// patience; after a try without an idle moment it rests (patience at
	// first, doubling) and tries again, up to tries times.
	poll, patience time.Duration
	tries          int
	// hold bounds how long a try holds new operations back while those
	// under way finish (lockHolding).
	hold time.Duration
	// openTries is how many times Reopen tries to open the store again,
	// waiting openBackoff (doubling) between tries.
	openTries   int
	openBackoff time.Duration
	// busy, when set, is called every time lockIdle finds an operation
	// under way (tests wait on it rather than on the clock).
	busy func()
}

// defaultReopenTiming: operations take microseconds to milliseconds, so on
// a store that is not saturated a free moment comes within a few polls;
// a long read (a FHIR _search walking the store) is over within the
// tries' ~30 s. Holding new operations back for 50 ms lets those under
// way (a few ms each) finish, and stalls requests behind a long read
// only that long, a handful of times. Opening again fails only for a reason outside the process
// (files removed, descriptors or memory exhausted), which a few tries
// over a second and a half may outlast.
var defaultReopenTiming = reopenTiming{
	poll:        time.Millisecond,
	patience:    time.Second,
	tries:       5,
	hold:        50 * time.Millisecond,
	openTries:   4,
	openBackoff: 200 * time.Millisecond,
}

// Reopen closes badger and opens it again, waiting for the operations
// under way and holding back new ones meanwhile. What for: badger reads
// its tables and value log through memory mappings, and every page a
// read touched stays in the process's resident set for as long as the
// file stays mapped, although nothing will read most of them again. A
// scan of every patient (opening the engine) leaves all the table files
// resident, 373 MiB at 1M patients; closing unmaps the files and opening
// maps them afresh, untouched, and the pages stay in the OS page cache,
// so later reads cost a minor fault, not a disk read. Closing also
// flushes the memtable, so nothing written is lost. In memory it does
// nothing.
//
// It waits for a moment when no operation runs, and gives up, changing
// nothing, when none comes (ErrBusy) or ctx ends first (see lockIdle).
// A store that fails to open again is tried a few times more (openAgain);
// if it still fails the store is closed: Reopen's error, and every
// operation's from then on, is ErrClosed.
func (s *Store) Reopen(ctx context.Context) error {
	select {
	case s.reopening <- struct{}{}:
		defer func() { <-s.reopening }()
	case <-ctx.Done():
		return fmt.Errorf("store: reopen: waiting for another: %w", ctx.Err())
	}
	if err := s.lockIdle(ctx); err != nil {
		return fmt.Errorf("store: reopen: %w", err)
	}
	defer s.unlock()
	if s.closed.Load() {
		return ErrClosed
	}
	if s.opts.InMemory {
		return nil
	}
	if err := s.db.Close(); err != nil {
		s.closed.Store(true)
		return fmt.Errorf("%w: reopen: close: %w", ErrClosed, err)
	}
	// Once the database is closed, opening it again is all that is left
	// to do, whether or not the caller is still waiting: a cancelled ctx
	// must not leave a store that could open closed for good.
	db, err := s.openAgain(context.WithoutCancel(ctx))
	if err != nil {
		s.closed.Store(true)
		return fmt.Errorf("%w: reopen: %w", ErrClosed, err)
	}
	s.db = db
	return nil
}

// openAgain opens the closed store's database, retrying with backoff: a
// failure may be passing, and until it opens the store serves nothing.
// It stops early when ctx ends (Reopen passes one that does not).
func (s *Store) openAgain(ctx context.Context) (*badger.DB, error) {
	wait := s.reopen.openBackoff
	for try := 1; ; try++ {
		db, err := s.open()
		if err == nil {
			if try > 1 {
				s.opts.Logger.Warn("store: opened again after failed tries", "tries", try)
			}
			return db, nil
		}
		if try >= s.reopen.openTries {
			return nil, fmt.Errorf("%d tries: %w", try, err)
		}
		s.opts.Logger.Warn("store: could not open the store again; retrying", "try", try, "in", wait, "err", err)
		if cerr := sleep(ctx, wait); cerr != nil {
			return nil, fmt.Errorf("%d tries, then %w: %w", try, cerr, err)
		}
		wait *= 2
	}
}

// lockIdle takes closing exclusively at a moment no operation holds it.
// It never queues for the lock: a queued writer holds back every new
// reader (sync.RWMutex) for as long as the readers under way last, so
// behind a long read (a FHIR _search walking the store) every request
// would stall, and the wait could not be cancelled. A try waits patience
// for an idle moment; then, for a store never idle (operations
// overlapping without pause), it holds new operations back for at most
// hold while those under way finish; failing that it lets them go, rests
// (patience at first, doubling) and tries again. After the last try it
// gives up with ErrBusy (releasing pages is an optimisation: skipping it
// is safe). It gives up when ctx ends.
func (s *Store) lockIdle(ctx context.Context) error {
	rest := s.reopen.patience
	for try := 1; ; try++ {
		ok, err := s.lockWithin(ctx, s.reopen.patience)
		if ok || err != nil {
			return err
		}
		if ok, err = s.lockHolding(ctx); ok || err != nil {
			return err
		}
		if try >= s.reopen.tries {
			return fmt.Errorf("%w: no moment without an operation under way in %d tries", ErrBusy, try)
		}
		if err := sleep(ctx, rest); err != nil {
			return err
		}
		rest *= 2
	}
}

// lockHolding holds new operations back (held) and tries for closing
// for at most s.reopen.hold. When it gets it (true) new operations wait
// until unlock lets them go; otherwise it lets them go at once.
func (s *Store) lockHolding(ctx context.Context) (bool, error) {
	h := make(chan struct{})
	s.held.Store(&h)
	ok, err := s.lockWithin(ctx, s.reopen.hold)
	if !ok {
		s.held.Store(nil)
		close(h)
	}
	return ok, err
}

// unlock releases closing taken by lockIdle and lets the operations it
// held back go.
func (s *Store) unlock() {
	s.closing.Unlock()
	if h := s.held.Swap(nil); h != nil {
		close(*h)
	}
}

// lockWithin tries for closing every poll until it gets it (true), d
// passes (false) or ctx ends (its error).
func (s *Store) lockWithin(ctx context.Context, d time.Duration) (bool, error) {
	deadline := time.Now().Add(d)
	for !s.closing.TryLock() {
		if s.reopen.busy != nil {
			s.reopen.busy()
		}
		if !time.Now().Before(deadline) {
			return false, nil
		}
		if err := sleep(ctx, s.reopen.poll); err != nil {
			return false, err
		}
	}
	return true, nil
}

// sleep waits d, or until ctx ends (its error).
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
