package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/crypto/bcrypt"

	"github.com/frontdesk/frontdesk/api/realtime"
	"github.com/frontdesk/frontdesk/bot"
	"github.com/frontdesk/frontdesk/chat"
	"github.com/frontdesk/frontdesk/data"
	"github.com/frontdesk/frontdesk/data/pubsub"
	"github.com/frontdesk/frontdesk/data/seal"
	"github.com/frontdesk/frontdesk/data/sqlstore"
	"github.com/frontdesk/frontdesk/handoff"
	"github.com/frontdesk/frontdesk/knowledge"
)

// stubKB answers every question with one FAQ entry.
type stubKB struct{}

func (stubKB) Search(_ context.Context, q string, _ int) (knowledge.Result, error) {
	if strings.Contains(strings.ToLower(q), "shipping") {
		return knowledge.Result{Confidence: 0.9, Hits: []knowledge.Hit{{ID: "shipping", Answer: "Orders ship within 24 hours.", Score: 5}}}, nil
	}
	return knowledge.Result{}, nil
}

type harness struct {
	server   *Server
	accounts *handoff.Accounts
	router   *handoff.Router
	presence *handoff.MemoryPresence
	t        *testing.T
	srv      *httptest.Server
	store    *sqlstore.Store
	hub      *realtime.Hub
	pub      *pubsub.Publisher // publishes to the server's broker
	stop     context.CancelFunc
	done     chan struct{}
	closed   bool
}

func newHarness(t *testing.T, limits realtime.Limits, allowedOrigins ...string) *harness {
	t.Helper()
	return newHarnessWith(t, Config{Limits: limits, LoginAttempts: 5}, allowedOrigins...)
}

