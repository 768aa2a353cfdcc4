package handoff

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/frontdesk/frontdesk/data"
)

// Store is what the router needs from storage.
type Store interface {
	GetConversation(ctx context.Context, id string) (data.Conversation, error)
	Transition(ctx context.Context, t data.Transition) (data.Conversation, data.Message, error)
	AppendMessage(ctx context.Context, m data.Message) (data.Message, bool, error)
	QueuedConversations(ctx context.Context, groupID string) ([]data.Conversation, error)
	AgentLoads(ctx context.Context) (map[string]int, error)
	RecentWaits(ctx context.Context, groupID string, limit int) ([]time.Duration, error)
	GetGroup(ctx context.Context, id string) (data.SkillGroup, error)
	ListGroups(ctx context.Context) ([]data.SkillGroup, error)
	GetAgent(ctx context.Context, id string) (data.Agent, error)
	ListAgents(ctx context.Context) ([]data.Agent, error)
	CreateTicket(ctx context.Context, t data.Ticket, outbox ...data.OutboxItem) (data.Ticket, error)
	GetTicket(ctx context.Context, id string) (data.Ticket, error)
	AgentConversations(ctx context.Context, agentID string) ([]data.Conversation, error)
	IdleConversations(ctx context.Context, before time.Time, limit int) ([]data.Conversation, error)
}

// Publisher publishes committed changes to the broker.
type Publisher interface {
	Message(ctx context.Context, m data.Message)
	Conversation(ctx context.Context, c data.Conversation)
	Event(ctx context.Context, topic string, ev data.Event)
}

// Errors the router returns besides the data sentinels.
var (
	// ErrNotAllowed means the agent may not act on this conversation.
	ErrNotAllowed = errors.New("handoff: not allowed")
	// ErrAtCapacity means the agent already has as many conversations as their capacity.
	ErrAtCapacity = errors.New("handoff: agent is at capacity")
)

// Config tunes the router.
type Config struct {
	// DefaultGroup receives handoffs whose group does not exist.
	DefaultGroup string
	// TickInterval is how often timers (overflow, wait limits) are checked.
	TickInterval time.Duration
	// NotifyEmail receives new tickets of groups without their own address.
	NotifyEmail string
	// IdleClose closes open conversations (with the bot, queued or with an
	// agent) after this long without activity; 0 means 30 minutes, a
	// negative value never.
	IdleClose time.Duration
	// Avoidance keeps a conversation transferred to a group (or requeued
	// when its agent went away) from being routed back to that agent for a
	// while. Nodes sharing a store must share it (RedisPresence.Avoidance);
	// nil keeps it in this process (one node).
	Avoidance Avoidance
}

// Router owns queues and assignment.
type Router struct {
	store    Store
	pub      Publisher
	presence Presence
	log      *slog.Logger
	cfg      Config
	now      func() time.Time

	assignMu sync.Mutex
	// avoid keeps a conversation transferred to a group away from the agent
	// who transferred it, for avoidFor, on every node sharing it.
	avoid Avoidance
	// queueMu makes each queue snapshot's read and publish one step, so this
	// node publishes its snapshots in the order it read them: otherwise a
	// snapshot read before an assignment could be published after a newer
	// one, and consoles would show the assigned conversation as waiting
	// (and its visitor a place in line) until the next tick.
	queueMu sync.Mutex
	// published is, per group, what this node last published of its queue
	// (guarded by queueMu), so that unchanged queues are not sent again.
	published map[string]publishedQueue
}

// NewRouter returns a router; call Run for its timers.
func NewRouter(store Store, pub Publisher, presence Presence, log *slog.Logger, cfg Config) *Router {
	if cfg.DefaultGroup == "" {
		cfg.DefaultGroup = "default_support"
	}
	if cfg.TickInterval <= 0 {
		cfg.TickInterval = 2 * time.Second
	}
	if cfg.IdleClose == 0 {
		cfg.IdleClose = 30 * time.Minute
	}
	avoid := cfg.Avoidance
	if avoid == nil {
		avoid = NewMemoryAvoidance()
	}
	return &Router{store: store, pub: pub, presence: presence, log: log, cfg: cfg, avoid: avoid, published: map[string]publishedQueue{},
		now: func() time.Time { return time.Now().UTC() }}
}

