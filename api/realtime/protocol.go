package realtime

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/frontdesk/frontdesk/data"
)

// Client frame types.
const (
	FrameMessage      = "message"
	FrameResume       = "resume"
	FramePing         = "ping"
	FrameTyping       = "typing"
	FrameRate         = "rate"
	FrameLeaveMessage = "leave_message"
	FrameTrack        = "track"
	FrameIdentify     = "identify"
	FrameRead         = "read"
	FrameFeedback     = "feedback"
	// Agent frames.
	FrameNote  = "note"
	FrameWatch = "watch"
)

// Error codes sent in error frames; docs/protocol.md lists them.
const (
	CodeBadJSON     = "bad_json"
	CodeBadUTF8     = "bad_utf8"
	CodeUnknownType = "unknown_type"
	CodeBadFrame    = "bad_frame"
	CodeEmptyText   = "empty_text"
	CodeTextTooLong = "text_too_long"
	CodeBadClientID = "bad_client_msg_id"
	CodeRateLimited = "rate_limited"
	CodeNotFound    = "not_found"
	CodeInternal    = "internal"
	CodeUnavailable = "unavailable"
	CodeForbidden   = "forbidden"
	CodeConflict    = "conflict"
	CodeInvalid     = "invalid"
)

// MaxTextRunes is the longest message text, in characters, a client may send.
const MaxTextRunes = 2000

// ClientFrame is any frame a client sends; Type selects the fields that matter.
type ClientFrame struct {
	Type           string `json:"type"`
	ClientMsgID    string `json:"client_msg_id,omitempty"`
	Text           string `json:"text,omitempty"`
	ConversationID string `json:"conversation_id,omitempty"`
	LastSeq        int64  `json:"last_seq,omitempty"`
	// Score and Comment belong to rate frames.
	Score   int    `json:"score,omitempty"`
	Comment string `json:"comment,omitempty"`
	// Name, Email and Phone belong to leave_message and identify frames.
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
	Phone string `json:"phone,omitempty"`
	// ExternalID and Token belong to identify frames.
	ExternalID string `json:"external_id,omitempty"`
	Token      string `json:"token,omitempty"`
	// Props belong to track frames (a JSON object of at most 2 KiB).
	Props json.RawMessage `json:"props,omitempty"`
	// Seq belongs to read frames (everything up to it was read) and to
	// feedback frames (the bot message rated).
	Seq int64 `json:"seq,omitempty"`
	// Helpful belongs to feedback frames: the visitor's "Was this helpful?" answer.
	Helpful *bool `json:"helpful,omitempty"`
}

// FrameError is a protocol error reported to the client in an error frame.
type FrameError struct {
	Code        string
	Message     string
	ClientMsgID string
}

func (e *FrameError) Error() string { return e.Code + ": " + e.Message }

