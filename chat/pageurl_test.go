package chat

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/frontdesk/frontdesk/data"
)

func TestPageURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://shop.example/account?email=li@example.com&reset=TOKEN#frag", "https://shop.example/account"},
		{"http://shop.example:8080/a/b/?q=1", "http://shop.example:8080/a/b/"},
		{"https://user:pw@shop.example/p#access_token=abc", "https://shop.example/p"},
		{"https://shop.example", "https://shop.example"},
		{"https://shop.example/%E8%AE%A2%E5%8D%95?x", "https://shop.example/%E8%AE%A2%E5%8D%95"},
		{"javascript:alert(1)", ""},
		{"/relative?x=1", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := PageURL(tt.in); got != tt.want {
			t.Errorf("PageURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// A page view keeps only the page's origin and path, whatever the client
// sends, and conversation details show no query or fragment, also for page
// views stored before.
func TestPageViewsStoreNoQueryOrFragment(t *testing.T) {
	f := newFixture(t, 0)
	ctx := context.Background()
	m, _, err := f.svc.PostVisitorMessage(ctx, f.visitor, "1", "hi")
	if err != nil {
		t.Fatal(err)
	}
	f.waitMessages(t, m.ConversationID, 2)
	props := json.RawMessage(`{"url":"https://shop.example/account?email=li@example.com&reset=TOKEN#frag","title":"Account"}`)
	if err := f.svc.Track(ctx, f.visitor, "page_view", props); err != nil {
		t.Fatalf("Track(page_view) = %v", err)
	}
	ev, err := f.store.LatestEvent(ctx, f.visitor.ID, "page_view")
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	if err := json.Unmarshal(ev.Props, &got); err != nil || got["url"] != "https://shop.example/account" || got["title"] != "Account" {
		t.Errorf("stored page_view props = %s, want url https://shop.example/account and the title kept", ev.Props)
	}
	if err := f.svc.Track(ctx, f.visitor, "page_view", json.RawMessage(`{"url":"javascript:alert(1)"}`)); !errors.Is(err, data.ErrInvalid) {
		t.Errorf("Track(page_view javascript:) = %v, want ErrInvalid", err)
	}

	admin := data.Agent{ID: "a_boss", Role: data.RoleAdmin}
	d, err := f.svc.Details(ctx, admin, m.ConversationID)
	if err != nil || d.PageURL != "https://shop.example/account" {
		t.Errorf("Details page_url = %q, %v, want https://shop.example/account", d.PageURL, err)
	}
	// Stored by an older version, straight into the store.
	if err := f.store.RecordEvent(ctx, data.VisitorEvent{SiteID: f.visitor.SiteID, VisitorID: f.visitor.ID, Name: "page_view", Props: json.RawMessage(`{"url":"https://shop.example/reset?token=SECRET#x"}`)}); err != nil {
		t.Fatal(err)
	}
	d, err = f.svc.Details(ctx, admin, m.ConversationID)
	if err != nil || d.PageURL != "https://shop.example/reset" {
		t.Errorf("Details page_url of an old page view = %q, %v, want https://shop.example/reset", d.PageURL, err)
	}
}
