package intents

import (
	"bytes"
	"context"
	"math"
	"os"
	"reflect"
	"slices"
	"testing"
	"time"
)

func readTestdata(t testing.TB, name string) Dataset {
	t.Helper()
	d, err := ReadFile(context.Background(), "testdata/"+name)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestAccuracyFloor trains on a small CLINC150 sample and checks the figures on its validation sample.
func TestAccuracyFloor(t *testing.T) {
	ctx := context.Background()
	m, err := Train(ctx, readTestdata(t, "clinc_train.jsonl"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := Evaluate(ctx, m, readTestdata(t, "clinc_val.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("metrics: %+v", r)
	floors := []struct {
		name      string
		got, want float64
	}{
		{"top-1 accuracy", r.Top1Accuracy, 0.92},
		{"in-scope accuracy", r.InScopeAccuracy, 0.9},
		{"out-of-scope recall", r.OOSRecall, 0.6},
		{"macro F1", r.MacroF1, 0.88},
	}
	for _, f := range floors {
		if f.got < f.want {
			t.Errorf("%s on testdata/clinc_val.jsonl = %.3f, want >= %.2f", f.name, f.got, f.want)
		}
	}
}

// TestChooseThreshold checks the threshold rule on hand-made held-out scores: 100 in-scope utterances answered
// correctly with confidence 0.95, 4 out-of-scope ones rejected by the out-of-scope class and 6 more whose best
// intent has confidence 0.4, 0.5, 0.6, 0.7, 0.8 and 0.85.
func TestChooseThreshold(t *testing.T) {
	m := &Model{classes: []string{"a", "b", OutOfScope}, thresholds: []float64{0, 0, 0}, oos: 2, temperature: 1}
	logits := func(p ...float64) []float64 {
		z := make([]float64, len(p))
		for i, v := range p {
			z[i] = math.Log(v)
		}
		return z
	}
	var scores [][]float64
	var y []int32
	for range 100 {
		scores, y = append(scores, logits(0.95, 0.03, 0.02)), append(y, 0)
	}
	for range 4 {
		scores, y = append(scores, logits(0.2, 0.1, 0.7)), append(y, 2)
	}
	for _, c := range []float64{0.4, 0.5, 0.6, 0.7, 0.8, 0.85} {
		scores, y = append(scores, logits(c, (1-c)*0.6, (1-c)*0.4)), append(y, 2)
	}
	tests := []struct {
		target, want float64
	}{
		{-1, 0.95},   // the false-rejection budget alone
		{0.3, 0},     // the out-of-scope class alone reaches 40%
		{0.6, 0.5},   // two more to reject: just above 0.4 and 0.5
		{1, 0.85},    // all of them: just above 0.85, below the budget threshold
		{0.99, 0.85}, // rounding up the count of examples
	}
	for _, tt := range tests {
		got := m.chooseThreshold(scores, y, 0.01, tt.target)
		if math.Abs(got-tt.want) > 0.0015 {
			t.Errorf("chooseThreshold(target recall %v) = %v, want about %v", tt.target, got, tt.want)
		}
	}
}

func TestStarter(t *testing.T) {
	m, err := Starter(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		text, intent, skill string
	}{
		{"where is my order 20240601123?", "order_status", "order_support"},
		{"我的包裹怎么还没到", "order_status", "order_support"},
		{"I want my money back", "refund", "order_support"},
		{"申请退款", "refund", "order_support"},
		{"忘记密码怎么办", "account_login", "tech_support"},
		{"the app crashes when I open it", "technical_problem", "tech_support"},
		{"可以用支付宝付款吗", "payment", "default_support"},
		{"is there a discount for students", "pricing", "default_support"},
		{"what's the weather like in Berlin", OutOfScope, ""},
		{"给我讲个笑话吧", OutOfScope, ""},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			p := m.Predict(tt.text)
			if p.Intent != tt.intent || p.Skill != tt.skill || p.OutOfScope != (tt.intent == OutOfScope) {
				t.Errorf("Predict(%q) = %+v, want intent %q skill %q", tt.text, p, tt.intent, tt.skill)
			}
			if len(p.Top) == 0 || p.Confidence != p.Top[0].Prob || p.Margin < 0 || p.Margin > p.Confidence {
				t.Errorf("Predict(%q): inconsistent confidence %v, margin %v, top %+v", tt.text, p.Confidence, p.Margin, p.Top)
			}
		})
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	ctx := context.Background()
	m, err := Starter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := m.Save(&buf); err != nil {
		t.Fatal(err)
	}
	m2, err := Load(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{"where is my order", "退款", "tell me a joke", "", "账号被锁了 help", "price of order 123456"}
	for _, e := range readTestdata(t, "clinc_val.jsonl").Examples() {
		texts = append(texts, e.Text)
	}
	for _, text := range texts {
		if a, b := m.Predict(text), m2.Predict(text); !reflect.DeepEqual(a, b) {
			t.Errorf("Predict(%q) after Save/Load = %+v, want %+v", text, b, a)
		}
	}
	if _, err := Load(bytes.NewReader(buf.Bytes()[:buf.Len()/2])); err == nil {
		t.Error("Load of a truncated model succeeded, want an error")
	}
	if _, err := Load(bytes.NewReader([]byte("not a model"))); err == nil {
		t.Error("Load of garbage succeeded, want an error")
	}
}

func TestTrainReproducible(t *testing.T) {
	ctx := context.Background()
	d := readTestdata(t, "clinc_train.jsonl")
	m1, err := Train(ctx, d, Options{Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	m2, err := Train(ctx, d, Options{Seed: 5, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if m1.threshold != m2.threshold || m1.temperature != m2.temperature || !reflect.DeepEqual(m1.lin.w, m2.lin.w) {
		t.Errorf("two trainings with seed 5 differ: threshold %v/%v, temperature %v/%v", m1.threshold, m2.threshold, m1.temperature, m2.temperature)
	}
}

func TestPerIntentThreshold(t *testing.T) {
	d := Dataset{Intents: []Intent{
		{Name: "refund", Threshold: 0.9999999, Examples: []string{"refund please", "I want my money back", "give me a refund"}},
		{Name: "pricing", Examples: []string{"how much is it", "what is the price", "is it expensive"}},
	}}
	m, err := Train(context.Background(), d, Options{Folds: 1})
	if err != nil {
		t.Fatal(err)
	}
	if p := m.Predict("refund please"); !p.OutOfScope || p.Top[0].Intent != "refund" {
		t.Errorf("Predict with a 0.9999999 intent threshold = %+v, want out of scope with refund on top", p)
	}
	if p := m.Predict("what is the price"); p.OutOfScope || p.Intent != "pricing" {
		t.Errorf("Predict(%q) = %+v, want pricing", "what is the price", p)
	}
}

func TestTrainCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Train(ctx, readTestdata(t, "clinc_train.jsonl"), Options{}); err == nil {
		t.Error("Train with a cancelled context succeeded, want an error")
	}
}

// BenchmarkPredict measures Predict on a model trained on the committed sample (11 classes); it also reports
// the 99th percentile latency. Set INTENTS_CLINC150=path/to/data_full.json to benchmark a 151-class CLINC150 model.
func BenchmarkPredict(b *testing.B) {
	ctx := context.Background()
	train := readTestdata(b, "clinc_train.jsonl")
	texts := []string{}
	for _, e := range readTestdata(b, "clinc_val.jsonl").Examples() {
		texts = append(texts, e.Text)
	}
	if path := os.Getenv("INTENTS_CLINC150"); path != "" {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		c, err := ParseCLINC150(f)
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		train, texts = c.Train, texts[:0]
		for _, e := range c.Val.Examples() {
			texts = append(texts, e.Text)
		}
	}
	m, err := Train(ctx, train, Options{Folds: 1})
	if err != nil {
		b.Fatal(err)
	}
	lat := make([]time.Duration, 0, 1<<16)
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		start := time.Now()
		m.Predict(texts[i%len(texts)])
		if len(lat) < cap(lat) {
			lat = append(lat, time.Since(start))
		}
		i++
	}
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
	}
}

// BenchmarkStarter measures training the embedded starter model, as done at start-up.
func BenchmarkStarter(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		if _, err := Starter(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
