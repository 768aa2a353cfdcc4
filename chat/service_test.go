package chat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/bot"
	"github.com/frontdesk/frontdesk/data"
	"github.com/frontdesk/frontdesk/data/pubsub"
	"github.com/frontdesk/frontdesk/data/seal"
	"github.com/frontdesk/frontdesk/data/sqlstore"
)

// scriptedBot replies "re: <text>", or fails for the text "fail".
type scriptedBot struct {
	mu        sync.Mutex
	turns     []string
	delay     time.Duration
	unhelpful int
}

func (b *scriptedBot) Turn(_ context.Context, in bot.Input) (bot.Decision, error) {
	time.Sleep(b.delay)
	b.mu.Lock()
	b.turns = append(b.turns, in.Text)
	b.mu.Unlock()
	if in.Text == "fail" {
		return bot.Decision{}, errors.New("model unavailable")
	}
	return bot.Decision{Kind: bot.KindAnswer, Reply: "re: " + in.Text, Reason: "test", QuickReplies: []string{"ok"}}, nil
}

// Feedback hands off on the second unhelpful answer.
func (b *scriptedBot) Feedback(_ context.Context, _ string, helpful bool) (bot.Decision, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if helpful {
		b.unhelpful = 0
		return bot.Decision{Kind: bot.KindAcknowledge, Reason: bot.ReasonFeedbackHelpful, Reply: "thanks"}, nil
	}
	b.unhelpful++
	if b.unhelpful >= 2 {
		return bot.Decision{Kind: bot.KindHandoff, Reason: bot.ReasonRepeatedUnhelpful, Skill: "order_support", Reply: "connecting you"}, nil
	}
	return bot.Decision{Kind: bot.KindAcknowledge, Reason: bot.ReasonFeedbackUnhelpful, Reply: "sorry"}, nil
}

func (b *scriptedBot) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.turns)
}

type fixture struct {
	svc     *Service
	store   *sqlstore.Store
	broker  *pubsub.Memory
	bot     *scriptedBot
	visitor data.Visitor
	cancel  context.CancelFunc
	done    chan struct{}
}

func newFixture(t *testing.T, delay time.Duration) *fixture {
	t.Helper()
	ring, _ := seal.NewKeyring(bytes.Repeat([]byte{3}, 32))
	store, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "c.db"), ring, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.EnsureSite(context.Background(), data.Site{Key: "demo", Name: "Demo"}); err != nil {
		t.Fatal(err)
	}
	f := &fixture{store: store, broker: pubsub.NewMemory(), bot: &scriptedBot{delay: delay}, done: make(chan struct{})}
	f.svc = New(store, f.broker, f.bot, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), Config{Workers: 2})
	_, f.visitor, err = f.svc.StartSession(context.Background(), "demo", "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	go func() { _ = f.svc.Run(ctx); close(f.done) }()
	t.Cleanup(func() { f.stop(); _ = store.Close() })
	return f
}

func (f *fixture) stop() {
	f.cancel()
	<-f.done
}

