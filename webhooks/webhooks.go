package webhooks

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/frontdesk/frontdesk/data"
)

// OutboxKind is the outbox kind of webhook deliveries.
const OutboxKind = "webhook"

// The event names.
const (
	ConversationCreated   = "conversation.created"
	ConversationHandedOff = "conversation.handed_off"
	ConversationClosed    = "conversation.closed"
	MessageCreated        = "message.created"
	TicketCreated         = "ticket.created"
	RatingSubmitted       = "rating.submitted"
)

// Events lists every event name.
var Events = []string{ConversationCreated, ConversationHandedOff, ConversationClosed, MessageCreated, TicketCreated, RatingSubmitted}

// Event is the JSON body of a delivery.
type Event struct {
	ID        string    `json:"id"`
	Event     string    `json:"event"`
	CreatedAt time.Time `json:"created_at"`
	SiteID    string    `json:"site_id"`
	Data      any       `json:"data"`
}

// delivery is an outbox payload: where to send what.
type delivery struct {
	WebhookID string          `json:"webhook_id"`
	URL       string          `json:"url"`
	Secret    string          `json:"secret"`
	Body      json.RawMessage `json:"body"`
	Event     string          `json:"event"`
}

// Sign returns the signature header value for a body sent at ts:
// "sha256=" + hex(HMAC-SHA256(secret, ts + "." + body)).
func Sign(secret string, ts int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(ts, 10) + "."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a signature made by Sign; receivers should also reject old timestamps.
func Verify(secret string, ts int64, body []byte, signature string) bool {
	return hmac.Equal([]byte(Sign(secret, ts, body)), []byte(signature))
}

// Sender returns the outbox sender that POSTs deliveries with client.
// Headers: X-Frontdesk-Event, X-Frontdesk-Delivery (stable across retries,
// for receivers to drop duplicates), X-Frontdesk-Timestamp, X-Frontdesk-Signature.
func Sender(client *http.Client) func(ctx context.Context, item data.OutboxItem) error {
	return func(ctx context.Context, item data.OutboxItem) error {
		var d delivery
		if err := json.Unmarshal(item.Payload, &d); err != nil {
			return fmt.Errorf("webhooks: payload: %w", err)
		}
		ts := time.Now().Unix()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(d.Body))
		if err != nil {
			return fmt.Errorf("webhooks: %w", err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "Frontdesk-Webhooks/1")
		req.Header.Set("X-Frontdesk-Event", d.Event)
		req.Header.Set("X-Frontdesk-Delivery", item.ID)
		req.Header.Set("X-Frontdesk-Timestamp", strconv.FormatInt(ts, 10))
		req.Header.Set("X-Frontdesk-Signature", Sign(d.Secret, ts, d.Body))
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("webhooks: post: %w", err)
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return fmt.Errorf("webhooks: %s answered %s", d.URL, resp.Status)
		}
		return nil
	}
}

// Store wraps a data.Store and enqueues webhook deliveries for the writes
// that make events. Deliveries are enqueued right after the write commits.
type Store struct {
	data.Store
	log *slog.Logger

	mu    sync.Mutex
	cache map[string]cachedHooks // site id -> hooks
	sites map[string]string      // conversation id -> site id (bounded)
	now   func() time.Time
}

// maxSiteCache bounds the conversation -> site map; it is cleared when full.
const maxSiteCache = 50000

type cachedHooks struct {
	hooks []data.Webhook
	at    time.Time
}

// Wrap returns s with webhook deliveries.
func Wrap(s data.Store, log *slog.Logger) *Store {
	return &Store{Store: s, log: log, cache: map[string]cachedHooks{}, sites: map[string]string{}, now: time.Now}
}

// hooks returns a site's enabled webhooks (cached for a few seconds).
func (s *Store) hooks(ctx context.Context, siteID string) []data.Webhook {
	s.mu.Lock()
	c, ok := s.cache[siteID]
	s.mu.Unlock()
	if ok && s.now().Sub(c.at) < 5*time.Second {
		return c.hooks
	}
	site, err := s.Store.GetSite(ctx, siteID)
	if err != nil {
		return nil
	}
	var hooks []data.Webhook
	for _, h := range site.Settings.Webhooks {
		if !h.Disabled && h.URL != "" {
			hooks = append(hooks, h)
		}
	}
	s.mu.Lock()
	s.cache[siteID] = cachedHooks{hooks: hooks, at: s.now()}
	s.mu.Unlock()
	return hooks
}

// UpdateSiteSettings also drops the site's cached hooks.
func (s *Store) UpdateSiteSettings(ctx context.Context, siteID string, st data.SiteSettings) (data.Site, error) {
	site, err := s.Store.UpdateSiteSettings(ctx, siteID, st)
	s.mu.Lock()
	delete(s.cache, siteID)
	s.mu.Unlock()
	return site, err
}

func wants(h data.Webhook, event string) bool {
	if len(h.Events) == 0 {
		return true
	}
	for _, e := range h.Events {
		if e == event {
			return true
		}
	}
	return false
}

