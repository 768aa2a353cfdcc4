package bot

import (
	"fmt"
	"io"
	"os"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/frontdesk/frontdesk/knowledge"
)

// Config is the deployment's policy: thresholds, escalation rules and
// per-intent settings. Read it from YAML with ParseConfig, or start from
// DefaultConfig.
type Config struct {
	// AnswerThreshold is the FAQ confidence at or above which the bot answers.
	AnswerThreshold float64 `json:"answer_threshold" yaml:"answer_threshold"`
	// TopK is how many FAQ candidates are fetched and recorded.
	TopK int `json:"top_k" yaml:"top_k"`
	// ClarifyThreshold is the FAQ confidence at or above which an unsure or
	// ambiguous match becomes a clarifying question; below it the match is
	// low confidence. 0 disables clarifying.
	ClarifyThreshold float64 `json:"clarify_threshold" yaml:"clarify_threshold"`
	// ClarifyMargin: when the confidence gap between the two best entries is
	// below it, the bot asks which one is meant.
	ClarifyMargin float64 `json:"clarify_margin" yaml:"clarify_margin"`
	// AgreeThreshold is the lower FAQ confidence that is enough when the intent
	// classifier is confident and the entry belongs to the intent's skill group.
	AgreeThreshold float64 `json:"agree_threshold" yaml:"agree_threshold"`
	// IntentConfident is the intent confidence counted as confident (flows
	// start, agreement, leaving a flow for another question).
	IntentConfident float64 `json:"intent_confident" yaml:"intent_confident"`
	// MaxFallbacks consecutive turns not understood hand the conversation off.
	MaxFallbacks int `json:"max_fallbacks" yaml:"max_fallbacks"`
	// MaxUnhelpful consecutive "not helpful" feedbacks hand the conversation off.
	MaxUnhelpful int `json:"max_unhelpful" yaml:"max_unhelpful"`
	// OutOfScope is what an out-of-scope question the FAQ cannot answer gets:
	// "handoff" (default) or "fallback" (ask to rephrase).
	OutOfScope string `json:"out_of_scope" yaml:"out_of_scope"`
	// IgnoreFrustration turns off the handoff on frustration signals.
	IgnoreFrustration bool `json:"ignore_frustration" yaml:"ignore_frustration"`
	// DefaultSkill is the skill group when nothing names one.
	DefaultSkill string `json:"default_skill" yaml:"default_skill"`
	// ContextTTL is how long a conversation's context is kept after its last turn.
	ContextTTL time.Duration `json:"context_ttl" yaml:"context_ttl"`
	// MaxTurns is how many turns the context keeps.
	MaxTurns int `json:"max_turns" yaml:"max_turns"`
	// Intents holds per-intent settings, by intent name.
	Intents map[string]IntentPolicy `json:"intents,omitempty" yaml:"intents"`
}

// IntentPolicy is the policy for one intent.
type IntentPolicy struct {
	// HumanOnly intents are always handed to a person.
	HumanOnly bool `json:"human_only,omitempty" yaml:"human_only"`
	// Threshold replaces the classifier's out-of-scope threshold for this intent.
	Threshold float64 `json:"threshold,omitempty" yaml:"threshold"`
	// AnswerThreshold replaces Config.AnswerThreshold when this intent is predicted.
	AnswerThreshold float64 `json:"answer_threshold,omitempty" yaml:"answer_threshold"`
	// Skill replaces the intent's skill group from the training data.
	Skill string `json:"skill,omitempty" yaml:"skill"`
	// FAQ and Tags link the intent to the FAQ entries about it: the entries
	// with these ids, and those with one of these tags (an entry tagged with
	// the intent's name is linked too). With links, the intent agrees only
	// with a linked entry; without any, with an entry of its skill group.
	FAQ  []string `json:"faq,omitempty" yaml:"faq"`
	Tags []string `json:"tags,omitempty" yaml:"tags"`
}

// DefaultConfig returns the thresholds used when none are configured.
func DefaultConfig() Config {
	return Config{
		AnswerThreshold: 0.5, TopK: 3, ClarifyThreshold: 0.3, ClarifyMargin: 0.1, AgreeThreshold: 0.35,
		IntentConfident: 0.8, MaxFallbacks: 2, MaxUnhelpful: 2, OutOfScope: "handoff",
		DefaultSkill: "default_support", ContextTTL: 30 * time.Minute, MaxTurns: 6,
	}
}