// newHarnessWith is newHarness with the API configured by cfg (its session key is set here).
func newHarnessWith(t *testing.T, cfg Config, allowedOrigins ...string) *harness {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ring, _ := seal.NewKeyring(bytes.Repeat([]byte{1}, 32))
	store, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "t.db"), ring, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.EnsureSite(context.Background(), data.Site{Key: "demo", Name: "Acme Shop", AllowedOrigins: allowedOrigins}); err != nil {
		t.Fatal(err)
	}
	broker := pubsub.NewMemory()
	engine, _ := bot.New(stubKB{}, bot.DefaultConfig())
	presence := handoff.NewMemoryPresence(time.Second, nil)
	for _, g := range []string{"default_support", "order_support"} {
		if _, err := store.UpsertGroup(context.Background(), data.SkillGroup{ID: g, Name: g}); err != nil {
			t.Fatal(err)
		}
	}
	router := handoff.NewRouter(store, pubsub.NewPublisher(broker, log), presence, log, handoff.Config{})
	svc := chat.New(store, broker, engine, router, log, chat.Config{Workers: 2})
	hub := realtime.NewHub(broker, log)
	accounts := handoff.NewAccounts(store, time.Hour, bcrypt.MinCost)
	cfg.SessionKey = bytes.Repeat([]byte{2}, 32)
	s, err := New(cfg, Deps{
		Chat: svc, Records: store, Accounts: accounts, Desk: router, Presence: presence,
		Tickets: handoff.NewTickets(store), Reports: store, Hub: hub, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{t: t, server: s, srv: httptest.NewServer(s.Handler()), store: store, hub: hub, stop: cancel, done: make(chan struct{}),
		accounts: accounts, router: router, presence: presence, pub: pubsub.NewPublisher(broker, log)}
	go func() { _ = svc.Run(ctx); close(h.done) }()
	t.Cleanup(h.close)
	return h
}

func (h *harness) close() {
	if h.closed {
		return
	}
	h.closed = true
	_ = h.hub.Close(context.Background())
	h.srv.Close()
	h.stop()
	<-h.done
	_ = h.store.Close()
}

func (h *harness) session(body string) (int, map[string]any) {
	h.t.Helper()
	resp, err := http.Post(h.srv.URL+"/api/v1/visitor/sessions", "application/json", strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func (h *harness) token() string {
	h.t.Helper()
	code, out := h.session(`{"site_key":"demo"}`)
	if code != http.StatusCreated {
		h.t.Fatalf("session = %d %v", code, out)
	}
	return out["token"].(string)
}

type client struct {
	t    *testing.T
	conn *websocket.Conn
}

func (h *harness) dial(token string, header http.Header) (*client, *http.Response, error) {
	u := "ws" + strings.TrimPrefix(h.srv.URL, "http") + "/api/v1/visitor/ws?token=" + token
	conn, resp, err := websocket.DefaultDialer.Dial(u, header)
	if err != nil {
		return nil, resp, err
	}
	c := &client{t: h.t, conn: conn}
	h.t.Cleanup(func() { conn.Close() })
	return c, resp, nil
}

func (h *harness) mustDial(token string) *client {
	h.t.Helper()
	c, resp, err := h.dial(token, nil)
	if err != nil {
		h.t.Fatalf("dial: %v (%v)", err, resp)
	}
	if f := c.next(); f["type"] != "hello" {
		h.t.Fatalf("first frame = %v, want hello", f)
	}
	return c
}

func (c *client) send(v any) {
	c.t.Helper()
	if err := c.conn.WriteJSON(v); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

func (c *client) say(id, text string) {
	c.send(map[string]string{"type": "message", "client_msg_id": id, "text": text})
}

// next returns the next frame or fails after 15s (generous: CI machines are small).
func (c *client) next() map[string]any {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	_, b, err := c.conn.ReadMessage()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	var f map[string]any
	if err := json.Unmarshal(b, &f); err != nil {
		c.t.Fatalf("server sent invalid JSON %q", b)
	}
	return f
}

// until reads frames until one satisfies pred, returning all frames read.
func (c *client) until(pred func(map[string]any) bool) []map[string]any {
	c.t.Helper()
	var got []map[string]any
	for i := 0; i < 100; i++ {
		f := c.next()
		got = append(got, f)
		if pred(f) {
			return got
		}
	}
	c.t.Fatalf("no matching frame in %v", got)
	return nil
}

// untilBoth reads frames until it has seen one matching a and one matching b
// (in either order: an ack and the bot's reply are produced in parallel) and
// returns the first frame matching each.
func (c *client) untilBoth(a, b func(map[string]any) bool) (fa, fb map[string]any) {
	c.t.Helper()
	for i := 0; i < 100 && (fa == nil || fb == nil); i++ {
		f := c.next()
		if fa == nil && a(f) {
			fa = f
		} else if fb == nil && b(f) {
			fb = f
		}
	}
	if fa == nil || fb == nil {
		c.t.Fatalf("did not see both frames (got %v and %v)", fa, fb)
	}
	return fa, fb
}

func isType(typ string) func(map[string]any) bool {
	return func(f map[string]any) bool { return f["type"] == typ }
}

func isBotMessage(f map[string]any) bool { return f["type"] == "message" && f["sender"] == "bot" }

func TestHealthAndReady(t *testing.T) {
	h := newHarness(t, realtime.DefaultLimits())
	for path, want := range map[string]string{"/healthz": "ok", "/readyz": "ready"} {
		resp, err := http.Get(h.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != 200 || body["status"] != want || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Errorf("GET %s = %d %v, want 200 status %q", path, resp.StatusCode, body, want)
		}
	}
	_ = h.store.Close()
	resp, err := http.Get(h.srv.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("readyz with a closed store = %d, want 503", resp.StatusCode)
	}
}

func TestPagesAndErrors(t *testing.T) {
	h := newHarness(t, realtime.DefaultLimits())
	tests := []struct {
		method, path string
		wantStatus   int
		wantType     string
		wantBody     string
	}{
		{"GET", "/", 200, "text/html", `<script src="/widget.js" data-site-key="demo" async></script>`},
		{"GET", "/widget.js", 200, "text/javascript", "window.Frontdesk"},
		{"GET", "/console/", 200, "text/html", "console"},
		{"GET", "/nope", 404, "application/json", `"code":"not_found"`},
		{"DELETE", "/healthz", 405, "application/json", `"code":"method_not_allowed"`},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, h.srv.URL+tt.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.wantStatus || !strings.HasPrefix(resp.Header.Get("Content-Type"), tt.wantType) || !strings.Contains(string(b), tt.wantBody) {
			t.Errorf("%s %s = %d %s %.120q; want %d %s containing %q", tt.method, tt.path, resp.StatusCode, resp.Header.Get("Content-Type"), b, tt.wantStatus, tt.wantType, tt.wantBody)
		}
		if tt.path == "/" && !strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'self'") {
			t.Errorf("GET / has no strict CSP: %q", resp.Header.Get("Content-Security-Policy"))
		}
	}
}

func TestSession(t *testing.T) {
	h := newHarness(t, realtime.DefaultLimits())
	tests := []struct {
		name     string
		body     string
		wantCode int
		wantErr  string
	}{
		{"unknown site", `{"site_key":"nope"}`, 404, "unknown_site"},
		{"no site", `{}`, 400, "bad_request"},
		{"not json", `site=demo`, 400, "bad_request"},
		{"garbage token gets a new visitor", `{"site_key":"demo","token":"forged.token"}`, 201, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := h.session(tt.body)
			if code != tt.wantCode {
				t.Fatalf("session(%s) = %d %v, want %d", tt.body, code, out, tt.wantCode)
			}
			if tt.wantErr != "" {
				e, _ := out["error"].(map[string]any)
				if e["code"] != tt.wantErr || e["message"] == "" {
					t.Errorf("error body = %v, want code %s and a message", out, tt.wantErr)
				}
			}
		})
	}
	_, first := h.session(`{"site_key":"demo"}`)
	_, again := h.session(fmt.Sprintf(`{"site_key":"demo","token":%q}`, first["token"]))
	if first["visitor_id"] == nil || again["visitor_id"] != first["visitor_id"] {
		t.Errorf("session with the earlier token = visitor %v, want %v", again["visitor_id"], first["visitor_id"])
	}
}

func TestSocketAuth(t *testing.T) {
	h := newHarness(t, realtime.DefaultLimits(), "https://shop.example")
	token := h.token()
	tests := []struct {
		name     string
		token    string
		origin   string
		wantCode int
	}{
		{"no token", "", "", 401},
		{"forged token", token[:len(token)-2] + "xx", "", 401},
		{"foreign origin", token, "https://evil.example", 403},
		{"allowed origin", token, "https://shop.example", 101},
		{"same origin", token, h.srv.URL, 101},
		{"no origin (not a browser)", token, "", 101},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			header := http.Header{}
			if tt.origin != "" {
				header.Set("Origin", tt.origin)
			}
			c, resp, err := h.dial(tt.token, header)
			if resp == nil {
				t.Fatalf("dial: %v", err)
			}
			if resp.StatusCode != tt.wantCode {
				t.Fatalf("dial status = %d, want %d", resp.StatusCode, tt.wantCode)
			}
			if tt.wantCode == 101 {
				if f := c.next(); f["type"] != "hello" {
					t.Errorf("first frame %v, want hello", f)
				}
				return
			}
			var body map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&body)
			if _, ok := body["error"].(map[string]any); !ok {
				t.Errorf("refusal body = %v, want a JSON error", body)
			}
		})
	}
}

