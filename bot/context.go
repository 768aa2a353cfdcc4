package bot

import (
	"context"
	"sync"
	"time"
)

// ContextStore keeps each conversation's State between turns. Values are
// JSON-serialisable so a shared backend (Redis) can hold them; Put replaces
// the whole state and restarts its time to live.
type ContextStore interface {
	// Get returns the state of a conversation; ok is false when there is none
	// or it expired.
	Get(ctx context.Context, conversationID string) (s State, ok bool, err error)
	// Put stores the state of a conversation for ttl.
	Put(ctx context.Context, conversationID string, s State, ttl time.Duration) error
	// Delete forgets a conversation.
	Delete(ctx context.Context, conversationID string) error
}

// State is what the bot remembers about one conversation.
type State struct {
	// Lang is the language of the latest visitor message with letters (zh or en).
	Lang string `json:"lang,omitempty"`
	// Turns are the latest turns, oldest first (visitor text masked).
	Turns []TurnRecord `json:"turns,omitempty"`
	// Topic is what the conversation is currently about.
	Topic Topic `json:"topic"`
	// Slots are values collected from the visitor (e.g. order_id).
	Slots map[string]string `json:"slots,omitempty"`
	// Flow is the flow in progress, if any.
	Flow *FlowState `json:"flow,omitempty"`
	// Options are the choices of the latest clarify question.
	Options []Choice `json:"options,omitempty"`
	// Fallbacks counts consecutive turns the bot did not understand.
	Fallbacks int `json:"fallbacks,omitempty"`
	// Unhelpful counts consecutive "not helpful" feedbacks.
	Unhelpful int `json:"unhelpful,omitempty"`
	// LastAnswer is the FAQ entry or flow of the latest answer (feedback refers to it).
	LastAnswer string `json:"last_answer,omitempty"`
	// Rated is true once the latest answer got its "Was this helpful?" answer.
	Rated bool `json:"rated,omitempty"`
}

// TurnRecord is one remembered turn.
type TurnRecord struct {
	// Text is the visitor's message with personal data masked.
	Text   string    `json:"text"`
	Kind   Kind      `json:"kind"`
	Reason string    `json:"reason,omitempty"`
	FAQID  string    `json:"faq_id,omitempty"`
	Intent string    `json:"intent,omitempty"`
	At     time.Time `json:"at"`
}

// Topic is the subject of the conversation: the latest answered question.
type Topic struct {
	// Query is the visitor's question that set the topic (masked), reused to
	// understand short follow-ups.
	Query  string `json:"query,omitempty"`
	Intent string `json:"intent,omitempty"`
	FAQID  string `json:"faq_id,omitempty"`
	Skill  string `json:"skill,omitempty"`
}

// Choice is one choice offered by a clarify question.
type Choice struct {
	Label string `json:"label"`
	FAQID string `json:"faq_id"`
}

// FlowState is a flow in progress.
type FlowState struct {
	Name string `json:"name"`
	// Slot is the index of the slot being asked for.
	Slot int `json:"slot"`
	// Attempts counts invalid answers to the current slot.
	Attempts int `json:"attempts"`
	// NotFound counts the values the webhook did not find (404).
	NotFound int `json:"not_found,omitempty"`
	// Reasked is true once the slot's prompt was repeated after a message
	// the flow let through (small talk, an FAQ question), until it is asked again.
	Reasked bool `json:"reasked,omitempty"`
}

// MemoryStore is an in-process ContextStore with expiry, the default for a
// single node. It is safe for concurrent use.
type MemoryStore struct {
	mu      sync.Mutex
	entries map[string]memEntry
	now     func() time.Time
	puts    int
}

type memEntry struct {
	s       State
	expires time.Time
}

var _ ContextStore = (*MemoryStore)(nil)

// NewMemoryStore returns an empty in-memory store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{entries: map[string]memEntry{}, now: time.Now}
}

// Get implements ContextStore.
func (m *MemoryStore) Get(_ context.Context, id string) (State, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[id]
	if !ok {
		return State{}, false, nil
	}
	if !m.now().Before(e.expires) {
		delete(m.entries, id)
		return State{}, false, nil
	}
	return e.s.clone(), true, nil
}

// Put implements ContextStore; every 1024th call also drops expired entries.
func (m *MemoryStore) Put(_ context.Context, id string, s State, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	m.entries[id] = memEntry{s: s.clone(), expires: now.Add(ttl)}
	m.puts++
	if m.puts%1024 == 0 {
		for k, e := range m.entries {
			if !now.Before(e.expires) {
				delete(m.entries, k)
			}
		}
	}
	return nil
}

// Delete implements ContextStore.
func (m *MemoryStore) Delete(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.entries, id)
	return nil
}

// Len returns the number of stored (possibly expired) states.
func (m *MemoryStore) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}

// clone copies the slices and maps of a state so callers cannot share them.
func (s State) clone() State {
	c := s
	c.Turns = append([]TurnRecord(nil), s.Turns...)
	c.Options = append([]Choice(nil), s.Options...)
	if s.Slots != nil {
		c.Slots = make(map[string]string, len(s.Slots))
		for k, v := range s.Slots {
			c.Slots[k] = v
		}
	}
	if s.Flow != nil {
		f := *s.Flow
		c.Flow = &f
	}
	return c
}