// ParseConfig reads a policy in YAML; fields it leaves out keep DefaultConfig's values.
func ParseConfig(r io.Reader) (Config, error) {
	c := DefaultConfig()
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && err != io.EOF {
		return Config{}, fmt.Errorf("bot: config: %w", err)
	}
	if err := c.validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// ReadConfigFile reads a policy file (see ParseConfig).
func ReadConfigFile(path string) (Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return Config{}, fmt.Errorf("bot: config: %w", err)
	}
	defer f.Close()
	c, err := ParseConfig(f)
	if err != nil {
		return Config{}, fmt.Errorf("%w (in %s)", err, path)
	}
	return c, nil
}

func (c Config) validate() error {
	for name, v := range map[string]float64{
		"answer_threshold": c.AnswerThreshold, "clarify_threshold": c.ClarifyThreshold,
		"clarify_margin": c.ClarifyMargin, "agree_threshold": c.AgreeThreshold, "intent_confident": c.IntentConfident,
	} {
		if v < 0 || v > 1 {
			return fmt.Errorf("bot: %s %v outside [0,1]", name, v)
		}
	}
	if c.OutOfScope != "" && c.OutOfScope != "handoff" && c.OutOfScope != "fallback" {
		return fmt.Errorf("bot: out_of_scope %q: want handoff or fallback", c.OutOfScope)
	}
	for name, p := range c.Intents {
		if p.Threshold < 0 || p.Threshold > 1 || p.AnswerThreshold < 0 || p.AnswerThreshold > 1 {
			return fmt.Errorf("bot: intent %s: thresholds outside [0,1]", name)
		}
	}
	return nil
}

// withDefaults fills the counts and names whose zero value means "unset".
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.TopK <= 0 {
		c.TopK = d.TopK
	}
	if c.MaxFallbacks <= 0 {
		c.MaxFallbacks = d.MaxFallbacks
	}
	if c.MaxUnhelpful <= 0 {
		c.MaxUnhelpful = d.MaxUnhelpful
	}
	if c.DefaultSkill == "" {
		c.DefaultSkill = d.DefaultSkill
	}
	if c.ContextTTL <= 0 {
		c.ContextTTL = d.ContextTTL
	}
	if c.MaxTurns <= 0 {
		c.MaxTurns = d.MaxTurns
	}
	if c.OutOfScope == "" {
		c.OutOfScope = "handoff"
	}
	return c
}

// signals are the classifier's and the knowledge base's evidence for one turn.
type signals struct {
	hasIntents bool
	intent     string  // best in-scope intent
	intentConf float64 // its confidence
	oos        bool    // the classifier says out of scope
	intentSkl  string  // skill group of intent
	faq        knowledge.Result
	// links say whether the intent is about each hit of faq (nil when
	// nothing links them: the skill groups decide).
	links []link
}

// link is whether an intent and an FAQ entry are about the same topic.
type link int

const (
	linkUnknown link = iota // no link data for the intent: compare skill groups
	linked
	notLinked
)

// verdict is what the policy decided from the signals.
type verdict struct {
	kind    Kind
	reason  string
	skill   string
	options []int // hit indices offered by a clarify
	answerT float64
}

// inScope reports whether the intent counts, applying its own threshold.
func (s signals) inScope(c Config) bool {
	if !s.hasIntents || s.intent == "" {
		return false
	}
	if p, ok := c.Intents[s.intent]; ok && p.Threshold > 0 {
		return s.intentConf >= p.Threshold
	}
	return !s.oos
}

// skillOf returns the intent's skill group, honouring the policy override.
func (c Config) skillOf(intent, trained string) string {
	if p, ok := c.Intents[intent]; ok && p.Skill != "" {
		return p.Skill
	}
	return trained
}

// ambiguous reports whether the two best entries of a search are too close
// to pick one: the bot asks which is meant.
func (c Config) ambiguous(r knowledge.Result) bool {
	return len(r.Hits) >= 2 && c.ClarifyThreshold > 0 && r.Confidence >= c.ClarifyThreshold && r.Margin < c.ClarifyMargin
}

// Confident reports whether the FAQ rule answers with the best entry of a
// search outright: confidence at or above AnswerThreshold and not ambiguous
// (with the defaults: confidence >= 0.5, unless a second hit is within a
// margin of 0.1 and scores at least half as much as the first, so that a
// clarify question would offer both). Per-intent thresholds and the intent's
// agreement are not considered.
func (c Config) Confident(r knowledge.Result) bool {
	return len(r.Hits) > 0 && r.Confidence >= c.AnswerThreshold && (!c.ambiguous(r) || len(clarifyOptions(r.Hits)) == 1)
}

