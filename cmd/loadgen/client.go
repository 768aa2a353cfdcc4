package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// inFrame holds the fields of server frames the scenarios look at.
type inFrame struct {
	Type           string `json:"type"`
	ClientMsgID    string `json:"client_msg_id"`
	ConversationID string `json:"conversation_id"`
	Seq            int64  `json:"seq"`
	Sender         string `json:"sender"`
	Status         string `json:"status"`
	Text           string `json:"text"`
	Code           string `json:"code"`
	Message        string `json:"message"`
	Conversation   *struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	} `json:"conversation"`
}

// outFrame is a client message frame.
type outFrame struct {
	Type           string `json:"type"`
	ClientMsgID    string `json:"client_msg_id,omitempty"`
	ConversationID string `json:"conversation_id,omitempty"`
	Text           string `json:"text,omitempty"`
}

// wsConn is one client WebSocket: writes are serialised, reads belong to
// one goroutine. Echo, visitors and agents all use it.
type wsConn struct {
	ws  *websocket.Conn
	wmu sync.Mutex
}

// dialer returns a WebSocket dialer with small buffers (thousands of
// connections share the load generator's memory).
func dialer(jar http.CookieJar) *websocket.Dialer {
	return &websocket.Dialer{HandshakeTimeout: 10 * time.Second, ReadBufferSize: 2048, WriteBufferSize: 1024, Jar: jar,
		NetDialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext}
}

func dialWS(ctx context.Context, d *websocket.Dialer, u string) (*wsConn, error) {
	ws, resp, err := d.DialContext(ctx, u, nil)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("loadgen: connect: %s: %w", resp.Status, err)
		}
		return nil, fmt.Errorf("loadgen: connect: %w", err)
	}
	return &wsConn{ws: ws}, nil
}

func (c *wsConn) writeRaw(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return c.ws.WriteMessage(websocket.TextMessage, b)
}

func (c *wsConn) writeFrame(f outFrame) error {
	b, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("loadgen: encode frame: %w", err)
	}
	return c.writeRaw(b)
}

// readFrame reads and decodes the next frame.
func (c *wsConn) readFrame() (inFrame, error) {
	_, b, err := c.ws.ReadMessage()
	if err != nil {
		return inFrame{}, err
	}
	var f inFrame
	if err := json.Unmarshal(b, &f); err != nil {
		return inFrame{}, fmt.Errorf("loadgen: bad frame %q: %w", b, err)
	}
	return f, nil
}

// close sends a close frame and closes the connection.
func (c *wsConn) close() {
	c.wmu.Lock()
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	c.wmu.Unlock()
	c.ws.Close()
}

// target is a running Frontdesk server.
type target struct {
	base *url.URL
	http *http.Client
}

func newTarget(server string) (*target, error) {
	u, err := url.Parse(server)
	if err != nil {
		return nil, fmt.Errorf("loadgen: server: %w", err)
	}
	tr := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: 30 * time.Second}
	return &target{base: u, http: &http.Client{Transport: tr, Timeout: 15 * time.Second}}, nil
}

type session struct {
	VisitorID  string `json:"visitor_id"`
	Token      string `json:"token"`
	SocketPath string `json:"socket_path"`
}

// newSession starts a new anonymous visitor of the demo site.
func (t *target) newSession(ctx context.Context) (session, error) {
	var s session
	code, body, err := t.do(ctx, t.http, http.MethodPost, "/api/v1/visitor/sessions?site_key=demo", "", map[string]string{"site_key": "demo"})
	if err != nil {
		return s, err
	}
	if code != http.StatusCreated {
		return s, fmt.Errorf("loadgen: session: status %d: %s", code, shortBody(body))
	}
	if err := json.Unmarshal(body, &s); err != nil || s.Token == "" {
		return s, fmt.Errorf("loadgen: session: unexpected answer %s", shortBody(body))
	}
	return s, nil
}

// visitorURL is the socket URL of a session.
func (t *target) visitorURL(s session) string {
	u := *t.base
	u.Scheme = "ws"
	u.Path = s.SocketPath
	u.RawQuery = url.Values{"token": {s.Token}}.Encode()
	return u.String()
}

// agentURL is the agent socket URL.
func (t *target) agentURL() string {
	u := *t.base
	u.Scheme = "ws"
	u.Path = "/api/v1/agent/ws"
	return u.String()
}

// do sends a JSON request and returns the status and body.
func (t *target) do(ctx context.Context, c *http.Client, method, path, csrf string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, fmt.Errorf("loadgen: encode: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, t.base.String()+path, rd)
	if err != nil {
		return 0, nil, fmt.Errorf("loadgen: %s %s: %w", method, path, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if csrf != "" {
		req.Header.Set("X-CSRF-Token", csrf)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("loadgen: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, b, err
}

// agentSession is a signed-in console user.
type agentSession struct {
	email string
	http  *http.Client
	jar   http.CookieJar
	csrf  string
}

// login signs in with e-mail and password.
func (t *target) login(ctx context.Context, email, password string) (*agentSession, error) {
	jar, _ := cookiejar.New(nil)
	a := &agentSession{email: email, jar: jar, http: &http.Client{Jar: jar, Transport: t.http.Transport, Timeout: 15 * time.Second}}
	code, body, err := t.do(ctx, a.http, http.MethodPost, "/api/v1/agent/login", "", map[string]string{"email": email, "password": password})
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("loadgen: login %s: status %d: %s", email, code, shortBody(body))
	}
	var out struct {
		CSRF string `json:"csrf_token"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.CSRF == "" {
		return nil, fmt.Errorf("loadgen: login %s: unexpected answer %s", email, shortBody(body))
	}
	a.csrf = out.CSRF
	return a, nil
}

// adminPassword reads a password from initial-admin.txt ("password: ...")
// or from a file holding only the password.
func adminPassword(b []byte) string {
	for _, line := range strings.Split(string(b), "\n") {
		if p, ok := strings.CutPrefix(strings.TrimSpace(line), "password:"); ok {
			return strings.TrimSpace(p)
		}
	}
	return strings.TrimSpace(string(b))
}

func shortBody(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "..."
	}
	return string(b)
}

// stamp and parseStamp carry a send time (Unix nanoseconds) in message
// texts and client ids, so the receiver measures latency from the intended
// send time even in an open loop.
func stamp(prefix string, t time.Time) string {
	return prefix + strconv.FormatInt(t.UnixNano(), 36)
}

func parseStamp(s, prefix string) (time.Time, bool) {
	rest, ok := strings.CutPrefix(s, prefix)
	if !ok {
		return time.Time{}, false
	}
	if i := strings.IndexAny(rest, " -"); i >= 0 {
		rest = rest[:i]
	}
	n, err := strconv.ParseInt(rest, 36, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(0, n), true
}
