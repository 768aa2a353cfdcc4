package data

import (
	"context"
	"encoding/json"
	"slices"
	"time"
)

// Role is what an agent account may do.
type Role string

// The roles.
const (
	RoleAdmin  Role = "admin"
	RoleAgent  Role = "agent"
	RoleEditor Role = "editor"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleAdmin || r == RoleAgent || r == RoleEditor }

// Agent is a person who answers conversations in the console.
type Agent struct {
	ID           string    `json:"id"`
	Email        string    `json:"email"`
	Name         string    `json:"name"`
	Role         Role      `json:"role"`
	PasswordHash string    `json:"-"`
	Capacity     int       `json:"capacity"`
	Languages    []string  `json:"languages"`
	Groups       []string  `json:"groups"`
	Disabled     bool      `json:"disabled"`
	CreatedAt    time.Time `json:"created_at"`
}

// WorksConversations reports whether the account answers visitors and so
// sees queues and conversations: enabled admins and agents. Editors only
// curate knowledge, whatever groups they belong to.
func (a Agent) WorksConversations() bool {
	return !a.Disabled && (a.Role == RoleAdmin || a.Role == RoleAgent)
}

// QueueGroups returns the groups whose queues the agent sees: their own
// groups for agents, none for editors and disabled accounts (admins see every
// group; callers list them).
func (a Agent) QueueGroups() []string {
	if !a.WorksConversations() {
		return nil
	}
	return a.Groups
}

// CanView reports whether the agent may read a conversation: admins always;
// agents when it is assigned to them or waits in (or was handled by) one of
// their groups; editors and disabled accounts never.
func (a Agent) CanView(c Conversation) bool {
	if !a.WorksConversations() {
		return false
	}
	return a.Role == RoleAdmin || c.AssignedAgent == a.ID || slices.Contains(a.Groups, c.SkillGroup)
}

// CanWorkTicket reports whether the agent may read and work on a ticket:
// admins always; agents when it is assigned to them or belongs to one of
// their groups; editors (who only curate knowledge) never.
func (a Agent) CanWorkTicket(t Ticket) bool {
	switch {
	case a.Disabled:
		return false
	case a.Role == RoleAdmin:
		return true
	case a.Role != RoleAgent:
		return false
	}
	return t.Assignee == a.ID || slices.Contains(a.Groups, t.GroupID)
}

