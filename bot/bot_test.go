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
