package sqlstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/frontdesk/frontdesk/data"
)

// ListSites returns every site.
func (s *Store) ListSites(ctx context.Context) ([]data.Site, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT key FROM sites ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list sites: %w", err)
	}
	keys, err := scanStrings(rows)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list sites: %w", err)
	}
	out := make([]data.Site, 0, len(keys))
	for _, k := range keys {
		site, err := s.SiteByKey(ctx, k)
		if err != nil {
			return nil, err
		}
		out = append(out, site)
	}
	return out, nil
}

type rowsScanner interface {
	Next() bool
	Scan(dest ...any) error
	Close() error
	Err() error
}

func scanStrings(rows rowsScanner) ([]string, error) {
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// ExportVisitor collects a visitor's personal fields, conversations with
// their transcripts (without agents' notes), files with their contents and
// rating comments, tickets with their replies and status changes (without
// notes), and events.
func (s *Store) ExportVisitor(ctx context.Context, visitorID string) (data.VisitorExport, error) {
	v, err := s.GetVisitor(ctx, visitorID)
	if err != nil {
		return data.VisitorExport{}, fmt.Errorf("sqlstore: export: %w", err)
	}
	out := data.VisitorExport{Visitor: v, Conversations: []data.ConversationExport{}, Tickets: []data.TicketExport{}, Events: []data.VisitorEvent{}}
	rows, err := s.read.QueryContext(ctx, `SELECT `+s.d.convColumns+` FROM conversations WHERE visitor_id = ? ORDER BY created_at, id`, visitorID)
	if err != nil {
		return data.VisitorExport{}, fmt.Errorf("sqlstore: export: %w", err)
	}
	var convs []data.Conversation
	for rows.Next() {
		c, err := scanConversation(rows)
		if err != nil {
			rows.Close()
			return data.VisitorExport{}, fmt.Errorf("sqlstore: export: %w", err)
		}
		convs = append(convs, c)
	}
	rows.Close()
	for _, c := range convs {
		ce := data.ConversationExport{Conversation: c, Messages: []data.Message{}, Files: []data.FileExport{}}
		var comment []byte
		if err := s.read.QueryRowContext(ctx, `SELECT rating_comment FROM conversations WHERE id = ?`, c.ID).Scan(&comment); err != nil {
			return data.VisitorExport{}, fmt.Errorf("sqlstore: export: %w", err)
		}
		if ce.RatingComment, err = s.openString(comment, []byte("rating:"+c.ID)); err != nil {
			return data.VisitorExport{}, fmt.Errorf("sqlstore: export: rating comment: %w", err)
		}
		for after := int64(0); ; {
			msgs, err := s.ListMessages(ctx, c.ID, after, 1000)
			if err != nil {
				return data.VisitorExport{}, fmt.Errorf("sqlstore: export: %w", err)
			}
			for _, m := range msgs {
				if m.Kind != data.KindNote {
					ce.Messages = append(ce.Messages, m)
				}
				after = m.Seq
			}
			if len(msgs) < 1000 {
				break
			}
		}
		ids, err := scanRowsOf(s.read.QueryContext(ctx, `SELECT id FROM files WHERE conversation_id = ? ORDER BY created_at, id`, c.ID))
		if err != nil {
			return data.VisitorExport{}, fmt.Errorf("sqlstore: export: %w", err)
		}
		for _, id := range ids {
			f, err := s.GetFile(ctx, id)
			if err != nil {
				return data.VisitorExport{}, fmt.Errorf("sqlstore: export: %w", err)
			}
			ce.Files = append(ce.Files, data.FileExport{File: f, Content: f.Content})
		}
		out.Conversations = append(out.Conversations, ce)
	}
	trows, err := s.read.QueryContext(ctx, `SELECT `+ticketColumns+` FROM tickets WHERE visitor_id = ?
		OR conversation_id IN (SELECT id FROM conversations WHERE visitor_id = ?) ORDER BY created_at, id`, visitorID, visitorID)
	if err != nil {
		return data.VisitorExport{}, fmt.Errorf("sqlstore: export: %w", err)
	}
	for trows.Next() {
		t, err := s.scanTicket(trows)
		if err != nil {
			trows.Close()
			return data.VisitorExport{}, fmt.Errorf("sqlstore: export: %w", err)
		}
		out.Tickets = append(out.Tickets, data.TicketExport{Ticket: t, Events: []data.TicketEvent{}})
	}
	trows.Close()
	if err := trows.Err(); err != nil {
		return data.VisitorExport{}, fmt.Errorf("sqlstore: export: %w", err)
	}
	for i, t := range out.Tickets {
		evs, err := s.TicketEvents(ctx, t.ID)
		if err != nil {
			return data.VisitorExport{}, fmt.Errorf("sqlstore: export: %w", err)
		}
		for _, e := range evs {
			if e.Kind != "note" {
				out.Tickets[i].Events = append(out.Tickets[i].Events, e)
			}
		}
	}
	erows, err := s.read.QueryContext(ctx, `SELECT id, site_id, visitor_id, conversation_id, name, props, created_at FROM visitor_events WHERE visitor_id = ? ORDER BY created_at, id`, visitorID)
	if err != nil {
		return data.VisitorExport{}, fmt.Errorf("sqlstore: export: %w", err)
	}
	defer erows.Close()
	for erows.Next() {
		var (
			e       data.VisitorEvent
			props   []byte
			created int64
		)
		if err := erows.Scan(&e.ID, &e.SiteID, &e.VisitorID, &e.ConversationID, &e.Name, &props, &created); err != nil {
			return data.VisitorExport{}, fmt.Errorf("sqlstore: export: %w", err)
		}
		if len(props) > 0 {
			if e.Props, err = s.sealer.Open(props, []byte("event:"+e.ID)); err != nil {
				return data.VisitorExport{}, fmt.Errorf("sqlstore: export: %w", err)
			}
		}
		e.CreatedAt = fromMS(created)
		out.Events = append(out.Events, e)
	}
	return out, erows.Err()
}

func scanRowsOf(rows rowsScanner, err error) ([]string, error) {
	if err != nil {
		return nil, err
	}
	return scanStrings(rows)
}

// deleteConversationsTx deletes conversations (chosen by where, a condition
// on conversations with args) and everything hanging off them.
func deleteConversationsTx(ctx context.Context, tx *txn, where string, args ...any) error {
	tx.seqs.reset() // the messages of some conversations go
	sub := `SELECT id FROM conversations WHERE ` + where
	for _, q := range []string{
		// E-mails and webhook deliveries about them, pending or delivered.
		`DELETE FROM outbox WHERE conversation_id IN (` + sub + `)`,
		`DELETE FROM outbox WHERE ticket_id IN (SELECT id FROM tickets WHERE conversation_id IN (` + sub + `))`,
		`DELETE FROM messages WHERE conversation_id IN (` + sub + `)`,
		`DELETE FROM files WHERE conversation_id IN (` + sub + `)`,
		`DELETE FROM visitor_events WHERE conversation_id IN (` + sub + `)`,
		`DELETE FROM ticket_events WHERE ticket_id IN (SELECT id FROM tickets WHERE conversation_id IN (` + sub + `))`,
		`DELETE FROM tickets WHERE conversation_id IN (` + sub + `)`,
		`DELETE FROM conversations WHERE ` + where,
	} {
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return err
		}
	}
	return nil
}