func TestMessageAckAfterCommitAndBotReply(t *testing.T) {
	h := newHarness(t, realtime.DefaultLimits())
	c := h.mustDial(h.token())
	c.say("m-1", "How long does shipping take?")
	ack, last := c.untilBoth(isType("ack"), isBotMessage)
	if ack["client_msg_id"] != "m-1" || ack["seq"] != 1.0 {
		t.Fatalf("ack = %v, want client_msg_id m-1 seq 1", ack)
	}
	msgs, err := h.store.ListMessages(context.Background(), ack["conversation_id"].(string), 0, 0)
	if err != nil || len(msgs) < 1 || msgs[0].Text != "How long does shipping take?" {
		t.Fatalf("after ack the store holds %+v, %v; want the message", msgs, err)
	}
	if last["text"] != "Orders ship within 24 hours." || last["seq"] != 2.0 {
		t.Errorf("bot reply = %v, want the FAQ answer at seq 2", last)
	}
}

func TestIdempotentClientMsgID(t *testing.T) {
	h := newHarness(t, realtime.DefaultLimits())
	c := h.mustDial(h.token())
	c.say("same-id", "hello")
	a, _ := c.untilBoth(isType("ack"), isBotMessage)
	c.say("same-id", "hello")
	second := c.until(isType("ack"))
	b := second[len(second)-1]
	if a["seq"] != b["seq"] {
		t.Errorf("retry acked with seq %v, first with %v; want the same", b["seq"], a["seq"])
	}
	msgs, _ := h.store.ListMessages(context.Background(), a["conversation_id"].(string), 0, 0)
	visitor := 0
	for _, m := range msgs {
		if m.SenderKind == data.SenderVisitor {
			visitor++
		}
	}
	if visitor != 1 || len(msgs) != 2 {
		t.Errorf("store holds %d messages (%d from the visitor), want 2 (1)", len(msgs), visitor)
	}
}

