package handoff

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/data"
)

// mailpit starts a real SMTP server on loopback and returns its SMTP
// address and API base URL. The binary comes from $MAILPIT, the repo's
// .cache/bin (where .ci/run installs it), or PATH.
func mailpit(t *testing.T) (smtpAddr, api string) {
	t.Helper()
	bin := os.Getenv("MAILPIT")
	if bin == "" {
		if p, err := filepath.Abs("../.cache/bin/mailpit"); err == nil {
			if _, err := os.Stat(p); err == nil {
				bin = p
			}
		}
	}
	if bin == "" {
		if p, err := exec.LookPath("mailpit"); err == nil {
			bin = p
		}
	}
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("mailpit is not installed (.ci/run installs it into .cache/bin)")
		}
		t.Skip("mailpit is not installed: GOBIN=$PWD/.cache/bin go install github.com/axllent/mailpit@v1.27.11")
	}
	smtpAddr, httpAddr := freeAddr(t), freeAddr(t)
	cmd := exec.Command(bin, "--smtp", smtpAddr, "--listen", httpAddr, "--disable-version-check", "--database", filepath.Join(t.TempDir(), "mail.db"))
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatalf("start mailpit: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	api = "http://" + httpAddr
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(api + "/api/v1/messages")
		if err == nil {
			resp.Body.Close()
			if c, err := net.DialTimeout("tcp", smtpAddr, time.Second); err == nil {
				c.Close()
				return smtpAddr, api
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("mailpit did not start: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

type mailpitMessage struct {
	Subject string `json:"Subject"`
	To      []struct {
		Address string `json:"Address"`
	} `json:"To"`
	ReplyTo []struct {
		Address string `json:"Address"`
	} `json:"ReplyTo"`
}

func messages(t *testing.T, api string) []mailpitMessage {
	t.Helper()
	resp, err := http.Get(api + "/api/v1/messages")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Messages []mailpitMessage `json:"messages"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out.Messages
}

// TestTicketEmailReachesSMTPServer: leaving a message creates a ticket whose
// notification e-mail is delivered by the outbox worker to a real SMTP server,
// and an agent's reply reaches the visitor.
func TestTicketEmailReachesSMTPServer(t *testing.T) {
	smtpAddr, api := mailpit(t)
	e := newEnv(t)
	c := e.enqueue("order_support", 0)
	tk, err := e.router.LeaveMessage(context.Background(), e.status(c.ID), data.Contact{Name: "Han", Email: "han@example.com"}, "包裹还没到 where is my parcel?")
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ob := NewOutbox(e.store, map[string]Sender{OutboxEmail: EmailSender(SMTPConfig{Addr: smtpAddr, From: "frontdesk@acme.example"})}, log, time.Second)
	if n := ob.RunOnce(context.Background()); n != 1 {
		t.Fatalf("outbox delivered %d items, want 1", n)
	}
	msgs := messages(t, api)
	// No Reply-To: answers belong in the ticket, which keeps the history.
	if len(msgs) != 1 || msgs[0].To[0].Address != "support@acme.example" || !strings.Contains(msgs[0].Subject, "包裹还没到") || !strings.Contains(msgs[0].Subject, tk.ID) || len(msgs[0].ReplyTo) != 0 {
		t.Fatalf("mailbox = %+v; want the new-ticket e-mail to support@acme.example with the ticket id, no reply-to", msgs)
	}
	agent := e.agent("a@x.io", 2, "order_support")
	if _, err := NewTickets(e.store).Reply(context.Background(), agent, tk.ID, "It ships tomorrow. 明天发货。"); err != nil {
		t.Fatal(err)
	}
	if n := ob.RunOnce(context.Background()); n != 1 {
		t.Fatalf("outbox delivered %d reply e-mails, want 1", n)
	}
	msgs = messages(t, api)
	found := false
	for _, m := range msgs {
		if len(m.To) > 0 && m.To[0].Address == "han@example.com" && strings.HasPrefix(m.Subject, "Re: ") {
			found = true
		}
	}
	if !found {
		t.Errorf("the visitor did not get the agent's reply: %+v", msgs)
	}
	if got, _ := e.store.GetTicket(context.Background(), tk.ID); got.Status != data.TicketPending {
		t.Errorf("ticket after a reply is %s, want pending", got.Status)
	}
	// A reply on a solved ticket reopens it as pending.
	if _, err := e.store.UpdateTicket(context.Background(), data.TicketUpdate{ID: tk.ID, Status: data.TicketSolved, AuthorID: agent.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := NewTickets(e.store).Reply(context.Background(), agent, tk.ID, "One more thing."); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.store.GetTicket(context.Background(), tk.ID); got.Status != data.TicketPending {
		t.Errorf("solved ticket after a reply is %s, want pending", got.Status)
	}
}

// TestOutboxWaitsForASender: a node without an SMTP server leaves e-mails
// alone (their attempts are not used up), and one with a server sends them.
func TestOutboxWaitsForASender(t *testing.T) {
	e := newEnv(t)
	item, _ := emailItem(Email{To: []string{"x@example.com"}, Subject: "hi", Text: "hello"})
	if err := e.store.EnqueueOutbox(context.Background(), item); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	now := time.Now().UTC()
	webhookOnly := NewOutbox(e.store, map[string]Sender{"webhook": func(context.Context, data.OutboxItem) error { return nil }}, log, time.Second)
	for i := 0; i < 20; i++ { // more rounds than the attempts an item gets
		webhookOnly.now = func() time.Time { return now.Add(time.Duration(i) * 24 * time.Hour) }
		webhookOnly.RunOnce(context.Background())
	}
	items, err := e.store.ListOutbox(context.Background(), OutboxEmail, 10)
	if err != nil || len(items) != 1 || items[0].Attempts != 0 || items[0].LastError != "" {
		t.Fatalf("e-mail after 20 rounds of a node without SMTP = %+v, %v; want untouched", items, err)
	}
	var sent []string
	withSMTP := NewOutbox(e.store, map[string]Sender{OutboxEmail: func(_ context.Context, it data.OutboxItem) error { sent = append(sent, it.ID); return nil }}, log, time.Second)
	withSMTP.now = func() time.Time { return now.Add(30 * 24 * time.Hour) }
	if n := withSMTP.RunOnce(context.Background()); n != 1 || len(sent) != 1 {
		t.Errorf("a node with SMTP delivered %d (%v), want the waiting e-mail", n, sent)
	}
}

// TestOutboxRetriesWhenSMTPIsDown: a failed delivery is retried later, not lost.
func TestOutboxRetriesWhenSMTPIsDown(t *testing.T) {
	e := newEnv(t)
	item, _ := emailItem(Email{To: []string{"x@example.com"}, Subject: "hi", Text: "hello"})
	if err := e.store.EnqueueOutbox(context.Background(), item); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	closed := freeAddr(t) // nothing listens there
	now := time.Now().UTC()
	ob := NewOutbox(e.store, map[string]Sender{OutboxEmail: EmailSender(SMTPConfig{Addr: closed, From: "f@x.io"})}, log, time.Second)
	ob.now = func() time.Time { return now }
	if n := ob.RunOnce(context.Background()); n != 0 {
		t.Fatalf("delivered %d with the SMTP server down", n)
	}
	if items, _ := e.store.ClaimOutbox(context.Background(), now.Add(time.Second), time.Minute, 10); len(items) != 0 {
		t.Errorf("failed item due again after 1s: %+v; want back-off", items)
	}
	items, _ := e.store.ClaimOutbox(context.Background(), now.Add(time.Hour), time.Minute, 10)
	if len(items) != 1 || !strings.Contains(items[0].LastError, "dial") {
		t.Errorf("after back-off the item is %+v; want it due with the dial error", items)
	}
}

// TestTicketNotificationRecipients: with no address configured, a new
// ticket is e-mailed to the group's agents, else to the admins; never to
// nobody while someone could be told, and never to editors.
func TestTicketNotificationRecipients(t *testing.T) {
	ctx := context.Background()
	recipients := func(e *env) []string {
		t.Helper()
		items, err := e.store.ListOutbox(ctx, OutboxEmail, 10)
		if err != nil || len(items) != 1 {
			t.Fatalf("outbox = %+v, %v; want one e-mail", items, err)
		}
		var m Email
		if err := json.Unmarshal(items[0].Payload, &m); err != nil {
			t.Fatal(err)
		}
		if m.ReplyTo != "" || !strings.Contains(m.Subject, "t_") {
			t.Errorf("notification %+v: want the ticket id in the subject and no Reply-To (answers go through the ticket)", m)
		}
		return m.To
	}
	newDesk := func(t *testing.T) *env {
		e := newEnv(t)
		e.router.cfg.NotifyEmail = ""
		if _, err := e.store.CreateAgent(ctx, data.Agent{Email: "boss@acme.example", Name: "Boss", Role: data.RoleAdmin, PasswordHash: "x", Capacity: 1}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.store.CreateAgent(ctx, data.Agent{Email: "ed@acme.example", Name: "Ed", Role: data.RoleEditor, PasswordHash: "x", Groups: []string{"tech_support"}}); err != nil {
			t.Fatal(err)
		}
		return e
	}
	contact := data.Contact{Name: "Wang", Email: "wang@example.com"}

	e := newDesk(t)
	e.agent("amy@acme.example", 2, "tech_support")
	e.agent("bob@acme.example", 2, "order_support")
	if _, err := e.router.LeaveMessage(ctx, e.enqueue("tech_support", 0), contact, "hello"); err != nil {
		t.Fatal(err)
	}
	if got := recipients(e); !reflect.DeepEqual(got, []string{"amy@acme.example"}) {
		t.Errorf("group with an agent: notified %v, want the group's agent", got)
	}

	e = newDesk(t)
	if _, err := e.router.LeaveMessage(ctx, e.enqueue("tech_support", 0), contact, "hello"); err != nil {
		t.Fatal(err)
	}
	if got := recipients(e); !reflect.DeepEqual(got, []string{"boss@acme.example"}) {
		t.Errorf("group without agents: notified %v, want the admins", got)
	}
}

// TestPhoneOnlyTicket: a visitor who left only a phone number is told we
// will call, and an e-mail reply is refused rather than silently dropped.
func TestPhoneOnlyTicket(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.agent("amy@acme.example", 2, "tech_support")
	c := e.enqueue("tech_support", 0)
	tk, err := e.router.LeaveMessage(ctx, c, data.Contact{Name: "Wang", Phone: "+86 138 1234 5678"}, "please call me")
	if err != nil {
		t.Fatal(err)
	}
	msgs, _ := e.store.ListMessages(ctx, c.ID, 0, 0)
	last := msgs[len(msgs)-1].Text
	if strings.Contains(last, "e-mail") || !strings.Contains(last, "+86 138 1234 5678") {
		t.Errorf("confirmation = %q; want the phone number, no promise of an e-mail", last)
	}
	before, _ := e.store.ListOutbox(ctx, OutboxEmail, 10)
	if _, err := NewTickets(e.store).Reply(ctx, a, tk.ID, "We will call you."); !errors.Is(err, data.ErrConflict) {
		t.Errorf("e-mail reply to a phone-only ticket = %v, want ErrConflict", err)
	}
	if after, _ := e.store.ListOutbox(ctx, OutboxEmail, 10); len(after) != len(before) {
		t.Errorf("the refused reply queued an e-mail: %d -> %d", len(before), len(after))
	}
	if got, _ := e.store.GetTicket(ctx, tk.ID); got.Status != data.TicketOpen {
		t.Errorf("ticket after a refused reply is %s, want open", got.Status)
	}
}

// TestTicketReplyGoesBackToAMailbox: the visitor's answer to an agent's
// e-mail goes to the group's notify_email, else the installation's
// address, not to the unread sender address.
func TestTicketReplyGoesBackToAMailbox(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name, groupNotify, fallback, want string
	}{
		{"group mailbox", "orders@acme.example", "support@acme.example", "orders@acme.example"},
		{"installation mailbox", "", "support@acme.example", "support@acme.example"},
		{"none configured", "", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.group(data.SkillGroup{ID: "order_support", Name: "Orders", Settings: data.GroupSettings{NotifyEmail: tc.groupNotify}})
			a := e.agent("amy@acme.example", 2, "order_support")
			tk, err := e.router.LeaveMessage(ctx, e.enqueue("order_support", 0), data.Contact{Name: "Wang", Email: "wang@example.com"}, "where is my parcel")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := NewTickets(e.store).WithReplyTo(tc.fallback).Reply(ctx, a, tk.ID, "It ships tomorrow."); err != nil {
				t.Fatal(err)
			}
			items, _ := e.store.ListOutbox(ctx, OutboxEmail, 10)
			var reply *Email
			for _, it := range items {
				var m Email
				if json.Unmarshal(it.Payload, &m) == nil && len(m.To) == 1 && m.To[0] == "wang@example.com" {
					reply = &m
				}
				// Notification and reply are linked so that erasure reaches them.
				if it.TicketID != tk.ID || it.VisitorID != tk.VisitorID || it.ConversationID != tk.ConversationID || it.SiteID != tk.SiteID {
					t.Errorf("e-mail %s links %q/%q/%q/%q; want the ticket's site, visitor, conversation and id", it.ID, it.SiteID, it.VisitorID, it.ConversationID, it.TicketID)
				}
			}
			if reply == nil || reply.ReplyTo != tc.want || !strings.Contains(reply.Subject, tk.ID) {
				t.Errorf("reply e-mail = %+v; want Reply-To %q and the ticket id in the subject", reply, tc.want)
			}
		})
	}
}
