package data

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// Sentinel errors returned by every store; check them with errors.Is.
var (
	// ErrNotFound means the record does not exist (or is not visible to the caller).
	ErrNotFound = errors.New("not found")
	// ErrConflict means the operation conflicts with the record's current state.
	ErrConflict = errors.New("conflict")
	// ErrInvalid means the input violates a rule of the data model.
	ErrInvalid = errors.New("invalid")
	// ErrStale means an append's Expectation about its conversation no
	// longer holds; it is also an ErrConflict.
	ErrStale = fmt.Errorf("%w: the conversation changed", ErrConflict)
)

// Site is one website using Frontdesk.
type Site struct {
	ID             string       `json:"id"`
	Key            string       `json:"key"`
	Name           string       `json:"name"`
	AllowedOrigins []string     `json:"allowed_origins"`
	Settings       SiteSettings `json:"settings"`
	CreatedAt      time.Time    `json:"created_at"`
	// IdentityKeys verify the site's identity tokens; sealed at rest, never rendered.
	IdentityKeys []IdentityKey `json:"-"`
}

// IdentityKey is one HS256 key a site's server signs identity tokens with.
type IdentityKey struct {
	// ID is the token header's kid.
	ID string `json:"kid"`
	// Secret is the HMAC key (sealed at rest, shown once when created).
	Secret    []byte    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
}

// IdentitySettings configure identity verification of a site's visitors.
type IdentitySettings struct {
	// Required refuses identities that do not come with a valid signed token.
	Required bool `json:"required"`
}

// PrivacySettings configure how long a site keeps personal data and who sees it.
type PrivacySettings struct {
	// RetentionDays, when > 0, purges conversations (messages, files,
	// events) that have not changed for that many days.
	RetentionDays int `json:"retention_days,omitempty"`
	// MaskAgentView shows agents masked phone, ID, card numbers and e-mails.
	MaskAgentView bool `json:"mask_agent_view,omitempty"`
}

// SiteSettings are a site's configurable behaviours.
type SiteSettings struct {
	Widget WidgetSettings `json:"widget"`
	// Webhooks receive the site's events.
	Webhooks []Webhook `json:"webhooks,omitempty"`
	// Identity configures identity verification (identity.required).
	Identity IdentitySettings `json:"identity"`
	// Privacy configures retention and masking.
	Privacy PrivacySettings `json:"privacy"`
}

// Webhook is an outgoing webhook: events are POSTed to URL, signed with Secret.
type Webhook struct {
	ID     string `json:"id"`
	URL    string `json:"url"`
	Secret string `json:"secret"`
	// Events lists the event names sent (empty: all).
	Events   []string `json:"events,omitempty"`
	Disabled bool     `json:"disabled,omitempty"`
}

// WidgetSettings configure the visitor widget of a site.
type WidgetSettings struct {
	// PreChat, when enabled, asks new visitors for their details before the first message.
	PreChat PreChatForm `json:"pre_chat"`
	// Invitations are proactive messages shown when their conditions hold.
	Invitations []Invitation `json:"invitations"`
	// PrivacyNoticeURL is the https address of the site's privacy notice
	// (GDPR art. 13, PIPL art. 17): linked in the widget's footer and, with
	// a consent checkbox, in the pre-chat form.
	PrivacyNoticeURL string `json:"privacy_notice_url,omitempty"`
}

// PreChatForm is the optional form shown before the first message.
type PreChatForm struct {
	Enabled bool `json:"enabled"`
	// RequireContact asks for an e-mail address or a phone number.
	RequireContact bool `json:"require_contact"`
	// Topics, if any, are offered as a choice (e.g. "Orders", "Technical").
	Topics []string `json:"topics,omitempty"`
}

// Invitation is a proactive chat invitation rule.
type Invitation struct {
	ID string `json:"id"`
	// When: every set condition must hold.
	When InvitationWhen `json:"when"`
	// Message is the invitation text per language ("en", "zh").
	Message map[string]string `json:"message"`
	// Coupon, if set, is shown as a coupon card with the message.
	Coupon *Coupon `json:"coupon,omitempty"`
	// MaxPerDay caps how often one visitor sees it (default 1).
	MaxPerDay int `json:"max_per_day,omitempty"`
	// ConversionEvent is the tracked event that counts as a conversion after the invitation was shown.
	ConversionEvent string `json:"conversion_event,omitempty"`
}

// InvitationWhen are the conditions of an invitation.
type InvitationWhen struct {
	SecondsOnPage int    `json:"seconds_on_page,omitempty"`
	URLPattern    string `json:"url_pattern,omitempty"`
	ScrollPercent int    `json:"scroll_percent,omitempty"`
	ExitIntent    bool   `json:"exit_intent,omitempty"`
	Event         string `json:"event,omitempty"`
	Returning     bool   `json:"returning,omitempty"`
}

