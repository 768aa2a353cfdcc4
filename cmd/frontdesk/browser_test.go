package main

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browser starts headless Chromium for a test. Without Chromium the test is
// skipped locally and fails under CI=true, where .ci/run installs it.
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if path, err = exec.LookPath("chromium-browser"); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatal("chromium is not installed (apt-get install -y chromium fonts-wqy-microhei)")
			}
			t.Skip("chromium is not installed")
		}
	}
	// Chromium's helpers may still write to the profile for a moment after
	// the browser exits, so the profile is removed best-effort, not by t.TempDir.
	profile, err := os.MkdirTemp("", "frontdesk-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(profile),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
		chromedp.WindowSize(1280, 900),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 120*time.Second)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
		for i := 0; i < 20; i++ {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	return ctx
}

const shadow = `document.querySelector('#frontdesk-widget').shadowRoot`

// TestWidgetInBrowser loads the demo page in Chromium, opens the widget,
// asks a question with the keyboard and waits for the bot's reply on screen.
func TestWidgetInBrowser(t *testing.T) {
	ts := startServer(t)
	ctx := browser(t)
	var launcher string
	if err := chromedp.Run(ctx,
		chromedp.Navigate(ts.url+"/"),
		chromedp.Poll(shadow+`.querySelector('.launcher') !== null`, nil, chromedp.WithPollingTimeout(15*time.Second)),
		chromedp.Evaluate(shadow+`.querySelector('.launcher').textContent`, &launcher),
	); err != nil {
		t.Fatalf("load demo page: %v", err)
	}
	var renderedAt float64
	_ = chromedp.Run(ctx, chromedp.Evaluate(`window.Frontdesk.renderedAt`, &renderedAt))
	t.Logf("widget launcher rendered %.0f ms after navigation start", renderedAt)
	if launcher != "Chat with us" {
		t.Errorf("launcher text = %q, want %q", launcher, "Chat with us")
	}
	ask := func(question string) string {
		var before int
		if err := chromedp.Run(ctx,
			chromedp.Evaluate(shadow+`.querySelectorAll('.msg.bot[data-seq]').length`, &before),
			chromedp.Evaluate(shadow+`.querySelector('.input').focus()`, nil),
			chromedp.KeyEvent(question),
			chromedp.KeyEvent("\r"),
		); err != nil {
			t.Fatalf("type %q: %v", question, err)
		}
		var reply string
		if err := chromedp.Run(ctx,
			chromedp.Poll(shadow+`.querySelectorAll('.msg.bot[data-seq]').length > `+itoa(before), nil, chromedp.WithPollingTimeout(15*time.Second)),
			chromedp.Evaluate(`Array.from(`+shadow+`.querySelectorAll('.msg.bot[data-seq]')).pop().textContent`, &reply),
		); err != nil {
			t.Fatalf("no bot reply to %q on screen: %v", question, err)
		}
		return reply
	}
	if err := chromedp.Run(ctx, chromedp.Evaluate(shadow+`.querySelector('.launcher').click()`, nil)); err != nil {
		t.Fatal(err)
	}
	reply := ask("How long does shipping take?")
	if !strings.Contains(strings.ToLower(reply), "ship") {
		t.Errorf("bot reply to a shipping question = %q; want the shipping answer", reply)
	}
	// The visitor's own message is shown and confirmed (acked, has a seq).
	var visitorMsgs int
	if err := chromedp.Run(ctx, chromedp.Evaluate(shadow+`.querySelectorAll('.msg.visitor[data-seq]:not(.pending)').length`, &visitorMsgs)); err != nil {
		t.Fatal(err)
	}
	if visitorMsgs != 1 {
		t.Errorf("%d confirmed visitor messages on screen, want 1", visitorMsgs)
	}
	if r := ask("你好"); r == "" {
		t.Error("empty reply to a Chinese greeting")
	}

	var shot []byte
	if err := chromedp.Run(ctx, chromedp.FullScreenshot(&shot, 100)); err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 800 || b.Dy() < 600 {
		t.Errorf("screenshot is %v, want at least 800x600", b)
	}
	if dir := os.Getenv("FRONTDESK_SCREENSHOT_DIR"); dir != "" {
		_ = os.WriteFile(filepath.Join(dir, "widget.png"), shot, 0o644)
	}

	// Reload the page: the conversation continues with its history.
	var history int
	if err := chromedp.Run(ctx,
		chromedp.Reload(),
		chromedp.Poll(shadow+` && `+shadow+`.querySelectorAll('.msg.bot[data-seq]').length >= 2`, nil, chromedp.WithPollingTimeout(15*time.Second)),
		chromedp.Evaluate(shadow+`.querySelectorAll('.msg[data-seq]').length`, &history),
	); err != nil {
		t.Fatalf("history after reload: %v", err)
	}
	if history != 4 {
		t.Errorf("after reload %d messages are shown, want the 4 of the conversation", history)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
