package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/data"
	"github.com/frontdesk/frontdesk/data/datatest"
)

// populate writes one of everything through the public store API.
func populate(t *testing.T, s data.Store) (ids map[string]string) {
	t.Helper()
	c := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	site, err := s.EnsureSite(c, data.Site{Key: "shop", Name: "Shop", AllowedOrigins: []string{"https://shop.example"}})
	must(err)
	_, err = s.UpdateSiteSettings(c, site.ID, data.SiteSettings{Widget: data.WidgetSettings{PreChat: data.PreChatForm{Enabled: true}}})
	must(err)
	v := data.Visitor{ID: "v_copy", SiteID: site.ID, Personal: data.Personal{Email: "li@example.com", Phone: "13800138000"}}
	must(s.CreateVisitor(c, v))
	conv, err := s.CreateConversation(c, data.Conversation{SiteID: site.ID, VisitorID: v.ID})
	must(err)
	for i := 0; i < 1203; i++ { // more than two batches
		_, _, err := s.AppendMessage(c, data.Message{ConversationID: conv.ID, SenderKind: data.SenderVisitor, Kind: data.KindText, Text: fmt.Sprintf("message %d 你好", i), ClientMsgID: fmt.Sprintf("c%d", i)})
		must(err)
	}
	f := data.File{ID: data.NewID("f_"), SiteID: site.ID, ConversationID: conv.ID, UploaderKind: data.SenderVisitor, UploaderID: v.ID, Name: "receipt.png", ContentType: "image/png", Content: []byte("\x89PNG fake")}
	_, _, err = s.AppendMessage(c, data.Message{ConversationID: conv.ID, SenderKind: data.SenderVisitor, SenderID: v.ID, Kind: data.KindFile, Text: f.Name,
		Metadata: json.RawMessage(`{"file":{"id":"` + f.ID + `"}}`), Attachment: &f})
	must(err)
	_, err = s.UpsertGroup(c, data.SkillGroup{ID: "support", Name: "Support"})
	must(err)
	agent, err := s.CreateAgent(c, data.Agent{Email: "mei@example.com", Name: "Mei", Role: data.RoleAgent, PasswordHash: "hash", Capacity: 3, Groups: []string{"support"}, Disabled: true})
	must(err)
	must(s.CreateAgentSession(c, data.AgentSession{IDHash: "sess", AgentID: agent.ID, CSRFToken: "csrf", ExpiresAt: time.Now().Add(time.Hour)}))
	_, _, err = s.Transition(c, data.Transition{ConversationID: conv.ID, From: data.StatusBot, To: data.StatusQueued, SkillGroup: "support", Note: "queued"})
	must(err)
	tk, err := s.CreateTicket(c, data.Ticket{SiteID: site.ID, ConversationID: conv.ID, VisitorID: v.ID, GroupID: "support", Subject: "Refund", Body: "Please refund order 1234", Contact: data.Contact{Email: "li@example.com"}},
		data.OutboxItem{Kind: "email", Payload: json.RawMessage(`{"to":"li@example.com"}`)})
	must(err)
	_, err = s.AddTicketEvent(c, data.TicketEvent{TicketID: tk.ID, Kind: "note", AuthorID: agent.ID, Body: "called back"})
	must(err)
	_, err = s.UpsertCanned(c, data.CannedResponse{Shortcut: "hi", Body: "Hello!"})
	must(err)
	must(s.RecordEvent(c, data.VisitorEvent{SiteID: site.ID, VisitorID: v.ID, Name: "page_view", Props: json.RawMessage(`{"url":"/"}`)}))
	return map[string]string{"site": site.ID, "visitor": v.ID, "conv": conv.ID, "agent": agent.ID, "ticket": tk.ID, "file": f.ID}
}

