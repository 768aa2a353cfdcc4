package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/frontdesk/frontdesk/data/seal"
	"github.com/frontdesk/frontdesk/data/sqlstore"
)

// crashRoundsEnv sets the rounds of TestCrashDurability (default 50; the
// long run uses 1000).
const crashRoundsEnv = "FRONTDESK_CRASH_ROUNDS"

var servingURL = regexp.MustCompile(`url=http://([0-9.:]+)/`)

// ackRecord is one message the server acknowledged.
type ackRecord struct {
	conv string
	seq  int64
}

// crashClient is one visitor who keeps their token across server restarts.
type crashClient struct {
	id    int
	token string
}

// TestCrashDurability runs the real server binary on SQLite
// (synchronous=FULL), drives concurrent visitor conversations over
// WebSockets, kills the server with SIGKILL at a random moment, restarts
// it, and at the end checks that every acknowledged message is stored
// exactly once at its acknowledged seq and every conversation's seq has no gap.
func TestCrashDurability(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	rounds := 50
	if v := os.Getenv(crashRoundsEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q: want a positive number", crashRoundsEnv, v)
		}
		rounds = n
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "frontdesk")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dataDir := filepath.Join(dir, "data")
	kb := filepath.Join(dir, "kb")
	if err := os.MkdirAll(kb, 0o755); err != nil {
		t.Fatal(err)
	}
	clients := make([]*crashClient, 8)
	for i := range clients {
		clients[i] = &crashClient{id: i}
	}
	acked := map[string]ackRecord{} // client_msg_id -> where it was acknowledged
	var mu sync.Mutex
	start := time.Now()
	for round := 0; round < rounds; round++ {
		addr, proc := startBinary(t, bin, dataDir, kb)
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for _, c := range clients {
			wg.Add(1)
			go func(c *crashClient) {
				defer wg.Done()
				c.drive(ctx, addr, round, func(id string, a ackRecord) {
					mu.Lock()
					acked[id] = a
					mu.Unlock()
				})
			}(c)
		}
		time.Sleep(time.Duration(50+rand.IntN(250)) * time.Millisecond)
		if err := proc.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatalf("round %d: kill: %v", round, err)
		}
		_ = proc.Wait()
		cancel()
		wg.Wait()
	}
	// The store after the last crash, opened as the server would open it.
	n := verifyAcked(t, dataDir, acked)
	t.Logf("%d rounds of SIGKILL in %v: %d acknowledged messages checked, all present once at their seq, every seq gapless", rounds, time.Since(start).Round(time.Second), n)
}

// startBinary runs `frontdesk serve` and returns its address once it serves.
func startBinary(t *testing.T, bin, dataDir, kb string) (string, *exec.Cmd) {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir, "--kb", kb,
		"--ws-message-rate", "0", "--new-sessions-per-ip", "-1", "--log-level", "info")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start server: %v", err)
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			if m := servingURL.FindStringSubmatch(sc.Text()); m != nil && !sent {
				found <- m[1]
				sent = true
			}
		}
		if !sent {
			close(found)
		}
	}()
	select {
	case addr, ok := <-found:
		if !ok {
			_ = cmd.Wait()
			t.Fatal("server exited before serving")
		}
		return addr, cmd
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("server not serving after 60s")
	}
	return "", nil
}

// drive starts or resumes the client's session and sends messages, several
// in flight, until the connection dies; report records each ack.
func (c *crashClient) drive(ctx context.Context, addr string, round int, report func(string, ackRecord)) {
	body, _ := json.Marshal(map[string]string{"site_key": demoSiteKey, "token": c.token})
	req, _ := http.NewRequestWithContext(ctx, "POST", "http://"+addr+"/api/v1/visitor/sessions", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return
	}
	var s struct {
		Token string `json:"token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&s)
	resp.Body.Close()
	if err != nil || s.Token == "" {
		return
	}
	c.token = s.Token
	ws, _, err := websocket.DefaultDialer.DialContext(ctx, "ws://"+addr+"/api/v1/visitor/ws?token="+s.Token, nil)
	if err != nil {
		return
	}
	defer ws.Close()
	go func() { <-ctx.Done(); ws.Close() }()
	inflight := make(chan struct{}, 4)
	go func() {
		for {
			_, b, err := ws.ReadMessage()
			if err != nil {
				return
			}
			var f struct {
				Type           string `json:"type"`
				ClientMsgID    string `json:"client_msg_id"`
				ConversationID string `json:"conversation_id"`
				Seq            int64  `json:"seq"`
			}
			if json.Unmarshal(b, &f) != nil {
				continue
			}
			if f.Type == "ack" {
				report(f.ClientMsgID, ackRecord{conv: f.ConversationID, seq: f.Seq})
			}
			if f.Type == "ack" || (f.Type == "error" && f.ClientMsgID != "") {
				select {
				case <-inflight:
				default:
				}
			}
		}
	}()
	for n := 0; ; n++ {
		select {
		case inflight <- struct{}{}:
		case <-ctx.Done():
			return
		}
		id := fmt.Sprintf("r%d-c%d-%d", round, c.id, n)
		if err := ws.WriteJSON(map[string]string{"type": "message", "client_msg_id": id, "text": "crash test message " + id}); err != nil {
			return
		}
	}
}

// verifyAcked opens the store and checks every acknowledged message and the
// seq of every conversation; it returns how many acks it checked.
func verifyAcked(t *testing.T, dataDir string, acked map[string]ackRecord) int {
	t.Helper()
	ctx := context.Background()
	key, err := seal.LoadOrCreateKeyFile(filepath.Join(dataDir, "keys", "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	ring, _ := seal.NewKeyring(key)
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(dataDir, "frontdesk.db"), ring, sqlstore.Options{})
	if err != nil {
		t.Fatalf("open the store after the crashes: %v", err)
	}
	defer st.Close()
	convs := map[string]bool{}
	for _, a := range acked {
		convs[a.conv] = true
	}
	stored := map[string][]int64{} // client_msg_id -> seqs where it is stored
	for conv := range convs {
		c, err := st.GetConversation(ctx, conv)
		if err != nil {
			t.Fatalf("acknowledged conversation %s: %v", conv, err)
		}
		want := int64(1)
		for after := int64(0); ; {
			msgs, err := st.ListMessages(ctx, conv, after, 1000)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range msgs {
				if m.Seq != want {
					t.Fatalf("conversation %s: seq %d follows %d (gap or duplicate)", conv, m.Seq, want-1)
				}
				want++
				if m.ClientMsgID != "" && strings.HasPrefix(m.ClientMsgID, "r") {
					stored[m.ClientMsgID] = append(stored[m.ClientMsgID], m.Seq)
				}
				after = m.Seq
			}
			if len(msgs) < 1000 {
				break
			}
		}
		if c.LastSeq != want-1 {
			t.Errorf("conversation %s: last_seq %d but messages end at %d", conv, c.LastSeq, want-1)
		}
	}
	lost := 0
	for id, a := range acked {
		seqs := stored[id]
		if len(seqs) != 1 || seqs[0] != a.seq {
			lost++
			if lost <= 10 {
				t.Errorf("acknowledged message %s (seq %d in %s) is stored at %v; want exactly once at its seq", id, a.seq, a.conv, seqs)
			}
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d acknowledged messages lost or duplicated", lost, len(acked))
	}
	if len(acked) == 0 {
		t.Error("no message was acknowledged in any round: the test checked nothing")
	}
	return len(acked)
}
