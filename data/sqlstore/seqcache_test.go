package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/data"
)

func rowLastSeq(t *testing.T, db interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, convID string) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRowContext(context.Background(), `SELECT last_seq FROM conversations WHERE id = ?`, convID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func appendText(t *testing.T, s *Store, convID, text string, at time.Time) data.Message {
	t.Helper()
	m, _, err := s.AppendMessage(context.Background(), data.Message{ConversationID: convID, SenderKind: data.SenderVisitor, Kind: data.KindText, Text: text, CreatedAt: at})
	if err != nil {
		t.Fatalf("append %q: %v", text, err)
	}
	return m
}

// TestRowLagsButReadsDoNot: a busy conversation's row is rewritten at most
// once a second, yet reads see the newest seq, and Close brings the row up.
func TestRowLagsButReadsDoNot(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	conv := newConversation(t, s)
	at := conv.CreatedAt.Add(100 * time.Millisecond)
	for i := range 5 {
		appendText(t, s, conv.ID, "hello", at.Add(time.Duration(i)*time.Millisecond))
	}
	if n := rowLastSeq(t, s.read, conv.ID); n != 0 {
		t.Errorf("row last_seq %d within the first second; want 0 (not rewritten)", n)
	}
	got, err := s.GetConversation(ctx, conv.ID)
	if err != nil || got.LastSeq != 5 {
		t.Errorf("GetConversation LastSeq = %d (%v), want 5", got.LastSeq, err)
	}
	// A message a second later moves the row along.
	appendText(t, s, conv.ID, "later", at.Add(1500*time.Millisecond))
	if n := rowLastSeq(t, s.read, conv.ID); n != 6 {
		t.Errorf("row last_seq %d after a quiet second; want 6", n)
	}
	appendText(t, s, conv.ID, "soon after", at.Add(1600*time.Millisecond))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if n := rowLastSeq(t, db, conv.ID); n != 7 {
		t.Errorf("row last_seq %d after Close; want 7", n)
	}
}

// TestStaleStateRecovers: a message another process appended to the file
// makes the writer's state stale; the next append notices and goes on
// after it.
func TestStaleStateRecovers(t *testing.T) {
	s, path := openTemp(t)
	defer s.Close()
	conv := newConversation(t, s)
	appendText(t, s, conv.ID, "one", time.Time{})
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`INSERT INTO messages (conversation_id, seq, sender_kind, kind, body, created_at) VALUES (?, 2, 'system', 'event', x'00', 0)`, conv.ID); err != nil {
		t.Fatal(err)
	}
	if m := appendText(t, s, conv.ID, "three", time.Time{}); m.Seq != 3 {
		t.Errorf("append after another writer's seq 2 = seq %d, want 3", m.Seq)
	}
}

// TestUndoneAppendLeavesNoGap: an append whose op fails afterwards is rolled
// back with the op; the writer must forget the seq it handed out.
func TestUndoneAppendLeavesNoGap(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	defer s.Close()
	conv := newConversation(t, s)
	appendText(t, s, conv.ID, "one", time.Time{})
	boom := errors.New("boom")
	err := s.submit(ctx, func(ctx context.Context, tx *txn) error {
		if _, _, err := s.appendTx(ctx, tx, data.Message{ConversationID: conv.ID, SenderKind: data.SenderVisitor, Kind: data.KindText, Text: "undone"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("op = %v, want boom", err)
	}
	if m := appendText(t, s, conv.ID, "two", time.Time{}); m.Seq != 2 {
		t.Errorf("append after the undone one = seq %d, want 2", m.Seq)
	}
	msgs, err := s.ListMessages(ctx, conv.ID, 0, 10)
	if err != nil || len(msgs) != 2 || msgs[1].Text != "two" {
		t.Errorf("messages = %d (%v), want one and two", len(msgs), err)
	}
}

// TestPurgeKeepsConversationWithUnwrittenMessage: the retention purge must
// see a message that the row does not show yet.
func TestPurgeKeepsConversationWithUnwrittenMessage(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	defer s.Close()
	site, _ := s.EnsureSite(ctx, data.Site{Key: "demo", Name: "Demo"})
	if err := s.CreateVisitor(ctx, data.Visitor{ID: "v", SiteID: site.ID}); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now().Add(-2 * time.Hour).Truncate(time.Millisecond)
	conv, err := s.CreateConversation(ctx, data.Conversation{SiteID: site.ID, VisitorID: "v", CreatedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	appendText(t, s, conv.ID, "within the first second", t0.Add(500*time.Millisecond))
	n, err := s.PurgeBefore(ctx, site.ID, t0.Add(300*time.Millisecond), 10)
	if err != nil || n != 0 {
		t.Errorf("purge before the message = %d (%v), want 0", n, err)
	}
	if _, err := s.GetConversation(ctx, conv.ID); err != nil {
		t.Errorf("conversation after the purge: %v", err)
	}
}

// TestUndoAfterReset: an op that deletes conversations (which drops every
// state) and then fails is undone like any other, in a batch where other
// appends came before it.
func TestUndoAfterReset(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	defer s.Close()
	conv := newConversation(t, s)
	appendText(t, s, conv.ID, "one", time.Time{})
	boom := errors.New("boom")
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%5 == 0 {
				errs <- s.submit(ctx, func(ctx context.Context, tx *txn) error {
					if err := deleteConversationsTx(ctx, tx, `id = ?`, "no-such-conversation"); err != nil {
						return err
					}
					return boom
				})
				return
			}
			_, _, err := s.AppendMessage(ctx, data.Message{ConversationID: conv.ID, SenderKind: data.SenderVisitor, Kind: data.KindText, Text: "more"})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	failed := 0
	for err := range errs {
		switch {
		case errors.Is(err, boom):
			failed++
		case err != nil:
			t.Errorf("append: %v", err)
		}
	}
	if failed != 4 {
		t.Errorf("%d ops failed with boom, want 4", failed)
	}
	msgs, err := s.ListMessages(ctx, conv.ID, 0, 100)
	if err != nil || len(msgs) != 17 {
		t.Fatalf("messages = %d (%v), want 17", len(msgs), err)
	}
	for i, m := range msgs {
		if m.Seq != int64(i+1) {
			t.Fatalf("message %d has seq %d: gap or duplicate", i, m.Seq)
		}
	}
}
