package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBotTestCommand(t *testing.T) {
	dir := t.TempDir()
	failing := filepath.Join(dir, "failing.yaml")
	os.WriteFile(failing, []byte("stories:\n  - name: wrong expectation\n    steps:\n      - user: 运费多少钱？\n        expect: {kind: handoff}\n"), 0o600)
	passing := filepath.Join(dir, "passing.yaml")
	os.WriteFile(passing, []byte("stories:\n  - name: shipping\n    steps:\n      - user: How much does shipping cost?\n        expect: {kind: answer, faq: shipping-cost}\n"), 0o600)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
	}{
		{"starter stories", []string{"bot", "test"}, 0, "0 failed"},
		{"a passing file", []string{"bot", "test", passing}, 0, "1 passed, 0 failed"},
		{"a failing file", []string{"bot", "test", "-v", failing}, 1, "kind = \"answer\", want \"handoff\""},
		{"json", []string{"bot", "test", "--json", passing}, 0, `"passed":true`},
		{"missing subcommand", []string{"bot"}, 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(context.Background(), tt.args, &out, &errOut)
			if code != tt.wantCode || !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("frontdesk %v = exit %d, output %q (stderr %q); want exit %d and %q", tt.args, code, out.String(), errOut.String(), tt.wantCode, tt.wantOut)
			}
		})
	}
}

func TestChatExplain(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"chat", "--explain", "--say", "what is the weather like today"}, &out, &errOut)
	if code != 0 || !strings.Contains(out.String(), "why: handoff reason=low_confidence skill=default_support") {
		t.Errorf("chat --explain = exit %d, %q (stderr %q); want the handoff and its reason", code, out.String(), errOut.String())
	}
	out.Reset()
	// Two answers marked unhelpful hand off (rating the apology does not count).
	err := chatExplain(context.Background(), "", "", strings.NewReader("运费多少钱？\n/unhelpful\n怎么开发票？\n/unhelpful\n"), &out, &errOut)
	if err != nil || strings.Count(out.String(), "why:") != 4 || !strings.Contains(out.String(), "reason=repeated_unhelpful") {
		t.Errorf("chatExplain over four lines = %v, %q", err, out.String())
	}
}

func TestConfigMasksBotSecrets(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		secret   string
	}{
		{"webhook and LLM secrets", []string{"config", "--bot-webhook-url", "https://shop.example.com/hooks", "--bot-webhook-secret", "hush-hush", "--llm-base-url", "http://127.0.0.1:1/v1", "--llm-model", "m", "--llm-api-key", "sk-very-secret"}, 0, "hush-hush sk-very-secret"},
		{"credentials in the URLs", []string{"config", "--bot-webhook-url", "https://user:bwpass@shop.example.com/hooks?apikey=querysecret", "--bot-webhook-secret", "hush-hush",
			"--llm-base-url", "https://llmuser:llmpw@llm.example.com/v1?key=abc123&token=tok456", "--llm-model", "m", "--llm-api-key", "sk-x"}, 0, "hush-hush bwpass querysecret llmpw abc123 tok456"},
		{"webhook without secret", []string{"config", "--bot-webhook-url", "https://shop.example.com/hooks"}, 1, ""},
		{"model without base URL", []string{"config", "--llm-model", "m"}, 1, ""},
		{"clarify threshold out of range", []string{"config", "--bot-clarify-threshold", "1.5"}, 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(context.Background(), tt.args, &out, &errOut)
			if code != tt.wantCode {
				t.Fatalf("frontdesk %v = exit %d (stderr %q), want %d", tt.args, code, errOut.String(), tt.wantCode)
			}
			for _, s := range strings.Fields(tt.secret) {
				if strings.Contains(out.String(), s) {
					t.Errorf("frontdesk config printed the secret %q", s)
				}
			}
			if tt.secret != "" && strings.Count(out.String(), `"********"`) < 2 {
				t.Errorf("frontdesk config = %s, want the bot's secrets masked", out.String())
			}
		})
	}
}
