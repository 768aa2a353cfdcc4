package handoff

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/frontdesk/frontdesk/data"
	"github.com/frontdesk/frontdesk/mask"
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
	to := r.notifyAddresses(ctx, group)
	if len(to) == 0 {
		r.log.Warn("a new ticket notifies nobody: set --notify-email or the group's notify_email, or add agents with e-mail addresses to the group", slog.String("group", group))
	}
	notify := func(ticketID string) []data.OutboxItem {
		if len(to) == 0 {
			return nil
		}
		var from []string
		for _, v := range []string{contact.Name, contact.Email, contact.Phone} {
			if v != "" {
				from = append(from, v)
			}
		}
		// Replies go to the ticket in the console (which e-mails the
		// visitor and keeps the history), so there is no Reply-To.
		item, err := emailItem(Email{To: to,
			Subject: fmt.Sprintf("[Frontdesk %s] New message: %s", ticketID, subject),
			Text: fmt.Sprintf("A visitor left a message for %s (ticket %s).\n\nFrom: %s\n\n%s\n\nConversation: %s\nAnswer it in the console, under Tickets.\n",
				group, ticketID, strings.Join(from, " · "), text, conv.ID)})
		if err != nil {
			return nil // a marshalled string cannot fail
		}
		item.SiteID, item.VisitorID, item.ConversationID, item.TicketID = conv.SiteID, conv.VisitorID, conv.ID, ticketID
		return []data.OutboxItem{item}
	}
	// The first message left in a conversation gets an id made from the
	// conversation's, so the same message sent from two tabs at once makes
	// one ticket and one e-mail (the second insert conflicts).
	t.ID = "t_" + strings.TrimPrefix(conv.ID, "c_")
	ticket, err := r.store.CreateTicket(ctx, t, notify(t.ID)...)
	if errors.Is(err, data.ErrConflict) {
		if first, gerr := r.store.GetTicket(ctx, t.ID); gerr == nil && first.Body == t.Body && first.Contact == t.Contact {
			return first, nil // the same message again
		}
		t.ID = data.NewID("t_") // another message in the same conversation: a ticket of its own
		ticket, err = r.store.CreateTicket(ctx, t, notify(t.ID)...)
	}
	if err != nil {
		return data.Ticket{}, fmt.Errorf("handoff: leave message: %w", err)
	}
	closed, msg, err := r.store.Transition(ctx, data.Transition{ConversationID: conv.ID, From: conv.Status, To: data.StatusClosed, At: r.now(),
		Note: receivedNote(ticket.ID, contact)})
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

// receivedNote is what the visitor reads after leaving a message: how we
// will answer depends on the contact given.
func receivedNote(ticketID string, c data.Contact) string {
	if c.Email == "" {
		return fmt.Sprintf("Thanks, we received your message (ticket %s) and will contact you at %s. 已收到您的留言（工单 %s），我们会尽快通过 %s 联系您。", ticketID, c.Phone, ticketID, c.Phone)
	}
	return fmt.Sprintf("Thanks, we received your message (ticket %s) and will reply by e-mail. 已收到您的留言（工单 %s），我们会尽快邮件回复。", ticketID, ticketID)
}

// maxNotify caps the recipients of a new-ticket e-mail.
const maxNotify = 20

// notifyAddresses says who hears of a new ticket in a group: the group's
// notify_email, else --notify-email, else the group's enabled agents (as
// Zendesk and Chatwoot notify a team), else the enabled admins.
func (r *Router) notifyAddresses(ctx context.Context, group string) []string {
	if g, err := r.store.GetGroup(ctx, group); err == nil && g.Settings.NotifyEmail != "" {
		return []string{g.Settings.NotifyEmail}
	}
	if r.cfg.NotifyEmail != "" {
		return []string{r.cfg.NotifyEmail}
	}
	agents, err := r.store.ListAgents(ctx)
	if err != nil {
		r.log.Warn("ticket notification: list agents", slog.Any("err", err))
		return nil
	}
	var members, admins []string
	for _, a := range agents {
		if a.Disabled || a.Email == "" || a.Role == data.RoleEditor {
			continue
		}
		if a.Role == data.RoleAdmin && len(admins) < maxNotify {
			admins = append(admins, a.Email)
		}
		if slices.Contains(a.Groups, group) && len(members) < maxNotify {
			members = append(members, a.Email)
		}
	}
	if len(members) > 0 {
		return members
	}
	return admins
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
	data.TicketStore
	GetConversation(ctx context.Context, id string) (data.Conversation, error)
	GetSite(ctx context.Context, id string) (data.Site, error)
	GetGroup(ctx context.Context, id string) (data.SkillGroup, error)
	GetAgent(ctx context.Context, id string) (data.Agent, error)
}

