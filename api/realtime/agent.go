package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/frontdesk/frontdesk/data"
	"github.com/frontdesk/frontdesk/mask"
)

// AgentChat is what an agent connection needs from the message path.
type AgentChat interface {
	PostAgentMessage(ctx context.Context, a data.Agent, conversationID, clientMsgID, text string, note bool) (data.Message, bool, error)
	Conversation(ctx context.Context, id string) (data.Conversation, error)
	Messages(ctx context.Context, conversationID string, afterSeq int64, limit int) ([]data.Message, error)
	Typing(ctx context.Context, conversationID string, who data.SenderKind)
	Read(ctx context.Context, conversationID string, who data.SenderKind, seq int64)
	// MaskAgentView reports whether the conversation's site shows agents masked personal data.
	MaskAgentView(ctx context.Context, conversationID string) bool
}

// AgentDesk is what an agent connection needs from handoff.
type AgentDesk interface {
	Queue(ctx context.Context, group string) (data.Queue, error)
	AgentConversations(ctx context.Context, agentID string) ([]data.Conversation, error)
	ListGroups(ctx context.Context) ([]data.SkillGroup, error)
	// Connect marks the agent present until release is called.
	Connect(agentID string) (release func())
}

// AgentEndpoint upgrades logged-in agents' console connections.
type AgentEndpoint struct {
	hub     *Hub
	chat    AgentChat
	desk    AgentDesk
	limits  Limits
	log     *slog.Logger
	canView func(data.Agent, data.Conversation) bool
	// audit, when set, records that an agent watched (read the transcript
	// of) a conversation; a watch that cannot be recorded is refused.
	audit func(ctx context.Context, a data.Agent, conv data.Conversation) error
}

// WithAudit sets what records an agent's watch of a conversation (once
// per connection and conversation).
func (e *AgentEndpoint) WithAudit(f func(ctx context.Context, a data.Agent, conv data.Conversation) error) *AgentEndpoint {
	e.audit = f
	return e
}

// NewAgentEndpoint returns the agent WebSocket endpoint; canView decides
// which conversations an agent may watch.
func NewAgentEndpoint(hub *Hub, chat AgentChat, desk AgentDesk, canView func(data.Agent, data.Conversation) bool, limits Limits, log *slog.Logger) *AgentEndpoint {
	return &AgentEndpoint{hub: hub, chat: chat, desk: desk, canView: canView, limits: limits, log: log}
}

// SameOrigin reports whether the request's Origin is this server: the
// console is only ever served by Frontdesk itself.
func SameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

// Recheck answers, for an open console connection, the agent's account as
// it is now, or ErrSignedOut when its session has ended (expired, signed
// out, password changed, account disabled or deleted); any other error is
// transient and the connection stays.
type Recheck func(ctx context.Context) (data.Agent, error)

// ErrSignedOut is what a Recheck returns when the session has ended.
var ErrSignedOut = errors.New("realtime: the session has ended")

// RecheckEvery is how often an open console connection checks its session:
// a change made where no event reaches this node (the CLI, another
// installation's tools, plain expiry) ends the connection within it.
const RecheckEvery = time.Minute

// Serve upgrades the request and runs the agent's connection; recheck (may
// be nil) is called every RecheckEvery.
func (e *AgentEndpoint) Serve(w http.ResponseWriter, r *http.Request, a data.Agent, recheck Recheck) {
	up := websocket.Upgrader{ReadBufferSize: 1024, WriteBufferSize: 4096, WriteBufferPool: e.hub.writeBuffers, CheckOrigin: SameOrigin}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &agentConn{socket: newSocket(ws, e.limits), ep: e, agent: a, recheck: recheck, cursors: map[string]int64{}, states: map[string]int64{}, topics: map[string]bool{}, own: ownMessages{},
		bucket: newBucket(e.limits.MessagesPerSecond*5, e.limits.Burst*3)}
	if !e.hub.register(c) {
		_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "server shutting down"), time.Now().Add(time.Second))
		ws.Close()
		return
	}
	go c.run()
}

// AgentHelloFrame is the first frame on an agent connection.
type AgentHelloFrame struct {
	Type     string              `json:"type"`
	Agent    data.Agent          `json:"agent"`
	Queues   []data.Queue        `json:"queues"`
	Assigned []data.Conversation `json:"assigned"`
}

// QueueFrame carries a skill group's queue.
type QueueFrame struct {
	Type  string     `json:"type"`
	Queue data.Queue `json:"queue"`
}

// ConversationStateFrame carries a whole conversation record to agents.
type ConversationStateFrame struct {
	Type         string            `json:"type"`
	Conversation data.Conversation `json:"conversation"`
}

