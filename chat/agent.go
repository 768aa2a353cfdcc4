package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"

	"github.com/frontdesk/frontdesk/data"
	"github.com/frontdesk/frontdesk/mask"
)

// ErrForbidden means the caller may not act on this conversation.
var ErrForbidden = errors.New("chat: forbidden")

// Rich is optional rich content of an agent message.
type Rich struct {
	Coupon *data.Coupon     `json:"coupon,omitempty"`
	Card   *json.RawMessage `json:"card,omitempty"`
}

// PostAgentRich stores an agent's coupon or card message.
func (s *Service) PostAgentRich(ctx context.Context, a data.Agent, conversationID, clientMsgID, text string, r Rich) (data.Message, bool, error) {
	conv, err := s.store.GetConversation(ctx, conversationID)
	if err != nil {
		return data.Message{}, false, fmt.Errorf("chat: agent message: %w", err)
	}
	if err := replyable(a, conv); err != nil {
		return data.Message{}, false, fmt.Errorf("chat: rich message: %w", err)
	}
	kind := data.KindCard
	switch {
	case r.Coupon != nil && r.Card == nil:
		kind = data.KindCoupon
		if r.Coupon.Code == "" || len(r.Coupon.Code) > 40 || len(r.Coupon.Title) > 100 || len(r.Coupon.Description) > 300 {
			return data.Message{}, false, fmt.Errorf("chat: coupon: code 1-40 bytes, title at most 100, description at most 300: %w", data.ErrInvalid)
		}
		if text == "" {
			text = r.Coupon.Title + " " + r.Coupon.Code
		}
	case r.Card != nil && r.Coupon == nil:
	default:
		return data.Message{}, false, fmt.Errorf("chat: a rich message has exactly one of coupon or card: %w", data.ErrInvalid)
	}
	meta, err := json.Marshal(r)
	if err != nil {
		return data.Message{}, false, fmt.Errorf("chat: rich message: %w", err)
	}
	m, dup, err := s.store.AppendMessage(ctx, data.Message{ConversationID: conversationID, ClientMsgID: clientMsgID,
		SenderKind: data.SenderAgent, SenderID: a.ID, Kind: kind, Text: text, Metadata: meta, Expect: stillAssigned(a)})
	if err != nil {
		return data.Message{}, false, fmt.Errorf("chat: rich message: %w", staleIsConflict(err))
	}
	if !dup {
		s.publishMessage(ctx, m)
	}
	return m, dup, nil
}

// PostAgentMessage stores an agent's reply (or, with note, an internal note
// the visitor never sees) in a conversation assigned to them.
func (s *Service) PostAgentMessage(ctx context.Context, a data.Agent, conversationID, clientMsgID, text string, note bool) (data.Message, bool, error) {
	msg := data.Message{ConversationID: conversationID, ClientMsgID: clientMsgID, SenderKind: data.SenderAgent, SenderID: a.ID, Kind: data.KindText, Text: text}
	if note {
		conv, err := s.store.GetConversation(ctx, conversationID)
		if err != nil {
			return data.Message{}, false, fmt.Errorf("chat: agent message: %w", err)
		}
		if !a.CanView(conv) {
			return data.Message{}, false, fmt.Errorf("chat: agent note: %w", ErrForbidden)
		}
		msg.Kind = data.KindNote
	} else {
		// A reply needs the conversation assigned to the agent (or, for an
		// admin, assigned at all). The store checks that in the append's
		// transaction, so the common case costs no read.
		msg.Expect = stillAssigned(a)
	}
	m, dup, err := s.store.AppendMessage(ctx, msg)
	if errors.Is(err, data.ErrStale) {
		conv, gerr := s.store.GetConversation(ctx, conversationID)
		if gerr != nil {
			return data.Message{}, false, fmt.Errorf("chat: agent message: %w", gerr)
		}
		if err := replyable(a, conv); err != nil {
			return data.Message{}, false, fmt.Errorf("chat: agent message: %w", err)
		}
		// It changed back in between: try once more.
		m, dup, err = s.store.AppendMessage(ctx, msg)
	}
	if err != nil {
		return data.Message{}, false, fmt.Errorf("chat: agent message: %w", err)
	}
	if !dup {
		s.publishMessage(ctx, m)
	}
	return m, dup, nil
}

