package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/frontdesk/frontdesk/bot"
	"github.com/frontdesk/frontdesk/chat"
	"github.com/frontdesk/frontdesk/data"
)

// Chat is what a visitor connection needs from the message path.
type Chat interface {
	PostVisitorMessage(ctx context.Context, v data.Visitor, clientMsgID, text string) (data.Message, bool, error)
	CurrentConversation(ctx context.Context, visitorID string) (data.Conversation, error)
	Messages(ctx context.Context, conversationID string, afterSeq int64, limit int) ([]data.Message, error)
	Rate(ctx context.Context, v data.Visitor, conversationID string, score int, comment string) (data.Conversation, error)
	LeaveMessage(ctx context.Context, v data.Visitor, contact data.Contact, text string) (data.Ticket, error)
	Typing(ctx context.Context, conversationID string, who data.SenderKind)
	Read(ctx context.Context, conversationID string, who data.SenderKind, seq int64)
	Track(ctx context.Context, v data.Visitor, name string, props json.RawMessage) error
	Identify(ctx context.Context, v data.Visitor, p data.Personal, token string) (data.Visitor, error)
	Feedback(ctx context.Context, v data.Visitor, conversationID string, seq int64, helpful bool) (bot.Decision, error)
	// AnswerPending makes sure the last visitor message of a conversation
	// the bot holds gets its answer (a node that crashed took its turn along).
	AnswerPending(ctx context.Context, conv data.Conversation)
}

// Limits bound what one connection may do.
type Limits struct {
	// MaxFrameBytes is the read limit; larger frames close the socket with 1009.
	MaxFrameBytes int64
	// MessagesPerSecond and Burst rate-limit message frames per connection.
	MessagesPerSecond float64
	Burst             int
	// SendQueue is the number of frames buffered for a slow client before it is dropped.
	SendQueue int
	// PongWait is how long the server waits for a pong (or any frame).
	PongWait time.Duration
	// WriteWait bounds one write.
	WriteWait time.Duration
	// SessionRecheck is how often an agent connection checks its session
	// (0: RecheckEvery).
	SessionRecheck time.Duration
}

// DefaultLimits returns the limits used when none are configured.
func DefaultLimits() Limits {
	return Limits{MaxFrameBytes: 16 << 10, MessagesPerSecond: 2, Burst: 10, SendQueue: 256, PongWait: 60 * time.Second, WriteWait: 10 * time.Second}
}

// VisitorEndpoint upgrades authenticated visitors' requests to WebSockets.
type VisitorEndpoint struct {
	hub    *Hub
	chat   Chat
	limits Limits
	log    *slog.Logger
}

// NewVisitorEndpoint returns the visitor WebSocket endpoint.
func NewVisitorEndpoint(hub *Hub, chat Chat, limits Limits, log *slog.Logger) *VisitorEndpoint {
	return &VisitorEndpoint{hub: hub, chat: chat, limits: limits, log: log}
}

// OriginAllowed reports whether a browser page at origin may open a socket:
// same origin as the request, or listed in the site's allowed origins.
// Requests without an Origin header (non-browser clients) are allowed, since
// cross-site WebSocket hijacking needs a browser.
func OriginAllowed(r *http.Request, site data.Site) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	for _, allowed := range site.AllowedOrigins {
		if strings.EqualFold(strings.TrimRight(allowed, "/"), origin) || allowed == "*" {
			return true
		}
	}
	return false
}

// ValidOrigin reports whether o can be an entry of a site's allowed
// origins: "*" or scheme://host[:port], without a path.
func ValidOrigin(o string) bool {
	if o == "*" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.User == nil &&
		(u.Path == "" || u.Path == "/") && u.RawQuery == "" && u.Fragment == ""
}

