package identity

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/patientmatch/patientmatch/internal/seqwatch"
	"github.com/patientmatch/patientmatch/matcher"
	"github.com/patientmatch/patientmatch/record"
	"github.com/patientmatch/patientmatch/scoring"
)

// Engine is what the service needs of the matching engine
// (matcher.Engine implements it): the one Match every surface uses, and
// the changelog to catch up from.
type Engine interface {
	Match(ctx context.Context, r record.Record, opts matcher.MatchOptions) ([]matcher.Match, error)
	Changes(ctx context.Context, afterSeq uint64, fn func(matcher.Written) error) error
	LastSeq() uint64
}

// Options configure a Service. The zero value is usable.
type Options struct {
	// Candidates is how many matches of a written record are considered
	// for linking and tasks. Default 20.
	Candidates int
	// TaskGrade is the weakest grade of a match that opens a review task.
	// Default possible: the model leaves the pairs it cannot tell apart
	// from relatives (twins, juniors: MATCHING-NOTES "Decided") at
	// possible precisely so that a steward decides them, and a pair no
	// task proposes is never linked. The price is household members in
	// the queue: on the demo set 23 of 1,171 possible pairs were one
	// person (1,514 open tasks; 343 with GradeProbable, 98% one person).
	// GradeProbable is for deployments whose stewards cannot take that
	// volume (serve and dedupe --data: --review-grade probable).
	TaskGrade scoring.Grade
	// FlushInterval is how often automatic links are written to the log
	// (steward decisions are written at once). Default 200ms.
	FlushInterval time.Duration
	// FlushEvents flushes as soon as that many events are pending.
	// Default 4096.
	FlushEvents int
	// CatchUpWorkers is how many Matches a catch-up runs at once (the
	// plans are still made one write at a time, in commit order, so the
	// result is the same for any number). Default 1: a server catching up
	// in the background keeps a core for its requests; a batch pass with
	// nothing else to do gives it every core.
	CatchUpWorkers int
	// Logger receives operational logs (never demographics). Default: discard.
	Logger *slog.Logger
	// Now is the clock (tests pin it). Default time.Now.
	Now func() time.Time
	// NewID returns a new identity or task id (tests pin it). Default: 16
	// random lowercase base-32 characters.
	NewID func() string
}

