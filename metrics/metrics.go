package metrics

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/frontdesk/frontdesk/data"
	"github.com/frontdesk/frontdesk/knowledge"
)

// Metrics holds the collectors, registered on their own registry.
type Metrics struct {
	reg           *prometheus.Registry
	messages      *prometheus.CounterVec
	appendSeconds prometheus.Histogram
	decisions     *prometheus.CounterVec
	handoffs      *prometheus.CounterVec
	assignSeconds *prometheus.HistogramVec
	transitions   *prometheus.CounterVec
	ratings       *prometheus.CounterVec
	searchSeconds prometheus.Histogram
	errors        *prometheus.CounterVec
	storeErrors   *prometheus.CounterVec
}

// New creates the collectors (plus Go runtime and process collectors).
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.messages = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "frontdesk_messages_total", Help: "Messages stored, by sender and kind."}, []string{"sender", "kind"})
	m.appendSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "frontdesk_store_append_seconds", Help: "Time to commit one message (group commit included).", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)})
	m.decisions = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "frontdesk_bot_decisions_total", Help: "Bot decisions by kind and reason."}, []string{"kind", "reason"})
	m.handoffs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "frontdesk_handoffs_total", Help: "Conversations handed to a skill group's queue, by group and reason."}, []string{"group", "reason"})
	m.assignSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "frontdesk_queue_wait_seconds", Help: "Time from entering a queue to assignment, by group.", Buckets: prometheus.ExponentialBuckets(1, 2, 14)}, []string{"group"})
	m.transitions = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "frontdesk_conversation_transitions_total", Help: "Conversation status changes."}, []string{"from", "to"})
	m.ratings = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "frontdesk_ratings_total", Help: "Satisfaction ratings by score."}, []string{"score"})
	m.searchSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "frontdesk_knowledge_search_seconds", Help: "Knowledge search latency.", Buckets: prometheus.ExponentialBuckets(0.0001, 2, 14)})
	m.errors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "frontdesk_errors_total", Help: "Errors logged, by message."}, []string{"msg"})
	m.storeErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "frontdesk_store_errors_total", Help: "Store operations that failed, by operation."}, []string{"op"})
	m.reg.MustRegister(m.messages, m.appendSeconds, m.decisions, m.handoffs, m.assignSeconds, m.transitions, m.ratings, m.searchSeconds,
		m.errors, m.storeErrors, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Gauge registers a gauge whose value is read at scrape time.
func (m *Metrics) Gauge(name, help string, f func() float64) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
}

// QueueLengths registers frontdesk_queue_length{group}, read from the store at scrape time.
func (m *Metrics) QueueLengths(groups func(ctx context.Context) ([]data.SkillGroup, error), queued func(ctx context.Context, group string) ([]data.Conversation, error)) {
	m.reg.MustRegister(&queueCollector{groups: groups, queued: queued,
		desc: prometheus.NewDesc("frontdesk_queue_length", "Conversations waiting in a skill group's queue.", []string{"group"}, nil)})
}

type queueCollector struct {
	groups func(ctx context.Context) ([]data.SkillGroup, error)
	queued func(ctx context.Context, group string) ([]data.Conversation, error)
	desc   *prometheus.Desc
}

func (q *queueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- q.desc }

func (q *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	groups, err := q.groups(ctx)
	if err != nil {
		return
	}
	for _, g := range groups {
		if c, err := q.queued(ctx, g.ID); err == nil {
			ch <- prometheus.MustNewConstMetric(q.desc, prometheus.GaugeValue, float64(len(c)), g.ID)
		}
	}
}

