package handoff

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"unicode/utf8"

	"github.com/frontdesk/frontdesk/data"
)

// Email is the payload of an "email" outbox item.
type Email struct {
	To      []string `json:"to"`
	Subject string   `json:"subject"`
	Text    string   `json:"text"`
	ReplyTo string   `json:"reply_to,omitempty"`
}

// OutboxEmail is the outbox kind of e-mails.
const OutboxEmail = "email"

func emailItem(e Email) (data.OutboxItem, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return data.OutboxItem{}, err
	}
	return data.OutboxItem{Kind: OutboxEmail, Payload: b}, nil
}

// validContact checks a visitor's contact details for a ticket.
func validContact(c data.Contact) error {
	if c.Email == "" && c.Phone == "" {
		return fmt.Errorf("an e-mail address or a phone number is required: %w", data.ErrInvalid)
	}
	if c.Email != "" {
		if a, err := mail.ParseAddress(c.Email); err != nil || a.Address != c.Email || len(c.Email) > 254 {
			return fmt.Errorf("e-mail address %q is not valid: %w", c.Email, data.ErrInvalid)
		}
	}
	if len(c.Phone) > 32 || len(c.Name) > 100 || strings.ContainsAny(c.Name+c.Phone, "\r\n") {
		return fmt.Errorf("name or phone too long: %w", data.ErrInvalid)
	}
	return nil
}

// LeaveMessage turns a visitor's offline message into a ticket for the
// conversation's group, e-mails the group, and closes the conversation.
func (r *Router) LeaveMessage(ctx context.Context, conv data.Conversation, contact data.Contact, text string) (data.Ticket, error) {
	contact.Email = strings.TrimSpace(contact.Email)
	contact.Name = strings.TrimSpace(contact.Name)
	contact.Phone = strings.TrimSpace(contact.Phone)
	text = strings.TrimSpace(text)
	if err := validContact(contact); err != nil {
		return data.Ticket{}, fmt.Errorf("handoff: leave message: %w", err)
	}
	if text == "" || len(text) > data.MaxTextBytes || !utf8.ValidString(text) {
		return data.Ticket{}, fmt.Errorf("handoff: leave message: the message must be 1-%d bytes: %w", data.MaxTextBytes, data.ErrInvalid)
	}
	if conv.Status != data.StatusQueued && conv.Status != data.StatusBot {
		return data.Ticket{}, fmt.Errorf("handoff: leave message: conversation is %s: %w", conv.Status, data.ErrConflict)
	}
	group := conv.SkillGroup
	if group == "" {
		group = r.cfg.DefaultGroup
	}
	subject := firstLine(text, 80)
	t := data.Ticket{SiteID: conv.SiteID, ConversationID: conv.ID, VisitorID: conv.VisitorID, GroupID: group,
		Subject: subject, Body: text, Contact: contact}
	var outbox []data.OutboxItem
	if to := r.notifyAddress(ctx, group); to != "" {
		item, err := emailItem(Email{To: []string{to}, ReplyTo: contact.Email,
			Subject: "[Frontdesk] New message: " + subject,
			Text: fmt.Sprintf("A visitor left a message for %s.\n\nFrom: %s <%s> %s\n\n%s\n\nConversation: %s\n",
				group, contact.Name, contact.Email, contact.Phone, text, conv.ID)})
		if err != nil {
			return data.Ticket{}, fmt.Errorf("handoff: leave message: %w", err)
		}
		outbox = append(outbox, item)
	}
	ticket, err := r.store.CreateTicket(ctx, t, outbox...)
	if err != nil {
		return data.Ticket{}, fmt.Errorf("handoff: leave message: %w", err)
	}
	closed, msg, err := r.store.Transition(ctx, data.Transition{ConversationID: conv.ID, From: conv.Status, To: data.StatusClosed, At: r.now(),
		Note: fmt.Sprintf("Thanks, we received your message (ticket %s) and will reply by e-mail. 已收到您的留言（工单 %s），我们会尽快邮件回复。", ticket.ID, ticket.ID)})
	switch {
	case err == nil:
		r.pub.Message(ctx, msg)
		r.pub.Conversation(ctx, closed)
		r.publishQueue(ctx, group)
	case errors.Is(err, data.ErrConflict):
		// An agent took the conversation meanwhile: the ticket stays, the chat goes on.
	default:
		r.log.Warn("close after leave message", slog.String("conversation", conv.ID), slog.Any("err", err))
	}
	return ticket, nil
}

