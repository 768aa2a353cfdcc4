package bot

import (
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

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
	ml, sure := messageLanguage(text)
	preferred := in.Lang == "zh" || in.Lang == "en"
	switch {
	case sure == langStrong || sure == langWeak && lang == "" && !preferred:
		lang, st.Lang = ml, ml
	case lang == "" && preferred:
		lang = in.Lang
	case lang == "":
		lang = Language(text)
	}
	d := Decision{Lang: lang, Threshold: e.cfg.AnswerThreshold, Thresholds: e.thresholds()}
	topic, err := e.turn(ctx, &st, in, text, &d)
	if err != nil {
		return Decision{}, err
	}
	// The decision is stored with the bot message and shown to agents:
	// personal data in what it echoes of the visitor's words is masked.
	d.Query = mask.Redact(d.Query)
	e.remember(&st, text, topic, d)
	e.save(ctx, in.ConversationID, st)
	return d, nil
}

func (e *Engine) thresholds() *Thresholds {
	return &Thresholds{Answer: e.cfg.AnswerThreshold, Clarify: e.cfg.ClarifyThreshold, ClarifyMargin: e.cfg.ClarifyMargin,
		Agree: e.cfg.AgreeThreshold, IntentConfident: e.cfg.IntentConfident}
}

// turn fills d for one message; st is the conversation's context. It
// returns the question that becomes the conversation's topic if d answers
// ("" when it is the message itself, or the previous topic's question for a
// follow-up).
func (e *Engine) turn(ctx context.Context, st *State, in Input, text string, d *Decision) (string, error) {
	if text == "" {
		d.Kind, d.Reason, d.Reply = KindFallback, ReasonEmpty, phrase(d.Lang, "empty")
		return "", nil
	}
	tk := smalltalk(text)
	if p, ok := wantsHuman(text); ok {
		sig := e.classify(text, d)
		e.handoff(st, d, ReasonExplicitRequest, e.handoffSkill(st, sig), "handoff")
		d.Matched = p
		return "", nil
	}
	if !e.cfg.IgnoreFrustration {
		p, ok := frustrated(text, tk.key != "")
		if !ok && repeated(st, text) {
			p, ok = "repeated_message", true
		}
		if ok {
			sig := e.classify(text, d)
			e.handoff(st, d, ReasonFrustration, e.handoffSkill(st, sig), "handoff_upset")
			d.Matched = p
			return "", nil
		}
	}
	if opt, ok := pickOption(st.Options, text, tk); ok {
		return opt.Label, e.answerEntry(ctx, st, in, d, opt.FAQID, opt.Label, ReasonClarified)
	}
	if st.Flow != nil {
		done, rest, err := e.continueFlow(ctx, st, in, text, tk, d)
		if err != nil || done {
			return "", err
		}
		if rest != "" { // "算了，我想取消订单": the flow stopped, the rest is a question
			text, tk = rest, smalltalk(rest)
		}
	}
	if tk.key != "" {
		e.smalltalk(st, d, tk.key)
		return "", nil
	}
	return e.answer(ctx, st, in, tk.rest, d)
}

// repeated reports whether text repeats the previous message in a way that
// signals frustration: not after small talk, not when it taps a quick reply
// that was answered (clarified) and not when it answers a flow's question
// again (a value it could not find or did not recognise).
func repeated(st *State, text string) bool {
	if len(text) <= 3 || len(st.Turns) == 0 {
		return false
	}
	last := st.Turns[len(st.Turns)-1]
	if mask.Redact(text) != last.Text {
		return false
	}
	switch {
	case last.Kind == KindSmalltalk, last.Reason == ReasonClarified:
		return false
	case last.Reason == ReasonFlowNotFound, last.Reason == ReasonFlowInvalid:
		return false // the flow asked again; it counts its own attempts
	}
	return true
}

// smalltalk answers a social message.
func (e *Engine) smalltalk(st *State, d *Decision, key string) {
	d.Kind, d.Reason, d.Matched = KindSmalltalk, ReasonSmalltalk, key
	switch {
	case key == "ack" && len(st.Turns) == 0:
		d.Reply = phrase(d.Lang, "greeting") // "ok" as a first message
	case key == "closing" && len(st.Options) > 0:
		// "no" to "Which of these do you mean?"
		d.Reply, d.QuickReplies = phrase(d.Lang, "none_of_these"), []string{phrase(d.Lang, "human_button")}
	default:
		d.Reply = phrase(d.Lang, key)
	}
}

