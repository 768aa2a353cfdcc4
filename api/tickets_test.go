package api

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/frontdesk/frontdesk/api/realtime"
	"github.com/frontdesk/frontdesk/data"
)

// ticketFixture stores a ticket of the order_support group, with a visitor's
// contact details, for the demo site.
func (h *harness) ticketFixture() data.Ticket {
	h.t.Helper()
	ctx := context.Background()
	site, err := h.store.SiteByKey(ctx, "demo")
	if err != nil {
		h.t.Fatal(err)
	}
	tk, err := h.store.CreateTicket(ctx, data.Ticket{SiteID: site.ID, GroupID: "order_support", Subject: "Parcel missing",
		Body: "Call me on 13800138000", Contact: data.Contact{Name: "Li Lei", Email: "lilei@example.com", Phone: "13800138000"}})
	if err != nil {
		h.t.Fatal(err)
	}
	return tk
}

// TestTicketAccessFollowsGroups: agents work on the tickets of their groups
// and those assigned to them; agents of other groups and knowledge editors
// can neither list, read, change nor answer them; admins can.
func TestTicketAccessFollowsGroups(t *testing.T) {
	h := newHarness(t, realtime.DefaultLimits())
	h.newAgent("admin@acme.example", data.RoleAdmin)
	h.newAgent("order@acme.example", data.RoleAgent, "order_support")
	other := h.newAgent("other@acme.example", data.RoleAgent, "default_support")
	h.newAgent("editor@acme.example", data.RoleEditor, "order_support")
	tk := h.ticketFixture()
	clients := map[string]*agentClient{} // sign-ins are limited per address: one each
	for _, email := range []string{"admin@acme.example", "order@acme.example", "other@acme.example", "editor@acme.example"} {
		clients[email] = h.login(email)
	}
	for _, tc := range []struct {
		email string
		may   bool
	}{
		{"admin@acme.example", true},
		{"order@acme.example", true},
		{"other@acme.example", false},
		{"editor@acme.example", false},
	} {
		t.Run(tc.email, func(t *testing.T) {
			a := clients[tc.email]
			code, out := a.do("GET", "/api/v1/agent/tickets", nil)
			listed := strings.Contains(mustJSON(out), tk.ID)
			if tc.may && (code != http.StatusOK || !listed) || !tc.may && listed {
				t.Errorf("list = %d, ticket listed %v; want listed %v", code, listed, tc.may)
			}
			want := http.StatusForbidden
			if tc.may {
				want = http.StatusOK
			}
			if code, out := a.do("GET", "/api/v1/agent/tickets/"+tk.ID, nil); code != want {
				t.Errorf("get = %d %v, want %d", code, out, want)
			}
			if code, out := a.do("PATCH", "/api/v1/agent/tickets/"+tk.ID, map[string]any{"status": "pending"}); code != want {
				t.Errorf("patch = %d %v, want %d", code, out, want)
			}
			for _, kind := range []string{"notes", "replies"} {
				code, out := a.do("POST", "/api/v1/agent/tickets/"+tk.ID+"/"+kind, map[string]string{"text": "hello from " + tc.email})
				if tc.may && code != http.StatusCreated || !tc.may && code != http.StatusForbidden {
					t.Errorf("%s = %d %v, want %v", kind, code, out, tc.may)
				}
			}
		})
	}
	events, err := h.store.TicketEvents(context.Background(), tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		if strings.Contains(e.Body, "other@") || strings.Contains(e.Body, "editor@") {
			t.Errorf("a refused caller's %s was stored: %+v", e.Kind, e)
		}
	}

	// Assigned to an agent of another group, the ticket is theirs too.
	admin, o := clients["admin@acme.example"], clients["other@acme.example"]
	if code, out := admin.do("PATCH", "/api/v1/agent/tickets/"+tk.ID, map[string]any{"assignee": other.ID}); code != http.StatusOK {
		t.Fatalf("assign = %d %v", code, out)
	}
	if code, out := o.do("GET", "/api/v1/agent/tickets?status=pending", nil); code != http.StatusOK || !strings.Contains(mustJSON(out), tk.ID) {
		t.Errorf("assignee's list = %d %v, want the ticket", code, out)
	}
	if code, out := o.do("GET", "/api/v1/agent/tickets/"+tk.ID, nil); code != http.StatusOK {
		t.Errorf("assignee's get = %d %v", code, out)
	}
	// A group the caller may not filter by lists only what is assigned to them.
	if code, out := o.do("GET", "/api/v1/agent/tickets?group=order_support", nil); code != http.StatusOK || !strings.Contains(mustJSON(out), tk.ID) {
		t.Errorf("assignee's list of order_support = %d %v, want their ticket", code, out)
	}
}

