package main

import (
	"context"
	"fmt"
	"os"

	"github.com/patientmatch/patientmatch/audit"
)

// runAudit is "patientmatch audit verify FILE": it checks the hash chain of
// an audit trail written by serve --audit.
func runAudit(_ context.Context, env *cliEnv, args []string) error {
	if len(args) == 0 || args[0] != "verify" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintln(env.stderr, "usage: patientmatch audit verify FILE\n\nChecks that no line of an audit trail (serve --audit FILE) was edited, removed, inserted or reordered.")
			return errHelp
		}
		return usageErrorf("usage: patientmatch audit verify FILE")
	}
	fs := newFlagSet(env, "audit verify", "FILE")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageErrorf("audit verify needs exactly one FILE")
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	res, err := audit.Verify(f)
	if err != nil {
		return fmt.Errorf("%s: chain broken after %d good records: %w", fs.Arg(0), res.Records, err)
	}
	fmt.Fprintf(env.stdout, "%s: %d records, chain intact, last hash %s\n", fs.Arg(0), res.Records, res.LastHash)
	return nil
}