// Serve upgrades the request and runs the connection until it ends.
func (e *VisitorEndpoint) Serve(w http.ResponseWriter, r *http.Request, site data.Site, v data.Visitor) {
	page := chat.PageURL(r.URL.Query().Get("page")) // origin and path only: no query or fragment
	up := websocket.Upgrader{
		ReadBufferSize:  1024,
		WriteBufferSize: 4096,
		WriteBufferPool: e.hub.writeBuffers,
		CheckOrigin:     func(r *http.Request) bool { return OriginAllowed(r, site) },
	}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has written the HTTP error
	}
	c := &visitorConn{
		socket: newSocket(ws, e.limits), ep: e, visitor: v, own: ownMessages{},
		bucket:  newBucket(e.limits.MessagesPerSecond, e.limits.Burst),
		control: newBucket(e.limits.MessagesPerSecond*controlFactor, e.limits.Burst*3),
	}
	if !e.hub.register(c) {
		_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "server shutting down"), time.Now().Add(time.Second))
		ws.Close()
		return
	}
	if page != "" && len(page) <= 1000 {
		props, _ := json.Marshal(map[string]string{"url": page})
		if err := e.chat.Track(e.hub.ctx, v, "page_view", props); err != nil {
			e.log.Warn("record page view", slog.Any("err", err))
		}
	}
	// The visitor's conversation is looked up here, on the HTTP handler's
	// goroutine, which ends next: a store read takes a deep stack, and the
	// write pump's goroutine would keep it for as long as the socket lives
	// (most of an idle connection's memory).
	conv, convErr := e.chat.CurrentConversation(e.hub.ctx, v.ID)
	if convErr == nil && conv.Status == data.StatusBot {
		e.chat.AnswerPending(e.hub.ctx, conv)
	}
	// The connection lives on its own goroutine so the HTTP handler's
	// goroutine (with its deep stack and request buffers) can end; the hub
	// tracks the connection for shutdown.
	go c.run(conv, convErr)
}

type visitorConn struct {
	*socket
	ep         *VisitorEndpoint
	visitor    data.Visitor
	bucket     *bucket   // messages, tracked events, feedback, left messages, verified identities
	control    *bucket   // resumes, reads, ratings and unverified identities: each costs the server a store call
	lastTyping time.Time // read pump only

	// Owned by the write pump.
	convID string
	cursor int64
	// convSeq and convStatus are the newest state of convID sent to the
	// client. A state that comes later with a lower LastSeq is older (two
	// goroutines or nodes published their changes in the other order) and
	// is dropped, so the widget never shows "queued" after "assigned"; so
	// is the same state again (it comes on both the visitor's and the
	// conversation's topic).
	convSeq    int64
	convStatus data.Status
	topics     []string
	own        ownMessages
}

// run joins the visitor's topic, sends hello about conv (convErr: the
// lookup's error, data.ErrNotFound when there is none), then runs the read
// and write pumps until the socket ends.
func (c *visitorConn) run(conv data.Conversation, convErr error) {
	log := c.ep.log.With(slog.String("visitor", c.visitor.ID))
	defer c.ep.hub.unregister(c)
	visitorTopic := data.VisitorTopic(c.visitor.ID)
	if err := c.ep.hub.join(visitorTopic, c); err != nil {
		log.Error("join visitor topic", slog.Any("err", err))
		c.ws.Close()
		return
	}
	c.topics = append(c.topics, visitorTopic)
	hello := HelloFrame{Type: "hello", VisitorID: c.visitor.ID}
	if convErr == nil {
		hello.ConversationID, hello.Status, hello.LastSeq = conv.ID, string(conv.Status), conv.LastSeq
		c.switchConversation(conv.ID)
		// The client decides where to resume from; until it says, nothing
		// older than now is pushed.
		c.cursor = conv.LastSeq
		c.convSeq, c.convStatus = conv.LastSeq, conv.Status
	} else if !errors.Is(convErr, data.ErrNotFound) {
		log.Error("current conversation", slog.Any("err", convErr))
	}
	c.send <- outItem{frame: hello}
	go c.readLoop(func(f ClientFrame) { c.handleFrame(log, f) })
	c.writeLoop(c.handle)
	for _, t := range c.topics {
		c.ep.hub.leave(t, c)
	}
}

