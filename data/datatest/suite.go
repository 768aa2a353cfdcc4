package datatest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/data"
)

// Opener returns a fresh, empty store; the suite closes it.
type Opener func(t *testing.T) data.Store

// Run runs every conformance test against stores made by open.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s data.Store)
	}{
		{"Sites", testSites},
		{"Visitors", testVisitors},
		{"Conversations", testConversations},
		{"AppendAssignsGaplessSeq", testAppendSeq},
		{"AppendIsIdempotent", testAppendIdempotent},
		{"AppendChecksExpectation", testAppendExpect},
		{"AppendConcurrent", testAppendConcurrent},
		{"AppendRejectsBadInput", testAppendRejects},
		{"ListMessages", testListMessages},
		{"Transition", testTransition},
		{"CloseFlushesQueuedWrites", testCloseFlushes},
	}
	tests = append(tests, handoffTests()...)
	tests = append(tests, privacyTests()...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { _ = s.Close() })
			tt.fn(t, s)
		})
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// fixture creates a site, a visitor and a conversation.
func fixture(t *testing.T, s data.Store) (data.Site, data.Visitor, data.Conversation) {
	t.Helper()
	c := ctx(t)
	site, err := s.EnsureSite(c, data.Site{Key: "k-" + data.NewID(""), Name: "Test site"})
	if err != nil {
		t.Fatalf("EnsureSite: %v", err)
	}
	v := data.Visitor{ID: data.NewID("v_"), SiteID: site.ID}
	if err := s.CreateVisitor(c, v); err != nil {
		t.Fatalf("CreateVisitor: %v", err)
	}
	conv, err := s.CreateConversation(c, data.Conversation{SiteID: site.ID, VisitorID: v.ID})
	if err != nil {
		t.Fatalf("CreateConversation: %v", err)
	}
	return site, v, conv
}

func text(conv string, sender data.SenderKind, body, clientID string) data.Message {
	return data.Message{ConversationID: conv, SenderKind: sender, Kind: data.KindText, Text: body, ClientMsgID: clientID}
}

func testSites(t *testing.T, s data.Store) {
	c := ctx(t)
	in := data.Site{Key: "demo", Name: "Demo", AllowedOrigins: []string{"https://shop.example"}}
	a, err := s.EnsureSite(c, in)
	if err != nil {
		t.Fatalf("EnsureSite: %v", err)
	}
	b, err := s.EnsureSite(c, data.Site{Key: "demo", Name: "Other name"})
	if err != nil {
		t.Fatalf("EnsureSite again: %v", err)
	}
	if a.ID == "" || a.ID != b.ID || b.Name != "Demo" {
		t.Errorf("EnsureSite twice = %+v then %+v; want the first site both times", a, b)
	}
	if len(b.AllowedOrigins) != 1 || b.AllowedOrigins[0] != "https://shop.example" {
		t.Errorf("AllowedOrigins = %v, want [https://shop.example]", b.AllowedOrigins)
	}
	got, err := s.GetSite(c, a.ID)
	if err != nil || got.Key != "demo" {
		t.Errorf("GetSite(%s) = %+v, %v", a.ID, got, err)
	}
	if _, err := s.SiteByKey(c, "nope"); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("SiteByKey(nope) error = %v, want ErrNotFound", err)
	}
	if _, err := s.EnsureSite(c, data.Site{}); !errors.Is(err, data.ErrInvalid) {
		t.Errorf("EnsureSite(empty) error = %v, want ErrInvalid", err)
	}
	moved, err := s.SetSiteOrigins(c, a.ID, []string{"https://new.example", "http://localhost:3000"})
	if err != nil || !slices.Equal(moved.AllowedOrigins, []string{"https://new.example", "http://localhost:3000"}) {
		t.Errorf("SetSiteOrigins = %+v, %v", moved, err)
	}
	if again, _ := s.SiteByKey(c, "demo"); !slices.Equal(again.AllowedOrigins, moved.AllowedOrigins) || again.Name != a.Name {
		t.Errorf("site after SetSiteOrigins = %+v", again)
	}
	if none, err := s.SetSiteOrigins(c, a.ID, nil); err != nil || none.AllowedOrigins == nil || len(none.AllowedOrigins) != 0 {
		t.Errorf("SetSiteOrigins(nil) = %+v, %v; want an empty list", none, err)
	}
	if _, err := s.SetSiteOrigins(c, "s_none", nil); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("SetSiteOrigins(missing) = %v, want ErrNotFound", err)
	}
}

