package datatest

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/data"
)

func handoffTests() []struct {
	name string
	fn   func(t *testing.T, s data.Store)
} {
	return []struct {
		name string
		fn   func(t *testing.T, s data.Store)
	}{
		{"Agents", testAgents},
		{"AgentSessions", testAgentSessions},
		{"Groups", testGroups},
		{"QueueOrderAndTimestamps", testQueue},
		{"AssignExactlyOnce", testAssignExactlyOnce},
		{"AssignRespectsCapacity", testAssignCapacity},
		{"FirstResponseAndRating", testFirstResponseAndRating},
		{"Tickets", testTickets},
		{"CannedResponses", testCanned},
		{"Outbox", testOutbox},
		{"SiteSettingsAndEvents", testSiteSettingsAndEvents},
		{"Files", testFiles},
	}
}

func mkGroup(t *testing.T, s data.Store, id string) data.SkillGroup {
	t.Helper()
	g, err := s.UpsertGroup(ctx(t), data.SkillGroup{ID: id, Name: id})
	if err != nil {
		t.Fatalf("UpsertGroup(%s): %v", id, err)
	}
	return g
}

func mkAgent(t *testing.T, s data.Store, email string, capacity int, groups ...string) data.Agent {
	t.Helper()
	a, err := s.CreateAgent(ctx(t), data.Agent{Email: email, Name: email, Role: data.RoleAgent, PasswordHash: "hash", Capacity: capacity, Groups: groups})
	if err != nil {
		t.Fatalf("CreateAgent(%s): %v", email, err)
	}
	return a
}

func testAgents(t *testing.T, s data.Store) {
	c := ctx(t)
	mkGroup(t, s, "order_support")
	mkGroup(t, s, "tech_support")
	a, err := s.CreateAgent(c, data.Agent{Email: " Li.Lei@Example.com ", Name: "李雷", Role: data.RoleAgent, PasswordHash: "h1",
		Capacity: 3, Languages: []string{"zh", "en"}, Groups: []string{"tech_support", "order_support"}})
	if err != nil {
		t.Fatalf("CreateAgent: %v", err)
	}
	if a.Email != "li.lei@example.com" || len(a.Groups) != 2 || a.Groups[0] != "order_support" || a.PasswordHash != "h1" {
		t.Errorf("created agent = %+v; want normalised email, sorted groups", a)
	}
	if got, err := s.AgentByEmail(c, "LI.LEI@example.com"); err != nil || got.ID != a.ID {
		t.Errorf("AgentByEmail = %v, %v", got.ID, err)
	}
	if _, err := s.CreateAgent(c, data.Agent{Email: "li.lei@example.com", Name: "x", Role: data.RoleAgent, PasswordHash: "h"}); !errors.Is(err, data.ErrConflict) {
		t.Errorf("duplicate email: %v, want ErrConflict", err)
	}
	bad := []data.Agent{
		{Email: "no-at", Name: "x", Role: data.RoleAgent, PasswordHash: "h"},
		{Email: "a@b.c", Name: "", Role: data.RoleAgent, PasswordHash: "h"},
		{Email: "a@b.c", Name: "x", Role: "boss", PasswordHash: "h"},
		{Email: "a@b.c", Name: "x", Role: data.RoleAgent},
		{Email: "a@b.c", Name: "x", Role: data.RoleAgent, PasswordHash: "h", Groups: []string{"no_such_group"}},
	}
	for _, b := range bad {
		if _, err := s.CreateAgent(c, b); !errors.Is(err, data.ErrInvalid) {
			t.Errorf("CreateAgent(%+v) = %v, want ErrInvalid", b, err)
		}
	}
	if _, err := s.AgentByEmail(c, "a@b.c"); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("a refused agent was stored (group rollback failed): %v", err)
	}
	a.Name, a.Capacity, a.Groups, a.PasswordHash = "Li Lei", 5, []string{"order_support"}, ""
	up, err := s.UpdateAgent(c, a)
	if err != nil || up.Name != "Li Lei" || up.Capacity != 5 || len(up.Groups) != 1 {
		t.Errorf("UpdateAgent = %+v, %v", up, err)
	}
	if got, _ := s.GetAgent(c, a.ID); got.PasswordHash != "h1" {
		t.Errorf("UpdateAgent with empty hash changed the password hash to %q", got.PasswordHash)
	}
	if _, err := s.UpdateAgent(c, data.Agent{ID: "a_none", Email: "x@y.z", Name: "x", Role: data.RoleAgent}); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("UpdateAgent(missing) = %v, want ErrNotFound", err)
	}
	list, err := s.ListAgents(c)
	if err != nil || len(list) != 1 {
		t.Errorf("ListAgents = %d agents, %v; want 1", len(list), err)
	}
}

