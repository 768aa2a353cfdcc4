package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/frontdesk/frontdesk/privacy"
)

// runAudit checks the audit log: frontdesk audit verify.
func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const usage = "usage: frontdesk audit verify [--data-dir DIR | --database-url URL --master-key KEY]"
	if len(args) > 0 && isHelp(args[0]) {
		fmt.Fprintln(stderr, usage)
		return nil
	}
	if len(args) == 0 || args[0] != "verify" {
		return errors.New(usage)
	}
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, finish := serverFlags(fs, os.Getenv)
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	finish()
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	store, err := openExistingStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	n, err := privacy.Verify(ctx, store)
	if err != nil {
		return fmt.Errorf("%w (%d rows verified before it)", err, n)
	}
	fmt.Fprintf(stdout, "audit log intact: %d rows, every hash and link verified\n", n)
	return nil
}
