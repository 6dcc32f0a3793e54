// Command patientmatch is the patient identity matching engine: it loads
// demographics into an embedded store, matches patients from the command line,
// serves FHIR $match over HTTP and gRPC, and runs batch dedupe/link jobs.
//
// Exit status: 0 on success, 1 on failure (one line on stderr), 2 on bad usage.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"

	"github.com/patientmatch/patientmatch/internal/buildinfo"
)

// cliEnv is what a command may touch of the outside world; tests substitute it.
type cliEnv struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	// progress reports whether long work should draw progress on stderr
	// (stderr is a terminal); --progress=false turns it off.
	progress bool
	getenv   func(string) string
}

// command is one subcommand of the CLI.
type command struct {
	summary string
	run     func(ctx context.Context, env *cliEnv, args []string) error
}

// usageError marks an error caused by how the command was called (exit 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, a ...any) error {
	return &usageError{msg: fmt.Sprintf(format, a...)}
}

// commands lists the subcommands. It is a function, not a package-level map,
// so there is no global state.
func commands() map[string]command {
	return map[string]command{
		"audit":    {"verify the hash chain of an audit trail (serve --audit)", runAudit},
		"bench":    {"accuracy against a truth file, and load/latency against a running server", runBench},
		"dedupe":   {"find duplicates within files; writes pairs and clusters CSV", runDedupe},
		"link":     {"link the records of one file to another's; writes pairs CSV", runLink},
		"export":   {"write every stored Patient as NDJSON (FHIR Bulk Data style)", runExport},
		"generate": {"generate synthetic patients with realistic errors and a truth file", runGenerate},
		"load":     {"load patients (NDJSON, Bundle JSON, CSV) into the data folder", runLoad},
		"match":    {"match one Patient or Parameters resource; prints the $match Bundle", runMatch},
		"serve":    {"serve FHIR REST (HTTP) and gRPC", runServe},
		"train":    {"estimate the scoring model from unlabelled records (EM)", runTrain},
		"version":  {"print the version", runVersion},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	env := &cliEnv{
		stdin:    os.Stdin,
		stdout:   os.Stdout,
		stderr:   os.Stderr,
		progress: isTerminal(os.Stderr),
		getenv:   os.Getenv,
	}
	code := run(ctx, env, os.Args[1:])
	stop()
	os.Exit(code)
}

// run dispatches args to a subcommand and maps its error to an exit code.
func run(ctx context.Context, env *cliEnv, args []string) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(env.stderr, cmds)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	if args[0] == "--version" || args[0] == "-version" {
		args = append([]string{"version"}, args[1:]...)
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(env.stderr, "patientmatch: unknown command %q (see patientmatch --help)\n", args[0])
		return 2
	}
	err := c.run(ctx, env, args[1:])
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(env.stderr, "patientmatch %s: %v\n", args[0], err)
		return 2
	default:
		fmt.Fprintf(env.stderr, "patientmatch %s: %v\n", args[0], err)
		return 1
	}
}

// errHelp is returned by a command that printed its help on request.
var errHelp = errors.New("help requested")

func printUsage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "usage: patientmatch <command> [flags] [args]")
	fmt.Fprintln(w, "\ncommands:")
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-9s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'patientmatch <command> --help' for a command's flags.")
}

// runVersion prints the module version and VCS revision the Go toolchain
// stamped into the binary (patientmatch version, patientmatch --version).
func runVersion(_ context.Context, env *cliEnv, args []string) error {
	if len(args) > 0 {
		if args[0] == "-h" || args[0] == "--help" {
			fmt.Fprintln(env.stderr, "usage: patientmatch version\n\nPrints the module version, the VCS revision and the Go version of this binary.")
			return errHelp
		}
		return usageErrorf("version takes no arguments")
	}
	fmt.Fprintln(env.stdout, buildinfo.Read().String())
	return nil
}

// isTerminal reports whether f is a character device (a terminal), without
// pulling in a terminal library.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	return fi.Mode()&os.ModeCharDevice != 0
}
