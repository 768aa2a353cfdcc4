package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5/pgconn"
)

// dialect is what differs between the SQL databases the store runs on. The
// store's SQL is written once, with `?` placeholders and the syntax both
// databases share (INSERT ... ON CONFLICT, RETURNING, SAVEPOINT); a dialect
// rebinds the placeholders and supplies the few clauses that differ. To add
// a store method, write its SQL as usual and, where it reads a row in order
// to change it, append tx.d.forUpdate.
type dialect struct {
	// name is "sqlite" or "postgres", and the folder of its migrations.
	name string
	// numbered rebinds `?` to `$1, $2, ...`.
	numbered bool
	// forUpdate is appended to a SELECT that reads rows the transaction is
	// about to change: " FOR UPDATE" where writers run concurrently, "" on
	// SQLite, whose single writer already excludes everyone else.
	forUpdate string
	// skipLocked is appended to a SELECT that claims work rows, so that
	// concurrent claimers pass over rows another one holds.
	skipLocked string
	// lockSQL takes a transaction-scoped lock on a string key ("" on SQLite).
	lockSQL string
	// windowPush is client_ids with the hash bound to ? appended, cut to the
	// window; windowAbsent is true when that hash is not in client_ids.
	windowPush, windowAbsent string
	// bump holds the appends' UPDATE statements (see bumpSQL).
	bump [2][2][2]string
	// convColumns are the conversation columns scanConversation reads. On
	// SQLite last_seq is the larger of the row's and the newest message's:
	// the writer moves the row along at most once a second (seqcache.go).
	convColumns string

	mu      sync.Mutex
	rebound map[string]string
}

func sqliteDialect() *dialect {
	d := &dialect{name: "sqlite",
		windowPush:   "substr(client_ids || ?, -" + strconv.Itoa(idChars) + ")",
		windowAbsent: "instr(client_ids, ?) = 0",
		convColumns: conversationColumns(`max(last_seq, coalesce((SELECT max(seq) FROM messages
			WHERE messages.conversation_id = conversations.id), 0))`),
	}
	d.buildBump()
	return d
}

func postgresDialect() *dialect {
	d := &dialect{
		name:         "postgres",
		numbered:     true,
		forUpdate:    " FOR UPDATE",
		skipLocked:   " FOR UPDATE SKIP LOCKED",
		lockSQL:      "SELECT pg_advisory_xact_lock(hashtextextended(?, 0))",
		rebound:      map[string]string{},
		windowPush:   "right(client_ids || ?, " + strconv.Itoa(idChars) + ")",
		windowAbsent: "strpos(client_ids, ?) = 0",
		convColumns:  conversationColumns("last_seq"),
	}
	d.buildBump()
	return d
}

