package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// queryer runs statements: a *sql.Tx, or a statement cache.
type queryer interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// maxCachedStmts bounds a statement cache, in case a caller builds queries
// dynamically; queries beyond it run unprepared.
const maxCachedStmts = 1024

// preparer is a *sql.DB or a *sql.Conn.
type preparer interface {
	queryer
	PrepareContext(ctx context.Context, q string) (*sql.Stmt, error)
}

// stmtCache prepares each distinct query once and runs it as a prepared
// statement from then on. SQLite (modernc) otherwise parses every statement
// again on every call, which was a quarter of the server's CPU under load.
// On a *sql.DB the statement is prepared on each pooled connection as it is
// first used there; on a *sql.Conn it stays on that one connection.
type stmtCache struct {
	on preparer

	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

func newStmtCache(on preparer) *stmtCache {
	return &stmtCache{on: on, stmts: map[string]*sql.Stmt{}}
}

// stmt returns the prepared statement for q, or nil when q is not cached
// (the cache is full, or preparing failed: running q unprepared then
// reports the same error to the caller).
func (c *stmtCache) stmt(ctx context.Context, q string) *sql.Stmt {
	c.mu.Lock()
	st, ok := c.stmts[q]
	full := len(c.stmts) >= maxCachedStmts
	c.mu.Unlock()
	if ok || full {
		return st
	}
	// Prepared outside the lock: on a *sql.DB this waits for a connection.
	st, err := c.on.PrepareContext(context.WithoutCancel(ctx), q)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, ok := c.stmts[q]; ok {
		st.Close()
		return prev
	}
	c.stmts[q] = st
	return st
}

// ExecContext runs q as a prepared statement.
func (c *stmtCache) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if st := c.stmt(ctx, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return c.on.ExecContext(ctx, q, args...)
}

// QueryContext runs q as a prepared statement.
func (c *stmtCache) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := c.stmt(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return c.on.QueryContext(ctx, q, args...)
}

// QueryRowContext runs q as a prepared statement.
func (c *stmtCache) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if st := c.stmt(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return c.on.QueryRowContext(ctx, q, args...)
}

// Close closes every cached statement.
func (c *stmtCache) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for q, st := range c.stmts {
		errs = append(errs, st.Close())
		delete(c.stmts, q)
	}
	return errors.Join(errs...)
}
