package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/frontdesk/frontdesk/data"
	"github.com/frontdesk/frontdesk/data/seal"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver
)

//go:embed migrations
var migrationFS embed.FS

// ErrClosed is returned by operations on a closed store.
var ErrClosed = errors.New("sqlstore: store is closed")

// Store is a data.Store on SQLite or PostgreSQL.
type Store struct {
	d      *dialect
	write  *handle // SQLite: one connection, its single writer; PostgreSQL: the pool
	read   *handle // SQLite: read-only connections; PostgreSQL: the same pool
	sealer seal.Sealer
	// master wraps the keys in the keys table; sealer is keys, the data
	// keys they unwrap to.
	master seal.Sealer
	keys   *dataSealer
	// index is the blind-index key (HMAC-SHA256), set once.
	index     []byte
	indexOnce sync.Once

	// wconn is the SQLite writer's own connection and wstmts its prepared
	// statements (nil on PostgreSQL); only the writer goroutine uses them.
	wconn  *sql.Conn
	wstmts *stmtCache
	// seqs is the SQLite writer's conversation states (seqcache.go).
	seqs *seqCache
	// closeErr is what the writer's last flush reported, for Close.
	closeErr error
	// checkedRuns counts batches left to run checked (writer only).
	checkedRuns int

	ops       chan writeOp
	closing   chan struct{}
	writerEnd chan struct{}
	closeOnce sync.Once
}

var _ data.Store = (*Store)(nil)

// Options tune a store; the zero value is sensible.
type Options struct {
	// MaxBatch caps how many queued writes share one transaction (default 256).
	MaxBatch int
	// Synchronous is SQLite's synchronous pragma: "FULL" (default; survives
	// power loss) or "NORMAL" (survives a crash of the process only).
	Synchronous string
	// MaxConns caps PostgreSQL connections of this node (default 10).
	MaxConns int
	// rowState makes SQLite appends keep their state in the conversation
	// row, as on PostgreSQL, instead of in the writer (tests of that path).
	rowState bool
}

// OpenSQLite opens (creating if needed) the SQLite database at path and
// migrates it to the newest schema.
func OpenSQLite(ctx context.Context, path string, sealer seal.Sealer, opts Options) (*Store, error) {
	if sealer == nil {
		return nil, errors.New("sqlstore: a sealer is required")
	}
	sync := strings.ToUpper(opts.Synchronous)
	if sync == "" {
		sync = "FULL"
	}
	if sync != "FULL" && sync != "NORMAL" {
		return nil, fmt.Errorf("sqlstore: synchronous %q: want FULL or NORMAL", opts.Synchronous)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: %w", err)
	}
	pragmas := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(" + sync + ")", "busy_timeout(10000)", "foreign_keys(1)"} {
		pragmas.Add("_pragma", p)
	}
	dsn := "file:" + abs + "?" + pragmas.Encode()
	write, err := sql.Open("sqlite", dsn+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open %s: %w", abs, err)
	}
	write.SetMaxOpenConns(1)
	write.SetConnMaxIdleTime(0)
	d := sqliteDialect()
	if err := migrate(ctx, &handle{DB: write, d: d}); err != nil {
		write.Close()
		return nil, err
	}
	read, err := sql.Open("sqlite", dsn+"&_pragma=query_only(1)")
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlstore: open %s for reading: %w", abs, err)
	}
	read.SetMaxOpenConns(4)
	return start(ctx, d, &handle{DB: write, d: d}, &handle{DB: read, d: d}, sealer, opts)
}

// OpenPostgres connects to the PostgreSQL database at url (postgres://...,
// through pgx's database/sql driver) and migrates it to the newest schema.
// Several nodes may open one database at once: migrations take a lock, and
// every write that checks before it changes locks what it checked.
func OpenPostgres(ctx context.Context, url string, sealer seal.Sealer, opts Options) (*Store, error) {
	if sealer == nil {
		return nil, errors.New("sqlstore: a sealer is required")
	}
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open postgres: %w", err)
	}
	conns := opts.MaxConns
	if conns <= 0 {
		conns = 10
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlstore: connect to postgres: %w", err)
	}
	d := postgresDialect()
	h := &handle{DB: db, d: d}
	if err := migrate(ctx, h); err != nil {
		db.Close()
		return nil, err
	}
	return start(ctx, d, h, h, sealer, opts)
}