// Coupon is a discount offered in a coupon card.
type Coupon struct {
	Code        string `json:"code"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	ExpiresAt   string `json:"expires_at,omitempty"`
}

// VisitorEvent is something a visitor did on the site (a tracked event, an
// invitation shown, clicked or converted).
type VisitorEvent struct {
	ID             string          `json:"id"`
	SiteID         string          `json:"site_id"`
	VisitorID      string          `json:"visitor_id"`
	ConversationID string          `json:"conversation_id,omitempty"`
	Name           string          `json:"name"`
	Props          json.RawMessage `json:"props,omitempty"`
	CreatedAt      time.Time       `json:"created_at"`
}

// Visitor is a person chatting through the widget, anonymous until identified.
type Visitor struct {
	ID         string    `json:"id"`
	SiteID     string    `json:"site_id"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	// Personal holds the visitor's personal fields; sealed at rest.
	Personal Personal `json:"personal"`
}

// Personal is a visitor's personal data (encrypted at rest, never queried by content).
type Personal struct {
	// Verified is true when the identity came with a valid signed token from the site.
	Verified   bool   `json:"verified,omitempty"`
	ExternalID string `json:"external_id,omitempty"`
	Name       string `json:"name,omitempty"`
	Email      string `json:"email,omitempty"`
	Phone      string `json:"phone,omitempty"`
}

// Status is a conversation's lifecycle state.
type Status string

// The conversation lifecycle states (see ARCHITECTURE.md).
const (
	StatusBot      Status = "bot"
	StatusQueued   Status = "queued"
	StatusAssigned Status = "assigned"
	StatusClosed   Status = "closed"
)

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	switch s {
	case StatusBot, StatusQueued, StatusAssigned, StatusClosed:
		return true
	}
	return false
}

// Conversation is one chat between a visitor and the bot or agents.
type Conversation struct {
	ID            string    `json:"id"`
	SiteID        string    `json:"site_id"`
	VisitorID     string    `json:"visitor_id"`
	Channel       string    `json:"channel"`
	Status        Status    `json:"status"`
	SkillGroup    string    `json:"skill_group,omitempty"`
	AssignedAgent string    `json:"assigned_agent,omitempty"`
	Priority      int       `json:"priority"`
	LastSeq       int64     `json:"last_seq"`
	HandoffReason string    `json:"handoff_reason,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
	// UpdatedAt is the last change or message; a store may move it along
	// at most once a second while messages keep coming (sqlstore on SQLite),
	// so it can be up to a second behind the newest message.
	UpdatedAt time.Time `json:"updated_at"`
	// QueuedAt is when the conversation last entered a queue.
	QueuedAt *time.Time `json:"queued_at,omitempty"`
	// FirstQueuedAt is when it first entered one (a transfer or a
	// requeue moves QueuedAt, not this).
	FirstQueuedAt *time.Time `json:"first_queued_at,omitempty"`
	// AssignedAt is when an agent last took the conversation from a queue (a
	// transfer straight to another agent keeps it, so the wait stays the wait).
	AssignedAt *time.Time `json:"assigned_at,omitempty"`
	// FirstResponseAt is when an agent first wrote in it.
	FirstResponseAt *time.Time `json:"first_response_at,omitempty"`
	ClosedAt        *time.Time `json:"closed_at,omitempty"`
	// Rating is the visitor's 1-5 satisfaction score (0: not rated).
	Rating int `json:"rating,omitempty"`
}

// SenderKind says who wrote a message.
type SenderKind string

// The sender kinds.
const (
	SenderVisitor SenderKind = "visitor"
	SenderBot     SenderKind = "bot"
	SenderAgent   SenderKind = "agent"
	SenderSystem  SenderKind = "system"
)

// Valid reports whether k is a known sender kind.
func (k SenderKind) Valid() bool {
	switch k {
	case SenderVisitor, SenderBot, SenderAgent, SenderSystem:
		return true
	}
	return false
}

// MessageKind says what a message's body holds.
type MessageKind string

// The message kinds.
const (
	KindText         MessageKind = "text"
	KindQuickReplies MessageKind = "quick_replies"
	KindCard         MessageKind = "card"
	KindCoupon       MessageKind = "coupon"
	KindFile         MessageKind = "file"
	KindNote         MessageKind = "note"
	KindEvent        MessageKind = "event"
)

// Valid reports whether k is a known message kind.
func (k MessageKind) Valid() bool {
	switch k {
	case KindText, KindQuickReplies, KindCard, KindCoupon, KindFile, KindNote, KindEvent:
		return true
	}
	return false
}

// Message is one entry in a conversation's transcript.
type Message struct {
	ConversationID string      `json:"conversation_id"`
	Seq            int64       `json:"seq"`
	ClientMsgID    string      `json:"client_msg_id,omitempty"`
	SenderKind     SenderKind  `json:"sender"`
	SenderID       string      `json:"sender_id,omitempty"`
	Kind           MessageKind `json:"kind"`
	// Text is the message body (sealed at rest).
	Text string `json:"text"`
	// Metadata is structured data: quick replies, card fields, and for bot
	// messages the decision record (sealed at rest).
	Metadata  json.RawMessage `json:"metadata,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
	// Expect, when set on a message to append, is what the conversation
	// must still be like; it is checked in the append's transaction and
	// not stored (nil on stored messages).
	Expect *Expectation `json:"-"`
	// Attachment, when set on a message to append, is the file the message
	// carries (its metadata names the file's ID). It is stored in the
	// append's transaction, and only when the message is new, so a file is
	// never stored without its message nor twice for a retried message. Not
	// stored on the message (nil on stored messages).
	Attachment *File `json:"-"`
}

