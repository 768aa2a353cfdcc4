package realtime

import (
	"context"
	"encoding/json"
	"hash/fnv"
	"log/slog"
	"sync"

	"github.com/frontdesk/frontdesk/data"
	"github.com/frontdesk/frontdesk/data/pubsub"
)

// subscriber is a local connection that receives a topic's events.
type subscriber interface {
	deliver(ev *data.Event)
}

// closer is a connection the hub closes on shutdown.
type closer interface {
	shutdown()
}

const shardCount = 32

type topicSubs struct {
	cancel func()
	subs   map[subscriber]struct{}
}

type shard struct {
	mu     sync.RWMutex
	topics map[string]*topicSubs
}

// Hub fans broker events out to the connections on this node. It subscribes
// to a broker topic while at least one local connection watches it.
type Hub struct {
	broker pubsub.Broker
	log    *slog.Logger
	shards [shardCount]shard

	mu     sync.Mutex
	conns  map[closer]struct{}
	closed bool
	wg     sync.WaitGroup

	ctx    context.Context
	cancel context.CancelFunc

	// writeBuffers is shared by every connection: a buffer is held only
	// while a frame is being written, not for the connection's lifetime.
	writeBuffers *sync.Pool
}

// NewHub returns a hub reading events from broker.
func NewHub(broker pubsub.Broker, log *slog.Logger) *Hub {
	h := &Hub{broker: broker, log: log, conns: make(map[closer]struct{}), writeBuffers: &sync.Pool{}}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	for i := range h.shards {
		h.shards[i].topics = make(map[string]*topicSubs)
	}
	return h
}

// AccountChanged tells every node that an agent's account was changed: the
// agent's open sockets, which hold the account as it was, close.
func (h *Hub) AccountChanged(ctx context.Context, agentID string) {
	pubsub.NewPublisher(h.broker, h.log).Event(ctx, data.AgentTopic(agentID), data.Event{Type: data.EventAccount, AgentID: agentID})
}

func (h *Hub) shard(topic string) *shard {
	f := fnv.New32a()
	f.Write([]byte(topic))
	return &h.shards[f.Sum32()%shardCount]
}

// join makes s receive topic's events.
func (h *Hub) join(topic string, s subscriber) error {
	sh := h.shard(topic)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	ts := sh.topics[topic]
	if ts == nil {
		ts = &topicSubs{subs: make(map[subscriber]struct{})}
		var (
			cancel func()
			err    error
		)
		if eb, ok := h.broker.(pubsub.EventBroker); ok {
			cancel, err = eb.SubscribeEvents(topic, h.dispatchEvent)
		} else {
			cancel, err = h.broker.Subscribe(topic, h.dispatch)
		}
		if err != nil {
			return err
		}
		ts.cancel = cancel
		sh.topics[topic] = ts
	}
	ts.subs[s] = struct{}{}
	return nil
}

// leave stops s receiving topic's events.
func (h *Hub) leave(topic string, s subscriber) {
	sh := h.shard(topic)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	ts := sh.topics[topic]
	if ts == nil {
		return
	}
	delete(ts.subs, s)
	if len(ts.subs) == 0 {
		ts.cancel()
		delete(sh.topics, topic)
	}
}

// dispatch decodes an event once and hands it to every local subscriber.
func (h *Hub) dispatch(topic string, payload []byte) {
	var ev data.Event
	if err := json.Unmarshal(payload, &ev); err != nil {
		h.log.Warn("bad event on broker", slog.String("topic", topic), slog.Any("err", err))
		return
	}
	h.dispatchEvent(topic, &ev)
}

// dispatchEvent hands ev to every local subscriber of topic; they share it
// and only read it.
func (h *Hub) dispatchEvent(topic string, ev *data.Event) {
	sh := h.shard(topic)
	sh.mu.RLock()
	ts := sh.topics[topic]
	var subs []subscriber
	if ts != nil {
		subs = make([]subscriber, 0, len(ts.subs))
		for s := range ts.subs {
			subs = append(subs, s)
		}
	}
	sh.mu.RUnlock()
	for _, s := range subs {
		s.deliver(ev)
	}
}

// register tracks a live connection; it fails once the hub is closing.
func (h *Hub) register(c closer) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.conns[c] = struct{}{}
	h.wg.Add(1)
	return true
}

func (h *Hub) unregister(c closer) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.conns[c]; ok {
		delete(h.conns, c)
		h.wg.Done()
	}
}

// Connections returns the number of live connections on this node.
func (h *Hub) Connections() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.conns)
}

// Close sends every connection a "going away" close frame, closes it, and
// waits until all connection goroutines have ended or ctx expires.
func (h *Hub) Close(ctx context.Context) error {
	h.mu.Lock()
	h.closed = true
	conns := make([]closer, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	h.cancel()
	for _, c := range conns {
		c.shutdown()
	}
	done := make(chan struct{})
	go func() { h.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