// decide is the policy over the classifier's and the knowledge base's
// scores; it is pure so that it can be tested over tables of scores.
func decide(s signals, c Config) verdict {
	inScope := s.inScope(c)
	v := verdict{answerT: c.AnswerThreshold}
	if inScope {
		p := c.Intents[s.intent]
		if p.HumanOnly {
			return verdict{kind: KindHandoff, reason: ReasonHumanOnly, skill: s.intentSkl, answerT: v.answerT}
		}
		if p.AnswerThreshold > 0 {
			v.answerT = p.AnswerThreshold
		}
	}
	hits := s.faq.Hits
	confidentIntent := inScope && s.intentConf >= c.IntentConfident
	if len(hits) > 0 {
		conf := s.faq.Confidence
		ambiguous := c.ambiguous(s.faq)
		opts := clarifyOptions(hits)
		agrees := confidentIntent && s.agrees(0)
		if confidentIntent && len(s.links) == len(hits) && s.links[0] == notLinked {
			// The intent is about another entry that is worth offering
			// ("my order hasn't arrived": order-cancel first, order-tracking
			// linked to order_status second): ask, that one first.
			for _, i := range opts[1:] {
				if s.links[i] == linked {
					v.kind, v.reason, v.options, v.skill = KindClarify, ReasonUnsure, []int{i, 0}, s.intentSkl
					return v
				}
			}
		}
		switch {
		case conf >= v.answerT && (!ambiguous || len(opts) == 1):
			// A close runner-up that scores less than half as much is no
			// second option: the best entry answers.
			v.kind, v.reason, v.skill = KindAnswer, ReasonFAQMatch, hits[0].Skill
			return v
		case ambiguous && len(opts) > 1:
			v.kind, v.reason, v.options = KindClarify, ReasonAmbiguous, opts
			return v
		case agrees && conf >= c.AgreeThreshold:
			v.kind, v.reason, v.skill = KindAnswer, ReasonIntentAgrees, hits[0].Skill
			return v
		case c.ClarifyThreshold > 0 && conf >= c.ClarifyThreshold:
			// Unsure (or out of scope for the classifier): offer the best
			// entries; with one, "Did you mean ...?".
			v.kind, v.reason, v.options = KindClarify, ReasonUnsure, opts
			if confidentIntent {
				v.skill = s.intentSkl
			}
			return v
		case c.ClarifyThreshold > 0 && confidentIntent:
			// The intent is clear but no entry is: offer the entries of its skill group.
			if opts := skillOptions(hits, s.intentSkl); len(opts) > 0 {
				v.kind, v.reason, v.options, v.skill = KindClarify, ReasonUnsure, opts, s.intentSkl
				return v
			}
		}
	}
	if s.hasIntents && !inScope && c.OutOfScope != "fallback" {
		v.kind, v.reason, v.skill = KindHandoff, ReasonLowConfidence, c.DefaultSkill
		return v
	}
	v.kind, v.reason = KindFallback, ReasonLowConfidence
	if confidentIntent {
		v.skill = s.intentSkl // only a confident intent names the topic's group
	}
	return v
}

// agrees reports whether the intent is about hit i: linked to it when the
// policy or the entry's tags say what the intent is about, else of the same
// skill group.
func (s signals) agrees(i int) bool {
	if i < len(s.links) {
		switch s.links[i] {
		case linked:
			return true
		case notLinked:
			return false
		}
	}
	h := s.faq.Hits[i]
	return h.Skill != "" && h.Skill == s.intentSkl
}

// clarifyOptions picks the hits worth offering: the best, and the others
// scoring at least half as much, at most three.
func clarifyOptions(hits []knowledge.Hit) []int {
	out := []int{0}
	for i := 1; i < len(hits) && len(out) < 3; i++ {
		if hits[i].Score >= hits[0].Score/2 {
			out = append(out, i)
		}
	}
	return out
}

// skillOptions picks up to three hits of a skill group.
func skillOptions(hits []knowledge.Hit, skill string) []int {
	var out []int
	for i, h := range hits {
		if skill != "" && h.Skill == skill && len(out) < 3 {
			out = append(out, i)
		}
	}
	return out
}
