package data

// Topic names on the broker.

// ConversationTopic is where a conversation's events are published.
func ConversationTopic(conversationID string) string { return "conv." + conversationID }

// VisitorTopic is where events for all of a visitor's conversations are published.
func VisitorTopic(visitorID string) string { return "visitor." + visitorID }

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
)

// Event is what is published on the broker after a commit. Subscribers that
// miss events catch up from the store by seq.
type Event struct {
	Type         EventType     `json:"type"`
	Message      *Message      `json:"message,omitempty"`
	Conversation *Conversation `json:"conversation,omitempty"`
	// Sender is set for typing events.
	Sender SenderKind `json:"sender,omitempty"`
}
