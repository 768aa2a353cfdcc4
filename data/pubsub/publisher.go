package pubsub

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/frontdesk/frontdesk/data"
)

// Publisher publishes data events on their topics. Publishing is best
// effort: subscribers that miss an event catch up from the store by seq.
type Publisher struct {
	broker Broker
	log    *slog.Logger
}

// NewPublisher returns a publisher on broker.
func NewPublisher(b Broker, log *slog.Logger) *Publisher { return &Publisher{broker: b, log: log} }

// Message publishes a committed message on its conversation's topic.
func (p *Publisher) Message(ctx context.Context, m data.Message) {
	p.Event(ctx, data.ConversationTopic(m.ConversationID), data.Event{Type: data.EventMessage, Message: &m})
}

// Conversation publishes a conversation's new state on its topic and its visitor's topic.
func (p *Publisher) Conversation(ctx context.Context, c data.Conversation) {
	ev := data.Event{Type: data.EventConversation, Conversation: &c}
	p.Event(ctx, data.VisitorTopic(c.VisitorID), ev)
	p.Event(ctx, data.ConversationTopic(c.ID), ev)
}

// Event publishes ev on topic. An in-process broker gets the value itself:
// its subscribers share it and must not modify it.
func (p *Publisher) Event(ctx context.Context, topic string, ev data.Event) {
	var err error
	if eb, ok := p.broker.(EventBroker); ok {
		err = eb.PublishEvent(ctx, topic, &ev)
	} else {
		var b []byte
		if b, err = json.Marshal(ev); err == nil {
			err = p.broker.Publish(ctx, topic, b)
		}
	}
	if err != nil {
		p.log.Warn("publish", slog.String("topic", topic), slog.Any("err", err))
	}
}
