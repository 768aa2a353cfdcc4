package pubsub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/frontdesk/frontdesk/data"
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

// EventHandler receives one published event, decoded. Every subscriber of
// a publish shares the same value: handlers must not modify it.
type EventHandler func(topic string, ev *data.Event)

// EventBroker is a broker whose subscribers run in this process: it hands
// them events as values, with no encoding in between. Memory is one.
type EventBroker interface {
	Broker
	// PublishEvent sends ev to the topic's subscribers; ev must not be
	// modified afterwards.
	PublishEvent(ctx context.Context, topic string, ev *data.Event) error
	// SubscribeEvents calls h for each event published on topic (payloads
	// published as bytes are decoded once per publish).
	SubscribeEvents(topic string, h EventHandler) (cancel func(), err error)
}

// Memory is an in-process broker. Handlers run synchronously in Publish, in
// subscription order.
type Memory struct {
	mu     sync.RWMutex
	subs   map[string]map[uint64]memorySub
	next   uint64
	closed bool
}

// memorySub is one subscription: to bytes or to events.
type memorySub struct {
	bytes  Handler
	events EventHandler
}

var _ EventBroker = (*Memory)(nil)

// NewMemory returns an empty in-process broker.
func NewMemory() *Memory {
	return &Memory{subs: make(map[string]map[uint64]memorySub)}
}

// handlers returns topic's subscriptions in a new slice.
func (m *Memory) handlers(topic string) ([]memorySub, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return nil, ErrClosed
	}
	hs := make([]memorySub, 0, len(m.subs[topic]))
	for _, h := range m.subs[topic] {
		hs = append(hs, h)
	}
	return hs, nil
}

// Publish calls every handler subscribed to topic; event subscribers get
// the payload decoded as a data.Event, or nothing if it is not one (and
// Publish then fails after the byte subscribers have it).
func (m *Memory) Publish(ctx context.Context, topic string, payload []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	hs, err := m.handlers(topic)
	if err != nil {
		return err
	}
	var (
		ev     *data.Event
		badErr error
	)
	for _, h := range hs {
		switch {
		case h.bytes != nil:
			h.bytes(topic, payload)
		case badErr != nil:
		default:
			if ev == nil {
				ev = new(data.Event)
				if err := json.Unmarshal(payload, ev); err != nil {
					badErr = fmt.Errorf("pubsub: payload on %s is not an event: %w", topic, err)
					continue
				}
			}
			h.events(topic, ev)
		}
	}
	return badErr
}

// PublishEvent calls every handler subscribed to topic; byte subscribers
// get the event encoded as JSON.
func (m *Memory) PublishEvent(ctx context.Context, topic string, ev *data.Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	hs, err := m.handlers(topic)
	if err != nil {
		return err
	}
	var payload []byte
	for _, h := range hs {
		if h.events != nil {
			h.events(topic, ev)
			continue
		}
		if payload == nil {
			if payload, err = json.Marshal(ev); err != nil {
				return fmt.Errorf("pubsub: encode event: %w", err)
			}
		}
		h.bytes(topic, payload)
	}
	return nil
}

// Subscribe registers h for topic.
func (m *Memory) Subscribe(topic string, h Handler) (func(), error) {
	return m.subscribe(topic, memorySub{bytes: h})
}

// SubscribeEvents registers h for topic's events.
func (m *Memory) SubscribeEvents(topic string, h EventHandler) (func(), error) {
	return m.subscribe(topic, memorySub{events: h})
}

func (m *Memory) subscribe(topic string, sub memorySub) (func(), error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	m.next++
	id := m.next
	if m.subs[topic] == nil {
		m.subs[topic] = make(map[uint64]memorySub)
	}
	m.subs[topic][id] = sub
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
	m.subs = map[string]map[uint64]memorySub{}
	return nil
}
