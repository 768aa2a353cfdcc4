package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/frontdesk/frontdesk/data"
)

// --- agents ---

func normEmail(e string) string { return strings.ToLower(strings.TrimSpace(e)) }

func validateAgent(a data.Agent) error {
	switch {
	case a.ID == "":
		return fmt.Errorf("agent id is required: %w", data.ErrInvalid)
	case !strings.Contains(a.Email, "@") || len(a.Email) > 254:
		return fmt.Errorf("agent email %q: %w", a.Email, data.ErrInvalid)
	case strings.TrimSpace(a.Name) == "" || len(a.Name) > 100:
		return fmt.Errorf("agent name is required (at most 100 bytes): %w", data.ErrInvalid)
	case !a.Role.Valid():
		return fmt.Errorf("agent role %q: %w", a.Role, data.ErrInvalid)
	case a.Capacity < 0 || a.Capacity > 100:
		return fmt.Errorf("agent capacity %d outside 0-100: %w", a.Capacity, data.ErrInvalid)
	}
	return nil
}

// CreateAgent stores a new agent with its groups.
func (s *Store) CreateAgent(ctx context.Context, a data.Agent) (data.Agent, error) {
	if a.ID == "" {
		a.ID = data.NewID("a_")
	}
	a.Email = normEmail(a.Email)
	if a.CreatedAt.IsZero() {
		a.CreatedAt = now()
	}
	if err := validateAgent(a); err != nil {
		return data.Agent{}, fmt.Errorf("sqlstore: create agent: %w", err)
	}
	if a.PasswordHash == "" {
		return data.Agent{}, fmt.Errorf("sqlstore: create agent: password hash is required: %w", data.ErrInvalid)
	}
	langs, _ := json.Marshal(nonNil(a.Languages))
	err := s.submit(ctx, func(ctx context.Context, tx *txn) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO agents (id, email, name, role, password_hash, capacity, languages, disabled, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, a.ID, a.Email, a.Name, string(a.Role), a.PasswordHash, a.Capacity, string(langs), boolInt(a.Disabled), ms(a.CreatedAt))
		if isUniqueViolation(err) {
			return fmt.Errorf("an agent with this email or id exists: %w", data.ErrConflict)
		}
		if err != nil {
			return err
		}
		return setAgentGroups(ctx, tx, a.ID, a.Groups)
	})
	if err != nil {
		return data.Agent{}, fmt.Errorf("sqlstore: create agent: %w", err)
	}
	return s.GetAgent(ctx, a.ID)
}