// start makes the store, starts its group-commit writer and loads the keys
// from the keys table.
func start(ctx context.Context, d *dialect, write, read *handle, sealer seal.Sealer, opts Options) (*Store, error) {
	s := &Store{
		d:         d,
		write:     write,
		read:      read,
		master:    sealer,
		ops:       make(chan writeOp, 1024),
		closing:   make(chan struct{}),
		writerEnd: make(chan struct{}),
	}
	batch := opts.MaxBatch
	if batch <= 0 {
		batch = 256
	}
	s.keys = &dataSealer{s: s}
	s.sealer = s.keys
	if d.name == "sqlite" {
		conn, err := write.DB.Conn(ctx)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("sqlstore: writer connection: %w", err), read.Close(), write.Close())
		}
		// The writer touches the newest page of every active conversation;
		// SQLite's default 2 MB page cache makes it read them back from the
		// log or the file again and again.
		if _, err := conn.ExecContext(ctx, "PRAGMA cache_size = -16384"); err != nil {
			return nil, errors.Join(fmt.Errorf("sqlstore: writer connection: %w", err), conn.Close(), read.Close(), write.Close())
		}
		s.wconn, s.wstmts = conn, newStmtCache(conn)
		if !opts.rowState {
			s.seqs = newSeqCache()
		}
		read.stmts = newStmtCache(read.DB)
	}
	go s.writer(batch)
	if err := s.initKeys(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Dialect names the database the store runs on: "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.d.name }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.read.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("sqlstore: ping: %w", err)
	}
	return nil
}

// Close commits queued writes, then closes the database.
func (s *Store) Close() error {
	s.closeOnce.Do(func() { close(s.closing) })
	<-s.writerEnd
	if s.read == s.write {
		return errors.Join(s.closeErr, s.write.Close())
	}
	return errors.Join(s.closeErr, s.read.Close(), s.write.Close())
}

// migrate applies every embedded migration of the store's dialect newer
// than the schema version, each in its own transaction with the version
// row. On PostgreSQL a session lock keeps nodes starting together from
// migrating at once.
func migrate(ctx context.Context, h *handle) error {
	conn, err := h.Conn(ctx)
	if err != nil {
		return fmt.Errorf("sqlstore: migrate: %w", err)
	}
	defer conn.Close()
	d := h.d
	if d.lockSQL != "" {
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(hashtextextended('frontdesk.migrate.' || current_schema(), 0))`); err != nil {
			return fmt.Errorf("sqlstore: migrate: lock: %w", err)
		}
		defer conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock(hashtextextended('frontdesk.migrate.' || current_schema(), 0))`)
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("sqlstore: migrate: %w", err)
	}
	var current int
	err = conn.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&current)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := conn.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (0)`); err != nil {
			return fmt.Errorf("sqlstore: migrate: %w", err)
		}
	case err != nil:
		return fmt.Errorf("sqlstore: migrate: read version: %w", err)
	}
	files, err := fs.Glob(migrationFS, "migrations/"+d.name+"/*.sql")
	if err != nil {
		return fmt.Errorf("sqlstore: migrate: %w", err)
	}
	sort.Strings(files)
	for _, f := range files {
		n, err := strconv.Atoi(strings.SplitN(filepath.Base(f), "_", 2)[0])
		if err != nil {
			return fmt.Errorf("sqlstore: migrate: bad file name %s", f)
		}
		if n <= current {
			continue
		}
		body, err := migrationFS.ReadFile(f)
		if err != nil {
			return fmt.Errorf("sqlstore: migrate: %w", err)
		}
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("sqlstore: migrate %s: %w", f, err)
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("sqlstore: migrate %s: %w", f, err)
		}
		if _, err := tx.ExecContext(ctx, d.rebind(`UPDATE schema_version SET version = ?`), n); err != nil {
			tx.Rollback()
			return fmt.Errorf("sqlstore: migrate %s: %w", f, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("sqlstore: migrate %s: commit: %w", f, err)
		}
	}
	return nil
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }
