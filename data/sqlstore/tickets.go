package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/frontdesk/frontdesk/data"
	"github.com/frontdesk/frontdesk/mask"
)

func ticketAAD(id, field string) []byte { return []byte("ticket:" + id + ":" + field) }

func (s *Store) sealString(v string, aad []byte) ([]byte, error) {
	return s.sealer.Seal([]byte(v), aad)
}

func (s *Store) openString(v []byte, aad []byte) (string, error) {
	if len(v) == 0 {
		return "", nil
	}
	b, err := s.sealer.Open(v, aad)
	return string(b), err
}

// CreateTicket stores a ticket and its outbox items in one transaction.
func (s *Store) CreateTicket(ctx context.Context, t data.Ticket, outbox ...data.OutboxItem) (data.Ticket, error) {
	if t.ID == "" {
		t.ID = data.NewID("t_")
	}
	if t.Status == "" {
		t.Status = data.TicketOpen
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = now()
	}
	t.UpdatedAt = t.CreatedAt
	switch {
	case t.SiteID == "":
		return data.Ticket{}, fmt.Errorf("sqlstore: create ticket: site is required: %w", data.ErrInvalid)
	case !t.Status.Valid():
		return data.Ticket{}, fmt.Errorf("sqlstore: create ticket: status %q: %w", t.Status, data.ErrInvalid)
	case strings.TrimSpace(t.Body) == "" || len(t.Body) > data.MaxTextBytes || !utf8.ValidString(t.Body) || len(t.Subject) > 500:
		return data.Ticket{}, fmt.Errorf("sqlstore: create ticket: body must be 1-%d bytes of UTF-8: %w", data.MaxTextBytes, data.ErrInvalid)
	}
	subject, err := s.sealString(t.Subject, ticketAAD(t.ID, "subject"))
	if err != nil {
		return data.Ticket{}, err
	}
	body, err := s.sealString(t.Body, ticketAAD(t.ID, "body"))
	if err != nil {
		return data.Ticket{}, err
	}
	contactJSON, _ := json.Marshal(t.Contact)
	contact, err := s.sealer.Seal(contactJSON, ticketAAD(t.ID, "contact"))
	if err != nil {
		return data.Ticket{}, err
	}
	err = s.submit(ctx, func(ctx context.Context, tx *txn) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO tickets (id, site_id, conversation_id, visitor_id, group_id, assignee, status, subject, body, contact, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, t.ID, t.SiteID, nullable(t.ConversationID), nullable(t.VisitorID), t.GroupID, t.Assignee,
			string(t.Status), subject, body, contact, ms(t.CreatedAt), ms(t.UpdatedAt))
		switch {
		case isUniqueViolation(err):
			return data.ErrConflict
		case isFKViolation(err):
			return data.ErrNotFound
		case err != nil:
			return err
		}
		return s.enqueueTx(ctx, tx, linkOutbox(outbox, data.OutboxItem{SiteID: t.SiteID, VisitorID: t.VisitorID, ConversationID: t.ConversationID, TicketID: t.ID}))
	})
	if err != nil {
		return data.Ticket{}, fmt.Errorf("sqlstore: create ticket: %w", err)
	}
	return t, nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

const ticketColumns = `id, site_id, conversation_id, visitor_id, group_id, assignee, status, subject, body, contact, created_at, updated_at, solved_at`

func (s *Store) scanTicket(row scanner) (data.Ticket, error) {
	var (
		t                     data.Ticket
		conv, visitor         sql.NullString
		status                string
		subject, body, contct []byte
		created, updated      int64
		solved                sql.NullInt64
	)
	err := row.Scan(&t.ID, &t.SiteID, &conv, &visitor, &t.GroupID, &t.Assignee, &status, &subject, &body, &contct, &created, &updated, &solved)
	if errors.Is(err, sql.ErrNoRows) {
		return data.Ticket{}, data.ErrNotFound
	}
	if err != nil {
		return data.Ticket{}, err
	}
	t.ConversationID, t.VisitorID, t.Status = conv.String, visitor.String, data.TicketStatus(status)
	t.CreatedAt, t.UpdatedAt, t.SolvedAt = fromMS(created), fromMS(updated), optTime(solved)
	if t.Subject, err = s.openString(subject, ticketAAD(t.ID, "subject")); err != nil {
		return data.Ticket{}, err
	}
	if t.Body, err = s.openString(body, ticketAAD(t.ID, "body")); err != nil {
		return data.Ticket{}, err
	}
	if len(contct) > 0 {
		c, err := s.sealer.Open(contct, ticketAAD(t.ID, "contact"))
		if err != nil {
			return data.Ticket{}, err
		}
		_ = json.Unmarshal(c, &t.Contact)
	}
	return t, nil
}

