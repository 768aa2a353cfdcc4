package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/frontdesk/frontdesk/api/realtime"
	"github.com/frontdesk/frontdesk/data"
)

// TestSiteSettingsPatch: PATCH replaces only the sections it names, PUT the
// whole document; webhook secrets stay masked and kept.
func TestSiteSettingsPatch(t *testing.T) {
	h := newHarness(t, realtime.DefaultLimits())
	h.newAgent("boss@acme.example", data.RoleAdmin)
	boss := h.login("boss@acme.example")
	const path = "/api/v1/admin/sites/demo/settings"
	hook := map[string]any{"id": "crm", "url": "https://crm.example/hook", "secret": "a-long-webhook-secret"}
	if code, out := boss.do("PATCH", path, map[string]any{"webhooks": []any{hook}}); code != http.StatusOK {
		t.Fatalf("PATCH webhooks = %d %v", code, out)
	}
	code, out := boss.do("PATCH", path, map[string]any{"identity": map[string]any{"required": true}})
	js := mustJSON(out)
	if code != http.StatusOK || !strings.Contains(js, `"required":true`) || !strings.Contains(js, "crm.example") || strings.Contains(js, "a-long-webhook-secret") {
		t.Fatalf("PATCH identity = %d %s; want identity set, the webhook kept, its secret masked", code, js)
	}
	site, _ := h.store.SiteByKey(t.Context(), "demo")
	if len(site.Settings.Webhooks) != 1 || site.Settings.Webhooks[0].Secret != "a-long-webhook-secret" || !site.Settings.Identity.Required {
		t.Errorf("stored settings = %+v; want the webhook with its secret and identity required", site.Settings)
	}
	// Event names are stored in clear, so they follow the event-name rule.
	badEvent := map[string]any{"widget": map[string]any{"invitations": []any{map[string]any{"id": "cart", "when": map[string]any{"event": "Added To Cart"}, "message": map[string]any{"en": "Need help?"}}}}}
	goodEvent := map[string]any{"widget": map[string]any{"invitations": []any{map[string]any{"id": "cart", "when": map[string]any{"event": "added_to_cart"}, "message": map[string]any{"en": "Need help?"}, "conversion_event": "checkout.done"}}}}
	if code, out := boss.do("PATCH", path, goodEvent); code != http.StatusOK {
		t.Errorf("PATCH invitation with valid event names = %d %v", code, out)
	}
	for _, bad := range []map[string]any{{"colour": "red"}, {"identity": "yes"}, badEvent} {
		if code, out := boss.do("PATCH", path, bad); code != http.StatusBadRequest {
			t.Errorf("PATCH %v = %d %v, want 400", bad, code, out)
		}
	}
	// PUT replaces everything: no webhooks afterwards.
	if code, out := boss.do("PUT", path, map[string]any{"identity": map[string]any{"required": false}}); code != http.StatusOK || strings.Contains(mustJSON(out), "crm.example") {
		t.Errorf("PUT = %d %v; want the whole document replaced", code, out)
	}
}

// TestSiteOrigins: an admin sets the origins that may embed the widget, and
// the visitor socket follows the new list at once.
func TestSiteOrigins(t *testing.T) {
	h := newHarness(t, realtime.DefaultLimits())
	h.newAgent("boss@acme.example", data.RoleAdmin)
	boss := h.login("boss@acme.example")
	dial := func(origin string) int {
		u := "ws" + strings.TrimPrefix(h.srv.URL, "http") + "/api/v1/visitor/ws?token=" + h.token()
		conn, resp, err := websocket.DefaultDialer.Dial(u, http.Header{"Origin": {origin}})
		if err == nil {
			conn.Close()
			return http.StatusSwitchingProtocols
		}
		if resp == nil {
			t.Fatal(err)
		}
		return resp.StatusCode
	}
	if code := dial("https://shop.example.com"); code != http.StatusForbidden {
		t.Fatalf("socket from an unlisted origin = %d, want 403", code)
	}
	for _, bad := range []any{[]string{"shop.example.com"}, []string{"https://shop.example.com/page"}, []string{"ftp://x.example"}, nil} {
		if code, out := boss.do("PUT", "/api/v1/admin/sites/demo/origins", map[string]any{"allowed_origins": bad}); code != http.StatusBadRequest {
			t.Errorf("origins %v = %d %v, want 400", bad, code, out)
		}
	}
	code, out := boss.do("PUT", "/api/v1/admin/sites/demo/origins", map[string]any{"allowed_origins": []string{"https://shop.example.com/"}})
	if code != http.StatusOK || !strings.Contains(mustJSON(out), `"allowed_origins":["https://shop.example.com"]`) {
		t.Fatalf("PUT origins = %d %v", code, out)
	}
	if code := dial("https://shop.example.com"); code != http.StatusSwitchingProtocols {
		t.Errorf("socket from the newly allowed origin = %d, want 101", code)
	}
	if code, out := boss.do("GET", "/api/v1/admin/sites/demo", nil); code != http.StatusOK || out["key"] != "demo" {
		t.Errorf("GET site = %d %v", code, out)
	}
	if code, _ := boss.do("PUT", "/api/v1/admin/sites/nope/origins", map[string]any{"allowed_origins": []string{}}); code != http.StatusNotFound {
		t.Errorf("origins of an unknown site = %d, want 404", code)
	}
}
