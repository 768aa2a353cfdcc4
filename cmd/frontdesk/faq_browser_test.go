package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestCreateFAQEntryInBrowser: an admin opens a knowledge gap's "Create FAQ
// entry" form (labelled in the console's language), writes a multi-line
// answer, picks a team and creates the entry; the file in the knowledge
// directory has the gap's question and the answer's line breaks.
func TestCreateFAQEntryInBrowser(t *testing.T) {
	kb := t.TempDir()
	ts := startServer(t, "--kb", kb)
	email, password, _, _ := adminLogin(t, ts)
	tests := []struct {
		lang, question, answerLabel, answer string
	}{
		{"en", "blorp zyxx frobnicate", "Answer for the new FAQ entry", "First line.\nSecond line."},
		{"zh-CN", "qwop flurb snazzle", "新问答的答案", "第一行。\n第二行。"},
	}
	for _, tt := range tests {
		var out, errOut strings.Builder
		if code := run(t.Context(), []string{"chat", "--server", ts.url, "--say", tt.question}, &out, &errOut); code != 0 {
			t.Fatalf("chat %q: %s", tt.question, errOut.String())
		}
	}
	ctx := browser(t)
	wait := chromedp.WithPollingTimeout(20 * time.Second)
	if err := chromedp.Run(ctx,
		chromedp.Navigate(ts.url+"/console/"),
		chromedp.WaitVisible(`input[name=email]`, chromedp.ByQuery),
		chromedp.SendKeys(`input[name=email]`, email, chromedp.ByQuery),
		chromedp.SendKeys(`input[name=password]`, password, chromedp.ByQuery),
		chromedp.Click(`form.login button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`button[data-tab=dashboard]`, chromedp.ByQuery),
	); err != nil {
		t.Fatalf("sign in: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.lang, func(t *testing.T) {
			var label string
			var clicked bool
			openForm := `(function () {
				var rows = document.querySelectorAll('.gaps .gap');
				for (var i = 0; i < rows.length; i++) {
					if (rows[i].querySelector('.gap-q').textContent === ` + jsString(tt.question) + `) { rows[i].querySelector('.create-faq').click(); return true; }
				}
				return false;
			})()`
			if err := chromedp.Run(ctx,
				chromedp.Evaluate(`localStorage.setItem('fd-console-lang', `+jsString(tt.lang)+`)`, nil),
				chromedp.Reload(),
				chromedp.WaitVisible(`button[data-tab=dashboard]`, chromedp.ByQuery),
				chromedp.Click(`button[data-tab=dashboard]`, chromedp.ByQuery),
				chromedp.Poll(`Array.from(document.querySelectorAll('.gaps .gap-q')).some(function (q) { return q.textContent === `+jsString(tt.question)+`; })`, nil, wait),
				chromedp.Evaluate(openForm, &clicked),
			); err != nil || !clicked {
				t.Fatalf("open the form for %q: clicked %v, %v", tt.question, clicked, err)
			}
			if err := chromedp.Run(ctx,
				chromedp.WaitVisible(`.faq-form textarea[name=answer]`, chromedp.ByQuery),
				chromedp.Evaluate(`document.querySelector('.faq-form textarea[name=answer]').parentNode.firstChild.textContent`, &label),
				chromedp.SendKeys(`.faq-form textarea[name=answer]`, tt.answer, chromedp.ByQuery),
				chromedp.SetValue(`.faq-form select[name=skill]`, "order_support", chromedp.ByQuery),
				chromedp.ActionFunc(func(ctx context.Context) error {
					if d := os.Getenv("FRONTDESK_SCREENSHOT_DIR"); d != "" {
						var png []byte
						if err := chromedp.FullScreenshot(&png, 100).Do(ctx); err != nil {
							return err
						}
						return os.WriteFile(filepath.Join(d, "faq-form-"+tt.lang+".png"), png, 0o644)
					}
					return nil
				}),
				chromedp.Click(`.faq-form button[type=submit]`, chromedp.ByQuery),
				chromedp.WaitVisible(`.faq-created`, chromedp.ByQuery),
			); err != nil {
				t.Fatalf("fill and submit the form: %v", err)
			}
			if label != tt.answerLabel {
				t.Errorf("answer label = %q, want %q", label, tt.answerLabel)
			}
			file := entryFileWith(t, kb, tt.question)
			b, _ := os.ReadFile(file)
			if !strings.Contains(string(b), tt.answer+"\n") || !strings.Contains(string(b), "skill: order_support") {
				t.Errorf("%s = %q, want the answer %q with its line break and skill order_support", file, b, tt.answer)
			}
		})
	}
}

// jsString quotes s as a JavaScript string literal (no quotes or backslashes in the tests' texts).
func jsString(s string) string { return "'" + s + "'" }

// entryFileWith returns the Markdown file in dir that mentions text.
func entryFileWith(t *testing.T, dir, text string) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.md"))
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil && strings.Contains(string(b), text) {
			return f
		}
	}
	t.Fatalf("no file in %s mentions %q (files: %v)", dir, text, files)
	return ""
}
