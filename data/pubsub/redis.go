package pubsub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Recoverer returns, for a topic, payloads that bring its subscribers up to
// date (for a conversation: its newest message, which makes sockets fill
// any gap from the store by seq). The Redis broker calls it for every
// subscribed topic after it has reconnected and resubscribed, because
// publications made while the subscription was down are gone.
type Recoverer func(ctx context.Context, topic string) [][]byte

// RedisOption configures a Redis broker.
type RedisOption func(*Redis)

// WithPrefix sets the prefix of every Redis channel name (default
// "frontdesk:"): nodes of one installation share it; tests use their own.
func WithPrefix(p string) RedisOption { return func(r *Redis) { r.prefix = p } }

// WithLogger sets the logger for connection losses and recoveries.
func WithLogger(l *slog.Logger) RedisOption { return func(r *Redis) { r.log = l } }

// WithRecoverer sets what the broker replays locally after a reconnect.
func WithRecoverer(f Recoverer) RedisOption { return func(r *Redis) { r.recoverer = f } }

// subscribeWait bounds how long Subscribe waits for Redis to confirm.
const subscribeWait = 5 * time.Second

// Redis is a broker on Redis pub/sub, shared by every node of an
// installation. Delivery is at most once, like Memory's; after losing its
// connection it reconnects, resubscribes its topics and asks its Recoverer
// for each topic's current state, so subscribers recover what they missed.
type Redis struct {
	client    *redis.Client
	ps        *redis.PubSub
	prefix    string
	log       *slog.Logger
	recoverer Recoverer

	mu     sync.Mutex
	topics map[string]*redisTopic
	next   uint64
	closed bool
	lost   atomic.Bool // the subscription connection is down

	// inbox hands received messages, in order, to the goroutine that runs
	// the handlers, so that a handler blocked on a lock held by a caller of
	// Subscribe never stops the confirmation that caller waits for.
	inbox chan *redis.Message

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

type redisTopic struct {
	handlers map[uint64]Handler
	ready    chan struct{} // closed when Redis confirms the subscription
}

var _ Broker = (*Redis)(nil)

// NewRedis connects to the Redis server at url (redis://[:password@]host:port/db
// or rediss://...) and starts receiving.
func NewRedis(ctx context.Context, url string, opts ...RedisOption) (*Redis, error) {
	o, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("pubsub: redis url: %w", err)
	}
	client := redis.NewClient(o)
	if err := client.Ping(ctx).Err(); err != nil {
		client.Close()
		return nil, fmt.Errorf("pubsub: connect to redis: %w", err)
	}
	r := &Redis{
		client: client,
		prefix: "frontdesk:",
		log:    slog.New(slog.DiscardHandler),
		topics: map[string]*redisTopic{},
		inbox:  make(chan *redis.Message, 8192),
		done:   make(chan struct{}),
	}
	for _, opt := range opts {
		opt(r)
	}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	r.ps = client.Subscribe(r.ctx)
	go r.receive()
	go r.deliver()
	return r, nil
}

// Publish sends payload to the topic's subscribers on every node.
func (r *Redis) Publish(ctx context.Context, topic string, payload []byte) error {
	r.mu.Lock()
	closed := r.closed
	r.mu.Unlock()
	if closed {
		return ErrClosed
	}
	if err := r.client.Publish(ctx, r.prefix+topic, payload).Err(); err != nil {
		return fmt.Errorf("pubsub: publish %s: %w", topic, err)
	}
	return nil
}

// Subscribe registers h for topic and, for a topic new to this node, waits
// (a few seconds at most) until Redis confirms the subscription, so that
// whatever the caller reads from the store afterwards cannot miss a
// publication. While Redis is down it returns at once; the subscription
// is made when the connection comes back.
func (r *Redis) Subscribe(topic string, h Handler) (func(), error) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, ErrClosed
	}
	r.next++
	id := r.next
	t := r.topics[topic]
	fresh := t == nil
	if fresh {
		t = &redisTopic{handlers: map[uint64]Handler{}, ready: make(chan struct{})}
		r.topics[topic] = t
	}
	t.handlers[id] = h
	r.mu.Unlock()
	if !fresh {
		return r.canceller(topic, id), nil
	}
	if err := r.ps.Subscribe(r.ctx, r.prefix+topic); err != nil || r.lost.Load() {
		// go-redis remembers the channel and subscribes on reconnect.
		r.log.Warn("redis subscribe deferred until reconnect", slog.String("topic", topic), slog.Any("err", err))
		return r.canceller(topic, id), nil
	}
	timer := time.NewTimer(subscribeWait)
	defer timer.Stop()
	select {
	case <-t.ready:
	case <-timer.C:
		r.log.Warn("redis did not confirm a subscription in time", slog.String("topic", topic))
	case <-r.ctx.Done():
	}
	return r.canceller(topic, id), nil
}

