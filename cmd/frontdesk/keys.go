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
	const usage = "usage: frontdesk keys list | rotate [--new-master-key-file FILE]"
	if len(args) > 0 && isHelp(args[0]) {
		fmt.Fprintln(stderr, usage)
		return nil
	}
	if len(args) == 0 || (args[0] != "list" && args[0] != "rotate") {
		return errors.New(usage)
	}
	sub := args[0]
	fs := flag.NewFlagSet("keys "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, finish := serverFlags(fs, os.Getenv)
	var newMasterFile string
	if sub == "rotate" {
		fs.StringVar(&newMasterFile, "new-master-key-file", "", "also change the master key: re-wrap every data key with the key in this file (created if missing; its folder must exist)")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	finish()
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	// Check the new master key before changing anything.
	var newRing *seal.Keyring
	var newKey []byte
	if newMasterFile != "" {
		k, err := loadNewMasterKey(newMasterFile)
		if err != nil {
			return err
		}
		if newRing, err = seal.NewKeyring(k); err != nil {
			return fmt.Errorf("--new-master-key-file %s: %w", newMasterFile, err)
		}
		newKey = k
	}
	store, err := openExistingStore(ctx, cfg)
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
	if err := store.RewrapKeys(ctx, newRing); err != nil {
		return err
	}
	if cfg.MasterKey != "" {
		fmt.Fprintf(stdout, "every key is now wrapped by the key in %s: set --master-key / FRONTDESK_MASTER_KEY to it\n%s\n", newMasterFile, restartNodes)
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
	fmt.Fprintf(stdout, "every key is now wrapped by the new master key; %s holds it (back it up, and destroy the old one)\n%s\n", path, restartNodes)
	return nil
}

// restartNodes follows a master key change: running servers still hold the
// old master key and cannot unwrap the keys it no longer wraps.
const restartNodes = "restart every frontdesk node now: running servers keep the old master key in memory and cannot read the new data key"

// loadNewMasterKey reads the key file for `keys rotate --new-master-key-file`,
// creating it when missing. Its folder must exist: a mistyped path fails
// instead of creating folders and a key nobody will find.
func loadNewMasterKey(path string) ([]byte, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		if dir := filepath.Dir(path); !isDir(dir) {
			return nil, fmt.Errorf("--new-master-key-file: folder %s does not exist (fix the path, or create the folder first)", dir)
		}
	}
	key, err := seal.LoadOrCreateKeyFile(path)
	if err != nil {
		return nil, fmt.Errorf("--new-master-key-file %s: %w", path, err)
	}
	return key, nil
}