// Reasons a visitor is offered to leave a message.
const (
	OfferNoAgents    = "no_agents"
	OfferClosedHours = "outside_business_hours"
	OfferMaxWait     = "max_wait"
)

// Enqueue hands a conversation from the bot to a skill group's queue.
func (r *Router) Enqueue(ctx context.Context, conversationID, group, reason string, priority int) (data.Conversation, error) {
	g, err := r.store.GetGroup(ctx, group)
	if errors.Is(err, data.ErrNotFound) && group != r.cfg.DefaultGroup {
		g, err = r.store.GetGroup(ctx, r.cfg.DefaultGroup)
	}
	if err != nil {
		return data.Conversation{}, fmt.Errorf("handoff: enqueue %s: group %q: %w", conversationID, group, err)
	}
	conv, msg, err := r.store.Transition(ctx, data.Transition{
		ConversationID: conversationID, From: data.StatusBot, To: data.StatusQueued, SkillGroup: g.ID,
		HandoffReason: reason, Priority: priority, At: r.now(),
		Note: "Connecting you with a person from our team. 正在为您转接人工客服。",
	})
	if err != nil {
		return data.Conversation{}, fmt.Errorf("handoff: enqueue %s: %w", conversationID, err)
	}
	r.pub.Message(ctx, msg)
	r.pub.Conversation(ctx, conv)
	if offer := r.availability(g); offer != "" {
		r.offerTicket(ctx, conv, offer)
	}
	r.Assign(ctx, g.ID)
	return conv, nil
}

// availability returns why nobody will answer now, or "" when someone can.
func (r *Router) availability(g data.SkillGroup) string {
	if !IsOpen(g.Settings.BusinessHours, r.now()) {
		return OfferClosedHours
	}
	if len(r.onlineMembers(context.Background(), g.ID)) == 0 {
		return OfferNoAgents
	}
	return ""
}

// offerTicket tells the visitor they can leave a message. Its client id is
// derived from the conversation and reason, so every node offers it once;
// it is stored only while the conversation is still queued (conv may have
// been read before an agent took it, here or on another node).
func (r *Router) offerTicket(ctx context.Context, conv data.Conversation, reason string) {
	texts := map[string]string{
		OfferNoAgents:    "No agent is available right now. You can keep waiting, or leave a message and we will reply by e-mail. 当前暂无客服在线，您可以继续等待，或留言，我们会通过邮件回复您。",
		OfferClosedHours: "We are outside business hours. Leave a message and we will reply by e-mail. 现在是非工作时间，请留言，我们会通过邮件回复您。",
		OfferMaxWait:     "Sorry for the long wait. You can keep waiting, or leave a message and we will reply by e-mail. 抱歉让您久等了，您可以继续等待，或留言，我们会通过邮件回复您。",
	}
	meta, _ := json.Marshal(map[string]string{"event": "offer_ticket", "reason": reason})
	msg, dup, err := r.store.AppendMessage(ctx, data.Message{
		ConversationID: conv.ID, SenderKind: data.SenderSystem, Kind: data.KindEvent, Text: texts[reason],
		Metadata: meta, ClientMsgID: "offer-ticket-" + reason,
		Expect: &data.Expectation{Status: data.StatusQueued},
	})
	if errors.Is(err, data.ErrStale) {
		return // no longer waiting: an agent joined, or it was closed or moved back
	}
	if err != nil {
		r.log.Warn("offer ticket", slog.String("conversation", conv.ID), slog.Any("err", err))
		return
	}
	if !dup {
		r.pub.Message(ctx, msg)
	}
}

// onlineMembers returns the online, enabled agents of a group with their idle-since times.
func (r *Router) onlineMembers(ctx context.Context, group string) map[string]data.Agent {
	online := r.presence.Online()
	out := map[string]data.Agent{}
	if len(online) == 0 {
		return out
	}
	agents, err := r.store.ListAgents(ctx)
	if err != nil {
		r.log.Warn("list agents", slog.Any("err", err))
		return out
	}
	for _, a := range agents {
		if _, ok := online[a.ID]; !ok || a.Disabled || a.Capacity == 0 || a.Role == data.RoleEditor {
			continue
		}
		for _, g := range a.Groups {
			if g == group {
				out[a.ID] = a
			}
		}
	}
	return out
}

