package api

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/api/realtime"
	"github.com/frontdesk/frontdesk/data"
)

// TestEmailDeliveries: admins see whether this node sends e-mail and the
// e-mails waiting or sent; agents do not.
func TestEmailDeliveries(t *testing.T) {
	h := newHarness(t, realtime.DefaultLimits())
	h.newAgent("boss@acme.example", data.RoleAdmin)
	h.newAgent("amy@acme.example", data.RoleAgent)
	boss, amy := h.login("boss@acme.example"), h.login("amy@acme.example")
	ctx := context.Background()
	payload, _ := json.Marshal(map[string]any{"to": []string{"wang@example.com"}, "subject": "Re: parcel [t_1]", "text": "hi"})
	now := time.Now().UTC()
	if err := h.store.EnqueueOutbox(ctx,
		data.OutboxItem{ID: "o_wait", Kind: "email", Payload: payload, NextAttemptAt: now},
		data.OutboxItem{ID: "o_sent", Kind: "email", Payload: payload, NextAttemptAt: now},
		data.OutboxItem{ID: "o_hook", Kind: "webhook", Payload: json.RawMessage(`{}`), NextAttemptAt: now},
	); err != nil {
		t.Fatal(err)
	}
	if err := h.store.CompleteOutbox(ctx, "o_sent", now); err != nil {
		t.Fatal(err)
	}
	code, out := boss.do("GET", "/api/v1/admin/email", nil)
	if code != 200 {
		t.Fatalf("email = %d %v", code, out)
	}
	emails, _ := out["emails"].([]any)
	if out["smtp_configured"] != false || out["waiting"] != float64(1) || len(emails) != 2 {
		t.Fatalf("email = %v; want no SMTP, 1 waiting, 2 e-mails (no webhook)", out)
	}
	for _, e := range emails {
		m := e.(map[string]any)
		if m["subject"] != "Re: parcel [t_1]" || m["to"].([]any)[0] != "wang@example.com" {
			t.Errorf("e-mail row = %v", m)
		}
		if _, sent := m["sent_at"]; sent != (m["id"] == "o_sent") {
			t.Errorf("e-mail %v: sent_at present = %v", m["id"], sent)
		}
	}
	if code, _ := amy.do("GET", "/api/v1/admin/email", nil); code != 403 {
		t.Errorf("agent reading the e-mail log = %d, want 403", code)
	}
}
