package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/frontdesk/frontdesk/data"
)

func TestWindowHas(t *testing.T) {
	a, b := clientIDHash("a"), clientIDHash("b")
	if len(a) != idHashLen || a == b {
		t.Fatalf("hashes %q %q", a, b)
	}
	for _, tc := range []struct {
		window, h string
		want      bool
	}{
		{"", a, false},
		{a, a, true},
		{b + a, a, true},
		{b, a, false},
		{"0" + a + strings.Repeat("0", idHashLen-1), a, false}, // across two entries
		{a[:idHashLen/2], a, false},
	} {
		if got := windowHas(tc.window, tc.h); got != tc.want {
			t.Errorf("windowHas(%q, %q) = %v, want %v", tc.window, tc.h, got, tc.want)
		}
	}
}

// windowFixture opens a store that keeps the window in the conversation
// row (as on PostgreSQL) with one conversation and the given client ids
// appended, and returns a function that sets the conversation's window
// directly in the database file (the store closed meanwhile).
func windowFixture(t *testing.T, ids ...string) (s *Store, conv data.Conversation, setWindow func(w sql.NullString) *Store) {
	t.Helper()
	ctx := context.Background()
	s, path := openTempWith(t, Options{rowState: true})
	conv = newConversation(t, s)
	for _, id := range ids {
		if _, _, err := s.AppendMessage(ctx, data.Message{ConversationID: conv.ID, SenderKind: data.SenderVisitor, Kind: data.KindText, ClientMsgID: id, Text: "text of " + id}); err != nil {
			t.Fatal(err)
		}
	}
	return s, conv, func(w sql.NullString) *Store {
		t.Helper()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		db, err := sql.Open("sqlite", "file:"+path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`UPDATE conversations SET client_ids = ? WHERE id = ?`, w, conv.ID); err != nil {
			t.Fatal(err)
		}
		db.Close()
		s2, err := OpenSQLite(ctx, path, testSealer(t), Options{rowState: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s2.Close() })
		return s2
	}
}

func appendID(t *testing.T, s *Store, convID, id string) (data.Message, bool) {
	t.Helper()
	m, dup, err := s.AppendMessage(context.Background(), data.Message{ConversationID: convID, SenderKind: data.SenderVisitor, Kind: data.KindText, ClientMsgID: id, Text: "text of " + id + " (again)"})
	if err != nil {
		t.Fatalf("append %s: %v", id, err)
	}
	return m, dup
}

// TestWindowFilledFromMessages: conversations from before the window (NULL
// after the migration) get it from their stored messages on the next append.
func TestWindowFilledFromMessages(t *testing.T) {
	var ids []string
	for i := range idWindow + 5 {
		ids = append(ids, fmt.Sprintf("id-%d", i))
	}
	_, conv, setWindow := windowFixture(t, ids...)
	s := setWindow(sql.NullString{})
	if m, dup := appendID(t, s, conv.ID, "id-5"); !dup || m.Seq != 6 || m.Text != "text of id-5" {
		t.Errorf("retry of id-5 after the fill = seq %d dup %v %q; want the stored seq 6", m.Seq, dup, m.Text)
	}
	// The fill took the newest idWindow ids, oldest first.
	var w string
	if err := s.read.QueryRowContext(context.Background(), `SELECT client_ids FROM conversations WHERE id = ?`, conv.ID).Scan(&w); err != nil {
		t.Fatal(err)
	}
	if len(w) != idChars || !strings.HasPrefix(w, clientIDHash("id-5")) || !strings.HasSuffix(w, clientIDHash(ids[len(ids)-1])) {
		t.Errorf("window after the fill: %d characters, starts with id-5: %v, ends with the newest: %v", len(w),
			strings.HasPrefix(w, clientIDHash("id-5")), strings.HasSuffix(w, clientIDHash(ids[len(ids)-1])))
	}
	if m, dup := appendID(t, s, conv.ID, "id-new"); dup || m.Seq != int64(len(ids)+1) {
		t.Errorf("new id after the fill = seq %d dup %v; want seq %d", m.Seq, dup, len(ids)+1)
	}
}

// TestWindowCollision: a hash in the window whose message is not there
// (another id with the same hash), or a match across two entries, must not
// drop the new message.
func TestWindowCollision(t *testing.T) {
	for name, w := range map[string]string{
		"aligned":       clientIDHash("x") + clientIDHash("fresh"),
		"across":        clientIDHash("x") + "0" + clientIDHash("fresh") + strings.Repeat("0", idHashLen-1),
		"across at end": clientIDHash("x") + strings.Repeat("0", idHashLen-3) + clientIDHash("fresh") + "000",
	} {
		t.Run(name, func(t *testing.T) {
			_, conv, setWindow := windowFixture(t, "x")
			s := setWindow(sql.NullString{String: w, Valid: true})
			m, dup := appendID(t, s, conv.ID, "fresh")
			if dup || m.Seq != 2 {
				t.Errorf("append of a new id whose hash the window holds = seq %d dup %v; want seq 2, stored", m.Seq, dup)
			}
			if m, dup := appendID(t, s, conv.ID, "x"); !dup || m.Seq != 1 {
				t.Errorf("retry of x = seq %d dup %v; want the stored seq 1", m.Seq, dup)
			}
		})
	}
}