func testVisitors(t *testing.T, s data.Store) {
	c := ctx(t)
	site, err := s.EnsureSite(c, data.Site{Key: "demo", Name: "Demo"})
	if err != nil {
		t.Fatal(err)
	}
	created := time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC)
	v := data.Visitor{ID: "v_1", SiteID: site.ID, CreatedAt: created,
		Personal: data.Personal{Name: "李雷", Email: "li@example.com", Phone: "+86 138 0000 0000"}}
	if err := s.CreateVisitor(c, v); err != nil {
		t.Fatalf("CreateVisitor: %v", err)
	}
	got, err := s.GetVisitor(c, "v_1")
	if err != nil {
		t.Fatalf("GetVisitor: %v", err)
	}
	if got.Personal != v.Personal || !got.CreatedAt.Equal(created) || got.SiteID != site.ID {
		t.Errorf("GetVisitor = %+v, want %+v", got, v)
	}
	if err := s.CreateVisitor(c, v); !errors.Is(err, data.ErrConflict) {
		t.Errorf("CreateVisitor twice: %v, want ErrConflict", err)
	}
	if err := s.CreateVisitor(c, data.Visitor{ID: "v_2", SiteID: "no-such-site"}); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("CreateVisitor(unknown site): %v, want ErrNotFound", err)
	}
	later := created.Add(time.Hour)
	if err := s.TouchVisitor(c, "v_1", later); err != nil {
		t.Fatalf("TouchVisitor: %v", err)
	}
	if got, _ := s.GetVisitor(c, "v_1"); !got.LastSeenAt.Equal(later) {
		t.Errorf("LastSeenAt = %v, want %v", got.LastSeenAt, later)
	}
	if err := s.TouchVisitor(c, "v_missing", later); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("TouchVisitor(missing): %v, want ErrNotFound", err)
	}
	if _, err := s.GetVisitor(c, "v_missing"); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("GetVisitor(missing): %v, want ErrNotFound", err)
	}
}

func testConversations(t *testing.T, s data.Store) {
	c := ctx(t)
	site, v, first := fixture(t, s)
	if first.Status != data.StatusBot || first.LastSeq != 0 || first.Channel != "web" {
		t.Errorf("new conversation = %+v; want status bot, seq 0, channel web", first)
	}
	got, err := s.GetConversation(c, first.ID)
	if err != nil || got.VisitorID != v.ID || got.Status != data.StatusBot {
		t.Errorf("GetConversation = %+v, %v", got, err)
	}
	// One open conversation per visitor: two tabs starting one at once
	// must end up in the same conversation.
	if _, err := s.CreateConversation(c, data.Conversation{SiteID: site.ID, VisitorID: v.ID}); !errors.Is(err, data.ErrConflict) {
		t.Errorf("a second open conversation for the visitor: %v, want ErrConflict", err)
	}
	if _, _, err := s.Transition(c, data.Transition{ConversationID: first.ID, From: data.StatusBot, To: data.StatusClosed, Note: "closed"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond)
	second, err := s.CreateConversation(c, data.Conversation{SiteID: site.ID, VisitorID: v.ID})
	if err != nil {
		t.Fatal(err)
	}
	latest, err := s.LatestConversation(c, v.ID)
	if err != nil || latest.ID != second.ID {
		t.Errorf("LatestConversation = %s, %v; want %s", latest.ID, err, second.ID)
	}
	if _, err := s.LatestConversation(c, "v_none"); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("LatestConversation(no conversations): %v, want ErrNotFound", err)
	}
	if _, err := s.CreateConversation(c, data.Conversation{SiteID: site.ID, VisitorID: "v_none"}); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("CreateConversation(unknown visitor): %v, want ErrNotFound", err)
	}
	other, _ := s.EnsureSite(c, data.Site{Key: "other", Name: "Other"})
	if _, err := s.CreateConversation(c, data.Conversation{SiteID: other.ID, VisitorID: v.ID}); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("CreateConversation(visitor of another site): %v, want ErrNotFound", err)
	}
	if _, err := s.GetConversation(c, "c_none"); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("GetConversation(missing): %v, want ErrNotFound", err)
	}
}

