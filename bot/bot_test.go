package bot

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
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
	pay := "Yes: choose Alipay (支付宝) at checkout.\n\n可以，结账时选择支付宝即可。\n\nMore: https://acme.example/pay"
	tests := []struct {
		name, answer, lang, want string
	}{
		{"english paragraphs and a shared link", bilingual, "en", "Orders ship in **2 days**.\n\nSee [tracking](https://x.example)."},
		{"chinese paragraph and a shared link", bilingual, "zh", "See [tracking](https://x.example).\n\n订单 **2 天**内发货。"},
		{"english with a chinese name stays english", pay, "en", "Yes: choose Alipay (支付宝) at checkout.\n\nMore: https://acme.example/pay"},
		{"chinese reply keeps the link", pay, "zh", "可以，结账时选择支付宝即可。\n\nMore: https://acme.example/pay"},
		{"phone number belongs to both", "Call us.\n\n400-820-0000\n\n请致电。", "zh", "400-820-0000\n\n请致电。"},
		{"english only", "English only.", "zh", "English only."},
		{"chinese only", "只有中文。", "en", "只有中文。"},
		{"one language and a link is whole", "English.\n\nhttps://x.example", "zh", "English.\n\nhttps://x.example"},
		{"empty", "", "en", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Localise(tt.answer, tt.lang); got != tt.want {
				t.Errorf("Localise(%q, %s) = %q, want %q", tt.answer, tt.lang, got, tt.want)
			}
		})
	}
}

func TestParagraphLanguage(t *testing.T) {
	tests := []struct {
		para, want string
	}{
		{"Yes: choose Alipay (支付宝) at checkout.", "en"},
		{"Pay with WeChat Pay (微信支付) or Alipay (支付宝).", "en"},
		{"支持 Visa、Mastercard 和银联卡。", "zh"},
		{"请在 Acme Shop App 的“我的订单”中申请退货。", "zh"},
		{"退货商品到达仓库后 2 个工作日内办理退款。", "zh"},
		{"Refunds are issued within 2 working days.", "en"},
		{"More: https://acme.example/pay", ""},
		{"详情：https://acme.example/pay", ""},
		{"[Returns](https://acme.example/returns)", ""},
		{"https://acme.example/pay", ""},
		{"support@acme.example", ""},
		{"400-820-0000 (9:00-21:00)", ""},
		{"**¥2000**", ""},
		{"Read the full returns policy before you send anything back: https://acme.example/returns", "en"},
		{"退货前请先阅读完整的退货政策：https://acme.example/returns", "zh"},
	}
	for _, tt := range tests {
		if got := paragraphLanguage(tt.para); got != tt.want {
			t.Errorf("paragraphLanguage(%q) = %q, want %q", tt.para, got, tt.want)
		}
	}
}

// getKB is a scriptKB that also returns whole entries (tags, questions).
type getKB struct {
	scriptKB
	entries map[string]knowledge.Entry
}

func (g getKB) Get(id string) (knowledge.Entry, bool) {
	e, ok := g.entries[id]
	return e, ok
}

func TestIntentLinks(t *testing.T) {
	kb := getKB{entries: map[string]knowledge.Entry{
		"order-cancel":   {ID: "order-cancel", Tags: []string{"order"}},
		"order-tracking": {ID: "order-tracking", Tags: []string{"order", "shipping"}},
		"tagged":         {ID: "tagged", Tags: []string{"refund"}},
	}}
	cfg := DefaultConfig()
	cfg.Intents = map[string]IntentPolicy{"order_status": {FAQ: []string{"order-tracking"}}, "shipping": {Tags: []string{"shipping"}}}
	e, _ := New(kb, cfg)
	hit := func(ids ...string) []knowledge.Hit {
		var out []knowledge.Hit
		for _, id := range ids {
			out = append(out, knowledge.Hit{ID: id})
		}
		return out
	}
	tests := []struct {
		intent string
		hits   []knowledge.Hit
		want   []link
	}{
		{"order_status", hit("order-cancel", "order-tracking"), []link{notLinked, linked}},
		{"shipping", hit("order-tracking", "order-cancel"), []link{linked, notLinked}},
		{"refund", hit("tagged", "order-cancel"), []link{linked, linkUnknown}},
		{"refund", hit("order-cancel"), nil}, // no link data: skill groups decide
		{"cancel_order", hit("order-cancel"), nil},
	}
	for _, tt := range tests {
		if got := e.intentLinks(tt.intent, tt.hits); !slices.Equal(got, tt.want) {
			t.Errorf("intentLinks(%s, %v) = %v, want %v", tt.intent, tt.hits, got, tt.want)
		}
	}
}

