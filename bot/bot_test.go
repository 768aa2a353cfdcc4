package bot

import (
	"context"
	"errors"
	"testing"

	"github.com/frontdesk/frontdesk/knowledge"
)

type fakeKB struct {
	res knowledge.Result
	err error
	got string
}

func (f *fakeKB) Search(_ context.Context, q string, k int) (knowledge.Result, error) {
	f.got = q
	return f.res, f.err
}

func TestTurn(t *testing.T) {
	confident := knowledge.Result{Confidence: 0.9, Margin: 0.5, Hits: []knowledge.Hit{
		{ID: "shipping-time", Answer: "Orders ship in 24 hours.", Skill: "order_support", Score: 7},
		{ID: "returns", Score: 2},
	}}
	unsure := knowledge.Result{Confidence: 0.2, Hits: []knowledge.Hit{{ID: "returns", Answer: "x", Score: 1}}}
	tests := []struct {
		name       string
		text       string
		kb         knowledge.Result
		wantKind   Kind
		wantReason string
		wantLang   string
		wantFAQ    string
	}{
		{"answer from faq", "How long does shipping take?", confident, KindAnswer, ReasonFAQMatch, "en", "shipping-time"},
		{"low confidence", "blorp the frobnicator", unsure, KindFallback, ReasonLowConfidence, "en", ""},
		{"no hits", "什么东西", knowledge.Result{}, KindFallback, ReasonLowConfidence, "zh", ""},
		{"chinese human request", "我要转人工", confident, KindHandoff, ReasonExplicitRequest, "zh", ""},
		{"english human request", "Can I talk to a person please", confident, KindHandoff, ReasonExplicitRequest, "en", ""},
		{"greeting en", "Hello!", confident, KindSmalltalk, ReasonSmalltalk, "en", ""},
		{"greeting zh", "你好", confident, KindSmalltalk, ReasonSmalltalk, "zh", ""},
		{"thanks", "thanks a lot", confident, KindSmalltalk, ReasonSmalltalk, "en", ""},
		{"hi inside a word is not a greeting", "which shipping options exist", confident, KindAnswer, ReasonFAQMatch, "en", "shipping-time"},
		{"empty", "   ", confident, KindFallback, ReasonEmpty, "en", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kb := &fakeKB{res: tt.kb}
			e, err := New(kb, DefaultConfig())
			if err != nil {
				t.Fatal(err)
			}
			d, err := e.Turn(context.Background(), Input{Text: tt.text})
			if err != nil {
				t.Fatalf("Turn(%q): %v", tt.text, err)
			}
			if d.Kind != tt.wantKind || d.Reason != tt.wantReason || d.Lang != tt.wantLang || d.FAQID != tt.wantFAQ {
				t.Errorf("Turn(%q) = kind %s reason %s lang %s faq %q; want %s %s %s %q",
					tt.text, d.Kind, d.Reason, d.Lang, d.FAQID, tt.wantKind, tt.wantReason, tt.wantLang, tt.wantFAQ)
			}
			if d.Reply == "" {
				t.Errorf("Turn(%q) has an empty reply", tt.text)
			}
		})
	}
}

func TestTurnRecordsEvidence(t *testing.T) {
	kb := &fakeKB{res: knowledge.Result{Confidence: 0.8, Margin: 0.3, Hits: []knowledge.Hit{{ID: "a", Score: 3, Answer: "A"}, {ID: "b", Score: 1}}}}
	e, _ := New(kb, Config{AnswerThreshold: 0.7, TopK: 2})
	d, _ := e.Turn(context.Background(), Input{Text: "what is a"})
	if d.Confidence != 0.8 || d.Margin != 0.3 || d.Threshold != 0.7 || len(d.Candidates) != 2 || d.Candidates[1].ID != "b" {
		t.Errorf("decision evidence = %+v", d)
	}
}

func TestTurnSearchError(t *testing.T) {
	e, _ := New(&fakeKB{err: errors.New("index down")}, DefaultConfig())
	if _, err := e.Turn(context.Background(), Input{Text: "where is my parcel"}); err == nil {
		t.Error("Turn with a failing index returned no error")
	}
}

func TestNewValidates(t *testing.T) {
	if _, err := New(nil, DefaultConfig()); err == nil {
		t.Error("New(nil) succeeded")
	}
	if _, err := New(&fakeKB{}, Config{AnswerThreshold: 2}); err == nil {
		t.Error("New with threshold 2 succeeded")
	}
}

func TestLocalise(t *testing.T) {
	bilingual := "Orders ship in **2 days**.\n\nSee [tracking](https://x.example).\n\n订单 **2 天**内发货。"
	tests := []struct {
		answer, lang, want string
	}{
		{bilingual, "en", "Orders ship in **2 days**.\n\nSee [tracking](https://x.example)."},
		{bilingual, "zh", "订单 **2 天**内发货。"},
		{"English only.", "zh", "English only."},
		{"只有中文。", "en", "只有中文。"},
		{"", "en", ""},
	}
	for _, tt := range tests {
		if got := Localise(tt.answer, tt.lang); got != tt.want {
			t.Errorf("Localise(%q, %s) = %q, want %q", tt.answer, tt.lang, got, tt.want)
		}
	}
}