// reads returns what the conformance reads return for the populated data,
// as one comparable string.
func reads(t *testing.T, s data.Store, ids map[string]string) string {
	t.Helper()
	c := context.Background()
	var out []any
	add := func(name string, v any, err error) {
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out = append(out, name, v)
	}
	site, err := s.SiteByKey(c, "shop")
	add("site", site, err)
	v, err := s.GetVisitor(c, ids["visitor"])
	add("visitor", v, err)
	conv, err := s.GetConversation(c, ids["conv"])
	add("conversation", conv, err)
	for after := int64(0); ; {
		msgs, err := s.ListMessages(c, ids["conv"], after, 500)
		add("messages", msgs, err)
		if len(msgs) < 500 {
			break
		}
		after = msgs[len(msgs)-1].Seq
	}
	agents, err := s.ListAgents(c)
	add("agents", agents, err)
	sess, err := s.AgentSession(c, "sess")
	add("session", sess, err)
	groups, err := s.ListGroups(c)
	add("groups", groups, err)
	q, err := s.QueuedConversations(c, "support")
	add("queue", q, err)
	tk, err := s.GetTicket(c, ids["ticket"])
	add("ticket", tk, err)
	evs, err := s.TicketEvents(c, ids["ticket"])
	add("ticket events", evs, err)
	canned, err := s.ListCanned(c)
	add("canned", canned, err)
	counts, err := s.CountEvents(c, ids["site"], time.Time{}, time.Now().Add(time.Hour))
	add("events", counts, err)
	f, err := s.GetFile(c, ids["file"])
	add("file", fmt.Sprintf("%+v %q", f, f.Content), err)
	due, err := s.ClaimOutbox(c, time.Now().Add(time.Hour), time.Minute, 10)
	add("outbox", due, err)
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestCopySQLiteToPostgres moves a populated SQLite store to PostgreSQL; the
// conformance reads agree, the rows are counted, a second copy is refused.
func TestCopySQLiteToPostgres(t *testing.T) {
	ctx := context.Background()
	url := datatest.PostgresURL(t)
	src, path := openTemp(t)
	ids := populate(t, src)
	// Copied while the store is open: its conversation row lags behind the
	// messages (seqcache.go), as after a crash.
	var rowSeq int64
	if err := src.read.QueryRowContext(ctx, `SELECT last_seq FROM conversations WHERE id = ?`, ids["conv"]).Scan(&rowSeq); err != nil || rowSeq >= 1205 {
		t.Fatalf("row last_seq %d (%v): want it behind the messages for this test", rowSeq, err)
	}
	counts, err := CopySQLiteToPostgres(ctx, path, url, CopyOptions{BatchRows: 500})
	if err != nil {
		t.Fatalf("CopySQLiteToPostgres: %v", err)
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	if counts["messages"] != 1203+2 || counts["files"] != 1 || counts["agent_groups"] != 1 {
		t.Errorf("copied %v; want 1205 messages (1203, the handoff note and the file message), 1 file, 1 agent group", counts)
	}
	sqlite, err := OpenSQLite(ctx, path, testSealer(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sqlite.Close()
	pg := openPostgres(t, url)
	defer pg.Close()
	if want, got := reads(t, sqlite, ids), reads(t, pg, ids); got != want {
		t.Errorf("reads after the copy differ:\nsqlite:   %s\npostgres: %s", want, got)
	}
	// PostgreSQL goes on from the copied messages: a retry of the newest
	// is recognised, a new message takes the next seq.
	retry := data.Message{ConversationID: ids["conv"], SenderKind: data.SenderVisitor, Kind: data.KindText, Text: "again", ClientMsgID: "c1202"}
	if m, dup, err := pg.AppendMessage(ctx, retry); err != nil || !dup || m.Text != "message 1202 你好" {
		t.Errorf("retry on postgres = %q dup %v %v; want the stored message", m.Text, dup, err)
	}
	retry.ClientMsgID = "after-copy"
	if m, dup, err := pg.AppendMessage(ctx, retry); err != nil || dup || m.Seq != 1206 {
		t.Errorf("new message on postgres = seq %d dup %v %v; want seq 1206", m.Seq, dup, err)
	}
	if _, err := CopySQLiteToPostgres(ctx, path, url, CopyOptions{}); err == nil {
		t.Error("a copy into a non-empty database succeeded")
	}
}

// TestCopyTablesCoverSchema fails when a migration adds a table that the
// copy does not know.
func TestCopyTablesCoverSchema(t *testing.T) {
	s, _ := openTemp(t)
	defer s.Close()
	rows, err := s.read.QueryContext(context.Background(), `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'schema_version'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var tables []string
	for rows.Next() {
		var n string
		_ = rows.Scan(&n)
		tables = append(tables, n)
	}
	known := map[string]bool{}
	for _, table := range copyTables {
		known[table] = true
	}
	for _, table := range tables {
		if !known[table] {
			t.Errorf("table %s is not in copyTables: add it there, parents before children", table)
		}
	}
}

// TestBackupSQLite takes an online backup while the store is open and reads
// the same data from it.
func TestBackupSQLite(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	defer s.Close()
	ids := populate(t, s)
	to := filepath.Join(t.TempDir(), "backup.db")
	if err := BackupSQLite(ctx, path, to); err != nil {
		t.Fatalf("BackupSQLite: %v", err)
	}
	if err := BackupSQLite(ctx, path, to); err == nil {
		t.Error("a backup over an existing file succeeded")
	}
	want := reads(t, s, ids)
	b, err := OpenSQLite(ctx, to, testSealer(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if got := reads(t, b, ids); got != want {
		t.Errorf("backup reads differ:\nstore:  %.600s\nbackup: %.600s", want, got)
	}
}
