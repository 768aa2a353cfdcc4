package sqlstore

import (
	"context"
	"fmt"
)

// maxAttempts bounds how often one op runs after deadlocks with other nodes.
const maxAttempts = 5

// writeOp is one write that shares a transaction with other queued writes.
// run executes inside a savepoint, so a failing op does not undo its
// neighbours; done is called after the transaction commits (or fails).
type writeOp struct {
	ctx  context.Context
	run  func(ctx context.Context, tx *txn) error
	done chan error
}

// submit queues op and waits until its transaction has committed.
func (s *Store) submit(ctx context.Context, run func(ctx context.Context, tx *txn) error) error {
	op := writeOp{ctx: ctx, run: run, done: make(chan error, 1)}
	select {
	case <-s.closing:
		return ErrClosed
	default:
	}
	select {
	case s.ops <- op:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.closing:
		return ErrClosed
	}
	// Once queued, the op is committed or failed even if ctx ends: wait for it
	// so the caller never reports failure for a write that became durable.
	return <-op.done
}

// writer is the group-commit loop: it takes every op that is waiting (up to
// max), runs them in one transaction and releases each caller after COMMIT.
func (s *Store) writer(max int) {
	defer close(s.writerEnd)
	if s.wconn != nil {
		defer s.wconn.Close()
		defer s.wstmts.Close()
	}
	batch := make([]writeOp, 0, max)
	for {
		select {
		case op := <-s.ops:
			batch = append(batch[:0], op)
		case <-s.closing:
			// Drain what was queued before Close.
			for {
				select {
				case op := <-s.ops:
					s.commitBatch([]writeOp{op})
				default:
					s.flushOnClose()
					return
				}
			}
		}
	fill:
		for len(batch) < max {
			select {
			case op := <-s.ops:
				batch = append(batch, op)
			default:
				break fill
			}
		}
		s.commitBatch(batch)
	}
}

// flushOnClose brings the conversation rows up to the writer's states
// (seqcache.go), so that a database closed cleanly needs no reconciling.
func (s *Store) flushOnClose() {
	if s.seqs == nil || len(s.seqs.states) == 0 {
		return
	}
	done := make(chan error, 1)
	s.commit([]writeOp{{ctx: context.Background(), done: done, run: s.flushStates}})
	if err := <-done; err != nil {
		s.closeErr = fmt.Errorf("sqlstore: close: write conversation rows: %w", err)
	}
}

// commitBatch commits batch. On SQLite it first runs the ops one after
// another without savepoints: that takes two statements fewer per op. If
// any op fails (a retried message does not fail: it is answered with the
// stored one), that attempt is rolled back as a whole and the
// batch runs again with a savepoint around each op, so that the failure is
// that op's alone. Ops are written to be run again (the deadlock retry on
// PostgreSQL needs that too).
func (s *Store) commitBatch(batch []writeOp) {
	switch {
	case s.wstmts == nil:
	case s.checkedRuns > 0:
		// A recent fast attempt failed: failures come in bursts (a client
		// posting to a conversation that was closed or reassigned), so do
		// not pay for two attempts per batch meanwhile.
		s.checkedRuns--
	case s.commitFast(batch):
		return
	default:
		s.checkedRuns = checkedAfterFailure
	}
	s.commit(batch)
}

// checkedAfterFailure is how many batches run checked after a fast attempt failed.
const checkedAfterFailure = 16

// commitFast runs batch in one transaction without savepoints and reports
// whether it committed; when it did not, nothing of it was written.
func (s *Store) commitFast(batch []writeOp) bool {
	ctx := context.Background()
	q, end, err := s.begin(ctx)
	if err != nil {
		return false
	}
	tx := &txn{q: q, d: s.d, seqs: s.seqs}
	for _, op := range batch {
		if op.ctx.Err() != nil || op.run(ctx, tx) != nil {
			end(false)
			s.seqs.undo(0)
			return false
		}
	}
	if end(true) != nil {
		s.seqs.undo(0)
		return false
	}
	s.seqs.committed()
	for _, op := range batch {
		op.done <- nil
	}
	return true
}

// begin starts the writer's transaction. On SQLite the writer keeps one
// connection and issues BEGIN IMMEDIATE / COMMIT itself, so that its
// statements stay prepared across transactions (database/sql would prepare
// them again in every *sql.Tx); on PostgreSQL it is a pooled *sql.Tx.
func (s *Store) begin(ctx context.Context) (q queryer, end func(commit bool) error, err error) {
	if s.wstmts != nil {
		if _, err := s.wstmts.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
			return nil, nil, err
		}
		return s.wstmts, func(commit bool) error {
			if commit {
				_, err := s.wstmts.ExecContext(ctx, "COMMIT")
				if err == nil {
					return nil
				}
				// A failed COMMIT can leave the transaction open.
				s.wstmts.ExecContext(ctx, "ROLLBACK")
				return err
			}
			_, err := s.wstmts.ExecContext(ctx, "ROLLBACK")
			return err
		}, nil
	}
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, nil, err
	}
	return tx, func(commit bool) error {
		if commit {
			return tx.Commit()
		}
		return tx.Rollback()
	}, nil
}

func (s *Store) commit(batch []writeOp) {
	ctx := context.Background()
	results := make([]error, len(batch))
	q, end, err := s.begin(ctx)
	if err != nil {
		for _, op := range batch {
			op.done <- fmt.Errorf("sqlstore: begin: %w", err)
		}
		return
	}
	tx := &txn{q: q, d: s.d, seqs: s.seqs}
	for i, op := range batch {
		if op.ctx.Err() != nil {
			results[i] = op.ctx.Err()
			continue
		}
		if _, err := tx.ExecContext(ctx, "SAVEPOINT op"); err != nil {
			results[i] = fmt.Errorf("sqlstore: savepoint: %w", err)
			continue
		}
		// Writers on other nodes may deadlock with this batch; the database
		// then fails one statement, and the op runs again from its savepoint.
		mark := s.seqs.mark()
		for attempt := 1; ; attempt++ {
			err := op.run(ctx, tx)
			results[i] = err
			if err == nil {
				break
			}
			s.seqs.undo(mark)
			if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT op"); rerr != nil {
				end(false)
				s.seqs.undo(0)
				for _, op := range batch {
					op.done <- fmt.Errorf("sqlstore: rollback to savepoint: %w", rerr)
				}
				return
			}
			if attempt >= maxAttempts || !s.d.retryable(err) {
				break
			}
		}
		if _, err := tx.ExecContext(ctx, "RELEASE SAVEPOINT op"); err != nil {
			end(false)
			s.seqs.undo(0)
			for _, op := range batch {
				op.done <- fmt.Errorf("sqlstore: release savepoint: %w", err)
			}
			return
		}
	}
	if err := end(true); err != nil {
		s.seqs.undo(0)
		for _, op := range batch {
			op.done <- fmt.Errorf("sqlstore: commit: %w", err)
		}
		return
	}
	s.seqs.committed()
	for i, op := range batch {
		op.done <- results[i]
	}
}
