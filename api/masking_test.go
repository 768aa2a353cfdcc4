package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/frontdesk/frontdesk/api/realtime"
	"github.com/frontdesk/frontdesk/data"
)

// TestMaskedAgentView: with privacy.mask_agent_view the agent socket and the
// conversation details show phone numbers and e-mails partly masked, while
// the visitor's own view and the store keep them whole.
func TestMaskedAgentView(t *testing.T) {
	h := newHarness(t, realtime.DefaultLimits())
	ctx := context.Background()
	h.maskAgentView()
	h.newAgent("mei@acme.example", data.RoleAgent, "default_support")
	mei := h.login("mei@acme.example")
	v := h.mustDial(h.token())
	v.send(map[string]any{"type": "identify", "name": "Li", "email": "lilei@example.com", "phone": "13800138000"})
	v.until(isType("identified"))
	v.say("h1", "转人工, call 13800138000")
	frames := v.until(func(f map[string]any) bool { return f["type"] == "position" })
	// The position frame names the conversation (the ack may come later:
	// the bot's replies are produced in parallel).
	convID, _ := frames[len(frames)-1]["conversation_id"].(string)
	if code, out := mei.do("POST", "/api/v1/agent/conversations/"+convID+"/accept", nil); code != http.StatusOK {
		t.Fatalf("accept = %d %v", code, out)
	}
	code, out := mei.do("GET", "/api/v1/agent/conversations/"+convID, nil)
	js := mustJSON(out)
	if code != http.StatusOK || strings.Contains(js, "13800138000") || strings.Contains(js, "lilei@example.com") || !strings.Contains(js, "138****8000") {
		t.Errorf("details = %d %s; want phone and e-mail masked", code, js)
	}
	// A bot decision that echoes the visitor's words (stored before the
	// decision's query was redacted at the source) is masked too.
	if _, _, err := h.store.AppendMessage(ctx, data.Message{ConversationID: convID, SenderKind: data.SenderBot, Kind: data.KindText, Text: "noted",
		Metadata: json.RawMessage(`{"decision":{"kind":"answer","query":"call 13800138000","confidence":0.9}}`)}); err != nil {
		t.Fatal(err)
	}
	if _, out := mei.do("GET", "/api/v1/agent/conversations/"+convID, nil); strings.Contains(mustJSON(out["bot_decision"]), "13800138000") || !strings.Contains(mustJSON(out["bot_decision"]), "138****8000") {
		t.Errorf("details bot_decision = %s, want the query masked", mustJSON(out["bot_decision"]))
	}
	ac := mei.socket()
	defer ac.conn.Close()
	ac.next()
	ac.send(map[string]any{"type": "watch", "conversation_id": convID, "last_seq": 0})
	got := ac.until(func(f map[string]any) bool { return f["type"] == "message" && f["sender"] == "visitor" })
	if text := got[len(got)-1]["text"].(string); strings.Contains(text, "13800138000") || !strings.Contains(text, "138****8000") {
		t.Errorf("agent socket message text = %q, want the phone masked", text)
	}
	got = ac.until(func(f map[string]any) bool { return f["type"] == "message" && f["text"] == "noted" })
	if meta := mustJSON(got[len(got)-1]["metadata"]); strings.Contains(meta, "13800138000") || !strings.Contains(meta, "138****8000") || !strings.Contains(meta, `"confidence":0.9`) {
		t.Errorf("agent socket bot metadata = %s, want the query masked and the rest kept", meta)
	}
	msgs, _ := h.store.ListMessages(ctx, convID, 0, 10)
	if len(msgs) == 0 || !strings.Contains(msgs[0].Text, "13800138000") {
		t.Errorf("stored message = %+v, want the text unchanged", msgs)
	}
}

// maskAgentView turns on the demo site's privacy.mask_agent_view.
func (h *harness) maskAgentView() {
	h.t.Helper()
	ctx := context.Background()
	site, err := h.store.SiteByKey(ctx, "demo")
	if err != nil {
		h.t.Fatal(err)
	}
	site.Settings.Privacy.MaskAgentView = true
	if _, err := h.store.UpdateSiteSettings(ctx, site.ID, site.Settings); err != nil {
		h.t.Fatal(err)
	}
}
