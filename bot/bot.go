package bot

import (
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/frontdesk/frontdesk/intents"
	"github.com/frontdesk/frontdesk/knowledge"
	"github.com/frontdesk/frontdesk/mask"
)

// Kind is the type of decision the bot made.
type Kind string

// The decision kinds.
const (
	// KindAnswer answers from an FAQ entry, a flow or the optional LLM.
	KindAnswer Kind = "answer"
	// KindClarify asks which of a few candidates the visitor means (quick replies).
	KindClarify Kind = "clarify"
	// KindHandoff hands the conversation to a skill group.
	KindHandoff Kind = "handoff"
	// KindSmalltalk answers greetings, thanks, goodbyes and "are you a robot?".
	KindSmalltalk Kind = "smalltalk"
	// KindFallback says the bot did not understand and asks to rephrase.
	KindFallback Kind = "fallback"
	// KindAsk asks for information a flow needs (e.g. the order number).
	KindAsk Kind = "ask"
	// KindAcknowledge acknowledges feedback or a cancelled flow.
	KindAcknowledge Kind = "acknowledge"
)

// Reason codes explain a decision to agents and analytics (docs/bot.md lists them).
const (
	ReasonFAQMatch          = "faq_match"
	ReasonIntentAgrees      = "intent_agrees"
	ReasonClarified         = "clarified"
	ReasonAmbiguous         = "ambiguous"
	ReasonUnsure            = "unsure"
	ReasonLowConfidence     = "low_confidence"
	ReasonExplicitRequest   = "explicit_request"
	ReasonFrustration       = "frustration"
	ReasonHumanOnly         = "human_only"
	ReasonRepeatedFallback  = "repeated_fallback"
	ReasonRepeatedUnhelpful = "repeated_unhelpful"
	ReasonSmalltalk         = "smalltalk"
	ReasonEmpty             = "empty_input"
	ReasonFlowAsk           = "flow_ask"
	ReasonFlowInvalid       = "flow_invalid"
	ReasonFlowNotFound      = "flow_not_found"
	ReasonFlowDone          = "flow_done"
	ReasonFlowCancelled     = "flow_cancelled"
	ReasonFlowGaveUp        = "flow_gave_up"
	ReasonWebhookFailed     = "webhook_failed"
	ReasonGenerated         = "generated"
	ReasonLLMNoAnswer       = "llm_no_answer"
	ReasonFeedbackHelpful   = "feedback_helpful"
	ReasonFeedbackUnhelpful = "feedback_unhelpful"
)

// Knowledge is what the bot needs from the FAQ index.
type Knowledge interface {
	Search(ctx context.Context, query string, k int) (knowledge.Result, error)
}

// entryGetter is the optional part of Knowledge that returns a whole entry
// (knowledge.Index has it): clarify options use its localised questions.
type entryGetter interface {
	Get(id string) (knowledge.Entry, bool)
}

// IntentClassifier is what the bot needs from the intent model (*intents.Model).
type IntentClassifier interface {
	Predict(text string) intents.Prediction
}

// Input is one visitor turn.
type Input struct {
	// ConversationID keys the multi-turn context.
	ConversationID string
	// Text is the visitor's message.
	Text string
	// Lang is the visitor's preferred language (zh or en), used when the
	// message itself does not tell (e.g. a bare order number); optional.
	Lang string
	// OnToken, when set, receives the reply as it is generated (LLM answers
	// only); the decision's Reply is still the whole, final text.
	OnToken func(token string)
}

// Candidate is an FAQ entry considered for a turn.
type Candidate struct {
	ID       string  `json:"id"`
	Score    float64 `json:"score"`
	Question string  `json:"question,omitempty"`
	Skill    string  `json:"skill,omitempty"`
}

// IntentScore is an intent considered for a turn.
type IntentScore struct {
	Intent string  `json:"intent"`
	Prob   float64 `json:"prob"`
}

