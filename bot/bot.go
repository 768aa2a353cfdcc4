package bot

import (
	"context"
	"fmt"
	"strings"
	"unicode"

	"github.com/frontdesk/frontdesk/knowledge"
)

// Kind is the type of decision the bot made.
type Kind string

// The decision kinds.
const (
	KindAnswer    Kind = "answer"
	KindClarify   Kind = "clarify"
	KindHandoff   Kind = "handoff"
	KindSmalltalk Kind = "smalltalk"
	KindFallback  Kind = "fallback"
)

// Reason codes explain a decision to agents and analytics.
const (
	ReasonFAQMatch        = "faq_match"
	ReasonLowConfidence   = "low_confidence"
	ReasonExplicitRequest = "explicit_request"
	ReasonSmalltalk       = "smalltalk"
	ReasonEmpty           = "empty_input"
)

// Knowledge is what the bot needs from the FAQ index.
type Knowledge interface {
	Search(ctx context.Context, query string, k int) (knowledge.Result, error)
}

// Config holds the bot's thresholds.
type Config struct {
	// AnswerThreshold is the FAQ confidence at or above which the bot answers.
	AnswerThreshold float64 `json:"answer_threshold"`
	// TopK is how many FAQ candidates are fetched and recorded.
	TopK int `json:"top_k"`
}

// DefaultConfig returns the thresholds used when none are configured.
func DefaultConfig() Config {
	return Config{AnswerThreshold: 0.5, TopK: 3}
}

// Input is one visitor turn.
type Input struct {
	ConversationID string
	Text           string
}

// Candidate is an FAQ entry considered for a turn.
type Candidate struct {
	ID    string  `json:"id"`
	Score float64 `json:"score"`
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
	// Skill is the skill group for a handoff.
	Skill string `json:"skill,omitempty"`
	// FAQID is the entry the answer came from.
	FAQID string `json:"faq_id,omitempty"`
	// Confidence and Margin are the knowledge search's calibrated figures.
	Confidence float64     `json:"confidence"`
	Margin     float64     `json:"margin"`
	Threshold  float64     `json:"threshold"`
	Candidates []Candidate `json:"candidates,omitempty"`
}

// Engine decides what the bot says.
type Engine struct {
	kb  Knowledge
	cfg Config
}

// New returns an engine answering from kb.
func New(kb Knowledge, cfg Config) (*Engine, error) {
	if kb == nil {
		return nil, fmt.Errorf("bot: a knowledge searcher is required")
	}
	if cfg.AnswerThreshold < 0 || cfg.AnswerThreshold > 1 {
		return nil, fmt.Errorf("bot: answer threshold %v outside [0,1]", cfg.AnswerThreshold)
	}
	if cfg.TopK <= 0 {
		cfg.TopK = 3
	}
	return &Engine{kb: kb, cfg: cfg}, nil
}

// Turn decides the reply to one visitor message.
func (e *Engine) Turn(ctx context.Context, in Input) (Decision, error) {
	text := strings.TrimSpace(in.Text)
	lang := Language(text)
	d := Decision{Lang: lang, Threshold: e.cfg.AnswerThreshold}
	if text == "" {
		d.Kind, d.Reason, d.Reply = KindFallback, ReasonEmpty, phrase(lang, "empty")
		return d, nil
	}
	if wantsHuman(text) {
		d.Kind, d.Reason, d.Reply, d.Skill = KindHandoff, ReasonExplicitRequest, phrase(lang, "handoff"), "default_support"
		return d, nil
	}
	if key, ok := smalltalk(text); ok {
		d.Kind, d.Reason, d.Reply = KindSmalltalk, ReasonSmalltalk, phrase(lang, key)
		return d, nil
	}
	res, err := e.kb.Search(ctx, text, e.cfg.TopK)
	if err != nil {
		return Decision{}, fmt.Errorf("bot: search: %w", err)
	}
	d.Confidence, d.Margin = res.Confidence, res.Margin
	for _, h := range res.Hits {
		d.Candidates = append(d.Candidates, Candidate{ID: h.ID, Score: h.Score})
	}
	if len(res.Hits) > 0 && res.Confidence >= e.cfg.AnswerThreshold {
		top := res.Hits[0]
		d.Kind, d.Reason, d.Reply, d.FAQID, d.Skill = KindAnswer, ReasonFAQMatch, Localise(top.Answer, lang), top.ID, top.Skill
		return d, nil
	}
	d.Kind, d.Reason, d.Reply = KindFallback, ReasonLowConfidence, phrase(lang, "fallback")
	d.QuickReplies = []string{phrase(lang, "human_button")}
	return d, nil
}