// Assign gives queued conversations of a group to online agents with free
// capacity: least loaded first, then longest idle. It is safe to call from
// several nodes at once: the store assigns each conversation once.
func (r *Router) Assign(ctx context.Context, group string) {
	r.assignMu.Lock()
	defer r.assignMu.Unlock()
	g, err := r.store.GetGroup(ctx, group)
	if err != nil {
		r.log.Warn("assign: group", slog.String("group", group), slog.Any("err", err))
		return
	}
	defer r.publishQueue(ctx, group)
	if g.Settings.Routing == "manual" || !IsOpen(g.Settings.BusinessHours, r.now()) {
		return
	}
	queue, err := r.store.QueuedConversations(ctx, group)
	if err != nil || len(queue) == 0 {
		return
	}
	members := r.onlineMembers(ctx, group)
	if len(members) == 0 {
		return
	}
	loads, err := r.store.AgentLoads(ctx)
	if err != nil {
		r.log.Warn("assign: loads", slog.Any("err", err))
		return
	}
	online := r.presence.Online()
	var cands []candidate
	for id, a := range members {
		if loads[id] < a.Capacity {
			cands = append(cands, candidate{id: id, load: loads[id], capacity: a.Capacity, idle: online[id]})
		}
	}
	ids := make([]string, len(queue))
	for i, conv := range queue {
		ids[i] = conv.ID
	}
	avoiding := r.avoid.Avoiding(ctx, ids)
	for _, conv := range queue {
		avoid := avoiding[conv.ID]
		for {
			rank(cands)
			i := slices.IndexFunc(cands, func(c candidate) bool { return c.id != avoid })
			if i < 0 && len(cands) > 0 {
				// Only the agent it avoids can take it: better them than
				// nobody (the avoidance holds while someone else can).
				i = 0
			}
			if i < 0 {
				break
			}
			c := &cands[i]
			_, err := r.assign(ctx, conv.ID, c.id, c.capacity, "routing")
			if err == nil {
				c.load++
				if c.load >= c.capacity {
					cands = slices.Delete(cands, i, i+1)
				}
				break
			}
			if errors.Is(err, ErrAtCapacity) {
				cands = slices.Delete(cands, i, i+1) // another node filled this agent; try the next
				continue
			}
			break // the conversation left the queue (accepted elsewhere): next one
		}
		if len(cands) == 0 {
			return
		}
	}
}

// avoidFor is how long a conversation transferred to a group is kept away
// from the agent who transferred it.
const avoidFor = 15 * time.Minute

// assign moves a queued conversation to an agent and publishes everything.
func (r *Router) assign(ctx context.Context, conversationID, agentID string, capacity int, how string) (data.Conversation, error) {
	agent, err := r.store.GetAgent(ctx, agentID)
	if err != nil {
		return data.Conversation{}, fmt.Errorf("handoff: assign: %w", err)
	}
	cur, err := r.store.GetConversation(ctx, conversationID)
	if err != nil {
		return data.Conversation{}, fmt.Errorf("handoff: assign: %w", err)
	}
	if cur.Status != data.StatusQueued {
		return data.Conversation{}, fmt.Errorf("handoff: assign %s: conversation is %s: %w", conversationID, cur.Status, data.ErrConflict)
	}
	conv, msg, err := r.store.Transition(ctx, data.Transition{
		ConversationID: conversationID, From: data.StatusQueued, To: data.StatusAssigned, AssignedAgent: agentID,
		Capacity: capacity, At: r.now(),
		Note: fmt.Sprintf("%s joined the conversation. 客服 %s 已接入。", agent.Name, agent.Name),
	})
	if err != nil {
		if errors.Is(err, data.ErrConflict) {
			if now, gerr := r.store.GetConversation(ctx, conversationID); gerr == nil && now.Status == data.StatusQueued {
				return data.Conversation{}, ErrAtCapacity
			}
		}
		return data.Conversation{}, fmt.Errorf("handoff: assign %s to %s: %w", conversationID, agentID, err)
	}
	r.presence.MarkAssigned(agentID, r.now())
	r.pub.Message(ctx, msg)
	r.pub.Conversation(ctx, conv)
	r.pub.Event(ctx, data.AgentTopic(agentID), data.Event{Type: data.EventAssigned, Conversation: &conv})
	r.log.Info("conversation assigned", slog.String("conversation", conv.ID), slog.String("agent", agentID), slog.String("how", how))
	return conv, nil
}