// answer runs the intent classifier and the FAQ search on a question and
// decides (see decide). text is the visitor's message without greetings.
func (e *Engine) answer(ctx context.Context, st *State, in Input, text string, d *Decision) (string, error) {
	in.Text = text
	query, topic, core := text, text, ""
	if c, ok := followUp(text); ok && st.Topic.Query != "" {
		core = c
		query = st.Topic.Query + " " + core
		d.Query, d.FollowUp = query, true
		topic = "" // the topic stays the original question
	}
	sig := e.classify(query, d)
	res, err := e.kb.Search(ctx, query, e.cfg.TopK)
	if err != nil {
		return "", fmt.Errorf("bot: search: %w", err)
	}
	again := false             // a follow-up would get the previous answer again
	var others []knowledge.Hit // its candidates other than the previous answer
	// The answer found with the topic may speak of what the follow-up asks:
	// "那信用卡呢？" after installments (花呗或信用卡分期); else the follow-up is
	// searched alone too.
	if d.FollowUp && len(res.Hits) > 0 && !covers(res.Hits[0].Answer, core) {
		own, err := e.kb.Search(ctx, core, e.cfg.TopK)
		if err != nil {
			return "", fmt.Errorf("bot: search: %w", err)
		}
		switch {
		case e.cfg.Confident(own) && own.Hits[0].ID != res.Hits[0].ID && hasHit(res.Hits, own.Hits[0].ID):
			// The follow-up alone points elsewhere, and the search with
			// the topic sees that entry too: a new question ("那运费呢？").
			// The topic stays the original question.
			res, d.Query, d.FollowUp, topic = own, "", false, st.Topic.Query
			sig = e.classify(text, d)
		case res.Hits[0].ID == st.LastAnswer:
			// The same answer again to a follow-up that asks something it
			// does not say ("怎么退货？" -> "那要多久？"): offer the others.
			again, others = true, otherHits(res.Hits, own.Hits, st.LastAnswer)
		}
	}
	sig.faq = res
	d.Confidence, d.Margin = res.Confidence, res.Margin
	for _, h := range res.Hits {
		d.Candidates = append(d.Candidates, Candidate{ID: h.ID, Score: h.Score, Question: h.Question, Skill: h.Skill})
	}
	confidentIntent := sig.inScope(e.cfg) && sig.intentConf >= e.cfg.IntentConfident
	if confidentIntent && !e.cfg.Intents[sig.intent].HumanOnly {
		if f := e.flows.forIntent(sig.intent); f != nil {
			return "", e.startFlow(ctx, st, in, f, text, d)
		}
	}
	if len(st.Options) > 0 && !e.cfg.Confident(res) {
		// A free-text reply to a clarify question: its options first.
		if o, ok := optionHit(res, st.Options); ok {
			return o.Label, e.answerEntry(ctx, st, in, d, o.FAQID, o.Label, ReasonClarified)
		}
	}
	if again {
		// Not the same answer twice in a row to a follow-up asking something else.
		if len(others) == 0 {
			e.fallback(st, d, sig, "")
			return "", nil
		}
		idx := make([]int, len(others))
		for i := range idx {
			idx[i] = i
		}
		skill := ""
		if confidentIntent {
			skill = sig.intentSkl
		}
		e.clarify(st, d, others, idx, ReasonUnsure, skill)
		return "", nil
	}
	if confidentIntent && len(res.Hits) > 0 {
		sig.links = e.intentLinks(sig.intent, res.Hits)
	}
	v := decide(sig, e.cfg)
	d.Threshold = v.answerT
	d.Thresholds.Answer = v.answerT
	switch v.kind {
	case KindAnswer:
		return topic, e.answerHit(ctx, st, in, d, res, v.reason)
	case KindClarify:
		e.clarify(st, d, res.Hits, v.options, v.reason, v.skill)
	case KindHandoff:
		e.handoff(st, d, v.reason, v.skill, map[string]string{ReasonLowConfidence: "handoff_low"}[v.reason])
	default:
		e.fallback(st, d, sig, v.skill)
	}
	return "", nil
}

