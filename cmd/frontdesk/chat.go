package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// runChat is a terminal visitor: it opens a session, connects the WebSocket
// and either sends one message (--say) or reads lines from stdin.
func runChat(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return chatWithInput(ctx, args, nil, stdout, stderr)
}

type chatOptions struct {
	server, site, say, token string
	wait                     time.Duration
	jsonOut                  bool
	explain                  bool
	kb                       string
}

func chatWithInput(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("chat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o chatOptions
	fs.StringVar(&o.server, "server", "http://127.0.0.1:8080", "Frontdesk server URL")
	fs.StringVar(&o.site, "site", demoSiteKey, "site key")
	fs.StringVar(&o.say, "say", "", "send this one message, print the replies and exit")
	fs.StringVar(&o.token, "token", "", "visitor token from an earlier session (continues that visitor's conversation)")
	fs.DurationVar(&o.wait, "wait", 5*time.Second, "with --say: how long to wait for replies")
	fs.BoolVar(&o.jsonOut, "json", false, "print received frames as JSON lines")
	fs.BoolVar(&o.explain, "explain", false, "print each bot decision's reason and scores; runs the bot locally in-process (no server) on the built-in or FRONTDESK_* configured content, since the server never sends decisions to visitors")
	fs.StringVar(&o.kb, "kb", "", "with --explain: knowledge directory (default: $FRONTDESK_KB, else the built-in demo set)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q (quote the message and pass it with --say)", fs.Args())
	}
	if stdin == nil {
		stdin = osStdin()
	}
	if o.explain {
		if o.kb == "" {
			o.kb = os.Getenv(envPrefix + "KB")
		}
		return chatExplain(ctx, o.kb, o.say, stdin, stdout, stderr)
	}
	base, err := url.Parse(o.server)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return fmt.Errorf("--server %q: want a URL like http://127.0.0.1:8080", o.server)
	}
	dialCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	sess, err := openSession(dialCtx, base, o.site, o.token)
	if err != nil {
		return err
	}
	wsURL := *base
	wsURL.Scheme = map[string]string{"http": "ws", "https": "wss"}[base.Scheme]
	wsURL.Path = sess.SocketPath
	wsURL.RawQuery = url.Values{"token": {sess.Token}}.Encode()
	conn, resp, err := websocket.DefaultDialer.DialContext(dialCtx, wsURL.String(), nil)
	if err != nil {
		if resp != nil {
			return fmt.Errorf("connect %s: %s", wsURL.Redacted(), resp.Status)
		}
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()
	if !o.jsonOut {
		fmt.Fprintf(stderr, "connected to %s as visitor %s\n", sess.Site.Name, sess.VisitorID)
	}

	p := &framePrinter{w: stdout, json: o.jsonOut}
	frames := make(chan map[string]any, 64)
	readErr := make(chan error, 1)
	go func() {
		defer close(frames)
		for {
			_, b, err := conn.ReadMessage()
			if err != nil {
				readErr <- err
				return
			}
			var f map[string]any
			if json.Unmarshal(b, &f) == nil {
				p.print(b, f)
				frames <- f
			}
		}
	}()
	var writeMu sync.Mutex
	send := func(text string) error {
		writeMu.Lock()
		defer writeMu.Unlock()
		return conn.WriteJSON(map[string]string{"type": "message", "client_msg_id": newClientID(), "text": text})
	}

	if o.say != "" {
		if err := send(o.say); err != nil {
			return fmt.Errorf("send: %w", err)
		}
		return awaitReplies(ctx, frames, readErr, o.wait)
	}

	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdin)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-readErr:
			return fmt.Errorf("connection closed: %w", err)
		case <-frames:
		case line, ok := <-lines:
			if !ok {
				time.Sleep(500 * time.Millisecond) // let the last replies arrive
				return nil
			}
			if strings.TrimSpace(line) == "" {
				continue
			}
			if err := send(line); err != nil {
				return fmt.Errorf("send: %w", err)
			}
		}
	}
}

// awaitReplies waits for the ack and the first reply, then for a short quiet
// period, or at most wait.
func awaitReplies(ctx context.Context, frames <-chan map[string]any, readErr <-chan error, wait time.Duration) error {
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	var quiet <-chan time.Time
	acked, replied := false, false
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-deadline.C:
			if !acked {
				return errors.New("no ack from the server within --wait")
			}
			return nil
		case <-quiet:
			return nil
		case err := <-readErr:
			return fmt.Errorf("connection closed: %w", err)
		case f, ok := <-frames:
			if !ok {
				return nil
			}
			switch f["type"] {
			case "ack":
				acked = true
				if replied { // the reply can overtake the ack
					quiet = time.After(700 * time.Millisecond)
				}
			case "error":
				return fmt.Errorf("server error %v: %v", f["code"], f["message"])
			case "message":
				if f["sender"] != "visitor" {
					replied = true
					if acked {
						quiet = time.After(700 * time.Millisecond)
					}
				}
			}
		}
	}
}

type framePrinter struct {
	mu   sync.Mutex
	w    io.Writer
	json bool
}

func (p *framePrinter) print(raw []byte, f map[string]any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.json {
		p.w.Write(append(bytes.TrimSpace(raw), '\n'))
		return
	}
	switch f["type"] {
	case "message":
		if f["sender"] == "visitor" {
			return
		}
		fmt.Fprintf(p.w, "%v: %v\n", f["sender"], f["text"])
		if qr, ok := f["quick_replies"].([]any); ok && len(qr) > 0 {
			opts := make([]string, len(qr))
			for i, q := range qr {
				opts[i] = fmt.Sprint(q)
			}
			fmt.Fprintf(p.w, "   [%s]\n", strings.Join(opts, "] ["))
		}
	case "error":
		fmt.Fprintf(p.w, "error %v: %v\n", f["code"], f["message"])
	}
}

type sessionInfo struct {
	VisitorID  string `json:"visitor_id"`
	Token      string `json:"token"`
	SocketPath string `json:"socket_path"`
	Site       struct {
		Name string `json:"name"`
	} `json:"site"`
}

func openSession(ctx context.Context, base *url.URL, site, token string) (sessionInfo, error) {
	body, _ := json.Marshal(map[string]string{"site_key": site, "token": token})
	u := base.JoinPath("/api/v1/visitor/sessions")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return sessionInfo{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return sessionInfo{}, fmt.Errorf("session: %w (is the server running? start it with: frontdesk serve)", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusCreated {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		_ = json.Unmarshal(b, &e)
		return sessionInfo{}, fmt.Errorf("session: %s: %s %s", resp.Status, e.Error.Code, e.Error.Message)
	}
	var s sessionInfo
	if err := json.Unmarshal(b, &s); err != nil || s.Token == "" {
		return sessionInfo{}, fmt.Errorf("session: unexpected answer %q", b)
	}
	return s, nil
}

func newClientID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "cli-" + hex.EncodeToString(b[:])
}
