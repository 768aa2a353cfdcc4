// Package ratelimit limits how often a key (an IP address, an e-mail) may do
// something: in memory on one node, or in Redis so that every node of a
// scaled-out installation shares the count.
//
// It imports the standard library and go-redis.
package ratelimit

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Limiter allows at most n events per window for each key.
type Limiter interface {
	// Allow records one event for key; when it is over the limit it returns
	// false and how long until the key may try again.
	Allow(ctx context.Context, key string) (bool, time.Duration)
}

// Redis is a fixed-window counter shared through Redis.
type Redis struct {
	client *redis.Client
	prefix string
	n      int
	window time.Duration
	now    func() time.Time
}

var _ Limiter = (*Redis)(nil)

// NewRedis connects to url and allows n events per window and key; keys are
// stored under prefix.
func NewRedis(ctx context.Context, url, prefix string, n int, window time.Duration) (*Redis, error) {
	if n < 1 || window <= 0 {
		return nil, fmt.Errorf("ratelimit: n must be >= 1 and the window positive")
	}
	o, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("ratelimit: url: %w", err)
	}
	c := redis.NewClient(o)
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("ratelimit: ping: %w", err)
	}
	return &Redis{client: c, prefix: prefix, n: n, window: window, now: time.Now}, nil
}

// Close releases the connection.
func (r *Redis) Close() error { return r.client.Close() }

// Allow counts the event in the current window. When Redis cannot be reached
// the event is allowed: a limiter outage must not lock everyone out.
func (r *Redis) Allow(ctx context.Context, key string) (bool, time.Duration) {
	now := r.now()
	slot := now.UnixNano() / int64(r.window)
	k := r.prefix + key + ":" + strconv.FormatInt(slot, 10)
	pipe := r.client.TxPipeline()
	incr := pipe.Incr(ctx, k)
	pipe.PExpire(ctx, k, r.window+time.Second)
	if _, err := pipe.Exec(ctx); err != nil {
		return true, 0
	}
	if incr.Val() <= int64(r.n) {
		return true, 0
	}
	end := time.Unix(0, (slot+1)*int64(r.window))
	return false, end.Sub(now)
}

// Factory makes Redis limiters that share one connection.
type Factory struct {
	client *redis.Client
	prefix string
}

// NewFactory connects to url; limiters it makes keep their counts under prefix.
func NewFactory(ctx context.Context, url, prefix string) (*Factory, error) {
	o, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("ratelimit: url: %w", err)
	}
	c := redis.NewClient(o)
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("ratelimit: ping: %w", err)
	}
	return &Factory{client: c, prefix: prefix}, nil
}

// Limiter returns the limiter called name: n events per window and key.
func (f *Factory) Limiter(name string, n int, window time.Duration) Limiter {
	if n < 1 {
		n = 1
	}
	if window <= 0 {
		window = time.Minute
	}
	return &Redis{client: f.client, prefix: f.prefix + name + ":", n: n, window: window, now: time.Now}
}

// Close releases the connection.
func (f *Factory) Close() error { return f.client.Close() }

// Once returns a store of keys that may each be used once until a time (for
// example identity token ids), shared by every node.
func (f *Factory) Once() *Once {
	return &Once{client: f.client, prefix: f.prefix + "once:", now: time.Now}
}

// Once remembers keys in Redis until their time passes.
type Once struct {
	client *redis.Client
	prefix string
	now    func() time.Time
}

// Use records key until the given time and reports whether this was its first use.
func (o *Once) Use(ctx context.Context, key string, until time.Time) (bool, error) {
	ttl := until.Sub(o.now())
	if ttl <= 0 {
		return true, nil
	}
	ok, err := o.client.SetNX(ctx, o.prefix+key, 1, ttl).Result()
	if err != nil {
		return false, fmt.Errorf("ratelimit: once: %w", err)
	}
	return ok, nil
}