// fallback asks the visitor to rephrase, or hands off after MaxFallbacks in a row.
func (e *Engine) fallback(st *State, d *Decision, sig signals, skill string) {
	if st.Fallbacks+1 >= e.cfg.MaxFallbacks {
		e.handoff(st, d, ReasonRepeatedFallback, e.handoffSkill(st, sig), "handoff_sorry")
		return
	}
	d.Kind, d.Reason, d.Skill = KindFallback, ReasonLowConfidence, skill
	d.Reply = phrase(d.Lang, "fallback")
	d.QuickReplies = []string{phrase(d.Lang, "human_button")}
}

// clarify asks which of hits[idx...] the visitor means: "Which of these do
// you mean?", or "Did you mean ...?" for a single one. Only a confident
// intent gives the question a skill group.
func (e *Engine) clarify(st *State, d *Decision, hits []knowledge.Hit, idx []int, reason, skill string) {
	d.Kind, d.Reason, d.Skill = KindClarify, reason, skill
	st.Options = nil
	for _, i := range idx {
		label := e.question(hits[i], d.Lang)
		st.Options = append(st.Options, Choice{Label: label, FAQID: hits[i].ID})
		d.QuickReplies = append(d.QuickReplies, label)
	}
	d.Reply = phrase(d.Lang, "clarify")
	if len(idx) == 1 {
		d.Reply = fmt.Sprintf(phrase(d.Lang, "did_you_mean"), strings.TrimRight(d.QuickReplies[0], "?？ "))
		if d.Reason == ReasonAmbiguous {
			d.Reason = ReasonUnsure // one option is not "close candidates"
		}
	}
	d.QuickReplies = append(d.QuickReplies, phrase(d.Lang, "human_button"))
}

// intentLinks says whether the intent is about each hit: an entry tagged
// with the intent's name is; otherwise the policy's faq and tags for the
// intent decide. nil when the policy links the intent to nothing and the top
// entry does not name it (the skill groups decide).
func (e *Engine) intentLinks(intent string, hits []knowledge.Hit) []link {
	p := e.cfg.Intents[intent]
	out := make([]link, len(hits))
	for i, h := range hits {
		var tags []string
		if e.get != nil {
			if en, ok := e.get.Get(h.ID); ok {
				tags = en.Tags
			}
		}
		switch {
		case slices.Contains(tags, intent) || slices.Contains(p.FAQ, h.ID):
			out[i] = linked
		case len(p.FAQ) == 0 && len(p.Tags) == 0:
			out[i] = linkUnknown
		default:
			out[i] = notLinked
			for _, t := range tags {
				if slices.Contains(p.Tags, t) {
					out[i] = linked
				}
			}
		}
	}
	if out[0] == linkUnknown {
		return nil
	}
	return out
}

// covers reports whether an answer already says what a follow-up asks
// about: every content word (Chinese: pair of characters) of core is in it.
// "那信用卡呢？" after the installments answer (花呗或信用卡分期) is covered;
// "那要多久？" after the return policy is not.
func covers(answer, core string) bool {
	a := strings.ToLower(answer)
	for _, u := range contentUnits(core) {
		if len(u) > 3 && u[len(u)-1] == 's' {
			u = u[:len(u)-1] // "cards" is said by "credit card"
		}
		if !strings.Contains(a, u) {
			return false
		}
	}
	return true
}

// contentUnits are the words of s that carry its topic: Latin words of three
// or more letters that are not grammar words, and the pairs of Han
// characters (or a lone one) once grammar characters are left out.
func contentUnits(s string) []string {
	var out []string
	var han []rune
	flush := func() {
		switch {
		case len(han) == 1:
			out = append(out, string(han))
		case len(han) > 1:
			for i := 0; i+1 < len(han); i++ {
				out = append(out, string(han[i:i+2]))
			}
		}
		han = han[:0]
	}
	for _, w := range strings.FieldsFunc(strings.ToLower(s), isSep) {
		latin := 0
		for _, r := range w {
			switch {
			case unicode.Is(unicode.Han, r):
				if strings.ContainsRune(zhGrammar, r) {
					flush()
				} else {
					han = append(han, r)
				}
			default:
				flush()
				if unicode.IsLetter(r) {
					latin++
				}
			}
		}
		flush()
		if latin >= 3 && latin == utf8.RuneCountInString(w) && !enGrammar[w] && !stopWords[w] {
			out = append(out, w)
		}
	}
	return out
}