// waitMessages polls the store until the conversation has n messages.
func (f *fixture) waitMessages(t *testing.T, conv string, n int) []data.Message {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		msgs, err := f.store.ListMessages(context.Background(), conv, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) >= n || time.Now().After(deadline) {
			if len(msgs) != n {
				t.Fatalf("conversation has %d messages, want %d: %+v", len(msgs), n, msgs)
			}
			return msgs
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestVisitorMessageGetsBotReplyInOrder(t *testing.T) {
	f := newFixture(t, 0)
	ctx := context.Background()
	var events []data.Event
	var mu sync.Mutex
	cancel, _ := f.broker.Subscribe(data.VisitorTopic(f.visitor.ID), func(_ string, p []byte) {
		var ev data.Event
		_ = json.Unmarshal(p, &ev)
		mu.Lock()
		events = append(events, ev)
		mu.Unlock()
	})
	defer cancel()
	m1, dup, err := f.svc.PostVisitorMessage(ctx, f.visitor, "a", "first")
	if err != nil || dup || m1.Seq != 1 {
		t.Fatalf("first message = %+v dup %v %v", m1, dup, err)
	}
	f.waitMessages(t, m1.ConversationID, 2)
	m2, _, err := f.svc.PostVisitorMessage(ctx, f.visitor, "b", "second")
	if err != nil || m2.ConversationID != m1.ConversationID {
		t.Fatalf("second message = %+v, %v; want the same conversation", m2, err)
	}
	msgs := f.waitMessages(t, m1.ConversationID, 4)
	want := []struct {
		sender data.SenderKind
		text   string
	}{{data.SenderVisitor, "first"}, {data.SenderBot, "re: first"}, {data.SenderVisitor, "second"}, {data.SenderBot, "re: second"}}
	for i, w := range want {
		if msgs[i].SenderKind != w.sender || msgs[i].Text != w.text || msgs[i].Seq != int64(i+1) {
			t.Errorf("message %d = %s %q seq %d, want %s %q seq %d", i, msgs[i].SenderKind, msgs[i].Text, msgs[i].Seq, w.sender, w.text, i+1)
		}
	}
	var meta BotMetadata
	if err := json.Unmarshal(msgs[1].Metadata, &meta); err != nil || meta.Decision.Reason != "test" || msgs[1].Kind != data.KindQuickReplies {
		t.Errorf("bot message metadata = %s kind %s; want the decision record and quick replies", msgs[1].Metadata, msgs[1].Kind)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(events) != 1 || events[0].Type != data.EventConversation || events[0].Conversation.ID != m1.ConversationID {
		t.Errorf("visitor topic events = %+v, want one conversation event", events)
	}
}

func TestDuplicateDoesNotRunBotTwice(t *testing.T) {
	f := newFixture(t, 0)
	ctx := context.Background()
	m, _, _ := f.svc.PostVisitorMessage(ctx, f.visitor, "same", "hello")
	f.waitMessages(t, m.ConversationID, 2)
	again, dup, err := f.svc.PostVisitorMessage(ctx, f.visitor, "same", "hello")
	if err != nil || !dup || again.Seq != m.Seq {
		t.Fatalf("retry = %+v dup %v %v; want the original, duplicate", again, dup, err)
	}
	time.Sleep(100 * time.Millisecond)
	if n := f.bot.count(); n != 1 {
		t.Errorf("bot ran %d turns, want 1", n)
	}
}

func TestBotFailureGivesApology(t *testing.T) {
	f := newFixture(t, 0)
	m, _, _ := f.svc.PostVisitorMessage(context.Background(), f.visitor, "x", "fail")
	msgs := f.waitMessages(t, m.ConversationID, 2)
	if msgs[1].SenderKind != data.SenderBot || msgs[1].Text == "" {
		t.Errorf("after a failing bot turn got %+v, want an apology from the bot", msgs[1])
	}
}

func TestClosedConversationStartsNewOne(t *testing.T) {
	f := newFixture(t, 0)
	ctx := context.Background()
	m, _, _ := f.svc.PostVisitorMessage(ctx, f.visitor, "1", "hi")
	f.waitMessages(t, m.ConversationID, 2)
	if _, _, err := f.store.Transition(ctx, data.Transition{ConversationID: m.ConversationID, From: data.StatusBot, To: data.StatusClosed, Note: "closed"}); err != nil {
		t.Fatal(err)
	}
	n, _, err := f.svc.PostVisitorMessage(ctx, f.visitor, "2", "back again")
	if err != nil || n.ConversationID == m.ConversationID || n.Seq != 1 {
		t.Errorf("message after close = %+v, %v; want seq 1 of a new conversation", n, err)
	}
}

func TestInvalidMessageCreatesNothing(t *testing.T) {
	f := newFixture(t, 0)
	_, _, err := f.svc.PostVisitorMessage(context.Background(), f.visitor, "x", string([]byte{0xff}))
	if !errors.Is(err, data.ErrInvalid) {
		t.Fatalf("invalid UTF-8 = %v, want ErrInvalid", err)
	}
	if _, err := f.svc.CurrentConversation(context.Background(), f.visitor.ID); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("a refused first message left a conversation behind: %v", err)
	}
}

// TestShutdownDrainsQueuedTurns: turns queued before shutdown still answer.
func TestShutdownDrainsQueuedTurns(t *testing.T) {
	f := newFixture(t, 20*time.Millisecond)
	ctx := context.Background()
	var convID string
	for i := 0; i < 5; i++ {
		m, _, err := f.svc.PostVisitorMessage(ctx, f.visitor, string(rune('a'+i)), "q")
		if err != nil {
			t.Fatal(err)
		}
		convID = m.ConversationID
	}
	f.stop()
	msgs, _ := f.store.ListMessages(ctx, convID, 0, 0)
	if len(msgs) != 10 {
		t.Errorf("after shutdown the conversation has %d messages, want 10 (5 questions, 5 replies)", len(msgs))
	}
	if _, _, err := f.svc.PostVisitorMessage(ctx, f.visitor, "late", "q"); err != nil {
		t.Errorf("storing a message after the bot stopped: %v (messages are still stored)", err)
	}
}

func TestStartSession(t *testing.T) {
	f := newFixture(t, 0)
	ctx := context.Background()
	_, again, err := f.svc.StartSession(ctx, "demo", f.visitor.ID)
	if err != nil || again.ID != f.visitor.ID {
		t.Errorf("StartSession with a known visitor = %s, %v; want %s", again.ID, err, f.visitor.ID)
	}
	_, fresh, err := f.svc.StartSession(ctx, "demo", "v_unknown")
	if err != nil || fresh.ID == "v_unknown" || fresh.ID == "" {
		t.Errorf("StartSession with an unknown visitor = %q, %v; want a new visitor", fresh.ID, err)
	}
	if _, _, err := f.svc.StartSession(ctx, "nope", ""); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("StartSession(unknown site) = %v, want ErrNotFound", err)
	}
}

// recordingHandoff records Enqueue calls.
type recordingHandoff struct {
	mu    sync.Mutex
	calls []string
}

func (h *recordingHandoff) Enqueue(_ context.Context, conversationID, group, reason string, _ int) (data.Conversation, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls = append(h.calls, conversationID+" "+group+" "+reason)
	return data.Conversation{ID: conversationID}, nil
}

func (h *recordingHandoff) LeaveMessage(context.Context, data.Conversation, data.Contact, string) (data.Ticket, error) {
	return data.Ticket{}, errors.New("not implemented")
}

func TestFeedback(t *testing.T) {
	f := newFixture(t, 0)
	h := &recordingHandoff{}
	f.svc.handoff = h
	ctx := context.Background()
	m, _, err := f.svc.PostVisitorMessage(ctx, f.visitor, "m1", "how much is shipping")
	if err != nil {
		t.Fatal(err)
	}
	conv := m.ConversationID
	f.waitMessages(t, conv, 2)
	_, other, _ := f.svc.StartSession(ctx, "demo", "")
	steps := []struct {
		name      string
		v         data.Visitor
		seq       int64
		helpful   bool
		wantErr   error
		wantKind  bot.Kind
		wantMsgs  int
		wantCalls int
	}{
		{"visitor message is not a bot reply", f.visitor, 1, false, data.ErrInvalid, "", 2, 0},
		{"another visitor's conversation", other, 2, false, data.ErrNotFound, "", 2, 0},
		{"unhelpful: the bot apologises", f.visitor, 2, false, nil, bot.KindAcknowledge, 3, 0},
		{"the same click again changes nothing", f.visitor, 2, false, nil, bot.KindAcknowledge, 3, 0},
		{"second unhelpful: handoff", f.visitor, 3, false, nil, bot.KindHandoff, 4, 1},
	}
	for _, s := range steps {
		d, err := f.svc.Feedback(ctx, s.v, conv, s.seq, s.helpful)
		if s.wantErr != nil {
			if !errors.Is(err, s.wantErr) {
				t.Fatalf("%s: Feedback(seq %d) err = %v, want %v", s.name, s.seq, err, s.wantErr)
			}
		} else if err != nil || d.Kind != s.wantKind {
			t.Fatalf("%s: Feedback(seq %d) = %+v, %v; want kind %s", s.name, s.seq, d, err, s.wantKind)
		}
		msgs := f.waitMessages(t, conv, s.wantMsgs)
		if last := msgs[len(msgs)-1]; s.wantMsgs > 2 && (last.SenderKind != data.SenderBot || last.ClientMsgID == "") {
			t.Errorf("%s: last message %+v, want the bot's reaction", s.name, last)
		}
		h.mu.Lock()
		calls := len(h.calls)
		h.mu.Unlock()
		if calls != s.wantCalls {
			t.Errorf("%s: %d handoffs (%v), want %d", s.name, calls, h.calls, s.wantCalls)
		}
	}
	if h.calls[0] != conv+" order_support "+bot.ReasonRepeatedUnhelpful {
		t.Errorf("handoff = %q, want order_support repeated_unhelpful", h.calls[0])
	}
	ev, err := f.store.LatestEvent(ctx, f.visitor.ID, FeedbackEvent)
	if err != nil || ev.ConversationID != conv || !bytes.Contains(ev.Props, []byte(`"seq":3`)) {
		t.Errorf("latest feedback event = %+v, %v; want seq 3 of %s", ev, err, conv)
	}
}

func TestBotTokensArePublished(t *testing.T) {
	f := newFixture(t, 0)
	f.svc.bot = &streamingBot{}
	ctx := context.Background()
	conv, _, err := f.svc.currentConversation(ctx, f.visitor)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var toks []string
	cancel, err := f.broker.Subscribe(data.ConversationTopic(conv.ID), func(topic string, payload []byte) {
		var ev data.Event
		if json.Unmarshal(payload, &ev) == nil && ev.Type == data.EventBotToken {
			mu.Lock()
			toks = append(toks, fmt.Sprintf("%d:%s", ev.Seq, ev.Text))
			mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	m, _, err := f.svc.PostVisitorMessage(ctx, f.visitor, "m1", "hi")
	if err != nil {
		t.Fatal(err)
	}
	msgs := f.waitMessages(t, conv.ID, 2)
	if msgs[1].Text != "Hello" {
		t.Errorf("bot reply %q, want Hello", msgs[1].Text)
	}
	mu.Lock()
	defer mu.Unlock()
	if got, want := strings.Join(toks, ","), fmt.Sprintf("%d:Hel,%d:lo", m.Seq, m.Seq); got != want {
		t.Errorf("bot_token events = %q, want %q", got, want)
	}
}

// streamingBot streams its reply in two tokens.
type streamingBot struct{ scriptedBot }

func (b *streamingBot) Turn(_ context.Context, in bot.Input) (bot.Decision, error) {
	if in.OnToken != nil {
		in.OnToken("Hel")
		in.OnToken("lo")
	}
	return bot.Decision{Kind: bot.KindAnswer, Reply: "Hello", Reason: bot.ReasonGenerated}, nil
}

func TestAgentReplyRules(t *testing.T) {
	f := newFixture(t, 0)
	ctx := context.Background()
	m, _, err := f.svc.PostVisitorMessage(ctx, f.visitor, "1", "hi")
	if err != nil {
		t.Fatal(err)
	}
	conv := m.ConversationID
	f.waitMessages(t, conv, 2)
	mei := data.Agent{ID: "a_mei", Role: data.RoleAgent, Groups: []string{"sales"}}
	bo := data.Agent{ID: "a_bo", Role: data.RoleAgent, Groups: []string{"other"}}
	boss := data.Agent{ID: "a_boss", Role: data.RoleAdmin}
	move := func(from, to data.Status, agent string) {
		t.Helper()
		if _, _, err := f.store.Transition(ctx, data.Transition{ConversationID: conv, From: from, To: to, SkillGroup: "sales", AssignedAgent: agent, Note: string(to)}); err != nil {
			t.Fatalf("transition %s -> %s: %v", from, to, err)
		}
	}
	reply := func(a data.Agent, id string, note bool) error {
		_, _, err := f.svc.PostAgentMessage(ctx, a, conv, id, "text "+id, note)
		return err
	}
	// While the bot has it, nobody replies; a note needs the right to view it.
	if err := reply(mei, "r0", false); !errors.Is(err, ErrForbidden) {
		t.Errorf("reply to a bot conversation = %v, want ErrForbidden", err)
	}
	move(data.StatusBot, data.StatusQueued, "")
	if err := reply(mei, "n1", true); err != nil {
		t.Errorf("note by an agent of the conversation's group = %v, want it stored", err)
	}
	if err := reply(bo, "n2", true); !errors.Is(err, ErrForbidden) {
		t.Errorf("note by an agent of another group = %v, want ErrForbidden", err)
	}
	move(data.StatusQueued, data.StatusAssigned, mei.ID)
	tests := []struct {
		name  string
		agent data.Agent
		want  error // nil: stored
	}{
		{"assigned agent", mei, nil},
		{"another agent", bo, ErrForbidden},
		{"admin", boss, nil},
	}
	for i, tt := range tests {
		if err := reply(tt.agent, fmt.Sprintf("r%d", i+1), false); (tt.want == nil && err != nil) || (tt.want != nil && !errors.Is(err, tt.want)) {
			t.Errorf("%s: reply = %v, want %v", tt.name, err, tt.want)
		}
	}
	before, _ := f.store.GetConversation(ctx, conv)
	move(data.StatusAssigned, data.StatusClosed, mei.ID)
	if err := reply(mei, "r9", false); !errors.Is(err, data.ErrConflict) {
		t.Errorf("reply after close = %v, want a conflict (closed), not forbidden", err)
	}
	coupon := &data.Coupon{Code: "SAVE10", Title: "10% off"}
	if _, _, err := f.svc.PostAgentRich(ctx, mei, conv, "c9", "", Rich{Coupon: coupon}); !errors.Is(err, data.ErrConflict) {
		t.Errorf("coupon after close = %v, want a conflict", err)
	}
	// A resend of a reply stored before the close is the stored reply.
	if m, dup, err := f.svc.PostAgentMessage(ctx, mei, conv, "r1", "text r1", false); err != nil || !dup || m.Text != "text r1" {
		t.Errorf("resend after close = %+v dup %v, %v; want the stored reply", m, dup, err)
	}
	after, _ := f.store.GetConversation(ctx, conv)
	if after.LastSeq != before.LastSeq+1 { // only the close's system message
		t.Errorf("refused replies changed last_seq from %d to %d (the close adds 1)", before.LastSeq, after.LastSeq)
	}
}

// The service remembers the visitor's conversation between messages; a
// change made elsewhere (here a handoff straight in the store, as another
// node would) must still be seen by the next message.
func TestVisitorMessageSeesChangesMadeElsewhere(t *testing.T) {
	f := newFixture(t, 0)
	ctx := context.Background()
	m, _, err := f.svc.PostVisitorMessage(ctx, f.visitor, "1", "hi")
	if err != nil {
		t.Fatal(err)
	}
	f.waitMessages(t, m.ConversationID, 2)
	if _, _, err := f.store.Transition(ctx, data.Transition{ConversationID: m.ConversationID, From: data.StatusBot, To: data.StatusQueued, SkillGroup: "sales", Note: "queued"}); err != nil {
		t.Fatal(err)
	}
	n, dup, err := f.svc.PostVisitorMessage(ctx, f.visitor, "2", "anyone there?")
	if err != nil || dup || n.ConversationID != m.ConversationID {
		t.Fatalf("message after the handoff = %+v dup %v, %v; want it in the same conversation", n, dup, err)
	}
	time.Sleep(100 * time.Millisecond) // a wrongly queued bot turn would have run by now
	if c := f.bot.count(); c != 1 {
		t.Errorf("the bot ran %d turns, want 1: a queued conversation is not the bot's", c)
	}
	// Handed back to the bot elsewhere: the bot answers again.
	if _, _, err := f.store.Transition(ctx, data.Transition{ConversationID: m.ConversationID, From: data.StatusQueued, To: data.StatusBot, Note: "back to the bot"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.svc.PostVisitorMessage(ctx, f.visitor, "3", "hello again"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for f.bot.count() != 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if c := f.bot.count(); c != 2 {
		t.Errorf("the bot ran %d turns after the conversation came back, want 2", c)
	}
}

func TestConvCacheIsBounded(t *testing.T) {
	var c convCache
	for i := range maxCachedConversations {
		c.put(fmt.Sprintf("v%d", i), data.Conversation{ID: fmt.Sprintf("c%d", i)})
	}
	if got, ok := c.get("v7"); !ok || got.ID != "c7" {
		t.Fatalf("get(v7) = %v, %v; want c7", got, ok)
	}
	c.put("one-more", data.Conversation{ID: "c-new"})
	if _, ok := c.get("v7"); ok {
		t.Error("the cache kept growing past its bound")
	}
	if got, ok := c.get("one-more"); !ok || got.ID != "c-new" {
		t.Errorf("get(one-more) = %v, %v; want the entry just put", got, ok)
	}
	c.drop("one-more")
	if _, ok := c.get("one-more"); ok {
		t.Error("drop left the entry")
	}
}

// TestNoBotReplyAfterAPersonTookOver: a bot turn that finishes after the
// conversation left the bot (handed off while it was thinking) stores no
// reply and hands nothing off.
func TestNoBotReplyAfterAPersonTookOver(t *testing.T) {
	f := newFixture(t, 300*time.Millisecond)
	ctx := context.Background()
	m, _, err := f.svc.PostVisitorMessage(ctx, f.visitor, "q1", "a question")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.store.Transition(ctx, data.Transition{ConversationID: m.ConversationID, From: data.StatusBot, To: data.StatusQueued,
		SkillGroup: "default_support", Note: "queued"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for f.bot.count() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // the reply would have been stored by now
	msgs, err := f.store.ListMessages(ctx, m.ConversationID, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range msgs {
		if x.SenderKind == data.SenderBot {
			t.Errorf("bot replied after the hand-off: %+v", x)
		}
	}
	if f.bot.count() != 1 || len(msgs) != 2 {
		t.Errorf("bot turns %d, messages %d (%+v); want 1 turn, the visitor's message and the queued event", f.bot.count(), len(msgs), msgs)
	}
}

// TestTwoTabsStartOneConversation: two tabs of a visitor (on two nodes)
// sending their first message at the same moment share one conversation.
func TestTwoTabsStartOneConversation(t *testing.T) {
	f := newFixture(t, 0)
	other := New(f.store, f.broker, f.bot, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), Config{Workers: 1})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = other.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	for i := 0; i < 10; i++ {
		_, v, err := f.svc.StartSession(context.Background(), "demo", "")
		if err != nil {
			t.Fatal(err)
		}
		start := make(chan struct{})
		var wg sync.WaitGroup
		convs := make([]string, 2)
		for j, svc := range []*Service{f.svc, other} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				m, _, err := svc.PostVisitorMessage(context.Background(), v, fmt.Sprintf("tab-%d", j), "hello from a tab")
				if err != nil {
					t.Errorf("tab %d: %v", j, err)
					return
				}
				convs[j] = m.ConversationID
			}()
		}
		close(start)
		wg.Wait()
		if convs[0] != convs[1] {
			t.Fatalf("visitor %d: the two tabs' first messages went to %s and %s, want one conversation", i, convs[0], convs[1])
		}
	}
}

// TestAnswerPending: a visitor message whose bot turn was lost (its node
// crashed after the ack) is answered when the visitor connects again, once
// the lost turn's time is up; an answered conversation runs no turn.
func TestAnswerPending(t *testing.T) {
	f := newFixture(t, 0)
	ctx := context.Background()
	other := New(f.store, f.broker, f.bot, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), Config{Workers: 1, TurnTimeout: 300 * time.Millisecond})
	rctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = other.Run(rctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	// Answered: nothing to do.
	m, _, err := f.svc.PostVisitorMessage(ctx, f.visitor, "a1", "hello")
	if err != nil {
		t.Fatal(err)
	}
	f.waitMessages(t, m.ConversationID, 2)
	turns := f.bot.count()
	conv, _ := f.store.GetConversation(ctx, m.ConversationID)
	other.AnswerPending(ctx, conv)
	time.Sleep(500 * time.Millisecond)
	if f.bot.count() != turns {
		t.Errorf("an answered conversation ran %d more turns", f.bot.count()-turns)
	}

	// Acknowledged on a node that then died: stored, never answered.
	lost, _, err := f.store.AppendMessage(ctx, data.Message{ConversationID: conv.ID, SenderKind: data.SenderVisitor, SenderID: f.visitor.ID, Kind: data.KindText, Text: "where is my parcel", ClientMsgID: "lost-1"})
	if err != nil {
		t.Fatal(err)
	}
	conv, _ = f.store.GetConversation(ctx, conv.ID)
	other.AnswerPending(ctx, conv)
	if msgs, _ := f.store.ListMessages(ctx, conv.ID, lost.Seq, 0); len(msgs) != 0 {
		t.Errorf("answered before the lost turn's time was up: %+v", msgs)
	}
	msgs := f.waitMessages(t, conv.ID, 4)
	if msgs[3].SenderKind != data.SenderBot || msgs[3].Text != "re: where is my parcel" {
		t.Errorf("reply to the lost message = %+v", msgs[3])
	}
	// Reconnecting again does not answer twice.
	conv, _ = f.store.GetConversation(ctx, conv.ID)
	other.AnswerPending(ctx, conv)
	time.Sleep(500 * time.Millisecond)
	f.waitMessages(t, conv.ID, 4)

	// Two quick messages, then the crash: the first one's reply was stored
	// after the second message, so the last message is a bot reply and the
	// second message is still unanswered.
	m5, _, err := f.store.AppendMessage(ctx, data.Message{ConversationID: conv.ID, SenderKind: data.SenderVisitor, SenderID: f.visitor.ID, Kind: data.KindText, Text: "is shipping free", ClientMsgID: "lost-2"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.store.AppendMessage(ctx, data.Message{ConversationID: conv.ID, SenderKind: data.SenderVisitor, SenderID: f.visitor.ID, Kind: data.KindText, Text: "and to Canada", ClientMsgID: "lost-3"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.store.AppendMessage(ctx, data.Message{ConversationID: conv.ID, SenderKind: data.SenderBot, Kind: data.KindText, Text: "re: is shipping free", ClientMsgID: fmt.Sprintf("bot-reply-%d", m5.Seq)}); err != nil {
		t.Fatal(err)
	}
	conv, _ = f.store.GetConversation(ctx, conv.ID)
	other.AnswerPending(ctx, conv)
	msgs = f.waitMessages(t, conv.ID, 8)
	if msgs[7].SenderKind != data.SenderBot || msgs[7].Text != "re: and to Canada" {
		t.Errorf("reply to the message before the last bot reply = %+v", msgs[7])
	}
}