func testAgentSessions(t *testing.T, s data.Store) {
	c := ctx(t)
	a := mkAgent(t, s, "s@example.com", 2)
	exp := time.Now().Add(time.Hour).UTC().Truncate(time.Millisecond)
	if err := s.CreateAgentSession(c, data.AgentSession{IDHash: "h1", AgentID: a.ID, CSRFToken: "csrf", ExpiresAt: exp}); err != nil {
		t.Fatal(err)
	}
	got, err := s.AgentSession(c, "h1")
	if err != nil || got.AgentID != a.ID || got.CSRFToken != "csrf" || !got.ExpiresAt.Equal(exp) {
		t.Errorf("AgentSession = %+v, %v", got, err)
	}
	if err := s.DeleteAgentSession(c, "h1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AgentSession(c, "h1"); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("after logout: %v, want ErrNotFound", err)
	}
	_ = s.CreateAgentSession(c, data.AgentSession{IDHash: "h2", AgentID: a.ID, CSRFToken: "x", ExpiresAt: exp})
	a.Name, a.PasswordHash = "Renamed", ""
	if _, err := s.UpdateAgent(c, a); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AgentSession(c, "h2"); err != nil {
		t.Errorf("renaming an agent ended its session: %v", err)
	}
	a.PasswordHash = "new-hash"
	if _, err := s.UpdateAgent(c, a); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AgentSession(c, "h2"); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("a new password kept the agent's session: %v", err)
	}
	_ = s.CreateAgentSession(c, data.AgentSession{IDHash: "h2", AgentID: a.ID, CSRFToken: "x", ExpiresAt: exp})
	a.Disabled, a.PasswordHash = true, ""
	if _, err := s.UpdateAgent(c, a); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AgentSession(c, "h2"); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("disabling an agent kept its session: %v", err)
	}
}

func testGroups(t *testing.T, s data.Store) {
	c := ctx(t)
	in := data.SkillGroup{ID: "order_support", Name: "Orders", Settings: data.GroupSettings{
		FallbackGroup: "default_support", OverflowAfterSeconds: 120, MaxWaitSeconds: 600,
		BusinessHours: &data.BusinessHours{TimeZone: "Asia/Shanghai", Days: map[string][]string{"mon": {"09:00-18:00"}}},
	}}
	g, err := s.UpsertGroup(c, in)
	if err != nil {
		t.Fatal(err)
	}
	if g.Settings.BusinessHours == nil || g.Settings.BusinessHours.Days["mon"][0] != "09:00-18:00" || g.Settings.OverflowAfterSeconds != 120 {
		t.Errorf("group settings round trip = %+v", g.Settings)
	}
	in.Name = "Order support"
	if g, _ = s.UpsertGroup(c, in); g.Name != "Order support" {
		t.Errorf("upsert did not rename: %+v", g)
	}
	mkGroup(t, s, "default_support")
	if gs, err := s.ListGroups(c); err != nil || len(gs) != 2 {
		t.Errorf("ListGroups = %d, %v", len(gs), err)
	}
	if _, err := s.GetGroup(c, "nope"); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("GetGroup(nope) = %v", err)
	}
	if _, err := s.UpsertGroup(c, data.SkillGroup{ID: "", Name: "x"}); !errors.Is(err, data.ErrInvalid) {
		t.Errorf("UpsertGroup(no id) = %v", err)
	}
}

func queue(t *testing.T, s data.Store, conv, group string, priority int) data.Conversation {
	t.Helper()
	got, _, err := s.Transition(ctx(t), data.Transition{ConversationID: conv, From: data.StatusBot, To: data.StatusQueued,
		SkillGroup: group, HandoffReason: "explicit_request", Priority: priority, Note: "queued"})
	if err != nil {
		t.Fatalf("queue %s: %v", conv, err)
	}
	return got
}

