// Package redisctx keeps the bot's multi-turn conversation context in Redis
// with a TTL, so every node of a scaled-out installation sees the same
// context. It implements bot.ContextStore.
//
// It may import bot and go-redis; bot does not import it (cmd chooses it).
package redisctx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/frontdesk/frontdesk/bot"
)

// Store is a bot.ContextStore in Redis: one JSON value per conversation under
// prefix+conversationID, expiring after the TTL given to Put.
type Store struct {
	client *redis.Client
	prefix string
}

var _ bot.ContextStore = (*Store)(nil)

// Open connects to url (redis://...) and checks the connection.
func Open(ctx context.Context, url, prefix string) (*Store, error) {
	o, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redisctx: url: %w", err)
	}
	c := redis.NewClient(o)
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("redisctx: ping: %w", err)
	}
	return &Store{client: c, prefix: prefix}, nil
}

// Close releases the connection.
func (s *Store) Close() error { return s.client.Close() }

// Get returns a conversation's context; ok is false when there is none or it expired.
func (s *Store) Get(ctx context.Context, conversationID string) (bot.State, bool, error) {
	b, err := s.client.Get(ctx, s.prefix+conversationID).Bytes()
	if errors.Is(err, redis.Nil) {
		return bot.State{}, false, nil
	}
	if err != nil {
		return bot.State{}, false, fmt.Errorf("redisctx: get: %w", err)
	}
	var st bot.State
	if err := json.Unmarshal(b, &st); err != nil {
		return bot.State{}, false, fmt.Errorf("redisctx: decode: %w", err)
	}
	return st, true, nil
}

// Put stores a conversation's context for ttl.
func (s *Store) Put(ctx context.Context, conversationID string, st bot.State, ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("redisctx: put: ttl must be positive")
	}
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("redisctx: encode: %w", err)
	}
	if err := s.client.Set(ctx, s.prefix+conversationID, b, ttl).Err(); err != nil {
		return fmt.Errorf("redisctx: put: %w", err)
	}
	return nil
}

// Delete forgets a conversation's context.
func (s *Store) Delete(ctx context.Context, conversationID string) error {
	if err := s.client.Del(ctx, s.prefix+conversationID).Err(); err != nil {
		return fmt.Errorf("redisctx: delete: %w", err)
	}
	return nil
}
