package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/frontdesk/frontdesk/data"
)

// On SQLite one writer goroutine makes every write, so the state an append
// needs from its conversation (the last seq, the window of recent client
// ids, whether an agent has answered yet, the status, agent and visitor its
// expectation is checked against) can live in that goroutine's memory
// instead of being read from and written to the conversation row. An append is then one INSERT
// into messages, and the conversation row, whose page every append would
// otherwise write to the log again, is rewritten at most once a second per
// conversation (bumpEvery) to move updated_at and last_seq along.
//
// The messages stay the truth. A state is loaded from them (and the row)
// inside the writer's transaction when it is missing, so a state may be
// dropped at any time: the cache evicts when full, and every state an
// undone savepoint or transaction touched is dropped. Reads take last_seq
// as the larger of the row's and the newest message's seq (dialect.
// convColumns), so they never see the lag. A stale state (another process
// wrote to the file) shows as a primary-key conflict on (conversation_id,
// seq): the append drops the state and runs again once. Close writes the
// lagging rows of the states it still holds; a row whose state was evicted
// or lost in a crash stays behind until its next rewrite, which reads and
// the copy to PostgreSQL (copy.go) make up for.
//
// PostgreSQL has writers on several nodes and keeps the row UPDATE, whose
// row lock orders them (appendTx).

// bumpEvery is how often, at most, a busy conversation's row is rewritten
// to move updated_at and last_seq along; the first message after a quiet
// second always rewrites it.
const bumpEvery = 1000 // milliseconds

// maxStates bounds the cached conversations.
const maxStates = 8192

// convState is what the writer knows about one conversation.
type convState struct {
	// status, agent and visitorID are the row's, for appends' expectations;
	// Transition, the one write that changes status and agent, drops the
	// state.
	status, agent, visitorID string
	lastSeq                  int64
	window                   string // client id hashes, oldest first, idHashLen each
	responded                bool   // first_response_at is set
	rowAt                    int64  // updated_at as the row has it (ms)
	rowSeq                   int64  // last_seq as the row has it
	lastAt                   int64  // created_at of the newest message (ms)
}

// seqCache holds the writer's conversation states. Only the writer
// goroutine uses it.
type seqCache struct {
	states map[string]*convState
	// journal lists the conversations whose state changed in the open
	// transaction, in order, so that an undo can drop them.
	journal []string
}

func newSeqCache() *seqCache { return &seqCache{states: map[string]*convState{}} }

// mark is the journal position an undo returns to.
func (c *seqCache) mark() int {
	if c == nil {
		return 0
	}
	return len(c.journal)
}

// undo drops the states changed since mark (a savepoint or the whole
// transaction was rolled back).
func (c *seqCache) undo(mark int) {
	if c == nil {
		return
	}
	for _, id := range c.journal[mark:] {
		delete(c.states, id)
	}
	c.journal = c.journal[:mark]
}

// committed forgets the journal: its changes are durable.
func (c *seqCache) committed() {
	if c != nil {
		c.journal = c.journal[:0]
	}
}

// reset drops every state (conversations or messages were deleted). The
// journal stays: an undo still needs its marks.
func (c *seqCache) reset() {
	if c != nil {
		clear(c.states)
	}
}

// peek returns the cached state of id, or nil.
func (c *seqCache) peek(id string) *convState {
	if c == nil {
		return nil
	}
	return c.states[id]
}

