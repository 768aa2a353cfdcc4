package main

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/frontdesk/frontdesk/data/seal"
)

// runKeys manages the keys that seal data at rest: frontdesk keys list|rotate.
func runKeys(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "list" && args[0] != "rotate") {
		return errors.New("usage: frontdesk keys list | rotate [--new-master-key-file FILE]")
	}
	sub := args[0]
	fs := flag.NewFlagSet("keys "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, finish := serverFlags(fs, os.Getenv)
	var newMasterFile string
	if sub == "rotate" {
		fs.StringVar(&newMasterFile, "new-master-key-file", "", "also change the master key: re-wrap every data key with the key in this file (created if missing)")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	finish()
	store, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	if sub == "list" {
		keys, err := store.Keys(ctx)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tPURPOSE\tCURRENT\tCREATED")
		for _, k := range keys {
			fmt.Fprintf(w, "%d\t%s\t%v\t%s\n", k.ID, k.Purpose, k.Current, k.CreatedAt.Format(time.RFC3339))
		}
		return w.Flush()
	}
	id, err := store.RotateDataKey(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "new data key %d seals from now on (running servers switch when they first read a value it sealed, or restart); older keys keep decrypting\n", id)
	if newMasterFile == "" {
		return nil
	}
	newKey, err := seal.LoadOrCreateKeyFile(newMasterFile)
	if err != nil {
		return err
	}
	ring, err := seal.NewKeyring(newKey)
	if err != nil {
		return err
	}
	if err := store.RewrapKeys(ctx, ring); err != nil {
		return err
	}
	if cfg.MasterKey != "" {
		fmt.Fprintf(stdout, "every key is now wrapped by the key in %s: set --master-key / FRONTDESK_MASTER_KEY to it before the next start\n", newMasterFile)
		return nil
	}
	// The data directory's key file: replace it atomically, keeping the new
	// key file the operator named as the copy to back up.
	path := filepath.Join(cfg.DataDir, "keys", "master.key")
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(base64.StdEncoding.EncodeToString(newKey)+"\n"), 0o600); err != nil {
		return fmt.Errorf("keys: write %s: %w (the keys are wrapped by the key in %s now: copy it there)", tmp, err, newMasterFile)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("keys: replace %s: %w (the keys are wrapped by the key in %s now: copy it there)", path, err, newMasterFile)
	}
	fmt.Fprintf(stdout, "every key is now wrapped by the new master key; %s holds it (back it up, and destroy the old one)\n", path)
	return nil
}
