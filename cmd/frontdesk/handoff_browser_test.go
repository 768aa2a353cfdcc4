package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// adminLogin reads the first admin's password the server wrote and signs in
// over HTTP, returning a client with the session cookie and the CSRF token.
func adminLogin(t *testing.T, ts *testServer) (email, password string, client *http.Client, csrf string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(ts.dataDir, "initial-admin.txt"))
	if err != nil {
		t.Fatalf("initial admin file: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "e-mail: "); ok {
			email = v
		}
		if v, ok := strings.CutPrefix(line, "password: "); ok {
			password = v
		}
	}
	jar, _ := cookiejar.New(nil)
	client = &http.Client{Jar: jar, Timeout: 10 * time.Second}
	body, _ := json.Marshal(map[string]string{"email": email, "password": password})
	resp, err := client.Post(ts.url+"/api/v1/agent/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var me struct {
		CSRF string `json:"csrf_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&me); err != nil || resp.StatusCode != 200 {
		t.Fatalf("admin login = %d, %v", resp.StatusCode, err)
	}
	return email, password, client, me.CSRF
}

func apiCall(t *testing.T, c *http.Client, csrf, method, url string, body any) (int, map[string]any) {
	t.Helper()
	var r *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	} else {
		r = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, url, r)
	req.Header.Set("Content-Type", "application/json")
	if csrf != "" {
		req.Header.Set("X-CSRF-Token", csrf)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// TestHandoffInBrowser: a visitor asks for a human in the widget; the agent
// signs in to the console, sees the conversation waiting with the reason,
// accepts it and replies; the visitor sees the reply; the agent closes; the
// visitor rates 5.
func TestHandoffInBrowser(t *testing.T) {
	ts := startServer(t)
	email, password, client, csrf := adminLogin(t, ts)
	// Agents pick conversations by hand in this group, so it waits in the queue.
	if code, out := apiCall(t, client, csrf, "PUT", ts.url+"/api/v1/admin/groups/default_support",
		map[string]any{"name": "General support", "settings": map[string]any{"routing": "manual"}}); code != 200 {
		t.Fatalf("set manual routing = %d %v", code, out)
	}
	shots := t.TempDir()
	if dir := os.Getenv("FRONTDESK_SCREENSHOT_DIR"); dir != "" {
		shots = dir
	}
	shot := func(ctx context.Context, name string) {
		var png []byte
		if err := chromedp.Run(ctx, chromedp.FullScreenshot(&png, 100)); err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(shots, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	visitor := browser(t)
	wait := chromedp.WithPollingTimeout(20 * time.Second)

	// The visitor asks for a person.
	if err := chromedp.Run(visitor,
		chromedp.Navigate(ts.url+"/"),
		chromedp.Poll(shadow+`.querySelector('.launcher') !== null`, nil, wait),
		chromedp.Evaluate(shadow+`.querySelector('.launcher').click()`, nil),
		chromedp.Evaluate(shadow+`.querySelector('.input').focus()`, nil),
		chromedp.KeyEvent("转人工"),
		chromedp.KeyEvent("\r"),
		chromedp.Poll(shadow+`.querySelector('.queue.show') !== null`, nil, wait),
	); err != nil {
		t.Fatalf("visitor handoff: %v", err)
	}
	var queueText string
	_ = chromedp.Run(visitor, chromedp.Evaluate(shadow+`.querySelector('.queue').textContent`, &queueText))
	if !strings.Contains(queueText, "1") {
		t.Errorf("queue position shown to the visitor = %q, want position 1", queueText)
	}

	// The agent signs in (in a browser of their own: background tabs pause
	// their timers) and sees the conversation waiting, with the reason.
	agent := browser(t)
	var reason string
	if err := chromedp.Run(agent,
		chromedp.Navigate(ts.url+"/console/"),
		chromedp.WaitVisible(`input[name=email]`, chromedp.ByQuery),
		chromedp.SendKeys(`input[name=email]`, email, chromedp.ByQuery),
		chromedp.SendKeys(`input[name=password]`, password, chromedp.ByQuery),
		chromedp.Click(`form.login button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`.queue-entry`, chromedp.ByQuery),
		chromedp.AttributeValue(`.queue-entry .reason`, "data-reason", &reason, nil, chromedp.ByQuery),
	); err != nil {
		t.Fatalf("agent sign-in and queue: %v", err)
	}
	if !strings.Contains(reason, "explicit_request") {
		t.Errorf("queue entry reason = %q, want explicit_request", reason)
	}
	shot(agent, "console-queue.png")

	// Markdown in a reply is drawn the same way in the console as in the widget.
	const reply = "Hello, this is **Admin**. How can I help? 您好，请问有什么可以帮您？"
	if err := chromedp.Run(agent,
		chromedp.Click(`.queue-entry button.accept`, chromedp.ByQuery),
		chromedp.WaitVisible(`.why .handoff-reason`, chromedp.ByQuery),
		chromedp.Poll(`document.querySelector('.conv-status') && document.querySelector('.conv-status').dataset.status === 'assigned'`, nil, wait),
		chromedp.Poll(`document.querySelectorAll('.transcript .msg.visitor').length >= 1`, nil, wait),
		chromedp.Focus(`textarea.reply`, chromedp.ByQuery),
		chromedp.SendKeys(`textarea.reply`, reply, chromedp.ByQuery),
		chromedp.KeyEvent("\r"),
		chromedp.Poll(`Array.from(document.querySelectorAll('.transcript .msg.agent')).some(m => m.textContent.includes('How can I help'))`, nil, wait),
		chromedp.Poll(`Array.from(document.querySelectorAll('.transcript .msg.agent strong')).some(s => s.textContent === 'Admin')`, nil, wait),
	); err != nil {
		t.Fatalf("agent accept and reply: %v", err)
	}
	shot(agent, "console-conversation.png")

	// The visitor sees the agent's reply.
	if err := chromedp.Run(visitor,
		chromedp.Poll(`Array.from(`+shadow+`.querySelectorAll('.msg.agent')).some(m => m.textContent.includes('How can I help'))`, nil, wait),
		chromedp.Poll(`Array.from(`+shadow+`.querySelectorAll('.msg.agent strong')).some(s => s.textContent === 'Admin')`, nil, wait),
	); err != nil {
		t.Fatalf("visitor did not see the agent's reply: %v", err)
	}

	// The agent closes; the visitor is asked for a rating and gives 5.
	// Close takes a second click on the same button (a slip of the mouse does not end a chat).
	if err := chromedp.Run(agent, chromedp.Click(`button.close-conv`, chromedp.ByQuery),
		chromedp.Poll(`document.querySelector('button.close-conv').dataset.armed === '1'`, nil, wait),
		chromedp.Click(`button.close-conv`, chromedp.ByQuery)); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := chromedp.Run(visitor,
		chromedp.Poll(shadow+`.querySelector('.rate .star[data-score="5"]') !== null`, nil, wait),
		chromedp.Evaluate(shadow+`.querySelector('.rate .star[data-score="5"]').click()`, nil),
		chromedp.Poll(shadow+`.querySelector('.rate') === null`, nil, wait),
	); err != nil {
		shot(visitor, "widget-rating-failed.png")
		var html string
		_ = chromedp.Run(visitor, chromedp.Evaluate(shadow+`.querySelector('.log').innerHTML`, &html))
		t.Fatalf("visitor rating: %v\nwidget log: %s", err, html)
	}
	shot(visitor, "widget-rated.png")

	// Writing again starts a new conversation (its seq starts at 1 again):
	// it is shown below the old one, not among its first messages.
	var below bool
	if err := chromedp.Run(visitor,
		chromedp.Evaluate(shadow+`.querySelector('.input').focus()`, nil),
		chromedp.KeyEvent("How long does shipping take?"),
		chromedp.KeyEvent("\r"),
		chromedp.Poll(`Array.from(`+shadow+`.querySelectorAll('.msg.bot[data-seq]')).some(m => m.textContent.includes('working day'))`, nil, wait),
		chromedp.Evaluate(`(() => { const ms = Array.from(`+shadow+`.querySelectorAll('.msg'));
			const closed = ms.findIndex(m => m.textContent.includes('closed the conversation'));
			const asked = ms.findIndex(m => m.textContent === 'How long does shipping take?');
			const answer = ms.findIndex(m => m.textContent.includes('working day'));
			return closed >= 0 && asked > closed && answer > asked; })()`, &below),
	); err != nil || !below {
		var html string
		_ = chromedp.Run(visitor, chromedp.Evaluate(shadow+`.querySelector('.log').innerHTML`, &html))
		t.Errorf("the new conversation is not below the old one (%v)\nwidget log: %s", err, html)
	}

	// The rating is stored and shown to the agent.
	if err := chromedp.Run(agent,
		chromedp.Poll(`Array.from(document.querySelectorAll('.transcript .msg.system')).some(m => m.textContent.includes('5/5'))`, nil, wait),
	); err != nil {
		t.Errorf("agent did not see the rating: %v", err)
	}
	code, out := apiCall(t, client, "", "GET", ts.url+"/api/v1/agent/queues", nil)
	if code != 200 {
		t.Fatalf("queues = %d %v", code, out)
	}
	for _, q := range out["queues"].([]any) {
		if n := len(q.(map[string]any)["entries"].([]any)); n != 0 {
			t.Errorf("queue %v still holds %d conversations", q.(map[string]any)["group"], n)
		}
	}

	// A follow-up ticket for the conversation shows, in the console, who
	// wrote each entry and when.
	var convID string
	if err := chromedp.Run(visitor, chromedp.Evaluate(shadow+`.querySelector('.msg[data-conv]').getAttribute('data-conv')`, &convID)); err != nil || convID == "" {
		t.Fatalf("conversation id from the widget: %q %v", convID, err)
	}
	if code, out := apiCall(t, client, csrf, "POST", ts.url+"/api/v1/agent/conversations/"+convID+"/tickets",
		map[string]any{"subject": "Call back", "body": "Call the customer back about the parcel", "contact": map[string]any{"name": "Wang", "email": "wang@example.com"}}); code != http.StatusCreated {
		t.Fatalf("ticket from the conversation = %d %v", code, out)
	}
	if err := chromedp.Run(agent,
		chromedp.Click(`.tabs button:nth-child(3)`, chromedp.ByQuery),
		chromedp.WaitVisible(`.ticket-entry`, chromedp.ByQuery),
		chromedp.Click(`.ticket-entry`, chromedp.ByQuery),
		chromedp.WaitVisible(`.ticket .event.message .meta`, chromedp.ByQuery),
		chromedp.SendKeys(`.ticket textarea`, "We called; the parcel arrives tomorrow.", chromedp.ByQuery),
		chromedp.Click(`.ticket .dialog button.primary`, chromedp.ByQuery),
		chromedp.Poll(`Array.from(document.querySelectorAll('.ticket .event.reply')).some(e => e.textContent.includes('arrives tomorrow') && e.querySelector('.meta').textContent.includes('Admin'))`, nil, wait),
	); err != nil {
		var html string
		_ = chromedp.Run(agent, chromedp.Evaluate(`document.querySelector('.pane') ? document.querySelector('.pane').innerHTML : ''`, &html))
		t.Fatalf("ticket in the console: %v\npane: %.2000s", err, html)
	}
	shot(agent, "console-ticket.png")
	// The ticket links to its conversation, whose transcript opens.
	if err := chromedp.Run(agent,
		chromedp.Click(`.ticket a.source-conv`, chromedp.ByQuery),
		chromedp.Poll(`Array.from(document.querySelectorAll('.transcript .msg.agent')).some(m => m.textContent.includes('How can I help'))`, nil, wait),
	); err != nil {
		t.Fatalf("conversation from the ticket: %v", err)
	}
	// A ticket with only a phone number offers no e-mail reply, and says why.
	if code, out := apiCall(t, client, csrf, "POST", ts.url+"/api/v1/agent/conversations/"+convID+"/tickets",
		map[string]any{"subject": "Phone only", "body": "Call 138", "contact": map[string]any{"name": "Li", "phone": "+86 138 0000 0000"}}); code != http.StatusCreated {
		t.Fatalf("phone-only ticket = %d %v", code, out)
	}
	var replyButtons int
	if err := chromedp.Run(agent,
		chromedp.Click(`.tabs button:nth-child(3)`, chromedp.ByQuery),
		chromedp.Poll(`Array.from(document.querySelectorAll('.ticket-entry')).some(e => e.textContent.includes('Phone only'))`, nil, wait),
		chromedp.Evaluate(`Array.from(document.querySelectorAll('.ticket-entry')).find(e => e.textContent.includes('Phone only')).click()`, nil),
		chromedp.WaitVisible(`.ticket .no-email`, chromedp.ByQuery),
		chromedp.Evaluate(`Array.from(document.querySelectorAll('.ticket .dialog button')).filter(b => b.textContent === 'Reply by e-mail' || b.textContent === 'Reply').length`, &replyButtons),
	); err != nil || replyButtons != 0 {
		t.Errorf("phone-only ticket in the console: %v, %d reply buttons", err, replyButtons)
	}

	// The admin changes the generated password in the console; the API
	// client's session (another one) ends, the new password signs in.
	const newPassword = "a password of my own 2026"
	if err := chromedp.Run(agent,
		chromedp.Click(`button.pw-btn`, chromedp.ByQuery),
		chromedp.WaitVisible(`form.pw-form input[name=current]`, chromedp.ByQuery),
		chromedp.SendKeys(`form.pw-form input[name=current]`, password, chromedp.ByQuery),
		chromedp.SendKeys(`form.pw-form input[name=new]`, newPassword, chromedp.ByQuery),
		chromedp.SendKeys(`form.pw-form input[name=again]`, newPassword, chromedp.ByQuery),
		chromedp.Click(`form.pw-form button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`form.pw-form .done`, chromedp.ByQuery),
	); err != nil {
		t.Fatalf("change password in the console: %v", err)
	}
	if code, _ := apiCall(t, client, "", "GET", ts.url+"/api/v1/agent/me", nil); code != http.StatusUnauthorized {
		t.Errorf("another session after the password change = %d, want 401", code)
	}
	body, _ := json.Marshal(map[string]string{"email": email, "password": newPassword})
	resp, err := http.Post(ts.url+"/api/v1/agent/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("sign-in with the new password = %d, want 200", resp.StatusCode)
	}
}
