package analytics

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/data"
	"github.com/frontdesk/frontdesk/data/seal"
	"github.com/frontdesk/frontdesk/data/sqlstore"
)

var day = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)

type seeded struct {
	store *sqlstore.Store
	site  data.Site
	agent data.Agent
}

func seed(t *testing.T) seeded {
	t.Helper()
	ctx := context.Background()
	ring, _ := seal.NewKeyring(bytes.Repeat([]byte{4}, 32))
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "a.db"), ring, sqlstore.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	site, _ := st.EnsureSite(ctx, data.Site{Key: "demo", Name: "Demo"})
	for _, g := range []string{"order_support", "tech_support"} {
		st.UpsertGroup(ctx, data.SkillGroup{ID: g, Name: g})
	}
	a, err := st.CreateAgent(ctx, data.Agent{Email: "a@x.io", Name: "A", Role: data.RoleAgent, PasswordHash: "x", Capacity: 10, Groups: []string{"order_support", "tech_support"}})
	if err != nil {
		t.Fatal(err)
	}
	return seeded{st, site, a}
}

// conv creates a conversation at created with one visitor question and one bot reply.
func (s seeded) conv(t *testing.T, created time.Time, question string, decision map[string]any) data.Conversation {
	t.Helper()
	ctx := context.Background()
	v := data.Visitor{ID: data.NewID("v_"), SiteID: s.site.ID, CreatedAt: created}
	if err := s.store.CreateVisitor(ctx, v); err != nil {
		t.Fatal(err)
	}
	c, err := s.store.CreateConversation(ctx, data.Conversation{SiteID: s.site.ID, VisitorID: v.ID, CreatedAt: created})
	if err != nil {
		t.Fatal(err)
	}
	s.msg(t, c.ID, data.SenderVisitor, question, nil, created.Add(time.Second))
	s.msg(t, c.ID, data.SenderBot, "reply", map[string]any{"decision": decision}, created.Add(2*time.Second))
	return c
}

func (s seeded) msg(t *testing.T, conv string, who data.SenderKind, text string, meta map[string]any, at time.Time) {
	t.Helper()
	var raw json.RawMessage
	if meta != nil {
		raw, _ = json.Marshal(meta)
	}
	if _, _, err := s.store.AppendMessage(context.Background(), data.Message{ConversationID: conv, SenderKind: who, SenderID: "x", Kind: data.KindText, Text: text, Metadata: raw, CreatedAt: at}); err != nil {
		t.Fatal(err)
	}
}

