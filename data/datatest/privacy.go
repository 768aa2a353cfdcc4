package datatest

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
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
		{"FindByEmailVerifiedOrNot", testFindByEmail},
		{"ErasureDeletesOutbox", testEraseOutbox},
		{"RetentionPurgesOutbox", testPurgeOutbox},
		{"OutboxErrorIsMasked", testOutboxErrorMasked},
		{"EventNamesAreRestricted", testEventNames},
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
	if _, _, err := s.Transition(c, data.Transition{ConversationID: conv.ID, From: data.StatusBot, To: data.StatusClosed}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.RateConversation(c, conv.ID, 2, "too slow, call 13800138000"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddTicketEvent(c, data.TicketEvent{TicketID: tk.ID, Kind: "reply", AuthorID: "a", Body: "we called you"}); err != nil {
		t.Fatal(err)
	}
	exp, err := s.ExportVisitor(c, v.ID)
	if err != nil {
		t.Fatalf("ExportVisitor: %v", err)
	}
	// 3 messages of the fixture, the closing note and the rating's.
	if exp.Visitor.Personal.Phone != "13800138000" || len(exp.Conversations) != 1 || len(exp.Conversations[0].Messages) != 5 ||
		len(exp.Conversations[0].Files) != 1 || string(exp.Conversations[0].Files[0].Content) != "id card" || len(exp.Tickets) != 1 || len(exp.Events) != 1 {
		t.Fatalf("ExportVisitor = %+v; want personal fields, 1 conversation with 5 messages (one carrying the file) and 1 file, 1 ticket, 1 event", exp)
	}
	if got := exp.Conversations[0].RatingComment; got != "too slow, call 13800138000" {
		t.Errorf("exported rating comment = %q, want the visitor's comment", got)
	}
	var kinds []string
	for _, e := range exp.Tickets[0].Events {
		kinds = append(kinds, e.Kind+":"+e.Body)
	}
	if len(kinds) != 1 || kinds[0] != "reply:we called you" {
		t.Errorf("exported ticket events = %v; want the reply only (the note is internal)", kinds)
	}
	js, err := json.Marshal(exp)
	if err != nil || !strings.Contains(string(js), `"content":"`+base64.StdEncoding.EncodeToString([]byte("id card"))+`"`) {
		t.Errorf("export JSON lacks the file's content in base64 (%v): %s", err, js)
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

// testFindByEmail: every visitor whose personal fields hold the address,
// verified or not, and every ticket whose contact holds it, on that site only.
func testFindByEmail(t *testing.T, s data.Store) {
	c := ctx(t)
	site, unverified, conv := fixture(t, s)
	if err := s.UpdateVisitorPersonal(c, unverified.ID, data.Personal{Name: "Li Lei", Email: "LiLei@Example.com "}); err != nil {
		t.Fatal(err)
	}
	verified := data.Visitor{ID: data.NewID("v_"), SiteID: site.ID, Personal: data.Personal{Verified: true, ExternalID: "u-9", Email: "lilei@example.com"}}
	if err := s.CreateVisitor(c, verified); err != nil {
		t.Fatal(err)
	}
	// A visitor who gave the address only in a left message.
	byTicket := data.Visitor{ID: data.NewID("v_"), SiteID: site.ID}
	if err := s.CreateVisitor(c, byTicket); err != nil {
		t.Fatal(err)
	}
	bc, err := s.CreateConversation(c, data.Conversation{SiteID: site.ID, VisitorID: byTicket.ID})
	if err != nil {
		t.Fatal(err)
	}
	viaConv, err := s.CreateTicket(c, data.Ticket{SiteID: site.ID, ConversationID: bc.ID, Subject: "s", Body: "b", Contact: data.Contact{Email: "lilei@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	alone, err := s.CreateTicket(c, data.Ticket{SiteID: site.ID, Subject: "s", Body: "b", Contact: data.Contact{Name: "Li", Email: "LILEI@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	// Not matches: another address, and the same address on another site.
	if _, err := s.CreateTicket(c, data.Ticket{SiteID: site.ID, ConversationID: conv.ID, VisitorID: unverified.ID, Subject: "s", Body: "b", Contact: data.Contact{Email: "hanmei@example.com"}}); err != nil {
		t.Fatal(err)
	}
	other, ov, _ := fixture(t, s)
	if err := s.UpdateVisitorPersonal(c, ov.ID, data.Personal{Email: "lilei@example.com"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateTicket(c, data.Ticket{SiteID: other.ID, Subject: "s", Body: "b", Contact: data.Contact{Email: "lilei@example.com"}}); err != nil {
		t.Fatal(err)
	}

	m, err := s.FindByEmail(c, site.ID, " lilei@EXAMPLE.com")
	if err != nil {
		t.Fatalf("FindByEmail: %v", err)
	}
	slices.Sort(m.VisitorIDs)
	wantV := []string{unverified.ID, verified.ID}
	slices.Sort(wantV)
	wantT := []data.TicketRef{{ID: viaConv.ID, VisitorID: byTicket.ID}, {ID: alone.ID}}
	slices.SortFunc(m.Tickets, func(a, b data.TicketRef) int { return strings.Compare(a.ID, b.ID) })
	slices.SortFunc(wantT, func(a, b data.TicketRef) int { return strings.Compare(a.ID, b.ID) })
	if !slices.Equal(m.VisitorIDs, wantV) || !slices.Equal(m.Tickets, wantT) {
		t.Errorf("FindByEmail = %+v; want visitors %v and tickets %+v", m, wantV, wantT)
	}
	if m, err := s.FindByEmail(c, site.ID, "nobody@example.com"); err != nil || len(m.VisitorIDs)+len(m.Tickets) != 0 {
		t.Errorf("FindByEmail(unknown address) = %+v, %v; want nothing", m, err)
	}
	if err := s.EraseTicket(c, alone.ID); err != nil {
		t.Fatalf("EraseTicket: %v", err)
	}
	if _, err := s.GetTicket(c, alone.ID); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("ticket after EraseTicket: %v, want ErrNotFound", err)
	}
	if err := s.EraseTicket(c, alone.ID); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("EraseTicket twice = %v, want ErrNotFound", err)
	}
}

// outboxIDs lists the ids of every e-mail and webhook item, delivered or not.
func outboxIDs(t *testing.T, s data.Store) []string {
	t.Helper()
	var ids []string
	for _, kind := range []string{"email", "webhook"} {
		items, err := s.ListOutbox(ctx(t), kind, 1000)
		if err != nil {
			t.Fatalf("ListOutbox(%s): %v", kind, err)
		}
		for _, it := range items {
			ids = append(ids, it.ID)
		}
	}
	slices.Sort(ids)
	return ids
}

func item(id, kind string, link data.OutboxItem) data.OutboxItem {
	link.ID, link.Kind, link.Payload = id, kind, json.RawMessage(`{"to":"lilei@example.com","text":"my phone is 13800138000"}`)
	return link
}

// testEraseOutbox: erasure deletes the visitor's e-mails and webhook
// deliveries, pending and delivered, and nobody else's.
func testEraseOutbox(t *testing.T, s data.Store) {
	c := ctx(t)
	site, v, conv, f, tk := personalFixture(t, s)
	_, other, oc := fixture(t, s)
	// A reply e-mailed to the visitor: the store links it to the ticket.
	if _, err := s.AddTicketEvent(c, data.TicketEvent{TicketID: tk.ID, Kind: "reply", AuthorID: "a", Body: "hi"}, item("o_reply", "email", data.OutboxItem{})); err != nil {
		t.Fatal(err)
	}
	tk2, err := s.CreateTicket(c, data.Ticket{SiteID: site.ID, VisitorID: v.ID, Subject: "s", Body: "b", Contact: data.Contact{Email: "lilei@example.com"}},
		item("o_notify", "email", data.OutboxItem{}))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.EnqueueOutbox(c,
		item("o_hook_done", "webhook", data.OutboxItem{SiteID: site.ID, ConversationID: conv.ID}),
		item("o_hook_visitor", "webhook", data.OutboxItem{SiteID: site.ID, VisitorID: v.ID}),
		item("o_other", "webhook", data.OutboxItem{SiteID: site.ID, VisitorID: other.ID, ConversationID: oc.ID}),
	); err != nil {
		t.Fatal(err)
	}
	if err := s.CompleteOutbox(c, "o_hook_done", time.Now()); err != nil {
		t.Fatal(err)
	}
	log, err := s.ListOutbox(c, "email", 10)
	if err != nil || len(log) != 2 {
		t.Fatalf("ListOutbox(email) = %+v, %v; want the reply and the notification", log, err)
	}
	for _, it := range log {
		want := data.OutboxItem{SiteID: site.ID, VisitorID: v.ID, ConversationID: conv.ID, TicketID: tk.ID}
		if it.ID == "o_notify" {
			want = data.OutboxItem{SiteID: site.ID, VisitorID: v.ID, TicketID: tk2.ID}
		}
		if it.SiteID != want.SiteID || it.VisitorID != want.VisitorID || it.ConversationID != want.ConversationID || it.TicketID != want.TicketID {
			t.Errorf("outbox item %s links site %q visitor %q conversation %q ticket %q; want %+v", it.ID, it.SiteID, it.VisitorID, it.ConversationID, it.TicketID, want)
		}
	}
	if err := s.EraseVisitor(c, v.ID); err != nil {
		t.Fatalf("EraseVisitor: %v", err)
	}
	assertGone(t, s, site, v, conv, f, tk)
	if got := outboxIDs(t, s); !slices.Equal(got, []string{"o_other"}) {
		t.Errorf("outbox after erasure = %v; want only the other visitor's item", got)
	}
	if got, _ := s.ClaimOutbox(c, time.Now().Add(time.Hour), time.Minute, 10); len(got) != 1 || got[0].ID != "o_other" {
		t.Errorf("claim after erasure = %+v; want only o_other", got)
	}
}

// testPurgeOutbox: the purge deletes the outbox items of purged
// conversations and the site's items delivered before the cut-off.
func testPurgeOutbox(t *testing.T, s data.Store) {
	c := ctx(t)
	site, _, conv, _, tk := personalFixture(t, s)
	otherSite, _, _ := fixture(t, s)
	now := time.Now()
	if err := s.EnqueueOutbox(c,
		item("o_conv", "webhook", data.OutboxItem{SiteID: site.ID, ConversationID: conv.ID}),
		item("o_ticket", "email", data.OutboxItem{TicketID: tk.ID}),
		item("o_old_done", "webhook", data.OutboxItem{SiteID: site.ID}),
		item("o_pending", "webhook", data.OutboxItem{SiteID: site.ID}),
		item("o_new_done", "webhook", data.OutboxItem{SiteID: site.ID}),
		item("o_other_site", "webhook", data.OutboxItem{SiteID: otherSite.ID}),
	); err != nil {
		t.Fatal(err)
	}
	for id, at := range map[string]time.Time{"o_old_done": now.Add(-2 * time.Hour), "o_new_done": now.Add(2 * time.Hour), "o_other_site": now.Add(-2 * time.Hour)} {
		if err := s.CompleteOutbox(c, id, at); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.PurgeBefore(c, site.ID, now.Add(-3*time.Hour), 10); err != nil {
		t.Fatal(err)
	}
	if got := outboxIDs(t, s); len(got) != 6 {
		t.Fatalf("outbox after a purge that purges nothing = %v; want all 6 items", got)
	}
	if n, err := s.PurgeBefore(c, site.ID, now.Add(time.Minute), 10); err != nil || n != 1 {
		t.Fatalf("PurgeBefore(now) = %d, %v; want 1 conversation", n, err)
	}
	if got, want := outboxIDs(t, s), []string{"o_new_done", "o_other_site", "o_pending"}; !slices.Equal(got, want) {
		t.Errorf("outbox after the purge = %v; want %v (the conversation's, the ticket's and the old delivered item gone)", got, want)
	}
}

// testOutboxErrorMasked: a delivery error naming the recipient is stored masked.
func testOutboxErrorMasked(t *testing.T, s data.Store) {
	c := ctx(t)
	if err := s.EnqueueOutbox(c, item("o_err", "email", data.OutboxItem{})); err != nil {
		t.Fatal(err)
	}
	if err := s.RetryOutbox(c, "o_err", "smtp: 550 5.1.1 <lilei@example.com>: Recipient address rejected (call 13800138000)", time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	log, err := s.ListOutbox(c, "email", 10)
	if err != nil || len(log) != 1 {
		t.Fatalf("ListOutbox = %+v, %v", log, err)
	}
	if e := log[0].LastError; strings.Contains(e, "lilei@example.com") || strings.Contains(e, "13800138000") || !strings.Contains(e, "Recipient address rejected") {
		t.Errorf("stored last error = %q; want the address and phone masked, the rest kept", e)
	}
}

// testEventNames: event names are stored in clear, so only [a-z0-9_.:-]{1,64} is taken.
func testEventNames(t *testing.T, s data.Store) {
	c := ctx(t)
	site, v, _ := fixture(t, s)
	for _, name := range []string{"page_view", "privacy_consent", "invitation_shown", "invitation_clicked", "invitation_converted",
		"prechat_topic", "bot_feedback", "added_to_cart", "shop:cart.add-1", strings.Repeat("a", 64)} {
		if err := s.RecordEvent(c, data.VisitorEvent{SiteID: site.ID, VisitorID: v.ID, Name: name}); err != nil {
			t.Errorf("RecordEvent(%q) = %v, want it stored", name, err)
		}
	}
	for _, name := range []string{"", "lilei@example.com", "Added To Cart", "PageView", "call 13800138000", "名字", strings.Repeat("a", 65), "a/b"} {
		if err := s.RecordEvent(c, data.VisitorEvent{SiteID: site.ID, VisitorID: v.ID, Name: name}); !errors.Is(err, data.ErrInvalid) {
			t.Errorf("RecordEvent(%q) = %v, want ErrInvalid", name, err)
		}
	}
}
