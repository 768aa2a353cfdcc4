package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/frontdesk/frontdesk/bot"
	"github.com/frontdesk/frontdesk/data"
	"github.com/frontdesk/frontdesk/data/pubsub"
	"github.com/frontdesk/frontdesk/identity"
)

// Bot decides the reply to a visitor turn and reacts to "Was this helpful?" feedback.
type Bot interface {
	Turn(ctx context.Context, in bot.Input) (bot.Decision, error)
	Feedback(ctx context.Context, conversationID string, helpful bool) (bot.Decision, error)
}

// Handoff puts a conversation in a skill group's queue.
type Handoff interface {
	Enqueue(ctx context.Context, conversationID, group, reason string, priority int) (data.Conversation, error)
	LeaveMessage(ctx context.Context, conv data.Conversation, contact data.Contact, text string) (data.Ticket, error)
}

// Config sizes the bot worker pool.
type Config struct {
	// Workers is the number of bot workers (default 4).
	Workers int
	// QueueSize is each worker's queue length (default 256).
	QueueSize int
	// TurnTimeout bounds one bot turn (default 10s).
	TurnTimeout time.Duration
	// Identity verifies identity tokens and remembers their jti (default: a new verifier).
	Identity *identity.Verifier
}

// Service is the message path shared by visitors, agents and the bot.
type Service struct {
	store   data.Store
	pub     *pubsub.Publisher
	bot     Bot
	handoff Handoff
	log     *slog.Logger
	cfg     Config
	// verifier checks identity tokens (cfg.Identity).
	verifier *identity.Verifier

	queues  []chan turnJob
	stopped chan struct{}
	once    sync.Once
	// convs remembers each visitor's open conversation (a hint: appends
	// check it, see PostVisitorMessage).
	convs convCache
}

// convCache maps visitor ids to the conversation (and its status) they
// last wrote to. It is bounded: when full it starts over.
type convCache struct {
	mu sync.Mutex
	m  map[string]data.Conversation
}

// maxCachedConversations bounds convCache: a few hundred bytes each, so
// at most a few MB; a visitor who is not in it costs one read.
const maxCachedConversations = 20_000

func (c *convCache) get(visitorID string) (data.Conversation, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	conv, ok := c.m[visitorID]
	return conv, ok
}

func (c *convCache) put(visitorID string, conv data.Conversation) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCachedConversations {
		c.m = map[string]data.Conversation{}
	}
	c.m[visitorID] = conv
}

func (c *convCache) drop(visitorID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, visitorID)
}

type turnJob struct {
	conv data.Conversation
	msg  data.Message
}

// New returns a service; call Run to start the bot workers. handoff may be
// nil, in which case the bot's handoff decisions only reply.
func New(store data.Store, broker pubsub.Broker, b Bot, handoff Handoff, log *slog.Logger, cfg Config) *Service {
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 256
	}
	if cfg.TurnTimeout <= 0 {
		cfg.TurnTimeout = 10 * time.Second
	}
	if cfg.Identity == nil {
		cfg.Identity = identity.NewVerifier(nil)
	}
	s := &Service{store: store, pub: pubsub.NewPublisher(broker, log), bot: b, handoff: handoff, log: log, cfg: cfg, stopped: make(chan struct{}), verifier: cfg.Identity}
	for i := 0; i < cfg.Workers; i++ {
		s.queues = append(s.queues, make(chan turnJob, cfg.QueueSize))
	}
	return s
}

// ErrStopped is returned when the service no longer accepts bot work.
var ErrStopped = errors.New("chat: service stopped")

// Run processes bot turns until ctx ends, then finishes the turns already
// queued (each bounded by the turn timeout) and returns.
func (s *Service) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, q := range s.queues {
		wg.Add(1)
		go func(q chan turnJob) {
			defer wg.Done()
			for {
				select {
				case job := <-q:
					s.runTurn(job)
				case <-ctx.Done():
					return
				}
			}
		}(q)
	}
	<-ctx.Done()
	wg.Wait()
	s.once.Do(func() { close(s.stopped) })
	// Drain: turns for messages already acknowledged still get an answer.
	for _, q := range s.queues {
	drain:
		for {
			select {
			case job := <-q:
				s.runTurn(job)
			default:
				break drain
			}
		}
	}
	return nil
}