// AgentMessageFrame is a message as agents see it: with notes, the sender
// id and the metadata (for bot messages, the decision record).
type AgentMessageFrame struct {
	MessageFrame
	SenderID string          `json:"sender_id,omitempty"`
	Metadata json.RawMessage `json:"metadata,omitempty"`
}

type agentConn struct {
	*socket
	ep      *AgentEndpoint
	agent   data.Agent
	recheck Recheck
	bucket  *bucket
	// typed is when the agent's last typing frame per conversation was
	// passed on, at most one a second (read pump only).
	typed map[string]time.Time
	// watched are the conversations whose watch was audited (read pump only).
	watched map[string]bool
	lanes   *lanes // read loop only

	// Owned by the write pump.
	cursors map[string]int64
	// states holds, per conversation whose state was sent, the LastSeq of
	// that state; an older state published late is dropped (see visitorConn.convSeq).
	states map[string]int64
	topics map[string]bool
	masked map[string]bool // conversation -> its site masks the agent view
	own    ownMessages
}

func (c *agentConn) run() {
	log := c.ep.log.With(slog.String("agent", c.agent.ID))
	defer c.ep.hub.unregister(c)
	release := c.ep.desk.Connect(c.agent.ID)
	defer release()
	ctx := c.ep.hub.ctx
	c.joinTopic(data.AgentTopic(c.agent.ID))
	groups := c.agent.QueueGroups() // none for editors
	if c.agent.Role == data.RoleAdmin {
		groups = nil
		if all, err := c.ep.desk.ListGroups(ctx); err == nil {
			for _, g := range all {
				groups = append(groups, g.ID)
			}
		}
	}
	hello := AgentHelloFrame{Type: "hello", Agent: c.agent, Queues: []data.Queue{}, Assigned: []data.Conversation{}}
	for _, g := range groups {
		c.joinTopic(data.QueueTopic(g))
		if q, err := c.ep.desk.Queue(ctx, g); err == nil {
			hello.Queues = append(hello.Queues, q)
		}
	}
	if mine, err := c.ep.desk.AgentConversations(ctx, c.agent.ID); err == nil {
		hello.Assigned = append(hello.Assigned, mine...)
		for _, conv := range mine {
			c.watch(conv.ID, conv.LastSeq)
		}
	} else {
		log.Error("agent conversations", slog.Any("err", err))
	}
	c.send <- outItem{frame: hello}
	// Messages are stored on lanes (one per group of conversations); the
	// connection ends only after every message taken in is stored or failed.
	c.lanes = newLanes(agentLanes)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		c.readLoop(func(f ClientFrame) { c.handleFrame(log, f) })
		c.lanes.close()
	}()
	if c.recheck != nil {
		every := c.ep.limits.SessionRecheck
		if every <= 0 {
			every = RecheckEvery
		}
		go c.recheckLoop(ctx, every)
	}
	c.writeLoop(c.handle)
	<-readDone // writeLoop closed the socket, so the read loop ends too
	for t := range c.topics {
		c.ep.hub.leave(t, c)
	}
}

// recheckLoop ends the connection once the agent's session has ended or
// the account's rights changed (role, groups), until the socket closes.
func (c *agentConn) recheckLoop(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
		}
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		now, err := c.recheck(rctx)
		cancel()
		switch {
		case errors.Is(err, ErrSignedOut):
			c.close(websocket.ClosePolicyViolation, "your session has ended; sign in again")
			return
		case err != nil:
			c.ep.log.Warn("agent session recheck", slog.String("agent", c.agent.ID), slog.Any("err", err))
		case now.Role != c.agent.Role || !slices.Equal(slices.Sorted(slices.Values(now.Groups)), slices.Sorted(slices.Values(c.agent.Groups))):
			c.close(websocket.ClosePolicyViolation, "your account was changed; sign in again")
			return
		}
	}
}

func (c *agentConn) joinTopic(t string) {
	if c.topics[t] {
		return
	}
	if err := c.ep.hub.join(t, c); err == nil {
		c.topics[t] = true
	}
}

// watch starts following a conversation from seq (write pump or setup only).
func (c *agentConn) watch(conversationID string, from int64) {
	c.joinTopic(data.ConversationTopic(conversationID))
	c.cursors[conversationID] = from
}