func testAppendSeq(t *testing.T, s data.Store) {
	c := ctx(t)
	_, _, conv := fixture(t, s)
	senders := []data.SenderKind{data.SenderVisitor, data.SenderBot, data.SenderVisitor, data.SenderAgent, data.SenderSystem}
	for i, sender := range senders {
		m, dup, err := s.AppendMessage(c, text(conv.ID, sender, fmt.Sprintf("message %d 你好", i+1), fmt.Sprintf("cm-%d", i)))
		if err != nil {
			t.Fatalf("AppendMessage %d: %v", i+1, err)
		}
		if dup || m.Seq != int64(i+1) {
			t.Errorf("AppendMessage %d = seq %d dup %v; want seq %d, not duplicate", i+1, m.Seq, dup, i+1)
		}
	}
	got, err := s.GetConversation(c, conv.ID)
	if err != nil || got.LastSeq != int64(len(senders)) {
		t.Errorf("LastSeq = %d, %v; want %d", got.LastSeq, err, len(senders))
	}
	// Messages without client ids are all stored.
	for i := 0; i < 2; i++ {
		if _, _, err := s.AppendMessage(c, text(conv.ID, data.SenderBot, "same text", "")); err != nil {
			t.Fatal(err)
		}
	}
	msgs, _ := s.ListMessages(c, conv.ID, 0, 0)
	if len(msgs) != len(senders)+2 {
		t.Errorf("stored %d messages, want %d", len(msgs), len(senders)+2)
	}
	if _, _, err := s.AppendMessage(c, text("c_missing", data.SenderVisitor, "hi", "x")); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("AppendMessage(unknown conversation): %v, want ErrNotFound", err)
	}
}

func testAppendIdempotent(t *testing.T, s data.Store) {
	c := ctx(t)
	_, _, conv := fixture(t, s)
	first, dup, err := s.AppendMessage(c, text(conv.ID, data.SenderVisitor, "where is my order?", "abc"))
	if err != nil || dup {
		t.Fatalf("first append = %+v, dup %v, %v", first, dup, err)
	}
	again, dup, err := s.AppendMessage(c, text(conv.ID, data.SenderVisitor, "where is my order? (retry)", "abc"))
	if err != nil {
		t.Fatal(err)
	}
	if !dup || again.Seq != first.Seq || again.Text != first.Text {
		t.Errorf("retry = seq %d text %q dup %v; want seq %d text %q dup true", again.Seq, again.Text, dup, first.Seq, first.Text)
	}
	// A retry is recognised while its message is among the conversation's
	// last ClientIDWindow messages with a client id; messages without one
	// (the bot's) do not count.
	_, _, wconv := fixture(t, s)
	wfirst, _, err := s.AppendMessage(c, text(wconv.ID, data.SenderVisitor, "where is my order?", "abc"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range data.ClientIDWindow - 2 {
		if _, dup, err := s.AppendMessage(c, text(wconv.ID, data.SenderVisitor, "more", fmt.Sprintf("w-%d", i))); err != nil || dup {
			t.Fatalf("append w-%d: dup %v, %v", i, dup, err)
		}
		if _, _, err := s.AppendMessage(c, text(wconv.ID, data.SenderBot, "answer", "")); err != nil {
			t.Fatal(err)
		}
	}
	again, dup, err = s.AppendMessage(c, text(wconv.ID, data.SenderVisitor, "where is my order? (late retry)", "abc"))
	if err != nil || !dup || again.Seq != wfirst.Seq {
		t.Errorf("retry after %d newer client messages = seq %d dup %v, %v; want seq %d dup true", data.ClientIDWindow-2, again.Seq, dup, err, wfirst.Seq)
	}
	w0, dup, err := s.AppendMessage(c, text(wconv.ID, data.SenderVisitor, "more (retry)", "w-0"))
	if err != nil || !dup || w0.Text != "more" {
		t.Errorf("retry of w-0 = %q dup %v, %v; want the stored message", w0.Text, dup, err)
	}
	// The same client id in another conversation is a different message.
	_, v, _ := fixture(t, s)
	_ = v
	_, _, conv2 := fixture(t, s)
	m2, dup, err := s.AppendMessage(c, text(conv2.ID, data.SenderVisitor, "hi", "abc"))
	if err != nil || dup || m2.Seq != 1 {
		t.Errorf("same client id elsewhere = seq %d dup %v %v; want seq 1, not duplicate", m2.Seq, dup, err)
	}
	// Concurrent retries of one client id commit once.
	var wg sync.WaitGroup
	seqs := make([]int64, 20)
	for i := range seqs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			m, _, err := s.AppendMessage(c, text(conv.ID, data.SenderVisitor, "burst", "burst-1"))
			if err != nil {
				t.Errorf("concurrent retry: %v", err)
			}
			seqs[i] = m.Seq
		}(i)
	}
	wg.Wait()
	for _, q := range seqs {
		if q != seqs[0] {
			t.Fatalf("concurrent retries got seqs %v; want one seq", seqs)
		}
	}
	msgs, _ := s.ListMessages(c, conv.ID, 0, 0)
	if len(msgs) != 2 {
		t.Errorf("conversation holds %d messages, want 2", len(msgs))
	}
}