// PostVisitorMessage stores a visitor's message in their current
// conversation (starting one when there is none or the last one is closed),
// publishes it, and queues a bot turn when the conversation is in bot status.
// A repeated clientMsgID returns the stored message with duplicate=true.
func (s *Service) PostVisitorMessage(ctx context.Context, v data.Visitor, clientMsgID, text string) (data.Message, bool, error) {
	probe := data.Message{ConversationID: "pending", SenderKind: data.SenderVisitor, SenderID: v.ID, Kind: data.KindText, Text: text, ClientMsgID: clientMsgID}
	if err := probe.Validate(); err != nil {
		return data.Message{}, false, fmt.Errorf("chat: visitor message: %w", err)
	}
	// The conversation this node last saw the visitor write to, if it is
	// still in the same state (the store checks that in the append), saves
	// reading it for every message.
	if conv, ok := s.convs.get(v.ID); ok {
		msg, dup, err := s.appendVisitor(ctx, conv, probe)
		if err == nil {
			return s.afterVisitorMessage(ctx, conv, false, msg, dup)
		}
		s.convs.drop(v.ID)
		if !errors.Is(err, data.ErrStale) && !errors.Is(err, data.ErrNotFound) {
			return data.Message{}, false, fmt.Errorf("chat: visitor message: %w", err)
		}
	}
	for attempt := 1; ; attempt++ {
		conv, created, err := s.currentConversation(ctx, v)
		if err != nil {
			return data.Message{}, false, err
		}
		msg, dup, err := s.appendVisitor(ctx, conv, probe)
		if errors.Is(err, data.ErrStale) && attempt < 3 {
			continue // it changed (closed, handed off) since the read
		}
		if err != nil {
			return data.Message{}, false, fmt.Errorf("chat: visitor message: %w", err)
		}
		s.convs.put(v.ID, conv)
		return s.afterVisitorMessage(ctx, conv, created, msg, dup)
	}
}

// appendVisitor appends probe to conv if conv is still the visitor's and in
// the status read, so the bot decision below uses the status at the append.
func (s *Service) appendVisitor(ctx context.Context, conv data.Conversation, probe data.Message) (data.Message, bool, error) {
	probe.ConversationID = conv.ID
	probe.Expect = &data.Expectation{Status: conv.Status, VisitorID: conv.VisitorID}
	return s.store.AppendMessage(ctx, probe)
}

func (s *Service) afterVisitorMessage(ctx context.Context, conv data.Conversation, created bool, msg data.Message, dup bool) (data.Message, bool, error) {
	if created {
		s.publishConversation(ctx, conv)
	}
	if dup {
		return msg, true, nil
	}
	s.publishMessage(ctx, msg)
	if conv.Status == data.StatusBot {
		if err := s.enqueue(ctx, turnJob{conv: conv, msg: msg}); err != nil {
			s.log.Warn("bot turn not queued", slog.String("conversation", conv.ID), slog.Int64("seq", msg.Seq), slog.Any("err", err))
		}
	}
	return msg, false, nil
}

// currentConversation returns the visitor's open conversation, starting a
// new one when they have none or their latest is closed.
func (s *Service) currentConversation(ctx context.Context, v data.Visitor) (data.Conversation, bool, error) {
	conv, err := s.store.LatestConversation(ctx, v.ID)
	if err == nil && conv.Status != data.StatusClosed {
		return conv, false, nil
	}
	if err != nil && !errors.Is(err, data.ErrNotFound) {
		return data.Conversation{}, false, fmt.Errorf("chat: current conversation: %w", err)
	}
	conv, err = s.store.CreateConversation(ctx, data.Conversation{SiteID: v.SiteID, VisitorID: v.ID, Channel: "web"})
	if errors.Is(err, data.ErrConflict) {
		// Another tab (maybe on another node) started it a moment ago: a
		// visitor has one open conversation, so join that one.
		if conv, err = s.store.LatestConversation(ctx, v.ID); err == nil && conv.Status != data.StatusClosed {
			return conv, false, nil
		}
		return data.Conversation{}, false, fmt.Errorf("chat: start conversation: %w", data.ErrConflict)
	}
	if err != nil {
		return data.Conversation{}, false, fmt.Errorf("chat: start conversation: %w", err)
	}
	return conv, true, nil
}