// buildBump writes the UPDATE that allocates an appended message's seq, in
// its variants: bump[withID][check][expect]. withID: the message has a
// client id, whose hash joins the window (and the row must have one);
// check: the hash must not be in the window yet; expect: the conversation
// must still be as the caller expects. Arguments, in order: updated_at,
// sender kind, created_at, [hash], id, [hash], [status, status, agent,
// agent, visitor, visitor].
func (d *dialect) buildBump() {
	for _, withID := range []bool{false, true} {
		for _, check := range []bool{false, true} {
			for _, expect := range []bool{false, true} {
				var b strings.Builder
				b.WriteString(`UPDATE conversations SET last_seq = last_seq + 1, updated_at = ?,
			first_response_at = CASE WHEN ? = 'agent' AND first_response_at IS NULL THEN ? ELSE first_response_at END`)
				if withID {
					b.WriteString(", client_ids = " + d.windowPush)
				}
				b.WriteString(" WHERE id = ?")
				if withID {
					b.WriteString(" AND client_ids IS NOT NULL")
					if check {
						b.WriteString(" AND " + d.windowAbsent)
					}
				}
				if expect {
					b.WriteString(` AND (CAST(? AS TEXT) = '' OR status = ?) AND (CAST(? AS TEXT) = '' OR assigned_agent = ?)
			AND (CAST(? AS TEXT) = '' OR visitor_id = ?)`)
				}
				b.WriteString(" RETURNING last_seq")
				d.bump[b2i(withID)][b2i(check)][b2i(expect)] = b.String()
			}
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// rebind rewrites `?` placeholders outside quoted text into the dialect's
// form; results are cached, since the store's queries are a fixed set.
func (d *dialect) rebind(q string) string {
	if !d.numbered || !strings.Contains(q, "?") {
		return q
	}
	d.mu.Lock()
	out, ok := d.rebound[q]
	d.mu.Unlock()
	if ok {
		return out
	}
	out = numberPlaceholders(q)
	d.mu.Lock()
	if len(d.rebound) < 4096 { // a bound, in case a caller builds queries dynamically
		d.rebound[q] = out
	}
	d.mu.Unlock()
	return out
}

// numberPlaceholders turns each `?` outside '...' and "..." into $1, $2, ...
func numberPlaceholders(q string) string {
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	var quote byte
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// retryable reports an error after which the same operation may succeed if
// run again: a deadlock or serialization failure between concurrent writers.
func (d *dialect) retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001")
}

// isUniqueViolation reports a UNIQUE or PRIMARY KEY constraint failure on
// either database.
func isUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505"
	}
	return strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// isFKViolation reports a FOREIGN KEY constraint failure on either database.
func isFKViolation(err error) bool {
	if err == nil {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23503"
	}
	return strings.Contains(err.Error(), "FOREIGN KEY constraint failed")
}

// handle is a database pool that speaks its dialect's placeholders. On
// SQLite its statements are prepared once (stmts); pgx caches prepared
// statements itself.
type handle struct {
	*sql.DB
	d     *dialect
	stmts *stmtCache
}

func (h *handle) on() queryer {
	if h.stmts != nil {
		return h.stmts
	}
	return h.DB
}

// ExecContext runs q with its placeholders rebound.
func (h *handle) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return h.on().ExecContext(ctx, h.d.rebind(q), args...)
}

// QueryContext runs q with its placeholders rebound.
func (h *handle) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return h.on().QueryContext(ctx, h.d.rebind(q), args...)
}

// QueryRowContext runs q with its placeholders rebound.
func (h *handle) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return h.on().QueryRowContext(ctx, h.d.rebind(q), args...)
}

// Close closes the cached statements, then the pool.
func (h *handle) Close() error {
	var err error
	if h.stmts != nil {
		err = h.stmts.Close()
	}
	return errors.Join(err, h.DB.Close())
}

// txn is a transaction that speaks its dialect's placeholders. q is a
// *sql.Tx, or on SQLite the writer connection's statement cache inside a
// BEGIN ... COMMIT the writer issues itself.
type txn struct {
	q queryer
	d *dialect
	// seqs is the SQLite writer's conversation states (seqcache.go); nil
	// elsewhere.
	seqs *seqCache
}

// ExecContext runs q with its placeholders rebound.
func (t *txn) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return t.q.ExecContext(ctx, t.d.rebind(q), args...)
}

// QueryContext runs q with its placeholders rebound.
func (t *txn) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return t.q.QueryContext(ctx, t.d.rebind(q), args...)
}

// QueryRowContext runs q with its placeholders rebound.
func (t *txn) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return t.q.QueryRowContext(ctx, t.d.rebind(q), args...)
}

// lock takes a lock on key until the transaction ends, serialising writers
// on several nodes that check and then change the same thing (an agent's
// load). On SQLite the single writer already does that.
func (t *txn) lock(ctx context.Context, key string) error {
	if t.d.lockSQL == "" {
		return nil
	}
	_, err := t.ExecContext(ctx, t.d.lockSQL, key)
	return err
}