// Accept lets an agent take a queued conversation by hand. Exactly one of
// several concurrent accepts wins; the others get data.ErrConflict.
func (r *Router) Accept(ctx context.Context, agentID, conversationID string) (data.Conversation, error) {
	agent, err := r.store.GetAgent(ctx, agentID)
	if err != nil {
		return data.Conversation{}, fmt.Errorf("handoff: accept: %w", err)
	}
	conv, err := r.store.GetConversation(ctx, conversationID)
	if err != nil {
		return data.Conversation{}, fmt.Errorf("handoff: accept: %w", err)
	}
	if conv.Status != data.StatusQueued {
		return data.Conversation{}, fmt.Errorf("handoff: accept %s: conversation is %s: %w", conversationID, conv.Status, data.ErrConflict)
	}
	if !canServe(agent, conv.SkillGroup) {
		return data.Conversation{}, fmt.Errorf("handoff: %s is not in group %s: %w", agentID, conv.SkillGroup, ErrNotAllowed)
	}
	if agent.Capacity == 0 { // capacity 0: takes no conversations (the store would read it as no limit)
		return data.Conversation{}, fmt.Errorf("handoff: accept: %s has capacity 0: %w", agentID, ErrAtCapacity)
	}
	out, err := r.assign(ctx, conversationID, agentID, agent.Capacity, "accept")
	if err != nil {
		return data.Conversation{}, err
	}
	r.publishQueue(ctx, conv.SkillGroup)
	return out, nil
}

func canServe(a data.Agent, group string) bool {
	if a.Disabled || a.Role == data.RoleEditor {
		return false
	}
	if a.Role == data.RoleAdmin {
		return true
	}
	for _, g := range a.Groups {
		if g == group {
			return true
		}
	}
	return false
}

// own checks that the agent may act on an assigned conversation.
func (r *Router) own(ctx context.Context, agentID, conversationID string) (data.Agent, data.Conversation, error) {
	agent, err := r.store.GetAgent(ctx, agentID)
	if err != nil {
		return data.Agent{}, data.Conversation{}, err
	}
	conv, err := r.store.GetConversation(ctx, conversationID)
	if err != nil {
		return data.Agent{}, data.Conversation{}, err
	}
	if conv.Status != data.StatusAssigned {
		return data.Agent{}, data.Conversation{}, fmt.Errorf("conversation is %s: %w", conv.Status, data.ErrConflict)
	}
	if conv.AssignedAgent != agentID && agent.Role != data.RoleAdmin {
		return data.Agent{}, data.Conversation{}, fmt.Errorf("conversation belongs to another agent: %w", ErrNotAllowed)
	}
	return agent, conv, nil
}

