package api

import (
	"strings"
	"testing"

	"github.com/frontdesk/frontdesk/api/realtime"
)

// TestFeedbackFrame drives "Was this helpful?" over the visitor socket: an
// unhelpful answer gets an apology, a second one hands the conversation off.
func TestFeedbackFrame(t *testing.T) {
	h := newHarness(t, realtime.DefaultLimits())
	c := h.mustDial(h.token())
	c.say("m-1", "How long does shipping take?")
	frames := c.until(isBotMessage)
	answer := frames[len(frames)-1]
	if answer["ask_feedback"] != true {
		t.Fatalf("bot answer %v has no ask_feedback", answer)
	}
	conv := answer["conversation_id"].(string)
	steps := []struct {
		frame    map[string]any
		wantType string
		check    func(map[string]any) bool
	}{
		{map[string]any{"type": "feedback", "conversation_id": conv, "seq": answer["seq"], "helpful": "no"}, "error",
			func(f map[string]any) bool { return f["code"] == realtime.CodeBadJSON }},
		{map[string]any{"type": "feedback", "conversation_id": conv, "seq": 1, "helpful": false}, "error",
			func(f map[string]any) bool { return f["code"] == realtime.CodeInvalid }},
		{map[string]any{"type": "feedback", "conversation_id": "c_someone_else", "seq": 2, "helpful": false}, "error",
			func(f map[string]any) bool { return f["code"] == realtime.CodeNotFound }},
		{map[string]any{"type": "feedback", "conversation_id": conv, "seq": answer["seq"], "helpful": false}, "feedback_recorded",
			func(f map[string]any) bool { return f["seq"] == answer["seq"] && f["helpful"] == false }},
	}
	var seen []map[string]any
	for i, s := range steps {
		c.send(s.frame)
		got := c.until(isType(s.wantType))
		if last := got[len(got)-1]; !s.check(last) {
			t.Fatalf("step %d: sent %v, got %v", i, s.frame, last)
		}
		seen = append(seen, got...)
	}
	var sorry map[string]any
	for _, f := range seen {
		if isBotMessage(f) {
			sorry = f
		}
	}
	if sorry == nil {
		apology := c.until(isBotMessage)
		sorry = apology[len(apology)-1]
	}
	if !strings.Contains(sorry["text"].(string), "Sorry") {
		t.Fatalf("after unhelpful feedback the bot said %v, want an apology", sorry)
	}
	// Rating the apology does not count (only answers do); a second answer
	// marked unhelpful hands the conversation to a person.
	c.send(map[string]any{"type": "feedback", "conversation_id": conv, "seq": sorry["seq"], "helpful": false})
	c.until(isType("feedback_recorded"))
	c.say("m-2", "Is shipping free to Canada?")
	frames = c.until(func(f map[string]any) bool { return isBotMessage(f) && f["ask_feedback"] == true })
	second := frames[len(frames)-1]
	for _, f := range frames {
		if f["type"] == "conversation" && f["status"] == "queued" {
			t.Fatalf("rating the apology handed off: %v", f)
		}
	}
	c.send(map[string]any{"type": "feedback", "conversation_id": conv, "seq": second["seq"], "helpful": false})
	c.until(func(f map[string]any) bool { return f["type"] == "conversation" && f["status"] == "queued" })
}