// DecodeClientFrame parses and validates one client frame.
func DecodeClientFrame(b []byte) (ClientFrame, *FrameError) {
	var f ClientFrame
	if !utf8.Valid(b) {
		return f, &FrameError{Code: CodeBadUTF8, Message: "frame is not valid UTF-8"}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&f); err != nil {
		return ClientFrame{}, &FrameError{Code: CodeBadJSON, Message: "frame is not a JSON object: " + shorten(err.Error())}
	}
	if dec.More() {
		return ClientFrame{}, &FrameError{Code: CodeBadJSON, Message: "frame has data after the JSON object"}
	}
	switch f.Type {
	case FrameMessage, FrameNote:
		if f.Type == FrameNote && f.ConversationID == "" {
			return f, &FrameError{Code: CodeBadFrame, Message: "conversation_id is required"}
		}
		if !validClientID(f.ClientMsgID) {
			return f, &FrameError{Code: CodeBadClientID, Message: fmt.Sprintf("client_msg_id must be 1-%d characters of A-Z a-z 0-9 - _ . :", data.MaxClientMsgIDLen), ClientMsgID: f.ClientMsgID}
		}
		if strings.TrimSpace(f.Text) == "" {
			return f, &FrameError{Code: CodeEmptyText, Message: "text is empty", ClientMsgID: f.ClientMsgID}
		}
		if n := utf8.RuneCountInString(f.Text); n > MaxTextRunes || len(f.Text) > data.MaxTextBytes {
			return f, &FrameError{Code: CodeTextTooLong, Message: fmt.Sprintf("text has %d characters, limit %d", n, MaxTextRunes), ClientMsgID: f.ClientMsgID}
		}
	case FrameResume:
		if f.LastSeq < 0 {
			return f, &FrameError{Code: CodeBadFrame, Message: "last_seq must be >= 0"}
		}
	case FrameTrack:
		if f.Name == "" || len(f.Name) > 64 {
			return f, &FrameError{Code: CodeBadFrame, Message: "track needs a name of 1-64 bytes"}
		}
		if len(f.Props) > 2048 || (len(f.Props) > 0 && string(f.Props) != "null" && f.Props[0] != '{') {
			return f, &FrameError{Code: CodeBadFrame, Message: "props must be a JSON object of at most 2 KiB"}
		}
	case FrameIdentify:
		if len(f.ExternalID) > 128 || len(f.Name) > 100 || len(f.Email) > 254 || len(f.Phone) > 32 || len(f.Token) > 4096 {
			return f, &FrameError{Code: CodeBadFrame, Message: "identify fields are too long"}
		}
	case FrameRead:
		if f.ConversationID == "" || f.Seq < 1 {
			return f, &FrameError{Code: CodeBadFrame, Message: "read needs conversation_id and seq >= 1"}
		}
	case FrameFeedback:
		if f.ConversationID == "" || f.Seq < 1 || f.Helpful == nil {
			return f, &FrameError{Code: CodeBadFrame, Message: "feedback needs conversation_id, seq >= 1 and helpful true or false"}
		}
	case FramePing, FrameTyping:
	case FrameWatch:
		if f.ConversationID == "" || f.LastSeq < 0 {
			return f, &FrameError{Code: CodeBadFrame, Message: "watch needs conversation_id and last_seq >= 0"}
		}
	case FrameRate:
		if f.ConversationID == "" || f.Score < 1 || f.Score > 5 {
			return f, &FrameError{Code: CodeBadFrame, Message: "rate needs conversation_id and a score from 1 to 5"}
		}
		if utf8.RuneCountInString(f.Comment) > 1000 {
			return f, &FrameError{Code: CodeTextTooLong, Message: "comment is longer than 1000 characters"}
		}
	case FrameLeaveMessage:
		if strings.TrimSpace(f.Text) == "" {
			return f, &FrameError{Code: CodeEmptyText, Message: "text is empty"}
		}
		if utf8.RuneCountInString(f.Text) > MaxTextRunes {
			return f, &FrameError{Code: CodeTextTooLong, Message: fmt.Sprintf("text is longer than %d characters", MaxTextRunes)}
		}
		if strings.TrimSpace(f.Email) == "" && strings.TrimSpace(f.Phone) == "" {
			return f, &FrameError{Code: CodeBadFrame, Message: "an email or a phone number is required"}
		}
	case "":
		return f, &FrameError{Code: CodeBadFrame, Message: "frame has no type"}
	default:
		return f, &FrameError{Code: CodeUnknownType, Message: fmt.Sprintf("unknown frame type %q", shorten(f.Type))}
	}
	return f, nil
}

func validClientID(id string) bool {
	if id == "" || len(id) > data.MaxClientMsgIDLen {
		return false
	}
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.', r == ':':
		default:
			return false
		}
	}
	return true
}

func shorten(s string) string {
	if len(s) <= 80 {
		return s
	}
	cut := 80
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// Server frames.

// HelloFrame is the first frame on a connection.
type HelloFrame struct {
	Type           string `json:"type"`
	VisitorID      string `json:"visitor_id"`
	ConversationID string `json:"conversation_id,omitempty"`
	Status         string `json:"status,omitempty"`
	LastSeq        int64  `json:"last_seq"`
}

// AckFrame confirms that a client message is committed.
type AckFrame struct {
	Type           string `json:"type"`
	ClientMsgID    string `json:"client_msg_id"`
	ConversationID string `json:"conversation_id"`
	Seq            int64  `json:"seq"`
	// Stored is the stored message as this connection shows messages (a
	// message frame): the sending connection gets it here instead of as a
	// frame of its own. (Not "message": error frames use that for text.)
	Stored any `json:"stored,omitempty"`
}

// MessageFrame carries one stored message.
type MessageFrame struct {
	Type           string   `json:"type"`
	ConversationID string   `json:"conversation_id"`
	Seq            int64    `json:"seq"`
	ClientMsgID    string   `json:"client_msg_id,omitempty"`
	Sender         string   `json:"sender"`
	Kind           string   `json:"kind"`
	Text           string   `json:"text"`
	QuickReplies   []string `json:"quick_replies,omitempty"`
	// Event describes a system event message (status change, offer to leave a message, rating).
	Event *EventInfo `json:"event,omitempty"`
	// AskFeedback marks bot answers the visitor may rate as helpful or not.
	AskFeedback bool `json:"ask_feedback,omitempty"`
	// Coupon and Card carry rich content (kinds coupon and card).
	Coupon *Coupon `json:"coupon,omitempty"`
	Card   *Card   `json:"card,omitempty"`
	// File describes the attachment of a file message.
	File      *FileRef  `json:"file,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Coupon is a discount shown as a coupon card.
type Coupon struct {
	Code        string `json:"code"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	ExpiresAt   string `json:"expires_at,omitempty"`
}

// Card is a rich message: a title, text, an optional image and button.
type Card struct {
	Title    string `json:"title"`
	Text     string `json:"text,omitempty"`
	ImageURL string `json:"image_url,omitempty"`
	Button   *struct {
		Label string `json:"label"`
		URL   string `json:"url"`
	} `json:"button,omitempty"`
}

// FileRef points to an uploaded file; clients download it with their credentials.
type FileRef struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
}