func (o *Options) ensureDefaults() {
	if o.Candidates <= 0 {
		o.Candidates = 20
	}
	if o.CatchUpWorkers <= 0 {
		o.CatchUpWorkers = 1
	}
	if o.TaskGrade == scoring.GradeNone {
		o.TaskGrade = scoring.GradePossible
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = 200 * time.Millisecond
	}
	if o.FlushEvents <= 0 {
		o.FlushEvents = 4096
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.NewID == nil {
		o.NewID = randomID
	}
}

// Service keeps the identities: it observes the engine's writes
// (matcher.Observer), runs the batch pass, and carries out steward
// decisions. It is safe for concurrent use.
type Service struct {
	eng  Engine
	opts Options
	log  *logWriter

	// procMu serialises the processing of patient writes (live and
	// catch-up), so each is planned against the effect of the one before.
	procMu sync.Mutex

	mu struct {
		sync.RWMutex
		st     *State
		closed bool
		// caughtUp: every write up to catchTo is processed, and live
		// writes move the log's watermark; before, only CatchUp does.
		caughtUp bool
		// watermark: every write up to it is processed.
		watermark uint64
	}
	// q holds the observed writes not linked yet: the engine hands them
	// over under its write lock, and the linker goroutine works them off
	// in commit order. Linking a write costs one Match, and a Match asked
	// for inside every write would make the index commit one document at
	// a time; queued, the index batches writes as it does without
	// identities, and a write waits for nothing but the append.
	q struct {
		sync.Mutex
		pending []matcher.Written
		last    uint64 // sequence number of the last write queued
	}
	// liveLinked counts the live writes the linker has processed (a
	// catch-up's early Matches check it: see catchUp).
	liveLinked atomic.Uint64
	wake       chan struct{}  // cap 1: the linker has work
	linked     seqwatch.Watch // every queued write up to it is linked
	stop       chan struct{}
	halt       sync.Once
	wg         sync.WaitGroup

	// ready is closed when the log's replay has ended; replayErr (read
	// only after ready) is why it failed, and then the service links
	// nothing and its methods fail. cancelReplay stops it (Close).
	ready        chan struct{}
	replayErr    error
	cancelReplay context.CancelFunc
}

// Open starts replaying the log in kv and the background goroutines, and
// returns at once: the replay of a million patients' log takes seconds,
// and a server need not keep $match waiting for it. Every method waits
// for the replay (writes observed meanwhile are queued), and fails if it
// failed. The caller attaches the service to the engine (SetObserver),
// then calls CatchUp for the writes the log does not account for yet.
func Open(ctx context.Context, kv KV, eng Engine, opts Options) (*Service, error) {
	if kv == nil || eng == nil {
		return nil, errors.New("identity: Open needs a KV and an Engine")
	}
	opts.ensureDefaults()
	s := &Service{eng: eng, opts: opts, log: &logWriter{kv: kv}, stop: make(chan struct{}), wake: make(chan struct{}, 1), ready: make(chan struct{})}
	s.linked.Init(0)
	s.mu.st = NewState()
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancelReplay = cancel
	last := eng.LastSeq()
	s.wg.Add(3)
	go s.replayLog(rctx, kv, last)
	go s.flusher()
	go s.linker()
	return s, nil
}

// replayLog replays the log into the state; last is the engine's last
// write when the service opened.
func (s *Service) replayLog(ctx context.Context, kv KV, last uint64) {
	defer s.wg.Done()
	defer close(s.ready)
	start := time.Now()
	st, storeSeq, err := replay(ctx, kv)
	if err != nil {
		s.replayErr = err
		if ctx.Err() == nil { // not Close
			s.opts.Logger.Error("identity: replaying the log failed; identities are unavailable", "err", err)
		}
		return
	}
	s.mu.Lock()
	s.mu.st = st
	s.mu.watermark = storeSeq
	s.mu.caughtUp = storeSeq >= last
	s.mu.Unlock()
	s.log.resume(st.Seq(), storeSeq)
	s.opts.Logger.Info("identity: log replayed", "events", st.Seq(), "took", time.Since(start).Round(time.Millisecond))
}

// await waits for the replay; its error is the replay's.
func (s *Service) await(ctx context.Context) error {
	select {
	case <-s.ready:
		return s.replayErr
	case <-ctx.Done():
		return ctx.Err()
	}
}

// flusher writes automatic links to the log every FlushInterval until Close.
func (s *Service) flusher() {
	defer s.wg.Done()
	t := time.NewTicker(s.opts.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			if err := s.log.flush(context.Background()); err != nil {
				s.opts.Logger.Error("identity: flushing links failed; retrying", "err", err)
			}
		}
	}
}

// Close links what is queued, writes what is pending and stops the
// background goroutines. Idempotent.
func (s *Service) Close() error {
	s.halt.Do(func() {
		close(s.stop)
		s.cancelReplay()
		s.linked.Stop() // Sync waiters get ErrClosed
	})
	s.wg.Wait() // the linker drains the queue first
	s.procMu.Lock()
	defer s.procMu.Unlock()
	s.mu.Lock()
	if s.mu.closed {
		s.mu.Unlock()
		return nil
	}
	s.mu.closed = true
	s.mu.Unlock()
	if s.replayErr != nil {
		return nil // nothing was linked, so nothing is pending
	}
	return s.log.flush(context.Background())
}

// commitLocked applies events to the state and queues them for the log,
// numbering them; the caller holds mu.
func (s *Service) commitLocked(es []Event) []Event {
	now := s.opts.Now().UTC()
	for i := range es {
		es[i].Seq = s.mu.st.Seq() + 1
		if es[i].At.IsZero() {
			es[i].At = now
		}
		s.mu.st.Apply(es[i])
	}
	s.log.append(s.mu.watermark, es...)
	return es
}