// FindByEmail opens the personal fields of every visitor of the site and
// the contact of every ticket of the site, and returns those that hold the
// e-mail address. Blind indexes cover verified identities only, so this is
// a scan: one decryption per visitor and ticket of the site, its time
// growing with the site's size; meant for rare erasure requests.
func (s *Store) FindByEmail(ctx context.Context, siteID, email string) (data.EmailMatches, error) {
	var out data.EmailMatches
	want := strings.ToLower(strings.TrimSpace(email))
	if want == "" {
		return out, nil
	}
	same := func(v string) bool { return strings.ToLower(strings.TrimSpace(v)) == want }
	rows, err := s.read.QueryContext(ctx, `SELECT id, personal FROM visitors WHERE site_id = ? AND personal IS NOT NULL ORDER BY created_at, id`, siteID)
	if err != nil {
		return out, fmt.Errorf("sqlstore: find by email: %w", err)
	}
	for rows.Next() {
		var (
			id       string
			personal []byte
			p        data.Personal
		)
		if err := rows.Scan(&id, &personal); err != nil {
			rows.Close()
			return out, fmt.Errorf("sqlstore: find by email: %w", err)
		}
		if len(personal) == 0 {
			continue
		}
		pt, err := s.sealer.Open(personal, visitorAAD(id))
		if err == nil {
			err = json.Unmarshal(pt, &p)
		}
		if err != nil {
			rows.Close()
			return out, fmt.Errorf("sqlstore: find by email: visitor %s: %w", id, err)
		}
		if same(p.Email) {
			out.VisitorIDs = append(out.VisitorIDs, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("sqlstore: find by email: %w", err)
	}
	trows, err := s.read.QueryContext(ctx, `SELECT t.id, COALESCE(t.visitor_id, c.visitor_id, ''), t.contact FROM tickets t
		LEFT JOIN conversations c ON c.id = t.conversation_id WHERE t.site_id = ? ORDER BY t.created_at, t.id`, siteID)
	if err != nil {
		return out, fmt.Errorf("sqlstore: find by email: %w", err)
	}
	defer trows.Close()
	for trows.Next() {
		var (
			ref     data.TicketRef
			contact []byte
			ct      data.Contact
		)
		if err := trows.Scan(&ref.ID, &ref.VisitorID, &contact); err != nil {
			return out, fmt.Errorf("sqlstore: find by email: %w", err)
		}
		if len(contact) == 0 {
			continue
		}
		pt, err := s.sealer.Open(contact, ticketAAD(ref.ID, "contact"))
		if err == nil {
			err = json.Unmarshal(pt, &ct)
		}
		if err != nil {
			return out, fmt.Errorf("sqlstore: find by email: ticket %s: %w", ref.ID, err)
		}
		if same(ct.Email) {
			out.Tickets = append(out.Tickets, ref)
		}
	}
	if err := trows.Err(); err != nil {
		return out, fmt.Errorf("sqlstore: find by email: %w", err)
	}
	return out, nil
}

// EraseTicket deletes a ticket, its history and the outbox items about it
// (pending or delivered) in one transaction.
func (s *Store) EraseTicket(ctx context.Context, ticketID string) error {
	err := s.submit(ctx, func(ctx context.Context, tx *txn) error {
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM tickets WHERE id = ?`, ticketID).Scan(&one); err != nil {
			return notFound(err)
		}
		for _, q := range []string{
			`DELETE FROM outbox WHERE ticket_id = ?`,
			`DELETE FROM ticket_events WHERE ticket_id = ?`,
			`DELETE FROM tickets WHERE id = ?`,
		} {
			if _, err := tx.ExecContext(ctx, q, ticketID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlstore: erase ticket %s: %w", ticketID, err)
	}
	return nil
}

// EraseVisitor deletes the visitor and every copy of their data in one
// transaction: messages, files, events, tickets, conversations, the outbox
// items (e-mails, webhook deliveries) about any of them, pending or
// delivered, and the visitor row with its sealed personal fields and blind
// indexes.
func (s *Store) EraseVisitor(ctx context.Context, visitorID string) error {
	err := s.submit(ctx, func(ctx context.Context, tx *txn) error {
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM visitors WHERE id = ?`, visitorID).Scan(&one); err != nil {
			return notFound(err)
		}
		if err := deleteConversationsTx(ctx, tx, `visitor_id = ?`, visitorID); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM outbox WHERE visitor_id = ?`,
			`DELETE FROM outbox WHERE ticket_id IN (SELECT id FROM tickets WHERE visitor_id = ?)`,
			`DELETE FROM ticket_events WHERE ticket_id IN (SELECT id FROM tickets WHERE visitor_id = ?)`,
			`DELETE FROM tickets WHERE visitor_id = ?`,
			`DELETE FROM visitor_events WHERE visitor_id = ?`,
			`DELETE FROM visitors WHERE id = ?`,
		} {
			if _, err := tx.ExecContext(ctx, q, visitorID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlstore: erase visitor %s: %w", visitorID, err)
	}
	return nil
}

// PurgeBefore deletes a site's conversations not updated since before (at
// most limit per call, so one call never holds the writer long), their
// messages, files, tickets, events and outbox items, older visitor events,
// the site's outbox items delivered before it, and visitors last seen
// before it who have nothing left.
func (s *Store) PurgeBefore(ctx context.Context, siteID string, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		limit = 100
	}
	ids, err := scanRowsOf(s.read.QueryContext(ctx, `SELECT id FROM conversations WHERE site_id = ? AND updated_at < ? ORDER BY updated_at LIMIT ?`,
		siteID, ms(before), limit))
	if err != nil {
		return 0, fmt.Errorf("sqlstore: purge: %w", err)
	}
	n := 0
	err = s.submit(ctx, func(ctx context.Context, tx *txn) error {
		n = 0
		for _, id := range ids {
			// Re-checked inside the transaction: a message since the read
			// keeps it, also one the row does not show yet (seqcache.go).
			if st := tx.seqs.peek(id); st != nil && st.lastAt >= ms(before) {
				continue
			}
			res, err := tx.ExecContext(ctx, `UPDATE conversations SET status = status WHERE id = ? AND updated_at < ?`, id, ms(before))
			if err != nil {
				return err
			}
			if k, _ := res.RowsAffected(); k == 0 {
				continue
			}
			if err := deleteConversationsTx(ctx, tx, `id = ?`, id); err != nil {
				return err
			}
			n++
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM visitor_events WHERE site_id = ? AND created_at < ?`, siteID, ms(before)); err != nil {
			return err
		}
		// Delivered e-mails and webhook deliveries are a delivery log, kept
		// no longer than the conversations they came from.
		if _, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE site_id = ? AND done_at < ?`, siteID, ms(before)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM visitors WHERE site_id = ? AND last_seen_at < ?
			AND NOT EXISTS (SELECT 1 FROM conversations c WHERE c.visitor_id = visitors.id)
			AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.visitor_id = visitors.id)
			AND NOT EXISTS (SELECT 1 FROM visitor_events e WHERE e.visitor_id = visitors.id)`, siteID, ms(before))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlstore: purge %s: %w", siteID, err)
	}
	return n, nil
}