// AnswerPending makes sure the last message of conv, when it is a
// visitor's text the bot holds and has not answered, gets a bot turn once
// the turn that should have answered it has certainly ended (TurnTimeout
// after the message): the node that acknowledged it may have crashed with
// the turn in its memory queue. It is called when a visitor connects, which
// a visitor does again, on any node, after their node went away. A turn that
// runs twice stores one reply (its client id comes from the message).
func (s *Service) AnswerPending(ctx context.Context, conv data.Conversation) {
	if conv.Status != data.StatusBot || conv.LastSeq == 0 {
		return
	}
	pending := s.unanswered(ctx, conv)
	if len(pending) == 0 {
		return
	}
	newest := pending[len(pending)-1]
	answer := func() {
		c2, err := s.store.GetConversation(ctx, conv.ID)
		if err != nil || c2.Status != data.StatusBot {
			return
		}
		for _, m := range s.unanswered(ctx, c2) {
			if m.Seq > newest.Seq {
				break // newer ones have turns of their own under way
			}
			s.log.Info("answering a message whose bot turn was lost", slog.String("conversation", c2.ID), slog.Int64("seq", m.Seq))
			if err := s.enqueue(ctx, turnJob{conv: c2, msg: m}); err != nil {
				if !errors.Is(err, ErrStopped) {
					s.log.Warn("bot turn not queued", slog.String("conversation", c2.ID), slog.Any("err", err))
				}
				return
			}
		}
	}
	if wait := time.Until(newest.CreatedAt.Add(s.cfg.TurnTimeout + time.Second)); wait > 0 {
		time.AfterFunc(wait, answer)
		return
	}
	answer()
}

// pendingWindow is how many of a conversation's newest messages
// AnswerPending looks through.
const pendingWindow = 20

// unanswered returns, in seq order, the visitor's text messages among the
// conversation's newest ones, since the last agent or system message (the
// bot holds it again from there), that have no bot reply: a turn stores its
// reply with client id "bot-reply-<seq>".
func (s *Service) unanswered(ctx context.Context, c data.Conversation) []data.Message {
	msgs, err := s.store.ListMessages(ctx, c.ID, max(0, c.LastSeq-pendingWindow), pendingWindow)
	if err != nil {
		return nil
	}
	replied := map[string]bool{}
	var out []data.Message
	for i := len(msgs) - 1; i >= 0; i-- {
		m := msgs[i]
		if m.SenderKind == data.SenderAgent || m.SenderKind == data.SenderSystem {
			break
		}
		if m.SenderKind == data.SenderBot {
			replied[m.ClientMsgID] = true
			continue
		}
		if m.Kind == data.KindText && !replied["bot-reply-"+strconv.FormatInt(m.Seq, 10)] {
			out = append(out, m)
		}
	}
	slices.Reverse(out)
	return out
}

// CurrentConversation returns the visitor's latest conversation, or
// data.ErrNotFound when they have none.
func (s *Service) CurrentConversation(ctx context.Context, visitorID string) (data.Conversation, error) {
	return s.store.LatestConversation(ctx, visitorID)
}

// Messages returns up to limit messages of a conversation after seq.
func (s *Service) Messages(ctx context.Context, conversationID string, afterSeq int64, limit int) ([]data.Message, error) {
	return s.store.ListMessages(ctx, conversationID, afterSeq, limit)
}

func (s *Service) enqueue(ctx context.Context, job turnJob) error {
	h := fnv.New32a()
	h.Write([]byte(job.conv.ID))
	q := s.queues[int(h.Sum32()%uint32(len(s.queues)))]
	select {
	case <-s.stopped:
		return ErrStopped
	default:
	}
	select {
	case q <- job:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.stopped:
		return ErrStopped
	}
}

// BotMetadata is the metadata stored with a bot message: what the visitor
// sees (quick replies) and the decision record behind it.
type BotMetadata struct {
	QuickReplies []string     `json:"quick_replies,omitempty"`
	Decision     bot.Decision `json:"decision"`
}