func TestBadFramesKeepConnection(t *testing.T) {
	h := newHarness(t, realtime.DefaultLimits())
	c := h.mustDial(h.token())
	tests := []struct {
		frame    string
		wantCode string
	}{
		{`{not json`, realtime.CodeBadJSON},
		{`{"type":"dance"}`, realtime.CodeUnknownType},
		{`{"type":"message","client_msg_id":"a","text":""}`, realtime.CodeEmptyText},
		{`{"type":"message","text":"hi"}`, realtime.CodeBadClientID},
	}
	for _, tt := range tests {
		if err := c.conn.WriteMessage(websocket.TextMessage, []byte(tt.frame)); err != nil {
			t.Fatal(err)
		}
		f := c.next()
		if f["type"] != "error" || f["code"] != tt.wantCode || f["message"] == "" {
			t.Errorf("after %s got %v, want error frame %s", tt.frame, f, tt.wantCode)
		}
	}
	if err := c.conn.WriteMessage(websocket.BinaryMessage, []byte{1, 2}); err != nil {
		t.Fatal(err)
	}
	if f := c.next(); f["code"] != realtime.CodeBadFrame {
		t.Errorf("after a binary frame got %v, want bad_frame", f)
	}
	c.send(map[string]string{"type": "ping"})
	if f := c.next(); f["type"] != "pong" {
		t.Errorf("connection not usable after bad frames: got %v, want pong", f)
	}
}

func TestOversizedFrameClosesWith1009(t *testing.T) {
	limits := realtime.DefaultLimits()
	limits.MaxFrameBytes = 1024
	h := newHarness(t, limits)
	c := h.mustDial(h.token())
	big := `{"type":"message","client_msg_id":"big","text":"` + strings.Repeat("a", 2000) + `"}`
	if err := c.conn.WriteMessage(websocket.TextMessage, []byte(big)); err != nil {
		t.Fatal(err)
	}
	_ = c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, _, err := c.conn.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.CloseMessageTooBig {
			t.Fatalf("read after oversized frame: %v, want close 1009", err)
		}
		return
	}
}