// Expectation is what an append requires of its conversation, so that a
// caller who read (or remembers) the conversation appends only if it has not
// changed since: the store returns ErrStale otherwise and appends nothing.
// Empty fields are not checked.
type Expectation struct {
	Status        Status
	AssignedAgent string
	VisitorID     string
}

// Limits of the data model, enforced by every store.
const (
	// MaxTextBytes is the largest message body accepted.
	MaxTextBytes = 8 << 10
	// MaxMetadataBytes is the largest metadata document accepted.
	MaxMetadataBytes = 32 << 10
	// MaxClientMsgIDLen is the longest client_msg_id accepted.
	MaxClientMsgIDLen = 64
	// ClientIDWindow is how far back a store recognises a retry: while the
	// first copy is among the conversation's last ClientIDWindow messages
	// that carry a client_msg_id. Clients retry what was not acknowledged,
	// within seconds or at their next connection.
	ClientIDWindow = 32
)

// Validate checks the fields a caller sets before a message is appended.
func (m Message) Validate() error {
	switch {
	case m.ConversationID == "":
		return fmt.Errorf("conversation is required: %w", ErrInvalid)
	case !m.SenderKind.Valid():
		return fmt.Errorf("sender kind %q: %w", m.SenderKind, ErrInvalid)
	case !m.Kind.Valid():
		return fmt.Errorf("message kind %q: %w", m.Kind, ErrInvalid)
	case len(m.Text) > MaxTextBytes:
		return fmt.Errorf("text is %d bytes, limit %d: %w", len(m.Text), MaxTextBytes, ErrInvalid)
	case !utf8.ValidString(m.Text):
		return fmt.Errorf("text is not UTF-8: %w", ErrInvalid)
	case len(m.ClientMsgID) > MaxClientMsgIDLen:
		return fmt.Errorf("client_msg_id longer than %d: %w", MaxClientMsgIDLen, ErrInvalid)
	case len(m.Metadata) > MaxMetadataBytes:
		return fmt.Errorf("metadata larger than %d bytes: %w", MaxMetadataBytes, ErrInvalid)
	case len(m.Metadata) > 0 && !json.Valid(m.Metadata):
		return fmt.Errorf("metadata is not JSON: %w", ErrInvalid)
	case m.Attachment != nil && (m.Attachment.ID == "" || m.Attachment.ConversationID != m.ConversationID):
		return fmt.Errorf("an attachment needs an id and the message's conversation: %w", ErrInvalid)
	case m.Attachment != nil:
		return m.Attachment.Validate()
	}
	return nil
}

// File is an uploaded attachment of a conversation.
type File struct {
	ID             string     `json:"id"`
	SiteID         string     `json:"site_id"`
	ConversationID string     `json:"conversation_id"`
	UploaderKind   SenderKind `json:"uploader_kind"`
	UploaderID     string     `json:"uploader_id"`
	Name           string     `json:"name"`
	ContentType    string     `json:"content_type"`
	Size           int64      `json:"size"`
	// Content is the file's bytes (sealed at rest); empty in listings.
	Content   []byte    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
}

// MaxFileBytes is the largest upload accepted.
const MaxFileBytes = 10 << 20

// MaxFileNameBytes is the longest file name kept.
const MaxFileNameBytes = 255

// Validate checks a file before it is stored.
func (f File) Validate() error {
	switch {
	case f.SiteID == "" || f.ConversationID == "" || !f.UploaderKind.Valid() || f.ContentType == "":
		return fmt.Errorf("file: site, conversation, uploader and type are required: %w", ErrInvalid)
	case len(f.Content) == 0 || len(f.Content) > MaxFileBytes:
		return fmt.Errorf("file: 1 byte to %d bytes of content: %w", MaxFileBytes, ErrInvalid)
	case len(f.Name) > MaxFileNameBytes || !utf8.ValidString(f.Name):
		return fmt.Errorf("file: the name must be UTF-8 of at most %d bytes: %w", MaxFileNameBytes, ErrInvalid)
	}
	return nil
}

// ValidEventName reports whether an event name matches [a-z0-9_.:-]{1,64}.
// The name is stored in clear (counted by name), so a page cannot put
// personal data in it; properties are sealed.
func ValidEventName(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '_', c == '.', c == ':', c == '-':
		default:
			return false
		}
	}
	return true
}