func testQueue(t *testing.T, s data.Store) {
	c := ctx(t)
	var ids []string
	for i := 0; i < 4; i++ {
		_, _, conv := fixture(t, s)
		ids = append(ids, conv.ID)
	}
	queue(t, s, ids[0], "g1", 0)
	time.Sleep(3 * time.Millisecond)
	queue(t, s, ids[1], "g1", 0)
	time.Sleep(3 * time.Millisecond)
	vip := queue(t, s, ids[2], "g1", 10)
	queue(t, s, ids[3], "g2", 0)
	if vip.QueuedAt == nil || vip.Priority != 10 || vip.SkillGroup != "g1" {
		t.Errorf("queued conversation = %+v; want queued_at, priority 10, group g1", vip)
	}
	q, err := s.QueuedConversations(c, "g1")
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, cv := range q {
		order = append(order, cv.ID)
	}
	if fmt.Sprint(order) != fmt.Sprint([]string{ids[2], ids[0], ids[1]}) {
		t.Errorf("queue g1 order = %v, want [vip, first, second] = %v", order, []string{ids[2], ids[0], ids[1]})
	}
	if all, _ := s.QueuedConversations(c, ""); len(all) != 4 {
		t.Errorf("all queues hold %d, want 4", len(all))
	}
	// Overflow to another group keeps the original queued_at.
	moved, _, err := s.Transition(c, data.Transition{ConversationID: ids[0], From: data.StatusQueued, To: data.StatusQueued, SkillGroup: "g2", Note: "overflow"})
	if err != nil || moved.SkillGroup != "g2" || !moved.QueuedAt.Equal(*q[1].QueuedAt) {
		t.Errorf("overflow = %+v, %v; want group g2 and the original queued_at %v", moved, err, q[1].QueuedAt)
	}
	// The same overflow from another node (still expecting group g1) conflicts.
	if _, _, err := s.Transition(c, data.Transition{ConversationID: ids[0], From: data.StatusQueued, To: data.StatusQueued, FromGroup: "g1", SkillGroup: "g2", Note: "overflow"}); !errors.Is(err, data.ErrConflict) {
		t.Errorf("overflow expecting the old group = %v, want ErrConflict", err)
	}
	a := mkAgent(t, s, "q@example.com", 5)
	assigned, _, err := s.Transition(c, data.Transition{ConversationID: ids[1], From: data.StatusQueued, To: data.StatusAssigned, AssignedAgent: a.ID, Note: "assigned"})
	if err != nil || assigned.AssignedAt == nil || assigned.AssignedAgent != a.ID {
		t.Fatalf("assign = %+v, %v", assigned, err)
	}
	if waits, err := s.RecentWaits(c, "g1", 10); err != nil || len(waits) != 1 || waits[0] < 0 {
		t.Errorf("RecentWaits = %v, %v; want one wait", waits, err)
	}
	if between, err := s.ConversationsBetween(c, time.Now().Add(-time.Hour), time.Now().Add(time.Hour)); err != nil || len(between) != 4 || between[0].ID != ids[0] {
		t.Errorf("ConversationsBetween = %d conversations, %v; want the 4, oldest first", len(between), err)
	}
	if none, _ := s.ConversationsBetween(c, time.Now().Add(time.Hour), time.Now().Add(2*time.Hour)); len(none) != 0 {
		t.Errorf("ConversationsBetween in the future = %d", len(none))
	}
	if mine, _ := s.AgentConversations(c, a.ID); len(mine) != 1 || mine[0].ID != ids[1] {
		t.Errorf("AgentConversations = %+v", mine)
	}
	if loads, _ := s.AgentLoads(c); loads[a.ID] != 1 {
		t.Errorf("AgentLoads = %v, want %s: 1", loads, a.ID)
	}
	// A transfer straight to another agent keeps assigned_at: the wait in
	// the queue (assigned_at - queued_at) was over when the first agent took it.
	b := mkAgent(t, s, "q2@example.com", 5)
	handed, _, err := s.Transition(c, data.Transition{ConversationID: ids[1], From: data.StatusAssigned, To: data.StatusAssigned, AssignedAgent: b.ID,
		At: assigned.AssignedAt.Add(time.Hour), Note: "transferred"})
	if err != nil || handed.AssignedAgent != b.ID || !handed.AssignedAt.Equal(*assigned.AssignedAt) {
		t.Errorf("transfer to an agent = %+v, %v; want agent %s and assigned_at still %v", handed, err, b.ID, assigned.AssignedAt)
	}
	if _, _, err := s.Transition(c, data.Transition{ConversationID: ids[1], From: data.StatusAssigned, To: data.StatusQueued, FromAgent: a.ID, Note: "requeue"}); !errors.Is(err, data.ErrConflict) {
		t.Errorf("requeue expecting the first agent after the transfer = %v, want ErrConflict", err)
	}
	back, _, err := s.Transition(c, data.Transition{ConversationID: ids[1], From: data.StatusAssigned, To: data.StatusBot, FromAgent: b.ID, Note: "back to bot"})
	if err != nil || back.AssignedAgent != "" {
		t.Errorf("hand back = %+v, %v; want no agent", back, err)
	}
	if _, _, err := s.Transition(c, data.Transition{ConversationID: ids[2], From: data.StatusQueued, To: data.StatusAssigned}); !errors.Is(err, data.ErrInvalid) {
		t.Errorf("assign without agent = %v, want ErrInvalid", err)
	}
	if _, _, err := s.Transition(c, data.Transition{ConversationID: ids[2], From: data.StatusQueued, To: data.StatusClosed, Note: "closed"}); err != nil {
		t.Fatal(err)
	}
	idle, err := s.IdleConversations(c, time.Now().Add(time.Hour), 100)
	if err != nil || len(idle) != 3 || slices.ContainsFunc(idle, func(cv data.Conversation) bool { return cv.ID == ids[2] || cv.Status == data.StatusClosed }) {
		t.Errorf("IdleConversations(in an hour) = %+v, %v; want the 3 open conversations", idle, err)
	}
	if none, err := s.IdleConversations(c, time.Now().Add(-time.Hour), 100); err != nil || len(none) != 0 {
		t.Errorf("IdleConversations(an hour ago) = %d, %v; want none", len(none), err)
	}
	// An idle close does not close a conversation active since the cut-off.
	woke := idle[0]
	if _, _, err := s.Transition(c, data.Transition{ConversationID: woke.ID, From: woke.Status, To: data.StatusClosed, IdleBefore: time.Now().Add(-time.Hour), Note: "idle"}); !errors.Is(err, data.ErrConflict) {
		t.Errorf("idle close of a conversation active since = %v, want ErrConflict", err)
	}
	if _, _, err := s.Transition(c, data.Transition{ConversationID: woke.ID, From: woke.Status, To: data.StatusClosed, IdleBefore: time.Now().Add(time.Hour), Note: "idle"}); err != nil {
		t.Errorf("idle close of a conversation idle since the cut-off = %v", err)
	}
}