// runTurn asks the bot and appends its reply through the same path as any
// message. The reply's client id is derived from the visitor message, so a
// turn that runs twice (a retry, a restart) stores one reply.
func (s *Service) runTurn(job turnJob) {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.TurnTimeout)
	defer cancel()
	onToken := func(text string) {
		s.pub.Event(ctx, data.ConversationTopic(job.conv.ID), data.Event{Type: data.EventBotToken, ConversationID: job.conv.ID, Seq: job.msg.Seq, Text: text})
	}
	d, err := s.bot.Turn(ctx, bot.Input{ConversationID: job.conv.ID, Text: job.msg.Text, OnToken: onToken})
	if err != nil {
		s.log.Error("bot turn failed", slog.String("conversation", job.conv.ID), slog.Int64("seq", job.msg.Seq), slog.Any("err", err))
		d = bot.Decision{Kind: bot.KindFallback, Reason: "bot_error", Lang: bot.Language(job.msg.Text)}
		d.Reply = map[string]string{"zh": "抱歉，系统暂时无法回答，请稍后再试。", "en": "Sorry, I can't answer right now. Please try again in a moment."}[d.Lang]
	}
	if err := s.botReply(ctx, job.conv, "bot-reply-"+strconv.FormatInt(job.msg.Seq, 10), d); err != nil {
		if errors.Is(err, data.ErrStale) {
			// A person took over (or the conversation closed) while the
			// bot was thinking: its reply and decision no longer apply.
			s.log.Debug("bot reply dropped: the conversation left the bot", slog.String("conversation", job.conv.ID))
			return
		}
		s.log.Error("store bot reply", slog.String("conversation", job.conv.ID), slog.Any("err", err))
		return
	}
	s.handOff(ctx, job.conv, d)
}

// botReply appends the bot's reply (idempotent by clientMsgID) and publishes
// it, only while the conversation is still the bot's (data.ErrStale otherwise).
func (s *Service) botReply(ctx context.Context, conv data.Conversation, clientMsgID string, d bot.Decision) error {
	meta, err := json.Marshal(BotMetadata{QuickReplies: d.QuickReplies, Decision: d})
	if err != nil {
		return fmt.Errorf("chat: bot metadata: %w", err)
	}
	kind := data.KindText
	if len(d.QuickReplies) > 0 {
		kind = data.KindQuickReplies
	}
	reply := data.Message{
		ConversationID: conv.ID, SenderKind: data.SenderBot, SenderID: "bot", Kind: kind,
		Text: d.Reply, Metadata: meta, ClientMsgID: clientMsgID,
		Expect: &data.Expectation{Status: data.StatusBot},
	}
	msg, dup, err := s.store.AppendMessage(ctx, reply)
	if err != nil {
		return fmt.Errorf("chat: bot reply: %w", err)
	}
	if !dup {
		s.publishMessage(ctx, msg)
	}
	return nil
}

// handOff queues the conversation when the bot's decision is a handoff.
func (s *Service) handOff(ctx context.Context, conv data.Conversation, d bot.Decision) {
	if d.Kind != bot.KindHandoff || s.handoff == nil {
		return
	}
	group := d.Skill
	if group == "" {
		group = "default_support"
	}
	priority := 0
	if v, err := s.store.GetVisitor(ctx, conv.VisitorID); err == nil && v.Personal.Verified && v.Personal.ExternalID != "" {
		priority = 1 // identified customers first
	}
	if _, err := s.handoff.Enqueue(ctx, conv.ID, group, d.Reason, priority); err != nil && !errors.Is(err, data.ErrConflict) {
		s.log.Error("hand off", slog.String("conversation", conv.ID), slog.Any("err", err))
	}
}

// FeedbackEvent is the name of the visitor event that records a "Was this
// helpful?" answer; its props are {"seq", "helpful", "faq_id"}.
const FeedbackEvent = "bot_feedback"