// stillAssigned is what an agent's message needs of its conversation when
// it is stored: still assigned to that agent (for an admin, to anyone).
func stillAssigned(a data.Agent) *data.Expectation {
	e := &data.Expectation{Status: data.StatusAssigned}
	if a.Role != data.RoleAdmin {
		e.AssignedAgent = a.ID
	}
	return e
}

// replyable says why agent a may not send a message to conv now: a
// conflict when it is closed or not with an agent, ErrForbidden when it is
// another agent's (an admin may write in any assigned conversation).
func replyable(a data.Agent, conv data.Conversation) error {
	switch {
	case conv.Status == data.StatusClosed: // a close clears the agent: say closed, not "not yours"
		return fmt.Errorf("conversation is closed: %w", data.ErrConflict)
	case conv.AssignedAgent != a.ID && !(a.Role == data.RoleAdmin && conv.Status == data.StatusAssigned):
		return fmt.Errorf("conversation not assigned to you: %w", ErrForbidden)
	case conv.Status != data.StatusAssigned:
		return fmt.Errorf("conversation is %s: %w", conv.Status, data.ErrConflict)
	}
	return nil
}

// staleIsConflict reports a conversation that changed before the append
// (data.ErrStale) as a conflict the caller can show.
func staleIsConflict(err error) error {
	if errors.Is(err, data.ErrStale) {
		return fmt.Errorf("the conversation is no longer assigned to you: %w", data.ErrConflict)
	}
	return err
}

// Typing tells the other side of a conversation that someone is typing.
func (s *Service) Typing(ctx context.Context, conversationID string, who data.SenderKind) {
	s.pub.Event(ctx, data.ConversationTopic(conversationID), data.Event{Type: data.EventTyping, ConversationID: conversationID, Sender: who})
}

// Rate records a visitor's 1-5 rating of their closed conversation.
func (s *Service) Rate(ctx context.Context, v data.Visitor, conversationID string, score int, comment string) (data.Conversation, error) {
	conv, err := s.store.GetConversation(ctx, conversationID)
	if err != nil {
		return data.Conversation{}, fmt.Errorf("chat: rate: %w", err)
	}
	if conv.VisitorID != v.ID {
		return data.Conversation{}, fmt.Errorf("chat: rate: %w", data.ErrNotFound)
	}
	out, msg, err := s.store.RateConversation(ctx, conversationID, score, comment)
	if err != nil {
		return data.Conversation{}, fmt.Errorf("chat: rate: %w", err)
	}
	s.publishMessage(ctx, msg)
	return out, nil
}

// Conversation returns a conversation by id.
func (s *Service) Conversation(ctx context.Context, id string) (data.Conversation, error) {
	return s.store.GetConversation(ctx, id)
}

// ErrNoHandoff means no human handoff is configured.
var ErrNoHandoff = errors.New("chat: human handoff is not configured")

// LeaveMessage turns a visitor's message into a ticket for their current
// conversation's team (used when no agent is available).
func (s *Service) LeaveMessage(ctx context.Context, v data.Visitor, contact data.Contact, text string) (data.Ticket, error) {
	if s.handoff == nil {
		return data.Ticket{}, ErrNoHandoff
	}
	conv, err := s.store.LatestConversation(ctx, v.ID)
	if err != nil {
		return data.Ticket{}, fmt.Errorf("chat: leave message: %w", err)
	}
	return s.handoff.LeaveMessage(ctx, conv, contact, text)
}

// Details is what an agent sees about a conversation besides its messages.
type Details struct {
	Conversation data.Conversation `json:"conversation"`
	Visitor      data.Visitor      `json:"visitor"`
	// Earlier lists the visitor's other conversations, newest first.
	Earlier []data.Conversation `json:"earlier"`
	// BotDecision is the bot's last decision record (why it answered or gave up).
	BotDecision json.RawMessage `json:"bot_decision,omitempty"`
	// PageURL is the page the visitor was last seen on.
	PageURL string `json:"page_url,omitempty"`
}

