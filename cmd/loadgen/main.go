package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches to a subcommand and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "help" || args[0] == "--help" {
		fmt.Fprintln(stderr, "usage: loadgen run [flags] SCENARIO...   (echo, bot, relay, idle, handshake, all)")
		fmt.Fprintln(stderr, "       loadgen kbgen --out DIR [--entries 5000] [--queries FILE]")
		fmt.Fprintln(stderr, "       loadgen report --results results.jsonl   (Markdown tables)")
		fmt.Fprintln(stderr, "       loadgen section --file docs/benchmarks.md --title 'Load (loadgen)' < body.md")
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	var err error
	switch args[0] {
	case "run":
		err = runScenarios(ctx, args[1:], stdout, stderr, log)
	case "kbgen":
		err = runKBGen(args[1:], stderr)
	case "report":
		err = runReport(args[1:], stdout, stderr)
	case "section":
		err = runSection(args[1:], os.Stdin, stderr)
	default:
		fmt.Fprintf(stderr, "loadgen: unknown command %q\n", args[0])
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "loadgen %s: %v\n", args[0], err)
		return 1
	}
	return 0
}