// Feedback records a visitor's "Was this helpful?" answer about the bot
// message seq of their conversation and lets the bot react: after an
// unhelpful answer it says so (stored as a bot message), and after repeated
// unhelpful answers it hands the conversation off. Answering twice about the
// same message changes nothing.
func (s *Service) Feedback(ctx context.Context, v data.Visitor, conversationID string, seq int64, helpful bool) (bot.Decision, error) {
	conv, err := s.store.GetConversation(ctx, conversationID)
	if err != nil {
		return bot.Decision{}, fmt.Errorf("chat: feedback: %w", err)
	}
	if conv.VisitorID != v.ID {
		return bot.Decision{}, fmt.Errorf("chat: feedback: %w", data.ErrNotFound)
	}
	msgs, err := s.store.ListMessages(ctx, conversationID, seq-1, 1)
	if err != nil {
		return bot.Decision{}, fmt.Errorf("chat: feedback: %w", err)
	}
	if len(msgs) == 0 || msgs[0].Seq != seq || msgs[0].SenderKind != data.SenderBot {
		return bot.Decision{}, fmt.Errorf("chat: feedback: message %d is not a bot reply: %w", seq, data.ErrInvalid)
	}
	var meta BotMetadata
	_ = json.Unmarshal(msgs[0].Metadata, &meta)
	ack := bot.Decision{Kind: bot.KindAcknowledge, Reason: bot.ReasonFeedbackHelpful, Lang: meta.Decision.Lang, FAQID: meta.Decision.FAQID}
	if !helpful {
		ack.Reason = bot.ReasonFeedbackUnhelpful
	}
	if last, err := s.store.LatestEvent(ctx, v.ID, FeedbackEvent); err == nil && last.ConversationID == conversationID {
		var p struct {
			Seq int64 `json:"seq"`
		}
		if json.Unmarshal(last.Props, &p) == nil && p.Seq == seq {
			return ack, nil // a repeated click
		}
	}
	props, _ := json.Marshal(map[string]any{"seq": seq, "helpful": helpful, "faq_id": meta.Decision.FAQID})
	if err := s.store.RecordEvent(ctx, data.VisitorEvent{SiteID: v.SiteID, VisitorID: v.ID, ConversationID: conversationID, Name: FeedbackEvent, Props: props}); err != nil {
		return bot.Decision{}, fmt.Errorf("chat: feedback: %w", err)
	}
	if conv.Status != data.StatusBot {
		return ack, nil // a person has taken over; the feedback is only recorded
	}
	d, err := s.bot.Feedback(ctx, conversationID, helpful)
	if err != nil {
		return bot.Decision{}, fmt.Errorf("chat: feedback: %w", err)
	}
	if !helpful && d.Reply != "" {
		if err := s.botReply(ctx, conv, "bot-feedback-"+strconv.FormatInt(seq, 10), d); errors.Is(err, data.ErrStale) {
			return ack, nil // a person took over meanwhile
		} else if err != nil {
			return bot.Decision{}, err
		}
	}
	s.handOff(ctx, conv, d)
	return d, nil
}

func (s *Service) publishMessage(ctx context.Context, m data.Message) { s.pub.Message(ctx, m) }

func (s *Service) publishConversation(ctx context.Context, c data.Conversation) {
	s.pub.Conversation(ctx, c)
}

// StartSession returns the site with the given key and the visitor for this
// browser: the existing one when visitorID names a visitor of that site,
// otherwise a new anonymous visitor.
func (s *Service) StartSession(ctx context.Context, siteKey, visitorID string) (data.Site, data.Visitor, error) {
	site, err := s.store.SiteByKey(ctx, siteKey)
	if err != nil {
		return data.Site{}, data.Visitor{}, fmt.Errorf("chat: session: site %q: %w", siteKey, err)
	}
	if visitorID != "" {
		v, err := s.store.GetVisitor(ctx, visitorID)
		if err == nil && v.SiteID == site.ID {
			if err := s.store.TouchVisitor(ctx, v.ID, time.Now().UTC()); err != nil {
				s.log.Warn("touch visitor", slog.String("visitor", v.ID), slog.Any("err", err))
			}
			return site, v, nil
		}
		if err != nil && !errors.Is(err, data.ErrNotFound) {
			return data.Site{}, data.Visitor{}, fmt.Errorf("chat: session: %w", err)
		}
	}
	v := data.Visitor{ID: data.NewID("v_"), SiteID: site.ID, CreatedAt: time.Now().UTC().Truncate(time.Millisecond)}
	if err := s.store.CreateVisitor(ctx, v); err != nil {
		return data.Site{}, data.Visitor{}, fmt.Errorf("chat: session: %w", err)
	}
	return site, v, nil
}

// Visitor returns a visitor and their site, for authenticated requests.
func (s *Service) Visitor(ctx context.Context, visitorID string) (data.Site, data.Visitor, error) {
	v, err := s.store.GetVisitor(ctx, visitorID)
	if err != nil {
		return data.Site{}, data.Visitor{}, fmt.Errorf("chat: visitor: %w", err)
	}
	site, err := s.store.GetSite(ctx, v.SiteID)
	if err != nil {
		return data.Site{}, data.Visitor{}, fmt.Errorf("chat: visitor's site: %w", err)
	}
	return site, v, nil
}

// Site returns the site with the given public key.
func (s *Service) Site(ctx context.Context, key string) (data.Site, error) {
	return s.store.SiteByKey(ctx, key)
}