// Thresholds are the policy values a decision was made with.
type Thresholds struct {
	Answer          float64 `json:"answer"`
	Clarify         float64 `json:"clarify"`
	ClarifyMargin   float64 `json:"clarify_margin"`
	Agree           float64 `json:"agree"`
	IntentConfident float64 `json:"intent_confident"`
	// Intent is the out-of-scope threshold of the predicted intent (0 when unknown).
	Intent float64 `json:"intent,omitempty"`
}

// Decision is the bot's answer to one turn, with the evidence behind it.
type Decision struct {
	Kind Kind `json:"kind"`
	// Reply is the text sent to the visitor.
	Reply string `json:"reply"`
	// QuickReplies are buttons offered with the reply.
	QuickReplies []string `json:"quick_replies,omitempty"`
	// Reason is a machine-readable reason code.
	Reason string `json:"reason"`
	// Lang is the language the bot replied in (zh or en).
	Lang string `json:"lang"`
	// Skill is the skill group for a handoff (and the topic's group otherwise).
	Skill string `json:"skill,omitempty"`
	// FAQID is the entry the answer came from.
	FAQID string `json:"faq_id,omitempty"`
	// Confidence and Margin are the knowledge search's calibrated figures.
	Confidence float64 `json:"confidence"`
	Margin     float64 `json:"margin"`
	// Threshold is the FAQ answer threshold used.
	Threshold  float64     `json:"threshold"`
	Candidates []Candidate `json:"candidates,omitempty"`
	// Intent, IntentConfidence, IntentMargin and OutOfScope are the classifier's prediction.
	Intent           string        `json:"intent,omitempty"`
	IntentConfidence float64       `json:"intent_confidence,omitempty"`
	IntentMargin     float64       `json:"intent_margin,omitempty"`
	OutOfScope       bool          `json:"out_of_scope,omitempty"`
	Intents          []IntentScore `json:"intents,omitempty"`
	// Thresholds are all the policy values used.
	Thresholds *Thresholds `json:"thresholds,omitempty"`
	// Query is what was searched when it differs from the message (a follow-up
	// completed with the previous topic).
	Query    string `json:"query,omitempty"`
	FollowUp bool   `json:"follow_up,omitempty"`
	// Matched is the phrase or signal behind a rule (a human request, frustration).
	Matched string `json:"matched,omitempty"`
	// Flow and Slot name the flow in progress and the slot asked for.
	Flow string `json:"flow,omitempty"`
	Slot string `json:"slot,omitempty"`
	// Generated is true for an LLM-written answer; Citations are the FAQ ids it cites.
	Generated bool     `json:"generated,omitempty"`
	Citations []string `json:"citations,omitempty"`
	// LLMError says why the LLM answer was not used (timeout, error), if it was tried.
	LLMError string `json:"llm_error,omitempty"`
	// WebhookError says why a flow's webhook failed.
	WebhookError string `json:"webhook_error,omitempty"`
}

// Engine decides what the bot says. It is safe for concurrent use; turns of
// one conversation are serialised.
type Engine struct {
	kb      Knowledge
	get     entryGetter
	cfg     Config
	intents IntentClassifier
	store   ContextStore
	flows   *FlowSet
	hook    Webhook
	llm     *Generator
	log     *slog.Logger
	now     func() time.Time
	locks   [64]sync.Mutex
}

// Option configures an Engine beyond its Config.
type Option func(*Engine)

// WithIntents adds the intent classifier's signal to the policy.
func WithIntents(c IntentClassifier) Option { return func(e *Engine) { e.intents = c } }

// WithContextStore replaces the default in-memory context store.
func WithContextStore(s ContextStore) Option { return func(e *Engine) { e.store = s } }

// WithFlows enables flows, calling the company's backend as wh says.
func WithFlows(fs *FlowSet, wh Webhook) Option {
	return func(e *Engine) { e.flows, e.hook = fs, wh }
}

