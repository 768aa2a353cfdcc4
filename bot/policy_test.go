package bot

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/intents"
	"github.com/frontdesk/frontdesk/knowledge"
)

func hits(skill string, scores ...float64) []knowledge.Hit {
	var out []knowledge.Hit
	for i, s := range scores {
		out = append(out, knowledge.Hit{ID: string(rune('a' + i)), Score: s, Skill: skill, Answer: "A", Question: "Q"})
	}
	return out
}

func TestDecide(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Intents = map[string]IntentPolicy{
		"complaint": {HumanOnly: true},
		"refund":    {AnswerThreshold: 0.8},
		"strict":    {Threshold: 0.9},
	}
	order := func(intent string, conf float64) signals {
		return signals{hasIntents: true, intent: intent, intentConf: conf, intentSkl: "order_support"}
	}
	tests := []struct {
		name       string
		sig        signals
		wantKind   Kind
		wantReason string
		wantSkill  string
		wantOpts   []int
	}{
		{"confident faq answers", signals{faq: knowledge.Result{Confidence: 0.9, Margin: 0.5, Hits: hits("order_support", 10, 3)}}, KindAnswer, ReasonFAQMatch, "order_support", nil},
		{"at the threshold answers", signals{faq: knowledge.Result{Confidence: 0.5, Margin: 0.5, Hits: hits("x", 10)}}, KindAnswer, ReasonFAQMatch, "x", nil},
		{"close top two clarify", signals{faq: knowledge.Result{Confidence: 0.9, Margin: 0.05, Hits: hits("x", 10, 9, 2)}}, KindClarify, ReasonAmbiguous, "", []int{0, 1}},
		{"single hit never ambiguous", signals{faq: knowledge.Result{Confidence: 0.9, Margin: 0, Hits: hits("x", 10)}}, KindAnswer, ReasonFAQMatch, "x", nil},
		{"unsure clarifies", signals{faq: knowledge.Result{Confidence: 0.4, Margin: 0.3, Hits: hits("x", 10, 6, 4)}}, KindClarify, ReasonUnsure, "", []int{0, 1}},
		{"low without classifier falls back", signals{faq: knowledge.Result{Confidence: 0.1, Hits: hits("x", 1)}}, KindFallback, ReasonLowConfidence, "", nil},
		{"no hits without classifier falls back", signals{}, KindFallback, ReasonLowConfidence, "", nil},
		{"out of scope and low hands off", signals{hasIntents: true, oos: true, intent: "refund", intentConf: 0.1, faq: knowledge.Result{Confidence: 0.1, Hits: hits("x", 1)}}, KindHandoff, ReasonLowConfidence, "default_support", nil},
		{"out of scope but faq confident answers", signals{hasIntents: true, oos: true, faq: knowledge.Result{Confidence: 0.95, Margin: 0.9, Hits: hits("default_support", 5)}}, KindAnswer, ReasonFAQMatch, "default_support", nil},
		{"intent agrees lowers the bar", func() signals {
			s := order("shipping", 0.95)
			s.faq = knowledge.Result{Confidence: 0.4, Margin: 0.3, Hits: hits("order_support", 10, 2)}
			return s
		}(), KindAnswer, ReasonIntentAgrees, "order_support", nil},
		{"intent of another group does not agree", func() signals {
			s := order("shipping", 0.95)
			s.faq = knowledge.Result{Confidence: 0.4, Margin: 0.3, Hits: hits("tech_support", 10, 2)}
			return s
		}(), KindClarify, ReasonUnsure, "", []int{0}},
		{"unsure intent does not agree", func() signals {
			s := order("shipping", 0.6)
			s.faq = knowledge.Result{Confidence: 0.4, Margin: 0.3, Hits: hits("order_support", 10, 2)}
			return s
		}(), KindClarify, ReasonUnsure, "", []int{0}},
		{"clear intent, vague faq: options of its group", func() signals {
			s := order("shipping", 0.95)
			s.faq = knowledge.Result{Confidence: 0.1, Margin: 0.01, Hits: []knowledge.Hit{{ID: "t", Skill: "tech_support", Score: 9}, {ID: "o", Skill: "order_support", Score: 8}}}
			return s
		}(), KindClarify, ReasonUnsure, "order_support", []int{1}},
		{"in scope, nothing found falls back", order("shipping", 0.95), KindFallback, ReasonLowConfidence, "order_support", nil},
		{"human-only intent hands off", order("complaint", 0.9), KindHandoff, ReasonHumanOnly, "order_support", nil},
		{"per-intent answer threshold", func() signals {
			s := order("refund", 0.5)
			s.faq = knowledge.Result{Confidence: 0.7, Margin: 0.5, Hits: hits("default_support", 10, 2)}
			return s
		}(), KindClarify, ReasonUnsure, "", []int{0}},
		{"close runner-up scoring under half: answers", signals{faq: knowledge.Result{Confidence: 0.9, Margin: 0.05, Hits: hits("x", 10, 4)}}, KindAnswer, ReasonFAQMatch, "x", nil},
		{"close runner-up scoring under half, unsure: did you mean", signals{faq: knowledge.Result{Confidence: 0.4, Margin: 0.05, Hits: hits("x", 10, 4)}}, KindClarify, ReasonUnsure, "", []int{0}},
		{"out of scope with an unsure hit offers it", signals{hasIntents: true, oos: true, faq: knowledge.Result{Confidence: 0.35, Margin: 0.3, Hits: hits("x", 10, 2)}}, KindClarify, ReasonUnsure, "", []int{0}},
		{"linked intent agrees", func() signals {
			s := order("shipping", 0.95)
			s.faq = knowledge.Result{Confidence: 0.4, Margin: 0.3, Hits: hits("tech_support", 10, 2)}
			s.links = []link{linked, notLinked}
			return s
		}(), KindAnswer, ReasonIntentAgrees, "tech_support", nil},
		{"unlinked intent of the same group does not agree", func() signals {
			s := order("order_status", 0.98)
			s.faq = knowledge.Result{Confidence: 0.42, Margin: 0.34, Hits: hits("order_support", 23.7, 9)}
			s.links = []link{notLinked, notLinked}
			return s
		}(), KindClarify, ReasonUnsure, "order_support", []int{0}},
		{"intent linked to the runner-up: ask, that one first", func() signals {
			s := order("order_status", 0.98)
			s.faq = knowledge.Result{Confidence: 0.6, Margin: 0.33, Hits: hits("order_support", 23.7, 16.4, 14.1)}
			s.links = []link{notLinked, linked, linked}
			return s
		}(), KindClarify, ReasonUnsure, "order_support", []int{1, 0}},
		{"unsure intent does not name the fallback's group", func() signals {
			s := order("shipping", 0.6)
			s.faq = knowledge.Result{Confidence: 0.1, Hits: hits("x", 1)}
			return s
		}(), KindFallback, ReasonLowConfidence, "-", nil},
		{"per-intent threshold rejects", func() signals {
			s := order("strict", 0.85)
			s.faq = knowledge.Result{Confidence: 0.2, Hits: hits("x", 1)}
			return s
		}(), KindHandoff, ReasonLowConfidence, "default_support", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := decide(tt.sig, cfg.withDefaults())
			wantSkill := tt.wantSkill // "" is not checked, "-" is no skill
			if wantSkill == "-" {
				wantSkill = ""
			}
			if v.kind != tt.wantKind || v.reason != tt.wantReason || (tt.wantSkill != "" && v.skill != wantSkill) || !slices.Equal(v.options, tt.wantOpts) {
				t.Errorf("decide(%+v) = %s %s skill %q options %v; want %s %s skill %q options %v",
					tt.sig, v.kind, v.reason, v.skill, v.options, tt.wantKind, tt.wantReason, tt.wantSkill, tt.wantOpts)
			}
		})
	}
}

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name, yaml string
		wantErr    string
		check      func(Config) bool
	}{
		{"empty keeps defaults", "", "", func(c Config) bool { return c.AnswerThreshold == 0.5 && c.MaxFallbacks == 2 }},
		{"overrides", "answer_threshold: 0.7\ncontext_ttl: 5m\nintents:\n  refund: {human_only: true, skill: billing}\n", "",
			func(c Config) bool {
				return c.AnswerThreshold == 0.7 && c.ContextTTL == 5*time.Minute && c.Intents["refund"].HumanOnly && c.Intents["refund"].Skill == "billing"
			}},
		{"unknown key", "answer_treshold: 0.7\n", "answer_treshold", nil},
		{"out of range", "clarify_margin: 2\n", "clarify_margin", nil},
		{"bad out_of_scope", "out_of_scope: ignore\n", "out_of_scope", nil},
		{"bad intent threshold", "intents:\n  a: {threshold: -1}\n", "intent a", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseConfig(strings.NewReader(tt.yaml))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseConfig(%q) error = %v, want one mentioning %q", tt.yaml, err, tt.wantErr)
				}
				return
			}
			if err != nil || !tt.check(c) {
				t.Errorf("ParseConfig(%q) = %+v, %v", tt.yaml, c, err)
			}
		})
	}
	if _, err := StarterConfig(); err != nil {
		t.Errorf("StarterConfig: %v", err)
	}
}

