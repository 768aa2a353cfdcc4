package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/frontdesk/frontdesk/data"
	"github.com/frontdesk/frontdesk/identity"
)

// runIdentityKeys manages a site's identity keys (frontdesk admin identity-key add|list|remove).
func runIdentityKeys(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const usage = "usage: frontdesk admin identity-key add|rotate|list|remove --site KEY [--kid KID]"
	if len(args) > 0 && isHelp(args[0]) {
		fmt.Fprintln(stderr, usage)
		return nil
	}
	if len(args) == 0 {
		return errors.New(usage)
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "add", "rotate", "list", "remove":
	default:
		return fmt.Errorf("unknown identity-key command %q (want add, rotate, list or remove)", sub)
	}
	fs := flag.NewFlagSet("admin identity-key "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, finish := serverFlags(fs, os.Getenv)
	site := fs.String("site", demoSiteKey, "the site key")
	kid := fs.String("kid", "", "the key id to remove")
	if err := fs.Parse(rest); err != nil {
		return err
	}
	finish()
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if sub == "remove" && *kid == "" {
		return errors.New("--kid is required")
	}
	store, err := openExistingStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	audit := func(target string) error {
		_, err := store.AppendAudit(ctx, data.AuditEntry{ActorKind: "cli", ActorID: "frontdesk admin", Action: data.AuditKeys, Target: target})
		return err
	}
	switch sub {
	case "add", "rotate":
		old, err := identity.ListKeys(ctx, store, *site)
		if err != nil {
			return err
		}
		if err := audit("site:" + *site); err != nil {
			return err
		}
		k, err := identity.AddKey(ctx, store, *site, time.Now())
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "kid: %s\nsecret (HS256, shown once; sign identity tokens with it on your server): %s\n", k.ID, k.Secret)
		if sub == "rotate" {
			for _, o := range old {
				fmt.Fprintf(stdout, "still valid: %s; once your servers sign with %s: frontdesk admin identity-key remove --site %s --kid %s\n", o.ID, k.ID, *site, o.ID)
			}
		}
	case "list":
		keys, err := identity.ListKeys(ctx, store, *site)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "KID\tCREATED")
		for _, k := range keys {
			fmt.Fprintf(w, "%s\t%s\n", k.ID, k.CreatedAt.Format(time.RFC3339))
		}
		return w.Flush()
	case "remove":
		if err := audit("site:" + *site + " kid:" + *kid); err != nil {
			return err
		}
		if err := identity.RemoveKey(ctx, store, *site, *kid); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "removed %s from %s\n", *kid, *site)
	}
	return nil
}
