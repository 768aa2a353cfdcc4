package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/frontdesk/frontdesk/data"
	"github.com/frontdesk/frontdesk/data/seal"
	"github.com/frontdesk/frontdesk/data/sqlstore"
)

// testServer runs the real `serve` wiring on a random loopback port.
type testServer struct {
	url     string
	dataDir string
	cancel  context.CancelFunc
	done    chan error
}

func startServer(t *testing.T, extra ...string) *testServer {
	t.Helper()
	dir := t.TempDir()
	args := append([]string{"--addr", "127.0.0.1:0", "--data-dir", dir, "--shutdown-timeout", "5s"}, extra...)
	cfg, _, err := parseServerConfig("serve", args, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ts := &testServer{dataDir: dir, cancel: cancel, done: make(chan error, 1)}
	ready := make(chan string, 1)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	go func() { ts.done <- serve(ctx, cfg, log, func(addr string) { ready <- addr }) }()
	select {
	case addr := <-ready:
		ts.url = "http://" + addr
	case err := <-ts.done:
		t.Fatalf("serve ended before it was ready: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("serve not ready after 60s")
	}
	t.Cleanup(func() { ts.stop(t) })
	return ts
}

func (ts *testServer) stop(t *testing.T) error {
	ts.cancel()
	select {
	case err, ok := <-ts.done:
		if ok {
			close(ts.done)
		}
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop within 20s of cancel")
		return nil
	}
}

func TestServeHealthAndChatCommand(t *testing.T) {
	ts := startServer(t)
	resp, err := http.Get(ts.url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	var health map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&health)
	resp.Body.Close()
	if resp.StatusCode != 200 || health["status"] != "ok" {
		t.Fatalf("GET /healthz = %d %v", resp.StatusCode, health)
	}

	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"chat", "--server", ts.url, "--say", "hello", "--json"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("frontdesk chat exited %d: %s", code, errOut.String())
	}
	var sawAck, sawBot bool
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var f map[string]any
		if err := json.Unmarshal([]byte(line), &f); err != nil {
			t.Fatalf("chat --json printed a non-JSON line %q", line)
		}
		sawAck = sawAck || f["type"] == "ack"
		sawBot = sawBot || (f["type"] == "message" && f["sender"] == "bot" && f["text"] != "")
	}
	if !sawAck || !sawBot {
		t.Errorf("chat --say hello --json printed %s; want an ack and a bot message", out.String())
	}

	out.Reset()
	code = run(context.Background(), []string{"chat", "--server", ts.url, "--say", "How long does shipping take?"}, &out, &errOut)
	if code != 0 || !strings.HasPrefix(out.String(), "bot: ") {
		t.Errorf("chat --say (text mode) exited %d and printed %q; want a 'bot: ...' line", code, out.String())
	}
}

func TestChatCommandErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"chat", "--server", "ftp://x", "--say", "hi"}, "want a URL"},
		{[]string{"chat", "--server", "http://127.0.0.1:1", "--say", "hi"}, "is the server running"},
		{[]string{"chat", "stray"}, "unexpected arguments"},
	}
	for _, tt := range tests {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), tt.args, &out, &errOut); code == 0 || !strings.Contains(errOut.String(), tt.want) {
			t.Errorf("frontdesk %v = exit %d, stderr %q; want failure mentioning %q", tt.args, code, errOut.String(), tt.want)
		}
	}
}

