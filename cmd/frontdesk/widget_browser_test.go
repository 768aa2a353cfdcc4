package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// lastBotText waits for a new bot message after `before` and returns its text.
func visitorAsk(t *testing.T, ctx context.Context, text string) string {
	t.Helper()
	var before int
	var reply string
	err := chromedp.Run(ctx,
		chromedp.Evaluate(shadow+`.querySelectorAll('.msg.bot[data-seq]').length`, &before),
		chromedp.Evaluate(shadow+`.querySelector('.input').focus()`, nil),
		chromedp.KeyEvent(text),
		chromedp.KeyEvent("\r"),
		chromedp.Poll(fmt.Sprintf(`%s.querySelectorAll('.msg.bot[data-seq]').length > %d`, shadow, before), nil, chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.Evaluate(`Array.from(`+shadow+`.querySelectorAll('.msg.bot[data-seq]')).pop().textContent`, &reply),
	)
	if err != nil {
		t.Fatalf("ask %q: %v", text, err)
	}
	return reply
}

func openWidget(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	if err := chromedp.Run(ctx,
		chromedp.Navigate(url),
		chromedp.Poll(shadow+`.querySelector('.launcher') !== null`, nil, chromedp.WithPollingTimeout(15*time.Second)),
		chromedp.Evaluate(`window.Frontdesk.open()`, nil),
	); err != nil {
		t.Fatalf("open widget on %s: %v", url, err)
	}
}

// visitorSeqs returns the seqs of all messages on screen, in order.
func visitorSeqs(t *testing.T, ctx context.Context) []int {
	t.Helper()
	var seqs []int
	if err := chromedp.Run(ctx, chromedp.Evaluate(`Array.from(`+shadow+`.querySelectorAll('.msg[data-seq]')).map(m => +m.getAttribute('data-seq'))`, &seqs)); err != nil {
		t.Fatal(err)
	}
	return seqs
}

// cutProxy is a TCP proxy in front of the server whose "network" a test
// can cut (closing every connection and refusing new ones) and restore.
type cutProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  map[net.Conn]bool
	down   bool
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	t.Cleanup(func() { ln.Close(); p.cut() })
	return p
}

func (p *cutProxy) serve(c net.Conn) {
	p.mu.Lock()
	if p.down {
		p.mu.Unlock()
		c.Close()
		return
	}
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		p.mu.Unlock()
		c.Close()
		return
	}
	p.conns[c], p.conns[up] = true, true
	p.mu.Unlock()
	go func() { _, _ = io.Copy(up, c); up.Close() }()
	_, _ = io.Copy(c, up)
	c.Close()
}

func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]bool{}
}

func (p *cutProxy) restore() {
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
}