// Localise keeps the paragraphs of a bilingual answer that are in lang. An
// answer written in one language only is returned whole.
func Localise(answer, lang string) string {
	paras := strings.Split(strings.ReplaceAll(answer, "\r\n", "\n"), "\n\n")
	var match []string
	other := false
	for _, p := range paras {
		if strings.TrimSpace(p) == "" {
			continue
		}
		if Language(p) == lang {
			match = append(match, p)
		} else {
			other = true
		}
	}
	if len(match) == 0 || !other {
		return strings.TrimSpace(answer)
	}
	return strings.TrimSpace(strings.Join(match, "\n\n"))
}

// Language guesses the reply language: zh when the text has Han characters.
func Language(text string) string {
	for _, r := range text {
		if unicode.Is(unicode.Han, r) {
			return "zh"
		}
	}
	return "en"
}

var humanPhrases = []string{
	"转人工", "人工客服", "人工服务", "找客服", "真人", "人工", "客服人员", "找人工",
	"talk to a person", "talk to a human", "speak to a human", "speak to a person", "real person",
	"human agent", "live agent", "customer service", "talk to someone", "agent please", "representative",
}

func wantsHuman(text string) bool {
	t := strings.ToLower(text)
	for _, p := range humanPhrases {
		if strings.Contains(t, p) {
			return true
		}
	}
	return t == "agent" || t == "human"
}

var smalltalkPhrases = []struct {
	key     string
	phrases []string
}{
	{"robot", []string{"are you a robot", "are you a bot", "are you human", "你是机器人", "你是真人吗", "机器人吗"}},
	{"thanks", []string{"thank", "thx", "谢谢", "多谢", "感谢"}},
	{"bye", []string{"bye", "goodbye", "see you", "再见", "拜拜"}},
	{"greeting", []string{"hello", "hi", "hey", "good morning", "good afternoon", "good evening", "你好", "您好", "嗨", "在吗", "在不在"}},
}

// smalltalk recognises short social messages; long messages are questions.
func smalltalk(text string) (string, bool) {
	t := strings.ToLower(strings.Trim(text, " !！.。?？~,，"))
	if len([]rune(t)) > 24 {
		return "", false
	}
	words := strings.FieldsFunc(t, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	for _, s := range smalltalkPhrases {
		for _, p := range s.phrases {
			if Language(p) == "zh" {
				if strings.Contains(t, p) {
					return s.key, true
				}
				continue
			}
			if strings.Contains(p, " ") {
				if strings.Contains(t, p) {
					return s.key, true
				}
				continue
			}
			for _, w := range words {
				if w == p || (p == "thank" && strings.HasPrefix(w, p)) {
					return s.key, true
				}
			}
		}
	}
	return "", false
}

var phrases = map[string][2]string{ // en, zh
	"greeting":     {"Hello! I'm the Acme Shop assistant. Ask me about orders, shipping, returns or payment.", "您好！我是 Acme 商城的智能助手，可以回答订单、配送、退换货和支付等问题。"},
	"thanks":       {"You're welcome! Anything else I can help with?", "不客气！还有什么可以帮您？"},
	"bye":          {"Goodbye, and thanks for visiting Acme Shop!", "再见，感谢您光临 Acme 商城！"},
	"robot":        {"I'm a virtual assistant. Type \"human\" at any time to reach a person.", "我是智能助手。随时输入“转人工”即可联系人工客服。"},
	"fallback":     {"Sorry, I'm not sure I understood. Could you rephrase, or ask for a human?", "抱歉，我没有完全理解。您可以换个说法，或者转人工客服。"},
	"handoff":      {"I'll connect you with a member of our team.", "好的，正在为您转接人工客服。"},
	"empty":        {"Please type your question.", "请输入您的问题。"},
	"human_button": {"Talk to a person", "转人工"},
}

func phrase(lang, key string) string {
	p := phrases[key]
	if lang == "zh" {
		return p[1]
	}
	return p[0]
}