// fakeNLU predicts from a table (the text, or the longest key it starts
// with), out of scope otherwise.
type fakeNLU map[string]intents.Prediction

func (f fakeNLU) Predict(text string) intents.Prediction {
	if p, ok := f[text]; ok {
		return p
	}
	best := ""
	for k := range f {
		if strings.HasPrefix(text, k+" ") && len(k) > len(best) {
			best = k
		}
	}
	if best != "" {
		return f[best]
	}
	return intents.Prediction{Intent: intents.OutOfScope, OutOfScope: true, Top: []intents.Scored{{Intent: "refund", Prob: 0.1}}}
}

func pred(intent, skill string, conf float64) intents.Prediction {
	return intents.Prediction{Intent: intent, Confidence: conf, Margin: conf / 2, Skill: skill, Top: []intents.Scored{{Intent: intent, Prob: conf}}}
}

// scriptKB answers each query from a table.
type scriptKB map[string]knowledge.Result

func (s scriptKB) Search(_ context.Context, q string, _ int) (knowledge.Result, error) {
	return s[q], nil
}

func TestEngineEscalation(t *testing.T) {
	ship := knowledge.Result{Confidence: 0.9, Margin: 0.8, Hits: []knowledge.Hit{{ID: "ship", Skill: "order_support", Answer: "Ships fast; pay by credit card.\n\n很快发货。"}}}
	track := knowledge.Result{Confidence: 0.9, Margin: 0.8, Hits: []knowledge.Hit{{ID: "track", Skill: "order_support", Answer: "See My orders."}}}
	kb := scriptKB{"shipping?": ship, "运费": ship, "shipping? for credit cards": ship, "tracking?": track}
	nlu := fakeNLU{"shipping?": pred("shipping", "order_support", 0.95), "blorp": pred("shipping", "order_support", 0.4), "blorp blorp": pred("shipping", "order_support", 0.4), "invoice dispute": pred("complaint", "order_support", 0.9)}
	cfg := DefaultConfig()
	cfg.Intents = map[string]IntentPolicy{"complaint": {HumanOnly: true}}
	type step struct {
		text     string
		feedback *bool
		kind     Kind
		reason   string
		skill    string
	}
	no, yes := false, true
	tests := []struct {
		name  string
		steps []step
	}{
		{"two fallbacks in a row hand off", []step{
			{text: "blorp", kind: KindFallback, reason: ReasonLowConfidence},
			{text: "blorp blorp", kind: KindHandoff, reason: ReasonRepeatedFallback},
		}},
		{"an answer resets the fallbacks", []step{
			{text: "blorp", kind: KindFallback},
			{text: "shipping?", kind: KindAnswer},
			{text: "blorp", kind: KindFallback},
		}},
		{"two unhelpful hand off to the topic's group", []step{
			{text: "shipping?", kind: KindAnswer},
			{feedback: &no, kind: KindAcknowledge, reason: ReasonFeedbackUnhelpful},
			{text: "tracking?", kind: KindAnswer},
			{feedback: &no, kind: KindHandoff, reason: ReasonRepeatedUnhelpful, skill: "order_support"},
		}},
		{"unhelpful on the apology is not counted", []step{
			{text: "shipping?", kind: KindAnswer},
			{feedback: &no, kind: KindAcknowledge, reason: ReasonFeedbackUnhelpful},
			{feedback: &no, kind: KindAcknowledge, reason: ReasonFeedbackUnhelpful},
			{text: "tracking?", kind: KindAnswer},
			{feedback: &no, kind: KindHandoff, reason: ReasonRepeatedUnhelpful},
		}},
		{"unhelpful on small talk is not counted", []step{
			{text: "shipping?", kind: KindAnswer},
			{feedback: &no, kind: KindAcknowledge, reason: ReasonFeedbackUnhelpful},
			{text: "hello", kind: KindSmalltalk},
			{feedback: &no, kind: KindAcknowledge, reason: ReasonFeedbackUnhelpful},
			{text: "tracking?", kind: KindAnswer},
			{feedback: &yes, kind: KindAcknowledge, reason: ReasonFeedbackHelpful},
		}},
		{"helpful in between resets", []step{
			{text: "shipping?", kind: KindAnswer},
			{feedback: &no, kind: KindAcknowledge},
			{text: "tracking?", kind: KindAnswer},
			{feedback: &yes, kind: KindAcknowledge, reason: ReasonFeedbackHelpful},
			{text: "shipping?", kind: KindAnswer},
			{feedback: &no, kind: KindAcknowledge, reason: ReasonFeedbackUnhelpful},
		}},
		{"human-only intent", []step{{text: "invoice dispute", kind: KindHandoff, reason: ReasonHumanOnly, skill: "order_support"}}},
		{"explicit request uses the topic's group", []step{
			{text: "shipping?", kind: KindAnswer},
			{text: "agent", kind: KindHandoff, reason: ReasonExplicitRequest, skill: "order_support"},
		}},
		{"repeating the same question is frustration", []step{
			{text: "blorp", kind: KindFallback},
			{text: "blorp", kind: KindHandoff, reason: ReasonFrustration},
		}},
		{"shouting is frustration", []step{{text: "WHERE IS MY PARCEL NOW", kind: KindHandoff, reason: ReasonFrustration}}},
		{"follow-up reuses the topic", []step{
			{text: "shipping?", kind: KindAnswer},
			{text: "and for credit cards?", kind: KindAnswer, reason: ReasonFAQMatch},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := New(kb, cfg, WithIntents(nlu))
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range tt.steps {
				var d Decision
				if s.feedback != nil {
					d, err = e.Feedback(context.Background(), "c1", *s.feedback)
				} else {
					d, err = e.Turn(context.Background(), Input{ConversationID: "c1", Text: s.text})
				}
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				if d.Kind != s.kind || (s.reason != "" && d.Reason != s.reason) || (s.skill != "" && d.Skill != s.skill) {
					t.Fatalf("step %d (%q): %s; want %s %s %s", i, s.text, Explain(d), s.kind, s.reason, s.skill)
				}
				if d.Reply == "" {
					t.Errorf("step %d: empty reply", i)
				}
			}
		})
	}
}

