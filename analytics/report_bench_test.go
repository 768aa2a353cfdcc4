package analytics

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/data"
	"github.com/frontdesk/frontdesk/data/seal"
	"github.com/frontdesk/frontdesk/data/sqlstore"
)

// BenchmarkCompute is a month's dashboard on a busy installation:
// conversations over 30 days, each with a visitor question, a bot reply and,
// for one in four, a hand-off with an agent's answer.
//
//	go test -run XXX -bench BenchmarkCompute -benchtime 5x ./analytics/
func BenchmarkCompute(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("conversations=%d", n), func(b *testing.B) {
			ctx := context.Background()
			ring, _ := seal.NewKeyring(bytes.Repeat([]byte{4}, 32))
			st, err := sqlstore.OpenSQLite(ctx, filepath.Join(b.TempDir(), "a.db"), ring, sqlstore.Options{Synchronous: "NORMAL"})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			site, _ := st.EnsureSite(ctx, data.Site{Key: "demo", Name: "Demo"})
			st.UpsertGroup(ctx, data.SkillGroup{ID: "order_support", Name: "Orders"})
			agent, err := st.CreateAgent(ctx, data.Agent{Email: "a@x.io", Name: "A", Role: data.RoleAgent, PasswordHash: "x", Capacity: 10, Groups: []string{"order_support"}})
			if err != nil {
				b.Fatal(err)
			}
			meta, _ := json.Marshal(map[string]any{"decision": map[string]any{"kind": "answer", "reason": "faq_match"}})
			start := day.Add(-30 * 24 * time.Hour)
			step := 30 * 24 * time.Hour / time.Duration(n)
			for i := 0; i < n; i++ {
				at := start.Add(time.Duration(i) * step)
				v := data.Visitor{ID: data.NewID("v_"), SiteID: site.ID, CreatedAt: at}
				if err := st.CreateVisitor(ctx, v); err != nil {
					b.Fatal(err)
				}
				c, err := st.CreateConversation(ctx, data.Conversation{SiteID: site.ID, VisitorID: v.ID, CreatedAt: at})
				if err != nil {
					b.Fatal(err)
				}
				add := func(who data.SenderKind, text string, meta json.RawMessage, d time.Duration) {
					if _, _, err := st.AppendMessage(ctx, data.Message{ConversationID: c.ID, SenderKind: who, SenderID: "x", Kind: data.KindText, Text: text, Metadata: meta, CreatedAt: at.Add(d)}); err != nil {
						b.Fatal(err)
					}
				}
				add(data.SenderVisitor, "where is my parcel", nil, time.Second)
				add(data.SenderBot, "It ships in two days.", meta, 2*time.Second)
				if i%4 != 0 {
					continue
				}
				tr := func(from, to data.Status, d time.Duration, who string) {
					if _, _, err := st.Transition(ctx, data.Transition{ConversationID: c.ID, From: from, To: to, SkillGroup: "order_support", HandoffReason: "explicit_request", AssignedAgent: who, At: at.Add(d), Note: "x"}); err != nil {
						b.Fatal(err)
					}
				}
				tr(data.StatusBot, data.StatusQueued, 10*time.Second, "")
				tr(data.StatusQueued, data.StatusAssigned, 40*time.Second, agent.ID)
				add(data.SenderAgent, "Let me check.", nil, time.Minute)
				add(data.SenderVisitor, "thanks", nil, 2*time.Minute)
				tr(data.StatusAssigned, data.StatusClosed, 5*time.Minute, "")
			}
			r := Range{From: start, To: day.Add(24 * time.Hour), SiteKey: "demo"}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				rep, err := Compute(ctx, st, r)
				if err != nil {
					b.Fatal(err)
				}
				if rep.Conversations != n {
					b.Fatalf("conversations = %d, want %d", rep.Conversations, n)
				}
			}
		})
	}
}