// TestGracefulShutdown: with a WebSocket open and messages acknowledged, a
// shutdown closes the socket with 1001, returns cleanly, and every
// acknowledged message is in the database afterwards.
func TestGracefulShutdown(t *testing.T) {
	ts := startServer(t)
	sess, err := openSession(context.Background(), mustURL(t, ts.url), "demo", "")
	if err != nil {
		t.Fatal(err)
	}
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(ts.url, "http")+sess.SocketPath+"?token="+sess.Token, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	acked := map[string]bool{}
	for _, id := range []string{"s1", "s2", "s3"} {
		if err := ws.WriteJSON(map[string]string{"type": "message", "client_msg_id": id, "text": "shipping " + id}); err != nil {
			t.Fatal(err)
		}
	}
	var convID string
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for len(acked) < 3 {
		var f map[string]any
		if err := ws.ReadJSON(&f); err != nil {
			t.Fatalf("read: %v", err)
		}
		if f["type"] == "ack" {
			acked[f["client_msg_id"].(string)] = true
			convID = f["conversation_id"].(string)
		}
	}
	if err := ts.stop(t); err != nil {
		t.Fatalf("serve returned %v after shutdown, want nil", err)
	}
	var closeErr *websocket.CloseError
	for {
		_, _, err := ws.ReadMessage()
		if err == nil {
			continue
		}
		if !errors.As(err, &closeErr) || closeErr.Code != websocket.CloseGoingAway {
			t.Errorf("socket ended with %v, want close 1001 (going away)", err)
		}
		break
	}
	// Reopen the database the server left behind.
	keyB, err := os.ReadFile(filepath.Join(ts.dataDir, "keys", "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	key, _ := seal.ParseKey(string(keyB))
	ring, _ := seal.NewKeyring(key)
	store, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(ts.dataDir, "frontdesk.db"), ring, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	msgs, err := store.ListMessages(context.Background(), convID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]bool{}
	for _, m := range msgs {
		if m.SenderKind == data.SenderVisitor {
			stored[m.ClientMsgID] = true
		}
	}
	for id := range acked {
		if !stored[id] {
			t.Errorf("acknowledged message %s is not in the database after shutdown", id)
		}
	}
}

func TestConfigCommandMasksSecrets(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"config", "--master-key", "c2VjcmV0LWtleS1zZWNyZXQta2V5LXNlY3JldC1rZXk=", "--addr", "0.0.0.0:9000"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("config exited %d: %s", code, errOut.String())
	}
	if strings.Contains(out.String(), "c2VjcmV0") || !strings.Contains(out.String(), `"master_key": "********"`) || !strings.Contains(out.String(), "0.0.0.0:9000") {
		t.Errorf("config printed %s; want the address and a masked master key", out.String())
	}
	tests := [][]string{
		{"config", "--log-level", "loud"},
		{"config", "--allowed-origins", "not-an-origin"},
		{"config", "--bot-answer-threshold", "1.5"},
		{"config", "--sqlite-synchronous", "OFF"},
	}
	for _, args := range tests {
		out.Reset()
		errOut.Reset()
		if code := run(context.Background(), args, &out, &errOut); code == 0 {
			t.Errorf("frontdesk %v exited 0, want a validation error", args)
		}
	}
}

func TestUnknownCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"frobnicate"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "unknown command") {
		t.Errorf("unknown command = exit %d, %q", code, errOut.String())
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestAdminCommands(t *testing.T) {
	dir := newDataDir(t)
	var out, errOut bytes.Buffer
	err := adminWithInput(context.Background(), []string{"create-agent", "--data-dir", dir, "--email", "Mei@Acme.example", "--name", "韩梅梅", "--groups", "order_support,tech_support", "--password-stdin"},
		strings.NewReader("a very long password\n"), &out, &errOut)
	if err != nil || !strings.Contains(out.String(), "created agent mei@acme.example") {
		t.Fatalf("create-agent = %v, %q %q", err, out.String(), errOut.String())
	}
	out.Reset()
	if err := adminWithInput(context.Background(), []string{"create-agent", "--data-dir", dir, "--email", "x@acme.example", "--name", "X", "--groups", "nope"}, strings.NewReader(""), &out, &errOut); err == nil {
		t.Error("create-agent with an unknown group succeeded")
	}
	if err := adminWithInput(context.Background(), []string{"set-password", "--data-dir", dir, "--email", "mei@acme.example"}, strings.NewReader(""), &out, &errOut); err != nil || !strings.Contains(out.String(), "password: ") {
		t.Errorf("set-password = %v, %q; want a generated password printed", err, out.String())
	}
	out.Reset()
	if err := adminWithInput(context.Background(), []string{"list-agents", "--data-dir", dir}, strings.NewReader(""), &out, &errOut); err != nil || !strings.Contains(out.String(), "mei@acme.example") || !strings.Contains(out.String(), "order_support,tech_support") {
		t.Errorf("list-agents = %v, %q", err, out.String())
	}
	if err := adminWithInput(context.Background(), []string{"frobnicate"}, strings.NewReader(""), &out, &errOut); err == nil {
		t.Error("unknown admin command accepted")
	}
}

func TestMetricsEndpoint(t *testing.T) {
	ts := startServer(t, "--metrics-token", "tok")
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"chat", "--server", ts.url, "--say", "How long does shipping take?"}, &out, &errOut); code != 0 {
		t.Fatalf("chat: %s", errOut.String())
	}
	req, _ := http.NewRequest("GET", ts.url+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer tok")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`frontdesk_messages_total{kind="text",sender="visitor"} 1`, `frontdesk_bot_decisions_total{kind="answer"`, `frontdesk_connections`, `frontdesk_queue_length{group="default_support"} 0`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	resp, err = http.Get(ts.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("/metrics without the token = %d, want 401", resp.StatusCode)
	}
}