// GetTicket returns a ticket.
func (s *Store) GetTicket(ctx context.Context, id string) (data.Ticket, error) {
	t, err := s.scanTicket(s.read.QueryRowContext(ctx, `SELECT `+ticketColumns+` FROM tickets WHERE id = ?`, id))
	if err != nil {
		return data.Ticket{}, fmt.Errorf("sqlstore: get ticket %s: %w", id, err)
	}
	return t, nil
}

// ListTickets lists tickets, most recently updated first.
func (s *Store) ListTickets(ctx context.Context, f data.TicketFilter) ([]data.Ticket, error) {
	if f.Limit <= 0 || f.Limit > 10000 {
		f.Limit = 100
	}
	from, to := int64(0), int64(1)<<62
	if !f.CreatedFrom.IsZero() {
		from = ms(f.CreatedFrom)
	}
	if !f.CreatedTo.IsZero() {
		to = ms(f.CreatedTo)
	}
	rows, err := s.read.QueryContext(ctx, `SELECT `+ticketColumns+` FROM tickets WHERE (? = '' OR status = ?) AND (? = '' OR group_id = ?) AND (? = '' OR assignee = ?)
		AND created_at >= ? AND created_at < ? ORDER BY updated_at DESC, id DESC LIMIT ?`, string(f.Status), string(f.Status), f.GroupID, f.GroupID, f.Assignee, f.Assignee, from, to, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list tickets: %w", err)
	}
	defer rows.Close()
	var out []data.Ticket
	for rows.Next() {
		t, err := s.scanTicket(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: list tickets: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// UpdateTicket changes status, assignee or group and records a status event.
func (s *Store) UpdateTicket(ctx context.Context, u data.TicketUpdate) (data.Ticket, error) {
	if u.Status != "" && !u.Status.Valid() {
		return data.Ticket{}, fmt.Errorf("sqlstore: update ticket: status %q: %w", u.Status, data.ErrInvalid)
	}
	if u.At.IsZero() {
		u.At = now()
	}
	var t data.Ticket
	err := s.submit(ctx, func(ctx context.Context, tx *txn) error {
		cur, err := s.scanTicket(tx.QueryRowContext(ctx, `SELECT `+ticketColumns+` FROM tickets WHERE id = ?`+tx.d.forUpdate, u.ID))
		if err != nil {
			return err
		}
		var changes []string
		if u.Status != "" && u.Status != cur.Status {
			changes = append(changes, fmt.Sprintf("status %s -> %s", cur.Status, u.Status))
			cur.Status = u.Status
		}
		if u.Assignee != nil && *u.Assignee != cur.Assignee {
			changes = append(changes, fmt.Sprintf("assignee %q -> %q", cur.Assignee, *u.Assignee))
			cur.Assignee = *u.Assignee
		}
		if u.GroupID != nil && *u.GroupID != cur.GroupID {
			changes = append(changes, fmt.Sprintf("group %q -> %q", cur.GroupID, *u.GroupID))
			cur.GroupID = *u.GroupID
		}
		if len(changes) == 0 {
			t = cur
			return nil
		}
		var solved any
		if cur.Status == data.TicketSolved {
			solved = ms(u.At)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE tickets SET status = ?, assignee = ?, group_id = ?, updated_at = ?, solved_at = ? WHERE id = ?`,
			string(cur.Status), cur.Assignee, cur.GroupID, ms(u.At), solved, u.ID); err != nil {
			return err
		}
		if _, err := s.addEventTx(ctx, tx, data.TicketEvent{TicketID: u.ID, Kind: "status", AuthorID: u.AuthorID, Body: strings.Join(changes, "; "), CreatedAt: u.At}); err != nil {
			return err
		}
		cur.UpdatedAt, cur.SolvedAt = u.At, optTime(sql.NullInt64{Int64: ms(u.At), Valid: solved != nil})
		t = cur
		return nil
	})
	if err != nil {
		return data.Ticket{}, fmt.Errorf("sqlstore: update ticket %s: %w", u.ID, err)
	}
	return t, nil
}

// AddTicketEvent appends a note or reply to a ticket, with outbox items.
func (s *Store) AddTicketEvent(ctx context.Context, e data.TicketEvent, outbox ...data.OutboxItem) (data.TicketEvent, error) {
	if e.Kind != "note" && e.Kind != "reply" {
		return data.TicketEvent{}, fmt.Errorf("sqlstore: ticket event kind %q: %w", e.Kind, data.ErrInvalid)
	}
	if strings.TrimSpace(e.Body) == "" || len(e.Body) > data.MaxTextBytes || !utf8.ValidString(e.Body) {
		return data.TicketEvent{}, fmt.Errorf("sqlstore: ticket event body must be 1-%d bytes of UTF-8: %w", data.MaxTextBytes, data.ErrInvalid)
	}
	if e.CreatedAt.IsZero() {
		e.CreatedAt = now()
	}
	err := s.submit(ctx, func(ctx context.Context, tx *txn) error {
		var err error
		if e, err = s.addEventTx(ctx, tx, e); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE tickets SET updated_at = ? WHERE id = ?`, ms(e.CreatedAt), e.TicketID); err != nil {
			return err
		}
		var link data.OutboxItem
		var conv, visitor sql.NullString
		if err := tx.QueryRowContext(ctx, `SELECT site_id, conversation_id, visitor_id FROM tickets WHERE id = ?`, e.TicketID).Scan(&link.SiteID, &conv, &visitor); err != nil {
			return err
		}
		link.TicketID, link.ConversationID, link.VisitorID = e.TicketID, conv.String, visitor.String
		return s.enqueueTx(ctx, tx, linkOutbox(outbox, link))
	})
	if err != nil {
		return data.TicketEvent{}, fmt.Errorf("sqlstore: add ticket event: %w", err)
	}
	return e, nil
}

func (s *Store) addEventTx(ctx context.Context, tx *txn, e data.TicketEvent) (data.TicketEvent, error) {
	var one int
	if err := tx.QueryRowContext(ctx, `SELECT 1 FROM tickets WHERE id = ?`+tx.d.forUpdate, e.TicketID).Scan(&one); errors.Is(err, sql.ErrNoRows) {
		return e, data.ErrNotFound
	}
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) + 1 FROM ticket_events WHERE ticket_id = ?`, e.TicketID).Scan(&e.Seq); err != nil {
		return e, err
	}
	body, err := s.sealString(e.Body, ticketAAD(e.TicketID, fmt.Sprintf("event:%d", e.Seq)))
	if err != nil {
		return e, err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO ticket_events (ticket_id, seq, kind, author_id, body, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		e.TicketID, e.Seq, e.Kind, e.AuthorID, body, ms(e.CreatedAt))
	return e, err
}

// TicketEvents returns a ticket's history in order.
func (s *Store) TicketEvents(ctx context.Context, ticketID string) ([]data.TicketEvent, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT ticket_id, seq, kind, author_id, body, created_at FROM ticket_events WHERE ticket_id = ? ORDER BY seq`, ticketID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: ticket events: %w", err)
	}
	defer rows.Close()
	var out []data.TicketEvent
	for rows.Next() {
		var (
			e       data.TicketEvent
			body    []byte
			created int64
		)
		if err := rows.Scan(&e.TicketID, &e.Seq, &e.Kind, &e.AuthorID, &body, &created); err != nil {
			return nil, fmt.Errorf("sqlstore: ticket events: %w", err)
		}
		if e.Body, err = s.openString(body, ticketAAD(e.TicketID, fmt.Sprintf("event:%d", e.Seq))); err != nil {
			return nil, fmt.Errorf("sqlstore: ticket events: %w", err)
		}
		e.CreatedAt = fromMS(created)
		out = append(out, e)
	}
	return out, rows.Err()
}

// --- canned responses ---

// UpsertCanned creates or replaces a canned response (by id, or by shortcut for a new one).
func (s *Store) UpsertCanned(ctx context.Context, c data.CannedResponse) (data.CannedResponse, error) {
	c.Shortcut = strings.TrimPrefix(strings.TrimSpace(c.Shortcut), "/")
	if c.Shortcut == "" || len(c.Shortcut) > 32 || strings.ContainsAny(c.Shortcut, " \t\n/") || strings.TrimSpace(c.Body) == "" || len(c.Body) > data.MaxTextBytes {
		return data.CannedResponse{}, fmt.Errorf("sqlstore: canned response: shortcut (1-32 chars, no spaces) and body are required: %w", data.ErrInvalid)
	}
	if c.ID == "" {
		c.ID = data.NewID("cr_")
	}
	if c.Title == "" {
		c.Title = c.Shortcut
	}
	err := s.submit(ctx, func(ctx context.Context, tx *txn) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO canned_responses (id, shortcut, title, body, created_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET shortcut = excluded.shortcut, title = excluded.title, body = excluded.body`,
			c.ID, c.Shortcut, c.Title, c.Body, ms(now()))
		if isUniqueViolation(err) {
			return fmt.Errorf("shortcut /%s is taken: %w", c.Shortcut, data.ErrConflict)
		}
		return err
	})
	if err != nil {
		return data.CannedResponse{}, fmt.Errorf("sqlstore: canned response: %w", err)
	}
	return c, nil
}

// ListCanned returns canned responses by shortcut.
func (s *Store) ListCanned(ctx context.Context) ([]data.CannedResponse, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, shortcut, title, body FROM canned_responses ORDER BY shortcut`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list canned: %w", err)
	}
	defer rows.Close()
	out := []data.CannedResponse{}
	for rows.Next() {
		var c data.CannedResponse
		if err := rows.Scan(&c.ID, &c.Shortcut, &c.Title, &c.Body); err != nil {
			return nil, fmt.Errorf("sqlstore: list canned: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// DeleteCanned removes a canned response.
func (s *Store) DeleteCanned(ctx context.Context, id string) error {
	if err := s.changeOne(ctx, `DELETE FROM canned_responses WHERE id = ?`, id); err != nil {
		return fmt.Errorf("sqlstore: delete canned %s: %w", id, err)
	}
	return nil
}

// --- outbox ---

func outboxAAD(id string) []byte { return []byte("outbox:" + id) }

// linkOutbox fills the links an item leaves empty with those of the ticket
// it is written with, so erasure and retention reach it.
func linkOutbox(items []data.OutboxItem, link data.OutboxItem) []data.OutboxItem {
	out := make([]data.OutboxItem, len(items))
	for i, it := range items {
		for _, f := range []struct {
			dst *string
			src string
		}{{&it.SiteID, link.SiteID}, {&it.VisitorID, link.VisitorID},
			{&it.ConversationID, link.ConversationID}, {&it.TicketID, link.TicketID}} {
			if *f.dst == "" {
				*f.dst = f.src
			}
		}
		out[i] = it
	}
	return out
}

func (s *Store) enqueueTx(ctx context.Context, tx *txn, items []data.OutboxItem) error {
	for _, it := range items {
		if it.ID == "" {
			it.ID = data.NewID("o_")
		}
		if it.Kind == "" || !json.Valid(it.Payload) {
			return fmt.Errorf("outbox item needs a kind and a JSON payload: %w", data.ErrInvalid)
		}
		if it.CreatedAt.IsZero() {
			it.CreatedAt = now()
		}
		if it.NextAttemptAt.IsZero() {
			it.NextAttemptAt = it.CreatedAt
		}
		payload, err := s.sealer.Seal(it.Payload, outboxAAD(it.ID))
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO outbox (id, kind, payload, next_attempt_at, created_at, site_id, visitor_id, conversation_id, ticket_id)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, it.ID, it.Kind, payload, ms(it.NextAttemptAt), ms(it.CreatedAt),
			nullable(it.SiteID), nullable(it.VisitorID), nullable(it.ConversationID), nullable(it.TicketID)); err != nil {
			return err
		}
	}
	return nil
}

// EnqueueOutbox stores outbox items on their own.
func (s *Store) EnqueueOutbox(ctx context.Context, items ...data.OutboxItem) error {
	if err := s.submit(ctx, func(ctx context.Context, tx *txn) error { return s.enqueueTx(ctx, tx, items) }); err != nil {
		return fmt.Errorf("sqlstore: enqueue outbox: %w", err)
	}
	return nil
}

// ClaimOutbox leases due items to the caller.
func (s *Store) ClaimOutbox(ctx context.Context, at time.Time, lease time.Duration, limit int, kinds ...string) ([]data.OutboxItem, error) {
	var out []data.OutboxItem
	where, args := "", []any{ms(at), ms(at)}
	if len(kinds) > 0 {
		where = " AND kind IN (?" + strings.Repeat(", ?", len(kinds)-1) + ")"
		for _, k := range kinds {
			args = append(args, k)
		}
	}
	args = append(args, limit)
	err := s.submit(ctx, func(ctx context.Context, tx *txn) error {
		out = out[:0]
		rows, err := tx.QueryContext(ctx, `SELECT id, kind, payload, attempts, next_attempt_at, last_error, created_at FROM outbox
			WHERE done_at IS NULL AND next_attempt_at <= ? AND claimed_until <= ?`+where+` ORDER BY next_attempt_at LIMIT ?`+tx.d.skipLocked, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var (
				it            data.OutboxItem
				payload       []byte
				next, created int64
			)
			if err := rows.Scan(&it.ID, &it.Kind, &payload, &it.Attempts, &next, &it.LastError, &created); err != nil {
				rows.Close()
				return err
			}
			if it.Payload, err = s.sealer.Open(payload, outboxAAD(it.ID)); err != nil {
				rows.Close()
				return err
			}
			it.NextAttemptAt, it.CreatedAt = fromMS(next), fromMS(created)
			out = append(out, it)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, it := range out {
			if _, err := tx.ExecContext(ctx, `UPDATE outbox SET claimed_until = ?, attempts = attempts + 1 WHERE id = ?`, ms(at.Add(lease)), it.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: claim outbox: %w", err)
	}
	for i := range out {
		out[i].Attempts++
	}
	return out, nil
}

// ListOutbox returns the newest items of a kind, delivered or not.
func (s *Store) ListOutbox(ctx context.Context, kind string, limit int) ([]data.OutboxItem, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := s.read.QueryContext(ctx, `SELECT id, kind, payload, attempts, next_attempt_at, last_error, created_at, done_at,
		COALESCE(site_id, ''), COALESCE(visitor_id, ''), COALESCE(conversation_id, ''), COALESCE(ticket_id, '') FROM outbox
		WHERE kind = ? ORDER BY created_at DESC, id DESC LIMIT ?`, kind, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list outbox: %w", err)
	}
	defer rows.Close()
	var out []data.OutboxItem
	for rows.Next() {
		var (
			it            data.OutboxItem
			payload       []byte
			next, created int64
			done          sql.NullInt64
		)
		if err := rows.Scan(&it.ID, &it.Kind, &payload, &it.Attempts, &next, &it.LastError, &created, &done,
			&it.SiteID, &it.VisitorID, &it.ConversationID, &it.TicketID); err != nil {
			return nil, fmt.Errorf("sqlstore: list outbox: %w", err)
		}
		if it.Payload, err = s.sealer.Open(payload, outboxAAD(it.ID)); err != nil {
			return nil, fmt.Errorf("sqlstore: list outbox: %w", err)
		}
		it.NextAttemptAt, it.CreatedAt, it.DoneAt = fromMS(next), fromMS(created), optTime(done)
		out = append(out, it)
	}
	return out, rows.Err()
}

// CompleteOutbox marks an item delivered.
func (s *Store) CompleteOutbox(ctx context.Context, id string, at time.Time) error {
	return s.outboxUpdate(ctx, `UPDATE outbox SET done_at = ?, claimed_until = 0 WHERE id = ?`, ms(at), id)
}

// RetryOutbox records a failed attempt and when to try again. The error is
// stored masked: an SMTP error can name the recipient's address.
func (s *Store) RetryOutbox(ctx context.Context, id, lastError string, next time.Time) error {
	lastError = mask.Redact(lastError)
	if len(lastError) > 1000 {
		lastError = strings.ToValidUTF8(lastError[:1000], "")
	}
	return s.outboxUpdate(ctx, `UPDATE outbox SET last_error = ?, next_attempt_at = ?, claimed_until = 0 WHERE id = ?`, lastError, ms(next), id)
}

func (s *Store) outboxUpdate(ctx context.Context, q string, args ...any) error {
	if err := s.changeOne(ctx, q, args...); err != nil {
		return fmt.Errorf("sqlstore: outbox: %w", err)
	}
	return nil
}

// changeOne runs one UPDATE or DELETE through the writer and answers
// data.ErrNotFound when it changed no row.
func (s *Store) changeOne(ctx context.Context, q string, args ...any) error {
	return s.submit(ctx, func(ctx context.Context, tx *txn) error {
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return data.ErrNotFound
		}
		return nil
	})
}
