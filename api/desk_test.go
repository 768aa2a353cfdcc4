package api

import (
	"fmt"
	"testing"

	"github.com/frontdesk/frontdesk/api/realtime"
	"github.com/frontdesk/frontdesk/data"
)

// TestEditorsSeeNoConversations: knowledge editors curate the FAQ; even in a
// group they see neither its queue nor its conversations, over HTTP or on
// the console socket.
func TestEditorsSeeNoConversations(t *testing.T) {
	h := newHarness(t, realtime.DefaultLimits())
	h.newAgent("boss@acme.example", data.RoleAdmin)
	h.newAgent("mei@acme.example", data.RoleAgent, "default_support")
	h.newAgent("tom@acme.example", data.RoleAgent, "order_support")
	h.newAgent("ed@acme.example", data.RoleEditor, "default_support")
	v := h.mustDial(h.token())
	v.say("h", "转人工")
	frames := v.until(isType("position"))
	conv := frames[len(frames)-1]["conversation_id"].(string)
	tests := []struct {
		email       string
		wantQueue   bool // default_support's queue is listed, with the conversation
		wantDetails int
	}{
		{"boss@acme.example", true, 200},
		{"mei@acme.example", true, 200},
		{"tom@acme.example", false, 403},
		{"ed@acme.example", false, 403},
	}
	for _, tt := range tests {
		ac := h.login(tt.email)
		code, out := ac.do("GET", "/api/v1/agent/queues", nil)
		if code != 200 {
			t.Fatalf("%s: GET queues = %d %v", tt.email, code, out)
		}
		if got := hasQueue(out["queues"], "default_support", conv); got != tt.wantQueue {
			t.Errorf("%s: GET queues = %v; default_support with %s listed = %v, want %v", tt.email, out["queues"], conv, got, tt.wantQueue)
		}
		if code, out := ac.do("GET", "/api/v1/agent/conversations/"+conv, nil); code != tt.wantDetails {
			t.Errorf("%s: GET conversations/%s = %d %v, want %d", tt.email, conv, code, out, tt.wantDetails)
		}
		ws := ac.socket()
		hello := ws.next()
		ws.conn.Close()
		if hello["type"] != "hello" {
			t.Fatalf("%s: first console frame = %v, want hello", tt.email, hello)
		}
		if got := hasQueue(hello["queues"], "default_support", conv); got != tt.wantQueue {
			t.Errorf("%s: socket hello queues = %v; default_support with %s listed = %v, want %v", tt.email, hello["queues"], conv, got, tt.wantQueue)
		}
	}
}

// hasQueue reports whether queues (decoded JSON) lists group with conversation conv waiting.
func hasQueue(queues any, group, conv string) bool {
	qs, _ := queues.([]any)
	for _, q := range qs {
		m, _ := q.(map[string]any)
		if m["group"] != group {
			continue
		}
		entries, _ := m["entries"].([]any)
		for _, e := range entries {
			if fmt.Sprint(e.(map[string]any)["conversation_id"]) == conv {
				return true
			}
		}
	}
	return false
}
