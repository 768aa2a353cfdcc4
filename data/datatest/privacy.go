package datatest

import (
	"errors"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/data"
)

// privacyTests are the cases of identity keys, blind indexes, export,
// erasure, retention and the audit log.
func privacyTests() []struct {
	name string
	fn   func(t *testing.T, s data.Store)
} {
	return []struct {
		name string
		fn   func(t *testing.T, s data.Store)
	}{
		{"IdentityKeys", testIdentityKeys},
		{"VisitorByVerifiedIdentity", testVisitorByIdentity},
		{"ExportAndEraseEveryCopy", testExportErase},
		{"RetentionPurge", testPurge},
		{"AuditLogChain", testAuditChain},
	}
}

// personalFixture gives a visitor every kind of record: personal fields,
// two messages, a file, an event and a ticket with an event.
func personalFixture(t *testing.T, s data.Store) (data.Site, data.Visitor, data.Conversation, data.File, data.Ticket) {
	t.Helper()
	c := ctx(t)
	site, v, conv := fixture(t, s)
	if err := s.UpdateVisitorPersonal(c, v.ID, data.Personal{Verified: true, ExternalID: "cust-" + v.ID, Email: v.ID + "@example.com", Phone: "13800138000"}); err != nil {
		t.Fatal(err)
	}
	for i, body := range []string{"my phone is 13800138000", "order 2024"} {
		if _, _, err := s.AppendMessage(c, text(conv.ID, data.SenderVisitor, body, "p"+string(rune('a'+i)))); err != nil {
			t.Fatal(err)
		}
	}
	f := data.File{ID: data.NewID("f_"), SiteID: site.ID, ConversationID: conv.ID, UploaderKind: data.SenderVisitor, UploaderID: v.ID, Name: "id.txt", ContentType: "text/plain", Content: []byte("id card")}
	if _, _, err := s.AppendMessage(c, fileMessage(conv, v, "pf", f)); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordEvent(c, data.VisitorEvent{SiteID: site.ID, VisitorID: v.ID, ConversationID: conv.ID, Name: "page_view", Props: []byte(`{"url":"https://shop/x"}`)}); err != nil {
		t.Fatal(err)
	}
	tk, err := s.CreateTicket(c, data.Ticket{SiteID: site.ID, VisitorID: v.ID, ConversationID: conv.ID, Status: data.TicketOpen, Subject: "call me", Body: "13800138000",
		Contact: data.Contact{Phone: "13800138000"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddTicketEvent(c, data.TicketEvent{TicketID: tk.ID, Kind: "note", AuthorID: "a", Body: "called back"}); err != nil {
		t.Fatal(err)
	}
	return site, v, conv, f, tk
}

// assertGone checks that no copy of the visitor's data is left.
func assertGone(t *testing.T, s data.Store, site data.Site, v data.Visitor, conv data.Conversation, f data.File, tk data.Ticket) {
	t.Helper()
	c := ctx(t)
	checks := []struct {
		what string
		err  error
	}{
		{"visitor", func() error { _, err := s.GetVisitor(c, v.ID); return err }()},
		{"conversation", func() error { _, err := s.GetConversation(c, conv.ID); return err }()},
		{"messages", func() error { _, err := s.ListMessages(c, conv.ID, 0, 10); return err }()},
		{"file", func() error { _, err := s.GetFile(c, f.ID); return err }()},
		{"ticket", func() error { _, err := s.GetTicket(c, tk.ID); return err }()},
		{"event", func() error { _, err := s.LatestEvent(c, v.ID, "page_view"); return err }()},
		{"by external id", func() error { _, err := s.VisitorByExternalID(c, site.ID, "cust-"+v.ID); return err }()},
	}
	for _, ch := range checks {
		if !errors.Is(ch.err, data.ErrNotFound) {
			t.Errorf("%s after erase/purge: %v, want ErrNotFound", ch.what, ch.err)
		}
	}
	if vs, err := s.VisitorsByEmail(c, site.ID, v.ID+"@example.com"); err != nil || len(vs) != 0 {
		t.Errorf("VisitorsByEmail after erase/purge = %v, %v; want none", vs, err)
	}
	if evs, err := s.TicketEvents(c, tk.ID); err == nil && len(evs) > 0 {
		t.Errorf("ticket events after erase/purge = %v, want none", evs)
	}
}

func testExportErase(t *testing.T, s data.Store) {
	c := ctx(t)
	site, v, conv, f, tk := personalFixture(t, s)
	_, other, _ := fixture(t, s)
	exp, err := s.ExportVisitor(c, v.ID)
	if err != nil {
		t.Fatalf("ExportVisitor: %v", err)
	}
	if exp.Visitor.Personal.Phone != "13800138000" || len(exp.Conversations) != 1 || len(exp.Conversations[0].Messages) != 3 ||
		len(exp.Conversations[0].Files) != 1 || string(exp.Conversations[0].Files[0].Content) != "id card" || len(exp.Tickets) != 1 || len(exp.Events) != 1 {
		t.Fatalf("ExportVisitor = %+v; want personal fields, 1 conversation with 3 messages (one carrying the file) and 1 file, 1 ticket, 1 event", exp)
	}
	if err := s.EraseVisitor(c, v.ID); err != nil {
		t.Fatalf("EraseVisitor: %v", err)
	}
	assertGone(t, s, site, v, conv, f, tk)
	if _, err := s.GetVisitor(c, other.ID); err != nil {
		t.Errorf("another visitor after the erasure: %v", err)
	}
	if err := s.EraseVisitor(c, v.ID); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("EraseVisitor twice = %v, want ErrNotFound", err)
	}
}

func testPurge(t *testing.T, s data.Store) {
	c := ctx(t)
	site, v, conv, f, tk := personalFixture(t, s)
	// A visitor of the same site active after the cut-off keeps everything.
	recent := data.Visitor{ID: data.NewID("v_"), SiteID: site.ID, CreatedAt: time.Now().Add(time.Hour), LastSeenAt: time.Now().Add(time.Hour)}
	if err := s.CreateVisitor(c, recent); err != nil {
		t.Fatal(err)
	}
	rc, err := s.CreateConversation(c, data.Conversation{SiteID: site.ID, VisitorID: recent.ID, CreatedAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := s.PurgeBefore(c, site.ID, time.Now().Add(-time.Hour), 10); err != nil || n != 0 {
		t.Fatalf("PurgeBefore(an hour ago) = %d, %v; want nothing purged", n, err)
	}
	n, err := s.PurgeBefore(c, site.ID, time.Now().Add(time.Minute), 10)
	if err != nil || n != 1 {
		t.Fatalf("PurgeBefore(now) = %d, %v; want 1 conversation", n, err)
	}
	assertGone(t, s, site, v, conv, f, tk)
	if _, err := s.GetConversation(c, rc.ID); err != nil {
		t.Errorf("recent conversation after the purge: %v", err)
	}
}

func testAuditChain(t *testing.T, s data.Store) {
	c := ctx(t)
	var last data.AuditEntry
	for i, action := range []string{data.AuditView, data.AuditExport, data.AuditErase} {
		e, err := s.AppendAudit(c, data.AuditEntry{ActorKind: "admin", ActorID: "a1", Action: action, Target: "visitor:v1"})
		if err != nil {
			t.Fatalf("AppendAudit: %v", err)
		}
		if e.Seq != int64(i+1) || e.PrevHash != last.Hash || e.Hash != e.ComputeHash() {
			t.Fatalf("entry %d = %+v; want seq %d linked to %q", i, e, i+1, last.Hash)
		}
		last = e
	}
	got, err := s.ListAudit(c, 1, 10)
	if err != nil || len(got) != 2 || got[1].Hash != last.Hash || !got[1].At.Equal(last.At) {
		t.Fatalf("ListAudit(after 1) = %+v, %v; want entries 2 and 3 as stored", got, err)
	}
	for _, e := range got {
		if e.ComputeHash() != e.Hash {
			t.Errorf("stored entry %d does not hash to its hash", e.Seq)
		}
	}
}

func testIdentityKeys(t *testing.T, s data.Store) {
	c := ctx(t)
	site, _, _ := fixture(t, s)
	if len(site.IdentityKeys) != 0 {
		t.Fatalf("new site has keys %v", site.IdentityKeys)
	}
	keys := []data.IdentityKey{
		{ID: "k1", Secret: []byte("0123456789abcdef0123456789abcdef"), CreatedAt: time.UnixMilli(1000).UTC()},
		{ID: "k2", Secret: []byte("fedcba9876543210fedcba9876543210"), CreatedAt: time.UnixMilli(2000).UTC()},
	}
	if err := s.SetIdentityKeys(c, site.ID, keys); err != nil {
		t.Fatalf("SetIdentityKeys: %v", err)
	}
	got, err := s.SiteByKey(c, site.Key)
	if err != nil || len(got.IdentityKeys) != 2 || got.IdentityKeys[1].ID != "k2" || string(got.IdentityKeys[0].Secret) != string(keys[0].Secret) || !got.IdentityKeys[1].CreatedAt.Equal(keys[1].CreatedAt) {
		t.Fatalf("SiteByKey after SetIdentityKeys = %+v, %v; want the two keys", got.IdentityKeys, err)
	}
	// Settings updates leave the keys alone.
	if _, err := s.UpdateSiteSettings(c, site.ID, data.SiteSettings{Identity: data.IdentitySettings{Required: true}}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.GetSite(c, site.ID)
	if len(got.IdentityKeys) != 2 || !got.Settings.Identity.Required {
		t.Errorf("after UpdateSiteSettings: keys %d, required %v; want 2, true", len(got.IdentityKeys), got.Settings.Identity.Required)
	}
	if err := s.SetIdentityKeys(c, site.ID, []data.IdentityKey{{ID: "short", Secret: []byte("x")}}); !errors.Is(err, data.ErrInvalid) {
		t.Errorf("SetIdentityKeys(short secret) = %v, want ErrInvalid", err)
	}
	if err := s.SetIdentityKeys(c, "s_missing", keys); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("SetIdentityKeys(unknown site) = %v, want ErrNotFound", err)
	}
}

func testVisitorByIdentity(t *testing.T, s data.Store) {
	c := ctx(t)
	site, v, _ := fixture(t, s)
	other, _, _ := fixture(t, s)
	if _, err := s.VisitorByExternalID(c, site.ID, "u-1"); !errors.Is(err, data.ErrNotFound) {
		t.Fatalf("VisitorByExternalID before identify = %v, want ErrNotFound", err)
	}
	// An unverified claim is not findable: nobody gets a visitor by typing an id.
	if err := s.UpdateVisitorPersonal(c, v.ID, data.Personal{ExternalID: "u-1", Email: "A@Example.com"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.VisitorByExternalID(c, site.ID, "u-1"); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("VisitorByExternalID of an unverified identity = %v, want ErrNotFound", err)
	}
	if err := s.UpdateVisitorPersonal(c, v.ID, data.Personal{Verified: true, ExternalID: "u-1", Email: "A@Example.com"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.VisitorByExternalID(c, site.ID, "u-1")
	if err != nil || got.ID != v.ID || !got.Personal.Verified {
		t.Errorf("VisitorByExternalID = %+v, %v; want visitor %s verified", got, err, v.ID)
	}
	if _, err := s.VisitorByExternalID(c, other.ID, "u-1"); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("VisitorByExternalID on another site = %v, want ErrNotFound", err)
	}
	vs, err := s.VisitorsByEmail(c, site.ID, " a@example.COM ")
	if err != nil || len(vs) != 1 || vs[0].ID != v.ID {
		t.Errorf("VisitorsByEmail (case and spaces differ) = %+v, %v; want [%s]", vs, err, v.ID)
	}
	v2 := data.Visitor{ID: data.NewID("v_"), SiteID: site.ID, Personal: data.Personal{Verified: true, ExternalID: "u-2", Email: "a@example.com"}}
	if err := s.CreateVisitor(c, v2); err != nil {
		t.Fatal(err)
	}
	if vs, _ := s.VisitorsByEmail(c, site.ID, "a@example.com"); len(vs) != 2 {
		t.Errorf("VisitorsByEmail after a second visitor = %d visitors, want 2", len(vs))
	}
	if got, err := s.VisitorByExternalID(c, site.ID, "u-2"); err != nil || got.ID != v2.ID {
		t.Errorf("VisitorByExternalID(u-2) = %+v, %v; want %s", got, err, v2.ID)
	}
}