// stopWords are English words that say nothing about a topic, besides enGrammar.
var stopWords = map[string]bool{"about": true, "also": true, "then": true, "same": true, "one": true, "any": true, "some": true, "get": true, "should": true, "they": true, "them": true, "their": true}

func hasHit(hits []knowledge.Hit, id string) bool {
	return slices.ContainsFunc(hits, func(h knowledge.Hit) bool { return h.ID == id })
}

// otherHits are the candidates of a follow-up besides the previous answer:
// those of the combined search, then those of the follow-up alone, each at
// least half as good as the best of its search, at most three.
func otherHits(combined, own []knowledge.Hit, last string) []knowledge.Hit {
	var out []knowledge.Hit
	seen := map[string]bool{last: true}
	for _, hs := range [][]knowledge.Hit{combined, own} {
		top := 0.0
		for _, h := range hs {
			if h.ID == last {
				continue
			}
			if top == 0 {
				top = h.Score
			}
			if !seen[h.ID] && h.Score >= top/2 && len(out) < 3 {
				seen[h.ID] = true
				out = append(out, h)
			}
		}
	}
	return out
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

var (
	ordinalEN = regexp.MustCompile(`^(?:(?:i(?:'d| would)? (?:like|want|choose|pick|mean|take)|i mean|choose|pick|take|option|number|no\.?)\s*)?(?:the\s+)?(1|2|3|4|5|one|two|three|four|five|first|second|third|fourth|fifth|last|1st|2nd|3rd|4th|5th)(?:\s+(?:one|option|question))?(?:\s+please)?$`)
	ordinalZH = regexp.MustCompile(`^(?:我要|我选|选|选择|我想问|是|要)?第?([一二两三四五1-5]|最后一)(?:个|项|条|种|题)?(?:吧|啊|呀)?$`)
	ordinals  = map[string]int{"1": 0, "one": 0, "first": 0, "1st": 0, "一": 0, "2": 1, "two": 1, "second": 1, "2nd": 1,
		"二": 1, "两": 1, "3": 2, "three": 2, "third": 2, "3rd": 2, "三": 2, "4": 3, "four": 3, "fourth": 3, "4th": 3,
		"四": 3, "5": 4, "five": 4, "fifth": 4, "5th": 4, "五": 4, "last": -1, "最后一": -1}
)

// pickOption matches a message against the options of the latest clarify
// question: an option's text, its number ("2", "the second one", "第二个"),
// a part of it or a near spelling that fits one option only ("怎么领" for
// "怎么领优惠券？"), or "yes" to a "Did you mean ...?" with one option.
func pickOption(opts []Choice, text string, tk talk) (Choice, bool) {
	if len(opts) == 0 {
		return Choice{}, false
	}
	t := strings.Join(strings.FieldsFunc(strings.ToLower(text), isSep), " ")
	for _, o := range opts {
		if strings.EqualFold(strings.TrimSpace(o.Label), strings.TrimSpace(text)) || foldLabel(o.Label) == foldLabel(text) {
			return o, true
		}
	}
	if len(opts) == 1 && tk.key == "ack" {
		return opts[0], true
	}
	if m := ordinalEN.FindStringSubmatch(t); m != nil {
		return nthOption(opts, ordinals[m[1]])
	}
	if m := ordinalZH.FindStringSubmatch(strings.ReplaceAll(t, " ", "")); m != nil {
		return nthOption(opts, ordinals[m[1]])
	}
	f := foldLabel(text)
	if n := utf8.RuneCountInString(f); n < 2 || Language(f) == "en" && n < 4 {
		return Choice{}, false
	}
	// A part of one option's text, or one option's text with a little more.
	var hit []Choice
	for _, o := range opts {
		l := foldLabel(o.Label)
		if strings.Contains(l, f) || strings.Contains(f, l) {
			hit = append(hit, o)
		}
	}
	if len(hit) == 1 {
		return hit[0], true
	}
	// A near spelling of one option.
	best, second, bi := 0.0, 0.0, -1
	for i, o := range opts {
		s := dice(f, foldLabel(o.Label))
		switch {
		case s > best:
			best, second, bi = s, best, i
		case s > second:
			second = s
		}
	}
	if best >= 0.6 && best-second >= 0.2 {
		return opts[bi], true
	}
	return Choice{}, false
}

func nthOption(opts []Choice, i int) (Choice, bool) {
	if i < 0 {
		i = len(opts) - 1
	}
	if i >= len(opts) {
		return Choice{}, false
	}
	return opts[i], true
}

// foldLabel keeps the letters, digits and Han characters of s, lower-cased.
func foldLabel(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return unicode.ToLower(r)
		}
		return -1
	}, s)
}