func TestFeedbackNeedsConversation(t *testing.T) {
	e, _ := New(scriptKB{}, DefaultConfig())
	if _, err := e.Feedback(context.Background(), "", false); err == nil || !strings.HasPrefix(err.Error(), "bot: ") {
		t.Errorf("Feedback without a conversation: err = %v, want a bot: error", err)
	}
}

func TestLanguageFollowsTheConversation(t *testing.T) {
	ship := knowledge.Result{Confidence: 0.9, Margin: 0.8, Hits: []knowledge.Hit{{ID: "ship", Answer: "Ships fast.\n\n很快发货。"}}}
	e, _ := New(scriptKB{"运费": ship, "20240518001": {}}, DefaultConfig())
	ctx := context.Background()
	d, _ := e.Turn(ctx, Input{ConversationID: "c", Text: "运费"})
	if d.Lang != "zh" || d.Reply != "很快发货。" {
		t.Fatalf("Turn(运费) = %s %q, want zh 很快发货。", d.Lang, d.Reply)
	}
	if d, _ = e.Turn(ctx, Input{ConversationID: "c", Text: "20240518001"}); d.Lang != "zh" {
		t.Errorf("a bare number after Chinese: lang %s, want zh", d.Lang)
	}
	if d, _ = e.Turn(ctx, Input{ConversationID: "new", Text: "20240518001", Lang: "zh"}); d.Lang != "zh" {
		t.Errorf("a bare number with Input.Lang zh: lang %s, want zh", d.Lang)
	}
}