func setAgentGroups(ctx context.Context, tx *txn, agentID string, groups []string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM agent_groups WHERE agent_id = ?`, agentID); err != nil {
		return err
	}
	for _, g := range groups {
		_, err := tx.ExecContext(ctx, `INSERT INTO agent_groups (agent_id, group_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, agentID, g)
		if isFKViolation(err) {
			return fmt.Errorf("skill group %q does not exist: %w", g, data.ErrInvalid)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// UpdateAgent replaces an agent's fields; an empty PasswordHash keeps the old
// hash. Disabling the agent or a new hash deletes the agent's sessions.
func (s *Store) UpdateAgent(ctx context.Context, a data.Agent) (data.Agent, error) {
	a.Email = normEmail(a.Email)
	if err := validateAgent(a); err != nil {
		return data.Agent{}, fmt.Errorf("sqlstore: update agent: %w", err)
	}
	langs, _ := json.Marshal(nonNil(a.Languages))
	err := s.submit(ctx, func(ctx context.Context, tx *txn) error {
		res, err := tx.ExecContext(ctx, `UPDATE agents SET email = ?, name = ?, role = ?, capacity = ?, languages = ?, disabled = ?,
			password_hash = CASE WHEN ? <> '' THEN ? ELSE password_hash END WHERE id = ?`,
			a.Email, a.Name, string(a.Role), a.Capacity, string(langs), boolInt(a.Disabled), a.PasswordHash, a.PasswordHash, a.ID)
		if isUniqueViolation(err) {
			return fmt.Errorf("another agent has this email: %w", data.ErrConflict)
		}
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return data.ErrNotFound
		}
		if a.Disabled || a.PasswordHash != "" { // disabled or a new password: signed out everywhere
			if _, err := tx.ExecContext(ctx, `DELETE FROM agent_sessions WHERE agent_id = ?`, a.ID); err != nil {
				return err
			}
		}
		return setAgentGroups(ctx, tx, a.ID, a.Groups)
	})
	if err != nil {
		return data.Agent{}, fmt.Errorf("sqlstore: update agent %s: %w", a.ID, err)
	}
	return s.GetAgent(ctx, a.ID)
}

const agentColumns = `id, email, name, role, password_hash, capacity, languages, disabled, created_at`

func (s *Store) agentWhere(ctx context.Context, where string, arg any) (data.Agent, error) {
	var (
		a       data.Agent
		role    string
		langs   string
		created int64
	)
	err := s.read.QueryRowContext(ctx, `SELECT `+agentColumns+` FROM agents WHERE `+where, arg).
		Scan(&a.ID, &a.Email, &a.Name, &role, &a.PasswordHash, &a.Capacity, &langs, &a.Disabled, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return data.Agent{}, data.ErrNotFound
	}
	if err != nil {
		return data.Agent{}, err
	}
	a.Role, a.CreatedAt = data.Role(role), fromMS(created)
	_ = json.Unmarshal([]byte(langs), &a.Languages)
	groups, err := s.agentGroups(ctx, a.ID)
	if err != nil {
		return data.Agent{}, err
	}
	a.Groups = groups
	return a, nil
}

func (s *Store) agentGroups(ctx context.Context, agentID string) ([]string, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT group_id FROM agent_groups WHERE agent_id = ? ORDER BY group_id`, agentID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	groups := []string{}
	for rows.Next() {
		var g string
		if err := rows.Scan(&g); err != nil {
			return nil, err
		}
		groups = append(groups, g)
	}
	return groups, rows.Err()
}

// GetAgent returns an agent by id.
func (s *Store) GetAgent(ctx context.Context, id string) (data.Agent, error) {
	a, err := s.agentWhere(ctx, `id = ?`, id)
	if err != nil {
		return data.Agent{}, fmt.Errorf("sqlstore: get agent %s: %w", id, err)
	}
	return a, nil
}

// AgentByEmail returns the agent with this email (case-insensitive).
func (s *Store) AgentByEmail(ctx context.Context, email string) (data.Agent, error) {
	a, err := s.agentWhere(ctx, `email = ?`, normEmail(email))
	if err != nil {
		return data.Agent{}, fmt.Errorf("sqlstore: agent by email: %w", err)
	}
	return a, nil
}

// ListAgents returns every agent, by name.
func (s *Store) ListAgents(ctx context.Context) ([]data.Agent, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id FROM agents ORDER BY name, id`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list agents: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("sqlstore: list agents: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	out := make([]data.Agent, 0, len(ids))
	for _, id := range ids {
		a, err := s.GetAgent(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// CreateAgentSession stores a console session.
func (s *Store) CreateAgentSession(ctx context.Context, sess data.AgentSession) error {
	if sess.IDHash == "" || sess.AgentID == "" || sess.CSRFToken == "" || sess.ExpiresAt.IsZero() {
		return fmt.Errorf("sqlstore: create session: %w", data.ErrInvalid)
	}
	if sess.CreatedAt.IsZero() {
		sess.CreatedAt = now()
	}
	err := s.submit(ctx, func(ctx context.Context, tx *txn) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM agent_sessions WHERE expires_at < ?`, ms(sess.CreatedAt)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO agent_sessions (id_hash, agent_id, csrf_token, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
			sess.IDHash, sess.AgentID, sess.CSRFToken, ms(sess.CreatedAt), ms(sess.ExpiresAt))
		if isFKViolation(err) {
			return data.ErrNotFound
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: create session: %w", err)
	}
	return nil
}

// AgentSession returns a session by its token hash.
func (s *Store) AgentSession(ctx context.Context, idHash string) (data.AgentSession, error) {
	var (
		sess             data.AgentSession
		created, expires int64
	)
	err := s.read.QueryRowContext(ctx, `SELECT id_hash, agent_id, csrf_token, created_at, expires_at FROM agent_sessions WHERE id_hash = ?`, idHash).
		Scan(&sess.IDHash, &sess.AgentID, &sess.CSRFToken, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return data.AgentSession{}, fmt.Errorf("sqlstore: session: %w", data.ErrNotFound)
	}
	if err != nil {
		return data.AgentSession{}, fmt.Errorf("sqlstore: session: %w", err)
	}
	sess.CreatedAt, sess.ExpiresAt = fromMS(created), fromMS(expires)
	return sess, nil
}

// DeleteAgentSession ends a session (logout).
func (s *Store) DeleteAgentSession(ctx context.Context, idHash string) error {
	err := s.submit(ctx, func(ctx context.Context, tx *txn) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM agent_sessions WHERE id_hash = ?`, idHash)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: delete session: %w", err)
	}
	return nil
}

// --- skill groups ---

// UpsertGroup creates or replaces a skill group.
func (s *Store) UpsertGroup(ctx context.Context, g data.SkillGroup) (data.SkillGroup, error) {
	if g.ID == "" || len(g.ID) > 64 || strings.TrimSpace(g.Name) == "" {
		return data.SkillGroup{}, fmt.Errorf("sqlstore: upsert group: id and name are required: %w", data.ErrInvalid)
	}
	if g.CreatedAt.IsZero() {
		g.CreatedAt = now()
	}
	settings, err := json.Marshal(g.Settings)
	if err != nil {
		return data.SkillGroup{}, fmt.Errorf("sqlstore: upsert group: %w", err)
	}
	err = s.submit(ctx, func(ctx context.Context, tx *txn) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO skill_groups (id, name, settings, created_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, settings = excluded.settings`, g.ID, g.Name, string(settings), ms(g.CreatedAt))
		return err
	})
	if err != nil {
		return data.SkillGroup{}, fmt.Errorf("sqlstore: upsert group: %w", err)
	}
	return s.GetGroup(ctx, g.ID)
}

func scanGroup(row scanner) (data.SkillGroup, error) {
	var (
		g        data.SkillGroup
		settings string
		created  int64
	)
	if err := row.Scan(&g.ID, &g.Name, &settings, &created); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return data.SkillGroup{}, data.ErrNotFound
		}
		return data.SkillGroup{}, err
	}
	g.CreatedAt = fromMS(created)
	if err := json.Unmarshal([]byte(settings), &g.Settings); err != nil {
		return data.SkillGroup{}, fmt.Errorf("group %s settings: %w", g.ID, err)
	}
	return g, nil
}

// GetGroup returns a skill group.
func (s *Store) GetGroup(ctx context.Context, id string) (data.SkillGroup, error) {
	g, err := scanGroup(s.read.QueryRowContext(ctx, `SELECT id, name, settings, created_at FROM skill_groups WHERE id = ?`, id))
	if err != nil {
		return data.SkillGroup{}, fmt.Errorf("sqlstore: get group %s: %w", id, err)
	}
	return g, nil
}

// ListGroups returns every skill group by id.
func (s *Store) ListGroups(ctx context.Context) ([]data.SkillGroup, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, name, settings, created_at FROM skill_groups ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list groups: %w", err)
	}
	defer rows.Close()
	var out []data.SkillGroup
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: list groups: %w", err)
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// --- queues ---

func (s *Store) conversations(ctx context.Context, query string, args ...any) ([]data.Conversation, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+s.d.convColumns+` FROM conversations WHERE `+query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []data.Conversation
	for rows.Next() {
		c, err := scanConversation(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// IdleConversations lists open conversations with no activity since before
// (updated_at: bumped by messages at most once a second, and by transitions).
func (s *Store) IdleConversations(ctx context.Context, before time.Time, limit int) ([]data.Conversation, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	out, err := s.conversations(ctx, `status IN ('bot', 'queued', 'assigned') AND updated_at < ? ORDER BY updated_at, id LIMIT ?`, ms(before), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: idle conversations: %w", err)
	}
	return out, nil
}

// QueuedConversations lists queued conversations, highest priority first, then longest waiting.
func (s *Store) QueuedConversations(ctx context.Context, groupID string) ([]data.Conversation, error) {
	out, err := s.conversations(ctx, `status = 'queued' AND (? = '' OR skill_group = ?) ORDER BY priority DESC, queued_at, id`, groupID, groupID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: queue %s: %w", groupID, err)
	}
	return out, nil
}

// AgentConversations lists the conversations assigned to an agent, oldest first.
func (s *Store) AgentConversations(ctx context.Context, agentID string) ([]data.Conversation, error) {
	out, err := s.conversations(ctx, `status = 'assigned' AND assigned_agent = ? ORDER BY assigned_at, id`, agentID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: conversations of agent %s: %w", agentID, err)
	}
	return out, nil
}

// ConversationsBetween lists the conversations created in [from, to), oldest first.
func (s *Store) ConversationsBetween(ctx context.Context, from, to time.Time) ([]data.Conversation, error) {
	out, err := s.conversations(ctx, `created_at >= ? AND created_at < ? ORDER BY created_at, id`, ms(from), ms(to))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: conversations between: %w", err)
	}
	return out, nil
}

// VisitorConversations lists a visitor's conversations, newest first.
func (s *Store) VisitorConversations(ctx context.Context, visitorID string, limit int) ([]data.Conversation, error) {
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	out, err := s.conversations(ctx, `visitor_id = ? ORDER BY created_at DESC, id DESC LIMIT ?`, visitorID, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: conversations of visitor %s: %w", visitorID, err)
	}
	return out, nil
}

// AgentLoads counts assigned conversations per agent.
func (s *Store) AgentLoads(ctx context.Context) (map[string]int, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT assigned_agent, COUNT(*) FROM conversations WHERE status = 'assigned' GROUP BY assigned_agent`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: agent loads: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var (
			id string
			n  int
		)
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("sqlstore: agent loads: %w", err)
		}
		out[id] = n
	}
	return out, rows.Err()
}

// RecentWaits returns the queue waits of the group's most recently assigned conversations.
func (s *Store) RecentWaits(ctx context.Context, groupID string, limit int) ([]time.Duration, error) {
	if limit <= 0 || limit > 1000 {
		limit = 50
	}
	rows, err := s.read.QueryContext(ctx, `SELECT assigned_at - queued_at FROM conversations
		WHERE skill_group = ? AND assigned_at IS NOT NULL AND queued_at IS NOT NULL AND assigned_at >= queued_at
		ORDER BY assigned_at DESC LIMIT ?`, groupID, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: recent waits: %w", err)
	}
	defer rows.Close()
	var out []time.Duration
	for rows.Next() {
		var d int64
		if err := rows.Scan(&d); err != nil {
			return nil, fmt.Errorf("sqlstore: recent waits: %w", err)
		}
		out = append(out, time.Duration(d)*time.Millisecond)
	}
	return out, rows.Err()
}

// RateConversation records the visitor's rating of a closed conversation, once.
func (s *Store) RateConversation(ctx context.Context, conversationID string, score int, comment string) (data.Conversation, data.Message, error) {
	if score < 1 || score > 5 || len(comment) > 2000 {
		return data.Conversation{}, data.Message{}, fmt.Errorf("sqlstore: rate: score must be 1-5: %w", data.ErrInvalid)
	}
	var (
		conv data.Conversation
		msg  data.Message
	)
	at := now()
	err := s.submit(ctx, func(ctx context.Context, tx *txn) error {
		var sealed []byte
		if comment != "" {
			var err error
			if sealed, err = s.sealer.Seal([]byte(comment), []byte("rating:"+conversationID)); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, `UPDATE conversations SET rating = ?, rating_comment = ?, updated_at = ?
			WHERE id = ? AND status = 'closed' AND rating = 0`, score, sealed, ms(at), conversationID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var status string
			if err := tx.QueryRowContext(ctx, `SELECT status FROM conversations WHERE id = ?`, conversationID).Scan(&status); errors.Is(err, sql.ErrNoRows) {
				return data.ErrNotFound
			}
			return fmt.Errorf("conversation is not closed or already rated: %w", data.ErrConflict)
		}
		meta, _ := json.Marshal(map[string]any{"event": "rating", "score": score})
		msg, _, err = s.appendTx(ctx, tx, data.Message{ConversationID: conversationID, SenderKind: data.SenderSystem,
			Kind: data.KindEvent, Text: fmt.Sprintf("Visitor rated the conversation %d/5.", score), Metadata: meta, CreatedAt: at})
		if err != nil {
			return err
		}
		conv, err = scanConversation(tx.QueryRowContext(ctx, `SELECT `+tx.d.convColumns+` FROM conversations WHERE id = ?`, conversationID))
		return err
	})
	if err != nil {
		return data.Conversation{}, data.Message{}, fmt.Errorf("sqlstore: rate %s: %w", conversationID, err)
	}
	return conv, msg, nil
}

// boolInt stores a flag as the 0 or 1 of an INTEGER column, the same on
// every database.
func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func nonNil(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}
