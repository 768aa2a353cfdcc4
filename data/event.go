package data

import "time"

// Topic names on the broker.

// ConversationTopic is where a conversation's events are published.
func ConversationTopic(conversationID string) string { return "conv." + conversationID }

// VisitorTopic is where events for all of a visitor's conversations are published.
func VisitorTopic(visitorID string) string { return "visitor." + visitorID }

// QueueTopic is where a skill group's queue changes are published.
func QueueTopic(groupID string) string { return "queue." + groupID }

// AgentTopic is where events for one agent (assignments, presence) are published.
func AgentTopic(agentID string) string { return "agent." + agentID }

// EventType names what happened.
type EventType string

// The event types.
const (
	// EventMessage: a message was committed.
	EventMessage EventType = "message"
	// EventConversation: a conversation was created or changed status.
	EventConversation EventType = "conversation"
	// EventTyping: someone is typing (not stored).
	EventTyping EventType = "typing"
	// EventQueue: a skill group's queue changed; Queue holds the new queue.
	EventQueue EventType = "queue"
	// EventPosition: a queued conversation's place in its queue changed.
	EventPosition EventType = "position"
	// EventAssigned: a conversation was assigned to the agent of the topic.
	EventAssigned EventType = "assigned"
	// EventPresence: an agent's presence changed.
	EventPresence EventType = "presence"
	// EventRead: the sender has read the conversation up to Seq (not stored).
	EventRead EventType = "read"
	// EventBotToken: part of a bot reply being generated for the visitor
	// message Seq; Text holds the new text (not stored: the whole reply
	// follows as a message).
	EventBotToken EventType = "bot_token"
	// EventAccount: the agent of the topic was changed by an admin (role,
	// groups, capacity, disabled, password): their open sockets close, and
	// the console signs in again with the new rights.
	EventAccount EventType = "account"
)

// QueueEntry is one conversation waiting in a queue.
type QueueEntry struct {
	ConversationID string    `json:"conversation_id"`
	VisitorID      string    `json:"visitor_id"`
	Group          string    `json:"group"`
	Priority       int       `json:"priority"`
	Reason         string    `json:"reason"`
	QueuedAt       time.Time `json:"queued_at"`
	Position       int       `json:"position"`
}

// Queue is a snapshot of one skill group's queue.
type Queue struct {
	Group   string       `json:"group"`
	Entries []QueueEntry `json:"entries"`
}

// Position is a queued conversation's place and estimated wait.
type Position struct {
	Position int `json:"position"`
	// EstimatedWaitSeconds is 0 when there is no history to estimate from.
	EstimatedWaitSeconds int `json:"estimated_wait_seconds"`
}

// Event is what is published on the broker after a commit. Subscribers that
// miss events catch up from the store by seq.
type Event struct {
	Type         EventType     `json:"type"`
	Message      *Message      `json:"message,omitempty"`
	Conversation *Conversation `json:"conversation,omitempty"`
	// Sender is set for typing events.
	Sender SenderKind `json:"sender,omitempty"`
	// ConversationID is set for typing and position events.
	ConversationID string    `json:"conversation_id,omitempty"`
	Queue          *Queue    `json:"queue,omitempty"`
	Position       *Position `json:"position,omitempty"`
	// Seq is set for read events, and for bot_token events (the visitor message replied to).
	Seq int64 `json:"seq,omitempty"`
	// Text is set for bot_token events.
	Text string `json:"text,omitempty"`
	// AgentID and Presence are set for presence events.
	AgentID  string `json:"agent_id,omitempty"`
	Presence string `json:"presence,omitempty"`
}