// dice is the Dice coefficient of the character pairs of a and b.
func dice(a, b string) float64 {
	pairs := func(s string) map[string]int {
		r := []rune(s)
		m := map[string]int{}
		for i := 0; i+1 < len(r); i++ {
			m[string(r[i:i+2])]++
		}
		return m
	}
	pa, pb := pairs(a), pairs(b)
	na, nb, both := 0, 0, 0
	for k, n := range pa {
		na += n
		both += min(n, pb[k])
	}
	for _, n := range pb {
		nb += n
	}
	if na+nb == 0 {
		return 0
	}
	return 2 * float64(both) / float64(na+nb)
}

// optionHit returns the best-ranked option of the latest clarify question
// among the hits of a free-text reply to it, if it scores at least half as
// much as the best hit.
func optionHit(res knowledge.Result, opts []Choice) (Choice, bool) {
	for _, h := range res.Hits {
		if h.Score < res.Hits[0].Score/2 {
			break
		}
		for _, o := range opts {
			if o.FAQID == h.ID {
				return o, true
			}
		}
	}
	return Choice{}, false
}

// remember updates the context after a turn; topic is the question that
// sets the topic when d answers ("" for the message itself, or to keep the
// topic's question after a follow-up).
func (e *Engine) remember(st *State, text, topic string, d Decision) {
	st.Turns = append(st.Turns, TurnRecord{Text: mask.Redact(text), Kind: d.Kind, Reason: d.Reason, FAQID: d.FAQID, Intent: d.Intent, At: e.now().UTC()})
	if n := len(st.Turns) - e.cfg.MaxTurns; n > 0 {
		st.Turns = append([]TurnRecord(nil), st.Turns[n:]...)
	}
	st.Rated = false
	if d.Kind != KindClarify {
		st.Options = nil
	}
	switch d.Kind {
	case KindAnswer:
		st.Fallbacks = 0
		if d.Reason == ReasonFlowDone {
			st.Topic.Skill, st.Topic.Intent = d.Skill, d.Intent
			st.LastAnswer = "flow:" + d.Flow
			break
		}
		q := topic
		if q == "" && !d.FollowUp {
			q = text
		}
		if q == "" {
			q = st.Topic.Query
		}
		st.Topic = Topic{Query: mask.Redact(q), Intent: d.Intent, FAQID: d.FAQID, Skill: d.Skill}
		st.LastAnswer = d.FAQID
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
	// Only answers ask "Was this helpful?", once each: feedback on anything
	// else (small talk, an apology) is acknowledged but not counted.
	rateable := len(st.Turns) > 0 && st.Turns[len(st.Turns)-1].Kind == KindAnswer && !st.Rated
	switch {
	case !rateable && helpful:
		d.Reason, d.Reply = ReasonFeedbackHelpful, phrase(lang, "feedback_thanks")
	case !rateable:
		d.Reason, d.Reply = ReasonFeedbackUnhelpful, phrase(lang, "feedback_sorry")
		d.QuickReplies = []string{phrase(lang, "human_button")}
	case helpful:
		st.Unhelpful, st.Rated = 0, true
		d.Reason, d.Reply = ReasonFeedbackHelpful, phrase(lang, "feedback_thanks")
	default:
		st.Rated = true
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