func (r *Router) notifyAddress(ctx context.Context, group string) string {
	if g, err := r.store.GetGroup(ctx, group); err == nil && g.Settings.NotifyEmail != "" {
		return g.Settings.NotifyEmail
	}
	return r.cfg.NotifyEmail
}

func firstLine(s string, max int) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	if utf8.RuneCountInString(s) > max {
		s = string([]rune(s)[:max]) + "…"
	}
	return s
}

// TicketStore is what ticket handling needs from storage.
type TicketStore interface {
	GetTicket(ctx context.Context, id string) (data.Ticket, error)
	AddTicketEvent(ctx context.Context, e data.TicketEvent, outbox ...data.OutboxItem) (data.TicketEvent, error)
	UpdateTicket(ctx context.Context, u data.TicketUpdate) (data.Ticket, error)
	CreateTicket(ctx context.Context, t data.Ticket, outbox ...data.OutboxItem) (data.Ticket, error)
	GetConversation(ctx context.Context, id string) (data.Conversation, error)
}

// Tickets handles agents' work on tickets.
type Tickets struct {
	store TicketStore
}

// NewTickets returns the ticket service.
func NewTickets(store TicketStore) *Tickets { return &Tickets{store: store} }

// Reply records an agent's reply and e-mails it to the ticket's contact.
func (t *Tickets) Reply(ctx context.Context, agent data.Agent, ticketID, text string) (data.TicketEvent, error) {
	tk, err := t.store.GetTicket(ctx, ticketID)
	if err != nil {
		return data.TicketEvent{}, fmt.Errorf("handoff: reply: %w", err)
	}
	var outbox []data.OutboxItem
	if tk.Contact.Email != "" {
		item, err := emailItem(Email{To: []string{tk.Contact.Email},
			Subject: "Re: " + tk.Subject,
			Text:    fmt.Sprintf("%s\n\n-- %s\n(ticket %s)\n", text, agent.Name, tk.ID)})
		if err != nil {
			return data.TicketEvent{}, err
		}
		outbox = append(outbox, item)
	}
	ev, err := t.store.AddTicketEvent(ctx, data.TicketEvent{TicketID: ticketID, Kind: "reply", AuthorID: agent.ID, Body: text}, outbox...)
	if err != nil {
		return data.TicketEvent{}, fmt.Errorf("handoff: reply: %w", err)
	}
	if tk.Status == data.TicketOpen {
		_, _ = t.store.UpdateTicket(ctx, data.TicketUpdate{ID: ticketID, Status: data.TicketPending, AuthorID: agent.ID})
	}
	return ev, nil
}

// Note records an internal note on a ticket.
func (t *Tickets) Note(ctx context.Context, agent data.Agent, ticketID, text string) (data.TicketEvent, error) {
	ev, err := t.store.AddTicketEvent(ctx, data.TicketEvent{TicketID: ticketID, Kind: "note", AuthorID: agent.ID, Body: text})
	if err != nil {
		return data.TicketEvent{}, fmt.Errorf("handoff: note: %w", err)
	}
	return ev, nil
}

// FromConversation lets an agent open a ticket for follow-up work on a conversation.
func (t *Tickets) FromConversation(ctx context.Context, agent data.Agent, conversationID, subject, body string, contact data.Contact) (data.Ticket, error) {
	conv, err := t.store.GetConversation(ctx, conversationID)
	if err != nil {
		return data.Ticket{}, fmt.Errorf("handoff: ticket from conversation: %w", err)
	}
	if contact != (data.Contact{}) {
		if err := validContact(contact); err != nil {
			return data.Ticket{}, fmt.Errorf("handoff: ticket from conversation: %w", err)
		}
	}
	if strings.TrimSpace(subject) == "" {
		subject = firstLine(body, 80)
	}
	tk, err := t.store.CreateTicket(ctx, data.Ticket{SiteID: conv.SiteID, ConversationID: conv.ID, VisitorID: conv.VisitorID,
		GroupID: conv.SkillGroup, Assignee: agent.ID, Subject: subject, Body: body, Contact: contact})
	if err != nil {
		return data.Ticket{}, fmt.Errorf("handoff: ticket from conversation: %w", err)
	}
	return tk, nil
}
