package sqlstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/frontdesk/frontdesk/data"
)

// --- sites ---

// EnsureSite creates s unless a site with its key exists, and returns the stored site.
func (s *Store) EnsureSite(ctx context.Context, site data.Site) (data.Site, error) {
	if site.Key == "" || site.Name == "" {
		return data.Site{}, fmt.Errorf("sqlstore: ensure site: key and name are required: %w", data.ErrInvalid)
	}
	if site.ID == "" {
		site.ID = data.NewID("s_")
	}
	if site.CreatedAt.IsZero() {
		site.CreatedAt = now()
	}
	if site.AllowedOrigins == nil {
		site.AllowedOrigins = []string{}
	}
	origins, err := json.Marshal(site.AllowedOrigins)
	if err != nil {
		return data.Site{}, fmt.Errorf("sqlstore: ensure site: %w", err)
	}
	err = s.submit(ctx, func(ctx context.Context, tx *txn) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sites (id, key, name, allowed_origins, created_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (key) DO NOTHING`, site.ID, site.Key, site.Name, string(origins), ms(site.CreatedAt))
		return err
	})
	if err != nil {
		return data.Site{}, fmt.Errorf("sqlstore: ensure site: %w", err)
	}
	return s.SiteByKey(ctx, site.Key)
}

const siteColumns = `id, key, name, allowed_origins, settings, created_at, identity_keys`

func (s *Store) scanSite(row *sql.Row) (data.Site, error) {
	var (
		site     data.Site
		origins  string
		settings string
		created  int64
		idKeys   []byte
	)
	if err := row.Scan(&site.ID, &site.Key, &site.Name, &origins, &settings, &created, &idKeys); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return data.Site{}, data.ErrNotFound
		}
		return data.Site{}, err
	}
	if err := json.Unmarshal([]byte(origins), &site.AllowedOrigins); err != nil {
		return data.Site{}, fmt.Errorf("allowed_origins: %w", err)
	}
	if err := json.Unmarshal([]byte(settings), &site.Settings); err != nil {
		return data.Site{}, fmt.Errorf("settings: %w", err)
	}
	if err := s.openWebhookSecrets(site.ID, &site.Settings); err != nil {
		return data.Site{}, err
	}
	site.CreatedAt = fromMS(created)
	keys, err := s.openIdentityKeys(site.ID, idKeys)
	if err != nil {
		return data.Site{}, err
	}
	site.IdentityKeys = keys
	return site, nil
}

// SiteByKey returns the site with the given public key.
func (s *Store) SiteByKey(ctx context.Context, key string) (data.Site, error) {
	site, err := s.scanSite(s.read.QueryRowContext(ctx, `SELECT `+siteColumns+` FROM sites WHERE key = ?`, key))
	if err != nil {
		return data.Site{}, fmt.Errorf("sqlstore: site by key: %w", err)
	}
	return site, nil
}

// GetSite returns a site by id.
func (s *Store) GetSite(ctx context.Context, id string) (data.Site, error) {
	site, err := s.scanSite(s.read.QueryRowContext(ctx, `SELECT `+siteColumns+` FROM sites WHERE id = ?`, id))
	if err != nil {
		return data.Site{}, fmt.Errorf("sqlstore: get site %s: %w", id, err)
	}
	return site, nil
}

// UpdateSiteSettings replaces a site's settings.
func (s *Store) UpdateSiteSettings(ctx context.Context, siteID string, st data.SiteSettings) (data.Site, error) {
	st, err := s.sealWebhookSecrets(siteID, st)
	if err != nil {
		return data.Site{}, fmt.Errorf("sqlstore: site settings: %w", err)
	}
	b, err := json.Marshal(st)
	if err != nil {
		return data.Site{}, fmt.Errorf("sqlstore: site settings: %w", err)
	}
	if err := s.changeOne(ctx, `UPDATE sites SET settings = ? WHERE id = ?`, string(b), siteID); err != nil {
		return data.Site{}, fmt.Errorf("sqlstore: site settings %s: %w", siteID, err)
	}
	return s.GetSite(ctx, siteID)
}

// SetSiteOrigins replaces the origins whose pages may embed a site's widget.
func (s *Store) SetSiteOrigins(ctx context.Context, siteID string, origins []string) (data.Site, error) {
	if origins == nil {
		origins = []string{}
	}
	b, err := json.Marshal(origins)
	if err != nil {
		return data.Site{}, fmt.Errorf("sqlstore: site origins: %w", err)
	}
	if err := s.changeOne(ctx, `UPDATE sites SET allowed_origins = ? WHERE id = ?`, string(b), siteID); err != nil {
		return data.Site{}, fmt.Errorf("sqlstore: site origins %s: %w", siteID, err)
	}
	return s.GetSite(ctx, siteID)
}

// sealedPrefix marks a sealed secret inside a JSON settings document.
const sealedPrefix = "sealed:"

func webhookAAD(siteID string) []byte { return []byte("site:" + siteID + ":webhook-secret") }

// sealWebhookSecrets returns settings whose webhook secrets are sealed, so
// the settings column holds no usable secret.
func (s *Store) sealWebhookSecrets(siteID string, st data.SiteSettings) (data.SiteSettings, error) {
	hooks := make([]data.Webhook, len(st.Webhooks))
	for i, h := range st.Webhooks {
		if h.Secret != "" && !strings.HasPrefix(h.Secret, sealedPrefix) {
			b, err := s.sealer.Seal([]byte(h.Secret), webhookAAD(siteID))
			if err != nil {
				return st, err
			}
			h.Secret = sealedPrefix + base64.StdEncoding.EncodeToString(b)
		}
		hooks[i] = h
	}
	st.Webhooks = hooks
	return st, nil
}

// openWebhookSecrets opens sealed webhook secrets in place.
func (s *Store) openWebhookSecrets(siteID string, st *data.SiteSettings) error {
	for i, h := range st.Webhooks {
		if !strings.HasPrefix(h.Secret, sealedPrefix) {
			continue
		}
		b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(h.Secret, sealedPrefix))
		if err != nil {
			return fmt.Errorf("webhook %s secret: %w", h.ID, err)
		}
		pt, err := s.sealer.Open(b, webhookAAD(siteID))
		if err != nil {
			return fmt.Errorf("webhook %s secret: %w", h.ID, err)
		}
		st.Webhooks[i].Secret = string(pt)
	}
	return nil
}

// --- visitors ---

func visitorAAD(id string) []byte { return []byte("visitor:" + id) }

// CreateVisitor stores a new visitor with its personal fields sealed.
func (s *Store) CreateVisitor(ctx context.Context, v data.Visitor) error {
	if v.ID == "" || v.SiteID == "" {
		return fmt.Errorf("sqlstore: create visitor: id and site are required: %w", data.ErrInvalid)
	}
	if v.CreatedAt.IsZero() {
		v.CreatedAt = now()
	}
	if v.LastSeenAt.IsZero() {
		v.LastSeenAt = v.CreatedAt
	}
	var personal []byte
	if v.Personal != (data.Personal{}) {
		pt, err := json.Marshal(v.Personal)
		if err != nil {
			return fmt.Errorf("sqlstore: create visitor: %w", err)
		}
		if personal, err = s.sealer.Seal(pt, visitorAAD(v.ID)); err != nil {
			return fmt.Errorf("sqlstore: create visitor: %w", err)
		}
	}
	err := s.submit(ctx, func(ctx context.Context, tx *txn) error {
		external, email := s.personalIndexes(v.SiteID, v.Personal)
		_, err := tx.ExecContext(ctx, `INSERT INTO visitors (id, site_id, personal, created_at, last_seen_at, external_index, email_index) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			v.ID, v.SiteID, personal, ms(v.CreatedAt), ms(v.LastSeenAt), external, email)
		switch {
		case isUniqueViolation(err):
			return data.ErrConflict
		case isFKViolation(err):
			return data.ErrNotFound
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: create visitor %s: %w", v.ID, err)
	}
	return nil
}

// GetVisitor returns a visitor by id with personal fields opened.
func (s *Store) GetVisitor(ctx context.Context, id string) (data.Visitor, error) {
	var (
		v              data.Visitor
		personal       []byte
		created, lastS int64
	)
	err := s.read.QueryRowContext(ctx, `SELECT id, site_id, personal, created_at, last_seen_at FROM visitors WHERE id = ?`, id).
		Scan(&v.ID, &v.SiteID, &personal, &created, &lastS)
	if errors.Is(err, sql.ErrNoRows) {
		return data.Visitor{}, fmt.Errorf("sqlstore: get visitor %s: %w", id, data.ErrNotFound)
	}
	if err != nil {
		return data.Visitor{}, fmt.Errorf("sqlstore: get visitor %s: %w", id, err)
	}
	if len(personal) > 0 {
		pt, err := s.sealer.Open(personal, visitorAAD(v.ID))
		if err != nil {
			return data.Visitor{}, fmt.Errorf("sqlstore: get visitor %s: %w", id, err)
		}
		if err := json.Unmarshal(pt, &v.Personal); err != nil {
			return data.Visitor{}, fmt.Errorf("sqlstore: get visitor %s: personal: %w", id, err)
		}
	}
	v.CreatedAt, v.LastSeenAt = fromMS(created), fromMS(lastS)
	return v, nil
}

// TouchVisitor records that the visitor was seen at t.
func (s *Store) TouchVisitor(ctx context.Context, id string, t time.Time) error {
	err := s.submit(ctx, func(ctx context.Context, tx *txn) error {
		res, err := tx.ExecContext(ctx, `UPDATE visitors SET last_seen_at = ? WHERE id = ? AND last_seen_at < ?`, ms(t), id, ms(t))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var one int
			if err := tx.QueryRowContext(ctx, `SELECT 1 FROM visitors WHERE id = ?`, id).Scan(&one); errors.Is(err, sql.ErrNoRows) {
				return data.ErrNotFound
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlstore: touch visitor %s: %w", id, err)
	}
	return nil
}

// UpdateVisitorPersonal replaces a visitor's personal fields (sealed).
func (s *Store) UpdateVisitorPersonal(ctx context.Context, id string, p data.Personal) error {
	pt, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("sqlstore: visitor personal: %w", err)
	}
	sealed, err := s.sealer.Seal(pt, visitorAAD(id))
	if err != nil {
		return fmt.Errorf("sqlstore: visitor personal: %w", err)
	}
	err = s.submit(ctx, func(ctx context.Context, tx *txn) error {
		var siteID string
		if err := tx.QueryRowContext(ctx, `SELECT site_id FROM visitors WHERE id = ?`, id).Scan(&siteID); err != nil {
			return notFound(err)
		}
		external, email := s.personalIndexes(siteID, p)
		_, err := tx.ExecContext(ctx, `UPDATE visitors SET personal = ?, external_index = ?, email_index = ? WHERE id = ?`, sealed, external, email, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: visitor personal %s: %w", id, err)
	}
	return nil
}

// RecordEvent stores a visitor event with its properties sealed; the name,
// kept in clear, must match [a-z0-9_.:-]{1,64}.
func (s *Store) RecordEvent(ctx context.Context, e data.VisitorEvent) error {
	if e.SiteID == "" || e.VisitorID == "" || !data.ValidEventName(e.Name) || len(e.Props) > 4096 || (len(e.Props) > 0 && !json.Valid(e.Props)) {
		return fmt.Errorf("sqlstore: record event: site, visitor and a name of 1-64 characters of a-z 0-9 _ . : - are required, props at most 4 KiB of JSON: %w", data.ErrInvalid)
	}
	if e.ID == "" {
		e.ID = data.NewID("e_")
	}
	if e.CreatedAt.IsZero() {
		e.CreatedAt = now()
	}
	var props []byte
	if len(e.Props) > 0 {
		var err error
		if props, err = s.sealer.Seal(e.Props, []byte("event:"+e.ID)); err != nil {
			return fmt.Errorf("sqlstore: record event: %w", err)
		}
	}
	err := s.submit(ctx, func(ctx context.Context, tx *txn) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO visitor_events (id, site_id, visitor_id, conversation_id, name, props, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			e.ID, e.SiteID, e.VisitorID, e.ConversationID, e.Name, props, ms(e.CreatedAt))
		if isFKViolation(err) {
			return data.ErrNotFound
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: record event: %w", err)
	}
	return nil
}

// CountEvents counts a site's events by name in [since, until).
func (s *Store) CountEvents(ctx context.Context, siteID string, since, until time.Time) (map[string]int, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT name, COUNT(*) FROM visitor_events WHERE site_id = ? AND created_at >= ? AND created_at < ? GROUP BY name`, siteID, ms(since), ms(until))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: count events: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var (
			name string
			n    int
		)
		if err := rows.Scan(&name, &n); err != nil {
			return nil, fmt.Errorf("sqlstore: count events: %w", err)
		}
		out[name] = n
	}
	return out, rows.Err()
}

// LatestEvent returns the visitor's most recent event with this name.
func (s *Store) LatestEvent(ctx context.Context, visitorID, name string) (data.VisitorEvent, error) {
	var (
		e       data.VisitorEvent
		props   []byte
		created int64
	)
	err := s.read.QueryRowContext(ctx, `SELECT id, site_id, visitor_id, conversation_id, name, props, created_at FROM visitor_events
		WHERE visitor_id = ? AND name = ? ORDER BY created_at DESC, id DESC LIMIT 1`, visitorID, name).
		Scan(&e.ID, &e.SiteID, &e.VisitorID, &e.ConversationID, &e.Name, &props, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return data.VisitorEvent{}, fmt.Errorf("sqlstore: latest event: %w", data.ErrNotFound)
	}
	if err != nil {
		return data.VisitorEvent{}, fmt.Errorf("sqlstore: latest event: %w", err)
	}
	if len(props) > 0 {
		if e.Props, err = s.sealer.Open(props, []byte("event:"+e.ID)); err != nil {
			return data.VisitorEvent{}, fmt.Errorf("sqlstore: latest event: %w", err)
		}
	}
	e.CreatedAt = fromMS(created)
	return e, nil
}

// --- conversations ---

// conversationColumns is what scanConversation reads, lastSeq being the
// dialect's expression of the last seq (dialect.convColumns).
func conversationColumns(lastSeq string) string {
	return `id, site_id, visitor_id, channel, status, skill_group, assigned_agent, priority, ` + lastSeq +
		`, handoff_reason, created_at, updated_at, closed_at, queued_at, assigned_at, first_response_at, rating, first_queued_at`
}

type scanner interface{ Scan(dest ...any) error }

func optTime(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMS(v.Int64)
	return &t
}

func scanConversation(row scanner) (data.Conversation, error) {
	var (
		c                data.Conversation
		status           string
		created, updated int64
		closed           sql.NullInt64
		queued, assigned sql.NullInt64
		firstResponse    sql.NullInt64
		firstQueued      sql.NullInt64
	)
	err := row.Scan(&c.ID, &c.SiteID, &c.VisitorID, &c.Channel, &status, &c.SkillGroup, &c.AssignedAgent,
		&c.Priority, &c.LastSeq, &c.HandoffReason, &created, &updated, &closed, &queued, &assigned, &firstResponse, &c.Rating, &firstQueued)
	if errors.Is(err, sql.ErrNoRows) {
		return data.Conversation{}, data.ErrNotFound
	}
	if err != nil {
		return data.Conversation{}, err
	}
	c.Status = data.Status(status)
	c.CreatedAt, c.UpdatedAt = fromMS(created), fromMS(updated)
	c.ClosedAt, c.QueuedAt, c.AssignedAt, c.FirstResponseAt = optTime(closed), optTime(queued), optTime(assigned), optTime(firstResponse)
	c.FirstQueuedAt = optTime(firstQueued)
	return c, nil
}

// CreateConversation stores a new conversation in status bot.
func (s *Store) CreateConversation(ctx context.Context, c data.Conversation) (data.Conversation, error) {
	if c.SiteID == "" || c.VisitorID == "" {
		return data.Conversation{}, fmt.Errorf("sqlstore: create conversation: site and visitor are required: %w", data.ErrInvalid)
	}
	if c.ID == "" {
		c.ID = data.NewID("c_")
	}
	if c.Channel == "" {
		c.Channel = "web"
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = now()
	}
	c.UpdatedAt, c.Status, c.LastSeq, c.ClosedAt = c.CreatedAt, data.StatusBot, 0, nil
	err := s.submit(ctx, func(ctx context.Context, tx *txn) error {
		var visitorSite string
		err := tx.QueryRowContext(ctx, `SELECT site_id FROM visitors WHERE id = ?`, c.VisitorID).Scan(&visitorSite)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && visitorSite != c.SiteID) {
			return data.ErrNotFound
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO conversations (id, site_id, visitor_id, channel, status, priority, created_at, updated_at, client_ids)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, '')`, c.ID, c.SiteID, c.VisitorID, c.Channel, string(c.Status), c.Priority, ms(c.CreatedAt), ms(c.UpdatedAt))
		switch {
		case isUniqueViolation(err):
			return data.ErrConflict
		case isFKViolation(err):
			return data.ErrNotFound
		}
		return err
	})
	if err != nil {
		return data.Conversation{}, fmt.Errorf("sqlstore: create conversation: %w", err)
	}
	return c, nil
}

// GetConversation returns a conversation by id.
func (s *Store) GetConversation(ctx context.Context, id string) (data.Conversation, error) {
	c, err := scanConversation(s.read.QueryRowContext(ctx, `SELECT `+s.d.convColumns+` FROM conversations WHERE id = ?`, id))
	if err != nil {
		return data.Conversation{}, fmt.Errorf("sqlstore: get conversation %s: %w", id, err)
	}
	return c, nil
}

// LatestConversation returns the visitor's most recent conversation.
func (s *Store) LatestConversation(ctx context.Context, visitorID string) (data.Conversation, error) {
	c, err := scanConversation(s.read.QueryRowContext(ctx, `SELECT `+s.d.convColumns+` FROM conversations
		WHERE visitor_id = ? ORDER BY created_at DESC, id DESC LIMIT 1`, visitorID))
	if err != nil {
		return data.Conversation{}, fmt.Errorf("sqlstore: latest conversation of %s: %w", visitorID, err)
	}
	return c, nil
}

// Transition changes a conversation's status and appends the system message
// that tells the transcript about it, in one transaction.
func (s *Store) Transition(ctx context.Context, t data.Transition) (data.Conversation, data.Message, error) {
	if !t.From.Valid() || !t.To.Valid() || t.ConversationID == "" {
		return data.Conversation{}, data.Message{}, fmt.Errorf("sqlstore: transition: %w", data.ErrInvalid)
	}
	if t.At.IsZero() {
		t.At = now()
	}
	var (
		conv data.Conversation
		msg  data.Message
	)
	if t.To == data.StatusAssigned && t.AssignedAgent == "" {
		return data.Conversation{}, data.Message{}, fmt.Errorf("sqlstore: transition to assigned needs an agent: %w", data.ErrInvalid)
	}
	err := s.submit(ctx, func(ctx context.Context, tx *txn) error {
		at := ms(t.At)
		if t.To == data.StatusAssigned && t.Capacity > 0 {
			// Two nodes assigning to one agent at once must not both see
			// room: the lock makes the second count after the first commits.
			if err := tx.lock(ctx, "agent:"+t.AssignedAgent); err != nil {
				return err
			}
			var load int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM conversations WHERE assigned_agent = ? AND status = 'assigned' AND id <> ?`,
				t.AssignedAgent, t.ConversationID).Scan(&load); err != nil {
				return err
			}
			if load >= t.Capacity {
				return fmt.Errorf("agent %s is at capacity %d: %w", t.AssignedAgent, t.Capacity, data.ErrConflict)
			}
		}
		var closedAt, queuedAt, assignedAt any
		var idleBefore int64 // 0: no idleness required
		if !t.IdleBefore.IsZero() {
			idleBefore = ms(t.IdleBefore)
		}
		if t.To == data.StatusClosed {
			closedAt = at
		}
		if t.To == data.StatusQueued {
			queuedAt = at
		}
		if t.To == data.StatusAssigned {
			assignedAt = at
		}
		agent := ""
		if t.To == data.StatusAssigned {
			agent = t.AssignedAgent
		}
		res, err := tx.ExecContext(ctx, `UPDATE conversations SET status = ?,
			skill_group = CASE WHEN ? <> '' THEN ? ELSE skill_group END,
			handoff_reason = CASE WHEN ? <> '' THEN ? ELSE handoff_reason END,
			priority = CASE WHEN ? <> 0 THEN ? ELSE priority END,
			assigned_agent = ?, updated_at = ?,
			closed_at = CASE WHEN ? = 'closed' THEN CAST(? AS BIGINT) ELSE NULL END,
			queued_at = CASE WHEN ? = 'queued' AND status <> 'queued' THEN ? ELSE queued_at END,
			first_queued_at = CASE WHEN ? = 'queued' AND first_queued_at IS NULL THEN ? ELSE first_queued_at END,
			assigned_at = CASE WHEN ? = 'assigned' AND status <> 'assigned' THEN ? ELSE assigned_at END,
			rating = CASE WHEN ? = 'closed' THEN rating ELSE 0 END
			WHERE id = ? AND status = ? AND (? = '' OR skill_group = ?) AND (? = '' OR assigned_agent = ?) AND (CAST(? AS BIGINT) = 0 OR updated_at < CAST(? AS BIGINT))`,
			string(t.To), t.SkillGroup, t.SkillGroup, t.HandoffReason, t.HandoffReason, t.Priority, t.Priority,
			agent, at, string(t.To), closedAt, string(t.To), queuedAt, string(t.To), queuedAt, string(t.To), assignedAt, string(t.To),
			t.ConversationID, string(t.From), t.FromGroup, t.FromGroup, t.FromAgent, t.FromAgent, idleBefore, idleBefore)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var status string
			if err := tx.QueryRowContext(ctx, `SELECT status FROM conversations WHERE id = ?`, t.ConversationID).Scan(&status); errors.Is(err, sql.ErrNoRows) {
				return data.ErrNotFound
			}
			return data.ErrConflict
		}
		tx.seqs.forget(t.ConversationID) // status and agent changed
		meta, _ := json.Marshal(map[string]string{"event": "status", "from": string(t.From), "to": string(t.To)})
		msg, _, err = s.appendTx(ctx, tx, data.Message{
			ConversationID: t.ConversationID, SenderKind: data.SenderSystem, Kind: data.KindEvent,
			Text: t.Note, Metadata: meta, CreatedAt: t.At,
		})
		if err != nil {
			return err
		}
		conv, err = scanConversation(tx.QueryRowContext(ctx, `SELECT `+tx.d.convColumns+` FROM conversations WHERE id = ?`, t.ConversationID))
		return err
	})
	if err != nil {
		return data.Conversation{}, data.Message{}, fmt.Errorf("sqlstore: transition %s %s->%s: %w", t.ConversationID, t.From, t.To, err)
	}
	return conv, msg, nil
}

// --- messages ---

func messageAAD(conversationID string, seq int64, field string) []byte {
	return []byte("msg:" + conversationID + ":" + strconv.FormatInt(seq, 10) + ":" + field)
}

// AppendMessage commits m with the conversation's next seq (group commit).
func (s *Store) AppendMessage(ctx context.Context, m data.Message) (data.Message, bool, error) {
	if err := m.Validate(); err != nil {
		return data.Message{}, false, fmt.Errorf("sqlstore: append: %w", err)
	}
	if m.CreatedAt.IsZero() {
		m.CreatedAt = now()
	}
	var (
		stored data.Message
		dup    bool
	)
	err := s.submit(ctx, func(ctx context.Context, tx *txn) error {
		var err error
		stored, dup, err = s.appendTx(ctx, tx, m)
		return err
	})
	if err != nil {
		return data.Message{}, false, fmt.Errorf("sqlstore: append to %s: %w", m.ConversationID, err)
	}
	return stored, dup, nil
}

// appendTx appends m inside tx: seq without gaps, and idempotent by
// client_msg_id within the conversation's window of recent client ids
// (clientids.go).
func (s *Store) appendTx(ctx context.Context, tx *txn, m data.Message) (data.Message, bool, error) {
	if tx.seqs != nil {
		return s.appendCached(ctx, tx, m)
	}
	var hash string
	if m.ClientMsgID != "" {
		hash = clientIDHash(m.ClientMsgID)
	}
	check := hash != ""
	var seq int64
	bumped := false
	// Each failed attempt either ends the append or makes the next one
	// different (window filled, check dropped), so four are enough.
	for attempt := 0; attempt < 4 && !bumped; attempt++ {
		args := make([]any, 0, 12)
		responder := "" // the SQL sets first_response_at when this is 'agent'
		if isResponse(m) {
			responder = string(data.SenderAgent)
		}
		args = append(args, ms(m.CreatedAt), responder, ms(m.CreatedAt))
		if hash != "" {
			args = append(args, hash)
		}
		args = append(args, m.ConversationID)
		if check {
			args = append(args, hash)
		}
		if exp := m.Expect; exp != nil {
			args = append(args, string(exp.Status), string(exp.Status), exp.AssignedAgent, exp.AssignedAgent, exp.VisitorID, exp.VisitorID)
		}
		q := tx.d.bump[b2i(hash != "")][b2i(check)][b2i(m.Expect != nil)]
		err := tx.QueryRowContext(ctx, q, args...).Scan(&seq)
		if err == nil {
			bumped = true
			break
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return data.Message{}, false, err
		}
		// Why did the update not apply: no such conversation, no window
		// yet, a retry, or not as the caller expected?
		var (
			window                   sql.NullString
			status, agent, visitorID string
		)
		err = tx.QueryRowContext(ctx, `SELECT client_ids, status, assigned_agent, visitor_id FROM conversations WHERE id = ?`+tx.d.forUpdate,
			m.ConversationID).Scan(&window, &status, &agent, &visitorID)
		if errors.Is(err, sql.ErrNoRows) {
			return data.Message{}, false, data.ErrNotFound
		}
		if err != nil {
			return data.Message{}, false, err
		}
		if hash != "" && !window.Valid {
			if err := s.fillWindow(ctx, tx, m.ConversationID); err != nil {
				return data.Message{}, false, err
			}
			continue
		}
		if check && windowHas(window.String, hash) {
			existing, found, err := s.storedRetry(ctx, tx, m)
			if found || err != nil {
				return existing, found, err
			}
			check = false // another id with the same hash: this one is new
			continue
		}
		if unexpected(m.Expect, status, agent, visitorID) {
			return data.Message{}, false, data.ErrStale
		}
		// The hash matched the window across two entries: not a retry.
		check = false
	}
	if !bumped {
		return data.Message{}, false, fmt.Errorf("conversation %s changed during the append", m.ConversationID)
	}
	m.Seq = seq
	if err := s.insertMessage(ctx, tx, m); err != nil {
		return data.Message{}, false, err
	}
	m.Expect, m.Attachment = nil, nil
	return m, false, nil
}

// storedRetry returns the stored message of m's conversation with m's
// client id, and whether there is one (m is a retry).
func (s *Store) storedRetry(ctx context.Context, tx *txn, m data.Message) (data.Message, bool, error) {
	existing, err := s.scanMessage(tx.QueryRowContext(ctx, `SELECT `+messageColumns+` FROM messages
		WHERE conversation_id = ? AND client_msg_id = ?`, m.ConversationID, m.ClientMsgID))
	if errors.Is(err, data.ErrNotFound) {
		return data.Message{}, false, nil
	}
	if err != nil {
		return data.Message{}, false, err
	}
	return existing, true, nil
}

// unexpected reports whether a conversation with status, agent and
// visitorID is not as exp expects (nil expects nothing).
func unexpected(exp *data.Expectation, status, agent, visitorID string) bool {
	return exp != nil && ((exp.Status != "" && string(exp.Status) != status) ||
		(exp.AssignedAgent != "" && exp.AssignedAgent != agent) || (exp.VisitorID != "" && exp.VisitorID != visitorID))
}

// insertMessage seals m's body and metadata (bound to its conversation and
// seq) and inserts it.
func (s *Store) insertMessage(ctx context.Context, tx *txn, m data.Message) error {
	body, err := s.sealer.Seal([]byte(m.Text), messageAAD(m.ConversationID, m.Seq, "body"))
	if err != nil {
		return err
	}
	var meta []byte
	if len(m.Metadata) > 0 {
		if meta, err = s.sealer.Seal(m.Metadata, messageAAD(m.ConversationID, m.Seq, "meta")); err != nil {
			return err
		}
	}
	var clientID any
	if m.ClientMsgID != "" {
		clientID = m.ClientMsgID
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO messages (conversation_id, seq, client_msg_id, sender_kind, sender_id, kind, body, metadata, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.ConversationID, m.Seq, clientID, string(m.SenderKind), m.SenderID, string(m.Kind), body, meta, ms(m.CreatedAt))
	if err != nil || m.Attachment == nil {
		return err
	}
	_, err = s.insertFile(ctx, tx, *m.Attachment)
	return err
}

const messageColumns = `conversation_id, seq, client_msg_id, sender_kind, sender_id, kind, body, metadata, created_at`

func (s *Store) scanMessage(row scanner) (data.Message, error) {
	var (
		m          data.Message
		clientID   sql.NullString
		sender     string
		kind       string
		body, meta []byte
		created    int64
	)
	err := row.Scan(&m.ConversationID, &m.Seq, &clientID, &sender, &m.SenderID, &kind, &body, &meta, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return data.Message{}, data.ErrNotFound
	}
	if err != nil {
		return data.Message{}, err
	}
	m.ClientMsgID, m.SenderKind, m.Kind, m.CreatedAt = clientID.String, data.SenderKind(sender), data.MessageKind(kind), fromMS(created)
	text, err := s.sealer.Open(body, messageAAD(m.ConversationID, m.Seq, "body"))
	if err != nil {
		return data.Message{}, fmt.Errorf("message %d: %w", m.Seq, err)
	}
	m.Text = string(text)
	if len(meta) > 0 {
		if m.Metadata, err = s.sealer.Open(meta, messageAAD(m.ConversationID, m.Seq, "meta")); err != nil {
			return data.Message{}, fmt.Errorf("message %d metadata: %w", m.Seq, err)
		}
	}
	return m, nil
}

// ListMessages returns up to limit messages with seq > afterSeq, in order.
func (s *Store) ListMessages(ctx context.Context, conversationID string, afterSeq int64, limit int) ([]data.Message, error) {
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	rows, err := s.read.QueryContext(ctx, `SELECT `+messageColumns+` FROM messages WHERE conversation_id = ? AND seq > ? ORDER BY seq LIMIT ?`,
		conversationID, afterSeq, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list messages of %s: %w", conversationID, err)
	}
	defer rows.Close()
	var out []data.Message
	for rows.Next() {
		m, err := s.scanMessage(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: list messages of %s: %w", conversationID, err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: list messages of %s: %w", conversationID, err)
	}
	if len(out) == 0 {
		if _, err := s.GetConversation(ctx, conversationID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// isResponse reports whether m answers the visitor: an agent's message the
// visitor sees (an internal note or an event does not count).
func isResponse(m data.Message) bool {
	return m.SenderKind == data.SenderAgent && m.Kind != data.KindNote && m.Kind != data.KindEvent
}