// Handler serves the metrics; when token is set, requests need "Authorization: Bearer <token>".
func (m *Metrics) Handler(token string) http.Handler {
	h := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if token != "" && r.Header.Get("Authorization") != "Bearer "+token {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":{"code":"unauthorized","message":"send the metrics token as Authorization: Bearer <token>"}}`))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Store wraps a data.Store and observes the writes that matter.
type Store struct {
	data.Store
	m *Metrics
}

// WrapStore returns s observed by m.
func (m *Metrics) WrapStore(s data.Store) *Store { return &Store{Store: s, m: m} }

// AppendMessage counts the message, its commit time and, for bot messages, the decision.
func (s *Store) AppendMessage(ctx context.Context, msg data.Message) (data.Message, bool, error) {
	start := time.Now()
	out, dup, err := s.Store.AppendMessage(ctx, msg)
	if err != nil {
		s.m.storeErrors.WithLabelValues("append").Inc()
		return out, dup, err
	}
	s.m.appendSeconds.Observe(time.Since(start).Seconds())
	if dup {
		return out, dup, nil
	}
	s.m.messages.WithLabelValues(string(msg.SenderKind), string(msg.Kind)).Inc()
	if msg.SenderKind == data.SenderBot && len(msg.Metadata) > 0 {
		var meta struct {
			Decision struct {
				Kind   string `json:"kind"`
				Reason string `json:"reason"`
			} `json:"decision"`
		}
		if json.Unmarshal(msg.Metadata, &meta) == nil && meta.Decision.Kind != "" {
			s.m.decisions.WithLabelValues(meta.Decision.Kind, meta.Decision.Reason).Inc()
		}
	}
	return out, dup, nil
}

// Transition counts status changes, handoffs and queue waits.
func (s *Store) Transition(ctx context.Context, t data.Transition) (data.Conversation, data.Message, error) {
	c, msg, err := s.Store.Transition(ctx, t)
	if err != nil {
		return c, msg, err
	}
	s.m.transitions.WithLabelValues(string(t.From), string(t.To)).Inc()
	if t.From == data.StatusBot && t.To == data.StatusQueued {
		s.m.handoffs.WithLabelValues(c.SkillGroup, c.HandoffReason).Inc()
	}
	if t.To == data.StatusAssigned && t.From == data.StatusQueued && c.QueuedAt != nil && c.AssignedAt != nil {
		s.m.assignSeconds.WithLabelValues(c.SkillGroup).Observe(c.AssignedAt.Sub(*c.QueuedAt).Seconds())
	}
	return c, msg, nil
}

// RateConversation counts ratings.
func (s *Store) RateConversation(ctx context.Context, id string, score int, comment string) (data.Conversation, data.Message, error) {
	c, msg, err := s.Store.RateConversation(ctx, id, score, comment)
	if err == nil {
		s.m.ratings.WithLabelValues(string(rune('0' + score))).Inc()
	}
	return c, msg, err
}

// Searcher is a knowledge searcher.
type Searcher interface {
	Search(ctx context.Context, query string, k int) (knowledge.Result, error)
}

// timedSearcher observes search latency.
type timedSearcher struct {
	Searcher
	m *Metrics
}

// entryGetter is the optional part of a searcher that returns whole entries.
type entryGetter interface {
	Get(id string) (knowledge.Entry, bool)
}

// timedGetSearcher keeps Get visible through the wrapper.
type timedGetSearcher struct {
	timedSearcher
	g entryGetter
}

func (t timedGetSearcher) Get(id string) (knowledge.Entry, bool) { return t.g.Get(id) }

// WrapSearcher returns s with its latency observed; a Get method of s stays available.
func (m *Metrics) WrapSearcher(s Searcher) Searcher {
	if g, ok := s.(entryGetter); ok {
		return timedGetSearcher{timedSearcher{s, m}, g}
	}
	return timedSearcher{s, m}
}

func (t timedSearcher) Search(ctx context.Context, q string, k int) (knowledge.Result, error) {
	start := time.Now()
	r, err := t.Searcher.Search(ctx, q, k)
	t.m.searchSeconds.Observe(time.Since(start).Seconds())
	return r, err
}

// countingHandler counts error-level log records.
type countingHandler struct {
	slog.Handler
	m *Metrics
}

// WrapLogHandler returns h, counting the error records it handles.
func (m *Metrics) WrapLogHandler(h slog.Handler) slog.Handler { return countingHandler{h, m} }

func (c countingHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError {
		c.m.errors.WithLabelValues(r.Message).Inc()
	}
	return c.Handler.Handle(ctx, r)
}

func (c countingHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return countingHandler{c.Handler.WithAttrs(as), c.m}
}

func (c countingHandler) WithGroup(name string) slog.Handler {
	return countingHandler{c.Handler.WithGroup(name), c.m}
}