// TestTicketUpdateValidatesReferences: a ticket cannot be moved to a group
// that does not exist or assigned to an unknown account or an editor.
func TestTicketUpdateValidatesReferences(t *testing.T) {
	h := newHarness(t, realtime.DefaultLimits())
	h.newAgent("order@acme.example", data.RoleAgent, "order_support")
	editor := h.newAgent("editor@acme.example", data.RoleEditor)
	tk := h.ticketFixture()
	a := h.login("order@acme.example")
	for _, body := range []map[string]any{
		{"group": "no_such_group"},
		{"assignee": "a_nobody"},
		{"assignee": editor.ID},
		{"status": "lost"},
	} {
		if code, out := a.do("PATCH", "/api/v1/agent/tickets/"+tk.ID, body); code != http.StatusBadRequest {
			t.Errorf("patch %v = %d %v, want 400", body, code, out)
		}
	}
	got, _ := h.store.GetTicket(context.Background(), tk.ID)
	if got.GroupID != "order_support" || got.Assignee != "" || got.Status != data.TicketOpen {
		t.Errorf("ticket after refused patches = %+v, want it unchanged", got)
	}
	if code, out := a.do("PATCH", "/api/v1/agent/tickets/"+tk.ID, map[string]any{"group": "default_support", "assignee": ""}); code != http.StatusOK {
		t.Errorf("move to default_support = %d %v", code, out)
	}
	// Moved out of the agent's groups and not assigned to them, it is no longer theirs.
	if code, out := a.do("GET", "/api/v1/agent/tickets/"+tk.ID, nil); code != http.StatusForbidden {
		t.Errorf("get after moving it away = %d %v, want 403", code, out)
	}
}

// TestTicketViewsMaskedAndAudited: with privacy.mask_agent_view the ticket
// list and detail show the contact's phone and e-mail partly masked, and
// every detail view is written to the audit log.
func TestTicketViewsMaskedAndAudited(t *testing.T) {
	h := newHarness(t, realtime.DefaultLimits())
	ctx := context.Background()
	h.maskAgentView()
	h.newAgent("order@acme.example", data.RoleAgent, "order_support")
	tk := h.ticketFixture()
	a := h.login("order@acme.example")
	for _, path := range []string{"/api/v1/agent/tickets", "/api/v1/agent/tickets/" + tk.ID} {
		code, out := a.do("GET", path, nil)
		js := mustJSON(out)
		if code != http.StatusOK || !strings.Contains(js, tk.ID) || strings.Contains(js, "13800138000") || strings.Contains(js, "lilei@example.com") || !strings.Contains(js, "138****8000") {
			t.Errorf("GET %s = %d %s; want the phone and e-mail masked", path, code, js)
		}
	}
	audit, err := h.store.ListAudit(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	viewed := false
	for _, e := range audit {
		viewed = viewed || (e.Action == data.AuditView && e.Target == "ticket:"+tk.ID)
	}
	if !viewed {
		t.Errorf("audit log = %+v, want a view of ticket:%s", audit, tk.ID)
	}
	if got, _ := h.store.GetTicket(ctx, tk.ID); got.Contact.Phone != "13800138000" {
		t.Errorf("stored contact = %+v, want it unchanged", got.Contact)
	}
}

// TestTicketFromConversationNeedsAccess: an agent may open a ticket only for a
// conversation they may see.
func TestTicketFromConversationNeedsAccess(t *testing.T) {
	h := newHarness(t, realtime.DefaultLimits())
	h.newAgent("order@acme.example", data.RoleAgent, "order_support")
	_, conv := h.visitorConversation()
	a := h.login("order@acme.example")
	if code, out := a.do("POST", "/api/v1/agent/conversations/"+conv.ID+"/tickets", map[string]any{"body": "follow up"}); code != http.StatusForbidden {
		t.Errorf("ticket from a conversation of another group = %d %v, want 403", code, out)
	}
	if list, _ := h.store.ListTickets(context.Background(), data.TicketFilter{}); len(list) != 0 {
		t.Errorf("tickets after a refused create = %d, want 0", len(list))
	}
}
