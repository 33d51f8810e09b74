// Command ofp is the Open Finance platform: one binary for the data
// holder's regulated interface, the data receiver's connectors, the
// open-data aggregator and the analytics that all of it feeds.
//
// This file is the entry point; every command lives in its own file and
// platform.go is the one place that builds concrete types.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/ofp-dev/ofp/internal/config"
)

// version is set at build time (-ldflags "-X main.version=...").
var version = "dev"

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"demo", "run the whole platform on embedded engines with a simulated ecosystem", runDemo},
		{"serve", "run the platform against configured engines (production)", runServe},
		{"collect", "collect data now: `ofp collect opendata --once`", runCollect},
		{"pipeline", "run only a pipeline (Kafka → lake → warehouse): `ofp pipeline opendata`", runPipeline},
		{"warehouse", "manage the warehouse: `ofp warehouse rebuild`", runWarehouse},
		{"report", "print analytics: `ofp report fees`, `rates` (with `--history`), `quality`, `collections`, `quarantine`", runReport},
		{"sim", "run only the simulated ecosystem (directory and institutions)", runSim},
		{"keys", "list or rotate the authorization server's keys: `ofp keys rotate --brand ofp`", runKeys},
		{"config", "print the effective configuration, secrets redacted", runConfig},
		{"bench", "measure the regulated interface as the demo wires it, beside a ceiling", runBench},
		{"version", "print the version", func(_ context.Context, _ []string, out, _ io.Writer) error {
			fmt.Fprintln(out, "ofp", version)
			return nil
		}},
	}
}

const rootUsage = `ofp — Open Finance Brasil platform: holder, receiver, open-data aggregator and analytics.

Usage:
  ofp <command> [flags]

Commands:
%s
Examples:
  ofp demo                                  # everything on embedded engines, data in ./var
  ofp collect opendata --once               # one collection from the central directory, then exit
  ofp collect opendata --once --sim         # the same against the built-in simulator
  ofp report fees --product personal-accounts --service-code SAQUE_TERMINAL
  ofp warehouse rebuild                     # rebuild DuckDB from the lake alone

Every flag can also be set with an OFP_* environment variable
(--kafka-brokers ↔ OFP_KAFKA_BROKERS). Run 'ofp <command> --help' for details.
`

func usage(w io.Writer) {
	var b strings.Builder
	for _, c := range commands() {
		fmt.Fprintf(&b, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, rootUsage, b.String())
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// exitError carries a process exit code with its message.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // the first Ctrl-C stops cleanly; a second one kills the process
	}()
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:], stdout, stderr)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		}
		fmt.Fprintf(stderr, "ofp %s: %v\n", c.name, err)
		var ee exitError
		if errors.As(err, &ee) {
			return ee.code
		}
		return 1
	}
	fmt.Fprintf(stderr, "ofp: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

// subcommand splits `ofp <cmd> <name> ...` for commands that take a
// sub-command; --help before the name prints the choices.
func subcommand(cmd string, args []string, stdout io.Writer, names ...string) (string, []string, error) {
	if len(args) > 0 && slices.Contains(names, args[0]) {
		return args[0], args[1:], nil
	}
	choices := strings.Join(names, "|")
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
		fmt.Fprintf(stdout, "Usage: ofp %s %s [flags]   (see `ofp %s %s --help`)\n", cmd, choices, cmd, names[0])
		return "", nil, flag.ErrHelp
	}
	return "", nil, exitError{2, fmt.Errorf("which one? `ofp %s %s`", cmd, choices)}
}

// parseAndLock parses a command's flags, builds its logger and takes the
// data dir's lock, which release frees.
func parseAndLock(fs *flag.FlagSet, args []string, cfg *config.Config, stderr io.Writer) (log *slog.Logger, release func(), err error) {
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	log = newLogger(*cfg, stderr)
	release, err = lockDataDir(cfg.DataDir)
	if err != nil {
		return nil, nil, err
	}
	return log, release, nil
}

// newFlagSet returns a flag set whose --help prints usage text with
// examples.
func newFlagSet(name, synopsis, examples string, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: ofp %s\n\n%s\n\nFlags:\n", name, synopsis)
		fs.PrintDefaults()
		if examples != "" {
			fmt.Fprintf(out, "\nExamples:\n%s\n", examples)
		}
	}
	return fs
}
