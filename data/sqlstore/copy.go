package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/frontdesk/frontdesk/data"
)

// copyTables lists every table a copy moves, parents before children so
// that foreign keys hold at each insert. A new table belongs here too (a
// test compares this list with the SQLite schema).
var copyTables = []string{
	"keys", "sites", "visitors", "conversations", "messages",
	"skill_groups", "agents", "agent_groups", "agent_sessions",
	"tickets", "ticket_events", "canned_responses", "outbox",
	"visitor_events", "files", "audit_log",
}

// CopyOptions tune CopySQLiteToPostgres; the zero value is sensible.
type CopyOptions struct {
	// BatchRows caps the rows of one INSERT (default 500).
	BatchRows int
	// BatchBytes caps the bytes of one INSERT (default 16 MiB), for files.
	BatchBytes int
	// Log receives progress per table (default: discarded).
	Log *slog.Logger
}

// CopySQLiteToPostgres copies every row of the SQLite database at path into
// the PostgreSQL database at url, table by table in batches, in one
// transaction: the target ends up with all rows or none. Sealed columns are
// copied as they are, so the installation keeps its master key. Both sides
// are first migrated to the newest schema; a target that holds any row is
// refused. It returns the rows copied per table, after checking that each
// table holds as many rows on both sides.
func CopySQLiteToPostgres(ctx context.Context, path, url string, opts CopyOptions) (map[string]int64, error) {
	if opts.BatchRows <= 0 {
		opts.BatchRows = 500
	}
	if opts.BatchBytes <= 0 {
		opts.BatchBytes = 16 << 20
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: copy: %w", err)
	}
	if _, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("sqlstore: copy: source: %w", err)
	}
	srcDB, err := sql.Open("sqlite", "file:"+abs+"?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)")
	if err != nil {
		return nil, fmt.Errorf("sqlstore: copy: open %s: %w", abs, err)
	}
	defer srcDB.Close()
	srcDB.SetMaxOpenConns(1)
	src := &handle{DB: srcDB, d: sqliteDialect()}
	if err := migrate(ctx, src); err != nil {
		return nil, err
	}
	dstDB, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: copy: open postgres: %w", err)
	}
	defer dstDB.Close()
	dst := &handle{DB: dstDB, d: postgresDialect()}
	if err := migrate(ctx, dst); err != nil {
		return nil, err
	}
	tables, err := presentTables(ctx, src)
	if err != nil {
		return nil, err
	}
	for _, table := range tables {
		var n int64
		if err := dst.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
			return nil, fmt.Errorf("sqlstore: copy: count target %s: %w", table, err)
		}
		if n > 0 {
			return nil, fmt.Errorf("sqlstore: copy: the target is not empty (%s has %d rows): %w", table, n, data.ErrConflict)
		}
	}
	// A read transaction on the source gives one consistent snapshot even
	// while a server still writes to it.
	srcTx, err := src.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: copy: %w", err)
	}
	defer srcTx.Rollback()
	rawTx, err := dst.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: copy: %w", err)
	}
	defer rawTx.Rollback()
	dstTx := &txn{q: rawTx, d: dst.d}
	counts := map[string]int64{}
	for _, table := range tables {
		n, err := copyTable(ctx, &txn{q: srcTx, d: src.d}, dstTx, table, opts)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: copy %s: %w", table, err)
		}
		var want, got int64
		if err := srcTx.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table).Scan(&want); err != nil {
			return nil, fmt.Errorf("sqlstore: copy: count %s: %w", table, err)
		}
		if err := dstTx.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table).Scan(&got); err != nil {
			return nil, fmt.Errorf("sqlstore: copy: count %s: %w", table, err)
		}
		if n != want || got != want {
			return nil, fmt.Errorf("sqlstore: copy %s: source has %d rows, copied %d, target has %d", table, want, n, got)
		}
		counts[table] = n
		opts.Log.Info("copied table", slog.String("table", table), slog.Int64("rows", n))
	}
	// The SQLite writer moves a busy conversation's row along at most once
	// a second (seqcache.go), and keeps its window of client ids in memory:
	// PostgreSQL keeps both in the row, so the copy brings last_seq up to
	// the messages and leaves the windows to be filled from them (NULL).
	if _, err := dstTx.ExecContext(ctx, `UPDATE conversations SET client_ids = NULL,
		last_seq = GREATEST(last_seq, COALESCE((SELECT MAX(seq) FROM messages WHERE messages.conversation_id = conversations.id), 0))`); err != nil {
		return nil, fmt.Errorf("sqlstore: copy: conversation rows: %w", err)
	}
	if err := rawTx.Commit(); err != nil {
		return nil, fmt.Errorf("sqlstore: copy: commit: %w", err)
	}
	return counts, nil
}

// presentTables returns the copy tables the migrated schema has (a table
// of copyTables may belong to a migration this build does not have yet).
func presentTables(ctx context.Context, src *handle) ([]string, error) {
	var out []string
	for _, table := range copyTables {
		var n int
		if err := src.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?`, table).Scan(&n); err != nil {
			return nil, fmt.Errorf("sqlstore: copy: %w", err)
		}
		if n > 0 {
			out = append(out, table)
		}
	}
	return out, nil
}

// copyTable streams one table's rows into multi-row INSERTs.
func copyTable(ctx context.Context, src, dst *txn, table string, opts CopyOptions) (int64, error) {
	rows, err := src.QueryContext(ctx, `SELECT * FROM `+table+` ORDER BY rowid`)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return 0, err
	}
	var (
		batch  []any
		nrows  int
		nbytes int
		total  int64
	)
	flush := func() error {
		if nrows == 0 {
			return nil
		}
		var q strings.Builder
		q.WriteString("INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES ")
		row := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
		for i := 0; i < nrows; i++ {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString(row)
		}
		// Built per batch, so rebind directly rather than through the cache.
		if _, err := dst.q.ExecContext(ctx, numberPlaceholders(q.String()), batch...); err != nil {
			return err
		}
		total += int64(nrows)
		batch, nrows, nbytes = batch[:0], 0, 0
		return nil
	}
	maxRows := min(opts.BatchRows, 60000/max(len(cols), 1)) // PostgreSQL allows 65535 parameters
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return total, err
		}
		for _, v := range vals {
			switch v := v.(type) {
			case []byte:
				nbytes += len(v)
			case string:
				nbytes += len(v)
			}
		}
		batch = append(batch, vals...)
		nrows++
		if nrows >= maxRows || nbytes >= opts.BatchBytes {
			if err := flush(); err != nil {
				return total, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return total, err
	}
	if err := flush(); err != nil {
		return total, err
	}
	return total, nil
}

// BackupSQLite writes a consistent copy of the SQLite database at path to
// the new file to (VACUUM INTO), while servers may keep using it.
func BackupSQLite(ctx context.Context, path, to string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("sqlstore: backup: %w", err)
	}
	if _, err := os.Stat(abs); err != nil {
		return fmt.Errorf("sqlstore: backup: %w", err)
	}
	target, err := filepath.Abs(to)
	if err != nil {
		return fmt.Errorf("sqlstore: backup: %w", err)
	}
	if _, err := os.Stat(target); err == nil {
		return fmt.Errorf("sqlstore: backup: %s exists: %w", target, data.ErrConflict)
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("sqlstore: backup: %w", err)
	}
	db, err := sql.Open("sqlite", "file:"+abs+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return fmt.Errorf("sqlstore: backup: open %s: %w", abs, err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, target); err != nil {
		return fmt.Errorf("sqlstore: backup to %s: %w", target, err)
	}
	return nil
}
