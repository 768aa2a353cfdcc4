package data

import (
	"context"
	"time"
)

// SiteStore keeps sites.
type SiteStore interface {
	// EnsureSite creates the site if no site has its key, and returns the stored one.
	EnsureSite(ctx context.Context, s Site) (Site, error)
	// SiteByKey returns the site with the given public key.
	SiteByKey(ctx context.Context, key string) (Site, error)
	// GetSite returns a site by id.
	GetSite(ctx context.Context, id string) (Site, error)
	// UpdateSiteSettings replaces a site's settings.
	UpdateSiteSettings(ctx context.Context, siteID string, s SiteSettings) (Site, error)
	// SetSiteOrigins replaces the origins whose pages may embed a site's widget.
	SetSiteOrigins(ctx context.Context, siteID string, origins []string) (Site, error)
}

// VisitorStore keeps visitors.
type VisitorStore interface {
	// CreateVisitor stores a new visitor; ID, SiteID and CreatedAt must be set.
	CreateVisitor(ctx context.Context, v Visitor) error
	// GetVisitor returns a visitor by id.
	GetVisitor(ctx context.Context, id string) (Visitor, error)
	// TouchVisitor records that the visitor was seen at t.
	TouchVisitor(ctx context.Context, id string, t time.Time) error
	// UpdateVisitorPersonal replaces a visitor's personal fields.
	UpdateVisitorPersonal(ctx context.Context, id string, p Personal) error
	// RecordEvent stores a visitor event.
	RecordEvent(ctx context.Context, e VisitorEvent) error
	// CountEvents counts a site's events by name in [since, until).
	CountEvents(ctx context.Context, siteID string, since, until time.Time) (map[string]int, error)
	// LatestEvent returns the visitor's most recent event with this name.
	LatestEvent(ctx context.Context, visitorID, name string) (VisitorEvent, error)
}

// ConversationStore keeps conversations and their lifecycle.
type ConversationStore interface {
	// CreateConversation stores a new conversation in status bot.
	CreateConversation(ctx context.Context, c Conversation) (Conversation, error)
	// GetConversation returns a conversation by id.
	GetConversation(ctx context.Context, id string) (Conversation, error)
	// LatestConversation returns the visitor's most recent conversation.
	LatestConversation(ctx context.Context, visitorID string) (Conversation, error)
	// Transition moves a conversation from one status to another and appends
	// the system message describing it, in one operation. It fails with
	// ErrConflict when the conversation is not in status from.
	Transition(ctx context.Context, t Transition) (Conversation, Message, error)
}

// Transition is one lifecycle change of a conversation.
type Transition struct {
	ConversationID string
	From, To       Status
	// FromGroup and FromAgent, when set, must also be the conversation's
	// group and agent (ErrConflict otherwise): so two nodes acting on the
	// same timer or event move a conversation once.
	FromGroup, FromAgent string
	// IdleBefore, when set, requires the conversation's last activity
	// (updated_at) to be before it (ErrConflict otherwise): an idle close
	// must not close a conversation a message just woke.
	IdleBefore time.Time
	// SkillGroup and HandoffReason are recorded when handing off.
	SkillGroup    string
	HandoffReason string
	AssignedAgent string
	// Priority, when non-zero, replaces the conversation's priority.
	Priority int
	// Capacity, when To is assigned and Capacity > 0, refuses the assignment
	// with ErrConflict if the agent already has that many conversations.
	Capacity int
	// Note is the text of the system message appended to the transcript.
	Note string
	At   time.Time
}

// MessageStore keeps conversation transcripts.
type MessageStore interface {
	// AppendMessage commits m with the conversation's next seq and returns
	// the stored message. When a message with the same ClientMsgID already
	// exists in the conversation, among its last ClientIDWindow messages with
	// a client id, it returns that message and duplicate=true.
	// The caller's message is durable when AppendMessage returns nil.
	AppendMessage(ctx context.Context, m Message) (stored Message, duplicate bool, err error)
	// ListMessages returns up to limit messages with seq > afterSeq, in seq order.
	ListMessages(ctx context.Context, conversationID string, afterSeq int64, limit int) ([]Message, error)
}

// FileStore reads uploaded files; a file is stored with the message that
// carries it (Message.Attachment).
type FileStore interface {
	// GetFile returns a file with its content.
	GetFile(ctx context.Context, id string) (File, error)
}

// IdentityStore keeps sites' identity keys and finds visitors by their
// verified identity through keyed hashes (blind indexes), never by content.
type IdentityStore interface {
	// SetIdentityKeys replaces a site's identity keys (sealed at rest).
	SetIdentityKeys(ctx context.Context, siteID string, keys []IdentityKey) error
	// VisitorByExternalID returns the site's oldest visitor with this verified external id.
	VisitorByExternalID(ctx context.Context, siteID, externalID string) (Visitor, error)
	// VisitorsByEmail returns the site's visitors with this verified e-mail.
	VisitorsByEmail(ctx context.Context, siteID, email string) ([]Visitor, error)
}

// Store is everything a backend provides.
type Store interface {
	SiteStore
	IdentityStore
	PrivacyStore
	VisitorStore
	ConversationStore
	MessageStore
	AgentStore
	GroupStore
	QueueStore
	TicketStore
	CannedStore
	OutboxStore
	FileStore
	// Ping checks that the store is reachable.
	Ping(ctx context.Context) error
	// Close flushes pending writes and releases the store.
	Close() error
}