func testAppendConcurrent(t *testing.T, s data.Store) {
	c := ctx(t)
	_, _, a := fixture(t, s)
	_, _, b := fixture(t, s)
	const writers, each = 8, 25
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				conv := a.ID
				if i%2 == 1 {
					conv = b.ID
				}
				if _, _, err := s.AppendMessage(c, text(conv, data.SenderVisitor, "x", fmt.Sprintf("w%d-%d", w, i))); err != nil {
					t.Errorf("append: %v", err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	total := 0
	for _, conv := range []string{a.ID, b.ID} {
		msgs, err := s.ListMessages(c, conv, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range msgs {
			if m.Seq != int64(i+1) {
				t.Fatalf("conversation %s: message %d has seq %d; want gapless 1..N", conv, i, m.Seq)
			}
		}
		total += len(msgs)
	}
	if total != writers*each {
		t.Errorf("stored %d messages, want %d", total, writers*each)
	}
}

func testAppendRejects(t *testing.T, s data.Store) {
	c := ctx(t)
	_, _, conv := fixture(t, s)
	tests := []struct {
		name string
		m    data.Message
	}{
		{"no conversation", data.Message{SenderKind: data.SenderVisitor, Kind: data.KindText, Text: "x"}},
		{"bad sender", data.Message{ConversationID: conv.ID, SenderKind: "robot", Kind: data.KindText, Text: "x"}},
		{"bad kind", data.Message{ConversationID: conv.ID, SenderKind: data.SenderBot, Kind: "video", Text: "x"}},
		{"too long", text(conv.ID, data.SenderVisitor, strings.Repeat("a", data.MaxTextBytes+1), "")},
		{"invalid utf8", text(conv.ID, data.SenderVisitor, "\xff\xfe", "")},
		{"long client id", text(conv.ID, data.SenderVisitor, "x", strings.Repeat("i", data.MaxClientMsgIDLen+1))},
		{"bad metadata", data.Message{ConversationID: conv.ID, SenderKind: data.SenderBot, Kind: data.KindCard, Metadata: json.RawMessage("{")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := s.AppendMessage(c, tt.m); !errors.Is(err, data.ErrInvalid) {
				t.Errorf("AppendMessage = %v, want ErrInvalid", err)
			}
		})
	}
	got, _ := s.GetConversation(c, conv.ID)
	if got.LastSeq != 0 {
		t.Errorf("rejected appends moved LastSeq to %d", got.LastSeq)
	}
}

func testListMessages(t *testing.T, s data.Store) {
	c := ctx(t)
	_, _, conv := fixture(t, s)
	meta := json.RawMessage(`{"options":["退货","Refund"]}`)
	for i := 1; i <= 10; i++ {
		m := text(conv.ID, data.SenderBot, fmt.Sprintf("m%d", i), "")
		if i == 3 {
			m.Kind, m.Metadata = data.KindQuickReplies, meta
		}
		if _, _, err := s.AppendMessage(c, m); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		after     int64
		limit     int
		wantFirst int64
		wantN     int
	}{
		{0, 0, 1, 10}, {7, 0, 8, 3}, {0, 4, 1, 4}, {10, 0, 0, 0}, {99, 5, 0, 0},
	}
	for _, tt := range tests {
		msgs, err := s.ListMessages(c, conv.ID, tt.after, tt.limit)
		if err != nil {
			t.Fatalf("ListMessages(after %d, limit %d): %v", tt.after, tt.limit, err)
		}
		if len(msgs) != tt.wantN || (tt.wantN > 0 && msgs[0].Seq != tt.wantFirst) {
			t.Errorf("ListMessages(after %d, limit %d) = %d messages starting at %v; want %d starting at %d",
				tt.after, tt.limit, len(msgs), firstSeq(msgs), tt.wantN, tt.wantFirst)
		}
	}
	msgs, _ := s.ListMessages(c, conv.ID, 2, 1)
	if len(msgs) != 1 || msgs[0].Kind != data.KindQuickReplies || string(msgs[0].Metadata) != string(meta) || msgs[0].Text != "m3" {
		t.Errorf("message 3 = %+v; want quick replies with metadata %s", msgs, meta)
	}
	if _, err := s.ListMessages(c, "c_missing", 0, 0); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("ListMessages(unknown conversation): %v, want ErrNotFound", err)
	}
}

func firstSeq(msgs []data.Message) any {
	if len(msgs) == 0 {
		return "none"
	}
	return msgs[0].Seq
}

func testTransition(t *testing.T, s data.Store) {
	c := ctx(t)
	_, _, conv := fixture(t, s)
	if _, _, err := s.AppendMessage(c, text(conv.ID, data.SenderVisitor, "转人工", "t1")); err != nil {
		t.Fatal(err)
	}
	got, msg, err := s.Transition(c, data.Transition{ConversationID: conv.ID, From: data.StatusBot, To: data.StatusQueued,
		SkillGroup: "order_support", HandoffReason: "requested_human", Note: "Transferring you to a person."})
	if err != nil {
		t.Fatalf("Transition bot->queued: %v", err)
	}
	if got.Status != data.StatusQueued || got.SkillGroup != "order_support" || got.HandoffReason != "requested_human" || got.LastSeq != 2 {
		t.Errorf("after transition = %+v", got)
	}
	if msg.Seq != 2 || msg.SenderKind != data.SenderSystem || msg.Kind != data.KindEvent || msg.Text != "Transferring you to a person." {
		t.Errorf("system message = %+v", msg)
	}
	if _, _, err := s.Transition(c, data.Transition{ConversationID: conv.ID, From: data.StatusBot, To: data.StatusClosed}); !errors.Is(err, data.ErrConflict) {
		t.Errorf("Transition from a stale status: %v, want ErrConflict", err)
	}
	if got, _ := s.GetConversation(c, conv.ID); got.LastSeq != 2 {
		t.Errorf("a refused transition appended a message: LastSeq %d", got.LastSeq)
	}
	closed, _, err := s.Transition(c, data.Transition{ConversationID: conv.ID, From: data.StatusQueued, To: data.StatusClosed, Note: "closed"})
	if err != nil || closed.ClosedAt == nil || closed.SkillGroup != "order_support" {
		t.Errorf("Transition queued->closed = %+v, %v; want closed_at set and skill group kept", closed, err)
	}
	if _, _, err := s.Transition(c, data.Transition{ConversationID: "c_missing", From: data.StatusBot, To: data.StatusClosed}); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("Transition(missing): %v, want ErrNotFound", err)
	}
	if _, _, err := s.Transition(c, data.Transition{ConversationID: conv.ID, From: "open", To: data.StatusClosed}); !errors.Is(err, data.ErrInvalid) {
		t.Errorf("Transition(bad status): %v, want ErrInvalid", err)
	}
}

func testCloseFlushes(t *testing.T, s data.Store) {
	c := ctx(t)
	_, _, conv := fixture(t, s)
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, _, err := s.AppendMessage(c, text(conv.ID, data.SenderVisitor, "x", fmt.Sprint(i)))
			errs <- err
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("append before close: %v", err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, _, err := s.AppendMessage(c, text(conv.ID, data.SenderVisitor, "late", "late")); err == nil {
		t.Error("AppendMessage after Close succeeded")
	}
}

func testAppendExpect(t *testing.T, s data.Store) {
	c := ctx(t)
	_, v, conv := fixture(t, s)
	with := func(id string, e data.Expectation) data.Message {
		m := text(conv.ID, data.SenderVisitor, "text "+id, id)
		m.Expect = &e
		return m
	}
	tests := []struct {
		name string
		exp  data.Expectation
		want error // nil: stored
	}{
		{"status holds", data.Expectation{Status: data.StatusBot}, nil},
		{"visitor and status hold", data.Expectation{Status: data.StatusBot, VisitorID: v.ID}, nil},
		{"other status", data.Expectation{Status: data.StatusAssigned}, data.ErrStale},
		{"other visitor", data.Expectation{VisitorID: "v_someone_else"}, data.ErrStale},
		{"other agent", data.Expectation{AssignedAgent: "a_nobody"}, data.ErrStale},
		{"nothing expected", data.Expectation{}, nil},
	}
	var seq int64
	for i, tt := range tests {
		m, _, err := s.AppendMessage(c, with(fmt.Sprintf("e-%d", i), tt.exp))
		switch {
		case tt.want == nil && err != nil:
			t.Errorf("%s: AppendMessage: %v, want it stored", tt.name, err)
		case tt.want == nil:
			seq++
			if m.Seq != seq || m.Expect != nil {
				t.Errorf("%s: stored seq %d (expect %v), want seq %d and no expectation on the stored message", tt.name, m.Seq, m.Expect, seq)
			}
		case !errors.Is(err, tt.want) || !errors.Is(err, data.ErrConflict):
			t.Errorf("%s: AppendMessage: %v, want %v (a conflict)", tt.name, err, tt.want)
		}
	}
	// A refused append uses no seq and stores nothing.
	got, err := s.GetConversation(c, conv.ID)
	if err != nil || got.LastSeq != seq {
		t.Errorf("LastSeq = %d (%v), want %d: refused appends must not use a seq", got.LastSeq, err, seq)
	}
	msgs, _ := s.ListMessages(c, conv.ID, 0, 0)
	if int64(len(msgs)) != seq {
		t.Errorf("stored %d messages, want %d", len(msgs), seq)
	}
	// A retry of a stored message is a duplicate even when the expectation
	// no longer holds (the conversation moved on after the first attempt).
	again, dup, err := s.AppendMessage(c, with("e-0", data.Expectation{Status: data.StatusClosed}))
	if err != nil || !dup || again.Seq != 1 {
		t.Errorf("retry with a stale expectation = seq %d dup %v, %v; want the stored seq 1 as a duplicate", again.Seq, dup, err)
	}
	if _, _, err := s.AppendMessage(c, data.Message{ConversationID: "c_missing", SenderKind: data.SenderVisitor, Kind: data.KindText,
		Text: "hi", Expect: &data.Expectation{Status: data.StatusBot}}); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("AppendMessage(unknown conversation, expectation): %v, want ErrNotFound", err)
	}
	// After a transition the expectations follow the new status and agent
	// (a store that remembers them between appends must forget them).
	if _, _, err := s.Transition(c, data.Transition{ConversationID: conv.ID, From: data.StatusBot, To: data.StatusAssigned, AssignedAgent: "a_mei"}); err != nil {
		t.Fatalf("Transition: %v", err)
	}
	for i, tt := range []struct {
		exp  data.Expectation
		want error
	}{
		{data.Expectation{Status: data.StatusBot}, data.ErrStale},
		{data.Expectation{Status: data.StatusAssigned, AssignedAgent: "a_mei"}, nil},
		{data.Expectation{Status: data.StatusAssigned, AssignedAgent: "a_other"}, data.ErrStale},
	} {
		_, _, err := s.AppendMessage(c, with(fmt.Sprintf("after-%d", i), tt.exp))
		if (tt.want == nil) != (err == nil) || (tt.want != nil && !errors.Is(err, tt.want)) {
			t.Errorf("after the transition, expecting %+v: %v, want %v", tt.exp, err, tt.want)
		}
	}
}
