package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/data"
	"github.com/frontdesk/frontdesk/data/seal"
)

// TestMigrationClosesDuplicateOpenConversations: an installation upgraded
// from before migration 0009 may hold two open conversations of one visitor;
// the migration keeps the newest open and closes the older ones.
func TestMigrationClosesDuplicateOpenConversations(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "m.db")
	ring, _ := seal.NewKeyring(bytes.Repeat([]byte{3}, 32))
	st, err := OpenSQLite(ctx, path, ring, Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	site, _ := st.EnsureSite(ctx, data.Site{Key: "demo", Name: "Demo"})
	v := data.Visitor{ID: data.NewID("v_"), SiteID: site.ID}
	if err := st.CreateVisitor(ctx, v); err != nil {
		t.Fatal(err)
	}
	old, err := st.CreateConversation(ctx, data.Conversation{SiteID: site.ID, VisitorID: v.ID, CreatedAt: time.Now().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()

	// Back to schema 8 with a second open conversation, as before the index
	// (and before the outbox links of 0010).
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UnixMilli()
	for _, q := range []string{
		`DROP INDEX outbox_visitor`, `DROP INDEX outbox_conversation`, `DROP INDEX outbox_ticket`, `DROP INDEX outbox_site_done`,
		`ALTER TABLE outbox DROP COLUMN site_id`, `ALTER TABLE outbox DROP COLUMN visitor_id`,
		`ALTER TABLE outbox DROP COLUMN conversation_id`, `ALTER TABLE outbox DROP COLUMN ticket_id`,
		`DROP INDEX conversations_one_open`,
		`UPDATE schema_version SET version = 8`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(q, err)
		}
	}
	if _, err := db.Exec(`INSERT INTO conversations (id, site_id, visitor_id, channel, status, priority, created_at, updated_at, client_ids)
		VALUES ('c_newer', ?, ?, 'web', 'bot', 0, ?, ?, '')`, site.ID, v.ID, now, now); err != nil {
		t.Fatal(err)
	}
	db.Close()

	st, err = OpenSQLite(ctx, path, ring, Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatalf("migrate with two open conversations: %v", err)
	}
	defer st.Close()
	if got, _ := st.GetConversation(ctx, old.ID); got.Status != data.StatusClosed || got.ClosedAt == nil {
		t.Errorf("older open conversation after the migration: %+v, want closed", got)
	}
	if got, _ := st.LatestConversation(ctx, v.ID); got.ID != "c_newer" || got.Status != data.StatusBot {
		t.Errorf("latest conversation = %+v, want c_newer still open", got)
	}
}
