// Command frontdesk is the Frontdesk customer-service server and its tools.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command is one subcommand: it parses its own flags from args.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// commands lists every subcommand.
func commands() map[string]command {
	return map[string]command{
		"version":       {"print the version", runVersion},
		"serve":         {"run the Frontdesk server", runServe},
		"admin":         {"create agents, set passwords, list agents, API tokens, identity keys", runAdmin},
		"config":        {"print the effective configuration (secrets masked)", runConfig},
		"migrate-store": {"copy the SQLite store into an empty PostgreSQL database", runMigrateStore},
		"backup":        {"write an online backup of the SQLite store", runBackup},
		"chat":          {"talk to the bot from the terminal, like a visitor", runChat},
		"intents":       {"train, evaluate and try the intent classifier", runIntents},
		"kb":            {"lint, search, import and evaluate the FAQ knowledge base", runKB},
		"bot":           {"run conversation test stories against the bot (bot test)", runBot},
		"keys":          {"list or rotate the keys that seal data at rest", runKeys},
		"audit":         {"verify the hash chain of the audit log (audit verify)", runAudit},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches to a subcommand and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmds := commands()
	if len(args) == 0 || isHelp(args[0]) {
		usage(stderr, cmds)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "frontdesk: unknown command %q\n", args[0])
		usage(stderr, cmds)
		return 2
	}
	if err := c.run(ctx, args[1:], stdout, stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0 // -h: the flag set has printed its usage
		}
		fmt.Fprintf(stderr, "frontdesk %s: %v\n", args[0], err)
		var ec exitCoder
		if asExitCoder(err, &ec) {
			return ec.ExitCode()
		}
		return 1
	}
	return 0
}

// parseInterspersed parses fs's flags wherever they stand among the
// positional arguments and returns those, so `kb search refund --k 1` sets
// --k instead of searching for "refund --k 1". Go's flag package stops at
// the first positional argument; this parses again after each one.
// Everything after "--" is positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}

// isHelp reports whether a subcommand argument asks for help.
func isHelp(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help" || arg == "help"
}

func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "usage: frontdesk <command> [flags]")
	fmt.Fprintln(w, "commands:")
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	width := 0
	for _, n := range names {
		width = max(width, len(n))
	}
	for _, n := range names {
		fmt.Fprintf(w, "  %-*s  %s\n", width, n, cmds[n].summary)
	}
	fmt.Fprintln(w, "run 'frontdesk <command> -h' for a command's flags")
}