// EventInfo is the visitor-visible part of a system event message.
type EventInfo struct {
	Name   string `json:"name"`
	From   string `json:"from,omitempty"`
	To     string `json:"to,omitempty"`
	Reason string `json:"reason,omitempty"`
	Score  int    `json:"score,omitempty"`
}

// ConversationFrame tells the client its conversation started or changed status.
type ConversationFrame struct {
	Type           string `json:"type"`
	ConversationID string `json:"conversation_id"`
	Status         string `json:"status"`
}

// ResumedFrame ends the replay that answers a resume frame.
type ResumedFrame struct {
	Type           string `json:"type"`
	ConversationID string `json:"conversation_id,omitempty"`
	LastSeq        int64  `json:"last_seq"`
}

// PositionFrame tells a queued visitor their place in line.
type PositionFrame struct {
	Type                 string `json:"type"`
	ConversationID       string `json:"conversation_id"`
	Position             int    `json:"position"`
	EstimatedWaitSeconds int    `json:"estimated_wait_seconds"`
}

// ReadFrame says the other side has read everything up to Seq.
type ReadFrame struct {
	Type           string `json:"type"`
	ConversationID string `json:"conversation_id"`
	Sender         string `json:"sender"`
	Seq            int64  `json:"seq"`
}

// TypingFrame says the other side is typing.
type TypingFrame struct {
	Type           string `json:"type"`
	ConversationID string `json:"conversation_id"`
	Sender         string `json:"sender"`
}

// TicketFrame confirms a left message became a ticket.
type TicketFrame struct {
	Type     string `json:"type"`
	TicketID string `json:"ticket_id"`
}

// RatedFrame confirms a rating.
type RatedFrame struct {
	Type           string `json:"type"`
	ConversationID string `json:"conversation_id"`
	Score          int    `json:"score"`
}

// FeedbackRecordedFrame confirms a feedback frame.
type FeedbackRecordedFrame struct {
	Type           string `json:"type"`
	ConversationID string `json:"conversation_id"`
	Seq            int64  `json:"seq"`
	Helpful        bool   `json:"helpful"`
}

// BotTokenFrame carries part of a bot reply while it is being generated;
// the whole reply follows as a message frame, which replaces the parts.
type BotTokenFrame struct {
	Type           string `json:"type"`
	ConversationID string `json:"conversation_id"`
	// ReplyTo is the seq of the visitor message being answered.
	ReplyTo int64  `json:"reply_to"`
	Text    string `json:"text"`
}

// ErrorFrame reports a problem with a client frame; the connection stays open.
type ErrorFrame struct {
	Type        string `json:"type"`
	Code        string `json:"code"`
	Message     string `json:"message"`
	ClientMsgID string `json:"client_msg_id,omitempty"`
}

// PongFrame answers a ping frame.
type PongFrame struct {
	Type string `json:"type"`
}

func errorFrame(e *FrameError) ErrorFrame {
	return ErrorFrame{Type: "error", Code: e.Code, Message: e.Message, ClientMsgID: e.ClientMsgID}
}

// visitorMessageFrame renders a stored message for a visitor. Metadata is
// reduced to what the visitor may see (quick replies), never the bot's
// decision record.
func visitorMessageFrame(m *data.Message) MessageFrame {
	f := MessageFrame{
		Type: "message", ConversationID: m.ConversationID, Seq: m.Seq, Sender: string(m.SenderKind),
		Kind: string(m.Kind), Text: m.Text, CreatedAt: m.CreatedAt,
	}
	if m.SenderKind == data.SenderVisitor {
		f.ClientMsgID = m.ClientMsgID
	}
	if len(m.Metadata) > 0 {
		var meta struct {
			QuickReplies []string `json:"quick_replies"`
			Event        string   `json:"event"`
			From         string   `json:"from"`
			To           string   `json:"to"`
			Reason       string   `json:"reason"`
			Score        int      `json:"score"`
			Coupon       *Coupon  `json:"coupon"`
			File         *FileRef `json:"file"`
			Card         *Card    `json:"card"`
			Decision     struct {
				Kind string `json:"kind"`
			} `json:"decision"`
		}
		if json.Unmarshal(m.Metadata, &meta) == nil {
			f.QuickReplies = meta.QuickReplies
			f.AskFeedback = m.SenderKind == data.SenderBot && meta.Decision.Kind == "answer"
			if m.Kind == data.KindCoupon {
				f.Coupon = meta.Coupon
			}
			if m.Kind == data.KindCard {
				f.Card = meta.Card
			}
			if m.Kind == data.KindFile {
				f.File = meta.File
			}
			if m.Kind == data.KindEvent && meta.Event != "" {
				f.Event = &EventInfo{Name: meta.Event, From: meta.From, To: meta.To, Reason: meta.Reason, Score: meta.Score}
			}
		}
	}
	return f
}
