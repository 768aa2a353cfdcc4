package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/frontdesk/frontdesk/api/realtime"
	"github.com/frontdesk/frontdesk/data"
	"github.com/frontdesk/frontdesk/handoff"
)

type agentClient struct {
	t    *testing.T
	h    *harness
	http *http.Client
	csrf string
}

func (h *harness) newAgent(email string, role data.Role, groups ...string) data.Agent {
	h.t.Helper()
	a, err := h.accounts.CreateAgent(context.Background(), handoff.NewAgent{Email: email, Name: email, Password: "password-" + email, Role: role, Groups: groups})
	if err != nil {
		h.t.Fatal(err)
	}
	return a
}

func (h *harness) login(email string) *agentClient {
	h.t.Helper()
	jar, _ := cookiejar.New(nil)
	ac := &agentClient{t: h.t, h: h, http: &http.Client{Jar: jar}}
	code, out := ac.do("POST", "/api/v1/agent/login", map[string]string{"email": email, "password": "password-" + email})
	if code != 200 {
		h.t.Fatalf("login %s = %d %v", email, code, out)
	}
	ac.csrf = out["csrf_token"].(string)
	return ac
}

func (ac *agentClient) do(method, path string, body any) (int, map[string]any) {
	ac.t.Helper()
	var b []byte
	if body != nil {
		b, _ = json.Marshal(body)
	}
	req, _ := http.NewRequest(method, ac.h.srv.URL+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if ac.csrf != "" {
		req.Header.Set("X-CSRF-Token", ac.csrf)
	}
	resp, err := ac.http.Do(req)
	if err != nil {
		ac.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func errCode(out map[string]any) any {
	e, _ := out["error"].(map[string]any)
	return e["code"]
}

func TestLoginAndSessionCookie(t *testing.T) {
	h := newHarness(t, realtime.DefaultLimits())
	h.newAgent("mei@acme.example", data.RoleAgent, "default_support")
	jar, _ := cookiejar.New(nil)
	ac := &agentClient{t: t, h: h, http: &http.Client{Jar: jar}}
	if code, out := ac.do("GET", "/api/v1/agent/me", nil); code != 401 || errCode(out) != "not_signed_in" {
		t.Errorf("me without a session = %d %v, want 401 not_signed_in", code, out)
	}
	if code, out := ac.do("POST", "/api/v1/agent/login", map[string]string{"email": "mei@acme.example", "password": "nope nope nope"}); code != 401 || errCode(out) != "bad_credentials" {
		t.Errorf("wrong password = %d %v, want 401", code, out)
	}
	// The cookie is HttpOnly and SameSite=Strict.
	body, _ := json.Marshal(map[string]string{"email": "mei@acme.example", "password": "password-mei@acme.example"})
	resp, err := http.Post(h.srv.URL+"/api/v1/agent/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cookie := resp.Header.Get("Set-Cookie")
	if !strings.Contains(cookie, "fd_session=") || !strings.Contains(cookie, "HttpOnly") || !strings.Contains(cookie, "SameSite=Strict") {
		t.Errorf("session cookie = %q; want HttpOnly, SameSite=Strict", cookie)
	}
	a := h.login("mei@acme.example")
	if code, out := a.do("GET", "/api/v1/agent/me", nil); code != 200 || out["agent"].(map[string]any)["email"] != "mei@acme.example" {
		t.Errorf("me = %d %v", code, out)
	}
	if code, _ := a.do("POST", "/api/v1/agent/logout", nil); code != 204 {
		t.Errorf("logout = %d", code)
	}
	if code, _ := a.do("GET", "/api/v1/agent/me", nil); code != 401 {
		t.Errorf("me after logout = %d, want 401", code)
	}
}

func TestCSRFRequiredForChanges(t *testing.T) {
	h := newHarness(t, realtime.DefaultLimits())
	h.newAgent("mei@acme.example", data.RoleAgent, "default_support")
	a := h.login("mei@acme.example")
	good := a.csrf
	for _, bad := range []string{"", "wrong-token"} {
		a.csrf = bad
		if code, out := a.do("POST", "/api/v1/agent/presence", map[string]string{"status": "away"}); code != 403 || errCode(out) != "bad_csrf_token" {
			t.Errorf("POST with CSRF token %q = %d %v, want 403 bad_csrf_token", bad, code, out)
		}
	}
	a.csrf = ""
	if code, _ := a.do("GET", "/api/v1/agent/queues", nil); code != 200 {
		t.Errorf("GET without a CSRF token = %d, want 200", code)
	}
	a.csrf = good
	if code, out := a.do("POST", "/api/v1/agent/presence", map[string]string{"status": "away"}); code != 200 || out["presence"] != "offline" {
		// No console socket is open, so the agent is offline whatever they choose.
		t.Errorf("POST with the right token = %d %v", code, out)
	}
}

func TestLoginRateLimit(t *testing.T) {
	h := newHarness(t, realtime.DefaultLimits()) // 5 attempts per 5 minutes
	h.newAgent("mei@acme.example", data.RoleAgent)
	jar, _ := cookiejar.New(nil)
	ac := &agentClient{t: t, h: h, http: &http.Client{Jar: jar}}
	for i := 0; i < 5; i++ {
		if code, _ := ac.do("POST", "/api/v1/agent/login", map[string]string{"email": "mei@acme.example", "password": "guess-guess-" + string(rune('a'+i))}); code != 401 {
			t.Fatalf("attempt %d = %d, want 401", i+1, code)
		}
	}
	code, out := ac.do("POST", "/api/v1/agent/login", map[string]string{"email": "mei@acme.example", "password": "password-mei@acme.example"})
	if code != 429 || errCode(out) != "too_many_attempts" {
		t.Errorf("6th attempt (even with the right password) = %d %v, want 429", code, out)
	}
}

func TestAdminRoutesNeedAdmin(t *testing.T) {
	h := newHarness(t, realtime.DefaultLimits())
	h.newAgent("agent@acme.example", data.RoleAgent, "default_support")
	h.newAgent("boss@acme.example", data.RoleAdmin)
	agent := h.login("agent@acme.example")
	if code, out := agent.do("POST", "/api/v1/admin/agents", map[string]any{"email": "x@acme.example", "name": "X", "password": "long password"}); code != 403 {
		t.Errorf("agent creating an agent = %d %v, want 403", code, out)
	}
	boss := h.login("boss@acme.example")
	code, out := boss.do("POST", "/api/v1/admin/agents", map[string]any{"email": "new@acme.example", "name": "New", "password": "a long password", "groups": []string{"order_support"}, "capacity": 2})
	if code != 201 || out["email"] != "new@acme.example" {
		t.Fatalf("admin creating an agent = %d %v", code, out)
	}
	if _, ok := out["PasswordHash"]; ok {
		t.Error("the API exposed a password hash")
	}
	if code, out := boss.do("POST", "/api/v1/admin/agents", map[string]any{"email": "bad@acme.example", "name": "B", "password": "short"}); code != 400 {
		t.Errorf("short password = %d %v, want 400", code, out)
	}
	if code, out := boss.do("PUT", "/api/v1/admin/groups/order_support", map[string]any{"name": "Orders", "settings": map[string]any{
		"business_hours": map[string]any{"time_zone": "Nowhere/Land"}}}); code != 400 {
		t.Errorf("bad time zone = %d %v, want 400", code, out)
	}
	if code, out := boss.do("PUT", "/api/v1/admin/groups/vip", map[string]any{"name": "VIP", "settings": map[string]any{"fallback_group": "no_such_group"}}); code != 400 {
		t.Errorf("unknown fallback group = %d %v, want 400", code, out)
	}
	if code, out := boss.do("PUT", "/api/v1/admin/groups/vip", map[string]any{"name": "VIP", "settings": map[string]any{"routing": "manual"}}); code != 200 || out["id"] != "vip" {
		t.Errorf("new group = %d %v", code, out)
	}
	if code, out := boss.do("POST", "/api/v1/admin/canned", map[string]any{"shortcut": "refund", "title": "Refunds", "body": "Refunds take 3-5 days."}); code != 200 {
		t.Errorf("canned = %d %v", code, out)
	}
	if code, out := agent.do("GET", "/api/v1/agent/canned", nil); code != 200 || len(out["canned"].([]any)) != 1 {
		t.Errorf("agent canned list = %d %v", code, out)
	}
}

// TestAgentFlowOverHTTP: handoff, accept, reply, a note the visitor never sees, close.
func TestAgentFlowOverHTTP(t *testing.T) {
	h := newHarness(t, realtime.DefaultLimits())
	h.newAgent("mei@acme.example", data.RoleAgent, "default_support")
	other := h.newAgent("lei@acme.example", data.RoleAgent, "order_support")
	_ = other
	mei := h.login("mei@acme.example")
	lei := h.login("lei@acme.example")

	v := h.mustDial(h.token())
	v.say("h1", "转人工")
	frames := v.until(func(f map[string]any) bool { return f["type"] == "position" })
	if p := frames[len(frames)-1]; p["position"] != 1.0 {
		t.Errorf("position frame = %v, want position 1", p)
	}
	// The position frame names the conversation (the ack may come later:
	// the bot's replies are produced in parallel).
	convID, _ := frames[len(frames)-1]["conversation_id"].(string)
	code, out := mei.do("GET", "/api/v1/agent/queues", nil)
	if code != 200 || !strings.Contains(mustJSON(out), convID) || !strings.Contains(mustJSON(out), "explicit_request") {
		t.Fatalf("queues = %d %v; want the conversation with reason explicit_request", code, out)
	}
	if code, out := lei.do("POST", "/api/v1/agent/conversations/"+convID+"/accept", nil); code != 403 {
		t.Errorf("accept by an agent of another group = %d %v, want 403", code, out)
	}
	if code, out := lei.do("GET", "/api/v1/agent/conversations/"+convID, nil); code != 403 {
		t.Errorf("details for an agent of another group = %d %v, want 403", code, out)
	}
	if code, out := mei.do("POST", "/api/v1/agent/conversations/"+convID+"/accept", nil); code != 200 || out["status"] != "assigned" {
		t.Fatalf("accept = %d %v", code, out)
	}
	if code, out := mei.do("POST", "/api/v1/agent/conversations/"+convID+"/accept", nil); code != 409 {
		t.Errorf("second accept = %d %v, want 409", code, out)
	}
	code, out = mei.do("GET", "/api/v1/agent/conversations/"+convID, nil)
	if code != 200 || out["bot_decision"].(map[string]any)["reason"] != "explicit_request" {
		t.Errorf("details = %d %v; want the bot's decision", code, out)
	}
	if code, out := mei.do("POST", "/api/v1/agent/conversations/"+convID+"/messages", map[string]any{"client_msg_id": "n1", "text": "VIP customer, be nice", "note": true}); code != 201 {
		t.Fatalf("note = %d %v", code, out)
	}
	if code, out := mei.do("POST", "/api/v1/agent/conversations/"+convID+"/messages", map[string]any{"client_msg_id": "r1", "text": "Hi! How can I help?"}); code != 201 {
		t.Fatalf("reply = %d %v", code, out)
	}
	if code, _ := mei.do("POST", "/api/v1/agent/conversations/"+convID+"/messages", map[string]any{"client_msg_id": "r1", "text": "Hi! How can I help?"}); code != 200 {
		t.Errorf("retried reply = %d, want 200 (idempotent)", code)
	}
	if code, out := lei.do("POST", "/api/v1/agent/conversations/"+convID+"/messages", map[string]any{"client_msg_id": "x", "text": "hijack"}); code != 403 {
		t.Errorf("reply by another agent = %d %v, want 403", code, out)
	}
	got := v.until(func(f map[string]any) bool { return f["type"] == "message" && f["sender"] == "agent" })
	for _, f := range got {
		if strings.Contains(mustJSON(f), "VIP customer") {
			t.Fatalf("the visitor received an internal note: %v", f)
		}
	}
	if code, out := mei.do("POST", "/api/v1/agent/conversations/"+convID+"/close", nil); code != 200 || out["status"] != "closed" {
		t.Fatalf("close = %d %v", code, out)
	}
	v.until(func(f map[string]any) bool {
		ev, _ := f["event"].(map[string]any)
		return f["type"] == "message" && ev != nil && ev["to"] == "closed"
	})
	v.send(map[string]any{"type": "rate", "conversation_id": convID, "score": 5})
	if f := v.until(func(f map[string]any) bool { return f["type"] == "rated" || f["type"] == "error" }); f[len(f)-1]["type"] != "rated" {
		t.Errorf("rating answered %v", f[len(f)-1])
	}
	v.send(map[string]any{"type": "rate", "conversation_id": convID, "score": 4})
	if f := v.until(func(f map[string]any) bool { return f["type"] == "error" }); f[len(f)-1]["code"] != "conflict" {
		t.Errorf("second rating answered %v, want conflict", f[len(f)-1])
	}
}

func TestLeaveMessageFrame(t *testing.T) {
	h := newHarness(t, realtime.DefaultLimits())
	v := h.mustDial(h.token())
	v.say("h1", "talk to a human")
	v.until(func(f map[string]any) bool {
		ev, _ := f["event"].(map[string]any)
		return ev != nil && ev["name"] == "offer_ticket"
	})
	v.send(map[string]any{"type": "leave_message", "email": "not-an-email", "text": "hi"})
	if f := v.until(isType("error")); f[len(f)-1]["code"] != "invalid" {
		t.Errorf("bad e-mail answered %v, want invalid", f[len(f)-1])
	}
	v.send(map[string]any{"type": "leave_message", "name": "Wang", "email": "wang@example.com", "text": "Please call me back about order 1234"})
	frames := v.until(isType("ticket"))
	id, _ := frames[len(frames)-1]["ticket_id"].(string)
	tk, err := h.store.GetTicket(context.Background(), id)
	if err != nil || tk.Contact.Email != "wang@example.com" || tk.GroupID != "default_support" {
		t.Errorf("ticket %s = %+v, %v", id, tk, err)
	}
}

func TestAgentSocket(t *testing.T) {
	h := newHarness(t, realtime.DefaultLimits())
	h.newAgent("mei@acme.example", data.RoleAgent, "default_support")
	mei := h.login("mei@acme.example")
	u := "ws" + strings.TrimPrefix(h.srv.URL, "http") + "/api/v1/agent/ws"
	if _, resp, err := websocket.DefaultDialer.Dial(u, nil); err == nil || resp.StatusCode != 401 {
		t.Errorf("agent socket without a session: %v", resp)
	}
	hdr := http.Header{}
	for _, c := range mei.http.Jar.Cookies(mustParse(h.srv.URL)) {
		hdr.Add("Cookie", c.Name+"="+c.Value)
	}
	evil := hdr.Clone()
	evil.Set("Origin", "https://evil.example")
	if _, resp, err := websocket.DefaultDialer.Dial(u, evil); err == nil || resp.StatusCode != 403 {
		t.Errorf("agent socket from a foreign origin: %v", resp)
	}
	ws, _, err := websocket.DefaultDialer.Dial(u, hdr)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	ac := &client{t: t, conn: ws}
	if f := ac.next(); f["type"] != "hello" {
		t.Fatalf("first agent frame = %v", f)
	}
	h.waitOnline(mustString(mei, t))
	// A handoff is assigned to the online agent automatically and pushed to the console.
	v := h.mustDial(h.token())
	v.say("h1", "转人工")
	frames := ac.until(func(f map[string]any) bool { return f["type"] == "assigned" })
	conv := frames[len(frames)-1]["conversation"].(map[string]any)
	convID := conv["id"].(string)
	// The console receives the transcript including the bot's decision record.
	got := ac.until(func(f map[string]any) bool { return f["type"] == "message" && f["sender"] == "bot" })
	if md, _ := got[len(got)-1]["metadata"].(map[string]any); md == nil || md["decision"] == nil {
		t.Errorf("bot message to the agent lacks the decision record: %v", got[len(got)-1])
	}
	ac.send(map[string]any{"type": "message", "conversation_id": convID, "client_msg_id": "w1", "text": "Hello from the console"})
	// The console gets its own message once, inside the ack.
	acks := ac.until(isType("ack"))
	if m, _ := acks[len(acks)-1]["stored"].(map[string]any); m == nil || m["text"] != "Hello from the console" || m["sender_id"] == nil || m["seq"] != acks[len(acks)-1]["seq"] {
		t.Errorf("agent ack = %v, want it to carry the stored message", acks[len(acks)-1])
	}
	v.until(func(f map[string]any) bool { return f["type"] == "message" && f["text"] == "Hello from the console" })
	// Replies sent back to back are stored concurrently with the agent's
	// other conversations but in order within this one.
	for i := range 10 {
		ac.send(map[string]any{"type": "message", "conversation_id": convID, "client_msg_id": fmt.Sprintf("burst-%d", i), "text": fmt.Sprintf("part %d", i)})
	}
	seqs := map[string]float64{}
	for len(seqs) < 10 {
		for _, f := range ac.until(isType("ack")) {
			if f["type"] == "message" && f["sender"] == "agent" {
				t.Errorf("the sending console got its own message as a message frame too: %v", f)
			}
			if id, _ := f["client_msg_id"].(string); strings.HasPrefix(id, "burst-") {
				seqs[id], _ = f["seq"].(float64)
			}
		}
	}
	for i := 1; i < 10; i++ {
		if prev, cur := seqs[fmt.Sprintf("burst-%d", i-1)], seqs[fmt.Sprintf("burst-%d", i)]; cur != prev+1 {
			t.Errorf("burst-%d stored at seq %v after burst-%d at %v; want the order sent", i, cur, i-1, prev)
		}
	}
	v.send(map[string]any{"type": "typing"})
	ac.until(func(f map[string]any) bool { return f["type"] == "typing" && f["conversation_id"] == convID })
}

// TestAgentConversationStateNeverGoesBack is TestConversationStateNeverGoesBack
// for the console: a conversation state published after a newer one is not shown.
func TestAgentConversationStateNeverGoesBack(t *testing.T) {
	h := newHarness(t, realtime.DefaultLimits())
	ctx := context.Background()
	h.newAgent("mei@acme.example", data.RoleAgent, "default_support")
	mei := h.login("mei@acme.example")
	ac := mei.socket()
	defer ac.conn.Close()
	if f := ac.next(); f["type"] != "hello" {
		t.Fatalf("first agent frame = %v", f)
	}
	meiID := mustString(mei, t)
	h.waitOnline(meiID)
	v := h.mustDial(h.token())
	v.say("h1", "转人工")
	frames := ac.until(func(f map[string]any) bool { return f["type"] == "assigned" })
	convID, _ := frames[len(frames)-1]["conversation"].(map[string]any)["id"].(string)
	conv, err := h.store.GetConversation(ctx, convID)
	if err != nil {
		t.Fatalf("GetConversation(%q): %v", convID, err)
	}
	older, newer, closed := conv, conv, conv
	older.Status, older.LastSeq = data.StatusQueued, conv.LastSeq+1
	newer.LastSeq = conv.LastSeq + 2
	closed.Status, closed.LastSeq = data.StatusClosed, conv.LastSeq+3
	h.pub.Conversation(ctx, newer)
	h.pub.Conversation(ctx, older) // stored before newer, published after it
	h.pub.Conversation(ctx, closed)
	var shown []string
	for _, f := range ac.until(func(f map[string]any) bool {
		c, _ := f["conversation"].(map[string]any)
		return f["type"] == "conversation" && c["status"] == "closed"
	}) {
		if f["type"] == "conversation" {
			c, _ := f["conversation"].(map[string]any)
			shown = append(shown, fmt.Sprintf("%v@%v", c["status"], c["last_seq"]))
		}
	}
	want := []string{fmt.Sprintf("assigned@%d", newer.LastSeq), fmt.Sprintf("closed@%d", closed.LastSeq)}
	if strings.Join(shown, " ") != strings.Join(want, " ") {
		t.Errorf("console states shown = %v, want %v", shown, want)
	}
}

// socket opens ac's console socket with its session cookie.
func (ac *agentClient) socket() *client {
	ac.t.Helper()
	hdr := http.Header{}
	for _, c := range ac.http.Jar.Cookies(mustParse(ac.h.srv.URL)) {
		hdr.Add("Cookie", c.Name+"="+c.Value)
	}
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(ac.h.srv.URL, "http")+"/api/v1/agent/ws", hdr)
	if err != nil {
		ac.t.Fatal(err)
	}
	return &client{t: ac.t, conn: ws}
}

func mustString(ac *agentClient, t *testing.T) string {
	_, out := ac.do("GET", "/api/v1/agent/me", nil)
	return out["agent"].(map[string]any)["id"].(string)
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestAgentCoupon(t *testing.T) {
	h := newHarness(t, realtime.DefaultLimits())
	h.newAgent("mei@acme.example", data.RoleAgent, "default_support")
	mei := h.login("mei@acme.example")
	v := h.mustDial(h.token())
	v.say("h1", "转人工")
	frames := v.until(isType("position"))
	convID := frames[len(frames)-1]["conversation_id"].(string)
	if code, out := mei.do("POST", "/api/v1/agent/conversations/"+convID+"/accept", nil); code != 200 {
		t.Fatalf("accept = %d %v", code, out)
	}
	if code, out := mei.do("POST", "/api/v1/agent/conversations/"+convID+"/messages", map[string]any{"client_msg_id": "c1", "coupon": map[string]any{"code": ""}}); code != 400 {
		t.Errorf("coupon without a code = %d %v", code, out)
	}
	if code, out := mei.do("POST", "/api/v1/agent/conversations/"+convID+"/messages", map[string]any{"client_msg_id": "c2", "coupon": map[string]any{"code": "SORRY10", "title": "10% off"}}); code != 201 || out["kind"] != "coupon" {
		t.Fatalf("coupon = %d %v", code, out)
	}
	got := v.until(func(f map[string]any) bool { return f["type"] == "message" && f["kind"] == "coupon" })
	c, _ := got[len(got)-1]["coupon"].(map[string]any)
	if c["code"] != "SORRY10" || c["title"] != "10% off" {
		t.Errorf("visitor coupon frame = %v", got[len(got)-1])
	}
}

// TestForwardedForIsNotTrusted: without configured proxies a client cannot
// dodge the login limit by inventing X-Forwarded-For addresses.
func TestForwardedForIsNotTrusted(t *testing.T) {
	h := newHarness(t, realtime.DefaultLimits()) // 5 attempts per 5 minutes per IP
	for i := 0; i < 7; i++ {
		body := strings.NewReader(`{"email":"x` + string(rune('a'+i)) + `@acme.example","password":"wrong password"}`)
		req, _ := http.NewRequest("POST", h.srv.URL+"/api/v1/agent/login", body)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", "203.0.113."+string(rune('1'+i)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if i >= 5 && resp.StatusCode != 429 {
			t.Errorf("attempt %d with a forged X-Forwarded-For = %d, want 429", i+1, resp.StatusCode)
		}
	}
}

// TestAgentTypingOnlyOnOwnConversations: the visitor sees "agent typing" only
// from the agent the conversation is assigned to, not from any agent who
// knows its id.
func TestAgentTypingOnlyOnOwnConversations(t *testing.T) {
	h := newHarness(t, realtime.DefaultLimits())
	h.newAgent("mei@acme.example", data.RoleAgent, "default_support")
	h.newAgent("bo@acme.example", data.RoleAgent, "order_support")
	mei, bo := h.login("mei@acme.example"), h.login("bo@acme.example")
	ac, other := mei.socket(), bo.socket()
	defer ac.conn.Close()
	defer other.conn.Close()
	ac.next()
	other.next()
	meiID := mustString(mei, t)
	h.waitOnline(meiID)
	v := h.mustDial(h.token())
	v.say("h1", "转人工")
	frames := ac.until(func(f map[string]any) bool { return f["type"] == "assigned" })
	convID := frames[len(frames)-1]["conversation"].(map[string]any)["id"].(string)
	v.until(func(f map[string]any) bool { return f["type"] == "conversation" && f["status"] == "assigned" })

	other.send(map[string]any{"type": "typing", "conversation_id": convID})
	time.Sleep(100 * time.Millisecond) // let a wrongly passed-on typing event arrive first
	ac.send(map[string]any{"type": "message", "conversation_id": convID, "client_msg_id": "m1", "text": "Hi, I am Mei"})
	for _, f := range v.until(func(f map[string]any) bool { return f["type"] == "message" && f["text"] == "Hi, I am Mei" }) {
		if f["type"] == "typing" {
			t.Errorf("visitor got %v from an agent the conversation is not assigned to", f)
		}
	}
	ac.send(map[string]any{"type": "typing", "conversation_id": convID})
	v.until(func(f map[string]any) bool { return f["type"] == "typing" && f["sender"] == "agent" })
}

// TestPatchAgentAllOrNothing: an admin's change to an agent is checked as a
// whole before anything is written, and a new password signs the agent out
// everywhere.
func TestPatchAgentAllOrNothing(t *testing.T) {
	h := newHarness(t, realtime.DefaultLimits())
	h.newAgent("boss@acme.example", data.RoleAdmin)
	mei := h.newAgent("mei@acme.example", data.RoleAgent, "default_support")
	admin, meiClient := h.login("boss@acme.example"), h.login("mei@acme.example")
	path := "/api/v1/admin/agents/" + mei.ID
	for _, body := range []map[string]any{
		{"name": "Renamed", "password": "short"},
		{"name": "Renamed", "groups": []string{"no_such_group"}},
		{"name": "Renamed", "capacity": -1},
	} {
		if code, out := admin.do("PATCH", path, body); code != http.StatusBadRequest {
			t.Errorf("PATCH %v = %d %v, want 400", body, code, out)
		}
	}
	// Bodies are read up to 256 KB only (the bind fails before any validation).
	if code, out := admin.do("PATCH", path, map[string]any{"name": strings.Repeat("x", 300<<10)}); code != http.StatusBadRequest || errCode(out) != "bad_request" {
		t.Errorf("PATCH with a 300 KB body = %d %v, want 400 bad_request", code, out)
	}
	if got, _ := h.store.GetAgent(context.Background(), mei.ID); got.Name != mei.Name {
		t.Errorf("name after refused changes = %q, want %q", got.Name, mei.Name)
	}
	if code, _ := meiClient.do("GET", "/api/v1/agent/me", nil); code != http.StatusOK {
		t.Fatalf("mei signed out before the password change: %d", code)
	}
	if code, out := admin.do("PATCH", path, map[string]any{"password": "a new password 2026", "name": "Mei Han"}); code != http.StatusOK || out["name"] != "Mei Han" {
		t.Fatalf("PATCH password = %d %v", code, out)
	}
	if code, out := meiClient.do("GET", "/api/v1/agent/me", nil); code != http.StatusUnauthorized {
		t.Errorf("old session after a password change = %d %v, want 401", code, out)
	}
	if code, _ := admin.do("GET", "/api/v1/agent/me", nil); code != http.StatusOK {
		t.Errorf("the admin's own session ended too: %d", code)
	}
}

// TestLoginLimits: a sign-in must be JSON (an HTML form on another site
// cannot send one); one address cannot lock an account out, though all
// addresses together are limited per account too.
func TestLoginLimits(t *testing.T) {
	h := newHarnessWith(t, Config{Limits: realtime.DefaultLimits(), LoginAttempts: 2, TrustedProxies: []string{"127.0.0.1"}})
	h.newAgent("mei@acme.example", data.RoleAgent)
	try := func(ip, contentType, password string) int {
		body, _ := json.Marshal(map[string]string{"email": "mei@acme.example", "password": password})
		req, _ := http.NewRequest("POST", h.srv.URL+"/api/v1/agent/login", bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("X-Forwarded-For", ip)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := try("198.51.100.1", "text/plain", "password-mei@acme.example"); code != http.StatusUnsupportedMediaType {
		t.Errorf("sign-in as text/plain = %d, want 415", code)
	}
	// The attacker's address runs out after 2 tries; the owner elsewhere signs in.
	for i, want := range []int{401, 401, 429} {
		if code := try("203.0.113.9", "application/json", "wrong guess"); code != want {
			t.Errorf("attacker try %d = %d, want %d", i+1, code, want)
		}
	}
	if code := try("198.51.100.1", "application/json; charset=utf-8", "password-mei@acme.example"); code != http.StatusOK {
		t.Errorf("owner from another address = %d, want 200", code)
	}
	// From many addresses together the account allows 10x the per-address limit.
	codes := map[int]int{}
	for i := range 20 {
		codes[try(fmt.Sprintf("192.0.2.%d", i+1), "application/json", "wrong guess")]++
	}
	if codes[429] == 0 || codes[401] == 0 {
		t.Errorf("20 guesses from 20 addresses: %v; want the account's ceiling (20 tries in all) reached", codes)
	}
}

// waitOnline waits up to 2 s for an agent's socket to make them online.
func (h *harness) waitOnline(agentID string) {
	for deadline := time.Now().Add(2 * time.Second); h.presence.Status(agentID) != handoff.Online && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
}

// TestAccountChangeClosesAgentSockets: an open console socket holds the
// account as it was; after an admin disables the agent (or changes their
// role or groups) it closes.
func TestAccountChangeClosesAgentSockets(t *testing.T) {
	h := newHarness(t, realtime.DefaultLimits())
	h.newAgent("boss@acme.example", data.RoleAdmin)
	mei := h.newAgent("mei@acme.example", data.RoleAgent, "default_support")
	boss, meiClient := h.login("boss@acme.example"), h.login("mei@acme.example")
	ac := meiClient.socket()
	defer ac.conn.Close()
	ac.next()
	h.waitOnline(mei.ID)
	v := h.mustDial(h.token())
	v.say("h1", "转人工")
	ac.until(func(f map[string]any) bool { return f["type"] == "assigned" })
	if code, out := boss.do("PATCH", "/api/v1/admin/agents/"+mei.ID, map[string]any{"disabled": true}); code != http.StatusOK {
		t.Fatalf("disable = %d %v", code, out)
	}
	expectPolicyClose(t, ac, "agent socket after the account was disabled")
}

// expectPolicyClose reads c until the server closes it, and fails unless
// the close is 1008 (policy violation) within 5 seconds.
func expectPolicyClose(t *testing.T, c *client, what string) {
	t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, _, err := c.conn.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.ClosePolicyViolation {
			t.Fatalf("%s: %v, want close 1008", what, err)
		}
		return
	}
}

// TestChangeOwnPassword: an agent changes their own password with the
// current one; their other sessions end, the browser that changed it gets
// a new session.
func TestChangeOwnPassword(t *testing.T) {
	h := newHarness(t, realtime.DefaultLimits())
	h.newAgent("mei@acme.example", data.RoleAgent, "default_support")
	a, b := h.login("mei@acme.example"), h.login("mei@acme.example")
	for _, tc := range []struct {
		body map[string]string
		want int
	}{
		{map[string]string{"current_password": "wrong password!", "new_password": "a brand new pass"}, http.StatusForbidden},
		{map[string]string{"current_password": "password-mei@acme.example", "new_password": "short"}, http.StatusBadRequest},
		{map[string]string{"current_password": "password-mei@acme.example", "new_password": "password-mei@acme.example"}, http.StatusBadRequest},
		{map[string]string{"new_password": "a brand new pass"}, http.StatusBadRequest},
	} {
		if code, out := a.do("POST", "/api/v1/agent/password", tc.body); code != tc.want {
			t.Errorf("change with %v = %d %v, want %d", tc.body, code, out, tc.want)
		}
	}
	code, out := a.do("POST", "/api/v1/agent/password", map[string]string{"current_password": "password-mei@acme.example", "new_password": "a brand new pass"})
	if code != http.StatusOK || out["csrf_token"] == nil {
		t.Fatalf("change = %d %v", code, out)
	}
	a.csrf = out["csrf_token"].(string)
	if code, _ := a.do("GET", "/api/v1/agent/me", nil); code != http.StatusOK {
		t.Errorf("the changing browser's new session = %d, want 200", code)
	}
	if code, _ := b.do("GET", "/api/v1/agent/me", nil); code != http.StatusUnauthorized {
		t.Errorf("another session after the change = %d, want 401", code)
	}
	if code, _ := a.do("POST", "/api/v1/agent/presence", map[string]string{"status": "away"}); code != http.StatusNoContent && code != http.StatusOK {
		t.Errorf("a change with the new CSRF token = %d", code)
	}
}

// TestAgentSocketRechecksSession: a change no event announces (a password
// set with the CLI on another process, a plain expiry) still ends an open
// console socket, at the next session check.
func TestAgentSocketRechecksSession(t *testing.T) {
	limits := realtime.DefaultLimits()
	limits.SessionRecheck = 50 * time.Millisecond
	tests := []struct {
		name   string
		change func(h *harness, a data.Agent)
	}{
		{"password set behind the API's back", func(h *harness, a data.Agent) {
			if err := h.accounts.SetPassword(context.Background(), a.ID, "a brand new password 1"); err != nil {
				t.Fatal(err)
			}
		}},
		{"groups changed in the store", func(h *harness, a data.Agent) {
			a.Groups = []string{"default_support", "vip"}
			if _, err := h.store.UpsertGroup(context.Background(), data.SkillGroup{ID: "vip", Name: "VIP"}); err != nil {
				t.Fatal(err)
			}
			if _, err := h.store.UpdateAgent(context.Background(), a); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, limits)
			mei := h.newAgent("mei@acme.example", data.RoleAgent, "default_support")
			ac := h.login("mei@acme.example").socket()
			defer ac.conn.Close()
			ac.next()
			// Unchanged, the socket stays open over several checks.
			_ = ac.conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			if _, _, err := ac.conn.ReadMessage(); err == nil || !strings.Contains(err.Error(), "timeout") {
				t.Fatalf("socket of an unchanged session: %v, want it open (read timeout)", err)
			}
			// A timed-out gorilla connection cannot be read again: a new one.
			ac.conn.Close()
			ac = h.login("mei@acme.example").socket()
			defer ac.conn.Close()
			ac.next()
			tc.change(h, mei)
			expectPolicyClose(t, ac, "socket after the change")
		})
	}
}