// testAssignExactlyOnce: 50 concurrent accepts of one conversation, one winner.
func testAssignExactlyOnce(t *testing.T, s data.Store) {
	c := ctx(t)
	_, _, conv := fixture(t, s)
	queue(t, s, conv.ID, "g", 0)
	var agents []data.Agent
	for i := 0; i < 50; i++ {
		agents = append(agents, mkAgent(t, s, fmt.Sprintf("a%d@example.com", i), 5))
	}
	var wins, conflicts atomic.Int32
	var wg sync.WaitGroup
	for i := range agents {
		wg.Add(1)
		go func(a data.Agent) {
			defer wg.Done()
			_, _, err := s.Transition(c, data.Transition{ConversationID: conv.ID, From: data.StatusQueued, To: data.StatusAssigned, AssignedAgent: a.ID, Capacity: a.Capacity, Note: "accepted"})
			switch {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, data.ErrConflict):
				conflicts.Add(1)
			default:
				t.Errorf("accept: %v", err)
			}
		}(agents[i])
	}
	wg.Wait()
	if wins.Load() != 1 || conflicts.Load() != 49 {
		t.Errorf("concurrent accepts: %d winners, %d conflicts; want 1 and 49", wins.Load(), conflicts.Load())
	}
	msgs, _ := s.ListMessages(c, conv.ID, 0, 0)
	if len(msgs) != 2 {
		t.Errorf("transcript has %d messages, want 2 (queued, assigned)", len(msgs))
	}
}

func testAssignCapacity(t *testing.T, s data.Store) {
	c := ctx(t)
	a := mkAgent(t, s, "cap@example.com", 2)
	var convs []string
	for i := 0; i < 3; i++ {
		_, _, conv := fixture(t, s)
		queue(t, s, conv.ID, "g", 0)
		convs = append(convs, conv.ID)
	}
	for i, id := range convs {
		_, _, err := s.Transition(c, data.Transition{ConversationID: id, From: data.StatusQueued, To: data.StatusAssigned, AssignedAgent: a.ID, Capacity: 2, Note: "x"})
		if i < 2 && err != nil {
			t.Errorf("assignment %d within capacity: %v", i+1, err)
		}
		if i == 2 && !errors.Is(err, data.ErrConflict) {
			t.Errorf("assignment over capacity = %v, want ErrConflict", err)
		}
	}
	if got, _ := s.GetConversation(c, convs[2]); got.Status != data.StatusQueued {
		t.Errorf("refused assignment changed the conversation to %s", got.Status)
	}
}