// Transfer moves an agent's conversation to another group's queue, or
// directly to a named agent (who must have free capacity).
func (r *Router) Transfer(ctx context.Context, agentID, conversationID, toGroup, toAgent, note string) (data.Conversation, error) {
	agent, conv, err := r.own(ctx, agentID, conversationID)
	if err != nil {
		return data.Conversation{}, fmt.Errorf("handoff: transfer: %w", err)
	}
	if len(note) > 500 {
		return data.Conversation{}, fmt.Errorf("handoff: transfer note longer than 500 bytes: %w", data.ErrInvalid)
	}
	var (
		out data.Conversation
		msg data.Message
	)
	switch {
	case toAgent != "":
		target, err := r.store.GetAgent(ctx, toAgent)
		if err != nil {
			return data.Conversation{}, fmt.Errorf("handoff: transfer to agent %s: %w", toAgent, err)
		}
		if target.Disabled || target.Role == data.RoleEditor || toAgent == agentID {
			return data.Conversation{}, fmt.Errorf("handoff: cannot transfer to %s: %w", toAgent, data.ErrInvalid)
		}
		if target.Capacity == 0 {
			return data.Conversation{}, fmt.Errorf("handoff: transfer: %s has capacity 0: %w", toAgent, ErrAtCapacity)
		}
		out, msg, err = r.store.Transition(ctx, data.Transition{ConversationID: conv.ID, From: data.StatusAssigned, To: data.StatusAssigned,
			AssignedAgent: toAgent, Capacity: target.Capacity, At: r.now(),
			Note: fmt.Sprintf("%s transferred the conversation to %s. 已转接给 %s。", agent.Name, target.Name, target.Name)})
		if err != nil {
			return data.Conversation{}, fmt.Errorf("handoff: transfer to %s: %w", toAgent, err)
		}
		r.pub.Event(ctx, data.AgentTopic(toAgent), data.Event{Type: data.EventAssigned, Conversation: &out})
	case toGroup != "":
		g, err := r.store.GetGroup(ctx, toGroup)
		if err != nil {
			return data.Conversation{}, fmt.Errorf("handoff: transfer to group %s: %w", toGroup, err)
		}
		team := cmp.Or(g.Name, g.ID) // the visitor sees the team's name, not its id
		out, msg, err = r.store.Transition(ctx, data.Transition{ConversationID: conv.ID, From: data.StatusAssigned, To: data.StatusQueued,
			SkillGroup: toGroup, At: r.now(),
			Note: fmt.Sprintf("%s transferred the conversation to %s. 已为您转接到其他客服组（%s）。", agent.Name, team, team)})
		if err != nil {
			return data.Conversation{}, fmt.Errorf("handoff: transfer to group %s: %w", toGroup, err)
		}
		r.avoid.Avoid(ctx, conv.ID, agentID, avoidFor)
	default:
		return data.Conversation{}, fmt.Errorf("handoff: transfer needs a group or an agent: %w", data.ErrInvalid)
	}
	r.pub.Message(ctx, msg)
	if note != "" {
		// The note is for agents only: a note message, never part of the
		// system message the visitor sees.
		n, _, err := r.store.AppendMessage(ctx, data.Message{ConversationID: conv.ID, SenderKind: data.SenderAgent, SenderID: agentID,
			Kind: data.KindNote, Text: "Transfer note 转接备注: " + note})
		if err != nil {
			r.log.Warn("transfer note not stored", slog.String("conversation", conv.ID), slog.Any("err", err))
		} else {
			r.pub.Message(ctx, n)
		}
	}
	r.pub.Conversation(ctx, out)
	r.pub.Event(ctx, data.AgentTopic(agentID), data.Event{Type: data.EventConversation, Conversation: &out})
	if toGroup != "" {
		r.Assign(ctx, toGroup)
	}
	r.Assign(ctx, conv.SkillGroup) // the agent has a free slot again
	return out, nil
}

// HandBack returns an agent's conversation to the bot.
func (r *Router) HandBack(ctx context.Context, agentID, conversationID string) (data.Conversation, error) {
	agent, conv, err := r.own(ctx, agentID, conversationID)
	if err != nil {
		return data.Conversation{}, fmt.Errorf("handoff: hand back: %w", err)
	}
	out, msg, err := r.store.Transition(ctx, data.Transition{ConversationID: conv.ID, From: data.StatusAssigned, To: data.StatusBot, At: r.now(),
		Note: fmt.Sprintf("%s handed the conversation back to the assistant. 已转回智能助手。", agent.Name)})
	if err != nil {
		return data.Conversation{}, fmt.Errorf("handoff: hand back: %w", err)
	}
	r.finish(ctx, agentID, conv.SkillGroup, out, msg)
	return out, nil
}

// Close ends an agent's conversation; the visitor is asked for a rating.
func (r *Router) Close(ctx context.Context, agentID, conversationID string) (data.Conversation, error) {
	agent, conv, err := r.own(ctx, agentID, conversationID)
	if err != nil {
		return data.Conversation{}, fmt.Errorf("handoff: close: %w", err)
	}
	out, msg, err := r.store.Transition(ctx, data.Transition{ConversationID: conv.ID, From: data.StatusAssigned, To: data.StatusClosed, At: r.now(),
		Note: fmt.Sprintf("%s closed the conversation. How did we do? 本次服务已结束，请为我们的服务评分。", agent.Name)})
	if err != nil {
		return data.Conversation{}, fmt.Errorf("handoff: close: %w", err)
	}
	r.finish(ctx, agentID, conv.SkillGroup, out, msg)
	return out, nil
}

