package api

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/api/realtime"
	"github.com/frontdesk/frontdesk/data"
	"github.com/frontdesk/frontdesk/identity"
	"github.com/frontdesk/frontdesk/privacy"
)

// TestExportEraseAndAudit: an admin exports a verified visitor, erases them
// by verified e-mail, and every access is in an intact audit chain.
func TestExportEraseAndAudit(t *testing.T) {
	h := newHarness(t, realtime.DefaultLimits())
	ctx := context.Background()
	key, err := identity.AddKey(ctx, h.store, "demo", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	_, out := h.session(`{"site_key":"demo","identity_token":"` + signed(key, "demo", "cust-1", "p-1") + `"}`)
	vid := out["visitor_id"].(string)
	c := h.mustDial(out["token"].(string))
	c.say("m1", "call me on 13800138000")
	c.until(isType("ack"))

	h.newAgent("boss@example.com", data.RoleAdmin)
	ac := h.login("boss@example.com")
	code, exp := ac.do("GET", "/api/v1/admin/visitors/"+vid+"/export", nil)
	convs, _ := exp["conversations"].([]any)
	if code != http.StatusOK || len(convs) != 1 {
		t.Fatalf("export = %d %v; want 200 with one conversation", code, exp)
	}
	code, out = ac.do("POST", "/api/v1/admin/sites/demo/erasures", map[string]string{"email": "LiLei@example.com"})
	if ids, _ := out["erased_visitors"].([]any); code != http.StatusOK || len(ids) != 1 || ids[0] != vid {
		t.Fatalf("erase by e-mail = %d %v; want visitor %s erased", code, out, vid)
	}
	if _, err := h.store.GetVisitor(ctx, vid); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("visitor after erasure: %v, want ErrNotFound", err)
	}
	if code, _ := ac.do("DELETE", "/api/v1/admin/visitors/"+vid, nil); code != http.StatusNotFound {
		t.Errorf("erase again = %d, want 404", code)
	}
	code, out = ac.do("GET", "/api/v1/admin/audit", nil)
	entries, _ := out["entries"].([]any)
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.(map[string]any)["action"].(string))
	}
	if code != http.StatusOK || len(actions) != 3 || actions[0] != data.AuditExport || actions[1] != data.AuditEraseSearch || actions[2] != data.AuditErase {
		t.Errorf("audit log = %d %v; want export, the search by e-mail, then erase", code, actions)
	}
	for _, bad := range []string{"abc", "-1"} {
		if code, out := ac.do("GET", "/api/v1/admin/audit?after="+bad, nil); code != http.StatusBadRequest {
			t.Errorf("audit?after=%s = %d %v, want 400", bad, code, out)
		}
	}
	if code, out := ac.do("GET", "/api/v1/admin/audit?after=2", nil); code != http.StatusOK || len(out["entries"].([]any)) != 1 {
		t.Errorf("audit?after=2 = %d %v, want the third entry only", code, out)
	}
	if n, err := privacy.Verify(ctx, h.store); err != nil || n != 3 {
		t.Errorf("Verify = %d, %v; want 3 intact rows", n, err)
	}
}

// TestEraseByEmailFindsUnverifiedAndTickets: erasure by e-mail reaches a
// visitor who only typed the address (unverified), a visitor who left it
// in a message (ticket contact) with their e-mails, and a ticket of no
// visitor; an address nothing has answers 404 no_match.
func TestEraseByEmailFindsUnverifiedAndTickets(t *testing.T) {
	h := newHarness(t, realtime.DefaultLimits())
	ctx := context.Background()
	site, err := h.store.SiteByKey(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	typed := data.Visitor{ID: data.NewID("v_"), SiteID: site.ID, Personal: data.Personal{Name: "Li Lei", Email: "lilei@example.com"}}
	left := data.Visitor{ID: data.NewID("v_"), SiteID: site.ID}
	other := data.Visitor{ID: data.NewID("v_"), SiteID: site.ID, Personal: data.Personal{Email: "hanmei@example.com"}}
	for _, v := range []data.Visitor{typed, left, other} {
		if err := h.store.CreateVisitor(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	conv, err := h.store.CreateConversation(ctx, data.Conversation{SiteID: site.ID, VisitorID: left.ID})
	if err != nil {
		t.Fatal(err)
	}
	mail := data.OutboxItem{Kind: "email", Payload: []byte(`{"to":["team@example.com"],"text":"from lilei@example.com"}`)}
	tk, err := h.store.CreateTicket(ctx, data.Ticket{SiteID: site.ID, ConversationID: conv.ID, VisitorID: left.ID, Subject: "refund", Body: "please",
		Contact: data.Contact{Email: "LiLei@example.com"}}, mail)
	if err != nil {
		t.Fatal(err)
	}
	lone, err := h.store.CreateTicket(ctx, data.Ticket{SiteID: site.ID, Subject: "s", Body: "b", Contact: data.Contact{Email: "lilei@example.com"}})
	if err != nil {
		t.Fatal(err)
	}

	h.newAgent("boss@example.com", data.RoleAdmin)
	ac := h.login("boss@example.com")
	code, out := ac.do("POST", "/api/v1/admin/sites/demo/erasures", map[string]string{"email": " lilei@EXAMPLE.com"})
	vs, _ := out["erased_visitors"].([]any)
	ts, _ := out["erased_tickets"].([]any)
	if code != http.StatusOK || len(vs) != 2 || len(ts) != 2 {
		t.Fatalf("erase by e-mail = %d %v; want 2 visitors (%s typed it, %s left it) and 2 tickets", code, out, typed.ID, left.ID)
	}
	for what, err := range map[string]error{
		"visitor who typed it": func() error { _, err := h.store.GetVisitor(ctx, typed.ID); return err }(),
		"visitor who left it":  func() error { _, err := h.store.GetVisitor(ctx, left.ID); return err }(),
		"their ticket":         func() error { _, err := h.store.GetTicket(ctx, tk.ID); return err }(),
		"ticket of no visitor": func() error { _, err := h.store.GetTicket(ctx, lone.ID); return err }(),
	} {
		if !errors.Is(err, data.ErrNotFound) {
			t.Errorf("%s after erasure: %v, want ErrNotFound", what, err)
		}
	}
	if items, _ := h.store.ListOutbox(ctx, "email", 10); len(items) != 0 {
		t.Errorf("e-mails after erasure = %+v, want none", items)
	}
	if _, err := h.store.GetVisitor(ctx, other.ID); err != nil {
		t.Errorf("visitor with another address after erasure: %v", err)
	}
	code, out = ac.do("POST", "/api/v1/admin/sites/demo/erasures", map[string]string{"email": "lilei@example.com"})
	if e, _ := out["error"].(map[string]any); code != http.StatusNotFound || e["code"] != "no_match" {
		t.Errorf("erase by e-mail again = %d %v; want 404 no_match", code, out)
	}
	if code, out := ac.do("POST", "/api/v1/admin/sites/nosuch/erasures", map[string]string{"email": "lilei@example.com"}); code != http.StatusNotFound {
		t.Errorf("erase by e-mail on an unknown site = %d %v; want 404", code, out)
	}
}
