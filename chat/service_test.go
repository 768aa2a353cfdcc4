package chat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
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
	mu    sync.Mutex
	turns []string
	delay time.Duration
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