func TestRateLimit(t *testing.T) {
	limits := realtime.DefaultLimits()
	limits.MessagesPerSecond, limits.Burst = 0.01, 2
	h := newHarness(t, limits)
	c := h.mustDial(h.token())
	for i := 0; i < 3; i++ {
		c.say(fmt.Sprintf("r-%d", i), "hello")
	}
	frames := c.until(func(f map[string]any) bool { return f["type"] == "error" })
	last := frames[len(frames)-1]
	if last["code"] != realtime.CodeRateLimited || last["client_msg_id"] != "r-2" {
		t.Errorf("third message got %v, want rate_limited for r-2", last)
	}
}

// TestResumeAfterReconnect: a client that was away gets every message it
// missed, in order, with no gaps and no duplicates.
func TestResumeAfterReconnect(t *testing.T) {
	h := newHarness(t, realtime.DefaultLimits())
	token := h.token()
	c := h.mustDial(token)
	c.say("a1", "hello")
	c.until(isBotMessage) // seq 1 (visitor) and 2 (bot) seen
	_ = c.conn.Close()

	// While the first tab is away, another tab of the same visitor talks on.
	other := h.mustDial(token)
	other.send(map[string]any{"type": "resume", "last_seq": 2})
	other.until(isType("resumed"))
	other.say("b1", "How long does shipping take?")
	other.until(isBotMessage) // seq 3, 4
	other.say("b2", "thanks")
	other.until(isBotMessage) // seq 5, 6

	back := h.mustDial(token)
	back.send(map[string]any{"type": "resume", "last_seq": 2})
	frames := back.until(isType("resumed"))
	var seqs []float64
	for _, f := range frames {
		if f["type"] == "message" {
			seqs = append(seqs, f["seq"].(float64))
		}
	}
	want := []float64{3, 4, 5, 6}
	if fmt.Sprint(seqs) != fmt.Sprint(want) {
		t.Errorf("resume from 2 delivered seqs %v, want %v", seqs, want)
	}
	if r := frames[len(frames)-1]; r["last_seq"] != 6.0 {
		t.Errorf("resumed frame = %v, want last_seq 6", r)
	}
	// Live messages continue after the replay without duplicates.
	back.say("c1", "hello")
	frames = back.until(isBotMessage)
	seqs = nil
	for _, f := range frames {
		switch {
		case f["type"] == "message":
			seqs = append(seqs, f["seq"].(float64))
		case f["type"] == "ack" && f["stored"] != nil:
			// The sender's own message comes once, inside its ack.
			seqs = append(seqs, f["stored"].(map[string]any)["seq"].(float64))
		}
	}
	if fmt.Sprint(seqs) != fmt.Sprint([]float64{7, 8}) {
		t.Errorf("live messages after resume had seqs %v, want [7 8]", seqs)
	}
}

