package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestDashboardInBrowser: after a few conversations, an admin opens the
// console's dashboard and finds the KPI tiles and the charts drawn.
func TestDashboardInBrowser(t *testing.T) {
	ts := startServer(t)
	email, password, client, csrf := adminLogin(t, ts)
	for _, q := range []string{"How long does shipping take?", "blorp zyxx frobnicate", "怎么退货？"} {
		var out, errOut strings.Builder
		if code := run(t.Context(), []string{"chat", "--server", ts.url, "--say", q}, &out, &errOut); code != 0 {
			t.Fatalf("chat %q: %s", q, errOut.String())
		}
	}
	_, _ = client, csrf
	ctx := browser(t)
	wait := chromedp.WithPollingTimeout(20 * time.Second)
	var conversations string
	var bars, gaps int
	var resolved, smtpWarning string
	if err := chromedp.Run(ctx,
		chromedp.Navigate(ts.url+"/console/"),
		chromedp.WaitVisible(`input[name=email]`, chromedp.ByQuery),
		chromedp.SendKeys(`input[name=email]`, email, chromedp.ByQuery),
		chromedp.SendKeys(`input[name=password]`, password, chromedp.ByQuery),
		chromedp.Click(`form.login button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`button[data-tab=dashboard]`, chromedp.ByQuery),
		chromedp.Click(`button[data-tab=dashboard]`, chromedp.ByQuery),
		chromedp.Poll(`document.querySelectorAll('.chart svg rect.bar').length > 0`, nil, wait),
		chromedp.Text(`.kpi .kpi-value`, &conversations, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll('.chart svg rect.bar').length`, &bars),
		chromedp.Evaluate(`document.querySelectorAll('.gaps .gap').length`, &gaps),
		chromedp.Evaluate(`(Array.from(document.querySelectorAll('.kpi')).find(k => k.textContent.startsWith('Bot resolution')) || {textContent: ''}).textContent`, &resolved),
		chromedp.Evaluate(`(document.querySelector('.warn.no-smtp') || {textContent: ''}).textContent`, &smtpWarning),
	); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	if conversations != "3" {
		t.Errorf("conversations tile = %q, want 3", conversations)
	}
	if bars < 7+5 { // 7 days of volume + 5 rating rows at least
		t.Errorf("%d bars drawn, want at least 12", bars)
	}
	// Two of the three questions were answered; the nonsense one was not.
	if resolved != "Bot resolution67%" {
		t.Errorf("bot resolution tile = %q, want 67%%", resolved)
	}
	// This server has no SMTP server: the admin is told, with the count.
	if !strings.Contains(smtpWarning, "--smtp-addr") || !strings.HasSuffix(smtpWarning, ": 0") {
		t.Errorf("SMTP warning = %q, want the flag and the waiting count", smtpWarning)
	}
	if gaps != 1 {
		t.Errorf("%d knowledge gaps listed, want 1 (the nonsense question)", gaps)
	}
	var png []byte
	if err := chromedp.Run(ctx, chromedp.FullScreenshot(&png, 100)); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if d := os.Getenv("FRONTDESK_SCREENSHOT_DIR"); d != "" {
		dir = d
	}
	_ = os.WriteFile(filepath.Join(dir, "dashboard.png"), png, 0o644)
}