func TestTurnConversations(t *testing.T) {
	coupons := knowledge.Result{Confidence: 0.9, Margin: 0.02, Hits: []knowledge.Hit{
		{ID: "coupon-use", Question: "How do I use a coupon?", Answer: "Enter it at checkout.", Skill: "order_support", Score: 10},
		{ID: "coupon-get", Question: "How can I get a coupon?", Answer: "Sign up.", Skill: "order_support", Score: 9},
	}}
	ship := knowledge.Result{Confidence: 0.9, Margin: 0.8, Hits: []knowledge.Hit{{ID: "shipping-time", Question: "How long does shipping take?", Answer: "2-4 days.\n\n2-4 天。", Skill: "order_support", Score: 10}}}
	intl := knowledge.Result{Confidence: 0.9, Margin: 0.8, Hits: []knowledge.Hit{{ID: "shipping-international", Question: "Do you ship abroad?", Answer: "Yes, to 40 countries.", Skill: "order_support", Score: 10}}}
	intlBoth := knowledge.Result{Confidence: 0.8, Margin: 0.3, Hits: []knowledge.Hit{ship.Hits[0], intl.Hits[0]}}
	hours := knowledge.Result{Confidence: 0.4, Margin: 0.4, Hits: []knowledge.Hit{{ID: "opening-hours", Question: "What are your opening hours?", Answer: "9-21.", Skill: "default_support", Score: 10}}}
	returns := knowledge.Result{Confidence: 0.9, Margin: 0.5, Hits: []knowledge.Hit{
		{ID: "return-policy", Question: "How do I return an item?", Answer: "Within 30 days.\n\n30 天内可退货。", Skill: "order_support", Score: 10},
		{ID: "refund-time", Question: "When will I get my refund?", Answer: "2 days.", Skill: "order_support", Score: 6},
	}}
	kb := scriptKB{
		"coupons": coupons, "I want to get one": {Confidence: 0.2, Margin: 0.01, Hits: []knowledge.Hit{coupons.Hits[1], {ID: "x", Score: 9.5}}},
		"How do I use a coupon?":       {Confidence: 0.95, Margin: 0.9, Hits: coupons.Hits[:1]},
		"How long does shipping take?": ship, "How long does shipping take? to canada": intlBoth, "to canada": intl,
		"How long does shipping take? for gifts": intlBoth,
		"when are you open":                      hours, "where is my order?": ship, "where is my order": ship,
		"怎么退货？": returns, "怎么退货？ 要多久": returns, "要多久": {},
		"How long does shipping take? jane.doe@example.com": ship,
	}
	entries := map[string]knowledge.Entry{}
	for _, r := range []knowledge.Result{coupons, ship, intl, hours, returns} {
		for _, h := range r.Hits {
			entries[h.ID] = knowledge.Entry{ID: h.ID, Questions: []string{h.Question}, Answer: h.Answer, Skill: h.Skill}
		}
	}
	nlu := fakeNLU{"coupons": pred("pricing", "default_support", 0.5), "blorp": pred("shipping", "order_support", 0.5)}
	type step struct {
		text              string
		kind              Kind
		reason, faq, lang string
		skill             string // "-" for none
		contains          string
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"a greeting in front of a question", []step{{text: "hi, where is my order?", kind: KindAnswer, faq: "shipping-time"}}},
		{"a clarify reply by number, then tapped again", []step{
			{text: "coupons", kind: KindClarify, reason: ReasonAmbiguous, skill: "-"},
			{text: "the second one", kind: KindAnswer, reason: ReasonClarified, faq: "coupon-get"},
			{text: "coupons", kind: KindClarify},
			{text: "How do I use a coupon?", kind: KindAnswer, reason: ReasonClarified, faq: "coupon-use"},
			{text: "How do I use a coupon?", kind: KindAnswer, reason: ReasonFAQMatch, faq: "coupon-use"},
		}},
		{"a free-text reply to a clarify prefers its options", []step{
			{text: "coupons", kind: KindClarify},
			{text: "I want to get one", kind: KindAnswer, reason: ReasonClarified, faq: "coupon-get"},
		}},
		{"one option: did you mean, then yes", []step{
			{text: "when are you open", kind: KindClarify, reason: ReasonUnsure, contains: "Did you mean “What are your opening hours”?"},
			{text: "yes", kind: KindAnswer, reason: ReasonClarified, faq: "opening-hours"},
		}},
		{"a clarify of an unsure intent names no group", []step{
			{text: "coupons", kind: KindClarify, skill: "-"},
			{text: "转人工", kind: KindHandoff, reason: ReasonExplicitRequest, skill: "default_support"},
		}},
		{"a fallback of an unsure intent names no group", []step{
			{text: "blorp", kind: KindFallback, skill: "-"},
			{text: "agent", kind: KindHandoff, reason: ReasonExplicitRequest, skill: "default_support"},
		}},
		{"follow-ups keep the original question as the topic", []step{
			{text: "How long does shipping take?", kind: KindAnswer, faq: "shipping-time"},
			{text: "and to canada?", kind: KindAnswer, faq: "shipping-international"},
			{text: "and for gifts?", kind: KindAnswer, faq: "shipping-time"}, // searched with the original question
		}},
		{"no same answer twice for a follow-up asking something else", []step{
			{text: "怎么退货？", kind: KindAnswer, faq: "return-policy"},
			{text: "那要多久？", kind: KindClarify, reason: ReasonUnsure, contains: "When will I get my refund"},
		}},
		{"ok keeps the conversation's language", []step{
			{text: "怎么退货？", kind: KindAnswer, lang: "zh"},
			{text: "ok", kind: KindSmalltalk, lang: "zh"},
			{text: "好的", kind: KindSmalltalk, reason: ReasonSmalltalk, lang: "zh"},
		}},
		{"acknowledgements and closings are small talk", []step{
			{text: "ok", kind: KindSmalltalk, contains: "Hello"},
			{text: "How long does shipping take?", kind: KindAnswer},
			{text: "great, thanks!!!", kind: KindSmalltalk},
			{text: "that's all", kind: KindSmalltalk, contains: "Have a nice day"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := New(getKB{kb, entries}, DefaultConfig(), WithIntents(nlu))
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range tt.steps {
				d, err := e.Turn(context.Background(), Input{ConversationID: "c", Text: s.text})
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				skill := s.skill
				if skill == "-" {
					skill = ""
				}
				if d.Kind != s.kind || s.reason != "" && d.Reason != s.reason || s.faq != "" && d.FAQID != s.faq ||
					s.lang != "" && d.Lang != s.lang || s.skill != "" && d.Skill != skill || !strings.Contains(d.Reply, s.contains) {
					t.Fatalf("step %d Turn(%q) = %s lang %s %q; want %s %s faq %q lang %q skill %q containing %q",
						i, s.text, Explain(d), d.Lang, d.Reply, s.kind, s.reason, s.faq, s.lang, s.skill, s.contains)
				}
			}
		})
	}
}

