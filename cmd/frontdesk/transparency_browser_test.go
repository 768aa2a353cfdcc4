package main

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestWidgetBotTransparency (PIPL art. 24): the widget says the visitor
// talks to an automated assistant, and every bot reply offers "Talk to a
// person", which sends the human request.
func TestWidgetBotTransparency(t *testing.T) {
	ts := startServer(t)
	ctx := browser(t)
	openWidget(t, ctx, ts.url+"/")
	var note string
	var noteShown bool
	if err := chromedp.Run(ctx,
		chromedp.Evaluate(shadow+`.querySelector('.botnote').textContent`, &note),
		chromedp.Evaluate(`!`+shadow+`.querySelector('.botnote').hidden`, &noteShown),
	); err != nil {
		t.Fatalf("read the header note: %v", err)
	}
	if !noteShown || !strings.Contains(note, "automated assistant") {
		t.Errorf("header note = %q (shown %v), want the automated-assistant notice shown", note, noteShown)
	}
	visitorAsk(t, ctx, "How long does shipping take?")
	var offers, bots int
	if err := chromedp.Run(ctx,
		chromedp.Evaluate(shadow+`.querySelectorAll('.msg.bot[data-seq]').length`, &bots),
		chromedp.Evaluate(`Array.from(`+shadow+`.querySelectorAll('.msg.bot[data-seq]')).filter(m => { for (let n = m.nextElementSibling; n && !n.matches('.msg'); n = n.nextElementSibling) { if (n.matches('.human')) return true; } return false; }).length`, &offers),
	); err != nil {
		t.Fatal(err)
	}
	if bots == 0 || offers != bots {
		t.Fatalf("%d bot replies, %d with a Talk to a person offer; want one under each", bots, offers)
	}
	if err := chromedp.Run(ctx,
		chromedp.Evaluate(`Array.from(`+shadow+`.querySelectorAll('.human')).pop().click()`, nil),
		chromedp.Poll(`Array.from(`+shadow+`.querySelectorAll('.msg.visitor[data-seq]')).some(m => m.textContent === 'Talk to a person')`, nil, chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.Poll(`Array.from(`+shadow+`.querySelectorAll('.msg.system')).length > 0`, nil, chromedp.WithPollingTimeout(20*time.Second)),
	); err != nil {
		t.Fatalf("Talk to a person did not send the human request and hand off: %v", err)
	}
}
