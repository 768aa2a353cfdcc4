package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/frontdesk/frontdesk/data/sqlstore"
)

// TestWidgetPrivacyNoticeConsentAndPageURL: the site's privacy notice is
// linked in the panel footer and the pre-chat form, whose consent box must be
// ticked and is recorded as a privacy_consent event; the page a visitor is
// on is stored without query or fragment; a returning visitor without an
// open conversation opens no socket (records nothing) until the chat is
// opened, and one with a conversation open reconnects on page load.
func TestWidgetPrivacyNoticeConsentAndPageURL(t *testing.T) {
	ts := startServer(t)
	_, _, client, csrf := adminLogin(t, ts)
	const notice = "https://shop.example/privacy"
	settings := map[string]any{"widget": map[string]any{
		"pre_chat":           map[string]any{"enabled": true, "require_contact": true},
		"privacy_notice_url": notice,
	}}
	if code, out := apiCall(t, client, csrf, "PATCH", ts.url+"/api/v1/admin/sites/demo/settings", settings); code != 200 {
		t.Fatalf("PATCH settings = %d %v", code, out)
	}
	if code, out := apiCall(t, client, csrf, "PATCH", ts.url+"/api/v1/admin/sites/demo/settings", map[string]any{"widget": map[string]any{"privacy_notice_url": "http://shop.example/privacy"}}); code != 400 {
		t.Errorf("PATCH an http privacy_notice_url = %d %v, want 400", code, out)
	}
	ctx := browser(t)
	var footHref, footText string
	if err := chromedp.Run(ctx,
		chromedp.Navigate(ts.url+"/?email=li@example.com&reset=TOKEN#frag"),
		chromedp.Poll(shadow+` && `+shadow+`.querySelector('.legal:not([hidden]) a') !== null`, nil, chromedp.WithPollingTimeout(15*time.Second)),
		chromedp.Evaluate(shadow+`.querySelector('.legal a').href`, &footHref),
		chromedp.Evaluate(shadow+`.querySelector('.legal a').textContent`, &footText),
		chromedp.Evaluate(shadow+`.querySelector('.launcher').click()`, nil),
		chromedp.Poll(shadow+`.querySelector('.prechat input[name=privacy_consent]') !== null`, nil, chromedp.WithPollingTimeout(10*time.Second)),
	); err != nil {
		t.Fatalf("widget with a privacy notice: %v", err)
	}
	if footHref != notice || footText != "Privacy notice" {
		t.Errorf("panel footer link = %q %q, want %q \"Privacy notice\"", footHref, footText, notice)
	}
	var formLink, consentText, errText string
	var formStays bool
	if err := chromedp.Run(ctx,
		chromedp.Evaluate(shadow+`.querySelector('.prechat .consent a').href`, &formLink),
		chromedp.Evaluate(shadow+`.querySelector('.prechat .consent').textContent`, &consentText),
		chromedp.Evaluate(`(() => { const f = `+shadow+`.querySelector('.prechat');
			f.querySelector('[name=name]').value = 'Li Lei'; f.querySelector('[name=email]').value = 'li@example.com';
			f.querySelector('button[type=submit]').click(); return true })()`, nil),
		chromedp.Evaluate(shadow+`.querySelector('.prechat .err').textContent`, &errText),
		chromedp.Evaluate(shadow+`.querySelector('.prechat') !== null`, &formStays),
	); err != nil {
		t.Fatal(err)
	}
	if formLink != notice || consentText != "I have read the privacy notice (Privacy notice)" {
		t.Errorf("pre-chat consent = %q linking %q", consentText, formLink)
	}
	if !formStays || errText == "" {
		t.Fatalf("pre-chat form submitted without consent (form still there: %v, error %q)", formStays, errText)
	}
	if err := chromedp.Run(ctx,
		chromedp.Evaluate(`(() => { const f = `+shadow+`.querySelector('.prechat');
			f.querySelector('[name=privacy_consent]').click(); f.querySelector('button[type=submit]').click(); return true })()`, nil),
		chromedp.Poll(shadow+`.querySelector('.prechat') === null`, nil, chromedp.WithPollingTimeout(5*time.Second)),
	); err != nil {
		t.Fatalf("pre-chat form with consent: %v", err)
	}
	waitEvents(t, ts, func(c map[string]int) bool { return c["privacy_consent"] == 1 && c["page_view"] == 1 })

	// The stored page and consent.
	var visitorID string
	if err := chromedp.Run(ctx, chromedp.Evaluate(`JSON.parse(atob(localStorage.getItem('frontdesk:demo:token').split('.')[0].replace(/-/g,'+').replace(/_/g,'/'))).v`, &visitorID)); err != nil {
		t.Fatal(err)
	}
	withStore(t, ts, func(ctx context.Context, s *sqlstore.Store) {
		ev, err := s.LatestEvent(ctx, visitorID, "page_view")
		if err != nil || string(ev.Props) != `{"url":"`+ts.url+`/"}` {
			t.Errorf("stored page_view = %s (%v), want only %s/", ev.Props, err, ts.url)
		}
		ev, err = s.LatestEvent(ctx, visitorID, "privacy_consent")
		var p struct {
			NoticeURL string `json:"notice_url"`
		}
		if err != nil || json.Unmarshal(ev.Props, &p) != nil || p.NoticeURL != notice || ev.CreatedAt.IsZero() {
			t.Errorf("privacy_consent event = %+v (%v), want notice_url %s and a time", ev, err, notice)
		}
	})

	// A returning visitor without a conversation: no socket on page load.
	if err := chromedp.Run(ctx, chromedp.Reload(), chromedp.Poll(shadow+` && `+shadow+`.querySelector('.legal a') !== null`, nil, chromedp.WithPollingTimeout(10*time.Second)), chromedp.Sleep(1500*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if c := eventCounts(t, ts); c["page_view"] != 1 {
		t.Errorf("after a reload without a conversation page_view events = %d, want 1 (no socket before the visitor opens the chat)", c["page_view"])
	}
	if err := chromedp.Run(ctx, chromedp.Evaluate(shadow+`.querySelector('.launcher').click()`, nil)); err != nil {
		t.Fatal(err)
	}
	waitEvents(t, ts, func(c map[string]int) bool { return c["page_view"] == 2 })
	visitorAsk(t, ctx, "Do you deliver parcels to Mars?")
	// With a conversation open, a reload connects at once (agent replies reach the badge).
	if err := chromedp.Run(ctx, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	waitEvents(t, ts, func(c map[string]int) bool { return c["page_view"] == 3 })
}

func waitEvents(t *testing.T, ts *testServer, ok func(map[string]int) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c := eventCounts(t, ts)
		if ok(c) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("recorded events = %v", c)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// withStore opens the test server's store (as eventCounts does) for f.
func withStore(t *testing.T, ts *testServer, f func(context.Context, *sqlstore.Store)) {
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
	f(context.Background(), store)
}