// emit enqueues one delivery per webhook that wants the event, linked to
// the visitor, conversation and ticket it concerns (link's ids) so erasure
// and retention delete it.
func (s *Store) emit(ctx context.Context, siteID, event string, payload any, link data.OutboxItem) {
	hooks := s.hooks(ctx, siteID)
	if len(hooks) == 0 {
		return
	}
	ev := Event{ID: data.NewID("evt_"), Event: event, CreatedAt: s.now().UTC(), SiteID: siteID, Data: payload}
	body, err := json.Marshal(ev)
	if err != nil {
		return
	}
	var items []data.OutboxItem
	for _, h := range hooks {
		if !wants(h, event) {
			continue
		}
		p, _ := json.Marshal(delivery{WebhookID: h.ID, URL: h.URL, Secret: h.Secret, Body: body, Event: event})
		items = append(items, data.OutboxItem{Kind: OutboxKind, Payload: p, SiteID: siteID,
			VisitorID: link.VisitorID, ConversationID: link.ConversationID, TicketID: link.TicketID})
	}
	if len(items) == 0 {
		return
	}
	if err := s.Store.EnqueueOutbox(ctx, items...); err != nil {
		s.log.Error("enqueue webhook", slog.String("event", event), slog.Any("err", err))
	}
}

// siteOf returns a conversation's site, from memory when it can: most
// messages belong to conversations this node has seen.
func (s *Store) siteOf(ctx context.Context, conversationID string) (string, bool) {
	s.mu.Lock()
	site, ok := s.sites[conversationID]
	s.mu.Unlock()
	if ok {
		return site, true
	}
	c, err := s.Store.GetConversation(ctx, conversationID)
	if err != nil {
		return "", false
	}
	s.remember(c.ID, c.SiteID)
	return c.SiteID, true
}

func (s *Store) remember(conversationID, siteID string) {
	s.mu.Lock()
	if len(s.sites) >= maxSiteCache {
		s.sites = map[string]string{}
	}
	s.sites[conversationID] = siteID
	s.mu.Unlock()
}

// CreateConversation emits conversation.created.
func (s *Store) CreateConversation(ctx context.Context, c data.Conversation) (data.Conversation, error) {
	out, err := s.Store.CreateConversation(ctx, c)
	if err == nil {
		s.remember(out.ID, out.SiteID)
		s.emit(ctx, out.SiteID, ConversationCreated, out, data.OutboxItem{VisitorID: out.VisitorID, ConversationID: out.ID})
	}
	return out, err
}

// AppendMessage emits message.created for new messages visible to visitors.
func (s *Store) AppendMessage(ctx context.Context, m data.Message) (data.Message, bool, error) {
	out, dup, err := s.Store.AppendMessage(ctx, m)
	if err == nil && !dup && m.Kind != data.KindNote {
		if site, ok := s.siteOf(ctx, m.ConversationID); ok && len(s.hooks(ctx, site)) > 0 {
			msg := out
			msg.Metadata = nil // the bot's decision record stays inside
			s.emit(ctx, site, MessageCreated, msg, data.OutboxItem{ConversationID: m.ConversationID})
		}
	}
	return out, dup, err
}

// Transition emits conversation.handed_off and conversation.closed.
func (s *Store) Transition(ctx context.Context, t data.Transition) (data.Conversation, data.Message, error) {
	c, msg, err := s.Store.Transition(ctx, t)
	if err != nil {
		return c, msg, err
	}
	switch {
	case t.From == data.StatusBot && t.To == data.StatusQueued:
		s.emit(ctx, c.SiteID, ConversationHandedOff, c, data.OutboxItem{VisitorID: c.VisitorID, ConversationID: c.ID})
	case t.To == data.StatusClosed:
		s.emit(ctx, c.SiteID, ConversationClosed, c, data.OutboxItem{VisitorID: c.VisitorID, ConversationID: c.ID})
	}
	return c, msg, err
}

// CreateTicket emits ticket.created (without the contact's details).
func (s *Store) CreateTicket(ctx context.Context, t data.Ticket, outbox ...data.OutboxItem) (data.Ticket, error) {
	out, err := s.Store.CreateTicket(ctx, t, outbox...)
	if err == nil {
		pub := out
		pub.Contact = data.Contact{}
		s.emit(ctx, out.SiteID, TicketCreated, pub, data.OutboxItem{VisitorID: out.VisitorID, ConversationID: out.ConversationID, TicketID: out.ID})
	}
	return out, err
}

// RateConversation emits rating.submitted.
func (s *Store) RateConversation(ctx context.Context, id string, score int, comment string) (data.Conversation, data.Message, error) {
	c, msg, err := s.Store.RateConversation(ctx, id, score, comment)
	if err == nil {
		s.emit(ctx, c.SiteID, RatingSubmitted, map[string]any{"conversation_id": c.ID, "score": score}, data.OutboxItem{VisitorID: c.VisitorID, ConversationID: c.ID})
	}
	return c, msg, err
}
