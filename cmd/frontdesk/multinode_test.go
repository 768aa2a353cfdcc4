package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/frontdesk/frontdesk/data/datatest"
)

// node is one `frontdesk serve` process of the multi-node test.
type node struct {
	name    string
	url     string
	dataDir string
	cmd     *exec.Cmd
	out     *bytes.Buffer
	exited  chan struct{}
}

// buildFrontdesk builds the binary once per test run into dir.
func buildFrontdesk(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "frontdesk")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func randomKey(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// startNode starts a serve process and waits until /healthz answers.
func startNode(t *testing.T, bin, name string, env []string) *node {
	t.Helper()
	n := &node{name: name, dataDir: t.TempDir(), out: &bytes.Buffer{}, exited: make(chan struct{})}
	addr := freePort(t)
	n.url = "http://" + addr
	n.cmd = exec.Command(bin, "serve", "--addr", addr, "--data-dir", n.dataDir, "--presence-grace", "2s", "--shutdown-timeout", "3s")
	n.cmd.Env = append(os.Environ(), env...)
	n.cmd.Stdout, n.cmd.Stderr = n.out, n.out
	if err := n.cmd.Start(); err != nil {
		t.Fatalf("start node %s: %v", name, err)
	}
	go func() { _ = n.cmd.Wait(); close(n.exited) }()
	t.Cleanup(func() {
		n.kill()
		if t.Failed() {
			t.Logf("--- node %s output ---\n%s", n.name, n.out.String())
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(n.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return n
			}
		}
		select {
		case <-n.exited:
			t.Fatalf("node %s exited before it was ready:\n%s", name, n.out.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s not ready after 60s:\n%s", name, n.out.String())
		}
	}
}

// kill ends the process at once (SIGKILL), as a crashed node ends.
func (n *node) kill() {
	if n.cmd.Process != nil {
		_ = n.cmd.Process.Kill()
	}
	<-n.exited
}

// wsClient reads a socket's frames in the background.
type wsClient struct {
	t      *testing.T
	name   string
	conn   *websocket.Conn
	frames chan map[string]any
	mu     sync.Mutex
	closed error
}

func dialWS(t *testing.T, name, u string, hdr http.Header) *wsClient {
	t.Helper()
	conn, resp, err := websocket.DefaultDialer.Dial(u, hdr)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("%s: dial %s: %v (HTTP %d)", name, u, err, status)
	}
	c := &wsClient{t: t, name: name, conn: conn, frames: make(chan map[string]any, 1024)}
	go func() {
		defer close(c.frames)
		for {
			var f map[string]any
			if err := conn.ReadJSON(&f); err != nil {
				c.mu.Lock()
				c.closed = err
				c.mu.Unlock()
				return
			}
			c.frames <- f
		}
	}()
	t.Cleanup(func() { conn.Close() })
	return c
}

func (c *wsClient) send(f map[string]any) {
	c.t.Helper()
	if err := c.conn.WriteJSON(f); err != nil {
		c.t.Fatalf("%s: send %v: %v", c.name, f, err)
	}
}

// until returns the frames read up to and including the first that
// matches; it fails the test if the socket ends or 20 s pass first.
func (c *wsClient) until(what string, match func(map[string]any) bool) []map[string]any {
	c.t.Helper()
	var seen []map[string]any
	timeout := time.NewTimer(20 * time.Second)
	defer timeout.Stop()
	for {
		select {
		case f, ok := <-c.frames:
			if !ok {
				c.mu.Lock()
				err := c.closed
				c.mu.Unlock()
				c.t.Fatalf("%s: socket ended (%v) while waiting for %s; read %v", c.name, err, what, seen)
			}
			seen = append(seen, f)
			if match(f) {
				return seen
			}
		case <-timeout.C:
			c.t.Fatalf("%s: no %s within 20s; read %v", c.name, what, seen)
		}
	}
}

// transcript is what a visitor's client has shown, by seq.
type transcript struct {
	t    *testing.T
	seqs []int64
	text map[int64]string
}

// take records the message frames among fs, failing on a duplicate or a
// seq that is not the next one: the client must see 1, 2, 3, ... once each.
func (tr *transcript) take(fs []map[string]any) {
	tr.t.Helper()
	for _, f := range fs {
		f, ok := asMessage(f)
		if !ok {
			continue
		}
		seq := int64(f["seq"].(float64))
		want := int64(len(tr.seqs)) + 1
		if seq != want {
			tr.t.Fatalf("visitor received seq %d (%q) after %v; want %d: no gaps, no duplicates", seq, f["text"], tr.seqs, want)
		}
		tr.seqs = append(tr.seqs, seq)
		tr.text[seq], _ = f["text"].(string)
	}
}

func (tr *transcript) last() int64 { return int64(len(tr.seqs)) }

func isText(text string) func(map[string]any) bool {
	return func(f map[string]any) bool { m, ok := asMessage(f); return ok && m["text"] == text }
}

// asMessage returns the message a frame carries: a message frame, or the
// ack of the connection's own message, which carries it instead.
func asMessage(f map[string]any) (map[string]any, bool) {
	switch f["type"] {
	case "message":
		return f, true
	case "ack":
		m, ok := f["stored"].(map[string]any)
		return m, ok
	}
	return nil, false
}

// visitorSocket opens (or, with a token, resumes) a visitor session on n.
func visitorSocket(t *testing.T, n *node, token string) (*wsClient, sessionInfo) {
	t.Helper()
	sess, err := openSession(context.Background(), mustURL(t, n.url), demoSiteKey, token)
	if err != nil {
		t.Fatalf("visitor session on node %s: %v", n.name, err)
	}
	ws := dialWS(t, "visitor@"+n.name, "ws"+strings.TrimPrefix(n.url, "http")+sess.SocketPath+"?token="+url.QueryEscape(sess.Token), nil)
	return ws, sess
}

// agentLoginAt signs the first admin (whose password node first wrote) in
// on node n.
func agentLoginAt(t *testing.T, first, n *node) (*http.Client, string, http.Header) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(first.dataDir, "initial-admin.txt"))
	if err != nil {
		t.Fatalf("initial admin file of node %s: %v", first.name, err)
	}
	var email, password string
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "e-mail: "); ok {
			email = v
		}
		if v, ok := strings.CutPrefix(line, "password: "); ok {
			password = v
		}
	}
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	body, _ := json.Marshal(map[string]string{"email": email, "password": password})
	resp, err := client.Post(n.url+"/api/v1/agent/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var me struct {
		CSRF string `json:"csrf_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&me); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("admin login on node %s = %d, %v", n.name, resp.StatusCode, err)
	}
	hdr := http.Header{}
	for _, c := range jar.Cookies(mustURL(t, n.url)) {
		hdr.Add("Cookie", c.Name+"="+c.Value)
	}
	return client, me.CSRF, hdr
}

// redisControl restarts the machine's Redis when the test uses it.
type redisControl struct {
	addr string
}

func (r redisControl) ping() bool {
	return exec.Command("redis-cli", "-h", r.host(), "-p", r.port(), "ping").Run() == nil
}

func (r redisControl) host() string { h, _, _ := net.SplitHostPort(r.addr); return h }
func (r redisControl) port() string { _, p, _ := net.SplitHostPort(r.addr); return p }

// start runs the machine's documented command (docs: the go-svc machine notes).
func (r redisControl) start(t *testing.T) {
	t.Helper()
	out, err := exec.Command("redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port", r.port(),
		"--save", "", "--appendonly", "no", "--dir", "/var/lib/redis", "--logfile", "/var/log/redis/ci.log").CombinedOutput()
	if err != nil {
		t.Errorf("start redis: %v\n%s", err, out)
	}
	for i := 0; i < 100 && !r.ping(); i++ {
		time.Sleep(50 * time.Millisecond)
	}
	if !r.ping() {
		t.Errorf("redis does not answer after restart")
	}
}

func (r redisControl) stop(t *testing.T) {
	t.Helper()
	_ = exec.Command("redis-cli", "-h", r.host(), "-p", r.port(), "shutdown", "nosave").Run()
	for i := 0; i < 100 && r.ping(); i++ {
		time.Sleep(50 * time.Millisecond)
	}
	if r.ping() {
		t.Fatalf("redis still answers after shutdown")
	}
}

// restartable reports whether this test may restart the Redis at url: only
// the machine's own local server, with its tools installed.
func restartable(redisURL string) (redisControl, bool) {
	u, err := url.Parse(redisURL)
	if err != nil || (u.Hostname() != "127.0.0.1" && u.Hostname() != "localhost") || u.Port() != "6379" {
		return redisControl{}, false
	}
	for _, tool := range []string{"redis-cli", "redis-server"} {
		if _, err := exec.LookPath(tool); err != nil {
			return redisControl{}, false
		}
	}
	return redisControl{addr: net.JoinHostPort(u.Hostname(), u.Port())}, true
}

// TestMultiNode runs two real serve processes on one PostgreSQL database
// and one Redis: a visitor on node A is handed off, the admin on node B
// accepts and replies, node A dies and the visitor resumes on node B with
// no gap and no duplicate, then Redis restarts and nothing is lost.
func TestMultiNode(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-node test builds and runs the binary")
	}
	dbURL := datatest.PostgresURL(t)
	redisURL := datatest.RedisURL(t)
	bin := buildFrontdesk(t, t.TempDir())
	env := []string{
		"FRONTDESK_DATABASE_URL=" + dbURL,
		"FRONTDESK_REDIS_URL=" + redisURL,
		"FRONTDESK_MASTER_KEY=" + randomKey(t),
		"FRONTDESK_SESSION_KEY=" + randomKey(t),
	}
	a := startNode(t, bin, "A", env)
	b := startNode(t, bin, "B", env)

	// The admin signs in on node B and opens the console socket there.
	client, csrf, hdr := agentLoginAt(t, a, b)
	agent := dialWS(t, "agent@B", "ws"+strings.TrimPrefix(b.url, "http")+"/api/v1/agent/ws", hdr)
	agent.until("agent hello", func(f map[string]any) bool { return f["type"] == "hello" })

	// A visitor on node A asks for a person.
	visitor, sess := visitorSocket(t, a, "")
	tr := &transcript{t: t, text: map[int64]string{}}
	visitor.until("visitor hello", func(f map[string]any) bool { return f["type"] == "hello" })
	visitor.send(map[string]any{"type": "message", "client_msg_id": "v1", "text": "转人工"})
	fs := visitor.until("handoff", func(f map[string]any) bool {
		ev, _ := f["event"].(map[string]any)
		return f["type"] == "message" && ev != nil && ev["to"] == "queued"
	})
	// The ack may come after the bot's replies (they are produced in
	// parallel); wait for it if it has not arrived yet.
	acked := false
	for _, f := range fs {
		acked = acked || f["type"] == "ack"
	}
	if !acked {
		fs = append(fs, visitor.until("ack", func(f map[string]any) bool { return f["type"] == "ack" })...)
	}
	tr.take(fs)
	var convID string
	for _, f := range fs {
		if f["type"] == "ack" {
			convID, _ = f["conversation_id"].(string)
		}
	}
	if convID == "" {
		t.Fatalf("no ack for the visitor's message among %v", fs)
	}

	// Node B's agent accepts it, unless routing on a node already gave it to
	// them (presence is shared through Redis).
	assigned := func(f map[string]any) bool {
		c, _ := f["conversation"].(map[string]any)
		return f["type"] == "assigned" && c != nil && c["id"] == convID
	}
	inQueue := func(f map[string]any) bool {
		q, _ := f["queue"].(map[string]any)
		es, _ := q["entries"].([]any)
		for _, e := range es {
			if m, _ := e.(map[string]any); m != nil && m["conversation_id"] == convID {
				return true
			}
		}
		return false
	}
	seen := agent.until("the conversation in the queue or assigned", func(f map[string]any) bool { return assigned(f) || inQueue(f) })
	if assigned(seen[len(seen)-1]) {
		t.Log("routing assigned the conversation to the agent on node B (shared presence)")
	} else {
		t.Log("the agent on node B accepts from the queue")
		status, out := apiCall(t, client, csrf, http.MethodPost, b.url+"/api/v1/agent/conversations/"+convID+"/accept", nil)
		if status != http.StatusOK && status != http.StatusConflict {
			t.Fatalf("accept on node B = %d %v", status, out)
		}
		agent.until("assigned frame", assigned)
	}
	agent.send(map[string]any{"type": "message", "conversation_id": convID, "client_msg_id": "a1", "text": "Hello from node B"})
	agent.until("ack a1", func(f map[string]any) bool { return f["type"] == "ack" && f["client_msg_id"] == "a1" })
	tr.take(visitor.until("the agent's reply on node A", isText("Hello from node B")))

	// Node A dies. The agent writes while the visitor is away; the visitor
	// reconnects to node B and resumes from its last seq.
	a.kill()
	agent.send(map[string]any{"type": "message", "conversation_id": convID, "client_msg_id": "a2", "text": "Are you still there?"})
	agent.until("ack a2", func(f map[string]any) bool { return f["type"] == "ack" && f["client_msg_id"] == "a2" })
	visitor, _ = visitorSocket(t, b, sess.Token)
	hello := visitor.until("hello on node B", func(f map[string]any) bool { return f["type"] == "hello" })
	if h := hello[len(hello)-1]; h["conversation_id"] != convID || h["visitor_id"] != sess.VisitorID {
		t.Fatalf("hello on node B = %v; want the same visitor %s and conversation %s", h, sess.VisitorID, convID)
	}
	visitor.send(map[string]any{"type": "resume", "last_seq": tr.last()})
	tr.take(visitor.until("resumed", func(f map[string]any) bool { return f["type"] == "resumed" }))
	if tr.text[tr.last()] != "Are you still there?" {
		t.Fatalf("after resuming, the last message is %q; want the one written while away", tr.text[tr.last()])
	}

	// Redis restarts. A message committed while it is down reaches the
	// visitor once the nodes have resubscribed; later ones flow as before.
	if rc, ok := restartable(redisURL); ok {
		t.Cleanup(func() {
			if !rc.ping() {
				rc.start(t)
			}
		})
		rc.stop(t)
		agent.send(map[string]any{"type": "message", "conversation_id": convID, "client_msg_id": "a3", "text": "Sent while Redis was down"})
		agent.until("ack a3", func(f map[string]any) bool { return f["type"] == "ack" && f["client_msg_id"] == "a3" })
		rc.start(t)
		tr.take(visitor.until("the message sent while Redis was down", isText("Sent while Redis was down")))
	} else {
		t.Logf("Redis at %s is not the machine's local server: not restarting it", redisURL)
	}
	agent.send(map[string]any{"type": "message", "conversation_id": convID, "client_msg_id": "a4", "text": "Back to normal"})
	tr.take(visitor.until("a message after the restart", isText("Back to normal")))
	visitor.send(map[string]any{"type": "message", "client_msg_id": "v2", "text": "Thanks, got everything"})
	tr.take(visitor.until("the visitor's own message back", isText("Thanks, got everything")))
	agent.until("the visitor's message on the console", isText("Thanks, got everything"))

	// Every message the store holds reached the visitor exactly once.
	status, out := apiCall(t, client, csrf, http.MethodGet, b.url+"/api/v1/agent/conversations/"+convID, nil)
	if status != http.StatusOK {
		t.Fatalf("conversation details = %d %v", status, out)
	}
	if stored := lastSeqOf(out); stored != tr.last() {
		t.Errorf("visitor saw seqs 1..%d once each; the store holds 1..%d", tr.last(), stored)
	}
}

// lastSeqOf finds the conversation's last_seq in a details response.
func lastSeqOf(details map[string]any) int64 {
	if c, ok := details["conversation"].(map[string]any); ok {
		if v, ok := c["last_seq"].(float64); ok {
			return int64(v)
		}
	}
	return 0
}
