package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/frontdesk/frontdesk/data/sqlstore"
)

// runMigrateStore copies an installation's SQLite database into an empty
// PostgreSQL database, for moving to several nodes. The rows stay sealed
// under the same master key: give the nodes the key from
// <data-dir>/keys/master.key (--master-key).
func runMigrateStore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate-store", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "source: sqlite:PATH, PATH being the data directory or its frontdesk.db (stop the server first, or accept missing its last writes)")
	to := fs.String("to", "", "target: postgres://user:password@host:5432/database, empty")
	batch := fs.Int("batch", 500, "rows per INSERT")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %v", fs.Args())
	}
	path, ok := strings.CutPrefix(*from, "sqlite:")
	if !ok || path == "" {
		return errors.New("--from: want sqlite:PATH (the data directory or its frontdesk.db)")
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, "frontdesk.db")
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("--from: no Frontdesk data at %s", path)
	}
	if !strings.HasPrefix(*to, "postgres://") && !strings.HasPrefix(*to, "postgresql://") {
		return errors.New("--to: want postgres://user:password@host:5432/database")
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	counts, err := sqlstore.CopySQLiteToPostgres(ctx, path, *to, sqlstore.CopyOptions{BatchRows: *batch, Log: log})
	if err != nil {
		return err
	}
	var total int64
	for _, n := range counts {
		total += n
	}
	fmt.Fprintf(stdout, "copied %d rows in %d tables from %s to %s; row counts verified\n", total, len(counts), path, maskURL(*to))
	fmt.Fprintln(stdout, "start every node with --database-url and the same --master-key (from the old data dir's keys/master.key) and --session-key")
	return nil
}

// runBackup writes a consistent copy of the SQLite database while the
// server runs. PostgreSQL installations use pg_dump instead.
func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, finish := serverFlags(fs, os.Getenv)
	to := fs.String("to", "", "the backup file to create (must not exist)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	finish()
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *to == "" {
		return errors.New("--to FILE is required")
	}
	if cfg.DatabaseURL != "" {
		return errors.New("the store is PostgreSQL: back it up with pg_dump (see docs/operations.md)")
	}
	if err := checkDataDir(cfg.DataDir); err != nil {
		return err
	}
	if dir := filepath.Dir(*to); !isDir(dir) {
		return fmt.Errorf("--to: folder %s does not exist", dir)
	}
	db := filepath.Join(cfg.DataDir, "frontdesk.db")
	if err := sqlstore.BackupSQLite(ctx, db, *to); err != nil {
		return err
	}
	key := "the master key (--master-key)"
	if cfg.MasterKey == "" {
		key = "the master key (" + filepath.Join(cfg.DataDir, "keys", "master.key") + ")"
	}
	fmt.Fprintf(stdout, "backed up %s to %s\nstore %s separately from the backup; without it the backup cannot be read\n", db, *to, key)
	return nil
}

// isDir reports whether path is an existing directory.
func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}
