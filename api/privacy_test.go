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
	if code != http.StatusOK || len(actions) != 2 || actions[0] != data.AuditExport || actions[1] != data.AuditErase {
		t.Errorf("audit log = %d %v; want export then erase", code, actions)
	}
	for _, bad := range []string{"abc", "-1"} {
		if code, out := ac.do("GET", "/api/v1/admin/audit?after="+bad, nil); code != http.StatusBadRequest {
			t.Errorf("audit?after=%s = %d %v, want 400", bad, code, out)
		}
	}
	if code, out := ac.do("GET", "/api/v1/admin/audit?after=1", nil); code != http.StatusOK || len(out["entries"].([]any)) != 1 {
		t.Errorf("audit?after=1 = %d %v, want the second entry only", code, out)
	}
	if n, err := privacy.Verify(ctx, h.store); err != nil || n != 2 {
		t.Errorf("Verify = %d, %v; want 2 intact rows", n, err)
	}
}
