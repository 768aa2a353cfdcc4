package api

import (
	"strings"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/api/realtime"
	"github.com/frontdesk/frontdesk/data"
)

// TestKnowledgeGapsRedactedForEditors: editors never see conversations, so
// the visitor phrasings in knowledge gaps reach them with personal data
// redacted even when the site does not mask the agent view; admins follow
// the site's setting.
func TestKnowledgeGapsRedactedForEditors(t *testing.T) {
	h := newHarness(t, realtime.DefaultLimits()) // privacy.mask_agent_view is off
	h.newAgent("ed@acme.example", data.RoleEditor)
	h.newAgent("boss@acme.example", data.RoleAdmin)
	ed, boss := h.login("ed@acme.example"), h.login("boss@acme.example")
	v := h.mustDial(h.token())
	v.say("q", "Please call me on 13812345678 or li@example.com about my refund")
	v.until(isBotMessage)
	today := time.Now().UTC().Format("2006-01-02")
	gaps := func(who *agentClient) string {
		t.Helper()
		code, out := who.do("GET", "/api/v1/agent/knowledge-gaps?from="+today+"&to="+today, nil)
		if code != 200 {
			t.Fatalf("GET knowledge-gaps = %d %v", code, out)
		}
		return mustJSON(out)
	}
	if got := gaps(ed); !strings.Contains(got, "Please call me on [PHONE] or [EMAIL] about my refund") || strings.Contains(got, "13812345678") || strings.Contains(got, "li@example.com") {
		t.Errorf("editor's knowledge gaps = %s; want the phrasing with [PHONE] and [EMAIL]", got)
	}
	if got := gaps(boss); !strings.Contains(got, "13812345678") {
		t.Errorf("admin's knowledge gaps on a site that does not mask = %s; want the phrasing as asked", got)
	}
	h.maskAgentView()
	if got := gaps(boss); strings.Contains(got, "13812345678") || !strings.Contains(got, "[PHONE]") {
		t.Errorf("admin's knowledge gaps on a site that masks = %s; want [PHONE]", got)
	}
}