func (r *Redis) canceller(topic string, id uint64) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			r.mu.Lock()
			t := r.topics[topic]
			if t == nil {
				r.mu.Unlock()
				return
			}
			delete(t.handlers, id)
			last := len(t.handlers) == 0
			if last {
				delete(r.topics, topic)
			}
			closed := r.closed
			r.mu.Unlock()
			if last && !closed {
				if err := r.ps.Unsubscribe(r.ctx, r.prefix+topic); err != nil {
					r.log.Debug("redis unsubscribe", slog.String("topic", topic), slog.Any("err", err))
				}
			}
		})
	}
}

// Close stops delivery and closes the connections.
func (r *Redis) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	r.topics = map[string]*redisTopic{}
	r.mu.Unlock()
	r.cancel()
	err := r.ps.Close()
	<-r.done
	return errors.Join(err, r.client.Close())
}

// receive reads the subscription connection until Close. go-redis
// reconnects and resubscribes on the next read after a failure; once Redis
// has confirmed every channel again, the broker runs recovery.
func (r *Redis) receive() {
	defer close(r.inbox)
	backoff := 50 * time.Millisecond
	for {
		msg, err := r.ps.ReceiveTimeout(r.ctx, 30*time.Second)
		if r.ctx.Err() != nil {
			return
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				_ = r.ps.Ping(r.ctx) // keeps an idle connection checked
				continue
			}
			if !r.lost.Swap(true) {
				r.log.Warn("redis subscription lost; reconnecting", slog.Any("err", err))
			}
			select {
			case <-time.After(backoff):
			case <-r.ctx.Done():
				return
			}
			backoff = min(2*backoff, 2*time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		switch m := msg.(type) {
		case *redis.Message:
			select {
			case r.inbox <- m:
			case <-r.ctx.Done():
				return
			}
		case *redis.Subscription:
			if m.Kind != "subscribe" {
				continue
			}
			wanted := r.confirm(m.Channel)
			if r.lost.Load() && m.Count >= wanted {
				r.lost.Store(false)
				r.log.Info("redis subscription restored", slog.Int("topics", wanted))
				go r.recoverAll()
			}
		}
	}
}

// confirm marks channel's subscription live and returns how many topics the
// broker holds.
func (r *Redis) confirm(channel string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	topic, ok := strings.CutPrefix(channel, r.prefix)
	if t := r.topics[topic]; ok && t != nil {
		select {
		case <-t.ready:
		default:
			close(t.ready)
		}
	}
	return len(r.topics)
}

func (r *Redis) handlers(topic string) []Handler {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.topics[topic]
	if t == nil {
		return nil
	}
	hs := make([]Handler, 0, len(t.handlers))
	for _, h := range t.handlers {
		hs = append(hs, h)
	}
	return hs
}

// deliver runs the handlers of received messages, in arrival order.
func (r *Redis) deliver() {
	defer close(r.done)
	for m := range r.inbox {
		topic, ok := strings.CutPrefix(m.Channel, r.prefix)
		if !ok {
			continue
		}
		payload := []byte(m.Payload)
		for _, h := range r.handlers(topic) {
			h(topic, payload)
		}
	}
}

// recoverAll hands every subscribed topic's recovery payloads to its local
// subscribers.
func (r *Redis) recoverAll() {
	if r.recoverer == nil {
		return
	}
	r.mu.Lock()
	topics := make([]string, 0, len(r.topics))
	for topic := range r.topics {
		topics = append(topics, topic)
	}
	r.mu.Unlock()
	for _, topic := range topics {
		if r.ctx.Err() != nil {
			return
		}
		ctx, cancel := context.WithTimeout(r.ctx, 10*time.Second)
		payloads := r.recoverer(ctx, topic)
		cancel()
		for _, p := range payloads {
			for _, h := range r.handlers(topic) {
				h(topic, p)
			}
		}
	}
}
