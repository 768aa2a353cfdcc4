package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/frontdesk/frontdesk/api/realtime"
	"github.com/frontdesk/frontdesk/data"
)

func TestReportsAPI(t *testing.T) {
	h := newHarness(t, realtime.DefaultLimits())
	h.newAgent("boss@acme.example", data.RoleAdmin)
	h.newAgent("mei@acme.example", data.RoleAgent, "default_support")
	boss := h.login("boss@acme.example")
	mei := h.login("mei@acme.example")
	// Two conversations: one the bot answers, one handed off and closed with a rating.
	v1 := h.mustDial(h.token())
	v1.say("a", "How long does shipping take?")
	v1.until(isBotMessage)
	v2 := h.mustDial(h.token())
	v2.say("b", "转人工")
	frames := v2.until(isType("position"))
	conv := frames[len(frames)-1]["conversation_id"].(string)
	if code, out := mei.do("POST", "/api/v1/agent/conversations/"+conv+"/accept", nil); code != 200 {
		t.Fatalf("accept = %d %v", code, out)
	}
	mei.do("POST", "/api/v1/agent/conversations/"+conv+"/messages", map[string]any{"client_msg_id": "r", "text": "hi"})
	mei.do("POST", "/api/v1/agent/conversations/"+conv+"/close", nil)
	v2.until(func(f map[string]any) bool {
		ev, _ := f["event"].(map[string]any)
		return ev != nil && ev["to"] == "closed"
	})
	v2.send(map[string]any{"type": "rate", "conversation_id": conv, "score": 4})
	v2.until(isType("rated"))

	today := time.Now().UTC().Format("2006-01-02")
	code, out := boss.do("GET", "/api/v1/admin/reports?from="+today+"&to="+today, nil)
	if code != 200 {
		t.Fatalf("report = %d %v", code, out)
	}
	want := map[string]float64{"conversations": 2, "bot_only": 1, "handed_off": 1, "containment_rate": 0.5}
	for k, v := range want {
		if out[k] != v {
			t.Errorf("report %s = %v, want %v", k, out[k], v)
		}
	}
	if csat := out["csat"].(map[string]any); csat["average"] != 4.0 || csat["count"] != 1.0 {
		t.Errorf("csat = %v", csat)
	}
	if reasons := out["handoff_reasons"].(map[string]any); reasons["explicit_request"] != 1.0 {
		t.Errorf("reasons = %v", reasons)
	}
	if code, _ := mei.do("GET", "/api/v1/admin/reports", nil); code != 403 {
		t.Errorf("agent reading reports = %d, want 403", code)
	}
	for _, bad := range []string{"?group=no_such_group", "?from=yesterday", "?from=2026-11-20&to=2026-11-10", "?bucket=minute", "?from=2020-01-01&to=2026-01-01", "?from=9999-12-31&to=9999-12-31", "?from=0001-01-01&to=0001-01-02"} {
		if code, _ := boss.do("GET", "/api/v1/admin/reports"+bad, nil); code != 400 {
			t.Errorf("report%s = %d, want 400", bad, code)
		}
	}
	req, _ := http.NewRequest("GET", h.srv.URL+"/api/v1/admin/reports.csv?from="+today+"&to="+today, nil)
	resp, err := boss.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") || !strings.Contains(string(body), "containment_rate,0.5000") {
		t.Errorf("csv = %d %q", resp.StatusCode, body)
	}
	// The CSV carries what the dashboard shows: rating distribution, reasons,
	// decisions and a row per group.
	for _, want := range []string{"\ncsat_4,1\n", "\nhandoff_reason:explicit_request,1\n", "\nbot_decision:", "\ngroup,handed_off,", "\ndefault_support,1,", "\nfirst_response_count,"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("csv lacks %q:\n%s", want, body)
		}
	}
	code, out = boss.do("GET", "/api/v1/agent/knowledge-gaps?from="+today+"&to="+today, nil)
	if code != 200 {
		t.Fatalf("gaps = %d %v", code, out)
	}
	if code, _ := mei.do("GET", "/api/v1/agent/knowledge-gaps", nil); code != 403 {
		t.Errorf("agent reading knowledge gaps = %d, want 403", code)
	}
}

func TestCreateFAQEntry(t *testing.T) {
	h := newHarness(t, realtime.DefaultLimits())
	h.newAgent("ed@acme.example", data.RoleEditor)
	ed := h.login("ed@acme.example")
	if code, out := ed.do("POST", "/api/v1/agent/knowledge/entries", map[string]any{"questions": []string{"x"}, "answer": "y"}); code != 409 || errCode(out) != "read_only_knowledge" {
		t.Errorf("create on the built-in knowledge = %d %v, want 409", code, out)
	}
	dir := t.TempDir()
	h.server.cfg.KBDir = dir
	code, out := ed.do("POST", "/api/v1/agent/knowledge/entries", map[string]any{"questions": []string{"Do you ship to Mars?", "Mars delivery"}, "answer": "Not yet.", "skill": "order_support"})
	if code != 201 {
		t.Fatalf("create = %d %v", code, out)
	}
	id := out["id"].(string)
	b, err := os.ReadFile(filepath.Join(dir, id+".md"))
	if err != nil || !strings.Contains(string(b), "Do you ship to Mars?") || !strings.Contains(string(b), "Not yet.") {
		t.Errorf("file %s = %q, %v", id, b, err)
	}
	if code, _ := ed.do("POST", "/api/v1/agent/knowledge/entries", map[string]any{"id": id, "questions": []string{"q"}, "answer": "a"}); code != 409 {
		t.Errorf("duplicate id = %d, want 409", code)
	}
	if code, _ := ed.do("POST", "/api/v1/agent/knowledge/entries", map[string]any{"id": "../escape", "questions": []string{"q"}, "answer": "a"}); code != 400 {
		t.Errorf("path traversal id = %d, want 400", code)
	}
}

