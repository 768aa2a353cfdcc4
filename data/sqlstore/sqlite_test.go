package sqlstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/frontdesk/frontdesk/data"
	"github.com/frontdesk/frontdesk/data/datatest"
	"github.com/frontdesk/frontdesk/data/seal"
)

func testSealer(t testing.TB) seal.Sealer {
	k, err := seal.NewKeyring(bytes.Repeat([]byte{7}, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func openTemp(t testing.TB) (*Store, string) {
	return openTempWith(t, Options{})
}

func openTempWith(t testing.TB, opts Options) (*Store, string) {
	path := filepath.Join(t.TempDir(), "frontdesk.db")
	s, err := OpenSQLite(context.Background(), path, testSealer(t), opts)
	if err != nil {
		t.Fatalf("OpenSQLite: %v", err)
	}
	return s, path
}

// newConversation makes a site, a visitor and a conversation of theirs in s.
func newConversation(t *testing.T, s *Store) data.Conversation {
	t.Helper()
	ctx := context.Background()
	site, _ := s.EnsureSite(ctx, data.Site{Key: "demo", Name: "Demo"})
	if err := s.CreateVisitor(ctx, data.Visitor{ID: "v", SiteID: site.ID}); err != nil {
		t.Fatal(err)
	}
	conv, err := s.CreateConversation(ctx, data.Conversation{SiteID: site.ID, VisitorID: "v"})
	if err != nil {
		t.Fatal(err)
	}
	return conv
}

func TestSQLiteConformance(t *testing.T) {
	datatest.Run(t, func(t *testing.T) data.Store {
		s, _ := openTemp(t)
		return s
	})
}

// TestSQLiteConformanceRowState runs the suite with the appends' state in
// the conversation row, the path PostgreSQL takes, so that it is tested
// without a PostgreSQL server too.
func TestSQLiteConformanceRowState(t *testing.T) {
	datatest.Run(t, func(t *testing.T) data.Store {
		s, _ := openTempWith(t, Options{rowState: true})
		return s
	})
}

func TestReopenKeepsDataAndSchema(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	site, err := s.EnsureSite(ctx, data.Site{Key: "demo", Name: "Demo"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := OpenSQLite(ctx, path, testSealer(t), Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s2.Close()
	got, err := s2.SiteByKey(ctx, "demo")
	if err != nil || got.ID != site.ID {
		t.Errorf("after reopen SiteByKey = %+v, %v", got, err)
	}
	var version int
	if err := s2.read.QueryRowContext(ctx, "SELECT version FROM schema_version").Scan(&version); err != nil || version < 1 {
		t.Errorf("schema_version = %d, %v; want >= 1", version, err)
	}
}

// TestNoPlaintextAtRest checks that message text and personal fields never
// reach the database file in clear.
func TestNoPlaintextAtRest(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	site, _ := s.EnsureSite(ctx, data.Site{Key: "demo", Name: "Demo"})
	v := data.Visitor{ID: "v_1", SiteID: site.ID, Personal: data.Personal{Email: "secret-person@example.com", Phone: "13800138000"}}
	if err := s.CreateVisitor(ctx, v); err != nil {
		t.Fatal(err)
	}
	conv, err := s.CreateConversation(ctx, data.Conversation{SiteID: site.ID, VisitorID: v.ID})
	if err != nil {
		t.Fatal(err)
	}
	const secret = "my card number is 6222020200112233445"
	if _, _, err := s.AppendMessage(ctx, data.Message{ConversationID: conv.ID, SenderKind: data.SenderVisitor, Kind: data.KindText, Text: secret}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	var all []byte
	for _, suffix := range []string{"", "-wal", "-shm"} {
		b, err := os.ReadFile(path + suffix)
		if err == nil {
			all = append(all, b...)
		}
	}
	for _, needle := range []string{secret, "6222020200112233445", "secret-person@example.com", "13800138000"} {
		if bytes.Contains(all, []byte(needle)) {
			t.Errorf("database files contain %q in plaintext", needle)
		}
	}
}

func BenchmarkAppendParallel(b *testing.B) {
	ctx := context.Background()
	s, _ := openTemp(b)
	defer s.Close()
	site, _ := s.EnsureSite(ctx, data.Site{Key: "demo", Name: "Demo"})
	_ = s.CreateVisitor(ctx, data.Visitor{ID: "v", SiteID: site.ID})
	conv, _ := s.CreateConversation(ctx, data.Conversation{SiteID: site.ID, VisitorID: "v"})
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, _, err := s.AppendMessage(ctx, data.Message{ConversationID: conv.ID, SenderKind: data.SenderVisitor, Kind: data.KindText, Text: "hello there"}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkAppendConversations appends to 128 conversations at once, the
// way the relay load does: each has a history, every message carries a
// client id, so each append touches its own conversation's index pages.
func BenchmarkAppendConversations(b *testing.B) {
	ctx := context.Background()
	s, _ := openTemp(b)
	defer s.Close()
	site, _ := s.EnsureSite(ctx, data.Site{Key: "demo", Name: "Demo"})
	const convs = 128
	ids := make([]string, convs)
	for i := range ids {
		v := fmt.Sprintf("v%d", i)
		if err := s.CreateVisitor(ctx, data.Visitor{ID: v, SiteID: site.ID}); err != nil {
			b.Fatal(err)
		}
		c, err := s.CreateConversation(ctx, data.Conversation{SiteID: site.ID, VisitorID: v})
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = c.ID
	}
	var n atomic.Int64
	appendOne := func() error {
		k := n.Add(1)
		_, _, err := s.AppendMessage(ctx, data.Message{ConversationID: ids[k%convs], SenderKind: data.SenderVisitor,
			Kind: data.KindText, ClientMsgID: fmt.Sprintf("m-%d", k), Text: "Where is my order? It has been a week already."})
		return err
	}
	for range 50 * convs { // history
		if err := appendOne(); err != nil {
			b.Fatal(err)
		}
	}
	b.SetParallelism(64)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := appendOne(); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// TestBatchWithAFailingOp runs resends and appends that fail (which make
// the writer roll back its fast attempt and run the batch again, checked)
// in the same batches as new messages: every resend must come back as the
// stored message, every new message must be stored once, every failing
// append must fail alone, and the sequence must have no gaps.
func TestBatchWithAFailingOp(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	defer s.Close()
	conv := newConversation(t, s)
	msg := func(id string) data.Message {
		return data.Message{ConversationID: conv.ID, SenderKind: data.SenderVisitor, Kind: data.KindText, ClientMsgID: id, Text: "text of " + id}
	}
	// Resends stay within the window of recent client ids (idWindow):
	// 10 stored, then 20 new ones and 10 resends, concurrently, alongside
	// appends to a conversation that does not exist, which fail their op.
	first := map[string]int64{}
	for i := range 10 {
		id := fmt.Sprintf("old-%d", i)
		m, dup, err := s.AppendMessage(ctx, msg(id))
		if err != nil || dup {
			t.Fatalf("append %s: dup %v, err %v", id, dup, err)
		}
		first[id] = m.Seq
	}
	type result struct {
		id  string
		m   data.Message
		dup bool
		err error
	}
	results := make(chan result, 200)
	var wg sync.WaitGroup
	for round := range 2 {
		for i := range 10 {
			wg.Add(3)
			go func() {
				defer wg.Done()
				id := fmt.Sprintf("old-%d", i)
				m, dup, err := s.AppendMessage(ctx, msg(id))
				results <- result{id, m, dup, err}
			}()
			go func() {
				defer wg.Done()
				id := fmt.Sprintf("new-%d-%d", round, i)
				m, dup, err := s.AppendMessage(ctx, msg(id))
				results <- result{id, m, dup, err}
			}()
			go func() {
				defer wg.Done()
				m := msg(fmt.Sprintf("lost-%d-%d", round, i))
				m.ConversationID = "no-such-conversation"
				_, _, err := s.AppendMessage(ctx, m)
				results <- result{"lost", data.Message{}, false, err}
			}()
		}
	}
	wg.Wait()
	close(results)
	for r := range results {
		switch {
		case r.id == "lost":
			if !errors.Is(r.err, data.ErrNotFound) {
				t.Errorf("append to a missing conversation: %v, want ErrNotFound", r.err)
			}
		case r.err != nil:
			t.Errorf("append %s: %v", r.id, r.err)
		case strings.HasPrefix(r.id, "old-") && (!r.dup || r.m.Seq != first[r.id] || r.m.Text != "text of "+r.id):
			t.Errorf("resend %s = seq %d dup %v %q, want the stored seq %d", r.id, r.m.Seq, r.dup, r.m.Text, first[r.id])
		case strings.HasPrefix(r.id, "new-") && r.dup:
			t.Errorf("new message %s reported as a duplicate", r.id)
		}
	}
	all, err := s.ListMessages(ctx, conv.ID, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 30 {
		t.Errorf("stored %d messages, want 10 + 20 new", len(all))
	}
	for i, m := range all {
		if m.Seq != int64(i+1) {
			t.Fatalf("message %d has seq %d: want gapless seqs", i, m.Seq)
		}
	}
}
