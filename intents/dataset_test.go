package intents

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name, ext, in string
		want          Dataset
	}{
		{"frontdesk yaml", ".yaml", `
intents:
  - intent: refund
    skill: order_support
    threshold: 0.4
    examples: [I want a refund, 我要退款]
  - intent: oos
    examples: [tell me a joke]
out_of_scope: [what's the weather]
`, Dataset{Intents: []Intent{{Name: "refund", Skill: "order_support", Threshold: 0.4, Examples: []string{"I want a refund", "我要退款"}}},
			OutOfScope: []string{"tell me a joke", "what's the weather"}}},
		{"rasa nlu", ".yml", `version: "3.1"
nlu:
- intent: check_balance
  examples: |
    - what's my [savings](account) balance
    - how much is in [my account]{"entity": "account"}
- intent: out_of_scope
  examples: |
    - order a pizza
- synonym: savings
  examples: |
    - saving
`, Dataset{Intents: []Intent{{Name: "check_balance", Examples: []string{"what's my savings balance", "how much is in my account"}}},
			OutOfScope: []string{"order a pizza"}}},
		{"jsonl intent and label", ".jsonl", `{"text": "where is my order", "intent": "order_status"}

{"text": "打开熊猫看书", "label": "app"}
{"text": "sing a song", "label": "OOS"}
`, Dataset{Intents: []Intent{{Name: "order_status", Examples: []string{"where is my order"}}, {Name: "app", Examples: []string{"打开熊猫看书"}}},
			OutOfScope: []string{"sing a song"}}},
		{"csv with quotes", ".csv", "text,category\n\"Hi, where is my card?\",card_arrival\nrandom stuff,out_of_scope\n",
			Dataset{Intents: []Intent{{Name: "card_arrival", Examples: []string{"Hi, where is my card?"}}}, OutOfScope: []string{"random stuff"}}},
		{"clinc150 train split", ".json", `{"train": [["what is my balance", "balance"]], "val": [["balance please", "balance"]],
"oos_train": [["a show on broadway", "oos"]], "oos_val": [["x", "oos"]]}`,
			Dataset{Intents: []Intent{{Name: "balance", Examples: []string{"what is my balance"}}}, OutOfScope: []string{"a show on broadway"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(strings.NewReader(tt.in), tt.ext)
			if err != nil {
				t.Fatalf("Parse(%s) error: %v", tt.ext, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse(%s) = %+v, want %+v", tt.ext, got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ name, ext, in, want string }{
		{"unknown yaml field", ".yaml", "intents:\n  - intent: a\n    exmples: [x]\n", "exmples"},
		{"jsonl without label", ".jsonl", `{"text": "hi"}`, "line 1"},
		{"jsonl broken", ".jsonl", `{"text": `, "line 1"},
		{"csv without category", ".csv", "text,foo\nhi,x\n", "category"},
		{"unknown extension", ".txt", "hi", "unknown data format"},
		{"clinc without lists", ".json", `{"foo": []}`, "no train"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tt.in), tt.ext)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "intents: ") {
				t.Errorf("Parse(%s, %q) error = %v, want an 'intents: ' error mentioning %q", tt.ext, tt.in, err, tt.want)
			}
		})
	}
}

func TestParseCLINC150Splits(t *testing.T) {
	c, err := ParseCLINC150(strings.NewReader(`{"train": [["a b", "x"], ["c d", "y"]], "val": [["e", "x"]], "test": [["f", "y"]],
"oos_train": [["g", "oos"]], "oos_val": [["h", "oos"]], "oos_test": [["i", "oos"], ["j", "oos"]]}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct {
		name string
		d    Dataset
		n    int
	}{{"train", c.Train, 3}, {"val", c.Val, 2}, {"test", c.Test, 3}} {
		if s.d.Len() != s.n {
			t.Errorf("%s has %d examples, want %d", s.name, s.d.Len(), s.n)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		d    Dataset
		ok   bool
	}{
		{"two intents", Dataset{Intents: []Intent{{Name: "a", Examples: []string{"x"}}, {Name: "b", Examples: []string{"y"}}}}, true},
		{"one intent and oos", Dataset{Intents: []Intent{{Name: "a", Examples: []string{"x"}}}, OutOfScope: []string{"z"}}, true},
		{"one intent", Dataset{Intents: []Intent{{Name: "a", Examples: []string{"x"}}}}, false},
		{"duplicate", Dataset{Intents: []Intent{{Name: "a", Examples: []string{"x"}}, {Name: "a", Examples: []string{"y"}}}}, false},
		{"no name", Dataset{Intents: []Intent{{Examples: []string{"x"}}, {Name: "b", Examples: []string{"y"}}}}, false},
		{"bad threshold", Dataset{Intents: []Intent{{Name: "a", Threshold: 1.5, Examples: []string{"x"}}, {Name: "b", Examples: []string{"y"}}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.d.Validate()
			if (err == nil) != tt.ok {
				t.Errorf("Validate() = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestReadFileDirectory(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"a.yaml": "intents:\n  - intent: refund\n    skill: order_support\n    examples: [refund please]\n",
		"b.yml":  "intents:\n  - intent: refund\n    examples: [money back]\n  - intent: pricing\n    examples: [how much]\n",
		"c.txt":  "ignored",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d, err := ReadFile(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	want := Dataset{Intents: []Intent{{Name: "refund", Skill: "order_support", Examples: []string{"refund please", "money back"}},
		{Name: "pricing", Examples: []string{"how much"}}}}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("ReadFile(dir) = %+v, want %+v", d, want)
	}
}

func TestStratifiedSplit(t *testing.T) {
	d := Dataset{Intents: []Intent{{Name: "a", Examples: strings.Fields("1 2 3 4 5 6 7 8 9 10")},
		{Name: "b", Examples: strings.Fields("1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20")}},
		OutOfScope: strings.Fields("x y z w v u t s r q")}
	tr, ho := StratifiedSplit(d, 0.2, 3)
	if tr.Len()+ho.Len() != d.Len() || len(ho.Intents[0].Examples) != 2 || len(ho.Intents[1].Examples) != 4 || len(ho.OutOfScope) != 2 {
		t.Errorf("StratifiedSplit(0.2) held out %+v", ho)
	}
	tr2, _ := StratifiedSplit(d, 0.2, 3)
	if !reflect.DeepEqual(tr, tr2) {
		t.Error("StratifiedSplit is not reproducible for a fixed seed")
	}
}