// load returns the state of id, reading it inside tx when it is not cached.
func (c *seqCache) load(ctx context.Context, tx *txn, id string) (*convState, error) {
	if st := c.states[id]; st != nil {
		return st, nil
	}
	st := &convState{}
	var responded sql.NullInt64
	err := tx.QueryRowContext(ctx, `SELECT status, assigned_agent, visitor_id, last_seq, updated_at, first_response_at FROM conversations WHERE id = ?`, id).
		Scan(&st.status, &st.agent, &st.visitorID, &st.rowSeq, &st.rowAt, &responded)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, data.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	st.responded = responded.Valid
	var maxSeq, maxAt sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT seq, created_at FROM messages WHERE conversation_id = ? ORDER BY seq DESC LIMIT 1`, id).
		Scan(&maxSeq, &maxAt); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	st.lastSeq, st.lastAt = max(st.rowSeq, maxSeq.Int64), max(st.rowAt, maxAt.Int64)
	if st.window, err = readWindow(ctx, tx, id); err != nil {
		return nil, err
	}
	if len(c.states) >= maxStates {
		for k := range c.states { // drop an arbitrary one: any state may be reloaded
			delete(c.states, k)
			break
		}
	}
	c.states[id] = st
	// Read inside the open transaction, the state may hold what an undo
	// takes back (a transition's new status, earlier ops' messages).
	c.journal = append(c.journal, id)
	return st, nil
}

// forget drops id's state: its row changed in a way the state mirrors.
func (c *seqCache) forget(id string) {
	if c != nil {
		delete(c.states, id)
	}
}

// changed records that id's state is about to change in the open transaction.
func (c *seqCache) changed(id string) { c.journal = append(c.journal, id) }

// appendCached is appendTx on SQLite: the seq and the retry check come from
// the writer's state of the conversation.
func (s *Store) appendCached(ctx context.Context, tx *txn, m data.Message) (data.Message, bool, error) {
	for attempt := 0; ; attempt++ {
		stored, dup, err := s.appendCachedOnce(ctx, tx, m)
		if attempt == 0 && isUniqueViolation(err) {
			// The state was stale: another process appended to the file.
			tx.seqs.forget(m.ConversationID)
			continue
		}
		return stored, dup, err
	}
}

func (s *Store) appendCachedOnce(ctx context.Context, tx *txn, m data.Message) (data.Message, bool, error) {
	st, err := tx.seqs.load(ctx, tx, m.ConversationID)
	if err != nil {
		return data.Message{}, false, err
	}
	var hash string
	if m.ClientMsgID != "" {
		hash = clientIDHash(m.ClientMsgID)
		if windowHas(st.window, hash) {
			// Not found: another id with the same hash, this one is new.
			if existing, found, err := s.storedRetry(ctx, tx, m); found || err != nil {
				return existing, found, err
			}
		}
	}
	// A retry is answered with the stored message even when the
	// conversation has moved on since; a new message must find it as the
	// caller expects.
	if unexpected(m.Expect, st.status, st.agent, st.visitorID) {
		return data.Message{}, false, data.ErrStale
	}
	seq := st.lastSeq + 1
	at := ms(m.CreatedAt)
	m.Seq = seq
	if err := s.insertMessage(ctx, tx, m); err != nil {
		if isFKViolation(err) {
			tx.seqs.forget(m.ConversationID) // deleted by another process
			return data.Message{}, false, data.ErrNotFound
		}
		return data.Message{}, false, err
	}
	m.Expect, m.Attachment = nil, nil
	tx.seqs.changed(m.ConversationID)
	st.lastSeq, st.lastAt = seq, max(st.lastAt, at)
	if hash != "" {
		st.window += hash
		if len(st.window) > idChars {
			st.window = st.window[len(st.window)-idChars:]
		}
	}
	firstAnswer := isResponse(m) && !st.responded
	if firstAnswer || at-st.rowAt >= bumpEvery {
		if _, err := tx.ExecContext(ctx, `UPDATE conversations SET last_seq = ?, updated_at = ?,
			first_response_at = CASE WHEN ? AND first_response_at IS NULL THEN ? ELSE first_response_at END WHERE id = ?`,
			seq, at, firstAnswer, at, m.ConversationID); err != nil {
			return data.Message{}, false, err
		}
		st.rowSeq, st.rowAt = seq, at
		st.responded = st.responded || firstAnswer
	}
	return m, false, nil
}

// flushStates writes the rows that lag behind their states (at Close).
func (s *Store) flushStates(ctx context.Context, tx *txn) error {
	for id, st := range tx.seqs.states {
		if st.rowSeq >= st.lastSeq {
			continue
		}
		if _, err := tx.ExecContext(ctx, `UPDATE conversations SET last_seq = max(last_seq, ?), updated_at = max(updated_at, ?) WHERE id = ?`,
			st.lastSeq, st.lastAt, id); err != nil {
			return fmt.Errorf("flush %s: %w", id, err)
		}
		st.rowSeq, st.rowAt = st.lastSeq, max(st.rowAt, st.lastAt)
	}
	return nil
}