// deliver is called by the hub; it never blocks. A client too slow to keep
// up is disconnected and catches up by seq when it reconnects.
func (c *visitorConn) deliver(ev *data.Event) {
	var it outItem
	switch ev.Type {
	case data.EventMessage:
		if ev.Message == nil || ev.Message.Kind == data.KindNote {
			return
		}
		it.msg = ev.Message
	case data.EventConversation:
		if ev.Conversation == nil || ev.Conversation.VisitorID != c.visitor.ID {
			return
		}
		it.conv = ev.Conversation
	case data.EventPosition:
		if ev.Position == nil {
			return
		}
		it.frame = PositionFrame{Type: "position", ConversationID: ev.ConversationID, Position: ev.Position.Position, EstimatedWaitSeconds: ev.Position.EstimatedWaitSeconds}
	case data.EventTyping:
		if ev.Sender == data.SenderVisitor {
			return
		}
		it.frame = TypingFrame{Type: "typing", ConversationID: ev.ConversationID, Sender: string(ev.Sender)}
	case data.EventRead:
		if ev.Sender == data.SenderVisitor {
			return
		}
		it.frame = ReadFrame{Type: "read", ConversationID: ev.ConversationID, Sender: string(ev.Sender), Seq: ev.Seq}
	case data.EventBotToken:
		it.frame = BotTokenFrame{Type: "bot_token", ConversationID: ev.ConversationID, ReplyTo: ev.Seq, Text: ev.Text}
	default:
		return
	}
	c.enqueue(it)
}

// controlFactor is how many more control frames than messages a visitor
// socket may send (a widget sends a read frame for each message it shows).
const controlFactor = 5

// limited takes a token of b and reports whether there was none; then it
// answers with a rate_limited error frame unless quiet.
func (c *visitorConn) limited(b *bucket, quiet bool, clientMsgID string) bool {
	if b.allow(time.Now()) {
		return false
	}
	if !quiet {
		c.enqueue(outItem{frame: ErrorFrame{Type: "error", Code: CodeRateLimited, Message: "too many frames; slow down", ClientMsgID: clientMsgID}})
	}
	return true
}