func (c *agentConn) deliver(ev *data.Event) {
	var it outItem
	switch ev.Type {
	case data.EventAccount:
		// The connection holds the account as it was at connect time.
		c.close(websocket.ClosePolicyViolation, "your account was changed; sign in again")
		return
	case data.EventMessage:
		it.msg = ev.Message
	case data.EventConversation, data.EventAssigned:
		if ev.Conversation == nil {
			return
		}
		it.conv = ev.Conversation
	case data.EventQueue:
		if ev.Queue == nil {
			return
		}
		it.frame = QueueFrame{Type: "queue", Queue: *ev.Queue}
	case data.EventTyping:
		if ev.Sender != data.SenderVisitor {
			return
		}
		it.frame = TypingFrame{Type: "typing", ConversationID: ev.ConversationID, Sender: string(ev.Sender)}
	case data.EventRead:
		if ev.Sender != data.SenderVisitor {
			return
		}
		it.frame = ReadFrame{Type: "read", ConversationID: ev.ConversationID, Sender: string(ev.Sender), Seq: ev.Seq}
	default:
		return
	}
	if it.msg == nil && it.conv == nil && it.frame == nil {
		return
	}
	c.enqueue(it)
}

func (c *agentConn) handleFrame(log *slog.Logger, f ClientFrame) {
	ctx := c.ep.hub.ctx
	switch f.Type {
	case FrameWatch:
		conv, err := c.ep.chat.Conversation(ctx, f.ConversationID)
		if err != nil || !c.ep.canView(c.agent, conv) {
			c.enqueue(outItem{frame: ErrorFrame{Type: "error", Code: CodeForbidden, Message: "you may not view this conversation"}})
			return
		}
		if c.ep.audit != nil && !c.watched[conv.ID] {
			if err := c.ep.audit(ctx, c.agent, conv); err != nil {
				log.Error("audit watch", slog.String("conversation", conv.ID), slog.Any("err", err))
				c.enqueue(outItem{frame: ErrorFrame{Type: "error", Code: CodeInternal, Message: "the access could not be recorded; try again"}})
				return
			}
			if c.watched == nil || len(c.watched) > 1000 {
				c.watched = map[string]bool{}
			}
			c.watched[conv.ID] = true
		}
		c.enqueue(outItem{resume: &resumeReq{conversationID: conv.ID, lastSeq: f.LastSeq, reply: true}})
	case FrameTyping:
		if f.ConversationID == "" || time.Since(c.typed[f.ConversationID]) < time.Second {
			return
		}
		if c.typed == nil || len(c.typed) > 100 {
			c.typed = map[string]time.Time{}
		}
		c.typed[f.ConversationID] = time.Now()
		c.lanes.do(f.ConversationID, func() {
			if conv, err := c.ep.chat.Conversation(ctx, f.ConversationID); err == nil && conv.AssignedAgent == c.agent.ID {
				c.ep.chat.Typing(ctx, conv.ID, data.SenderAgent)
			}
		})
	case FrameRead:
		c.lanes.do(f.ConversationID, func() {
			if conv, err := c.ep.chat.Conversation(ctx, f.ConversationID); err == nil && conv.AssignedAgent == c.agent.ID {
				c.ep.chat.Read(ctx, conv.ID, data.SenderAgent, f.Seq)
			}
		})
	case FrameMessage, FrameNote:
		if f.ConversationID == "" {
			c.enqueue(outItem{frame: ErrorFrame{Type: "error", Code: CodeBadFrame, Message: "conversation_id is required", ClientMsgID: f.ClientMsgID}})
			return
		}
		if !c.bucket.allow(time.Now()) {
			c.enqueue(outItem{frame: ErrorFrame{Type: "error", Code: CodeRateLimited, Message: "too many messages; slow down", ClientMsgID: f.ClientMsgID}})
			return
		}
		// Stored on the conversation's lane: in order within the
		// conversation, alongside the agent's other conversations.
		c.lanes.do(f.ConversationID, func() {
			c.enqueueQuiet(outItem{sent: f.ClientMsgID})
			m, _, err := c.ep.chat.PostAgentMessage(ctx, c.agent, f.ConversationID, f.ClientMsgID, f.Text, f.Type == FrameNote)
			if err != nil {
				fe := domainError(err)
				fe.ClientMsgID = f.ClientMsgID
				log.Info("agent message refused", slog.Any("err", err))
				c.enqueue(outItem{ack: &ackReq{clientMsgID: f.ClientMsgID, fail: &fe}})
				return
			}
			c.enqueue(outItem{ack: &ackReq{clientMsgID: f.ClientMsgID, msg: m}})
		})
	default:
		c.enqueue(outItem{frame: ErrorFrame{Type: "error", Code: CodeUnknownType, Message: "frame type not used on agent connections"}})
	}
}