// WithGenerator enables generative answers (see NewGenerator).
func WithGenerator(g *Generator) Option { return func(e *Engine) { e.llm = g } }

// WithLogger sets the logger for problems that do not fail a turn
// (an unavailable context store).
func WithLogger(l *slog.Logger) Option { return func(e *Engine) { e.log = l } }

// New returns an engine answering from kb with the policy cfg.
func New(kb Knowledge, cfg Config, opts ...Option) (*Engine, error) {
	if kb == nil {
		return nil, fmt.Errorf("bot: a knowledge searcher is required")
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	e := &Engine{kb: kb, cfg: cfg.withDefaults(), now: time.Now}
	e.get, _ = kb.(entryGetter)
	for _, o := range opts {
		o(e)
	}
	if e.store == nil {
		e.store = NewMemoryStore()
	}
	if e.log == nil {
		e.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if e.flows != nil {
		if err := e.flows.resolve(&e.hook); err != nil {
			return nil, err
		}
		if e.hook.Client == nil {
			e.hook.Client = &http.Client{}
		}
	}
	return e, nil
}

// Config returns the engine's effective policy.
func (e *Engine) Config() Config { return e.cfg }

func (e *Engine) lock(id string) *sync.Mutex {
	h := fnv.New32a()
	h.Write([]byte(id))
	return &e.locks[h.Sum32()%uint32(len(e.locks))]
}

func (e *Engine) load(ctx context.Context, id string) State {
	if id == "" {
		return State{}
	}
	st, ok, err := e.store.Get(ctx, id)
	if err != nil {
		e.log.Warn("bot context unavailable", slog.String("conversation", id), slog.Any("err", err))
	}
	if !ok || err != nil {
		return State{}
	}
	return st
}

func (e *Engine) save(ctx context.Context, id string, st State) {
	if id == "" {
		return
	}
	if err := e.store.Put(ctx, id, st, e.cfg.ContextTTL); err != nil {
		e.log.Warn("bot context not saved", slog.String("conversation", id), slog.Any("err", err))
	}
}

// Turn decides the reply to one visitor message.
func (e *Engine) Turn(ctx context.Context, in Input) (Decision, error) {
	text := strings.TrimSpace(in.Text)
	mu := e.lock(in.ConversationID)
	mu.Lock()
	defer mu.Unlock()
	st := e.load(ctx, in.ConversationID)
	lang := st.Lang
	switch {
	case tellsLanguage(text):
		lang = Language(text)
		st.Lang = lang
	case lang == "" && (in.Lang == "zh" || in.Lang == "en"):
		lang = in.Lang
	case lang == "":
		lang = Language(text)
	}
	d := Decision{Lang: lang, Threshold: e.cfg.AnswerThreshold, Thresholds: e.thresholds()}
	if err := e.turn(ctx, &st, in, text, &d); err != nil {
		return Decision{}, err
	}
	e.remember(&st, text, d)
	e.save(ctx, in.ConversationID, st)
	return d, nil
}

func (e *Engine) thresholds() *Thresholds {
	return &Thresholds{Answer: e.cfg.AnswerThreshold, Clarify: e.cfg.ClarifyThreshold, ClarifyMargin: e.cfg.ClarifyMargin,
		Agree: e.cfg.AgreeThreshold, IntentConfident: e.cfg.IntentConfident}
}

// turn fills d for one message; st is the conversation's context.
func (e *Engine) turn(ctx context.Context, st *State, in Input, text string, d *Decision) error {
	lang := d.Lang
	if text == "" {
		d.Kind, d.Reason, d.Reply = KindFallback, ReasonEmpty, phrase(lang, "empty")
		return nil
	}
	if p, ok := wantsHuman(text); ok {
		sig := e.classify(text, d)
		e.handoff(st, d, ReasonExplicitRequest, e.handoffSkill(st, sig), "handoff")
		d.Matched = p
		return nil
	}
	if !e.cfg.IgnoreFrustration {
		p, ok := frustrated(text)
		if !ok && len(text) > 3 && len(st.Turns) > 0 && mask.Redact(text) == st.Turns[len(st.Turns)-1].Text && st.Turns[len(st.Turns)-1].Kind != KindSmalltalk {
			p, ok = "repeated_message", true
		}
		if ok {
			sig := e.classify(text, d)
			e.handoff(st, d, ReasonFrustration, e.handoffSkill(st, sig), "handoff_upset")
			d.Matched = p
			return nil
		}
	}
	if opt, ok := pickOption(st.Options, text); ok {
		return e.answerEntry(ctx, st, in, d, opt.FAQID, opt.Label, ReasonClarified)
	}
	if st.Flow != nil {
		done, err := e.continueFlow(ctx, st, in, text, d)
		if err != nil || done {
			return err
		}
	}
	if key, ok := smalltalk(text); ok {
		d.Kind, d.Reason, d.Reply = KindSmalltalk, ReasonSmalltalk, phrase(lang, key)
		return nil
	}
	query := text
	if core, ok := followUp(text); ok && st.Topic.Query != "" {
		query = st.Topic.Query + " " + core
		d.Query, d.FollowUp = query, true
	}
	sig := e.classify(query, d)
	res, err := e.kb.Search(ctx, query, e.cfg.TopK)
	if err != nil {
		return fmt.Errorf("bot: search: %w", err)
	}
	sig.faq = res
	d.Confidence, d.Margin = res.Confidence, res.Margin
	for _, h := range res.Hits {
		d.Candidates = append(d.Candidates, Candidate{ID: h.ID, Score: h.Score, Question: h.Question, Skill: h.Skill})
	}
	if sig.inScope(e.cfg) && sig.intentConf >= e.cfg.IntentConfident && !e.cfg.Intents[sig.intent].HumanOnly {
		if f := e.flows.forIntent(sig.intent); f != nil {
			return e.startFlow(ctx, st, in, f, text, d)
		}
	}
	v := decide(sig, e.cfg)
	d.Threshold = v.answerT
	d.Thresholds.Answer = v.answerT
	switch v.kind {
	case KindAnswer:
		return e.answerHit(ctx, st, in, d, res, v.reason)
	case KindClarify:
		d.Kind, d.Reason, d.Skill = KindClarify, v.reason, v.skill
		if d.Skill == "" {
			d.Skill = res.Hits[v.options[0]].Skill
		}
		d.Reply = phrase(lang, "clarify")
		st.Options = nil
		for _, i := range v.options {
			label := e.question(res.Hits[i], lang)
			st.Options = append(st.Options, Choice{Label: label, FAQID: res.Hits[i].ID})
			d.QuickReplies = append(d.QuickReplies, label)
		}
		d.QuickReplies = append(d.QuickReplies, phrase(lang, "human_button"))
	case KindHandoff:
		e.handoff(st, d, v.reason, v.skill, map[string]string{ReasonLowConfidence: "handoff_low"}[v.reason])
	default:
		if st.Fallbacks+1 >= e.cfg.MaxFallbacks {
			e.handoff(st, d, ReasonRepeatedFallback, e.handoffSkill(st, sig), "handoff_sorry")
			return nil
		}
		d.Kind, d.Reason, d.Skill = KindFallback, v.reason, v.skill
		d.Reply = phrase(lang, "fallback")
		d.QuickReplies = []string{phrase(lang, "human_button")}
	}
	return nil
}

// classify runs the intent classifier (when there is one) and records its
// prediction in d.
func (e *Engine) classify(text string, d *Decision) signals {
	if e.intents == nil {
		return signals{}
	}
	p := e.intents.Predict(text)
	s := signals{hasIntents: true, oos: p.OutOfScope, intentConf: p.Confidence}
	if len(p.Top) > 0 {
		s.intent = p.Top[0].Intent
		s.intentSkl = e.cfg.skillOf(s.intent, p.Skill)
		if s.intentSkl == "" {
			if m, ok := e.intents.(interface{ Skill(string) string }); ok {
				s.intentSkl = e.cfg.skillOf(s.intent, m.Skill(s.intent))
			}
		}
	}
	d.Intent, d.IntentConfidence, d.IntentMargin, d.OutOfScope = p.Intent, p.Confidence, p.Margin, p.OutOfScope
	d.Intents = d.Intents[:0]
	for i, t := range p.Top {
		if i == 3 {
			break
		}
		d.Intents = append(d.Intents, IntentScore{Intent: t.Intent, Prob: t.Prob})
	}
	if pol, ok := e.cfg.Intents[s.intent]; ok && pol.Threshold > 0 {
		d.Thresholds.Intent = pol.Threshold
	} else if m, ok := e.intents.(interface{ Threshold() float64 }); ok {
		d.Thresholds.Intent = m.Threshold()
	}
	return s
}

// handoffSkill is the group for a handoff: the message's intent, else the
// conversation's topic, else the default.
func (e *Engine) handoffSkill(st *State, s signals) string {
	switch {
	case s.inScope(e.cfg) && s.intentConf >= e.cfg.IntentConfident && s.intentSkl != "":
		return s.intentSkl
	case st.Topic.Skill != "":
		return st.Topic.Skill
	}
	return e.cfg.DefaultSkill
}

func (e *Engine) handoff(st *State, d *Decision, reason, skill, phraseKey string) {
	if skill == "" {
		skill = e.cfg.DefaultSkill
	}
	if phraseKey == "" {
		phraseKey = "handoff"
	}
	d.Kind, d.Reason, d.Skill = KindHandoff, reason, skill
	if d.Reply == "" {
		d.Reply = phrase(d.Lang, phraseKey)
	}
	d.QuickReplies = nil
	st.Flow, st.Options = nil, nil
}

// answerHit answers with the best hit of res (or an LLM answer written from
// the hits).
func (e *Engine) answerHit(ctx context.Context, st *State, in Input, d *Decision, res knowledge.Result, reason string) error {
	top := res.Hits[0]
	d.Kind, d.Reason, d.FAQID, d.Skill = KindAnswer, reason, top.ID, top.Skill
	d.Reply = Localise(top.Answer, d.Lang)
	if e.llm != nil {
		e.generate(ctx, st, in, d, res)
	}
	return nil
}

// answerEntry answers with one entry chosen from a clarify question.
func (e *Engine) answerEntry(ctx context.Context, st *State, in Input, d *Decision, id, label, reason string) error {
	if e.get != nil {
		if en, ok := e.get.Get(id); ok {
			d.Kind, d.Reason, d.FAQID, d.Skill = KindAnswer, reason, en.ID, en.Skill
			d.Reply = Localise(en.Answer, d.Lang)
			d.Confidence = 1
			return nil
		}
	}
	res, err := e.kb.Search(ctx, label, e.cfg.TopK)
	if err != nil {
		return fmt.Errorf("bot: search: %w", err)
	}
	for _, h := range res.Hits {
		if h.ID == id {
			d.Kind, d.Reason, d.FAQID, d.Skill = KindAnswer, reason, h.ID, h.Skill
			d.Reply, d.Confidence = Localise(h.Answer, d.Lang), 1
			return nil
		}
	}
	d.Kind, d.Reason, d.Reply = KindFallback, ReasonLowConfidence, phrase(d.Lang, "fallback")
	return nil
}

// question is the entry's question in lang, for a quick reply.
func (e *Engine) question(h knowledge.Hit, lang string) string {
	if e.get != nil {
		if en, ok := e.get.Get(h.ID); ok {
			for _, q := range en.Questions {
				if Language(q) == lang {
					return q
				}
			}
		}
	}
	return h.Question
}

// pickOption matches a message against the options of the latest clarify question.
func pickOption(opts []Choice, text string) (Choice, bool) {
	t := strings.TrimSpace(text)
	for _, o := range opts {
		if strings.EqualFold(o.Label, t) {
			return o, true
		}
	}
	return Choice{}, false
}

// remember updates the context after a turn.
func (e *Engine) remember(st *State, text string, d Decision) {
	st.Turns = append(st.Turns, TurnRecord{Text: mask.Redact(text), Kind: d.Kind, Reason: d.Reason, FAQID: d.FAQID, Intent: d.Intent, At: e.now().UTC()})
	if n := len(st.Turns) - e.cfg.MaxTurns; n > 0 {
		st.Turns = append([]TurnRecord(nil), st.Turns[n:]...)
	}
	if d.Kind != KindClarify {
		st.Options = nil
	}
	switch d.Kind {
	case KindAnswer:
		st.Fallbacks = 0
		q := d.Query
		if q == "" {
			q = text
		}
		if d.Reason == ReasonClarified {
			q = text // the chosen question
		}
		if d.Flow == "" {
			st.Topic = Topic{Query: mask.Redact(q), Intent: d.Intent, FAQID: d.FAQID, Skill: d.Skill}
			st.LastAnswer = d.FAQID
		} else {
			st.Topic.Skill, st.Topic.Intent = d.Skill, d.Intent
			st.LastAnswer = "flow:" + d.Flow
		}
	case KindClarify, KindAsk:
		st.Fallbacks = 0
		if d.Skill != "" {
			st.Topic.Skill = d.Skill
		}
	case KindFallback:
		if d.Reason != ReasonEmpty {
			st.Fallbacks++
		}
		if d.Skill != "" {
			st.Topic.Skill = d.Skill
		}
	case KindHandoff:
		st.Fallbacks, st.Unhelpful = 0, 0
	}
}

// Feedback records the visitor's "Was this helpful?" answer about the
// latest answer: it returns an acknowledgement, or a handoff after
// MaxUnhelpful unhelpful answers in a row.
func (e *Engine) Feedback(ctx context.Context, conversationID string, helpful bool) (Decision, error) {
	if conversationID == "" {
		return Decision{}, fmt.Errorf("bot: feedback: a conversation id is required")
	}
	mu := e.lock(conversationID)
	mu.Lock()
	defer mu.Unlock()
	st := e.load(ctx, conversationID)
	lang := st.Lang
	if lang == "" {
		lang = "en"
	}
	d := Decision{Kind: KindAcknowledge, Lang: lang, FAQID: st.LastAnswer, Skill: st.Topic.Skill, Intent: st.Topic.Intent, Threshold: e.cfg.AnswerThreshold}
	if strings.HasPrefix(st.LastAnswer, "flow:") {
		d.FAQID, d.Flow = "", strings.TrimPrefix(st.LastAnswer, "flow:")
	}
	if helpful {
		st.Unhelpful = 0
		d.Reason, d.Reply = ReasonFeedbackHelpful, phrase(lang, "feedback_thanks")
	} else {
		st.Unhelpful++
		if st.Unhelpful >= e.cfg.MaxUnhelpful {
			e.handoff(&st, &d, ReasonRepeatedUnhelpful, st.Topic.Skill, "handoff_sorry")
			st.Unhelpful, st.Fallbacks = 0, 0
		} else {
			d.Reason, d.Reply = ReasonFeedbackUnhelpful, phrase(lang, "feedback_sorry")
			d.QuickReplies = []string{phrase(lang, "human_button")}
		}
	}
	e.save(ctx, conversationID, st)
	return d, nil
}

// Forget drops a conversation's context (e.g. when it closes).
func (e *Engine) Forget(ctx context.Context, conversationID string) error {
	if err := e.store.Delete(ctx, conversationID); err != nil {
		return fmt.Errorf("bot: forget %s: %w", conversationID, err)
	}
	return nil
}