// TestSenderGetsItsMessageOnce: the connection that sent a message gets it
// once, in its ack; the visitor's other tabs get it as a message frame; a
// retry is acked with the stored message again.
func TestSenderGetsItsMessageOnce(t *testing.T) {
	h := newHarness(t, realtime.DefaultLimits())
	token := h.token()
	tab1 := h.mustDial(token)
	tab1.say("first", "hello")
	tab1.untilBoth(isType("ack"), isBotMessage)
	tab2 := h.mustDial(token)
	tab2.send(map[string]any{"type": "resume", "last_seq": 2})
	tab2.until(isType("resumed"))

	tab1.say("once", "How long does shipping take?")
	// Read up to the answer to a later message, so that a second copy of
	// "once" in either order would be seen.
	var frames []map[string]any
	var ack map[string]any
	for ack == nil {
		f := tab1.next()
		frames = append(frames, f)
		if f["type"] == "ack" && f["client_msg_id"] == "once" {
			ack = f
		}
	}
	tab1.say("marker", "thanks")
	frames = append(frames, tab1.until(func(f map[string]any) bool { return f["type"] == "ack" && f["client_msg_id"] == "marker" })...)
	m, _ := ack["stored"].(map[string]any)
	if m == nil || m["text"] != "How long does shipping take?" || m["seq"] != ack["seq"] || m["client_msg_id"] != "once" || m["sender"] != "visitor" {
		t.Fatalf("ack = %v, want it to carry the stored message", ack)
	}
	for _, f := range frames {
		if f["type"] == "message" && f["seq"] == ack["seq"] {
			t.Errorf("the sending tab got its message as a message frame too: %v", f)
		}
	}
	other := tab2.until(func(f map[string]any) bool { return f["type"] == "message" && f["client_msg_id"] == "once" })
	if f := other[len(other)-1]; f["seq"] != ack["seq"] {
		t.Errorf("the other tab got %v, want seq %v", f, ack["seq"])
	}
	for _, f := range other {
		if f["type"] == "ack" {
			t.Errorf("the other tab got an ack: %v", f)
		}
	}

	tab1.say("once", "How long does shipping take? (again)")
	again := tab1.until(isType("ack"))
	if m, _ := again[len(again)-1]["stored"].(map[string]any); m == nil || m["seq"] != ack["seq"] || m["text"] != "How long does shipping take?" {
		t.Errorf("ack of a retry = %v, want the stored message", again[len(again)-1])
	}
}

// visitorConversation dials a new visitor who says hello and returns the
// socket and the conversation it started.
func (h *harness) visitorConversation() (*client, data.Conversation) {
	h.t.Helper()
	c := h.mustDial(h.token())
	c.say("m1", "hello")
	ack, _ := c.untilBoth(isType("ack"), isBotMessage)
	stored, _ := ack["stored"].(map[string]any)
	convID, _ := stored["conversation_id"].(string)
	conv, err := h.store.GetConversation(context.Background(), convID)
	if err != nil {
		h.t.Fatalf("GetConversation(%q): %v", convID, err)
	}
	return c, conv
}

// TestConversationStateNeverGoesBack: two goroutines, or two nodes, can
// publish a conversation's changes in the other order than they were
// stored (a hand-off's "queued" after the routing that ran meanwhile
// published "assigned"). The visitor must not be shown the older state
// last; the states' LastSeq orders them.
func TestConversationStateNeverGoesBack(t *testing.T) {
	h := newHarness(t, realtime.DefaultLimits())
	ctx := context.Background()
	c, conv := h.visitorConversation()
	queued, assigned, closed := conv, conv, conv
	queued.Status, queued.LastSeq = data.StatusQueued, conv.LastSeq+1
	assigned.Status, assigned.LastSeq = data.StatusAssigned, conv.LastSeq+2
	closed.Status, closed.LastSeq = data.StatusClosed, conv.LastSeq+3
	h.pub.Conversation(ctx, assigned)
	h.pub.Conversation(ctx, queued) // stored before "assigned", published after it
	h.pub.Conversation(ctx, closed)
	var shown []string
	for _, f := range c.until(func(f map[string]any) bool { return f["type"] == "conversation" && f["status"] == "closed" }) {
		if f["type"] == "conversation" {
			s, _ := f["status"].(string)
			shown = append(shown, s)
		}
	}
	if want := []string{"assigned", "closed"}; !slices.Equal(shown, want) {
		t.Errorf("conversation states shown = %v, want %v", shown, want)
	}
}