// Tickets handles agents' work on tickets. Every method checks that the
// agent may work on the ticket (data.Agent.CanWorkTicket) and answers
// ErrNotAllowed when not, and every view masks the ticket's personal data
// when its site asks agents to see it masked.
type Tickets struct {
	store TicketStore
	// replyTo is where visitors' answers to ticket replies go when the
	// ticket's group has no notify_email (--notify-email); "" for none.
	replyTo string
}

// NewTickets returns the ticket service.
func NewTickets(store TicketStore) *Tickets { return &Tickets{store: store} }

// WithReplyTo sets the support mailbox visitors' answers to ticket replies
// go to when the ticket's group has no notify_email of its own.
func (t *Tickets) WithReplyTo(addr string) *Tickets { t.replyTo = addr; return t }

// List lists the tickets an agent may work on, most recently updated first:
// for admins every ticket (of f.GroupID when set); for agents those of their
// groups and those assigned to them.
func (t *Tickets) List(ctx context.Context, agent data.Agent, f data.TicketFilter) ([]data.Ticket, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	if agent.Disabled || (agent.Role != data.RoleAdmin && agent.Role != data.RoleAgent) {
		return nil, fmt.Errorf("handoff: tickets: %w", ErrNotAllowed)
	}
	mine := f
	mine.Assignee = agent.ID
	var filters []data.TicketFilter
	switch {
	case agent.Role == data.RoleAdmin, slices.Contains(agent.Groups, f.GroupID):
		filters = []data.TicketFilter{f}
	case f.GroupID != "": // another group: only what is assigned to the agent
		filters = []data.TicketFilter{mine}
	default: // each of the agent's groups, and what is assigned to them elsewhere
		for _, g := range agent.Groups {
			ff := f
			ff.GroupID = g
			filters = append(filters, ff)
		}
		filters = append(filters, mine)
	}
	seen := map[string]bool{}
	var out []data.Ticket
	for _, ff := range filters {
		list, err := t.store.ListTickets(ctx, ff)
		if err != nil {
			return nil, fmt.Errorf("handoff: tickets: %w", err)
		}
		for _, tk := range list {
			if !seen[tk.ID] {
				seen[tk.ID] = true
				out = append(out, tk)
			}
		}
	}
	slices.SortFunc(out, func(a, b data.Ticket) int {
		if c := b.UpdatedAt.Compare(a.UpdatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	if len(out) > f.Limit {
		out = out[:f.Limit]
	}
	masks := map[string]bool{}
	for i := range out {
		out[i] = t.maskTicket(ctx, masks, out[i])
	}
	return out, nil
}

// Get returns a ticket and its history.
func (t *Tickets) Get(ctx context.Context, agent data.Agent, id string) (data.Ticket, []data.TicketEvent, error) {
	tk, err := t.workable(ctx, agent, id)
	if err != nil {
		return data.Ticket{}, nil, fmt.Errorf("handoff: ticket: %w", err)
	}
	events, err := t.store.TicketEvents(ctx, tk.ID)
	if err != nil {
		return data.Ticket{}, nil, fmt.Errorf("handoff: ticket: %w", err)
	}
	if t.masked(ctx, map[string]bool{}, tk.SiteID) {
		tk = maskTicket(tk)
		for i := range events {
			events[i].Body = mask.Partial(events[i].Body)
		}
	}
	return tk, events, nil
}

// Update changes a ticket's status, assignee or group. The group must exist,
// and the assignee must be an enabled agent or admin (or "" to unassign).
func (t *Tickets) Update(ctx context.Context, agent data.Agent, u data.TicketUpdate) (data.Ticket, error) {
	if _, err := t.workable(ctx, agent, u.ID); err != nil {
		return data.Ticket{}, fmt.Errorf("handoff: update ticket: %w", err)
	}
	if u.GroupID != nil {
		if _, err := t.store.GetGroup(ctx, *u.GroupID); err != nil {
			return data.Ticket{}, fmt.Errorf("handoff: update ticket: group %q: %w", *u.GroupID, notFoundIsInvalid(err))
		}
	}
	if u.Assignee != nil && *u.Assignee != "" {
		a, err := t.store.GetAgent(ctx, *u.Assignee)
		if err != nil {
			return data.Ticket{}, fmt.Errorf("handoff: update ticket: assignee %q: %w", *u.Assignee, notFoundIsInvalid(err))
		}
		if a.Disabled || a.Role == data.RoleEditor {
			return data.Ticket{}, fmt.Errorf("handoff: update ticket: assignee %q is disabled or an editor: %w", *u.Assignee, data.ErrInvalid)
		}
	}
	u.AuthorID = agent.ID
	tk, err := t.store.UpdateTicket(ctx, u)
	if err != nil {
		return data.Ticket{}, fmt.Errorf("handoff: update ticket: %w", err)
	}
	return t.maskTicket(ctx, map[string]bool{}, tk), nil
}

// notFoundIsInvalid turns a missing referenced record into invalid input.
func notFoundIsInvalid(err error) error {
	if errors.Is(err, data.ErrNotFound) {
		return fmt.Errorf("it does not exist: %w", data.ErrInvalid)
	}
	return err
}

// workable reads a ticket the agent may work on.
func (t *Tickets) workable(ctx context.Context, agent data.Agent, id string) (data.Ticket, error) {
	tk, err := t.store.GetTicket(ctx, id)
	if err != nil {
		return data.Ticket{}, err
	}
	if !agent.CanWorkTicket(tk) {
		return data.Ticket{}, ErrNotAllowed
	}
	return tk, nil
}

// masked reports whether a site shows agents masked personal data, caching
// the answer in seen; when the site cannot be read it answers true.
func (t *Tickets) masked(ctx context.Context, seen map[string]bool, siteID string) bool {
	m, ok := seen[siteID]
	if !ok {
		site, err := t.store.GetSite(ctx, siteID)
		m = err != nil || site.Settings.Privacy.MaskAgentView
		seen[siteID] = m
	}
	return m
}

func (t *Tickets) maskTicket(ctx context.Context, seen map[string]bool, tk data.Ticket) data.Ticket {
	if t.masked(ctx, seen, tk.SiteID) {
		return maskTicket(tk)
	}
	return tk
}

// maskTicket masks the contact details and the personal data in a ticket's text.
func maskTicket(tk data.Ticket) data.Ticket {
	tk.Subject = mask.Partial(tk.Subject)
	tk.Body = mask.Partial(tk.Body)
	if tk.Contact.Email != "" {
		tk.Contact.Email = mask.Partial(tk.Contact.Email)
	}
	if tk.Contact.Phone != "" {
		tk.Contact.Phone = mask.Partial(tk.Contact.Phone)
	}
	return tk
}

// Reply records an agent's reply and e-mails it to the ticket's contact.
func (t *Tickets) Reply(ctx context.Context, agent data.Agent, ticketID, text string) (data.TicketEvent, error) {
	tk, err := t.workable(ctx, agent, ticketID)
	if err != nil {
		return data.TicketEvent{}, fmt.Errorf("handoff: reply: %w", err)
	}
	if tk.Contact.Email == "" {
		// Nothing would reach the visitor: say so instead of pretending.
		return data.TicketEvent{}, fmt.Errorf("handoff: reply: the visitor left a phone number, no e-mail address: call them and add a note: %w", data.ErrConflict)
	}
	// The visitor's answer by e-mail goes to a mailbox people read (the
	// group's, else the installation's), not to the sender address.
	replyTo := t.replyTo
	if g, err := t.store.GetGroup(ctx, tk.GroupID); err == nil && g.Settings.NotifyEmail != "" {
		replyTo = g.Settings.NotifyEmail
	}
	item, err := emailItem(Email{To: []string{tk.Contact.Email}, ReplyTo: replyTo,
		Subject: fmt.Sprintf("Re: %s [%s]", tk.Subject, tk.ID),
		Text:    fmt.Sprintf("%s\n\n-- %s\n(ticket %s)\n", text, agent.Name, tk.ID)})
	if err != nil {
		return data.TicketEvent{}, err
	}
	item.SiteID, item.VisitorID, item.ConversationID, item.TicketID = tk.SiteID, tk.VisitorID, tk.ConversationID, tk.ID
	outbox := []data.OutboxItem{item}
	ev, err := t.store.AddTicketEvent(ctx, data.TicketEvent{TicketID: ticketID, Kind: "reply", AuthorID: agent.ID, Body: text}, outbox...)
	if err != nil {
		return data.TicketEvent{}, fmt.Errorf("handoff: reply: %w", err)
	}
	// A reply awaits the visitor's answer: open and solved tickets become
	// pending (a reply on a solved ticket reopens it).
	if tk.Status != data.TicketPending {
		_, _ = t.store.UpdateTicket(ctx, data.TicketUpdate{ID: ticketID, Status: data.TicketPending, AuthorID: agent.ID})
	}
	return ev, nil
}

// Note records an internal note on a ticket.
func (t *Tickets) Note(ctx context.Context, agent data.Agent, ticketID, text string) (data.TicketEvent, error) {
	if _, err := t.workable(ctx, agent, ticketID); err != nil {
		return data.TicketEvent{}, fmt.Errorf("handoff: note: %w", err)
	}
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
	if !agent.CanView(conv) || (agent.Role != data.RoleAdmin && agent.Role != data.RoleAgent) {
		return data.Ticket{}, fmt.Errorf("handoff: ticket from conversation: %w", ErrNotAllowed)
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
