package pubsub

import (
	"context"
	"errors"
	"sync"
)

// ErrClosed is returned by a closed broker.
var ErrClosed = errors.New("pubsub: broker is closed")

// Handler receives one published payload. It must not block for long and
// must not keep payload after it returns unless it copies it.
type Handler func(topic string, payload []byte)

// Broker publishes payloads on topics to every subscriber of the topic.
type Broker interface {
	// Publish sends payload to the topic's subscribers.
	Publish(ctx context.Context, topic string, payload []byte) error
	// Subscribe calls h for each payload published on topic until the
	// returned cancel function is called.
	Subscribe(topic string, h Handler) (cancel func(), err error)
	// Close stops delivery.
	Close() error
}

// Memory is an in-process broker. Handlers run synchronously in Publish, in
// subscription order.
type Memory struct {
	mu     sync.RWMutex
	subs   map[string]map[uint64]Handler
	next   uint64
	closed bool
}

var _ Broker = (*Memory)(nil)

// NewMemory returns an empty in-process broker.
func NewMemory() *Memory {
	return &Memory{subs: make(map[string]map[uint64]Handler)}
}

// Publish calls every handler subscribed to topic.
func (m *Memory) Publish(ctx context.Context, topic string, payload []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.RLock()
	if m.closed {
		m.mu.RUnlock()
		return ErrClosed
	}
	hs := make([]Handler, 0, len(m.subs[topic]))
	for _, h := range m.subs[topic] {
		hs = append(hs, h)
	}
	m.mu.RUnlock()
	for _, h := range hs {
		h(topic, payload)
	}
	return nil
}

// Subscribe registers h for topic.
func (m *Memory) Subscribe(topic string, h Handler) (func(), error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	m.next++
	id := m.next
	if m.subs[topic] == nil {
		m.subs[topic] = make(map[uint64]Handler)
	}
	m.subs[topic][id] = h
	var once sync.Once
	return func() {
		once.Do(func() {
			m.mu.Lock()
			defer m.mu.Unlock()
			delete(m.subs[topic], id)
			if len(m.subs[topic]) == 0 {
				delete(m.subs, topic)
			}
		})
	}, nil
}

// Close drops all subscriptions; later calls fail with ErrClosed.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	m.subs = map[string]map[uint64]Handler{}
	return nil
}