// Details returns a conversation with its visitor, their earlier
// conversations and the bot's last decision, if the agent may view it.
func (s *Service) Details(ctx context.Context, a data.Agent, conversationID string) (Details, error) {
	conv, err := s.store.GetConversation(ctx, conversationID)
	if err != nil {
		return Details{}, fmt.Errorf("chat: details: %w", err)
	}
	if !a.CanView(conv) {
		return Details{}, fmt.Errorf("chat: details: %w", ErrForbidden)
	}
	v, err := s.store.GetVisitor(ctx, conv.VisitorID)
	if err != nil {
		return Details{}, fmt.Errorf("chat: details: %w", err)
	}
	all, err := s.store.VisitorConversations(ctx, conv.VisitorID, 20)
	if err != nil {
		return Details{}, fmt.Errorf("chat: details: %w", err)
	}
	masked := true // when the setting cannot be read, mask
	if site, err := s.store.GetSite(ctx, conv.SiteID); err == nil {
		masked = site.Settings.Privacy.MaskAgentView
	}
	if masked {
		v.Personal = maskPersonal(v.Personal)
	}
	d := Details{Conversation: conv, Visitor: v, Earlier: []data.Conversation{}}
	if ev, err := s.store.LatestEvent(ctx, v.ID, "page_view"); err == nil {
		var p struct {
			URL string `json:"url"`
		}
		if json.Unmarshal(ev.Props, &p) == nil {
			d.PageURL = PageURL(p.URL) // also for page views stored before they were stripped
		}
	}
	for _, c := range all {
		if c.ID != conv.ID {
			d.Earlier = append(d.Earlier, c)
		}
	}
	// The last bot decision: scan the newest messages backwards.
	from := conv.LastSeq - 50
	if from < 0 {
		from = 0
	}
	msgs, err := s.store.ListMessages(ctx, conv.ID, from, 50)
	if err != nil {
		return Details{}, fmt.Errorf("chat: details: %w", err)
	}
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].SenderKind != data.SenderBot || len(msgs[i].Metadata) == 0 {
			continue
		}
		var meta BotMetadata
		if json.Unmarshal(msgs[i].Metadata, &meta) == nil {
			d.BotDecision, _ = json.Marshal(meta.Decision)
			if masked { // the decision echoes the visitor's words
				d.BotDecision = mask.PartialJSON(d.BotDecision)
			}
			break
		}
	}
	return d, nil
}

// Read tells the other side of a conversation that who has read it up to seq.
func (s *Service) Read(ctx context.Context, conversationID string, who data.SenderKind, seq int64) {
	s.pub.Event(ctx, data.ConversationTopic(conversationID), data.Event{Type: data.EventRead, ConversationID: conversationID, Sender: who, Seq: seq})
}

// Track records a visitor's page event (for proactive invitations and analytics).
func (s *Service) Track(ctx context.Context, v data.Visitor, name string, props json.RawMessage) error {
	convID := ""
	if conv, err := s.store.LatestConversation(ctx, v.ID); err == nil && conv.Status != data.StatusClosed {
		convID = conv.ID
	}
	if string(props) == "null" {
		props = nil
	}
	if name == "page_view" {
		var ok bool
		if props, ok = webPage(props); !ok {
			return fmt.Errorf("chat: track: a page_view needs {\"url\": \"http(s)://...\"} of at most 1000 bytes: %w", data.ErrInvalid)
		}
	}
	if err := s.store.RecordEvent(ctx, data.VisitorEvent{SiteID: v.SiteID, VisitorID: v.ID, ConversationID: convID, Name: name, Props: props}); err != nil {
		return fmt.Errorf("chat: track: %w", err)
	}
	return nil
}

// webPage reports whether a page_view's properties name an http(s) page,
// and returns them with the page's address reduced to PageURL.
func webPage(props json.RawMessage) (json.RawMessage, bool) {
	var p map[string]json.RawMessage
	var raw string
	if json.Unmarshal(props, &p) != nil || json.Unmarshal(p["url"], &raw) != nil {
		return nil, false
	}
	page := PageURL(raw)
	if page == "" || len(page) > 1000 {
		return nil, false
	}
	p["url"], _ = json.Marshal(page)
	out, err := json.Marshal(p)
	return out, err == nil
}

// PageURL reduces the address of a page a visitor is on to its origin and
// path: the query string and fragment often carry personal data or secrets
// (?email=..., password-reset tokens, #access_token=...), and user
// information is dropped too. It returns "" for anything but an absolute
// http(s) address.
func PageURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}).String()
}
