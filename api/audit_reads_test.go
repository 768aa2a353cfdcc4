package api

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/frontdesk/frontdesk/api/realtime"
	"github.com/frontdesk/frontdesk/data"
)

// TestStaffReadsAreAudited: reading a transcript over the console socket,
// listing tickets and downloading a visitor's file each leave an audit entry.
func TestStaffReadsAreAudited(t *testing.T) {
	h := newHarness(t, realtime.DefaultLimits())
	ctx := context.Background()
	h.newAgent("boss@acme.example", data.RoleAdmin)
	boss := h.login("boss@acme.example")
	token := h.token()
	v := h.mustDial(token)
	if code, out := h.upload(token, "invoice.pdf", []byte("%PDF-1.4\n%fake pdf\n"), "up-1"); code != 201 {
		t.Fatalf("upload = %d %v", code, out)
	}
	frames := v.until(func(f map[string]any) bool { return f["type"] == "message" && f["text"] == "invoice.pdf" })
	msg := frames[len(frames)-1]
	convID := msg["conversation_id"].(string)
	fileID := msg["file"].(map[string]any)["id"].(string)
	v.send(map[string]any{"type": "leave_message", "name": "Wang", "email": "wang@example.com", "text": "Please call me back"})
	v.until(isType("ticket"))

	ac := boss.socket()
	defer ac.conn.Close()
	ac.next()
	ac.send(map[string]any{"type": "watch", "conversation_id": convID, "last_seq": 0})
	ac.until(func(f map[string]any) bool { return f["type"] == "message" && f["text"] == "invoice.pdf" })
	if code, out := boss.do("GET", "/api/v1/agent/tickets", nil); code != http.StatusOK {
		t.Fatalf("tickets = %d %v", code, out)
	}
	req, _ := http.NewRequest("GET", h.srv.URL+"/api/v1/agent/files/"+fileID, nil)
	resp, err := boss.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("agent download = %d", resp.StatusCode)
	}

	entries, err := h.store.ListAudit(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"conversation:" + convID + " watch": false, "tickets:1": false, "file:" + fileID: false}
	for _, e := range entries {
		if e.Action != data.AuditView {
			continue
		}
		key := e.Target
		if e.Detail == "watch" {
			key += " watch"
		}
		if _, ok := want[key]; ok {
			want[key] = true
		}
	}
	for k, seen := range want {
		if !seen {
			var got []string
			for _, e := range entries {
				got = append(got, e.Action+" "+e.Target+" "+e.Detail)
			}
			t.Errorf("no audit entry for %s; the log has:\n%s", k, strings.Join(got, "\n"))
		}
	}
}
