package sqlstore

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/frontdesk/frontdesk/data"
	"github.com/frontdesk/frontdesk/data/datatest"
	"github.com/frontdesk/frontdesk/data/seal"
)

// Plaintexts that must never reach the database in clear.
const (
	secretText  = "my card number is 6222020200112233445 and phone 13912345678"
	secretEmail = "secret-person@example.com"
	secretPhone = "13800138000"
)

// writeSecrets stores personal data in every sealed place: a visitor's
// personal fields, a message, an event, a ticket and a file.
func writeSecrets(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	site, err := s.EnsureSite(ctx, data.Site{Key: "demo", Name: "Demo"})
	if err != nil {
		t.Fatal(err)
	}
	v := data.Visitor{ID: data.NewID("v_"), SiteID: site.ID, Personal: data.Personal{Verified: true, ExternalID: "cust-1", Email: secretEmail, Phone: secretPhone}}
	if err := s.CreateVisitor(ctx, v); err != nil {
		t.Fatal(err)
	}
	conv, err := s.CreateConversation(ctx, data.Conversation{SiteID: site.ID, VisitorID: v.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.AppendMessage(ctx, data.Message{ConversationID: conv.ID, SenderKind: data.SenderVisitor, Kind: data.KindText, Text: secretText}); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordEvent(ctx, data.VisitorEvent{SiteID: site.ID, VisitorID: v.ID, Name: "form", Props: []byte(`{"email":"` + secretEmail + `"}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateTicket(ctx, data.Ticket{SiteID: site.ID, VisitorID: v.ID, ConversationID: conv.ID, Status: data.TicketOpen, Subject: "call me",
		Body: secretText, Contact: data.Contact{Email: secretEmail, Phone: secretPhone}}); err != nil {
		t.Fatal(err)
	}
	f := data.File{ID: data.NewID("f_"), SiteID: site.ID, ConversationID: conv.ID, UploaderKind: data.SenderVisitor, UploaderID: v.ID,
		Name: secretEmail + ".txt", ContentType: "text/plain", Content: []byte(secretText)}
	if _, _, err := s.AppendMessage(ctx, data.Message{ConversationID: conv.ID, SenderKind: data.SenderVisitor, Kind: data.KindFile, Text: "file",
		Attachment: &f}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateSiteSettings(ctx, site.ID, data.SiteSettings{Webhooks: []data.Webhook{{ID: "crm", URL: "https://crm.example/h", Secret: webhookSecret}}}); err != nil {
		t.Fatal(err)
	}
}

// webhookSecret must not reach the database in clear either.
const webhookSecret = "whsec-do-not-leak-0123456789"

func assertNoPlaintext(t *testing.T, where string, dump []byte) {
	t.Helper()
	for _, needle := range []string{secretText, "6222020200112233445", "13912345678", secretEmail, secretPhone, "cust-1", webhookSecret} {
		if bytes.Contains(dump, []byte(needle)) {
			t.Errorf("%s contains %q in plaintext", where, needle)
		}
	}
}

// TestNoPlaintextInSQLiteFile greps the database files (and WAL) for the
// test's messages, e-mails and phone numbers.
func TestNoPlaintextInSQLiteFile(t *testing.T) {
	s, path := openTemp(t)
	writeSecrets(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	var all []byte
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if b, err := os.ReadFile(path + suffix); err == nil {
			all = append(all, b...)
		}
	}
	if len(all) == 0 {
		t.Fatal("read nothing from the database files")
	}
	assertNoPlaintext(t, "the SQLite files", all)
}

// TestNoPlaintextInPgDump greps a pg_dump of the test schema. It skips only
// when PostgreSQL (or pg_dump) is absent and CI is not "true".
func TestNoPlaintextInPgDump(t *testing.T) {
	raw := datatest.PostgresURL(t)
	s := openPostgres(t, raw)
	writeSecrets(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	bin, err := exec.LookPath("pg_dump")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("pg_dump is required under CI=true: %v", err)
		}
		t.Skipf("pg_dump not installed: %v", err)
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	schema := q.Get("search_path")
	q.Del("search_path")
	u.RawQuery = q.Encode()
	out, err := exec.Command(bin, "--no-owner", "-n", schema, u.String()).Output()
	if err != nil {
		t.Fatalf("pg_dump: %v", err)
	}
	if !bytes.Contains(out, []byte("COPY "+schema+".messages")) {
		t.Fatalf("pg_dump output has no messages table (%d bytes): wrong schema?", len(out))
	}
	assertNoPlaintext(t, "pg_dump", out)
}

// TestDataKeyRotation: values sealed before and after a data-key rotation
// and a master-key change all stay readable; the old master key no longer
// opens the store.
func TestDataKeyRotation(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "rot.db")
	oldMaster, _ := seal.NewKeyring(bytes.Repeat([]byte{7}, seal.KeySize))
	newMaster, _ := seal.NewKeyring(bytes.Repeat([]byte{8}, seal.KeySize))
	s, err := OpenSQLite(ctx, path, oldMaster, Options{})
	if err != nil {
		t.Fatal(err)
	}
	site, _ := s.EnsureSite(ctx, data.Site{Key: "demo", Name: "Demo"})
	_ = s.CreateVisitor(ctx, data.Visitor{ID: "v1", SiteID: site.ID, Personal: data.Personal{Email: secretEmail}})
	conv, _ := s.CreateConversation(ctx, data.Conversation{SiteID: site.ID, VisitorID: "v1"})
	say := func(s *Store, text string) {
		if _, _, err := s.AppendMessage(ctx, data.Message{ConversationID: conv.ID, SenderKind: data.SenderVisitor, Kind: data.KindText, Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	say(s, "before rotation")
	first := s.keys.current().Current()
	id, err := s.RotateDataKey(ctx)
	if err != nil || id <= first {
		t.Fatalf("RotateDataKey = %d, %v; want a key newer than %d", id, err, first)
	}
	say(s, "after rotation")
	if err := s.RewrapKeys(ctx, newMaster); err != nil {
		t.Fatalf("RewrapKeys: %v", err)
	}
	say(s, "after new master")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenSQLite(ctx, path, oldMaster, Options{}); !errors.Is(err, seal.ErrOpen) {
		t.Errorf("OpenSQLite with the old master after rewrap = %v, want ErrOpen", err)
	}
	s2, err := OpenSQLite(ctx, path, newMaster, Options{})
	if err != nil {
		t.Fatalf("reopen with the new master: %v", err)
	}
	defer s2.Close()
	msgs, err := s2.ListMessages(ctx, conv.ID, 0, 10)
	if err != nil || len(msgs) != 3 || msgs[0].Text != "before rotation" || msgs[2].Text != "after new master" {
		t.Fatalf("messages after rotations = %+v, %v; want the three texts", msgs, err)
	}
	if v, err := s2.GetVisitor(ctx, "v1"); err != nil || v.Personal.Email != secretEmail {
		t.Errorf("visitor after rotations = %+v, %v", v, err)
	}
	keys, err := s2.Keys(ctx)
	if err != nil || len(keys) != 3 {
		t.Errorf("Keys = %+v, %v; want index + two data keys", keys, err)
	}
}

// TestLegacyValuesStayReadable: values sealed with the master key itself
// (before data keys) open after the master key changes.
func TestLegacyValuesStayReadable(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "legacy.db")
	master, _ := seal.NewKeyring(bytes.Repeat([]byte{7}, seal.KeySize))
	s, err := OpenSQLite(ctx, path, master, Options{})
	if err != nil {
		t.Fatal(err)
	}
	site, _ := s.EnsureSite(ctx, data.Site{Key: "demo", Name: "Demo"})
	_ = s.CreateVisitor(ctx, data.Visitor{ID: "v1", SiteID: site.ID})
	conv, _ := s.CreateConversation(ctx, data.Conversation{SiteID: site.ID, VisitorID: "v1"})
	// Simulate a database of the previous version: a message sealed with the
	// master key directly, and no data keys yet.
	body, _ := master.Seal([]byte("legacy text"), messageAAD(conv.ID, 1, "body"))
	err = s.submit(ctx, func(ctx context.Context, tx *txn) error {
		if _, err := tx.ExecContext(ctx, `UPDATE conversations SET last_seq = 1 WHERE id = ?`, conv.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO messages (conversation_id, seq, sender_kind, kind, body, created_at) VALUES (?, 1, 'visitor', 'text', ?, 0)`, conv.ID, body); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM keys WHERE purpose = 'data'`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = OpenSQLite(ctx, path, master, Options{})
	if err != nil {
		t.Fatal(err)
	}
	newMaster, _ := seal.NewKeyring(bytes.Repeat([]byte{9}, seal.KeySize))
	if err := s.RewrapKeys(ctx, newMaster); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = OpenSQLite(ctx, path, newMaster, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	msgs, err := s.ListMessages(ctx, conv.ID, 0, 10)
	if err != nil || len(msgs) != 1 || msgs[0].Text != "legacy text" {
		t.Errorf("legacy message after a master change = %+v, %v", msgs, err)
	}
}
