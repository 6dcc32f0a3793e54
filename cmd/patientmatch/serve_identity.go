package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/patientmatch/patientmatch/authn"
	"github.com/patientmatch/patientmatch/fhir"
	"github.com/patientmatch/patientmatch/grpcapi"
	"github.com/patientmatch/patientmatch/identity"
	"github.com/patientmatch/patientmatch/matcher"
	"github.com/patientmatch/patientmatch/scoring"
	"github.com/patientmatch/patientmatch/store"
)

// identityNamespace is the engine KV namespace of the identity event log.
const identityNamespace = "identity"

// identities is the identity service of a running server: attached to
// the engine's writes, catching up in the background on what the log
// does not account for yet (a bulk load, a crash).
type identities struct {
	svc    *identity.Service
	eng    *matcher.Engine
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// failed receives the error that leaves the server unable to serve
	// (see releaseAfterCatchUp); serve stops on it.
	failed chan error
}

// openIdentities opens the identity log of eng and attaches it. The
// catch-up runs in the background: the server answers meanwhile, and the
// review queue fills as it goes.
func openIdentities(ctx context.Context, eng *matcher.Engine, log *slog.Logger, taskGrade scoring.Grade) (*identities, error) {
	// One core for the catch-up, one for requests.
	svc, err := openIdentityService(ctx, eng, log, identity.Options{CatchUpWorkers: 1, TaskGrade: taskGrade})
	if err != nil {
		return nil, err
	}
	eng.SetObserver(svc)
	cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	ids := &identities{svc: svc, eng: eng, cancel: cancel, failed: make(chan error, 1)}
	ids.wg.Add(1)
	go func() {
		defer ids.wg.Done()
		sum, err := svc.CatchUp(cctx, false, identity.ActorAuto, nil)
		switch {
		case errors.Is(err, context.Canceled):
			// Shutting down: the engine is closing, and the catch-up
			// resumes on the next start.
			log.Info("identity: catch-up stopped by shutdown; it resumes on the next start", "processed", sum.Processed)
			return
		case err != nil:
			log.Error("identity: catching up failed; it resumes on the next start", "err", err)
			return
		}
		if err := releaseAfterCatchUp(cctx, eng, log); err != nil {
			ids.failed <- err
			return
		}
		// The catch-up reads every stored patient even when it has nothing
		// to do: at 1M patients 1.2 GB of garbage that the runtime would
		// otherwise keep (under the serving GC target it is not "excess").
		debug.FreeOSMemory()
		log.Info("identities ready", "processed", sum.Processed, "identities", sum.Identities, "open_tasks", sum.OpenTasks)
	}()
	return ids, nil
}

// releaseAfterCatchUp lets go of the store's pages that the log's replay
// and the catch-up read through badger's mapped files (at 1M patients the
// log alone is 280 MiB), pages no query needs again. Most failures cost
// only memory and are logged. A store that could not be opened again
// leaves an engine that answers nothing but ErrClosed: that is returned,
// for serve to stop on and exit non-zero, so that an orchestrator
// restarts the process (a replica failing only /readyz would be kept,
// unready, for ever).
func releaseAfterCatchUp(ctx context.Context, eng *matcher.Engine, log *slog.Logger) error {
	err := eng.ReleaseStorePages(ctx)
	switch {
	case err == nil, ctx.Err() != nil:
		return nil // released, or shutting down
	case errors.Is(err, store.ErrBusy):
		log.Warn("identity: the store was never idle; the pages the catch-up read stay resident", "err", err)
		return nil
	case errors.Is(err, matcher.ErrClosed):
		log.Error("the store could not be opened again after releasing its pages; stopping the server", "err", err)
		return fmt.Errorf("the store could not be opened again: %w", err)
	}
	log.Error("identity: could not release the store's pages read by the catch-up", "err", err)
	return nil
}

// failure is the channel of the error that leaves the server unable to
// serve (nil without identities: it never receives).
func (ids *identities) failure() <-chan error {
	if ids == nil {
		return nil
	}
	return ids.failed
}

// openIdentityService opens the identity service of eng with opts (its
// Logger set to log).
func openIdentityService(ctx context.Context, eng *matcher.Engine, log *slog.Logger, opts identity.Options) (*identity.Service, error) {
	kv, err := eng.KV(identityNamespace)
	if err != nil {
		return nil, err
	}
	opts.Logger = log
	svc, err := identity.Open(ctx, linkStore{kv}, eng, opts)
	if err != nil {
		return nil, fmt.Errorf("opening identities: %w", err)
	}
	return svc, nil
}

// mount serves the Person, review and $merge/$unmerge routes on fsrv and
// lists the FHIR ones in its CapabilityStatement.
func (ids *identities) mount(fsrv *fhir.Server, c serveConfig, log *slog.Logger) {
	h := identity.NewHandler(ids.svc, ids.eng, identity.HandlerOptions{
		RequireStewardScope: c.auth == "jwt", BaseURL: c.baseURL, MaxBodyBytes: c.maxBody, Logger: log,
	})
	for pattern, handler := range h.Routes() {
		fsrv.Mount(pattern, handler)
	}
	person, ops := identity.Capabilities()
	fsrv.Advertise(fhir.Capabilities{Resources: []fm.CapabilityStatementRestResource{person}, PatientOperations: ops})
}

// registerGRPC serves patientmatch.v1.Identities on gs. With access
// control, a call needs a token with a steward scope (the PatientMatch
// interceptor does not see this service's calls, so the token is verified
// here, once).
func (ids *identities) registerGRPC(gs *grpc.Server, scopes *authn.ScopeVerifier) {
	var opts identity.GRPCOptions
	if scopes != nil {
		opts.Steward = func(ctx context.Context) (identity.Actor, error) {
			tok, _ := grpcapi.BearerToken(ctx)
			c, err := scopes.AuthorizeAccess(ctx, tok, authn.AccessRead)
			if err != nil {
				if errors.Is(err, authn.ErrForbidden) {
					return "", status.Error(codes.PermissionDenied, "the access token lacks a steward scope")
				}
				return "", status.Error(codes.Unauthenticated, "a valid access token is needed")
			}
			if !identity.HasStewardScope(c.Scopes()) {
				return "", status.Error(codes.PermissionDenied, "the access token lacks a steward scope (system/Person.cud)")
			}
			return identity.Steward(c.Subject), nil
		}
	}
	identity.RegisterGRPC(gs, ids.svc, ids.eng, opts)
}

// Close stops the catch-up, detaches the service and writes what is pending.
func (ids *identities) Close() error {
	ids.cancel()
	ids.wg.Wait()
	ids.eng.SetObserver(nil)
	return ids.svc.Close()
}

// reviewGradeFlag is --review-grade: the weakest grade of a pair that
// becomes a review task (possible, the default, or probable).
type reviewGradeFlag struct{ g scoring.Grade }

func (f *reviewGradeFlag) String() string {
	if f == nil || f.g == scoring.GradeNone {
		return scoring.GradePossible.String()
	}
	return f.g.String()
}

func (f *reviewGradeFlag) Set(v string) error {
	g, ok := scoring.ParseGrade(v)
	if !ok || (g != scoring.GradePossible && g != scoring.GradeProbable) {
		return fmt.Errorf("want possible or probable, not %q", v)
	}
	f.g = g
	return nil
}

// addReviewGradeFlag registers --review-grade on fs.
func addReviewGradeFlag(fs *flag.FlagSet, f *reviewGradeFlag) {
	fs.Var(f, "review-grade", "weakest grade of a pair that becomes a review task: possible or probable (possible pairs are mostly relatives on household-heavy data)")
}