// Written implements matcher.Observer: the written patients are queued
// for the linker, which links each (or gives it tasks) in commit order.
// The service's reads wait for the queue (Sync), so a caller sees its own
// writes linked.
func (s *Service) Written(_ context.Context, ws []matcher.Written) {
	if len(ws) == 0 {
		return
	}
	select {
	case <-s.ready:
		if s.replayErr != nil {
			return // nothing is linked; the next start catches up
		}
	default:
	}
	s.q.Lock()
	s.q.pending = append(s.q.pending, ws...)
	s.q.last = max(s.q.last, ws[len(ws)-1].Seq)
	s.q.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// linker links queued writes until Close, then drains the queue; it
// starts once the log is replayed, and links nothing if that failed (the
// next start catches up).
func (s *Service) linker() {
	defer s.wg.Done()
	<-s.ready
	if s.replayErr != nil {
		return
	}
	ctx := context.Background()
	for {
		select {
		case <-s.stop:
			s.linkQueued(ctx)
			return
		case <-s.wake:
			s.linkQueued(ctx)
		}
	}
}

// linkQueued links every queued write. A write that fails to link is
// logged and left to the next CatchUp: the watermark stops moving, so a
// restart processes it again.
func (s *Service) linkQueued(ctx context.Context) {
	for {
		s.q.Lock()
		ws, last := s.q.pending, s.q.last
		s.q.pending = nil
		s.q.Unlock()
		if len(ws) == 0 {
			return
		}
		skip := superseded(ws)
		s.procMu.Lock()
		for i, w := range ws {
			var err error
			if skip == nil || !skip[i] {
				err = s.processLocked(ctx, w, ActorAuto)
				s.liveLinked.Add(1)
			}
			s.mu.Lock()
			switch {
			case err != nil && s.mu.caughtUp:
				s.mu.caughtUp = false
				s.opts.Logger.Error("identity: linking a written patient failed; it is linked on the next catch-up", "err", err)
			case err == nil && s.mu.caughtUp:
				s.mu.watermark = max(s.mu.watermark, w.Seq)
				s.log.append(s.mu.watermark)
			}
			s.mu.Unlock()
		}
		s.procMu.Unlock()
		s.maybeFlush(ctx)
		s.linked.Advance(last)
	}
}

// superseded marks the writes in ws that a later write of the same
// patient in ws replaces (nil when none is): linking the last one is
// enough, as a catch-up links each patient at its last write only.
func superseded(ws []matcher.Written) []bool {
	if len(ws) < 2 {
		return nil
	}
	var out []bool
	seen := make(map[string]struct{}, len(ws))
	for i := len(ws) - 1; i >= 0; i-- {
		if _, ok := seen[ws[i].ID]; !ok {
			seen[ws[i].ID] = struct{}{}
			continue
		}
		if out == nil {
			out = make([]bool, len(ws))
		}
		out[i] = true
	}
	return out
}

// Sync returns once every write observed before the call is linked (or
// its linking has failed and is left to the next catch-up), or when ctx
// is done or the service closed.
func (s *Service) Sync(ctx context.Context) error {
	if err := s.await(ctx); err != nil {
		return err
	}
	s.q.Lock()
	target := s.q.last
	s.q.Unlock()
	err := s.linked.Wait(ctx, target)
	if errors.Is(err, seqwatch.ErrStopped) {
		return ErrClosed
	}
	return err
}

// synced is Sync for the reads that take no context: linking a queue
// always ends, so they wait for it as Engine.Match waits for its index.
// Its error is the replay's (those without an error to return show the
// empty state).
func (s *Service) synced() error { return s.Sync(context.Background()) }

func (s *Service) maybeFlush(ctx context.Context) {
	s.log.mu.Lock()
	n := len(s.log.mu.pending)
	s.log.mu.Unlock()
	if n >= s.opts.FlushEvents {
		if err := s.log.flush(ctx); err != nil {
			s.opts.Logger.Error("identity: flushing links failed; retrying", "err", err)
		}
	}
}

// Summary is what a catch-up or batch pass did.
type Summary struct {
	Processed  int // patient writes processed
	Identities int // active identities afterwards
	Patients   int // assigned patients afterwards
	OpenTasks  int // open tasks afterwards
}

// CatchUp processes every patient write the log does not account for
// (after a crash, or writes made while no service observed the engine,
// such as a bulk load). With from0 it processes the whole stored
// population (dedupe --data's batch pass): patients already assigned keep
// their identity and only gain tasks. progress, when set, is told how many
// patients are done.
func (s *Service) CatchUp(ctx context.Context, from0 bool, by Actor, progress func(done int)) (Summary, error) {
	if err := s.await(ctx); err != nil {
		return Summary{}, err
	}
	s.mu.RLock()
	from := s.mu.watermark
	s.mu.RUnlock()
	if from0 {
		from = 0
	}
	to := s.eng.LastSeq()
	var sum Summary
	err := s.catchUp(ctx, from, to, by, func() {
		sum.Processed++
		if progress != nil {
			progress(sum.Processed)
		}
	})
	if err != nil {
		return sum, err
	}
	s.mu.Lock()
	if !s.mu.caughtUp {
		s.mu.caughtUp = true
		s.mu.watermark = max(s.mu.watermark, to)
		s.log.append(s.mu.watermark)
	}
	sum.Identities, sum.Patients, sum.OpenTasks = s.statsLocked()
	s.mu.Unlock()
	return sum, s.log.flush(ctx)
}

func (s *Service) statsLocked() (identities, patients, open int) {
	st := s.mu.st
	for _, id := range st.idents {
		if id.size > 0 {
			identities++
		}
	}
	_, open = st.Tasks(StatusOpen, "", 0, 0)
	return identities, st.assigned, open
}

// Stats counts active identities, assigned patients and open tasks.
func (s *Service) Stats() Summary {
	_ = s.synced() // a failed replay shows the empty state
	s.mu.Lock()
	defer s.mu.Unlock()
	var sum Summary
	sum.Identities, sum.Patients, sum.OpenTasks = s.statsLocked()
	return sum
}

// processLocked links one written patient; the caller holds procMu.
func (s *Service) processLocked(ctx context.Context, w matcher.Written, by Actor) error {
	hits, err := s.matchFor(ctx, w)
	if err != nil {
		return err
	}
	return s.applyLocked(w, hits, by)
}

// matchFor runs the Match that linking w needs (none for a delete). It
// reads no identity state, so a catch-up runs it ahead, in parallel.
func (s *Service) matchFor(ctx context.Context, w matcher.Written) ([]matcher.Match, error) {
	if w.Record == nil {
		return nil, nil
	}
	// Matches below the task grade neither link nor open a task.
	hits, err := s.eng.Match(ctx, *w.Record, matcher.MatchOptions{Count: s.opts.Candidates + 1, MinGrade: s.opts.TaskGrade})
	if err != nil && !errors.Is(err, matcher.ErrInvalid) {
		return nil, fmt.Errorf("identity: matching %s: %w", w.ID, err)
	}
	return hits, nil
}

// applyLocked plans and commits what w and its matches mean for the
// identities; the caller holds procMu.
func (s *Service) applyLocked(w matcher.Written, hits []matcher.Match, by Actor) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.closed {
		return ErrClosed
	}
	s.commitLocked(s.planLocked(w, hits, by))
	return nil
}