// handleFrame acts on one decoded client frame (read pump).
func (c *visitorConn) handleFrame(log *slog.Logger, f ClientFrame) {
	ctx := c.ep.hub.ctx
	switch f.Type {
	case FrameResume:
		if c.limited(c.control, false, "") {
			return
		}
		c.enqueue(outItem{resume: &resumeReq{lastSeq: f.LastSeq, reply: true}})
	case FrameTyping:
		if time.Since(c.lastTyping) < 2*time.Second {
			return
		}
		c.lastTyping = time.Now()
		if conv, err := c.ep.chat.CurrentConversation(ctx, c.visitor.ID); err == nil && conv.Status != data.StatusClosed {
			c.ep.chat.Typing(ctx, conv.ID, data.SenderVisitor)
		}
	case FrameRead:
		if c.limited(c.control, true, "") {
			return
		}
		if conv, err := c.ep.chat.CurrentConversation(ctx, c.visitor.ID); err == nil && conv.ID == f.ConversationID {
			c.ep.chat.Read(ctx, conv.ID, data.SenderVisitor, f.Seq)
		}
	case FrameTrack:
		if c.limited(c.bucket, true, "") {
			return
		}
		if err := c.ep.chat.Track(ctx, c.visitor, f.Name, f.Props); err != nil {
			c.enqueue(outItem{frame: domainError(err)})
		}
	case FrameIdentify:
		b := c.control
		if f.Token != "" {
			b = c.bucket
		}
		if c.limited(b, false, "") {
			return
		}
		v, err := c.ep.chat.Identify(ctx, c.visitor, data.Personal{ExternalID: f.ExternalID, Name: f.Name, Email: f.Email, Phone: f.Phone}, f.Token)
		if err != nil {
			c.enqueue(outItem{frame: identityError(err)})
			return
		}
		c.enqueue(outItem{frame: IdentifiedFrame{Type: "identified", Verified: v.Personal.Verified}})
		c.visitor = v
	case FrameRate:
		if c.limited(c.control, false, "") {
			return
		}
		if _, err := c.ep.chat.Rate(ctx, c.visitor, f.ConversationID, f.Score, f.Comment); err != nil {
			c.enqueue(outItem{frame: domainError(err)})
			return
		}
		c.enqueue(outItem{frame: RatedFrame{Type: "rated", ConversationID: f.ConversationID, Score: f.Score}})
	case FrameFeedback:
		if c.limited(c.bucket, false, "") {
			return
		}
		if _, err := c.ep.chat.Feedback(ctx, c.visitor, f.ConversationID, f.Seq, *f.Helpful); err != nil {
			c.enqueue(outItem{frame: domainError(err)})
			return
		}
		c.enqueue(outItem{frame: FeedbackRecordedFrame{Type: "feedback_recorded", ConversationID: f.ConversationID, Seq: f.Seq, Helpful: *f.Helpful}})
	case FrameLeaveMessage:
		if c.limited(c.bucket, false, "") {
			return
		}
		t, err := c.ep.chat.LeaveMessage(ctx, c.visitor, data.Contact{Name: f.Name, Email: f.Email, Phone: f.Phone}, f.Text)
		if err != nil {
			log.Info("leave message refused", slog.Any("err", err))
			c.enqueue(outItem{frame: domainError(err)})
			return
		}
		c.enqueue(outItem{frame: TicketFrame{Type: "ticket", TicketID: t.ID}})
	case FrameMessage:
		if c.limited(c.bucket, false, f.ClientMsgID) {
			return
		}
		c.enqueueQuiet(outItem{sent: f.ClientMsgID})
		m, _, err := c.ep.chat.PostVisitorMessage(ctx, c.visitor, f.ClientMsgID, f.Text)
		if err != nil {
			code, msg := CodeInternal, "the message was not stored; retry with the same client_msg_id"
			if errors.Is(err, data.ErrInvalid) {
				code, msg = CodeBadFrame, "the message was refused: "+shorten(data.Reason(err))
			} else if ctx.Err() != nil {
				code, msg = CodeUnavailable, "server shutting down; retry with the same client_msg_id"
			}
			log.Warn("visitor message not stored", slog.Any("err", err))
			c.enqueue(outItem{ack: &ackReq{clientMsgID: f.ClientMsgID, fail: &ErrorFrame{Type: "error", Code: code, Message: msg, ClientMsgID: f.ClientMsgID}}})
			return
		}
		c.enqueue(outItem{ack: &ackReq{clientMsgID: f.ClientMsgID, msg: m}})
	default:
		c.enqueue(outItem{frame: ErrorFrame{Type: "error", Code: CodeUnknownType, Message: "frame type not used on visitor connections"}})
	}
}

