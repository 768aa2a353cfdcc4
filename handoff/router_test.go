package handoff

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/data"
	"github.com/frontdesk/frontdesk/data/pubsub"
	"github.com/frontdesk/frontdesk/data/seal"
	"github.com/frontdesk/frontdesk/data/sqlstore"
)

type env struct {
	t        *testing.T
	store    *sqlstore.Store
	router   *Router
	presence *MemoryPresence
	broker   *pubsub.Memory
	site     data.Site
	clock    time.Time
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ring, _ := seal.NewKeyring(bytes.Repeat([]byte{9}, 32))
	store, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "h.db"), ring, sqlstore.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	site, _ := store.EnsureSite(context.Background(), data.Site{Key: "demo", Name: "Demo"})
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e := &env{t: t, store: store, broker: pubsub.NewMemory(), site: site, clock: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	e.presence = NewMemoryPresence(50*time.Millisecond, nil)
	e.router = NewRouter(store, pubsub.NewPublisher(e.broker, log), e.presence, log, Config{NotifyEmail: "support@acme.example"})
	e.router.now = func() time.Time { return e.clock }
	for _, g := range []string{"default_support", "order_support", "tech_support"} {
		e.group(data.SkillGroup{ID: g, Name: g})
	}
	return e
}

func (e *env) group(g data.SkillGroup) {
	e.t.Helper()
	if _, err := e.store.UpsertGroup(context.Background(), g); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) agent(email string, capacity int, groups ...string) data.Agent {
	e.t.Helper()
	a, err := e.store.CreateAgent(context.Background(), data.Agent{Email: email, Name: email, Role: data.RoleAgent, PasswordHash: "x", Capacity: capacity, Groups: groups})
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

// conversation makes a conversation in bot status.
func (e *env) conversation() data.Conversation {
	e.t.Helper()
	ctx := context.Background()
	v := data.Visitor{ID: data.NewID("v_"), SiteID: e.site.ID}
	if err := e.store.CreateVisitor(ctx, v); err != nil {
		e.t.Fatal(err)
	}
	c, err := e.store.CreateConversation(ctx, data.Conversation{SiteID: e.site.ID, VisitorID: v.ID})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) enqueue(group string, priority int) data.Conversation {
	e.t.Helper()
	c := e.conversation()
	got, err := e.router.Enqueue(context.Background(), c.ID, group, "explicit_request", priority)
	if err != nil {
		e.t.Fatalf("Enqueue: %v", err)
	}
	e.clock = e.clock.Add(time.Second)
	return got
}

func (e *env) status(id string) data.Conversation {
	e.t.Helper()
	c, err := e.store.GetConversation(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func TestRoutingPicksLeastLoadedThenLongestIdle(t *testing.T) {
	e := newEnv(t)
	a := e.agent("a@x.io", 2, "order_support")
	b := e.agent("b@x.io", 2, "order_support")
	tech := e.agent("tech@x.io", 5, "tech_support")
	for _, ag := range []data.Agent{a, b, tech} {
		e.presence.Connect(ag.ID)
	}
	e.presence.MarkAssigned(a.ID, e.clock.Add(-time.Hour)) // a idle longest
	e.presence.MarkAssigned(b.ID, e.clock.Add(-time.Minute))

	c1 := e.enqueue("order_support", 0)
	if got := e.status(c1.ID); got.Status != data.StatusAssigned || got.AssignedAgent != a.ID {
		t.Fatalf("first conversation -> %s %s, want assigned to the longest idle agent %s", got.Status, got.AssignedAgent, a.ID)
	}
	c2 := e.enqueue("order_support", 0)
	if got := e.status(c2.ID); got.AssignedAgent != b.ID {
		t.Errorf("second conversation -> %s, want the least loaded agent %s", got.AssignedAgent, b.ID)
	}
	c3 := e.enqueue("order_support", 0)
	c4 := e.enqueue("order_support", 0)
	c5 := e.enqueue("order_support", 0)
	loads, _ := e.store.AgentLoads(context.Background())
	if loads[a.ID] != 2 || loads[b.ID] != 2 || loads[tech.ID] != 0 {
		t.Errorf("loads = %v; want a=2 b=2 (capacity) and tech untouched (other skill)", loads)
	}
	if got := e.status(c5.ID); got.Status != data.StatusQueued {
		t.Errorf("fifth conversation is %s, want queued (everyone at capacity)", got.Status)
	}
	_ = c3
	_ = c4
	// Closing one frees capacity: the queued conversation is assigned.
	if _, err := e.router.Close(context.Background(), a.ID, c1.ID); err != nil {
		t.Fatal(err)
	}
	if got := e.status(c5.ID); got.Status != data.StatusAssigned || got.AssignedAgent != a.ID {
		t.Errorf("after a close the waiting conversation is %s/%s, want assigned to %s", got.Status, got.AssignedAgent, a.ID)
	}
}

func TestPriorityGoesFirst(t *testing.T) {
	e := newEnv(t)
	normal := e.enqueue("order_support", 0)
	vip := e.enqueue("order_support", 10)
	q, _ := e.router.Queue(context.Background(), "order_support")
	if len(q.Entries) != 2 || q.Entries[0].ConversationID != vip.ID || q.Entries[1].ConversationID != normal.ID {
		t.Fatalf("queue = %+v; want the VIP first", q.Entries)
	}
	a := e.agent("a@x.io", 1, "order_support")
	release := e.presence.Connect(a.ID)
	defer release()
	e.router.AgentAvailable(context.Background(), a.ID)
	if got := e.status(vip.ID); got.AssignedAgent != a.ID {
		t.Errorf("VIP conversation is %s/%s, want assigned first", got.Status, got.AssignedAgent)
	}
	if got := e.status(normal.ID); got.Status != data.StatusQueued {
		t.Errorf("normal conversation is %s, want still queued", got.Status)
	}
}

func TestManualRoutingAndConcurrentAccepts(t *testing.T) {
	e := newEnv(t)
	e.group(data.SkillGroup{ID: "order_support", Name: "Orders", Settings: data.GroupSettings{Routing: "manual"}})
	var agents []data.Agent
	for i := 0; i < 50; i++ {
		a := e.agent(fmt.Sprintf("agent%d@x.io", i), 3, "order_support")
		e.presence.Connect(a.ID)
		agents = append(agents, a)
	}
	c := e.enqueue("order_support", 0)
	if got := e.status(c.ID); got.Status != data.StatusQueued {
		t.Fatalf("manual routing assigned the conversation: %s", got.Status)
	}
	var wins atomic.Int32
	var wg sync.WaitGroup
	for _, a := range agents {
		wg.Add(1)
		go func(a data.Agent) {
			defer wg.Done()
			_, err := e.router.Accept(context.Background(), a.ID, c.ID)
			if err == nil {
				wins.Add(1)
			} else if !errors.Is(err, data.ErrConflict) {
				t.Errorf("accept: %v", err)
			}
		}(a)
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Errorf("%d agents won the conversation, want exactly 1", wins.Load())
	}
	outsider := e.agent("tech@x.io", 3, "tech_support")
	c2 := e.enqueue("order_support", 0)
	if _, err := e.router.Accept(context.Background(), outsider.ID, c2.ID); !errors.Is(err, ErrNotAllowed) {
		t.Errorf("accept by an agent of another group = %v, want ErrNotAllowed", err)
	}
}

func TestOverflowAfterWait(t *testing.T) {
	e := newEnv(t)
	e.group(data.SkillGroup{ID: "order_support", Name: "Orders", Settings: data.GroupSettings{FallbackGroup: "default_support", OverflowAfterSeconds: 60}})
	c := e.enqueue("order_support", 0)
	e.clock = e.clock.Add(30 * time.Second)
	e.router.Tick(context.Background())
	if got := e.status(c.ID); got.SkillGroup != "order_support" {
		t.Fatalf("overflowed after 30s: group %s", got.SkillGroup)
	}
	generalist := e.agent("g@x.io", 2, "default_support")
	e.presence.Connect(generalist.ID)
	e.clock = e.clock.Add(31 * time.Second)
	e.router.Tick(context.Background())
	got := e.status(c.ID)
	if got.SkillGroup != "default_support" || got.Status != data.StatusAssigned || got.AssignedAgent != generalist.ID {
		t.Errorf("after 61s: %s in %s to %q; want assigned in default_support to the fallback agent", got.Status, got.SkillGroup, got.AssignedAgent)
	}
}

func TestOfferTicketWhenNobodyIsThere(t *testing.T) {
	e := newEnv(t)
	c := e.enqueue("tech_support", 0)
	msgs, _ := e.store.ListMessages(context.Background(), c.ID, 0, 0)
	var offers int
	for _, m := range msgs {
		if m.ClientMsgID == "offer-ticket-"+OfferNoAgents {
			offers++
		}
	}
	if offers != 1 {
		t.Fatalf("transcript %+v; want one leave-a-message offer", msgs)
	}
	e.router.Tick(context.Background())
	e.router.Tick(context.Background())
	msgs, _ = e.store.ListMessages(context.Background(), c.ID, 0, 0)
	if len(msgs) != 2 {
		t.Errorf("ticks repeated the offer: %d messages, want 2", len(msgs))
	}
	tk, err := e.router.LeaveMessage(context.Background(), e.status(c.ID), data.Contact{Name: "Wang", Email: "wang@example.com"}, "我的账号登录不上\nIt says password wrong")
	if err != nil {
		t.Fatalf("LeaveMessage: %v", err)
	}
	if tk.GroupID != "tech_support" || tk.Subject != "我的账号登录不上" || tk.ConversationID != c.ID {
		t.Errorf("ticket = %+v", tk)
	}
	if got := e.status(c.ID); got.Status != data.StatusClosed {
		t.Errorf("conversation after leaving a message is %s, want closed", got.Status)
	}
	items, _ := e.store.ClaimOutbox(context.Background(), time.Now().Add(time.Minute), time.Minute, 10)
	if len(items) != 1 || items[0].Kind != OutboxEmail {
		t.Errorf("outbox = %+v; want one e-mail to the group", items)
	}
	for _, bad := range []data.Contact{{}, {Email: "not-an-email"}, {Email: "a@b.c\r\nBcc: x@y.z"}} {
		c2 := e.enqueue("tech_support", 0)
		if _, err := e.router.LeaveMessage(context.Background(), c2, bad, "hi"); !errors.Is(err, data.ErrInvalid) {
			t.Errorf("LeaveMessage with contact %+v = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestMaxWaitOffer(t *testing.T) {
	e := newEnv(t)
	e.group(data.SkillGroup{ID: "order_support", Name: "Orders", Settings: data.GroupSettings{Routing: "manual", MaxWaitSeconds: 120}})
	a := e.agent("a@x.io", 1, "order_support")
	e.presence.Connect(a.ID)
	c := e.enqueue("order_support", 0)
	e.clock = e.clock.Add(100 * time.Second)
	e.router.Tick(context.Background())
	hasOffer := func() bool {
		msgs, _ := e.store.ListMessages(context.Background(), c.ID, 0, 0)
		for _, m := range msgs {
			if m.ClientMsgID == "offer-ticket-"+OfferMaxWait {
				return true
			}
		}
		return false
	}
	if hasOffer() {
		t.Fatal("offered to leave a message before the wait limit")
	}
	e.clock = e.clock.Add(30 * time.Second)
	e.router.Tick(context.Background())
	if !hasOffer() {
		t.Error("no leave-a-message offer after the wait limit")
	}
}

func TestPositionAndEstimate(t *testing.T) {
	e := newEnv(t)
	e.group(data.SkillGroup{ID: "order_support", Name: "Orders", Settings: data.GroupSettings{Routing: "manual"}})
	a := e.agent("a@x.io", 5, "order_support")
	e.presence.Connect(a.ID)
	// History: three conversations that waited 60s, 120s and 180s.
	for _, wait := range []time.Duration{60 * time.Second, 120 * time.Second, 180 * time.Second} {
		c := e.enqueue("order_support", 0)
		e.clock = e.clock.Add(wait - time.Second)
		if _, err := e.router.Accept(context.Background(), a.ID, c.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.router.Close(context.Background(), a.ID, c.ID); err != nil {
			t.Fatal(err)
		}
	}
	first := e.enqueue("order_support", 0)
	second := e.enqueue("order_support", 0)
	p1, err := e.router.Position(context.Background(), e.status(first.ID))
	if err != nil {
		t.Fatal(err)
	}
	p2, _ := e.router.Position(context.Background(), e.status(second.ID))
	if p1.Position != 1 || p2.Position != 2 {
		t.Errorf("positions = %d, %d; want 1, 2", p1.Position, p2.Position)
	}
	if p1.EstimatedWaitSeconds != 120 || p2.EstimatedWaitSeconds != 240 {
		t.Errorf("estimates = %ds, %ds; want the median wait (120s) per place in line with one agent", p1.EstimatedWaitSeconds, p2.EstimatedWaitSeconds)
	}
	tests := []struct {
		waits    []time.Duration
		pos, ags int
		wantSecs int
	}{
		{nil, 3, 1, 0},
		{[]time.Duration{time.Minute}, 1, 1, 60},
		{[]time.Duration{time.Minute}, 4, 2, 120},
		{[]time.Duration{time.Minute}, 1, 0, 0}, // nobody online: no estimate
		{[]time.Duration{10 * time.Millisecond}, 1, 1, 1},
	}
	for _, tt := range tests {
		if got := estimate(tt.waits, tt.pos, tt.ags); got != tt.wantSecs {
			t.Errorf("estimate(%v, position %d, %d agents) = %d, want %d", tt.waits, tt.pos, tt.ags, got, tt.wantSecs)
		}
	}
}

func TestTransferAndHandBack(t *testing.T) {
	e := newEnv(t)
	a := e.agent("a@x.io", 2, "order_support")
	b := e.agent("b@x.io", 2, "tech_support")
	c := e.servedBy(a, "order_support")
	if _, err := e.router.Transfer(context.Background(), b.ID, c.ID, "tech_support", "", ""); !errors.Is(err, ErrNotAllowed) {
		t.Errorf("transfer by a stranger = %v, want ErrNotAllowed", err)
	}
	out, err := e.router.Transfer(context.Background(), a.ID, c.ID, "tech_support", "", "login problem")
	if err != nil || out.Status != data.StatusQueued || out.SkillGroup != "tech_support" {
		t.Fatalf("transfer to group = %+v, %v", out, err)
	}
	e.presence.Connect(b.ID)
	e.router.AgentAvailable(context.Background(), b.ID)
	if got := e.status(c.ID); got.AssignedAgent != b.ID {
		t.Fatalf("after transfer: %+v, want assigned to b", got)
	}
	direct, err := e.router.Transfer(context.Background(), b.ID, c.ID, "", a.ID, "")
	if err != nil || direct.AssignedAgent != a.ID || direct.Status != data.StatusAssigned {
		t.Errorf("transfer to agent = %+v, %v", direct, err)
	}
	back, err := e.router.HandBack(context.Background(), a.ID, c.ID)
	if err != nil || back.Status != data.StatusBot {
		t.Errorf("hand back = %+v, %v", back, err)
	}
	if _, err := e.router.Transfer(context.Background(), a.ID, c.ID, "", "", ""); err == nil {
		t.Error("transfer of a bot conversation succeeded")
	}
}

func TestPresenceGracePeriod(t *testing.T) {
	var mu sync.Mutex
	var changes []string
	p := NewMemoryPresence(80*time.Millisecond, func(id string, s Status) {
		mu.Lock()
		changes = append(changes, id+":"+string(s))
		mu.Unlock()
	})
	if p.Status("a") != Offline {
		t.Fatal("unknown agent not offline")
	}
	r1 := p.Connect("a")
	r2 := p.Connect("a") // a second tab
	r1()
	r1() // idempotent
	if p.Status("a") != Online {
		t.Fatal("closing one of two tabs made the agent offline")
	}
	r2()
	if p.Status("a") != Online {
		t.Fatal("agent offline immediately after the last tab closed; want the grace period")
	}
	// Reconnecting within the grace period keeps the agent online throughout.
	r3 := p.Connect("a")
	time.Sleep(150 * time.Millisecond)
	if p.Status("a") != Online {
		t.Fatal("agent went offline although they reconnected within the grace period")
	}
	p.SetAway("a", true)
	if p.Status("a") != Away || len(p.Online()) != 0 {
		t.Fatalf("away agent: status %s, online %v", p.Status("a"), p.Online())
	}
	p.SetAway("a", false)
	r3()
	time.Sleep(200 * time.Millisecond)
	if p.Status("a") != Offline {
		t.Fatal("agent still online after the grace period")
	}
	mu.Lock()
	defer mu.Unlock()
	want := "[a:online a:away a:online a:offline]"
	if fmt.Sprint(changes) != want {
		t.Errorf("presence changes = %v, want %s", changes, want)
	}
}

func TestBusinessHours(t *testing.T) {
	shanghai := &data.BusinessHours{TimeZone: "Asia/Shanghai", Days: map[string][]string{
		"mon": {"09:00-12:00", "13:00-18:00"}, "sat": {"10:00-24:00"},
	}}
	tests := []struct {
		name string
		at   string // UTC
		want bool
	}{
		{"Mon 09:30 Shanghai is Mon 01:30 UTC", "2026-11-23T01:30:00Z", true},
		{"Sun 23:30 UTC is already Mon 07:30 Shanghai: closed", "2026-11-22T23:30:00Z", false},
		{"Mon 00:59 UTC is Mon 08:59 Shanghai: closed", "2026-11-23T00:59:00Z", false},
		{"Mon 01:00 UTC is Mon 09:00 Shanghai: open", "2026-11-23T01:00:00Z", true},
		{"lunch break", "2026-11-23T04:30:00Z", false},
		{"Mon 18:00 Shanghai closes", "2026-11-23T10:00:00Z", false},
		{"Fri 17:00 UTC is Sat 01:00 Shanghai: closed", "2026-11-27T17:00:00Z", false},
		{"Sat 15:59 UTC is Sat 23:59 Shanghai: open till midnight", "2026-11-28T15:59:00Z", true},
		{"Sun: no hours", "2026-11-29T04:00:00Z", false},
	}
	for _, tt := range tests {
		at, _ := time.Parse(time.RFC3339, tt.at)
		if got := IsOpen(shanghai, at); got != tt.want {
			t.Errorf("%s: IsOpen = %v, want %v", tt.name, got, tt.want)
		}
	}
	if !IsOpen(nil, time.Now()) {
		t.Error("no schedule must mean always open")
	}
	bad := []*data.BusinessHours{
		{TimeZone: "Mars/Olympus", Days: nil},
		{TimeZone: "UTC", Days: map[string][]string{"funday": {"09:00-10:00"}}},
		{TimeZone: "UTC", Days: map[string][]string{"mon": {"18:00-09:00"}}},
		{TimeZone: "UTC", Days: map[string][]string{"mon": {"9-5"}}},
	}
	for _, bh := range bad {
		if err := ValidateHours(bh); err == nil {
			t.Errorf("ValidateHours(%+v) accepted a bad schedule", bh)
		}
	}
	if err := ValidateHours(shanghai); err != nil {
		t.Errorf("ValidateHours(valid) = %v", err)
	}
}

func TestClosedHoursOffer(t *testing.T) {
	e := newEnv(t)
	e.group(data.SkillGroup{ID: "order_support", Name: "Orders", Settings: data.GroupSettings{
		BusinessHours: &data.BusinessHours{TimeZone: "Asia/Shanghai", Days: map[string][]string{"mon": {"09:00-18:00"}}}}})
	a := e.agent("a@x.io", 2, "order_support")
	e.presence.Connect(a.ID)
	e.clock = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC) // Mon 20:00 in Shanghai
	c := e.enqueue("order_support", 0)
	got := e.status(c.ID)
	if got.Status != data.StatusQueued {
		t.Errorf("outside business hours the conversation was %s, want queued (not auto-assigned)", got.Status)
	}
	msgs, _ := e.store.ListMessages(context.Background(), c.ID, 0, 0)
	if len(msgs) < 2 || msgs[len(msgs)-1].ClientMsgID != "offer-ticket-"+OfferClosedHours {
		t.Errorf("no closed-hours offer in %+v", msgs)
	}
}

// stalledQueue reads the queue and then, on its first call, waits for
// release: a snapshot that goes stale while its publisher is slow.
type stalledQueue struct {
	*sqlstore.Store
	calls   atomic.Int32
	entered chan struct{}
	release chan struct{}
}

func (s *stalledQueue) QueuedConversations(ctx context.Context, group string) ([]data.Conversation, error) {
	q, err := s.Store.QueuedConversations(ctx, group)
	if s.calls.Add(1) == 1 {
		close(s.entered)
		<-s.release
	}
	return q, err
}

// TestQueueSnapshotsPublishedInReadOrder: a snapshot read before an
// assignment must not be published after one read after it.
func TestQueueSnapshotsPublishedInReadOrder(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.conversation()
	if _, err := e.router.Enqueue(ctx, c.ID, "default_support", "asked", 0); err != nil {
		t.Fatal(err)
	}
	st := &stalledQueue{Store: e.store, entered: make(chan struct{}), release: make(chan struct{})}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	r := NewRouter(st, pubsub.NewPublisher(e.broker, log), e.presence, log, Config{})
	var mu sync.Mutex
	var sizes []int
	unsub, err := e.broker.SubscribeEvents(data.QueueTopic("default_support"), func(_ string, ev *data.Event) {
		if ev.Queue != nil {
			mu.Lock()
			sizes = append(sizes, len(ev.Queue.Entries))
			mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer unsub()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); r.publishQueue(ctx, "default_support") }() // reads [c], then stalls
	<-st.entered
	a := e.agent("mei@acme.example", 5, "default_support")
	if _, _, err := e.store.Transition(ctx, data.Transition{ConversationID: c.ID, From: data.StatusQueued, To: data.StatusAssigned, AssignedAgent: a.ID}); err != nil {
		t.Fatal(err)
	}
	go func() { defer wg.Done(); r.publishQueue(ctx, "default_support") }() // would read []
	time.Sleep(100 * time.Millisecond)                                      // room for the second to overtake
	close(st.release)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(sizes) != 2 || sizes[1] != 0 {
		t.Errorf("queue snapshot sizes in publish order = %v, want [1 0] (the newest last)", sizes)
	}
}

// TestAvoidedAgentWhenNobodyElse: the avoidance holds while someone else can
// take the conversation; when the agent it avoids is the only one online
// (back after going away, or the only member of the group they transferred
// to), the visitor is not left waiting for 15 minutes.
func TestAvoidedAgentWhenNobodyElse(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.agent("a@x.io", 2, "order_support")
	e.agent("b@x.io", 2, "order_support") // offline
	c := e.servedBy(a, "order_support")
	if _, err := e.router.Transfer(ctx, a.ID, c.ID, "order_support", "", ""); err != nil {
		t.Fatal(err)
	}
	e.router.Tick(ctx)
	if got := e.status(c.ID); got.AssignedAgent != a.ID {
		t.Errorf("only a online after a's transfer: %s/%s, want it back with a rather than waiting", got.Status, got.AssignedAgent)
	}
}

// TestTransferNoteStaysWithAgents: a transfer note reaches agents as a note,
// never the visitor's system message; a conversation transferred to a group
// does not come back to the agent who transferred it while another member
// can take it, nor on later ticks.
func TestTransferNoteStaysWithAgents(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.agent("a@x.io", 2, "order_support")
	b := e.agent("b@x.io", 2, "order_support")
	c := e.servedBy(a, "order_support")
	e.servedBy(b, "order_support") // b is busier than a once c leaves a
	if _, err := e.router.Transfer(ctx, a.ID, c.ID, "order_support", "", "VIP, do not grant a refund"); err != nil {
		t.Fatal(err)
	}
	e.router.Tick(ctx)
	e.router.Tick(ctx)
	if got := e.status(c.ID); got.AssignedAgent != b.ID {
		t.Errorf("after the transfer and two ticks: %+v; want it with b, not back with the agent who transferred it", got)
	}
	msgs, err := e.store.ListMessages(ctx, c.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	notes := 0
	for _, m := range msgs {
		switch {
		case m.Kind == data.KindNote:
			notes++
		case strings.Contains(m.Text, "refund"):
			t.Errorf("the transfer note is in a %s message the visitor sees: %q", m.Kind, m.Text)
		}
	}
	if notes != 1 {
		t.Errorf("notes = %d, want the transfer note as 1 note", notes)
	}
}

// TestCapacityZeroTakesNothing: an agent with capacity 0 is not routed to,
// cannot accept and cannot be transferred to.
func TestCapacityZeroTakesNothing(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	busy := e.agent("busy@x.io", 2, "order_support")
	zero := e.agent("zero@x.io", 0, "order_support")
	e.presence.Connect(zero.ID)
	c := e.enqueue("order_support", 0)
	if got := e.status(c.ID); got.Status != data.StatusQueued {
		t.Fatalf("routed to a capacity-0 agent: %+v", got)
	}
	if _, err := e.router.Accept(ctx, zero.ID, c.ID); !errors.Is(err, ErrAtCapacity) {
		t.Errorf("accept by a capacity-0 agent = %v, want ErrAtCapacity", err)
	}
	if _, err := e.router.Accept(ctx, busy.ID, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.router.Transfer(ctx, busy.ID, c.ID, "", zero.ID, ""); !errors.Is(err, ErrAtCapacity) {
		t.Errorf("transfer to a capacity-0 agent = %v, want ErrAtCapacity", err)
	}
}

// TestLeaveMessageFromTwoTabs: the same message left from two tabs at once
// makes one ticket and one e-mail; a different message later in the same
// conversation makes a ticket of its own.
func TestLeaveMessageFromTwoTabs(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.enqueue("tech_support", 0)
	contact := data.Contact{Name: "Wang", Email: "wang@example.com"}
	var wg sync.WaitGroup
	ids := make([]string, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tk, err := e.router.LeaveMessage(ctx, c, contact, "please call me back")
			if err != nil {
				t.Errorf("LeaveMessage from tab %d: %v", i+1, err)
			}
			ids[i] = tk.ID
		}()
	}
	wg.Wait()
	if ids[0] != ids[1] {
		t.Errorf("two tabs made tickets %v, want one", ids)
	}
	items, _ := e.store.ClaimOutbox(ctx, time.Now().Add(time.Minute), time.Minute, 10)
	if len(items) != 1 {
		t.Errorf("outbox = %d items, want one e-mail", len(items))
	}
	other, err := e.router.LeaveMessage(ctx, c, contact, "and one more thing")
	if err != nil || other.ID == ids[0] {
		t.Errorf("another message = %+v, %v; want a ticket of its own", other, err)
	}
}

// TestAgentGoneRequeues: when an agent goes offline past the grace period
// (or is disabled), their conversations go back to the queue and to another
// online agent of the group, not back to them.
func TestAgentGoneRequeues(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.agent("a@x.io", 2, "order_support")
	b := e.agent("b@x.io", 2, "order_support")
	c := e.servedBy(a, "order_support")
	e.presence.Connect(b.ID)
	// a still counts as online here (the test calls AgentGone directly), so
	// only the avoidance keeps the conversation from going back to a.
	e.router.AgentGone(ctx, a.ID)
	if got := e.status(c.ID); got.AssignedAgent != b.ID {
		t.Errorf("after a is gone with b online: %+v, want assigned to b", got)
	}
	e.router.AgentGone(ctx, a.ID) // nothing of a's left: no change
	if got := e.status(c.ID); got.AssignedAgent != b.ID {
		t.Errorf("a second AgentGone for a moved b's conversation: %+v", got)
	}
}

// TestIdleConversationsClose: conversations without activity for the idle
// timeout are closed, whatever their status, and free their agent's slot.
func TestIdleConversationsClose(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.clock = time.Now() // the store stamps messages with the real time
	a := e.agent("a@x.io", 1, "order_support")
	e.presence.Connect(a.ID)
	withBot := e.conversation()
	assigned := e.enqueue("order_support", 0)
	queued := e.enqueue("order_support", 0) // a has capacity 1
	if got := e.status(assigned.ID); got.AssignedAgent != a.ID {
		t.Fatalf("not assigned: %+v", got)
	}
	e.router.cfg.IdleClose = time.Hour
	e.clock = e.clock.Add(31 * time.Minute)
	e.router.Tick(ctx)
	for _, c := range []data.Conversation{withBot, assigned, queued} {
		if got := e.status(c.ID); got.Status == data.StatusClosed {
			t.Errorf("%s closed after 31 minutes with a 1 h timeout", c.ID)
		}
	}
	e.clock = e.clock.Add(30 * time.Minute)
	e.router.Tick(ctx)
	for _, c := range []data.Conversation{withBot, assigned, queued} {
		if got := e.status(c.ID); got.Status != data.StatusClosed {
			t.Errorf("%s is %s after 61 idle minutes, want closed", c.ID, got.Status)
		}
	}
	msgs, _ := e.store.ListMessages(ctx, assigned.ID, 0, 100)
	if last := msgs[len(msgs)-1]; last.SenderKind != data.SenderSystem || !strings.Contains(last.Text, "without activity") {
		t.Errorf("last message = %+v, want the idle close notice", last)
	}
}

// servedBy brings agent a online and hands a new conversation of group to
// them, failing the test unless routing assigns it to a.
func (e *env) servedBy(a data.Agent, group string) data.Conversation {
	e.t.Helper()
	e.presence.Connect(a.ID)
	c := e.enqueue(group, 0)
	if got := e.status(c.ID); got.AssignedAgent != a.ID {
		e.t.Fatalf("not assigned to %s: %+v", a.Email, got)
	}
	return c
}

// TestRestartRequeuesAgentsWhoDidNotReturn: after a restart (a new
// presence that has seen nobody), an agent who held conversations and does
// not come back within a grace period loses them to the queue; one who
// comes back keeps theirs.
func TestRestartRequeuesAgentsWhoDidNotReturn(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	gone := e.agent("gone@x.io", 2, "order_support")
	back := e.agent("back@x.io", 2, "tech_support")
	other := e.agent("other@x.io", 2, "order_support")
	lost := e.servedBy(gone, "order_support")
	kept := e.servedBy(back, "tech_support")

	// The process restarts: its presence has seen nobody yet.
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	p := NewMemoryPresence(time.Minute, nil)
	r := NewRouter(e.store, pubsub.NewPublisher(e.broker, log), p, log, Config{})
	r.now = func() time.Time { return e.clock }
	p.Connect(back.ID)
	r.Tick(ctx)
	if got := e.status(lost.ID); got.Status != data.StatusAssigned || got.AssignedAgent != gone.ID {
		t.Fatalf("right after the restart: %s/%s, want still with %s (consoles are reconnecting)", got.Status, got.AssignedAgent, gone.Email)
	}
	p.mu.Lock()
	p.started = p.started.Add(-time.Minute) // the start-up grace has passed
	p.mu.Unlock()
	p.Connect(other.ID)
	r.Tick(ctx)
	if got := e.status(lost.ID); got.Status != data.StatusAssigned || got.AssignedAgent != other.ID {
		t.Errorf("a grace period after the restart: %s/%s, want requeued and routed to %s", got.Status, got.AssignedAgent, other.Email)
	}
	if got := e.status(kept.ID); got.Status != data.StatusAssigned || got.AssignedAgent != back.ID {
		t.Errorf("the conversation of the agent who came back: %s/%s, want still with them", got.Status, got.AssignedAgent)
	}
	r.Tick(ctx)
	msgs, _ := e.store.ListMessages(ctx, lost.ID, 0, 100)
	requeued := 0
	for _, m := range msgs {
		if strings.Contains(m.Text, "no longer available") {
			requeued++
		}
	}
	if requeued != 1 {
		t.Errorf("the visitor was told %d times that their agent left, want once", requeued)
	}
}

// TestTransferAvoidanceSharedByNodes: a conversation transferred to a group
// on one node is not routed back to the transferring agent by another
// node's tick, when the nodes share the avoidance.
func TestTransferAvoidanceSharedByNodes(t *testing.T) {
	shared := map[string]func(t *testing.T) (Avoidance, Avoidance){
		"memory": func(t *testing.T) (Avoidance, Avoidance) { a := NewMemoryAvoidance(); return a, a },
		"redis": func(t *testing.T) (Avoidance, Avoidance) {
			prefix := "fdtest:" + data.NewID("") + ":"
			return newTestPresence(t, prefix, "n1", 0, time.Minute, nil).Avoidance(), newTestPresence(t, prefix, "n2", 0, time.Minute, nil).Avoidance()
		},
	}
	for name, avoidances := range shared {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			av1, av2 := avoidances(t)
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			pub := pubsub.NewPublisher(e.broker, log)
			node1 := NewRouter(e.store, pub, e.presence, log, Config{Avoidance: av1})
			node2 := NewRouter(e.store, pub, e.presence, log, Config{Avoidance: av2})
			e.router = node1
			a := e.agent("a@x.io", 2, "order_support")
			b := e.agent("b@x.io", 2, "order_support")
			c := e.servedBy(a, "order_support")
			e.servedBy(b, "order_support") // b is busier than a once c leaves a
			if _, err := node1.Transfer(ctx, a.ID, c.ID, "order_support", "", ""); err != nil {
				t.Fatal(err)
			}
			node2.Tick(ctx)
			if got := e.status(c.ID); got.AssignedAgent != b.ID {
				t.Errorf("after the transfer on node 1 and a tick on node 2: %s/%s, want it with %s, not back with %s", got.Status, got.AssignedAgent, b.Email, a.Email)
			}
		})
	}
}

// takenDuringTick is a store on which another node's agent takes a queued
// conversation just after the tick read its group's queue.
type takenDuringTick struct {
	*sqlstore.Store
	group, conv, agent string
	done               atomic.Bool
}

func (s *takenDuringTick) QueuedConversations(ctx context.Context, group string) ([]data.Conversation, error) {
	q, err := s.Store.QueuedConversations(ctx, group)
	if group == s.group && s.done.CompareAndSwap(false, true) {
		if _, _, terr := s.Store.Transition(ctx, data.Transition{ConversationID: s.conv, From: data.StatusQueued, To: data.StatusAssigned, AssignedAgent: s.agent}); terr != nil {
			return nil, terr
		}
	}
	return q, err
}

// TestNoOfferOnceAnAgentJoined: the wait-limit offer to leave a message is
// not stored when an agent took the conversation after the tick read the
// queue.
func TestNoOfferOnceAnAgentJoined(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.group(data.SkillGroup{ID: "tech_support", Name: "Tech", Settings: data.GroupSettings{Routing: "manual", MaxWaitSeconds: 60}})
	x := e.agent("x@x.io", 2, "tech_support")
	e.presence.Connect(x.ID)
	c := e.enqueue("tech_support", 0)
	st := &takenDuringTick{Store: e.store, group: "tech_support", conv: c.ID, agent: x.ID}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	r := NewRouter(st, pubsub.NewPublisher(e.broker, log), e.presence, log, Config{})
	e.clock = e.clock.Add(2 * time.Minute)
	r.now = func() time.Time { return e.clock }
	r.Tick(ctx)
	if !st.done.Load() {
		t.Fatal("the tick did not read the queue")
	}
	msgs, _ := e.store.ListMessages(ctx, c.ID, 0, 100)
	for _, m := range msgs {
		if strings.HasPrefix(m.ClientMsgID, "offer-ticket-") {
			t.Errorf("transcript has offer %q (seq %d) although the conversation was %s with an agent", m.ClientMsgID, m.Seq, e.status(c.ID).Status)
		}
	}
}

// frameCounter counts the queue and position events a group's consoles and
// its visitors receive.
type frameCounter struct {
	mu        sync.Mutex
	queues    int
	positions map[string][]int
}

func (f *frameCounter) take() (queues int, positions map[string][]int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	queues, positions = f.queues, f.positions
	f.queues, f.positions = 0, map[string][]int{}
	return queues, positions
}

// TestUnchangedQueueNotRepublished: ticks send a queue to consoles and
// positions to visitors only when they changed (positions also every
// positionRefresh, for visitors who reconnected); a console that connects
// reads the queue.
func TestUnchangedQueueNotRepublished(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.group(data.SkillGroup{ID: "order_support", Name: "Orders", Settings: data.GroupSettings{Routing: "manual"}})
	fc := &frameCounter{positions: map[string][]int{}}
	unsub, err := e.broker.SubscribeEvents(data.QueueTopic("order_support"), func(string, *data.Event) {
		fc.mu.Lock()
		fc.queues++
		fc.mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	defer unsub()
	enqueue := func() data.Conversation {
		c := e.conversation()
		unsub, err := e.broker.SubscribeEvents(data.ConversationTopic(c.ID), func(_ string, ev *data.Event) {
			if ev.Type == data.EventPosition {
				fc.mu.Lock()
				fc.positions[c.ID] = append(fc.positions[c.ID], ev.Position.Position)
				fc.mu.Unlock()
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(unsub)
		if _, err := e.router.Enqueue(ctx, c.ID, "order_support", "asked", 0); err != nil {
			t.Fatal(err)
		}
		e.clock = e.clock.Add(time.Second)
		return c
	}
	c1 := enqueue()
	if q, pos := fc.take(); q != 1 || fmt.Sprint(pos[c1.ID]) != "[1]" {
		t.Fatalf("enqueue sent %d queue frames and positions %v, want 1 and [1]", q, pos)
	}
	for range 3 {
		e.router.Tick(ctx)
	}
	if q, pos := fc.take(); q != 0 || len(pos) != 0 {
		t.Errorf("3 ticks with no change sent %d queue frames and positions %v, want none", q, pos)
	}
	c2 := enqueue()
	e.router.Tick(ctx)
	if q, pos := fc.take(); q != 1 || fmt.Sprint(pos[c2.ID]) != "[2]" || len(pos[c1.ID]) != 0 {
		t.Errorf("a second visitor and a tick sent %d queue frames and positions %v, want 1 and position 2 to the newcomer only", q, pos)
	}
	a := e.agent("a@x.io", 3, "order_support")
	e.presence.Connect(a.ID)
	if _, err := e.router.Accept(ctx, a.ID, c1.ID); err != nil {
		t.Fatal(err)
	}
	e.router.Tick(ctx)
	if q, pos := fc.take(); q != 1 || fmt.Sprint(pos[c2.ID]) != "[1]" {
		t.Errorf("an accept and a tick sent %d queue frames and positions %v, want 1 and position 1 to the one left", q, pos)
	}
	e.clock = e.clock.Add(positionRefresh)
	e.router.Tick(ctx)
	if q, pos := fc.take(); q != 0 || fmt.Sprint(pos[c2.ID]) != "[1]" {
		t.Errorf("a tick %s later sent %d queue frames and positions %v, want none and the position again", positionRefresh, q, pos)
	}
	q, err := e.router.Queue(ctx, "order_support")
	if err != nil || len(q.Entries) != 1 || q.Entries[0].ConversationID != c2.ID {
		t.Errorf("Queue (a console connecting) = %+v, %v; want the waiting conversation", q, err)
	}
}
