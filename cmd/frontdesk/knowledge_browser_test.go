package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestEditFAQEntryInBrowser: an admin opens the console's Knowledge tab,
// sees the file that does not parse in the problems list, finds an entry by
// searching, changes its answer and saves; "Try a question" and a visitor
// asking the bot then get the new answer.
func TestEditFAQEntryInBrowser(t *testing.T) {
	kb := t.TempDir()
	const question = "Can I pay with seashells?"
	files := map[string]string{
		"seashells.md": "---\nid: seashells\nquestions:\n  - " + question + "\n  - Do you take shells as payment?\n---\nNo, we only take cards.\n",
		"broken.md":    "questions: no front matter here\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(kb, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ts := startServer(t, "--kb", kb)
	email, password, _, _ := adminLogin(t, ts)
	const newAnswer = "Yes: seashells are accepted in the Pluto store."
	ctx := browser(t)
	wait := chromedp.WithPollingTimeout(20 * time.Second)
	var problem, file, verdict, tried string
	if err := chromedp.Run(ctx,
		chromedp.Navigate(ts.url+"/console/"),
		chromedp.Evaluate(`localStorage.setItem('fd-console-lang', 'en')`, nil),
		chromedp.Reload(),
		chromedp.WaitVisible(`input[name=email]`, chromedp.ByQuery),
		chromedp.SendKeys(`input[name=email]`, email, chromedp.ByQuery),
		chromedp.SendKeys(`input[name=password]`, password, chromedp.ByQuery),
		chromedp.Click(`form.login button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`button[data-tab=knowledge]`, chromedp.ByQuery),
		chromedp.Click(`button[data-tab=knowledge]`, chromedp.ByQuery),
		chromedp.WaitVisible(`.kb-problems .kb-problem`, chromedp.ByQuery),
		chromedp.Text(`.kb-problems .kb-problem`, &problem, chromedp.ByQuery),
		chromedp.SendKeys(`input[name=kb-q]`, "SEASHELL", chromedp.ByQuery),
		chromedp.Poll(`document.querySelectorAll('.kb-entry').length === 1 && document.querySelector('.kb-entry').getAttribute('data-id') === 'seashells'`, nil, wait),
		chromedp.Click(`.kb-entry[data-id=seashells]`, chromedp.ByQuery),
		chromedp.WaitVisible(`.kb-form textarea[name=answer]`, chromedp.ByQuery),
		chromedp.Text(`.kb-form .kb-file`, &file, chromedp.ByQuery),
		chromedp.SetValue(`.kb-form textarea[name=answer]`, newAnswer, chromedp.ByQuery),
		chromedp.Click(`.kb-form .kb-save`, chromedp.ByQuery),
		chromedp.WaitVisible(`.kb-saved`, chromedp.ByQuery),
		chromedp.SendKeys(`input[name=try]`, question, chromedp.ByQuery),
		chromedp.Click(`.kb-try button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`.kb-verdict`, chromedp.ByQuery),
		chromedp.AttributeValue(`.kb-verdict`, "data-verdict", &verdict, nil, chromedp.ByQuery),
		chromedp.Text(`.kb-try-result`, &tried, chromedp.ByQuery),
	); err != nil {
		t.Fatalf("edit the entry in the console: %v", err)
	}
	if !strings.HasPrefix(problem, "broken.md:1") || strings.Contains(problem, kb) {
		t.Errorf("problem shown = %q, want broken.md:1 and no server path", problem)
	}
	if file != "File: seashells.md" {
		t.Errorf("file shown = %q, want File: seashells.md", file)
	}
	if verdict != "answer" || !strings.Contains(tried, newAnswer) {
		t.Errorf("try %q: verdict %q, result %q; want answer with %q", question, verdict, tried, newAnswer)
	}
	if d := os.Getenv("FRONTDESK_SCREENSHOT_DIR"); d != "" {
		var png []byte
		if err := chromedp.Run(ctx, chromedp.FullScreenshot(&png, 100)); err == nil {
			_ = os.WriteFile(filepath.Join(d, "knowledge.png"), png, 0o644)
		}
	}
	b, _ := os.ReadFile(filepath.Join(kb, "seashells.md"))
	if !strings.Contains(string(b), newAnswer) || !strings.Contains(string(b), "Do you take shells as payment?") {
		t.Errorf("seashells.md = %q, want the new answer and the questions kept", b)
	}
	var out, errOut strings.Builder
	if code := run(t.Context(), []string{"chat", "--server", ts.url, "--say", question}, &out, &errOut); code != 0 {
		t.Fatalf("chat %q: %s", question, errOut.String())
	}
	if !strings.Contains(out.String(), newAnswer) {
		t.Errorf("chat %q printed %q, want the bot to answer %q", question, out.String(), newAnswer)
	}
}