// handle runs on the write pump: it keeps the client's view of its
// conversation gapless and duplicate-free by seq, filling gaps from the store.
func (c *visitorConn) handle(it outItem) error {
	ctx := c.ep.hub.ctx
	switch {
	case it.frame != nil:
		if _, ok := it.frame.(PositionFrame); ok && c.convStatus != data.StatusQueued {
			// Computed from a queue read before the conversation left it.
			return nil
		}
		return c.write(it.frame)
	case it.conv != nil:
		if it.conv.ID != c.convID {
			c.switchConversation(it.conv.ID)
			c.cursor = 0
		} else if it.conv.LastSeq < c.convSeq || (it.conv.LastSeq == c.convSeq && it.conv.Status == c.convStatus) {
			return nil
		}
		c.convSeq, c.convStatus = it.conv.LastSeq, it.conv.Status
		if err := c.write(ConversationFrame{Type: "conversation", ConversationID: it.conv.ID, Status: string(it.conv.Status)}); err != nil {
			return err
		}
		return c.fill(ctx, -1)
	case it.msg != nil:
		m := it.msg
		if m.ConversationID != c.convID || m.Seq <= c.cursor {
			return nil
		}
		if m.Seq > c.cursor+1 {
			if err := c.fill(ctx, m.Seq-1); err != nil {
				return err
			}
		}
		if m.Seq != c.cursor+1 {
			return nil
		}
		c.cursor = m.Seq
		return c.write(c.frameOf(m))
	case it.sent != "":
		c.own.sending(it.sent)
		return nil
	case it.ack != nil:
		fail, m := c.own.settle(it.ack)
		if fail != nil {
			return c.write(*fail)
		}
		if m == nil {
			return nil
		}
		// The ack carries the message; the event, if it comes, is then
		// behind the cursor. A visitor's message goes to the
		// visitor's current conversation: if it started one, follow it now
		// (its conversation event may come later, through another node).
		if m.ConversationID != c.convID {
			c.switchConversation(m.ConversationID)
			c.cursor = 0
		}
		if m.Seq > c.cursor {
			if m.Seq > c.cursor+1 {
				if err := c.fill(ctx, m.Seq-1); err != nil {
					return err
				}
			}
			if m.Seq == c.cursor+1 {
				c.cursor = m.Seq
			}
		}
		return c.write(ackFrame(m, visitorMessageFrame(m)))
	case it.resume != nil:
		if c.convID == "" {
			return c.write(ResumedFrame{Type: "resumed", LastSeq: 0})
		}
		c.cursor = it.resume.lastSeq
		if err := c.fill(ctx, -1); err != nil {
			return err
		}
		return c.write(ResumedFrame{Type: "resumed", ConversationID: c.convID, LastSeq: c.cursor})
	}
	return nil
}

// fill sends stored messages after the cursor, up to seq upTo (-1: all).
func (c *visitorConn) fill(ctx context.Context, upTo int64) error {
	return c.replay(ctx, c.ep.chat.Messages, c.convID, &c.cursor, upTo, func(m *data.Message) any {
		if m.Kind == data.KindNote {
			return nil
		}
		return c.frameOf(m)
	})
}

// frameOf renders a message for this connection: the message frame, or,
// for a message this connection is storing, its ack carrying the message.
func (c *visitorConn) frameOf(m *data.Message) any {
	if m.SenderKind == data.SenderVisitor && c.own.claimEvent(m.ClientMsgID) {
		return ackFrame(m, visitorMessageFrame(m))
	}
	return visitorMessageFrame(m)
}

func (c *visitorConn) switchConversation(id string) {
	if c.convID != "" {
		old := data.ConversationTopic(c.convID)
		c.ep.hub.leave(old, c)
		for i, t := range c.topics {
			if t == old {
				c.topics = append(c.topics[:i], c.topics[i+1:]...)
				break
			}
		}
	}
	c.convID = id
	topic := data.ConversationTopic(id)
	if err := c.ep.hub.join(topic, c); err == nil {
		c.topics = append(c.topics, topic)
	}
}

// domainError turns an error from the message path into an error frame.
func domainError(err error) ErrorFrame {
	switch {
	case errors.Is(err, data.ErrInvalid):
		return ErrorFrame{Type: "error", Code: CodeInvalid, Message: shorten(data.Reason(err))}
	case errors.Is(err, data.ErrNotFound):
		return ErrorFrame{Type: "error", Code: CodeNotFound, Message: "no such conversation"}
	case errors.Is(err, data.ErrConflict):
		return ErrorFrame{Type: "error", Code: CodeConflict, Message: shorten(data.Reason(err))}
	case errors.Is(err, chat.ErrForbidden):
		return ErrorFrame{Type: "error", Code: CodeForbidden, Message: "this conversation is not assigned to you"}
	}
	return ErrorFrame{Type: "error", Code: CodeInternal, Message: "the request failed; try again"}
}