// messageFrame renders a message for this agent, with phone, ID and card
// numbers and e-mails partly masked when the conversation's site asks for it.
func (c *agentConn) messageFrame(ctx context.Context, m *data.Message) AgentMessageFrame {
	masked, ok := c.masked[m.ConversationID]
	if !ok {
		if c.masked == nil {
			c.masked = map[string]bool{}
		}
		masked = c.ep.chat.MaskAgentView(ctx, m.ConversationID)
		c.masked[m.ConversationID] = masked
	}
	if !masked {
		return agentMessageFrame(m)
	}
	cp := *m
	cp.Text = mask.Partial(cp.Text)
	cp.Metadata = mask.PartialJSON(cp.Metadata) // a bot decision echoes the visitor's words
	return agentMessageFrame(&cp)
}

// frameOf renders a message for this connection: the message frame, or,
// for a message this connection is storing, its ack carrying the message.
func (c *agentConn) frameOf(ctx context.Context, m *data.Message) any {
	if m.SenderKind == data.SenderAgent && m.SenderID == c.agent.ID && c.own.claimEvent(m.ClientMsgID) {
		return ackFrame(m, c.messageFrame(ctx, m))
	}
	return c.messageFrame(ctx, m)
}

func agentMessageFrame(m *data.Message) AgentMessageFrame {
	f := AgentMessageFrame{MessageFrame: visitorMessageFrame(m), SenderID: m.SenderID, Metadata: m.Metadata}
	f.ClientMsgID = m.ClientMsgID
	return f
}

// handle runs on the write pump; per watched conversation it keeps a cursor
// so the agent sees every message once, in order, filling gaps from the store.
func (c *agentConn) handle(it outItem) error {
	ctx := c.ep.hub.ctx
	switch {
	case it.frame != nil:
		return c.write(it.frame)
	case it.conv != nil:
		conv := it.conv
		if seq, shown := c.states[conv.ID]; shown && conv.LastSeq < seq {
			return nil
		}
		if _, watching := c.cursors[conv.ID]; !watching && conv.AssignedAgent == c.agent.ID && conv.Status == data.StatusAssigned {
			c.watch(conv.ID, 0)
			c.states[conv.ID] = conv.LastSeq
			if err := c.write(ConversationStateFrame{Type: "assigned", Conversation: *conv}); err != nil {
				return err
			}
			return c.fill(ctx, conv.ID, -1)
		}
		if _, watching := c.cursors[conv.ID]; watching || conv.AssignedAgent == c.agent.ID {
			c.states[conv.ID] = conv.LastSeq
			return c.write(ConversationStateFrame{Type: "conversation", Conversation: *conv})
		}
		return nil
	case it.msg != nil:
		m := it.msg
		cur, watching := c.cursors[m.ConversationID]
		if !watching || m.Seq <= cur {
			return nil
		}
		if m.Seq > cur+1 {
			if err := c.fill(ctx, m.ConversationID, m.Seq-1); err != nil {
				return err
			}
		}
		if m.Seq != c.cursors[m.ConversationID]+1 {
			return nil
		}
		c.cursors[m.ConversationID] = m.Seq
		return c.write(c.frameOf(ctx, m))
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
		// behind the cursor.
		if cur, watching := c.cursors[m.ConversationID]; watching && m.Seq > cur {
			if m.Seq > cur+1 {
				if err := c.fill(ctx, m.ConversationID, m.Seq-1); err != nil {
					return err
				}
			}
			if m.Seq == c.cursors[m.ConversationID]+1 {
				c.cursors[m.ConversationID] = m.Seq
			}
		}
		return c.write(ackFrame(m, c.messageFrame(ctx, m)))
	case it.resume != nil:
		c.watch(it.resume.conversationID, it.resume.lastSeq)
		if err := c.fill(ctx, it.resume.conversationID, -1); err != nil {
			return err
		}
		conv, err := c.ep.chat.Conversation(ctx, it.resume.conversationID)
		if err == nil {
			if err := c.write(ConversationStateFrame{Type: "conversation", Conversation: conv}); err != nil {
				return err
			}
		}
		return c.write(ResumedFrame{Type: "resumed", ConversationID: it.resume.conversationID, LastSeq: c.cursors[it.resume.conversationID]})
	}
	return nil
}

func (c *agentConn) fill(ctx context.Context, convID string, upTo int64) error {
	cursor := c.cursors[convID]
	err := c.replay(ctx, c.ep.chat.Messages, convID, &cursor, upTo, func(m *data.Message) any { return c.frameOf(ctx, m) })
	c.cursors[convID] = cursor
	return err
}
