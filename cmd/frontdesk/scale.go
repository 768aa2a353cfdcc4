package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/frontdesk/frontdesk/data"
	"github.com/frontdesk/frontdesk/data/pubsub"
	"github.com/frontdesk/frontdesk/data/seal"
	"github.com/frontdesk/frontdesk/data/sqlstore"
	"github.com/frontdesk/frontdesk/handoff"
)

// The backends of a scaled-out installation: PostgreSQL instead of the
// SQLite file and Redis instead of the in-process broker and presence,
// chosen by --database-url and --redis-url. Everything else is the same.

// openBackendStore opens PostgreSQL when a database URL is configured and
// the SQLite file in the data directory otherwise.
func openBackendStore(ctx context.Context, cfg *serverConfig, sealer seal.Sealer) (*sqlstore.Store, error) {
	if cfg.DatabaseURL != "" {
		s, err := sqlstore.OpenPostgres(ctx, cfg.DatabaseURL, sealer, sqlstore.Options{})
		if err != nil {
			return nil, fmt.Errorf("%w (database %s)", err, maskURL(cfg.DatabaseURL))
		}
		return s, nil
	}
	return sqlstore.OpenSQLite(ctx, filepath.Join(cfg.DataDir, "frontdesk.db"), sealer, sqlstore.Options{Synchronous: cfg.SQLiteSync})
}

// loadSessionKey returns the key that signs visitor tokens: --session-key
// (every node of an installation must share it) or the data directory's
// key file, created on first use.
func loadSessionKey(cfg *serverConfig) ([]byte, error) {
	if cfg.SessionKey != "" {
		k, err := seal.ParseKey(cfg.SessionKey)
		if err != nil {
			return nil, fmt.Errorf("--session-key: %w", err)
		}
		return k, nil
	}
	return seal.LoadOrCreateKeyFile(filepath.Join(cfg.DataDir, "keys", "session.key"))
}

// newPresence returns agents' presence, and where routing remembers whom a
// transferred conversation avoids, shared through Redis when --redis-url
// is set, else this node's own; run keeps presence up to date until its
// context ends.
func newPresence(ctx context.Context, cfg *serverConfig, log *slog.Logger, onChange func(agentID string, st handoff.Status)) (handoff.Presence, handoff.Avoidance, func(context.Context) error, error) {
	if cfg.RedisURL == "" {
		return handoff.NewMemoryPresence(cfg.PresenceGrace, onChange), handoff.NewMemoryAvoidance(), func(ctx context.Context) error { <-ctx.Done(); return nil }, nil
	}
	host, _ := os.Hostname()
	p, err := handoff.NewRedisPresence(ctx, cfg.RedisURL, cfg.PresenceGrace, onChange, handoff.RedisPresenceOptions{
		NodeID: fmt.Sprintf("%s-%d-%s", host, os.Getpid(), data.NewID("")), Log: log, Prefix: cfg.RedisPrefix,
	})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w (redis %s)", err, maskURL(cfg.RedisURL))
	}
	return p, p.Avoidance(), func(ctx context.Context) error {
		defer p.Close()
		return p.Run(ctx)
	}, nil
}

// recoveryStore is what the broker's recovery reads.
type recoveryStore interface {
	GetConversation(ctx context.Context, id string) (data.Conversation, error)
	LatestConversation(ctx context.Context, visitorID string) (data.Conversation, error)
	ListMessages(ctx context.Context, conversationID string, afterSeq int64, limit int) ([]data.Message, error)
	AgentConversations(ctx context.Context, agentID string) ([]data.Conversation, error)
	QueuedConversations(ctx context.Context, groupID string) ([]data.Conversation, error)
}