func testFirstResponseAndRating(t *testing.T, s data.Store) {
	c := ctx(t)
	_, _, conv := fixture(t, s)
	queue(t, s, conv.ID, "g", 0)
	a := mkAgent(t, s, "r@example.com", 2)
	if _, _, err := s.Transition(c, data.Transition{ConversationID: conv.ID, From: data.StatusQueued, To: data.StatusAssigned, AssignedAgent: a.ID, Note: "x"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.AppendMessage(c, data.Message{ConversationID: conv.ID, SenderKind: data.SenderVisitor, Kind: data.KindText, Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetConversation(c, conv.ID); got.FirstResponseAt != nil {
		t.Error("a visitor message set first_response_at")
	}
	// An internal note is not an answer the visitor sees.
	if _, _, err := s.AppendMessage(c, data.Message{ConversationID: conv.ID, SenderKind: data.SenderAgent, SenderID: a.ID, Kind: data.KindNote, Text: "checking the order"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetConversation(c, conv.ID); got.FirstResponseAt != nil {
		t.Error("an internal note set first_response_at")
	}
	if _, _, err := s.AppendMessage(c, data.Message{ConversationID: conv.ID, SenderKind: data.SenderAgent, SenderID: a.ID, Kind: data.KindText, Text: "hello, how can I help?"}); err != nil {
		t.Fatal(err)
	}
	first, _ := s.GetConversation(c, conv.ID)
	if first.FirstResponseAt == nil {
		t.Fatal("the agent's message did not set first_response_at")
	}
	time.Sleep(3 * time.Millisecond)
	_, _, _ = s.AppendMessage(c, data.Message{ConversationID: conv.ID, SenderKind: data.SenderAgent, SenderID: a.ID, Kind: data.KindText, Text: "again"})
	if again, _ := s.GetConversation(c, conv.ID); !again.FirstResponseAt.Equal(*first.FirstResponseAt) {
		t.Error("a second agent message moved first_response_at")
	}
	if _, _, err := s.RateConversation(c, conv.ID, 5, ""); !errors.Is(err, data.ErrConflict) {
		t.Errorf("rating an open conversation = %v, want ErrConflict", err)
	}
	if _, _, err := s.Transition(c, data.Transition{ConversationID: conv.ID, From: data.StatusAssigned, To: data.StatusClosed, Note: "closed"}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []int{0, 6, -1} {
		if _, _, err := s.RateConversation(c, conv.ID, bad, ""); !errors.Is(err, data.ErrInvalid) {
			t.Errorf("rating %d = %v, want ErrInvalid", bad, err)
		}
	}
	rated, msg, err := s.RateConversation(c, conv.ID, 5, "很好 great")
	if err != nil || rated.Rating != 5 || msg.SenderKind != data.SenderSystem || msg.Kind != data.KindEvent {
		t.Errorf("RateConversation = %+v %+v, %v", rated, msg, err)
	}
	if _, _, err := s.RateConversation(c, conv.ID, 1, ""); !errors.Is(err, data.ErrConflict) {
		t.Errorf("second rating = %v, want ErrConflict", err)
	}
}

func testTickets(t *testing.T, s data.Store) {
	c := ctx(t)
	site, v, conv := fixture(t, s)
	mail := data.OutboxItem{Kind: "email", Payload: json.RawMessage(`{"to":"support@example.com"}`)}
	tk, err := s.CreateTicket(c, data.Ticket{SiteID: site.ID, ConversationID: conv.ID, VisitorID: v.ID, GroupID: "order_support",
		Subject: "包裹没到", Body: "My parcel has not arrived, order 12345", Contact: data.Contact{Name: "Han Meimei", Email: "han@example.com"}}, mail)
	if err != nil {
		t.Fatalf("CreateTicket: %v", err)
	}
	got, err := s.GetTicket(c, tk.ID)
	if err != nil || got.Status != data.TicketOpen || got.Subject != "包裹没到" || got.Contact.Email != "han@example.com" || got.ConversationID != conv.ID {
		t.Errorf("GetTicket = %+v, %v", got, err)
	}
	items, err := s.ClaimOutbox(c, time.Now().Add(time.Second), time.Minute, 10)
	if err != nil || len(items) != 1 || items[0].Kind != "email" {
		t.Errorf("outbox after CreateTicket = %+v, %v; want the email item", items, err)
	}
	if _, err := s.CreateTicket(c, data.Ticket{SiteID: site.ID, Body: " "}); !errors.Is(err, data.ErrInvalid) {
		t.Errorf("ticket without body = %v, want ErrInvalid", err)
	}
	if _, err := s.CreateTicket(c, data.Ticket{SiteID: site.ID, Body: "x"}, data.OutboxItem{Kind: "email", Payload: json.RawMessage("{")}); !errors.Is(err, data.ErrInvalid) {
		t.Errorf("ticket with a bad outbox item = %v, want ErrInvalid", err)
	}
	if list, _ := s.ListTickets(c, data.TicketFilter{}); len(list) != 1 {
		t.Errorf("a refused ticket was stored: %d tickets", len(list))
	}
	if _, err := s.AddTicketEvent(c, data.TicketEvent{TicketID: tk.ID, Kind: "note", AuthorID: "a1", Body: "called the courier"}); err != nil {
		t.Fatal(err)
	}
	assignee := "a1"
	up, err := s.UpdateTicket(c, data.TicketUpdate{ID: tk.ID, Status: data.TicketSolved, Assignee: &assignee, AuthorID: "a1"})
	if err != nil || up.Status != data.TicketSolved || up.SolvedAt == nil || up.Assignee != "a1" {
		t.Errorf("UpdateTicket = %+v, %v", up, err)
	}
	evs, err := s.TicketEvents(c, tk.ID)
	if err != nil || len(evs) != 2 || evs[0].Kind != "note" || evs[0].Body != "called the courier" || evs[1].Kind != "status" || evs[1].Seq != 2 {
		t.Errorf("TicketEvents = %+v, %v", evs, err)
	}
	if recent, _ := s.ListTickets(c, data.TicketFilter{CreatedFrom: time.Now().Add(-time.Hour), CreatedTo: time.Now().Add(time.Hour)}); len(recent) != 1 {
		t.Errorf("tickets created in the last hour = %d, want 1", len(recent))
	}
	if old, _ := s.ListTickets(c, data.TicketFilter{CreatedTo: time.Now().Add(-time.Hour)}); len(old) != 0 {
		t.Errorf("tickets created over an hour ago = %d, want 0", len(old))
	}
	if open, _ := s.ListTickets(c, data.TicketFilter{Status: data.TicketOpen}); len(open) != 0 {
		t.Errorf("open tickets = %d, want 0", len(open))
	}
	if solved, _ := s.ListTickets(c, data.TicketFilter{Status: data.TicketSolved}); len(solved) != 1 {
		t.Errorf("solved tickets = %d, want 1", len(solved))
	}
	for _, tc := range []struct {
		f    data.TicketFilter
		want int
	}{
		{data.TicketFilter{Assignee: "a1"}, 1},
		{data.TicketFilter{Assignee: "a2"}, 0},
		{data.TicketFilter{GroupID: "order_support", Assignee: "a1"}, 1},
		{data.TicketFilter{GroupID: "tech_support", Assignee: "a1"}, 0},
	} {
		if list, err := s.ListTickets(c, tc.f); err != nil || len(list) != tc.want {
			t.Errorf("ListTickets(%+v) = %d tickets, %v; want %d", tc.f, len(list), err, tc.want)
		}
	}
	if _, err := s.AddTicketEvent(c, data.TicketEvent{TicketID: "t_none", Kind: "note", Body: "x"}); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("event on a missing ticket = %v", err)
	}
	if _, err := s.UpdateTicket(c, data.TicketUpdate{ID: tk.ID, Status: "lost"}); !errors.Is(err, data.ErrInvalid) {
		t.Errorf("bad status = %v", err)
	}
}

func testCanned(t *testing.T, s data.Store) {
	c := ctx(t)
	r, err := s.UpsertCanned(c, data.CannedResponse{Shortcut: "/refund", Title: "Refund policy", Body: "Refunds take 3-5 days."})
	if err != nil || r.Shortcut != "refund" {
		t.Fatalf("UpsertCanned = %+v, %v", r, err)
	}
	if _, err := s.UpsertCanned(c, data.CannedResponse{Shortcut: "refund", Body: "other"}); !errors.Is(err, data.ErrConflict) {
		t.Errorf("duplicate shortcut = %v, want ErrConflict", err)
	}
	if _, err := s.UpsertCanned(c, data.CannedResponse{Shortcut: "has space", Body: "x"}); !errors.Is(err, data.ErrInvalid) {
		t.Errorf("bad shortcut = %v, want ErrInvalid", err)
	}
	r.Body = "Refunds take 3-5 working days."
	if _, err := s.UpsertCanned(c, r); err != nil {
		t.Fatal(err)
	}
	list, _ := s.ListCanned(c)
	if len(list) != 1 || list[0].Body != r.Body {
		t.Errorf("ListCanned = %+v", list)
	}
	if err := s.DeleteCanned(c, r.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteCanned(c, r.ID); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("second delete = %v", err)
	}
}

func testOutbox(t *testing.T, s data.Store) {
	c := ctx(t)
	t0 := time.Now().UTC().Truncate(time.Millisecond)
	if err := s.EnqueueOutbox(c,
		data.OutboxItem{ID: "o1", Kind: "email", Payload: json.RawMessage(`{"n":1}`), NextAttemptAt: t0},
		data.OutboxItem{ID: "o2", Kind: "email", Payload: json.RawMessage(`{"n":2}`), NextAttemptAt: t0.Add(time.Hour)},
	); err != nil {
		t.Fatal(err)
	}
	first, err := s.ClaimOutbox(c, t0, time.Minute, 10)
	if err != nil || len(first) != 1 || first[0].ID != "o1" || first[0].Attempts != 1 || string(first[0].Payload) != `{"n":1}` {
		t.Fatalf("first claim = %+v, %v; want o1 only (o2 not due)", first, err)
	}
	if again, _ := s.ClaimOutbox(c, t0.Add(time.Second), time.Minute, 10); len(again) != 0 {
		t.Errorf("a leased item was claimed again: %+v", again)
	}
	if err := s.RetryOutbox(c, "o1", "smtp: connection refused", t0.Add(10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if early, _ := s.ClaimOutbox(c, t0.Add(5*time.Second), time.Minute, 10); len(early) != 0 {
		t.Errorf("an item was claimed before its retry time: %+v", early)
	}
	retry, _ := s.ClaimOutbox(c, t0.Add(11*time.Second), time.Minute, 10)
	if len(retry) != 1 || retry[0].Attempts != 2 || retry[0].LastError != "smtp: connection refused" {
		t.Fatalf("retry claim = %+v; want o1, attempt 2, with the last error", retry)
	}
	if err := s.CompleteOutbox(c, "o1", t0.Add(12*time.Second)); err != nil {
		t.Fatal(err)
	}
	if done, _ := s.ClaimOutbox(c, t0.Add(2*time.Hour), time.Minute, 10); len(done) != 1 || done[0].ID != "o2" {
		t.Errorf("after completion claims = %+v; want only o2", done)
	}
	log, err := s.ListOutbox(c, "email", 10)
	if err != nil || len(log) != 2 || log[0].ID != "o2" || log[1].DoneAt == nil || log[1].Attempts != 2 || log[0].DoneAt != nil {
		t.Errorf("ListOutbox = %+v, %v; want o2 pending then o1 done after 2 attempts", log, err)
	}
	// A claim for some kinds leaves the others alone, attempts untouched.
	if err := s.EnqueueOutbox(c, data.OutboxItem{ID: "o3", Kind: "sms", Payload: json.RawMessage(`{"n":3}`), NextAttemptAt: t0}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ClaimOutbox(c, t0.Add(3*time.Hour), time.Minute, 10, "webhook", "push"); len(got) != 0 {
		t.Errorf("claim of webhook and push items = %+v; want none", got)
	}
	if got, _ := s.ClaimOutbox(c, t0.Add(3*time.Hour), time.Minute, 10, "webhook", "sms"); len(got) != 1 || got[0].ID != "o3" || got[0].Attempts != 1 {
		t.Errorf("claim of webhook and sms items = %+v; want o3 at its first attempt", got)
	}
	if none, _ := s.ListOutbox(c, "webhook", 10); len(none) != 0 {
		t.Errorf("ListOutbox(webhook) = %+v", none)
	}
	if err := s.CompleteOutbox(c, "o_none", t0); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("complete missing = %v", err)
	}
}

func testSiteSettingsAndEvents(t *testing.T, s data.Store) {
	c := ctx(t)
	site, v, conv := fixture(t, s)
	st := data.SiteSettings{Widget: data.WidgetSettings{
		PreChat: data.PreChatForm{Enabled: true, RequireContact: true, Topics: []string{"Orders", "订单"}},
		Invitations: []data.Invitation{{ID: "welcome", When: data.InvitationWhen{SecondsOnPage: 10, URLPattern: "/products/*"},
			Message: map[string]string{"en": "Need help?", "zh": "需要帮助吗？"}, Coupon: &data.Coupon{Code: "WELCOME10", Title: "10% off"}, MaxPerDay: 1}},
	}}
	got, err := s.UpdateSiteSettings(c, site.ID, st)
	if err != nil {
		t.Fatalf("UpdateSiteSettings: %v", err)
	}
	if !got.Settings.Widget.PreChat.Enabled || len(got.Settings.Widget.Invitations) != 1 || got.Settings.Widget.Invitations[0].Coupon.Code != "WELCOME10" {
		t.Errorf("settings round trip = %+v", got.Settings)
	}
	hooked, err := s.UpdateSiteSettings(c, site.ID, data.SiteSettings{Widget: st.Widget, Webhooks: []data.Webhook{{ID: "crm", URL: "https://crm.example/h", Secret: "webhook-secret-0123456789"}}})
	if err != nil || hooked.Settings.Webhooks[0].Secret != "webhook-secret-0123456789" {
		t.Errorf("webhook secret round trip = %+v, %v", hooked.Settings.Webhooks, err)
	}
	if again, _ := s.GetSite(c, site.ID); again.Settings.Webhooks[0].Secret != "webhook-secret-0123456789" {
		t.Errorf("webhook secret read back = %q", again.Settings.Webhooks[0].Secret)
	}
	if again, _ := s.SiteByKey(c, site.Key); again.Settings.Widget.Invitations[0].Message["zh"] != "需要帮助吗？" {
		t.Errorf("SiteByKey settings = %+v", again.Settings)
	}
	if _, err := s.UpdateSiteSettings(c, "s_none", st); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("UpdateSiteSettings(missing) = %v", err)
	}
	p := data.Personal{Verified: true, ExternalID: "cust-42", Name: "Li", Email: "li@example.com"}
	if err := s.UpdateVisitorPersonal(c, v.ID, p); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetVisitor(c, v.ID); got.Personal != p {
		t.Errorf("personal = %+v, want %+v", got.Personal, p)
	}
	since := time.Now().Add(-time.Minute)
	for _, name := range []string{"invitation_shown", "invitation_shown", "invitation_clicked"} {
		if err := s.RecordEvent(c, data.VisitorEvent{SiteID: site.ID, VisitorID: v.ID, ConversationID: conv.ID, Name: name, Props: json.RawMessage(`{"invitation":"welcome"}`)}); err != nil {
			t.Fatalf("RecordEvent: %v", err)
		}
	}
	if err := s.RecordEvent(c, data.VisitorEvent{SiteID: site.ID, VisitorID: v.ID, Name: ""}); !errors.Is(err, data.ErrInvalid) {
		t.Errorf("event without a name = %v", err)
	}
	if err := s.RecordEvent(c, data.VisitorEvent{SiteID: site.ID, VisitorID: "v_none", Name: "x"}); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("event of an unknown visitor = %v", err)
	}
	counts, err := s.CountEvents(c, site.ID, since, time.Now().Add(time.Hour))
	if err != nil || counts["invitation_shown"] != 2 || counts["invitation_clicked"] != 1 {
		t.Errorf("CountEvents = %v, %v", counts, err)
	}
	time.Sleep(2 * time.Millisecond)
	if err := s.RecordEvent(c, data.VisitorEvent{SiteID: site.ID, VisitorID: v.ID, Name: "page_view", Props: json.RawMessage(`{"url":"https://shop.example/a"}`)}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond)
	if err := s.RecordEvent(c, data.VisitorEvent{SiteID: site.ID, VisitorID: v.ID, Name: "page_view", Props: json.RawMessage(`{"url":"https://shop.example/b"}`)}); err != nil {
		t.Fatal(err)
	}
	if last, err := s.LatestEvent(c, v.ID, "page_view"); err != nil || string(last.Props) != `{"url":"https://shop.example/b"}` {
		t.Errorf("LatestEvent = %+v, %v; want the second page view", last, err)
	}
	if _, err := s.LatestEvent(c, v.ID, "never"); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("LatestEvent(never) = %v", err)
	}
	if later, _ := s.CountEvents(c, site.ID, time.Now().Add(time.Minute), time.Now().Add(time.Hour)); len(later) != 0 {
		t.Errorf("CountEvents in the future = %v", later)
	}
	if before, _ := s.CountEvents(c, site.ID, since.Add(-time.Hour), since); len(before) != 0 {
		t.Errorf("CountEvents before the events = %v; the end of the range must bound it", before)
	}
}

// fileMessage is a visitor's file message of conv carrying f.
func fileMessage(conv data.Conversation, v data.Visitor, clientID string, f data.File) data.Message {
	return data.Message{ConversationID: conv.ID, SenderKind: data.SenderVisitor, SenderID: v.ID, Kind: data.KindFile, Text: f.Name,
		ClientMsgID: clientID, Metadata: json.RawMessage(`{"file":{"id":"` + f.ID + `"}}`), Attachment: &f}
}

func testFiles(t *testing.T, s data.Store) {
	c := ctx(t)
	site, v, conv := fixture(t, s)
	png := []byte("\x89PNG\r\n\x1a\n fake image bytes")
	file := func(id string, content []byte) data.File {
		return data.File{ID: id, SiteID: site.ID, ConversationID: conv.ID, UploaderKind: data.SenderVisitor, UploaderID: v.ID,
			Name: "收据.png", ContentType: "image/png", Content: content}
	}
	f := file(data.NewID("f_"), png)
	m, dup, err := s.AppendMessage(c, fileMessage(conv, v, "up1", f))
	if err != nil || dup || m.Attachment != nil || m.Kind != data.KindFile {
		t.Fatalf("AppendMessage with a file = %+v, %v, %v; want a new message without the attachment", m, dup, err)
	}
	got, err := s.GetFile(c, f.ID)
	if err != nil || got.Name != "收据.png" || string(got.Content) != string(png) || got.Size != int64(len(png)) || got.ConversationID != conv.ID {
		t.Errorf("GetFile = %+v, %v", got, err)
	}
	if _, err := s.GetFile(c, "f_none"); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("GetFile(missing) = %v", err)
	}
	// A retried upload returns the stored message and stores no second file.
	again := file(data.NewID("f_"), png)
	if m2, dup, err := s.AppendMessage(c, fileMessage(conv, v, "up1", again)); err != nil || !dup || m2.Seq != m.Seq {
		t.Errorf("retried file message = %+v, %v, %v; want the stored one", m2, dup, err)
	}
	if _, err := s.GetFile(c, again.ID); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("the retry's file was stored: GetFile = %v, want ErrNotFound", err)
	}
	// Refused files leave no message behind, and refused messages no file.
	bad := map[string]struct {
		m    data.Message
		want error
	}{
		"empty file": {fileMessage(conv, v, "b1", file(data.NewID("f_"), nil)), data.ErrInvalid},
		"no file id": {fileMessage(conv, v, "b2", file("", png)), data.ErrInvalid},
		"other conversation": {func() data.Message {
			x := fileMessage(conv, v, "b3", file(data.NewID("f_"), png))
			x.Attachment.ConversationID = "c_other"
			return x
		}(), data.ErrInvalid},
		"file id already stored": {fileMessage(conv, v, "b4", file(f.ID, png)), data.ErrConflict},
	}
	for name, tc := range bad {
		if _, _, err := s.AppendMessage(c, tc.m); !errors.Is(err, tc.want) {
			t.Errorf("%s: AppendMessage = %v, want %v", name, err, tc.want)
		}
	}
	if msgs, _ := s.ListMessages(c, conv.ID, m.Seq, 10); len(msgs) != 0 {
		t.Errorf("messages after refused file messages = %+v, want none", msgs)
	}
	lost := file(data.NewID("f_"), png)
	lost.ConversationID = "c_none"
	orphan := fileMessage(conv, v, "b5", lost)
	orphan.ConversationID = "c_none"
	if _, _, err := s.AppendMessage(c, orphan); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("file message of an unknown conversation = %v, want ErrNotFound", err)
	}
	if _, err := s.GetFile(c, lost.ID); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("file of an unknown conversation was stored: %v", err)
	}
}