func TestConfident(t *testing.T) {
	cfg := DefaultConfig()
	tests := []struct {
		name string
		res  knowledge.Result
		want bool
	}{
		{"confident and clear", knowledge.Result{Confidence: 0.9, Margin: 0.5, Hits: hits("x", 10, 3)}, true},
		{"at the threshold", knowledge.Result{Confidence: 0.5, Margin: 0.5, Hits: hits("x", 10)}, true},
		{"below the threshold", knowledge.Result{Confidence: 0.49, Margin: 0.49, Hits: hits("x", 10)}, false},
		{"close runner-up", knowledge.Result{Confidence: 0.9, Margin: 0.09, Hits: hits("x", 10, 9)}, false},
		{"close runner-up scoring under half", knowledge.Result{Confidence: 0.9, Margin: 0.09, Hits: hits("x", 10, 4)}, true},
		{"margin at the limit", knowledge.Result{Confidence: 0.9, Margin: 0.1, Hits: hits("x", 10, 9)}, true},
		{"single hit never ambiguous", knowledge.Result{Confidence: 0.9, Margin: 0, Hits: hits("x", 10)}, true},
		{"no hits", knowledge.Result{Confidence: 0.9}, false},
	}
	for _, tt := range tests {
		got := cfg.Confident(tt.res)
		if got != tt.want {
			t.Errorf("%s: Confident(%+v) = %v, want %v", tt.name, tt.res, got, tt.want)
		}
		// The same verdict as the policy's FAQ rule.
		v := decide(signals{faq: tt.res}, cfg)
		if answered := v.kind == KindAnswer && v.reason == ReasonFAQMatch; answered != tt.want {
			t.Errorf("%s: decide answers = %v, Confident = %v", tt.name, answered, got)
		}
	}
}