// openBroker returns the Redis broker when --redis-url is set, else the
// in-process one.
func openBroker(ctx context.Context, cfg *serverConfig, store recoveryStore, log *slog.Logger) (pubsub.Broker, error) {
	if cfg.RedisURL == "" {
		return pubsub.NewMemory(), nil
	}
	// The Redis client's own messages (connection losses, retries) go to
	// the server's log, in its format and through its masking, not to stderr.
	redis.SetLogger(redisLogger{log: log.With(slog.String("component", "redis"))})
	b, err := pubsub.NewRedis(ctx, cfg.RedisURL, pubsub.WithPrefix(cfg.RedisPrefix), pubsub.WithLogger(log), pubsub.WithRecoverer(recoverer(store, log)))
	if err != nil {
		return nil, fmt.Errorf("%w (redis %s)", err, maskURL(cfg.RedisURL))
	}
	log.Info("events between nodes go through redis", slog.String("redis", maskURL(cfg.RedisURL)))
	return b, nil
}

// recoverer rebuilds, from the store, the events a topic's subscribers need
// after publications were lost while Redis was unreachable: sockets treat a
// conversation's newest message as a sign of any gap before it and fill the
// gap from the store by seq, and state events replace older state.
func recoverer(store recoveryStore, log *slog.Logger) pubsub.Recoverer {
	return func(ctx context.Context, topic string) [][]byte {
		evs, err := recoveryEvents(ctx, store, topic)
		if err != nil {
			log.Warn("recover topic", slog.String("topic", topic), slog.Any("err", err))
		}
		out := make([][]byte, 0, len(evs))
		for _, ev := range evs {
			if b, err := json.Marshal(ev); err == nil {
				out = append(out, b)
			}
		}
		return out
	}
}

func recoveryEvents(ctx context.Context, store recoveryStore, topic string) ([]data.Event, error) {
	kind, id, _ := strings.Cut(topic, ".")
	switch kind {
	case "conv":
		conv, err := store.GetConversation(ctx, id)
		if err != nil {
			return nil, err
		}
		evs := []data.Event{{Type: data.EventConversation, Conversation: &conv}}
		// The newest message, and the newest one visitors see (notes are
		// for agents only), so both kinds of socket notice a gap.
		msgs, err := store.ListMessages(ctx, id, max(conv.LastSeq-20, 0), 20)
		if err != nil {
			return evs, err
		}
		for i := len(msgs) - 1; i >= 0; i-- {
			if msgs[i].Kind != data.KindNote {
				evs = append(evs, data.Event{Type: data.EventMessage, Message: &msgs[i]})
				break
			}
		}
		if n := len(msgs); n > 0 && msgs[n-1].Kind == data.KindNote {
			evs = append(evs, data.Event{Type: data.EventMessage, Message: &msgs[n-1]})
		}
		return evs, nil
	case "visitor":
		conv, err := store.LatestConversation(ctx, id)
		if err != nil {
			return nil, nil // a visitor without a conversation has nothing to recover
		}
		return []data.Event{{Type: data.EventConversation, Conversation: &conv}}, nil
	case "agent":
		convs, err := store.AgentConversations(ctx, id)
		if err != nil {
			return nil, err
		}
		evs := make([]data.Event, 0, len(convs))
		for i := range convs {
			evs = append(evs, data.Event{Type: data.EventAssigned, Conversation: &convs[i]})
		}
		return evs, nil
	case "queue":
		queue, err := store.QueuedConversations(ctx, id)
		if err != nil {
			return nil, err
		}
		snap := data.Queue{Group: id, Entries: make([]data.QueueEntry, 0, len(queue))}
		for i, c := range queue {
			e := data.QueueEntry{ConversationID: c.ID, VisitorID: c.VisitorID, Group: id, Priority: c.Priority, Reason: c.HandoffReason, Position: i + 1}
			if c.QueuedAt != nil {
				e.QueuedAt = *c.QueuedAt
			}
			snap.Entries = append(snap.Entries, e)
		}
		return []data.Event{{Type: data.EventQueue, Queue: &snap}}, nil
	}
	return nil, nil
}

// redisLogger hands the Redis client's messages to slog as warnings.
type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.WarnContext(ctx, fmt.Sprintf(format, v...))
}