// AgentSession is a logged-in console session; only a hash of its token is stored.
type AgentSession struct {
	IDHash    string
	AgentID   string
	CSRFToken string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// SkillGroup is a queue of conversations and the agents who serve it.
type SkillGroup struct {
	ID        string        `json:"id"`
	Name      string        `json:"name"`
	Settings  GroupSettings `json:"settings"`
	CreatedAt time.Time     `json:"created_at"`
}

// GroupSettings tune a group's routing.
type GroupSettings struct {
	// FallbackGroup receives conversations that waited OverflowAfterSeconds.
	FallbackGroup        string `json:"fallback_group,omitempty"`
	OverflowAfterSeconds int    `json:"overflow_after_seconds,omitempty"`
	// MaxWaitSeconds: past it the visitor is offered to leave a message.
	MaxWaitSeconds int `json:"max_wait_seconds,omitempty"`
	// BusinessHours, when set, limit when the group takes conversations.
	BusinessHours *BusinessHours `json:"business_hours,omitempty"`
	// Routing is "auto" (the default: conversations are assigned to the
	// least-loaded online agent) or "manual" (agents pick from the queue).
	Routing string `json:"routing,omitempty"`
	// NotifyEmail receives new tickets of this group.
	NotifyEmail string `json:"notify_email,omitempty"`
}

// BusinessHours is a weekly schedule in one time zone.
type BusinessHours struct {
	// TimeZone is an IANA name such as Asia/Shanghai.
	TimeZone string `json:"time_zone"`
	// Days maps mon..sun to opening intervals like "09:00-18:00".
	Days map[string][]string `json:"days"`
}

// TicketStatus is a ticket's state.
type TicketStatus string

// The ticket states.
const (
	TicketOpen    TicketStatus = "open"
	TicketPending TicketStatus = "pending"
	TicketSolved  TicketStatus = "solved"
)

// Valid reports whether s is a known ticket status.
func (s TicketStatus) Valid() bool { return s == TicketOpen || s == TicketPending || s == TicketSolved }

// Contact is how to reach the person behind a ticket (sealed at rest).
type Contact struct {
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
	Phone string `json:"phone,omitempty"`
}

// Ticket is a request handled asynchronously, e.g. a message left while no agent was available.
type Ticket struct {
	ID             string       `json:"id"`
	SiteID         string       `json:"site_id"`
	ConversationID string       `json:"conversation_id,omitempty"`
	VisitorID      string       `json:"visitor_id,omitempty"`
	GroupID        string       `json:"group_id"`
	Assignee       string       `json:"assignee,omitempty"`
	Status         TicketStatus `json:"status"`
	Subject        string       `json:"subject"`
	Body           string       `json:"body"`
	Contact        Contact      `json:"contact"`
	CreatedAt      time.Time    `json:"created_at"`
	UpdatedAt      time.Time    `json:"updated_at"`
	SolvedAt       *time.Time   `json:"solved_at,omitempty"`
}

// TicketEvent is one entry in a ticket's history: a note, a reply, a status change.
type TicketEvent struct {
	TicketID  string    `json:"ticket_id"`
	Seq       int64     `json:"seq"`
	Kind      string    `json:"kind"`
	AuthorID  string    `json:"author_id,omitempty"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
}

// TicketUpdate changes a ticket's status, assignee or group.
type TicketUpdate struct {
	ID       string
	Status   TicketStatus
	Assignee *string
	GroupID  *string
	AuthorID string
	At       time.Time
}

// TicketFilter selects tickets for a list.
type TicketFilter struct {
	Status  TicketStatus
	GroupID string
	// Assignee, when set, keeps tickets assigned to this agent.
	Assignee string
	// CreatedFrom and CreatedTo, when set, keep tickets created in [from, to).
	CreatedFrom, CreatedTo time.Time
	Limit                  int
}

// CannedResponse is a saved reply an agent inserts with a shortcut.
type CannedResponse struct {
	ID       string `json:"id"`
	Shortcut string `json:"shortcut"`
	Title    string `json:"title"`
	Body     string `json:"body"`
}

// OutboxItem is work that must not block a chat (emails, webhooks), written
// in the same transaction as the change that causes it.
type OutboxItem struct {
	ID            string          `json:"id"`
	Kind          string          `json:"kind"`
	Payload       json.RawMessage `json:"payload"`
	Attempts      int             `json:"attempts"`
	NextAttemptAt time.Time       `json:"next_attempt_at"`
	LastError     string          `json:"last_error,omitempty"`
	CreatedAt     time.Time       `json:"created_at"`
	// DoneAt is when the item was delivered (nil while pending).
	DoneAt *time.Time `json:"done_at,omitempty"`
	// SiteID, VisitorID, ConversationID and TicketID name what the item
	// concerns (any may be empty), so erasure and retention reach it.
	SiteID         string `json:"site_id,omitempty"`
	VisitorID      string `json:"visitor_id,omitempty"`
	ConversationID string `json:"conversation_id,omitempty"`
	TicketID       string `json:"ticket_id,omitempty"`
}

// AgentStore keeps agents and their console sessions.
type AgentStore interface {
	CreateAgent(ctx context.Context, a Agent) (Agent, error)
	// UpdateAgent replaces the agent's fields; an empty PasswordHash keeps the old one.
	// Disabling the agent or a new PasswordHash deletes the agent's sessions.
	UpdateAgent(ctx context.Context, a Agent) (Agent, error)
	GetAgent(ctx context.Context, id string) (Agent, error)
	AgentByEmail(ctx context.Context, email string) (Agent, error)
	ListAgents(ctx context.Context) ([]Agent, error)
	CreateAgentSession(ctx context.Context, s AgentSession) error
	AgentSession(ctx context.Context, idHash string) (AgentSession, error)
	DeleteAgentSession(ctx context.Context, idHash string) error
}

// GroupStore keeps skill groups.
type GroupStore interface {
	UpsertGroup(ctx context.Context, g SkillGroup) (SkillGroup, error)
	GetGroup(ctx context.Context, id string) (SkillGroup, error)
	ListGroups(ctx context.Context) ([]SkillGroup, error)
}

// QueueStore answers routing questions about conversations.
type QueueStore interface {
	// QueuedConversations lists queued conversations of a group ("" = all),
	// highest priority first, then longest waiting.
	QueuedConversations(ctx context.Context, groupID string) ([]Conversation, error)
	// AgentConversations lists the conversations assigned to an agent.
	AgentConversations(ctx context.Context, agentID string) ([]Conversation, error)
	// AgentLoads counts assigned conversations per agent.
	AgentLoads(ctx context.Context) (map[string]int, error)
	// RecentWaits returns how long recently assigned conversations of a group waited in the queue.
	RecentWaits(ctx context.Context, groupID string, limit int) ([]time.Duration, error)
	// ConversationsBetween lists the conversations created in [from, to), oldest first.
	ConversationsBetween(ctx context.Context, from, to time.Time) ([]Conversation, error)
	// VisitorConversations lists a visitor's conversations, newest first.
	VisitorConversations(ctx context.Context, visitorID string, limit int) ([]Conversation, error)
	// RateConversation records the visitor's 1-5 rating of a closed conversation, once.
	RateConversation(ctx context.Context, conversationID string, score int, comment string) (Conversation, Message, error)
	// IdleConversations lists up to limit open conversations (bot, queued,
	// assigned) with no activity since before, least recently active first.
	IdleConversations(ctx context.Context, before time.Time, limit int) ([]Conversation, error)
}

// TicketStore keeps tickets and their history.
type TicketStore interface {
	CreateTicket(ctx context.Context, t Ticket, outbox ...OutboxItem) (Ticket, error)
	GetTicket(ctx context.Context, id string) (Ticket, error)
	ListTickets(ctx context.Context, f TicketFilter) ([]Ticket, error)
	UpdateTicket(ctx context.Context, u TicketUpdate) (Ticket, error)
	AddTicketEvent(ctx context.Context, e TicketEvent, outbox ...OutboxItem) (TicketEvent, error)
	TicketEvents(ctx context.Context, ticketID string) ([]TicketEvent, error)
}

// CannedStore keeps canned responses.
type CannedStore interface {
	UpsertCanned(ctx context.Context, c CannedResponse) (CannedResponse, error)
	ListCanned(ctx context.Context) ([]CannedResponse, error)
	DeleteCanned(ctx context.Context, id string) error
}

// OutboxStore hands out outbox work to workers on any node.
type OutboxStore interface {
	EnqueueOutbox(ctx context.Context, items ...OutboxItem) error
	// ClaimOutbox leases up to limit due items so no other worker takes them
	// until the lease ends. With kinds, only items of those kinds are
	// claimed (a node claims only what it can deliver); without, any kind.
	ClaimOutbox(ctx context.Context, now time.Time, lease time.Duration, limit int, kinds ...string) ([]OutboxItem, error)
	CompleteOutbox(ctx context.Context, id string, at time.Time) error
	RetryOutbox(ctx context.Context, id, lastError string, next time.Time) error
	// ListOutbox returns the newest items of a kind, delivered or not (a delivery log).
	ListOutbox(ctx context.Context, kind string, limit int) ([]OutboxItem, error)
}