// AppendAudit adds an entry at the end of the hash chain.
func (s *Store) AppendAudit(ctx context.Context, e data.AuditEntry) (data.AuditEntry, error) {
	if e.Action == "" || e.ActorKind == "" {
		return data.AuditEntry{}, fmt.Errorf("sqlstore: audit: action and actor are required: %w", data.ErrInvalid)
	}
	if e.At.IsZero() {
		e.At = now()
	}
	e.At = e.At.UTC().Truncate(time.Millisecond)
	err := s.submit(ctx, func(ctx context.Context, tx *txn) error {
		if err := tx.lock(ctx, "frontdesk.audit"); err != nil {
			return err
		}
		var prevSeq int64
		prev := ""
		err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&prevSeq, &prev)
		if err != nil && !errors.Is(notFound(err), data.ErrNotFound) {
			return err
		}
		e.Seq, e.PrevHash = prevSeq+1, prev
		e.Hash = e.ComputeHash()
		_, err = tx.ExecContext(ctx, `INSERT INTO audit_log (seq, at, actor_kind, actor_id, action, site_id, target, detail, prev_hash, hash)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, e.Seq, ms(e.At), e.ActorKind, e.ActorID, e.Action, e.SiteID, e.Target, e.Detail, e.PrevHash, e.Hash)
		return err
	})
	if err != nil {
		return data.AuditEntry{}, fmt.Errorf("sqlstore: audit: %w", err)
	}
	return e, nil
}

// ListAudit returns up to limit audit entries after seq, in order.
func (s *Store) ListAudit(ctx context.Context, afterSeq int64, limit int) ([]data.AuditEntry, error) {
	if limit <= 0 || limit > 5000 {
		limit = 5000
	}
	rows, err := s.read.QueryContext(ctx, `SELECT seq, at, actor_kind, actor_id, action, site_id, target, detail, prev_hash, hash
		FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?`, afterSeq, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list audit: %w", err)
	}
	defer rows.Close()
	var out []data.AuditEntry
	for rows.Next() {
		var (
			e  data.AuditEntry
			at int64
		)
		if err := rows.Scan(&e.Seq, &at, &e.ActorKind, &e.ActorID, &e.Action, &e.SiteID, &e.Target, &e.Detail, &e.PrevHash, &e.Hash); err != nil {
			return nil, fmt.Errorf("sqlstore: list audit: %w", err)
		}
		e.At = fromMS(at)
		out = append(out, e)
	}
	return out, rows.Err()
}
