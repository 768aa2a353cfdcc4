package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/knowledge"
)

// fakeLLM speaks the chat-completions API, streaming or not; what it answers
// depends on the visitor's question.
type fakeLLM struct {
	mu      sync.Mutex
	prompts []string // system + user of every request
}

func (f *fakeLLM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/chat/completions" || r.Header.Get("Authorization") != "Bearer test-key" {
		http.Error(w, `{"error":{"message":"bad request"}}`, http.StatusUnauthorized)
		return
	}
	var req struct {
		Model    string `json:"model"`
		Stream   bool   `json:"stream"`
		Messages []struct{ Role, Content string }
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Messages) != 2 {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	q := req.Messages[1].Content
	f.mu.Lock()
	f.prompts = append(f.prompts, req.Messages[0].Content+"\n---\n"+q)
	f.mu.Unlock()
	answer, refusal := "Shipping is free over ¥99 [shipping-cost], otherwise ¥8 [shipping-cost] [made-up].", ""
	switch {
	case strings.Contains(q, "slow"):
		select {
		case <-time.After(3 * time.Second):
		case <-r.Context().Done():
			return
		}
	case strings.Contains(q, "weather"):
		answer = NoAnswer
	case strings.Contains(q, "bomb"):
		answer, refusal = "", "I can't help with that."
	}
	if !req.Stream {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"id": "x", "object": "chat.completion", "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": answer, "refusal": refusal}}}})
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	fl := w.(http.Flusher)
	send := func(delta map[string]any) {
		b, _ := json.Marshal(map[string]any{"id": "x", "object": "chat.completion.chunk", "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "delta": delta}}})
		fmt.Fprintf(w, "data: %s\n\n", b)
		fl.Flush()
	}
	if refusal != "" {
		send(map[string]any{"refusal": refusal})
	}
	for _, tok := range splitTokens(answer) {
		send(map[string]any{"content": tok})
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
	fl.Flush()
}

// splitTokens cuts s into pieces of 3 characters, like a model's tokens.
func splitTokens(s string) []string {
	r := []rune(s)
	var out []string
	for i := 0; i < len(r); i += 3 {
		out = append(out, string(r[i:min(i+3, len(r))]))
	}
	return out
}

var (
	genOnce sync.Once
	genLLM  *fakeLLM
	genSrv  *httptest.Server
	genG    *Generator
	genErr  error
)

// testGenerator returns one generator per test binary (the tokenizer loads once).
func testGenerator(t *testing.T) (*Generator, *fakeLLM) {
	genOnce.Do(func() {
		genLLM = &fakeLLM{}
		genSrv = httptest.NewServer(genLLM)
		genG, genErr = NewGenerator(LLMConfig{BaseURL: genSrv.URL + "/v1", APIKey: "test-key", Model: "test-model", Timeout: 500 * time.Millisecond, HTTPClient: genSrv.Client()})
	})
	if genErr != nil {
		t.Fatal(genErr)
	}
	return genG, genLLM
}

func TestGenerativeAnswers(t *testing.T) {
	g, llm := testGenerator(t)
	faq := knowledge.Result{Confidence: 0.9, Margin: 0.8, Hits: []knowledge.Hit{
		{ID: "shipping-cost", Question: "How much does shipping cost?", Answer: "Free over ¥99, else ¥8.\n\n满 ¥99 包邮。", Skill: "order_support", Score: 9},
		{ID: "shipping-time", Question: "How long does shipping take?", Answer: "2 days.", Skill: "order_support", Score: 3},
	}}
	tests := []struct {
		name       string
		text       string
		stream     bool
		wantKind   Kind
		wantReason string
		wantReply  string
		wantCites  []string
		wantLLMErr string
		wantTokens bool
	}{
		{"success", "shipping cost", false, KindAnswer, ReasonGenerated, "Shipping is free over ¥99 [shipping-cost]", []string{"shipping-cost"}, "", false},
		{"stream", "shipping cost", true, KindAnswer, ReasonGenerated, "Shipping is free over ¥99 [shipping-cost]", []string{"shipping-cost"}, "", true},
		{"timeout falls back to the FAQ answer", "shipping cost slow", true, KindAnswer, ReasonFAQMatch, "Free over ¥99, else ¥8.", nil, "timeout", false},
		{"timeout without streaming", "shipping cost slow", false, KindAnswer, ReasonFAQMatch, "Free over ¥99, else ¥8.", nil, "timeout", false},
		{"sources do not answer: handoff", "shipping weather", false, KindHandoff, ReasonLLMNoAnswer, "", nil, "", false},
		{"sources do not answer, streamed: nothing leaks", "shipping weather", true, KindHandoff, ReasonLLMNoAnswer, "", nil, "", false},
		{"refusal: handoff", "shipping bomb", true, KindHandoff, ReasonLLMNoAnswer, "", nil, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := New(scriptKB{tt.text: faq}, DefaultConfig(), WithGenerator(g))
			if err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			var toks []string
			in := Input{ConversationID: "c", Text: tt.text}
			if tt.stream {
				in.OnToken = func(s string) { mu.Lock(); toks = append(toks, s); mu.Unlock() }
			}
			d, err := e.Turn(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			if d.Kind != tt.wantKind || d.Reason != tt.wantReason || !strings.Contains(d.Reply, tt.wantReply) || d.LLMError != tt.wantLLMErr || strings.Join(d.Citations, ",") != strings.Join(tt.wantCites, ",") {
				t.Errorf("Turn(%q) = %s %q; want %s %s reply containing %q cites %v llm_error %q", tt.text, Explain(d), d.Reply, tt.wantKind, tt.wantReason, tt.wantReply, tt.wantCites, tt.wantLLMErr)
			}
			if tt.wantKind == KindHandoff && d.Skill != "order_support" {
				t.Errorf("handoff to %q, want the entry's group order_support", d.Skill)
			}
			mu.Lock()
			defer mu.Unlock()
			if tt.wantTokens && strings.Join(toks, "") != d.Reply {
				t.Errorf("streamed %q, reply %q: want the same text", strings.Join(toks, ""), d.Reply)
			}
			if !tt.wantTokens && tt.wantLLMErr == "" && len(toks) > 0 {
				t.Errorf("streamed %q for a reply that was not generated", toks)
			}
		})
	}
	_ = llm
}

func TestGeneratorMasksAndBudgets(t *testing.T) {
	g, llm := testGenerator(t)
	long := strings.Repeat("Our return policy has many details. ", 400)
	faq := knowledge.Result{Confidence: 0.9, Margin: 0.8, Hits: []knowledge.Hit{
		{ID: "return-policy", Question: "Return policy?", Answer: long, Score: 9},
		{ID: "refund-time", Question: "Refund time?", Answer: long, Score: 8},
	}}
	q := "my phone is 13800138000 and mail bob@example.com, card 6222021234567890128, what's the shipping cost"
	msgs, ids, n := g.prompt(q, "en", faq.Hits)
	if n > 1500 {
		t.Errorf("prompt has %d tokens, budget 1500", n)
	}
	if total := g.Tokens(msgs[0].Content) + g.Tokens(msgs[1].Content); total > 1500 {
		t.Errorf("prompt messages count %d tokens, budget 1500", total)
	}
	if len(ids) != 1 || ids[0] != "return-policy" {
		t.Errorf("sources given = %v, want the first one cut to fit", ids)
	}
	e, _ := New(scriptKB{q: faq}, DefaultConfig(), WithGenerator(g))
	if _, err := e.Turn(context.Background(), Input{ConversationID: "m", Text: q}); err != nil {
		t.Fatal(err)
	}
	llm.mu.Lock()
	last := llm.prompts[len(llm.prompts)-1]
	llm.mu.Unlock()
	for _, secret := range []string{"13800138000", "bob@example.com", "6222021234567890128"} {
		if strings.Contains(last, secret) {
			t.Errorf("prompt sent to the model contains %q:\n%s", secret, last[len(last)-200:])
		}
	}
	if _, err := NewGenerator(LLMConfig{}); err == nil {
		t.Error("NewGenerator without a base URL succeeded")
	}
}
