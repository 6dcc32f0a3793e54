package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strings"

	"github.com/patientmatch/patientmatch/identity"
	"github.com/patientmatch/patientmatch/matcher"
)

// storedDedupe reports whether dedupe's arguments ask for the batch pass
// over the stored population (--data) rather than over input files.
func storedDedupe(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if a == "--data" || a == "-data" || strings.HasPrefix(a, "--data=") || strings.HasPrefix(a, "-data=") {
			return true
		}
	}
	return false
}

// runDedupeStored is `dedupe --data DIR`: the identity batch pass over
// the patients already stored. It links and proposes exactly as the
// server does on each write (the same engine Match, the same rules), so
// a bulk-loaded store gets its identities and review tasks; patients
// that have an identity keep it and only gain tasks, and decisions made
// so far are honoured. Running it twice changes nothing.
func runDedupeStored(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "dedupe", "--data DIR")
	data := fs.String("data", dataDir(env), "data folder whose stored patients get identities and review tasks")
	showProgress := fs.Bool("progress", env.progress, "show progress on stderr")
	var reviewGrade reviewGradeFlag
	addReviewGradeFlag(fs, &reviewGrade)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("dedupe --data works on the stored patients: give no input files (%v)", fs.Args())
	}
	if _, err := os.Stat(*data); err != nil {
		return fmt.Errorf("data folder %s: %w", *data, err)
	}
	log := slog.New(slog.DiscardHandler)
	eng, err := matcher.Open(*data, matcher.Options{Logger: log, Progress: progressFunc(env, *showProgress)})
	if err != nil {
		return err
	}
	defer eng.Close()
	// A batch pass has the machine to itself: every core matches.
	svc, err := openIdentityService(ctx, eng, log, identity.Options{CatchUpWorkers: runtime.GOMAXPROCS(0), TaskGrade: reviewGrade.g})
	if err != nil {
		return err
	}
	var progress func(int)
	if *showProgress {
		total := eng.Len()
		progress = func(done int) {
			if done%500 == 0 || done == total {
				fmt.Fprintf(env.stderr, "\rlinking: %d/%d", done, total)
			}
		}
	}
	sum, err := svc.CatchUp(ctx, true, identity.ActorBatch, progress)
	if *showProgress {
		fmt.Fprintln(env.stderr)
	}
	if err = errors.Join(err, svc.Close()); err != nil {
		return err
	}
	fmt.Fprintf(env.stderr, "dedupe: %d stored patients linked: %d identities, %d open review tasks (GET /review, or /review/ in a browser)\n",
		sum.Processed, sum.Identities, sum.OpenTasks)
	return nil
}
