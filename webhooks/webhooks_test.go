package webhooks

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/data"
	"github.com/frontdesk/frontdesk/data/seal"
	"github.com/frontdesk/frontdesk/data/sqlstore"
)

type receiver struct {
	mu        sync.Mutex
	secret    string
	failFirst int
	calls     int
	got       map[string]int // delivery id -> accepted count
	events    []string
	badSig    int
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	ts, _ := strconv.ParseInt(req.Header.Get("X-Frontdesk-Timestamp"), 10, 64)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if !Verify(r.secret, ts, body, req.Header.Get("X-Frontdesk-Signature")) {
		r.badSig++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if r.failFirst > 0 {
		r.failFirst--
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	var ev Event
	_ = json.Unmarshal(body, &ev)
	r.got[req.Header.Get("X-Frontdesk-Delivery")]++
	r.events = append(r.events, ev.Event)
}

// deliver runs the outbox once at the given time with the webhook sender.
func deliver(t *testing.T, st *sqlstore.Store, at time.Time) (ok, failed int) {
	t.Helper()
	ctx := context.Background()
	items, err := st.ClaimOutbox(ctx, at, time.Minute, 100)
	if err != nil {
		t.Fatal(err)
	}
	send := Sender(&http.Client{Timeout: 5 * time.Second})
	for _, it := range items {
		if err := send(ctx, it); err != nil {
			failed++
			_ = st.RetryOutbox(ctx, it.ID, err.Error(), at.Add(30*time.Second))
			continue
		}
		ok++
		_ = st.CompleteOutbox(ctx, it.ID, at)
	}
	return ok, failed
}

func TestWebhookDeliveries(t *testing.T) {
	ctx := context.Background()
	ring, _ := seal.NewKeyring(bytes.Repeat([]byte{6}, 32))
	raw, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "w.db"), ring, sqlstore.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	rcv := &receiver{secret: "s3cret", failFirst: 1, got: map[string]int{}}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	st := Wrap(raw, slog.New(slog.NewTextHandler(io.Discard, nil)))
	site, _ := st.EnsureSite(ctx, data.Site{Key: "demo", Name: "Demo"})
	if _, err := st.UpdateSiteSettings(ctx, site.ID, data.SiteSettings{Webhooks: []data.Webhook{
		{ID: "crm", URL: srv.URL, Secret: "s3cret"},
		{ID: "tickets-only", URL: srv.URL + "/t", Secret: "s3cret", Events: []string{TicketCreated}},
		{ID: "off", URL: srv.URL + "/off", Secret: "x", Disabled: true},
	}}); err != nil {
		t.Fatal(err)
	}
	st.CreateVisitor(ctx, data.Visitor{ID: "v1", SiteID: site.ID})
	c, _ := st.CreateConversation(ctx, data.Conversation{SiteID: site.ID, VisitorID: "v1"})
	st.AppendMessage(ctx, data.Message{ConversationID: c.ID, SenderKind: data.SenderVisitor, Kind: data.KindText, Text: "hi", ClientMsgID: "m1"})
	st.AppendMessage(ctx, data.Message{ConversationID: c.ID, SenderKind: data.SenderVisitor, Kind: data.KindText, Text: "hi", ClientMsgID: "m1"}) // retry: no event
	st.Transition(ctx, data.Transition{ConversationID: c.ID, From: data.StatusBot, To: data.StatusQueued, SkillGroup: "g", HandoffReason: "explicit_request", Note: "q"})
	st.CreateTicket(ctx, data.Ticket{SiteID: site.ID, ConversationID: c.ID, Body: "call me", Contact: data.Contact{Email: "secret@example.com"}})
	st.Transition(ctx, data.Transition{ConversationID: c.ID, From: data.StatusQueued, To: data.StatusClosed, Note: "c"})
	st.RateConversation(ctx, c.ID, 5, "")

	now := time.Now().Add(time.Second)
	ok, failed := deliver(t, raw, now)
	// 6 events for "crm" + 1 for "tickets-only"; the first POST fails with 500.
	if ok != 6 || failed != 1 {
		t.Fatalf("first round: %d delivered, %d failed; want 6 and 1", ok, failed)
	}
	if ok, failed := deliver(t, raw, now.Add(10*time.Second)); ok+failed != 0 {
		t.Errorf("the failed delivery was retried before its back-off: %d", ok+failed)
	}
	if ok, failed := deliver(t, raw, now.Add(40*time.Second)); ok != 1 || failed != 0 {
		t.Errorf("retry round: %d delivered, %d failed; want 1 and 0", ok, failed)
	}
	if ok, failed := deliver(t, raw, now.Add(time.Hour)); ok+failed != 0 {
		t.Errorf("deliveries after success: %d", ok+failed)
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if rcv.badSig != 0 {
		t.Errorf("%d deliveries had a bad signature", rcv.badSig)
	}
	for id, n := range rcv.got {
		if n != 1 {
			t.Errorf("delivery %s accepted %d times", id, n)
		}
	}
	count := map[string]int{}
	for _, e := range rcv.events {
		count[e]++
	}
	want := map[string]int{ConversationCreated: 1, MessageCreated: 1, ConversationHandedOff: 1, TicketCreated: 2, ConversationClosed: 1, RatingSubmitted: 1}
	for e, n := range want {
		if count[e] != n {
			t.Errorf("event %s delivered %d times, want %d (all: %v)", e, count[e], n, count)
		}
	}
	log, _ := raw.ListOutbox(ctx, OutboxKind, 100)
	if len(log) != 7 {
		t.Errorf("delivery log has %d items, want 7", len(log))
	}
	for _, it := range log {
		if bytes.Contains(it.Payload, []byte("secret@example.com")) {
			t.Error("a webhook payload carries the ticket contact's e-mail")
		}
		// Linked so that erasure and retention reach the delivery.
		if it.SiteID != site.ID || it.ConversationID != c.ID {
			t.Errorf("delivery %s links site %q conversation %q; want %s and %s", it.ID, it.SiteID, it.ConversationID, site.ID, c.ID)
		}
	}
}

func TestSignature(t *testing.T) {
	body := []byte(`{"event":"x"}`)
	sig := Sign("k", 1700000000, body)
	if !Verify("k", 1700000000, body, sig) {
		t.Error("Verify rejected a good signature")
	}
	for _, tt := range []struct {
		key  string
		ts   int64
		body string
	}{{"other", 1700000000, `{"event":"x"}`}, {"k", 1700000001, `{"event":"x"}`}, {"k", 1700000000, `{"event":"y"}`}} {
		if Verify(tt.key, tt.ts, []byte(tt.body), sig) {
			t.Errorf("Verify accepted key %s ts %d body %s", tt.key, tt.ts, tt.body)
		}
	}
}