// TestPositionOnlyWhileQueued: a queue position computed before the
// conversation left the queue, and published after its new state, is not
// shown (the widget would bring back "You are number 1 in line" after the
// agent joined).
func TestPositionOnlyWhileQueued(t *testing.T) {
	h := newHarness(t, realtime.DefaultLimits())
	ctx := context.Background()
	c, conv := h.visitorConversation()
	position := func(n int) {
		h.pub.Event(ctx, data.ConversationTopic(conv.ID), data.Event{Type: data.EventPosition, ConversationID: conv.ID, Position: &data.Position{Position: n}})
	}
	queued, assigned := conv, conv
	queued.Status, queued.LastSeq = data.StatusQueued, conv.LastSeq+1
	assigned.Status, assigned.LastSeq = data.StatusAssigned, conv.LastSeq+2
	h.pub.Conversation(ctx, queued)
	position(2)
	h.pub.Conversation(ctx, assigned)
	position(1) // read from the queue before the assignment
	closed := assigned
	closed.Status, closed.LastSeq = data.StatusClosed, conv.LastSeq+3
	h.pub.Conversation(ctx, closed)
	var got []string
	for _, f := range c.until(func(f map[string]any) bool { return f["type"] == "conversation" && f["status"] == "closed" }) {
		switch f["type"] {
		case "conversation":
			got = append(got, f["status"].(string))
		case "position":
			got = append(got, fmt.Sprintf("position %v", f["position"]))
		}
	}
	if want := []string{"queued", "position 2", "assigned", "closed"}; !slices.Equal(got, want) {
		t.Errorf("frames = %v, want %v", got, want)
	}
}

func TestShutdownClosesSockets(t *testing.T) {
	h := newHarness(t, realtime.DefaultLimits())
	c := h.mustDial(h.token())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.hub.Close(ctx); err != nil {
		t.Fatalf("hub.Close: %v", err)
	}
	_ = c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _, err := c.conn.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway {
		t.Errorf("client read after shutdown: %v, want close 1001", err)
	}
	if n := h.hub.Connections(); n != 0 {
		t.Errorf("%d connections left after Close", n)
	}
	// New connections are refused while shutting down.
	c2, _, err := h.dial(h.token(), nil)
	if err == nil {
		_ = c2.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, _, err := c2.conn.ReadMessage(); err == nil {
			t.Error("a connection opened after shutdown received data")
		}
	}
}

func mustParse(s string) *url.URL {
	u, _ := url.Parse(s)
	return u
}

// TestControlFramesAreRateLimited: frames other than messages (here resume,
// which replays the conversation from the store) have a budget per socket
// too: five times the message rate with three times the burst.
func TestControlFramesAreRateLimited(t *testing.T) {
	limits := realtime.DefaultLimits()
	limits.MessagesPerSecond, limits.Burst = 0.01, 2 // control frames: 0.05/s, burst 6
	h := newHarness(t, limits)
	c := h.mustDial(h.token())
	for range 10 {
		c.send(map[string]any{"type": "resume", "last_seq": 0})
	}
	resumed, limited := 0, 0
	for resumed+limited < 10 {
		switch f := c.next(); {
		case f["type"] == "resumed":
			resumed++
		case f["type"] == "error" && f["code"] == realtime.CodeRateLimited:
			limited++
		}
	}
	if resumed != 6 || limited != 4 {
		t.Errorf("10 resume frames: %d resumed, %d rate_limited; want 6 and 4", resumed, limited)
	}
}

// TestVisitorFramesRefused: frames a visitor may not send get an error frame,
// never silence or a crash.
func TestVisitorFramesRefused(t *testing.T) {
	h := newHarness(t, realtime.DefaultLimits())
	c := h.mustDial(h.token())
	for _, f := range []map[string]any{
		{"type": "watch", "conversation_id": "c_x", "last_seq": 0},
		{"type": "note", "conversation_id": "c_x", "client_msg_id": "n1", "text": "hi"},
		{"type": "track", "name": "page_view", "props": map[string]any{"url": "javascript:alert(1)"}},
	} {
		c.send(f)
		got := c.until(isType("error"))
		if e := got[len(got)-1]; e["code"] != realtime.CodeUnknownType && e["code"] != realtime.CodeInvalid || strings.Contains(fmt.Sprint(e["message"]), "chat:") {
			t.Errorf("%v answered %v, want unknown_type or invalid, without internal prefixes", f, e)
		}
	}
}