func (r *Router) finish(ctx context.Context, agentID, group string, conv data.Conversation, msg data.Message) {
	r.pub.Message(ctx, msg)
	r.pub.Conversation(ctx, conv)
	r.pub.Event(ctx, data.AgentTopic(agentID), data.Event{Type: data.EventConversation, Conversation: &conv})
	r.Assign(ctx, group)
}

// Position returns a queued conversation's place in its queue and an
// estimate of the wait from the group's recent queue waits.
func (r *Router) Position(ctx context.Context, conv data.Conversation) (data.Position, error) {
	queue, err := r.store.QueuedConversations(ctx, conv.SkillGroup)
	if err != nil {
		return data.Position{}, fmt.Errorf("handoff: position: %w", err)
	}
	for i, c := range queue {
		if c.ID == conv.ID {
			waits, _ := r.store.RecentWaits(ctx, conv.SkillGroup, 20)
			return data.Position{Position: i + 1, EstimatedWaitSeconds: estimate(waits, i+1, len(r.onlineMembers(ctx, conv.SkillGroup)))}, nil
		}
	}
	return data.Position{}, fmt.Errorf("handoff: %s is not queued: %w", conv.ID, data.ErrNotFound)
}

// estimate is the median recent wait, scaled by the position over the
// number of agents serving in parallel; 0 means "no estimate": no history to
// go by, or no agent online (the wait is unknown, not the usual one).
func estimate(waits []time.Duration, position, agents int) int {
	if len(waits) == 0 || agents < 1 {
		return 0
	}
	sorted := append([]time.Duration(nil), waits...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	median := sorted[len(sorted)/2]
	slots := (position + agents - 1) / agents
	secs := int((median * time.Duration(slots)).Seconds())
	if secs < 1 {
		secs = 1
	}
	return secs
}

// positionRefresh is how often this node sends a waiting visitor's
// unchanged position again: positions are otherwise sent only when they
// change, and a visitor whose socket reconnected (or joined its
// conversation's topic just after a change) learns its place this way.
const positionRefresh = 30 * time.Second

// publishedQueue is what a node last published of one group's queue.
type publishedQueue struct {
	entries   []data.QueueEntry
	positions map[string]publishedPosition // by conversation
}

type publishedPosition struct {
	pos data.Position
	at  time.Time
}

// publishQueue sends the group's queue to consoles when it differs from
// what this node last sent of it, and each waiting visitor's position when
// it changed (or was last sent positionRefresh ago). Consoles get the
// current queue when they connect (Queue), so an unchanged queue is not
// sent again; another node's change differs from this node's last
// snapshot, so each node sends a change at most once.
func (r *Router) publishQueue(ctx context.Context, group string) {
	r.queueMu.Lock()
	defer r.queueMu.Unlock()
	queue, err := r.store.QueuedConversations(ctx, group)
	if err != nil {
		r.log.Warn("publish queue", slog.String("group", group), slog.Any("err", err))
		return
	}
	snap := data.Queue{Group: group, Entries: make([]data.QueueEntry, 0, len(queue))}
	waits, _ := r.store.RecentWaits(ctx, group, 20)
	agents := len(r.onlineMembers(ctx, group))
	prev, known := r.published[group]
	next := publishedQueue{positions: make(map[string]publishedPosition, len(queue))}
	now := r.now()
	for i, c := range queue {
		e := data.QueueEntry{ConversationID: c.ID, VisitorID: c.VisitorID, Group: group, Priority: c.Priority, Reason: c.HandoffReason, Position: i + 1}
		if c.QueuedAt != nil {
			e.QueuedAt = *c.QueuedAt
		}
		snap.Entries = append(snap.Entries, e)
		pos := data.Position{Position: i + 1, EstimatedWaitSeconds: estimate(waits, i+1, agents)}
		if last, ok := prev.positions[c.ID]; ok && last.pos == pos && now.Sub(last.at) < positionRefresh {
			next.positions[c.ID] = last
			continue
		}
		r.pub.Event(ctx, data.ConversationTopic(c.ID), data.Event{Type: data.EventPosition, ConversationID: c.ID, Position: &pos})
		next.positions[c.ID] = publishedPosition{pos: pos, at: now}
	}
	next.entries = snap.Entries
	if !known || !slices.EqualFunc(prev.entries, snap.Entries, sameEntry) {
		r.pub.Event(ctx, data.QueueTopic(group), data.Event{Type: data.EventQueue, Queue: &snap})
	}
	r.published[group] = next
}

func sameEntry(a, b data.QueueEntry) bool {
	return a.ConversationID == b.ConversationID && a.VisitorID == b.VisitorID && a.Group == b.Group && a.Priority == b.Priority &&
		a.Reason == b.Reason && a.Position == b.Position && a.QueuedAt.Equal(b.QueuedAt)
}

// Queue returns a group's queue snapshot.
func (r *Router) Queue(ctx context.Context, group string) (data.Queue, error) {
	queue, err := r.store.QueuedConversations(ctx, group)
	if err != nil {
		return data.Queue{}, fmt.Errorf("handoff: queue %s: %w", group, err)
	}
	snap := data.Queue{Group: group, Entries: []data.QueueEntry{}}
	for i, c := range queue {
		e := data.QueueEntry{ConversationID: c.ID, VisitorID: c.VisitorID, Group: group, Priority: c.Priority, Reason: c.HandoffReason, Position: i + 1}
		if c.QueuedAt != nil {
			e.QueuedAt = *c.QueuedAt
		}
		snap.Entries = append(snap.Entries, e)
	}
	return snap, nil
}

// Tick runs the timers once: idle conversations, conversations of agents
// who are gone, overflow to fallback groups, the wait limit and business
// hours (offer to leave a message), then assignment.
func (r *Router) Tick(ctx context.Context) {
	groups, err := r.store.ListGroups(ctx)
	if err != nil {
		r.log.Warn("tick: groups", slog.Any("err", err))
		return
	}
	now := r.now()
	r.closeIdle(ctx, now)
	r.reclaim(ctx)
	for _, g := range groups {
		queue, err := r.store.QueuedConversations(ctx, g.ID)
		if err != nil {
			continue
		}
		offer := r.availability(g)
		for _, c := range queue {
			if c.QueuedAt == nil {
				continue
			}
			waited := now.Sub(*c.QueuedAt)
			st := g.Settings
			if st.FallbackGroup != "" && st.FallbackGroup != g.ID && st.OverflowAfterSeconds > 0 && waited >= time.Duration(st.OverflowAfterSeconds)*time.Second {
				r.overflow(ctx, c, st.FallbackGroup)
				continue
			}
			switch {
			case offer != "":
				r.offerTicket(ctx, c, offer)
			case st.MaxWaitSeconds > 0 && waited >= time.Duration(st.MaxWaitSeconds)*time.Second:
				r.offerTicket(ctx, c, OfferMaxWait)
			}
		}
		r.Assign(ctx, g.ID)
	}
}

// closeIdle closes the conversations without activity for IdleClose: the
// visitor has gone (or the conversation was forgotten), and an agent's
// slot or a place in the queue is freed.
func (r *Router) closeIdle(ctx context.Context, now time.Time) {
	if r.cfg.IdleClose < 0 {
		return
	}
	idle, err := r.store.IdleConversations(ctx, now.Add(-r.cfg.IdleClose), 100)
	if err != nil {
		r.log.Warn("tick: idle conversations", slog.Any("err", err))
		return
	}
	for _, c := range idle {
		out, msg, err := r.store.Transition(ctx, data.Transition{ConversationID: c.ID, From: c.Status, To: data.StatusClosed,
			FromAgent: c.AssignedAgent, IdleBefore: now.Add(-r.cfg.IdleClose), At: now,
			Note: fmt.Sprintf("This conversation was closed after %s without activity; write again any time. 会话因长时间无操作已结束，欢迎随时再次咨询。", r.cfg.IdleClose)})
		if err != nil {
			if !errors.Is(err, data.ErrConflict) { // active again, or closed by another node
				r.log.Warn("close idle conversation", slog.String("conversation", c.ID), slog.Any("err", err))
			}
			continue
		}
		r.pub.Message(ctx, msg)
		r.pub.Conversation(ctx, out)
		if c.AssignedAgent != "" {
			r.pub.Event(ctx, data.AgentTopic(c.AssignedAgent), data.Event{Type: data.EventConversation, Conversation: &out})
		}
		r.log.Info("idle conversation closed", slog.String("conversation", c.ID), slog.String("was", string(c.Status)))
	}
}

// reclaim requeues the conversations of agents who hold some but are gone
// (offline past the grace period on every node) without anyone having
// noticed them go: presence reports a departure to the node that saw it, and
// nobody sees one across a restart of every node (or of this one, on its
// own). Transitions that name the agent they expect make each conversation
// move once, whichever nodes act.
func (r *Router) reclaim(ctx context.Context) {
	loads, err := r.store.AgentLoads(ctx)
	if err != nil {
		r.log.Warn("tick: agent loads", slog.Any("err", err))
		return
	}
	ids := make([]string, 0, len(loads))
	for id, n := range loads {
		if id != "" && n > 0 {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return
	}
	slices.Sort(ids)
	for _, id := range r.presence.Gone(ids) {
		r.log.Info("agent gone: requeueing the conversations they still hold", slog.String("agent", id))
		r.AgentGone(ctx, id)
	}
}

func (r *Router) overflow(ctx context.Context, c data.Conversation, to string) {
	if _, err := r.store.GetGroup(ctx, to); err != nil {
		r.log.Warn("overflow: fallback group", slog.String("group", to), slog.Any("err", err))
		return
	}
	out, msg, err := r.store.Transition(ctx, data.Transition{ConversationID: c.ID, From: data.StatusQueued, To: data.StatusQueued, FromGroup: c.SkillGroup, SkillGroup: to, At: r.now(),
		Note: "Still waiting: we are widening the search for an available agent. 正在为您转接其他客服组。"})
	if errors.Is(err, data.ErrConflict) {
		return // taken, closed, or overflowed by another node meanwhile
	}
	if err != nil {
		r.log.Warn("overflow", slog.String("conversation", c.ID), slog.Any("err", err))
		return
	}
	r.pub.Message(ctx, msg)
	r.pub.Conversation(ctx, out)
	r.publishQueue(ctx, c.SkillGroup)
	r.Assign(ctx, to)
	r.log.Info("conversation overflowed", slog.String("conversation", c.ID), slog.String("from", c.SkillGroup), slog.String("to", to))
}

// Run checks the timers every TickInterval until ctx ends.
func (r *Router) Run(ctx context.Context) error {
	t := time.NewTicker(r.cfg.TickInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			r.Tick(ctx)
		}
	}
}

// AgentGone puts the conversations of an agent who went offline (past the
// presence grace period) or was disabled back in their groups' queues, for
// someone else: otherwise they would wait for that agent for ever.
func (r *Router) AgentGone(ctx context.Context, agentID string) {
	convs, err := r.store.AgentConversations(ctx, agentID)
	if err != nil {
		r.log.Warn("agent gone: conversations", slog.String("agent", agentID), slog.Any("err", err))
		return
	}
	groups := map[string]bool{}
	for _, conv := range convs {
		if conv.Status != data.StatusAssigned || conv.AssignedAgent != agentID {
			continue
		}
		out, msg, err := r.store.Transition(ctx, data.Transition{ConversationID: conv.ID, From: data.StatusAssigned, To: data.StatusQueued,
			FromAgent: agentID, SkillGroup: conv.SkillGroup, Priority: conv.Priority + 1, At: r.now(), // served before those who have not been served yet
			Note: "Your agent is no longer available; connecting you with someone else. 客服暂时离开，正在为您转接其他客服。"})
		if err != nil {
			if !errors.Is(err, data.ErrConflict) { // closed or moved meanwhile: nothing to do
				r.log.Warn("agent gone: requeue", slog.String("conversation", conv.ID), slog.Any("err", err))
			}
			continue
		}
		r.avoid.Avoid(ctx, conv.ID, agentID, avoidFor)
		r.pub.Message(ctx, msg)
		r.pub.Conversation(ctx, out)
		r.pub.Event(ctx, data.AgentTopic(agentID), data.Event{Type: data.EventConversation, Conversation: &out})
		r.log.Info("conversation requeued: its agent is gone", slog.String("conversation", conv.ID), slog.String("agent", agentID))
		groups[conv.SkillGroup] = true
	}
	for g := range groups {
		r.Assign(ctx, g)
	}
}

// AgentAvailable tries to give work to an agent who came online or freed capacity.
func (r *Router) AgentAvailable(ctx context.Context, agentID string) {
	a, err := r.store.GetAgent(ctx, agentID)
	if err != nil {
		return
	}
	for _, g := range a.Groups {
		r.Assign(ctx, g)
	}
}
