package metrics

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/data"
	"github.com/frontdesk/frontdesk/data/seal"
	"github.com/frontdesk/frontdesk/data/sqlstore"
	"github.com/frontdesk/frontdesk/knowledge"
)

type fakeSearch struct{}

func (fakeSearch) Search(context.Context, string, int) (knowledge.Result, error) {
	return knowledge.Result{}, nil
}

// TestScriptedConversationShowsUp: after a conversation goes through the
// bot, a handoff, an agent and a rating, /metrics exposes every series.
func TestScriptedConversationShowsUp(t *testing.T) {
	ctx := context.Background()
	ring, _ := seal.NewKeyring(bytes.Repeat([]byte{5}, 32))
	raw, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "m.db"), ring, sqlstore.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	m := New()
	st := m.WrapStore(raw)
	site, _ := st.EnsureSite(ctx, data.Site{Key: "demo", Name: "Demo"})
	st.UpsertGroup(ctx, data.SkillGroup{ID: "order_support", Name: "Orders"})
	m.QueueLengths(st.ListGroups, st.QueuedConversations)
	m.Gauge("frontdesk_connections", "Open WebSocket connections on this node.", func() float64 { return 3 })
	a, _ := st.CreateAgent(ctx, data.Agent{Email: "a@x.io", Name: "A", Role: data.RoleAgent, PasswordHash: "x", Capacity: 2, Groups: []string{"order_support"}})
	st.CreateVisitor(ctx, data.Visitor{ID: "v1", SiteID: site.ID})
	c, _ := st.CreateConversation(ctx, data.Conversation{SiteID: site.ID, VisitorID: "v1"})
	st.AppendMessage(ctx, data.Message{ConversationID: c.ID, SenderKind: data.SenderVisitor, Kind: data.KindText, Text: "转人工"})
	meta, _ := json.Marshal(map[string]any{"decision": map[string]string{"kind": "handoff", "reason": "explicit_request"}})
	st.AppendMessage(ctx, data.Message{ConversationID: c.ID, SenderKind: data.SenderBot, Kind: data.KindText, Text: "ok", Metadata: meta})
	now := time.Now().UTC()
	mustT := func(tr data.Transition) {
		if _, _, err := st.Transition(ctx, tr); err != nil {
			t.Fatal(err)
		}
	}
	mustT(data.Transition{ConversationID: c.ID, From: data.StatusBot, To: data.StatusQueued, SkillGroup: "order_support", HandoffReason: "explicit_request", At: now, Note: "q"})
	mustT(data.Transition{ConversationID: c.ID, From: data.StatusQueued, To: data.StatusAssigned, AssignedAgent: a.ID, At: now.Add(12 * time.Second), Note: "a"})
	st.AppendMessage(ctx, data.Message{ConversationID: c.ID, SenderKind: data.SenderAgent, SenderID: a.ID, Kind: data.KindText, Text: "hi"})
	mustT(data.Transition{ConversationID: c.ID, From: data.StatusAssigned, To: data.StatusClosed, Note: "c"})
	if _, _, err := st.RateConversation(ctx, c.ID, 5, ""); err != nil {
		t.Fatal(err)
	}
	m.WrapSearcher(fakeSearch{}).Search(ctx, "q", 3)
	log := slog.New(m.WrapLogHandler(slog.NewTextHandler(io.Discard, nil))).With("component", "test")
	log.Error("bot turn failed")
	log.Info("not counted")

	srv := httptest.NewServer(m.Handler("secret"))
	defer srv.Close()
	resp, _ := http.Get(srv.URL)
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("metrics without the token = %d, want 401", resp.StatusCode)
	}
	req, _ := http.NewRequest("GET", srv.URL, nil)
	req.Header.Set("Authorization", "Bearer secret")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`frontdesk_messages_total{kind="text",sender="visitor"} 1`,
		`frontdesk_messages_total{kind="text",sender="agent"} 1`,
		`frontdesk_bot_decisions_total{kind="handoff",reason="explicit_request"} 1`,
		`frontdesk_handoffs_total{group="order_support",reason="explicit_request"} 1`,
		`frontdesk_queue_wait_seconds_sum{group="order_support"} 12`,
		`frontdesk_queue_length{group="order_support"} 0`,
		`frontdesk_ratings_total{score="5"} 1`,
		`frontdesk_knowledge_search_seconds_count 1`,
		`frontdesk_errors_total{msg="bot turn failed"} 1`,
		`frontdesk_connections 3`,
		`frontdesk_store_append_seconds_count`,
		`go_goroutines`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

type getterSearch struct{ fakeSearch }

func (getterSearch) Get(id string) (knowledge.Entry, bool) { return knowledge.Entry{ID: id}, true }

func TestWrapSearcherKeepsGet(t *testing.T) {
	m := New()
	w := m.WrapSearcher(getterSearch{})
	g, ok := w.(interface {
		Get(string) (knowledge.Entry, bool)
	})
	if !ok {
		t.Fatal("the wrapper hides Get")
	}
	if e, _ := g.Get("x"); e.ID != "x" {
		t.Errorf("Get through the wrapper = %+v", e)
	}
	if _, ok := m.WrapSearcher(fakeSearch{}).(interface {
		Get(string) (knowledge.Entry, bool)
	}); ok {
		t.Error("the wrapper invented a Get")
	}
}
