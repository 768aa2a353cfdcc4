package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/frontdesk/frontdesk/data"
	"github.com/frontdesk/frontdesk/data/datatest"
	"github.com/frontdesk/frontdesk/data/seal"
	"github.com/frontdesk/frontdesk/data/sqlstore"
)

// TestBackupAndMigrateStoreCommands: frontdesk backup copies the SQLite
// store; frontdesk migrate-store moves it to PostgreSQL, where the same
// master key opens it.
func TestBackupAndMigrateStoreCommands(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	key, err := seal.LoadOrCreateKeyFile(filepath.Join(dir, "keys", "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	ring, _ := seal.NewKeyring(key)
	s, err := sqlstore.OpenSQLite(ctx, filepath.Join(dir, "frontdesk.db"), ring, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	site, _ := s.EnsureSite(ctx, data.Site{Key: demoSiteKey, Name: "Demo"})
	_ = s.CreateVisitor(ctx, data.Visitor{ID: "v_cmd", SiteID: site.ID})
	conv, err := s.CreateConversation(ctx, data.Conversation{SiteID: site.ID, VisitorID: "v_cmd"})
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"你好", "where is my order?"} {
		if _, _, err := s.AppendMessage(ctx, data.Message{ConversationID: conv.ID, SenderKind: data.SenderVisitor, Kind: data.KindText, Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	backup := filepath.Join(t.TempDir(), "frontdesk-backup.db")
	var out, errOut bytes.Buffer
	if code := run(ctx, []string{"backup", "--data-dir", dir, "--to", backup}, &out, &errOut); code != 0 {
		t.Fatalf("frontdesk backup exited %d: %s", code, errOut.String())
	}
	url := datatest.PostgresURL(t)
	tests := []struct {
		name string
		args []string
		ok   bool
		want string
	}{
		{"bad source", []string{"migrate-store", "--from", dir, "--to", url}, false, "sqlite:PATH"},
		{"bad target", []string{"migrate-store", "--from", "sqlite:" + dir, "--to", "mysql://x"}, false, "postgres://"},
		{"from the backup", []string{"migrate-store", "--from", "sqlite:" + backup, "--to", url}, true, "row counts verified"},
		{"into a non-empty database", []string{"migrate-store", "--from", "sqlite:" + dir, "--to", url}, false, "not empty"},
	}
	for _, tt := range tests {
		out.Reset()
		errOut.Reset()
		code := run(ctx, tt.args, &out, &errOut)
		if (code == 0) != tt.ok || !strings.Contains(out.String()+errOut.String(), tt.want) {
			t.Errorf("%s: frontdesk %v = exit %d, %q %q; want ok=%v mentioning %q", tt.name, tt.args, code, out.String(), errOut.String(), tt.ok, tt.want)
		}
	}
	pg, err := sqlstore.OpenPostgres(ctx, url, ring, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	msgs, err := pg.ListMessages(ctx, conv.ID, 0, 0)
	if err != nil || len(msgs) != 2 || msgs[0].Text != "你好" || msgs[1].Seq != 2 {
		t.Errorf("messages in PostgreSQL = %+v, %v; want the two, in order", msgs, err)
	}
}