// handoff takes a conversation through queue, assignment, first response, close and rating.
func (s seeded) handoff(t *testing.T, c data.Conversation, group, reason string, wait, frt, resolve time.Duration, rating int) {
	t.Helper()
	ctx := context.Background()
	q := c.CreatedAt.Add(10 * time.Second)
	tr := func(from, to data.Status, at time.Time, agent string) {
		if _, _, err := s.store.Transition(ctx, data.Transition{ConversationID: c.ID, From: from, To: to, SkillGroup: group, HandoffReason: reason, AssignedAgent: agent, At: at, Note: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	tr(data.StatusBot, data.StatusQueued, q, "")
	tr(data.StatusQueued, data.StatusAssigned, q.Add(wait), s.agent.ID)
	s.msg(t, c.ID, data.SenderAgent, "hello", nil, q.Add(frt))
	tr(data.StatusAssigned, data.StatusClosed, q.Add(resolve), "")
	if rating > 0 {
		if _, _, err := s.store.RateConversation(ctx, c.ID, rating, ""); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReportOnSeededStore(t *testing.T) {
	s := seed(t)
	answer := map[string]any{"kind": "answer", "reason": "faq_match"}
	for i := 0; i < 6; i++ {
		s.conv(t, day.Add(time.Duration(9+i)*time.Hour), "where is my parcel", answer)
	}
	handed := []struct {
		group, reason      string
		wait, frt, resolve time.Duration
		rating             int
	}{
		{"order_support", "explicit_request", 10 * time.Second, 15 * time.Second, 120 * time.Second, 5},
		{"order_support", "explicit_request", 20 * time.Second, 25 * time.Second, 240 * time.Second, 4},
		{"tech_support", "explicit_request", 30 * time.Second, 60 * time.Second, 360 * time.Second, 5},
		{"tech_support", "low_confidence", 40 * time.Second, 100 * time.Second, 480 * time.Second, 2},
	}
	for i, h := range handed {
		c := s.conv(t, day.Add(time.Duration(16+i)*time.Hour), "转人工", map[string]any{"kind": "handoff", "reason": h.reason})
		s.handoff(t, c, h.group, h.reason, h.wait, h.frt, h.resolve, h.rating)
	}
	// Outside the range: must not count.
	s.conv(t, day.Add(-time.Hour), "old", answer)

	rep, err := Compute(context.Background(), s.store, Range{From: day, To: day.Add(24 * time.Hour), Bucket: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"conversations", rep.Conversations, 10},
		{"messages (visitor, bot, agent)", rep.Messages, 24},
		{"bot only", rep.BotOnly, 6},
		{"handed off", rep.HandedOff, 4},
		{"containment", rep.ContainmentRate, 0.6},
		{"handoff rate", rep.HandoffRate, 0.4},
		{"reasons", rep.HandoffReasons, map[string]int{"explicit_request": 3, "low_confidence": 1}},
		{"decisions", rep.BotDecisions, map[string]int{"answer": 6, "handoff": 4}},
		{"first response", rep.FirstResponse, Stat{Count: 4, Median: 25, P90: 100}},
		{"queue wait", rep.QueueWait, Stat{Count: 4, Median: 20, P90: 40}},
		{"resolution", rep.Resolution, Stat{Count: 4, Median: 240, P90: 480}},
		{"csat", rep.CSAT, CSAT{Count: 4, Average: 4, Distribution: [5]int{0, 1, 0, 1, 2}}},
		{"volume at 09:00", rep.Volume[9].Conversations, 1},
		{"volume buckets", len(rep.Volume), 24},
		{"groups", len(rep.Groups), 2},
		{"order group frt", rep.Groups[0].FirstResponse, Stat{Count: 2, Median: 15, P90: 25}},
		{"tech group csat", rep.Groups[1].CSAT, CSAT{Count: 2, Average: 3.5, Distribution: [5]int{0, 1, 0, 0, 1}}},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	byGroup, err := Compute(context.Background(), s.store, Range{From: day, To: day.Add(24 * time.Hour), Group: "tech_support"})
	if err != nil {
		t.Fatal(err)
	}
	if byGroup.Conversations != 2 || byGroup.HandedOff != 2 || byGroup.QueueWait != (Stat{Count: 2, Median: 30, P90: 40}) || len(byGroup.Volume) != 1 {
		t.Errorf("tech_support report = %d conversations, %d handed off, wait %+v, %d buckets", byGroup.Conversations, byGroup.HandedOff, byGroup.QueueWait, len(byGroup.Volume))
	}
	if _, err := Compute(context.Background(), s.store, Range{From: day, To: day}); err == nil {
		t.Error("an empty range was accepted")
	}
}

// A conversation transferred to another group is queued twice: its first
// response and resolution count from the first hand-off, its queue wait is
// the last queue's.
func TestReportAfterTransfer(t *testing.T) {
	s := seed(t)
	ctx := context.Background()
	c := s.conv(t, day.Add(9*time.Hour), "转人工", map[string]any{"kind": "handoff", "reason": "explicit_request"})
	q := c.CreatedAt.Add(10 * time.Second)
	tr := func(from, to data.Status, group string, at time.Time, agent string) {
		t.Helper()
		if _, _, err := s.store.Transition(ctx, data.Transition{ConversationID: c.ID, From: from, To: to, SkillGroup: group, HandoffReason: "explicit_request", AssignedAgent: agent, At: at, Note: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	tr(data.StatusBot, data.StatusQueued, "order_support", q, "")
	tr(data.StatusQueued, data.StatusAssigned, "order_support", q.Add(20*time.Second), s.agent.ID)
	s.msg(t, c.ID, data.SenderAgent, "let me transfer you", nil, q.Add(30*time.Second))
	tr(data.StatusAssigned, data.StatusQueued, "tech_support", q.Add(60*time.Second), "")
	tr(data.StatusQueued, data.StatusAssigned, "tech_support", q.Add(100*time.Second), s.agent.ID)
	s.msg(t, c.ID, data.SenderAgent, "hello from tech", nil, q.Add(110*time.Second))
	tr(data.StatusAssigned, data.StatusClosed, "", q.Add(300*time.Second), "")

	got, err := s.store.GetConversation(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.FirstQueuedAt == nil || !got.FirstQueuedAt.Equal(q) || got.QueuedAt == nil || !got.QueuedAt.Equal(q.Add(60*time.Second)) {
		t.Fatalf("first queued %v, queued %v; want %v and %v", got.FirstQueuedAt, got.QueuedAt, q, q.Add(60*time.Second))
	}
	rep, err := Compute(ctx, s.store, Range{From: day, To: day.Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if want := (Stat{Count: 1, Median: 30, P90: 30}); rep.FirstResponse != want {
		t.Errorf("first response = %+v, want %+v", rep.FirstResponse, want)
	}
	if want := (Stat{Count: 1, Median: 300, P90: 300}); rep.Resolution != want {
		t.Errorf("resolution = %+v, want %+v", rep.Resolution, want)
	}
	if want := (Stat{Count: 1, Median: 40, P90: 40}); rep.QueueWait != want {
		t.Errorf("queue wait = %+v, want %+v", rep.QueueWait, want)
	}
	if len(rep.Groups) != 1 || rep.Groups[0].Group != "tech_support" {
		t.Errorf("groups = %+v, want the conversation under tech_support", rep.Groups)
	}
}

// TestReportBotResolutionAndBoundaries: a conversation the bot only
// contained (fallback, or an answer marked unhelpful) is not resolved;
// messages and invitations count in the range they happened in.
func TestReportBotResolutionAndBoundaries(t *testing.T) {
	s := seed(t)
	ctx := context.Background()
	answer := map[string]any{"kind": "answer", "reason": "faq_match"}
	s.conv(t, day.Add(9*time.Hour), "how long is shipping", answer)
	s.conv(t, day.Add(10*time.Hour), "blorp", map[string]any{"kind": "fallback", "reason": "out_of_scope"})
	c := s.conv(t, day.Add(11*time.Hour), "refund?", answer)
	s.msg(t, c.ID, data.SenderBot, "sorry", map[string]any{"decision": map[string]any{"kind": "acknowledge", "reason": "feedback_unhelpful"}}, day.Add(11*time.Hour+time.Minute))
	// Started a minute before the end of the range, answered after it.
	late := s.conv(t, day.Add(24*time.Hour-time.Minute), "still there?", answer)
	s.msg(t, late.ID, data.SenderVisitor, "hello?", nil, day.Add(24*time.Hour+time.Minute))
	s.msg(t, late.ID, data.SenderBot, "yes", map[string]any{"decision": answer}, day.Add(24*time.Hour+2*time.Minute))
	for _, at := range []time.Time{day.Add(time.Hour), day.Add(48 * time.Hour)} {
		v := data.Visitor{ID: data.NewID("v_"), SiteID: s.site.ID, CreatedAt: at}
		if err := s.store.CreateVisitor(ctx, v); err != nil {
			t.Fatal(err)
		}
		if err := s.store.RecordEvent(ctx, data.VisitorEvent{SiteID: s.site.ID, VisitorID: v.ID, Name: "invitation_shown", CreatedAt: at}); err != nil {
			t.Fatal(err)
		}
	}

	rep, err := Compute(ctx, s.store, Range{From: day, To: day.Add(24 * time.Hour), SiteKey: "demo"})
	if err != nil {
		t.Fatal(err)
	}
	sum := 0
	for _, b := range rep.Volume {
		sum += b.Messages
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"conversations", rep.Conversations, 4},
		{"bot only", rep.BotOnly, 4},
		{"bot resolved", rep.BotResolved, 2},
		{"bot resolution rate", rep.BotResolutionRate, 0.5},
		{"containment", rep.ContainmentRate, 1.0},
		{"messages in the range", rep.Messages, 9},
		{"messages in the buckets", sum, 9},
		{"answers in the range", rep.BotDecisions["answer"], 3},
		{"invitations shown in the range", rep.Invitations.Shown, 1},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestStatNearestRank(t *testing.T) {
	tests := []struct {
		in   []float64
		want Stat
	}{
		{nil, Stat{}},
		{[]float64{7}, Stat{1, 7, 7}},
		{[]float64{3, 1, 2}, Stat{3, 2, 3}},
		{[]float64{10, 20, 30, 40, 50, 60, 70, 80, 90, 100}, Stat{10, 50, 90}},
	}
	for _, tt := range tests {
		if got := stat(tt.in); got != tt.want {
			t.Errorf("stat(%v) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestGaps(t *testing.T) {
	s := seed(t)
	miss := map[string]any{"kind": "fallback", "reason": "low_confidence", "intent": "pricing", "intent_confidence": 0.2}
	hit := map[string]any{"kind": "answer", "reason": "faq_match", "intent": "shipping", "intent_confidence": 0.9}
	for i, q := range []string{"Do you ship to Mars?", "do you ship to mars", "Do you ship to Mars??", "我能用比特币付款吗", "能用比特币付款吗", "How long does shipping take?"} {
		d := miss
		if i == 5 {
			d = hit
		}
		s.conv(t, day.Add(time.Duration(i)*time.Hour), q, d)
	}
	// An out-of-scope question is a gap, not a weakly recognised intent.
	s.conv(t, day.Add(10*time.Hour), "what is the weather on Mars", map[string]any{"kind": "handoff", "reason": "out_of_scope", "intent": "oos", "intent_confidence": 0.3, "out_of_scope": true})
	// An answer the visitor marked as not helpful is a gap too.
	c := s.conv(t, day.Add(20*time.Hour), "Can I pay with Alipay HK?", hit)
	s.msg(t, c.ID, data.SenderBot, "Sorry that did not help.", map[string]any{"decision": map[string]any{"kind": "acknowledge", "reason": "feedback_unhelpful"}}, day.Add(20*time.Hour+time.Minute))
	got, err := FindGaps(context.Background(), s.store, day, day.Add(24*time.Hour), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Gaps) != 4 {
		t.Fatalf("gaps = %+v; want 4 clusters (Mars shipping, bitcoin, Alipay HK, Mars weather)", got.Gaps)
	}
	if got.Gaps[0].Count != 3 || len(got.Gaps[0].Examples) != 2 || got.Gaps[1].Count != 2 || !strings.Contains(fmt.Sprint(got.Gaps[2:]), "Can I pay with Alipay HK?") {
		t.Errorf("gaps = %+v", got.Gaps)
	}
	if fmt.Sprint(got.LowIntents) != "[{pricing 5 5 1}]" {
		t.Errorf("low intents = %+v", got.LowIntents)
	}
}