func TestWidgetQuickReplyAndNetworkCut(t *testing.T) {
	ts := startServer(t)
	proxy := newCutProxy(t, strings.TrimPrefix(ts.url, "http://"))
	ctx := browser(t)
	openWidget(t, ctx, "http://"+proxy.ln.Addr().String()+"/")
	// An ambiguous question gets a clarify turn with quick replies; clicking
	// one sends its text and gets the answer.
	visitorAsk(t, ctx, "优惠券")
	var label string
	var options int
	if err := chromedp.Run(ctx,
		chromedp.Poll(shadow+`.querySelectorAll('.qr').length >= 2`, nil, chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.Evaluate(shadow+`.querySelectorAll('.qr').length`, &options),
		chromedp.Evaluate(shadow+`.querySelector('.qr').textContent`, &label),
	); err != nil {
		t.Fatalf("no quick replies after an ambiguous question: %v", err)
	}
	var botsBefore int
	_ = chromedp.Run(ctx, chromedp.Evaluate(shadow+`.querySelectorAll('.msg.bot[data-seq]').length`, &botsBefore))
	if err := chromedp.Run(ctx,
		chromedp.Evaluate(shadow+`.querySelector('.qr').click()`, nil),
		chromedp.Poll(`Array.from(`+shadow+`.querySelectorAll('.msg.visitor[data-seq]')).some(m => m.textContent === `+fmt.Sprintf("%q", label)+`)`, nil, chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.Poll(fmt.Sprintf(`%s.querySelectorAll('.msg.bot[data-seq]').length > %d`, shadow, botsBefore), nil, chromedp.WithPollingTimeout(10*time.Second)),
	); err != nil {
		t.Fatalf("quick reply %q: %v", label, err)
	}
	var answered int
	_ = chromedp.Run(ctx, chromedp.Evaluate(shadow+`.querySelectorAll('.qr').length`, &answered))
	if answered != 0 {
		t.Errorf("after choosing %q the bot asked again (%d quick replies on screen); want the answer", label, answered)
	}

	// Cut the network, type two messages, restore it: both arrive once, in order.
	before := visitorSeqs(t, ctx)
	proxy.cut()
	if err := chromedp.Run(ctx,
		chromedp.Poll(shadow+`.querySelector('.status.show') !== null`, nil, chromedp.WithPollingTimeout(15*time.Second)),
		chromedp.Evaluate(shadow+`.querySelector('.input').focus()`, nil),
		chromedp.KeyEvent("first while offline"), chromedp.KeyEvent("\r"),
		chromedp.KeyEvent("second while offline"), chromedp.KeyEvent("\r"),
	); err != nil {
		t.Fatalf("offline typing: %v", err)
	}
	time.Sleep(500 * time.Millisecond)
	proxy.restore()
	if err := chromedp.Run(ctx,
		chromedp.Poll(shadow+`.querySelectorAll('.msg.visitor.pending').length === 0 && `+shadow+`.querySelectorAll('.msg.visitor[data-seq]').length >= 3`, nil, chromedp.WithPollingTimeout(40*time.Second)),
	); err != nil {
		t.Fatalf("messages typed offline were not delivered after the network came back: %v", err)
	}
	after := visitorSeqs(t, ctx)
	for i := 1; i < len(after); i++ {
		if after[i] <= after[i-1] {
			t.Fatalf("messages on screen out of order or doubled: seqs %v", after)
		}
	}
	if len(after) < len(before)+2 {
		t.Errorf("seqs before %v, after %v: want the two offline messages added", before, after)
	}
	var texts []string
	_ = chromedp.Run(ctx, chromedp.Evaluate(`Array.from(`+shadow+`.querySelectorAll('.msg.visitor')).map(m => m.textContent)`, &texts))
	count := map[string]int{}
	for _, s := range texts {
		count[s]++
	}
	if count["first while offline"] != 1 || count["second while offline"] != 1 {
		t.Errorf("visitor messages on screen = %v; want each offline message exactly once", texts)
	}
}

func TestWidgetProactiveInvitation(t *testing.T) {
	ts := startServer(t)
	_, _, client, csrf := adminLogin(t, ts)
	settings := map[string]any{"widget": map[string]any{"invitations": []any{map[string]any{
		"id": "welcome", "when": map[string]any{"seconds_on_page": 2, "url_pattern": "/"},
		"message": map[string]any{"en": "Hi! Here is **10% off** your first order.", "zh": "您好！首单立减 10%。"},
		"coupon":  map[string]any{"code": "WELCOME10", "title": "10% off"}, "max_per_day": 1,
	}}}}
	if code, out := apiCall(t, client, csrf, "PUT", ts.url+"/api/v1/admin/sites/demo/settings", settings); code != 200 {
		t.Fatalf("set invitations = %d %v", code, out)
	}
	if code, out := apiCall(t, client, csrf, "PUT", ts.url+"/api/v1/admin/sites/demo/settings", map[string]any{"widget": map[string]any{"invitations": []any{map[string]any{"id": "x"}}}}); code != 400 {
		t.Errorf("invalid invitation accepted: %d %v", code, out)
	}
	ctx := browser(t)
	start := time.Now()
	var code string
	if err := chromedp.Run(ctx,
		chromedp.Navigate(ts.url+"/"),
		chromedp.Poll(shadow+` && `+shadow+`.querySelector('.panel.open .invitation') !== null`, nil, chromedp.WithPollingTimeout(15*time.Second)),
		chromedp.Evaluate(shadow+`.querySelector('.coupon .code').textContent`, &code),
	); err != nil {
		t.Fatalf("invitation did not open the widget: %v", err)
	}
	if waited := time.Since(start); waited < 2*time.Second {
		t.Errorf("invitation fired after %v, before its 2 s rule", waited)
	}
	if code != "WELCOME10" {
		t.Errorf("coupon code = %q", code)
	}
	if err := chromedp.Run(ctx, chromedp.Evaluate(shadow+`.querySelector('.coupon button').click()`, nil)); err != nil {
		t.Fatal(err)
	}
	// Shown and clicked are recorded (the widget connects when it opens).
	deadline := time.Now().Add(10 * time.Second)
	for {
		counts := eventCounts(t, ts)
		if counts["invitation_shown"] == 1 && counts["invitation_clicked"] == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("recorded events = %v; want one shown and one clicked", counts)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Capped per day: a reload does not show it again.
	if err := chromedp.Run(ctx, chromedp.Reload(), chromedp.Sleep(3500*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	var again int
	_ = chromedp.Run(ctx, chromedp.Evaluate(shadow+`.querySelectorAll('.invitation').length`, &again))
	if again != 0 {
		t.Errorf("invitation shown again after a reload (max_per_day 1)")
	}
}

func eventCounts(t *testing.T, ts *testServer) map[string]int {
	t.Helper()
	cfg, _, err := parseServerConfig("serve", []string{"--data-dir", ts.dataDir}, nopWriter{})
	if err != nil {
		t.Fatal(err)
	}
	store, err := openStore(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	site, err := store.SiteByKey(context.Background(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	counts, err := store.CountEvents(context.Background(), site.ID, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return counts
}

type nopWriter struct{}

func (nopWriter) Write(p []byte) (int, error) { return len(p), nil }

// TestWidgetOnHostilePageAndXSS: a page whose CSS resets everything still
// shows a working widget, and HTML or javascript: links in messages never run.
func TestWidgetOnHostilePageAndXSS(t *testing.T) {
	hostile := httptest.NewUnstartedServer(nil)
	hostileURL := "http://" + hostile.Listener.Addr().String()
	ts := startServer(t, "--allowed-origins", hostileURL)
	hostile.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><title>Hostile shop</title>
<style>* { all: unset !important; } div { display: none !important; } button { display: none; }</style></head>
<body><div><h1>Hostile shop</h1></div>
<script src="%s/widget.js" data-site-key="demo" async></script></body></html>`, ts.url)
	})
	hostile.Start()
	defer hostile.Close()

	ctx := browser(t)
	openWidget(t, ctx, hostileURL+"/")
	var visible bool
	if err := chromedp.Run(ctx, chromedp.Evaluate(`(() => { const r = `+shadow+`.querySelector('.panel').getBoundingClientRect(); return r.width > 200 && r.height > 200; })()`, &visible)); err != nil {
		t.Fatal(err)
	}
	if !visible {
		t.Fatal("the widget panel is not visible on a page with hostile CSS")
	}
	if reply := visitorAsk(t, ctx, "How long does shipping take?"); !strings.Contains(strings.ToLower(reply), "ship") {
		t.Errorf("bot reply on the hostile page = %q", reply)
	}
	shotDir := t.TempDir()
	if dir := os.Getenv("FRONTDESK_SCREENSHOT_DIR"); dir != "" {
		shotDir = dir
	}
	var png []byte
	_ = chromedp.Run(ctx, chromedp.FullScreenshot(&png, 100))
	_ = os.WriteFile(filepath.Join(shotDir, "widget-hostile.png"), png, 0o644)

	// XSS attempts: from the visitor (echoed back) and from an agent (rendered as Markdown).
	visitorAsk(t, ctx, `<img src=x onerror="window.__xss=1">`)
	_, _, client, csrf := adminLogin(t, ts)
	// Hand off and let the admin answer with hostile content.
	visitorAsk(t, ctx, "转人工")
	var convID string
	deadline := time.Now().Add(10 * time.Second)
	for convID == "" && time.Now().Before(deadline) {
		_, out := apiCall(t, client, "", "GET", ts.url+"/api/v1/agent/queues", nil)
		for _, q := range out["queues"].([]any) {
			for _, e := range q.(map[string]any)["entries"].([]any) {
				convID = e.(map[string]any)["conversation_id"].(string)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code, out := apiCall(t, client, csrf, "POST", ts.url+"/api/v1/agent/conversations/"+convID+"/accept", nil); code != 200 {
		t.Fatalf("accept = %d %v", code, out)
	}
	evil := "<img src=x onerror=\"window.__xss=2\"> [click me](javascript:window.__xss=3) <script>window.__xss=4</script> **bold**"
	if code, out := apiCall(t, client, csrf, "POST", ts.url+"/api/v1/agent/conversations/"+convID+"/messages", map[string]any{"client_msg_id": "evil-1", "text": evil}); code != 201 {
		t.Fatalf("agent message = %d %v", code, out)
	}
	var xss any
	var imgs, scripts, jsLinks, bold int
	if err := chromedp.Run(ctx,
		chromedp.Poll(shadow+`.querySelector('.msg.agent') !== null`, nil, chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.Sleep(300*time.Millisecond),
		chromedp.Evaluate(`window.__xss === undefined ? null : window.__xss`, &xss),
		chromedp.Evaluate(shadow+`.querySelectorAll('img').length`, &imgs),
		chromedp.Evaluate(shadow+`.querySelectorAll('script').length`, &scripts),
		chromedp.Evaluate(shadow+`.querySelectorAll('a[href^="javascript"]').length`, &jsLinks),
		chromedp.Evaluate(shadow+`.querySelectorAll('.msg.agent strong').length`, &bold),
	); err != nil {
		t.Fatal(err)
	}
	if xss != nil || imgs != 0 || scripts != 0 || jsLinks != 0 {
		t.Errorf("hostile content executed or became markup: __xss=%v, img=%d, script=%d, javascript: links=%d", xss, imgs, scripts, jsLinks)
	}
	if bold != 1 {
		t.Errorf("safe Markdown (**bold**) not rendered: %d <strong>", bold)
	}
	var agentText string
	_ = chromedp.Run(ctx, chromedp.Evaluate(shadow+`.querySelector('.msg.agent').textContent`, &agentText))
	if !strings.Contains(agentText, "<img src=x") || !strings.Contains(agentText, "javascript:window.__xss=3") {
		t.Errorf("hostile text not shown as text: %q", agentText)
	}
}

// TestWidgetPhoneLayout renders the widget 360 px wide and checks it fills
// the screen without horizontal overflow; the screenshot goes to docs/.
func TestWidgetPhoneLayout(t *testing.T) {
	ts := startServer(t)
	ctx := browser(t)
	if err := chromedp.Run(ctx, chromedp.EmulateViewport(360, 740, chromedp.EmulateMobile, chromedp.EmulateScale(2))); err != nil {
		t.Fatal(err)
	}
	openWidget(t, ctx, ts.url+"/")
	visitorAsk(t, ctx, "怎么退货？")
	var width, scrollWidth float64
	if err := chromedp.Run(ctx,
		chromedp.Evaluate(shadow+`.querySelector('.panel').getBoundingClientRect().width`, &width),
		chromedp.Evaluate(shadow+`.querySelector('.log').scrollWidth - `+shadow+`.querySelector('.log').clientWidth`, &scrollWidth),
	); err != nil {
		t.Fatal(err)
	}
	if width != 360 || scrollWidth > 0 {
		t.Errorf("on a 360 px screen the panel is %v px wide with %v px horizontal overflow; want 360 and 0", width, scrollWidth)
	}
	// Keyboard only: Escape closes, focus returns to the launcher.
	var focused string
	if err := chromedp.Run(ctx,
		chromedp.KeyEvent("\x1b"),
		chromedp.Evaluate(shadow+`.activeElement ? `+shadow+`.activeElement.className : ''`, &focused),
	); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(focused, "launcher") {
		t.Errorf("after Escape focus is on %q, want the launcher", focused)
	}
	_ = chromedp.Run(ctx, chromedp.Evaluate(`window.Frontdesk.open()`, nil), chromedp.Sleep(200*time.Millisecond))
	var png []byte
	if err := chromedp.Run(ctx, chromedp.CaptureScreenshot(&png)); err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv("FRONTDESK_SCREENSHOT_DIR"); dir != "" {
		_ = os.WriteFile(filepath.Join(dir, "widget-360.png"), png, 0o644)
	}
}