func TestWebhookSettings(t *testing.T) {
	h := newHarness(t, realtime.DefaultLimits())
	h.newAgent("boss@acme.example", data.RoleAdmin)
	boss := h.login("boss@acme.example")
	good := map[string]any{"webhooks": []any{map[string]any{"id": "crm", "url": "https://crm.example/hook", "secret": "0123456789abcdef0123", "events": []string{"ticket.created"}}}}
	code, out := boss.do("PUT", "/api/v1/admin/sites/demo/settings", good)
	if code != 200 {
		t.Fatalf("set webhook = %d %v", code, out)
	}
	hooks := out["webhooks"].([]any)
	if hooks[0].(map[string]any)["secret"] != "********" {
		t.Errorf("settings answer shows the webhook secret: %v", hooks[0])
	}
	// Sending the masked secret back keeps the stored one.
	if code, out := boss.do("PUT", "/api/v1/admin/sites/demo/settings", map[string]any{"webhooks": []any{map[string]any{"id": "crm", "url": "https://crm.example/hook2", "secret": "********"}}}); code != 200 {
		t.Errorf("update with the masked secret = %d %v", code, out)
	}
	site, _ := h.store.SiteByKey(context.Background(), "demo")
	if site.Settings.Webhooks[0].Secret != "0123456789abcdef0123" || site.Settings.Webhooks[0].URL != "https://crm.example/hook2" {
		t.Errorf("stored webhook = %+v", site.Settings.Webhooks[0])
	}
	for _, bad := range []map[string]any{
		{"id": "x", "url": "ftp://x", "secret": "0123456789abcdef"},
		{"id": "x", "url": "https://x.example", "secret": "short"},
		{"id": "x", "url": "https://x.example", "secret": "0123456789abcdef", "events": []string{"everything"}},
		{"id": "new", "url": "https://x.example", "secret": "********"},
	} {
		if code, out := boss.do("PUT", "/api/v1/admin/sites/demo/settings", map[string]any{"webhooks": []any{bad}}); code != 400 {
			t.Errorf("webhook %v = %d %v, want 400", bad, code, out)
		}
	}
	if code, out := boss.do("GET", "/api/v1/admin/webhooks/deliveries", nil); code != 200 {
		t.Errorf("deliveries = %d %v", code, out)
	}
}

func TestAPITokenAndOpenAPI(t *testing.T) {
	h := newHarness(t, realtime.DefaultLimits())
	h.newAgent("boss@acme.example", data.RoleAdmin)
	boss := h.login("boss@acme.example")
	code, out := boss.do("POST", "/api/v1/admin/tokens", map[string]any{"days": 30})
	if code != 201 {
		t.Fatalf("create token = %d %v", code, out)
	}
	token := out["token"].(string)
	call := func(method, path, tok string, body string) int {
		req, _ := http.NewRequest(method, h.srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := call("GET", "/api/v1/admin/reports", token, ""); c != 200 {
		t.Errorf("report with an API token = %d", c)
	}
	if c := call("PUT", "/api/v1/admin/groups/vip", token, `{"name":"VIP"}`); c != 200 {
		t.Errorf("change with an API token (no CSRF needed) = %d", c)
	}
	if c := call("GET", "/api/v1/admin/reports", "fdt_forged", ""); c != 401 {
		t.Errorf("forged token = %d, want 401", c)
	}
	if code, _ := boss.do("POST", "/api/v1/admin/tokens", map[string]any{"days": 5000}); code != 400 {
		t.Errorf("token for 5000 days = %d, want 400", code)
	}

	// The OpenAPI document describes every API route the server has.
	resp, err := http.Get(h.srv.URL + "/api/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	resp.Body.Close()
	for _, r := range h.server.Handler().(*gin.Engine).Routes() {
		if r.Method == "OPTIONS" || !(strings.HasPrefix(r.Path, "/api/") || r.Path == "/healthz" || r.Path == "/readyz") || r.Path == "/api/openapi.json" {
			continue
		}
		p := r.Path
		for _, seg := range strings.Split(p, "/") {
			if strings.HasPrefix(seg, ":") {
				p = strings.Replace(p, seg, "{"+seg[1:]+"}", 1)
			}
		}
		if _, ok := doc.Paths[p][strings.ToLower(r.Method)]; !ok {
			t.Errorf("openapi.json lacks %s %s", r.Method, p)
		}
	}
}