func TestDecisionQueryIsRedacted(t *testing.T) {
	ship := knowledge.Result{Confidence: 0.9, Margin: 0.8, Hits: []knowledge.Hit{{ID: "shipping-time", Answer: "2-4 days; write to us.", Score: 1}}}
	kb := scriptKB{"How long does shipping take?": ship, "How long does shipping take? jane.doe@example.com": ship}
	e, _ := New(kb, DefaultConfig())
	ctx := context.Background()
	e.Turn(ctx, Input{ConversationID: "c", Text: "How long does shipping take?"})
	d, err := e.Turn(ctx, Input{ConversationID: "c", Text: "what about jane.doe@example.com?"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(d)
	if !d.FollowUp || strings.Contains(string(b), "jane.doe") || !strings.Contains(d.Query, "[EMAIL]") {
		t.Errorf("follow-up decision = %s; want the query with [EMAIL] and no address", b)
	}
}

func TestExplainWording(t *testing.T) {
	tests := []struct {
		d    Decision
		want string
	}{
		{Decision{Kind: KindFallback, Reason: ReasonLowConfidence}, "no FAQ candidates"},
		{Decision{Kind: KindHandoff, Reason: ReasonLowConfidence, Intent: "oos", IntentConfidence: 0.1}, "no FAQ candidates"},
		{Decision{Kind: KindSmalltalk, Reason: ReasonSmalltalk}, "smalltalk reason=smalltalk"},
	}
	for _, tt := range tests {
		if got := Explain(tt.d); !strings.Contains(got, tt.want) {
			t.Errorf("Explain(%+v) = %q, want it to contain %q", tt.d, got, tt.want)
		}
	}
	if got := Explain(Decision{Kind: KindSmalltalk, Reason: ReasonSmalltalk}); strings.Contains(got, "FAQ") {
		t.Errorf("Explain(smalltalk) = %q mentions the FAQ", got)
	}
}
