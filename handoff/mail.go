package handoff

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/smtp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/frontdesk/frontdesk/data"
)

// SMTPConfig says how to send e-mail.
type SMTPConfig struct {
	// Addr is host:port of the SMTP server; empty disables sending (items wait).
	Addr     string `json:"addr"`
	From     string `json:"from"`
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	// ImplicitTLS dials TLS directly (port 465); otherwise STARTTLS is used when offered.
	ImplicitTLS bool `json:"implicit_tls,omitempty"`
}

// OutboxStore is what the outbox worker needs.
type OutboxStore interface {
	ClaimOutbox(ctx context.Context, now time.Time, lease time.Duration, limit int, kinds ...string) ([]data.OutboxItem, error)
	CompleteOutbox(ctx context.Context, id string, at time.Time) error
	RetryOutbox(ctx context.Context, id, lastError string, next time.Time) error
}

// Sender delivers one outbox item of a kind.
type Sender func(ctx context.Context, item data.OutboxItem) error

// Outbox delivers outbox items with retries and exponential back-off.
type Outbox struct {
	store       OutboxStore
	senders     map[string]Sender
	log         *slog.Logger
	interval    time.Duration
	maxAttempts int
	now         func() time.Time
}

// NewOutbox returns a worker; senders maps outbox kinds to their delivery.
func NewOutbox(store OutboxStore, senders map[string]Sender, log *slog.Logger, interval time.Duration) *Outbox {
	if interval <= 0 {
		interval = time.Second
	}
	return &Outbox{store: store, senders: senders, log: log, interval: interval, maxAttempts: 12, now: func() time.Time { return time.Now().UTC() }}
}

// Run delivers due items until ctx ends.
func (o *Outbox) Run(ctx context.Context) error {
	t := time.NewTicker(o.interval)
	defer t.Stop()
	for {
		o.RunOnce(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// RunOnce delivers the items due now and returns how many were delivered.
func (o *Outbox) RunOnce(ctx context.Context) int {
	// Only the kinds this node can deliver: an e-mail waits, without
	// using up its attempts, until a node with an SMTP server takes it.
	kinds := make([]string, 0, len(o.senders))
	for k := range o.senders {
		kinds = append(kinds, k)
	}
	if len(kinds) == 0 {
		return 0
	}
	sort.Strings(kinds)
	items, err := o.store.ClaimOutbox(ctx, o.now(), 2*time.Minute, 20, kinds...)
	if err != nil {
		if ctx.Err() == nil {
			o.log.Warn("outbox claim", slog.Any("err", err))
		}
		return 0
	}
	delivered := 0
	for _, it := range items {
		send, ok := o.senders[it.Kind]
		if !ok {
			o.retry(ctx, it, fmt.Errorf("no sender for kind %q", it.Kind))
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := send(sctx, it)
		cancel()
		if err != nil {
			o.retry(ctx, it, err)
			continue
		}
		if err := o.store.CompleteOutbox(ctx, it.ID, o.now()); err != nil {
			o.log.Warn("outbox complete", slog.String("id", it.ID), slog.Any("err", err))
		}
		delivered++
	}
	return delivered
}

func (o *Outbox) retry(ctx context.Context, it data.OutboxItem, cause error) {
	if it.Attempts >= o.maxAttempts {
		o.log.Error("outbox item given up", slog.String("id", it.ID), slog.String("kind", it.Kind), slog.Int("attempts", it.Attempts), slog.Any("err", cause))
		_ = o.store.RetryOutbox(ctx, it.ID, "gave up: "+cause.Error(), o.now().Add(100*365*24*time.Hour))
		return
	}
	backoff := time.Duration(1<<min(it.Attempts, 12)) * 15 * time.Second
	if backoff > time.Hour {
		backoff = time.Hour
	}
	o.log.Warn("outbox delivery failed", slog.String("id", it.ID), slog.String("kind", it.Kind), slog.Int("attempt", it.Attempts), slog.Duration("retry_in", backoff), slog.Any("err", cause))
	if err := o.store.RetryOutbox(ctx, it.ID, cause.Error(), o.now().Add(backoff)); err != nil {
		o.log.Warn("outbox retry", slog.String("id", it.ID), slog.Any("err", err))
	}
}

// EmailSender returns the Sender for "email" items over SMTP.
func EmailSender(cfg SMTPConfig) Sender {
	return func(ctx context.Context, item data.OutboxItem) error {
		if cfg.Addr == "" {
			return errors.New("no SMTP server configured (--smtp-addr)")
		}
		var e Email
		if err := json.Unmarshal(item.Payload, &e); err != nil {
			return fmt.Errorf("email payload: %w", err)
		}
		return sendMail(ctx, cfg, e)
	}
}

func headerSafe(s string) string { return strings.NewReplacer("\r", " ", "\n", " ").Replace(s) }

func sendMail(ctx context.Context, cfg SMTPConfig, e Email) error {
	if len(e.To) == 0 {
		return errors.New("email has no recipient")
	}
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return fmt.Errorf("smtp addr: %w", err)
	}
	d := net.Dialer{Timeout: 10 * time.Second}
	var conn net.Conn
	if cfg.ImplicitTLS {
		conn, err = tls.DialWithDialer(&d, "tcp", cfg.Addr, &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12})
	} else {
		conn, err = d.DialContext(ctx, "tcp", cfg.Addr)
	}
	if err != nil {
		return fmt.Errorf("smtp dial: %w", err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("smtp hello: %w", err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok && !cfg.ImplicitTLS {
		if err := c.StartTLS(&tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}); err != nil {
			return fmt.Errorf("smtp starttls: %w", err)
		}
	}
	if cfg.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", cfg.Username, cfg.Password, host)); err != nil {
			return fmt.Errorf("smtp auth: %w", err)
		}
	}
	if err := c.Mail(cfg.From); err != nil {
		return fmt.Errorf("smtp from: %w", err)
	}
	for _, to := range e.To {
		if err := c.Rcpt(to); err != nil {
			return fmt.Errorf("smtp rcpt %s: %w", to, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp data: %w", err)
	}
	var b strings.Builder
	b.WriteString("From: " + headerSafe(cfg.From) + "\r\n")
	b.WriteString("To: " + headerSafe(strings.Join(e.To, ", ")) + "\r\n")
	if e.ReplyTo != "" {
		b.WriteString("Reply-To: " + headerSafe(e.ReplyTo) + "\r\n")
	}
	b.WriteString("Subject: " + mime.QEncoding.Encode("utf-8", headerSafe(e.Subject)) + "\r\n")
	b.WriteString("Date: " + time.Now().UTC().Format(time.RFC1123Z) + "\r\n")
	b.WriteString("Message-ID: <" + data.NewID("") + "@frontdesk>\r\n")
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	body := strings.ReplaceAll(strings.ReplaceAll(e.Text, "\r\n", "\n"), "\n", "\r\n")
	b.WriteString(strings.ReplaceAll(body, "\r\n.", "\r\n.."))
	if _, err := w.Write([]byte(b.String())); err != nil {
		return fmt.Errorf("smtp write: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp end of data: %w", err)
	}
	return c.Quit()
}

// itoa is strconv.Itoa, kept short for messages.
func itoa(n int) string { return strconv.Itoa(n) }
