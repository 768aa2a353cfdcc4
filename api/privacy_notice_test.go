package api

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/api/realtime"
	"github.com/frontdesk/frontdesk/data"
)

// TestPrivacyNoticeSetting: widget.privacy_notice_url must be https, and
// the widget reads it from the public config.
func TestPrivacyNoticeSetting(t *testing.T) {
	h := newHarness(t, realtime.DefaultLimits())
	h.newAgent("boss@acme.example", data.RoleAdmin)
	boss := h.login("boss@acme.example")
	const path = "/api/v1/admin/sites/demo/settings"
	for _, bad := range []string{"http://shop.example/privacy", "javascript:alert(1)", "/privacy", "https://", "https://u:p@shop.example/privacy", "https://shop.example/" + strings.Repeat("p", 500)} {
		if code, out := boss.do("PATCH", path, map[string]any{"widget": map[string]any{"privacy_notice_url": bad}}); code != http.StatusBadRequest {
			t.Errorf("PATCH privacy_notice_url %q = %d %v, want 400", bad, code, out)
		}
	}
	const notice = "https://shop.example/privacy?lang=zh"
	if code, out := boss.do("PATCH", path, map[string]any{"widget": map[string]any{"privacy_notice_url": notice}}); code != http.StatusOK {
		t.Fatalf("PATCH privacy_notice_url = %d %v", code, out)
	}
	resp, err := http.Get(h.srv.URL + "/api/v1/visitor/config?site_key=demo")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var cfg struct {
		Widget data.WidgetSettings `json:"widget"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&cfg); err != nil || cfg.Widget.PrivacyNoticeURL != notice {
		t.Errorf("GET /visitor/config widget.privacy_notice_url = %q (%v), want %q", cfg.Widget.PrivacyNoticeURL, err, notice)
	}
	// Empty removes it.
	if code, out := boss.do("PATCH", path, map[string]any{"widget": map[string]any{"privacy_notice_url": ""}}); code != http.StatusOK {
		t.Errorf("PATCH privacy_notice_url \"\" = %d %v, want 200", code, out)
	}
}

// TestPageViewStripsQueryAndFragment: the page a socket is opened from is
// stored, and shown to agents, without its query string or fragment.
func TestPageViewStripsQueryAndFragment(t *testing.T) {
	h := newHarness(t, realtime.DefaultLimits())
	page := "http://127.0.0.1/account?email=li@example.com&reset=TOKEN#frag"
	c, resp, err := h.dial(h.token()+"&page="+url.QueryEscape(page), nil)
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, resp)
	}
	hello := c.next()
	vid, _ := hello["visitor_id"].(string)
	ev, err := h.store.LatestEvent(t.Context(), vid, "page_view")
	if err != nil {
		t.Fatalf("LatestEvent(page_view) = %v", err)
	}
	if got := string(ev.Props); got != `{"url":"http://127.0.0.1/account"}` {
		t.Errorf("stored page_view = %s, want only origin and path", got)
	}
	// A page_view tracked by the client is stripped too.
	c.send(map[string]any{"type": "track", "name": "page_view", "props": map[string]any{"url": "https://shop.example/reset?token=SECRET#x"}})
	deadline := time.Now().Add(5 * time.Second)
	for {
		ev, err := h.store.LatestEvent(t.Context(), vid, "page_view")
		if err == nil && string(ev.Props) == `{"url":"https://shop.example/reset"}` {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("tracked page_view stored as %s (%v), want {\"url\":\"https://shop.example/reset\"}", ev.Props, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