// planLocked decides what a write of patient p means for the identities:
// a certain match to exactly one identity links p to it; every other
// match at or above the task grade in another identity becomes a task,
// unless the pair has a task already or a never-link.
func (s *Service) planLocked(w matcher.Written, hits []matcher.Match, by Actor) []Event {
	st, p := s.mu.st, w.ID
	cur := st.IdentityOf(p)
	if w.Record == nil {
		if cur == "" {
			return nil
		}
		return []Event{{By: by, Kind: KindUnlink, Patient: p, From: cur}}
	}
	type hit struct {
		m        matcher.Match
		identity string
	}
	var cands []hit
	certain := map[string]matcher.Match{}
	for _, m := range hits {
		hid := st.IdentityOf(m.ID)
		if m.ID == p || hid == "" || st.Never(p, m.ID) {
			continue // unassigned: linked when its own turn comes
		}
		cands = append(cands, hit{m, hid})
		if m.Grade.String() == "certain" && hid != cur && !st.neverIdentity(p, hid) {
			if _, seen := certain[hid]; !seen {
				certain[hid] = m
			}
		}
	}
	var es []Event
	final := cur
	if len(certain) == 1 && (cur == "" || st.size(cur) == 1) {
		for hid, m := range certain {
			final = hid
			if cur == "" {
				es = append(es, Event{By: by, Kind: KindLink, Patient: p, Identity: hid, Score: m.Probability, Grade: "certain", Reason: linkReasonPrefix + m.ID})
			} else {
				es = append(es, Event{By: by, Kind: KindMerge, From: cur, Identity: hid, Patients: []string{p}, Left: m.ID, Right: p, Score: m.Probability, Grade: "certain", Reason: "updated record is a certain match to Patient/" + m.ID})
			}
		}
	} else if cur == "" {
		final = s.opts.NewID()
		es = append(es, Event{By: by, Kind: KindLink, Patient: p, Identity: final, Reason: "new identity"})
	}
	for _, h := range cands {
		if h.identity == final || h.m.Grade < s.opts.TaskGrade || st.TaskFor(p, h.m.ID) != nil {
			continue
		}
		es = append(es, Event{By: by, Kind: KindTask, Task: s.opts.NewID(), Left: h.m.ID, Right: p, Score: h.m.Probability, Grade: h.m.Grade.String()})
	}
	return es
}

// randomID returns 16 random characters of [a-z2-7].
func randomID() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz234567"
	var b [16]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[b[i]&31]
	}
	return string(b[:])
}

// sortedCopy returns a deep copy of id (callers get no shared slices).
func sortedCopy(id *Identity) Identity {
	c := *id
	c.Members = slices.Clone(id.Members)
	return c
}
