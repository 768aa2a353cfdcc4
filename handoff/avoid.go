package handoff

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Avoidance remembers, for a while, the agent a queued conversation is kept
// away from (the one who transferred it to a group, or who went away from
// it), so that routing does not hand it straight back. Several nodes must
// share one, or another node's routing undoes it.
type Avoidance interface {
	// Avoid keeps conversationID away from agentID for d.
	Avoid(ctx context.Context, conversationID, agentID string, d time.Duration)
	// Avoiding returns, for those of conversationIDs kept away from an
	// agent, that agent.
	Avoiding(ctx context.Context, conversationIDs []string) map[string]string
}

// avoidance is an agent a queued conversation is not routed to, until a time.
type avoidance struct {
	agent string
	until time.Time
}

// MemoryAvoidance is the Avoidance of a single node.
type MemoryAvoidance struct {
	mu    sync.Mutex
	avoid map[string]avoidance
	now   func() time.Time
}

var _ Avoidance = (*MemoryAvoidance)(nil)

// NewMemoryAvoidance returns an empty in-process Avoidance.
func NewMemoryAvoidance() *MemoryAvoidance {
	return &MemoryAvoidance{avoid: map[string]avoidance{}, now: time.Now}
}

// Avoid keeps conversationID away from agentID for d.
func (m *MemoryAvoidance) Avoid(_ context.Context, conversationID, agentID string, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	for id, a := range m.avoid {
		if !now.Before(a.until) {
			delete(m.avoid, id)
		}
	}
	m.avoid[conversationID] = avoidance{agent: agentID, until: now.Add(d)}
}

// Avoiding returns the agents the given conversations are kept away from.
func (m *MemoryAvoidance) Avoiding(_ context.Context, conversationIDs []string) map[string]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	out := map[string]string{}
	for _, id := range conversationIDs {
		if a, ok := m.avoid[id]; ok && now.Before(a.until) {
			out[id] = a.agent
		}
	}
	return out
}

// RedisAvoidance is the Avoidance of several nodes: one Redis key with a TTL
// per conversation (<prefix>avoid:<conversation>). It also remembers its own
// node's entries, and answers from them while Redis cannot.
type RedisAvoidance struct {
	client *redis.Client
	prefix string
	log    *slog.Logger
	local  *MemoryAvoidance
}

var _ Avoidance = (*RedisAvoidance)(nil)

// Avoidance returns an Avoidance shared by the nodes of this presence's
// installation, on its Redis connection and key prefix (so it is usable
// until the presence is closed).
func (p *RedisPresence) Avoidance() *RedisAvoidance {
	return &RedisAvoidance{client: p.client, prefix: p.base + "avoid:", log: p.log, local: NewMemoryAvoidance()}
}

// Avoid keeps conversationID away from agentID for d on every node.
func (r *RedisAvoidance) Avoid(ctx context.Context, conversationID, agentID string, d time.Duration) {
	r.local.Avoid(ctx, conversationID, agentID, d)
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := r.client.Set(ctx, r.prefix+conversationID, agentID, d).Err(); err != nil {
		r.log.Warn("avoidance: set", slog.String("conversation", conversationID), slog.Any("err", err))
	}
}

// Avoiding reads the agents the given conversations are kept away from in
// one round trip; when Redis fails it answers from this node's own entries.
func (r *RedisAvoidance) Avoiding(ctx context.Context, conversationIDs []string) map[string]string {
	if len(conversationIDs) == 0 {
		return map[string]string{}
	}
	keys := make([]string, len(conversationIDs))
	for i, id := range conversationIDs {
		keys[i] = r.prefix + id
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	vals, err := r.client.MGet(ctx, keys...).Result()
	if err != nil {
		r.log.Warn("avoidance: read", slog.Any("err", err))
		return r.local.Avoiding(ctx, conversationIDs)
	}
	out := map[string]string{}
	for i, v := range vals {
		if s, ok := v.(string); ok && s != "" {
			out[conversationIDs[i]] = s
		}
	}
	return out
}
