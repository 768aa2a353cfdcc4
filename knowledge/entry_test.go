package knowledge

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseEntry(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		wantErr  string // substring of the error; "" means success
		wantLine int    // line of the error
		check    func(t *testing.T, e Entry)
	}{
		{
			name: "full entry",
			in:   "---\nid: ship-1\nquestions:\n  - How long does shipping take?\n  - 多久能到？\nskill: order_support\ntags: [shipping, 物流]\nlang: both\nlinks:\n  - https://acme.example/a\n  - title: B\n    url: https://acme.example/b\n---\nTwo **days**.\n",
			check: func(t *testing.T, e Entry) {
				want := Entry{ID: "ship-1", Questions: []string{"How long does shipping take?", "多久能到？"}, Answer: "Two **days**.",
					Skill: "order_support", Tags: []string{"shipping", "物流"}, Lang: "both",
					Links: []Link{{URL: "https://acme.example/a"}, {Title: "B", URL: "https://acme.example/b"}}, File: "f.md", Line: 2}
				e.pos = positions{}
				if !reflect.DeepEqual(e, want) {
					t.Errorf("got %+v\nwant %+v", e, want)
				}
			},
		},
		{
			name: "several answers, CRLF and BOM",
			in:   "\ufeff---\r\nid: a\r\nquestions: [q]\r\n---\r\nfirst\r\n\r\n<!-- answer -->\r\nsecond\r\n",
			check: func(t *testing.T, e Entry) {
				if e.Answer != "first" || !reflect.DeepEqual(e.Answers, []string{"first", "second"}) {
					t.Errorf("answers = %q, %q; want first, [first second]", e.Answer, e.Answers)
				}
			},
		},
		{name: "no front matter", in: "# Title\n", wantErr: "missing front matter", wantLine: 1},
		{name: "unclosed front matter", in: "---\nid: a\n", wantErr: "not closed", wantLine: 1},
		{name: "bad yaml", in: "---\nid: a\nquestions: [q\n---\nx\n", wantErr: "front matter", wantLine: 2}, // yaml.v3 reports the line where the flow sequence starts, minus one
		{name: "missing id", in: "---\nquestions: [q]\n---\nx\n", wantErr: "missing id", wantLine: 1},
		{name: "bad id", in: "---\nid: a b\nquestions: [q]\n---\nx\n", wantErr: "letters, digits", wantLine: 2},
		{name: "no questions", in: "---\nid: a\n---\nx\n", wantErr: "no questions", wantLine: 2},
		{name: "empty question", in: "---\nid: a\nquestions:\n  - ok\n  - \"\"\n---\nx\n", wantErr: "question 2 is empty", wantLine: 5},
		{name: "empty answer", in: "---\nid: a\nquestions: [q]\n---\n\n   \n", wantErr: "empty answer", wantLine: 5},
		{name: "bad lang", in: "---\nid: a\nquestions: [q]\nlang: fr\n---\nx\n", wantErr: "lang", wantLine: 2},
		{name: "empty front matter", in: "---\n---\nx\n", wantErr: "empty", wantLine: 2},
		{name: "misspelt field", in: "---\nid: a\nquestion: hi\n---\nx\n", wantErr: `unknown field "question": did you mean "questions"?`, wantLine: 3},
		{name: "unknown field", in: "---\nid: a\nquestions: [hi]\nowner: me\n---\nx\n", wantErr: `unknown field "owner" (the fields are id, questions`, wantLine: 4},
		{name: "not utf-8", in: "---\nid: \xff\n---\n", wantErr: "UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := ParseEntry("f.md", []byte(tt.in))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ParseEntry() error = %v, want nil", err)
				}
				tt.check(t, e)
				return
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("ParseEntry() error = %v, want a *ParseError containing %q", err, tt.wantErr)
			}
			if !strings.Contains(pe.Reason, tt.wantErr) || pe.File != "f.md" || (tt.wantLine > 0 && pe.Line != tt.wantLine) {
				t.Errorf("ParseEntry() error = %v (line %d), want %q at line %d", err, pe.Line, tt.wantErr, tt.wantLine)
			}
			if !strings.HasPrefix(err.Error(), "knowledge: ") {
				t.Errorf("error %q lacks the knowledge: prefix", err)
			}
		})
	}
}

func TestMarshalEntryRoundTrip(t *testing.T) {
	in := Entry{ID: "x", Questions: []string{"a: b?", "中文？"}, Answer: "one", Answers: []string{"one", "two"}, Skill: "s", Tags: []string{"t"}, Lang: "zh",
		Links: []Link{{Title: "T", URL: "https://x"}}}
	data, err := MarshalEntry(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := ParseEntry("x.md", data)
	if err != nil {
		t.Fatalf("ParseEntry(MarshalEntry()) error = %v\n%s", err, data)
	}
	out.File, out.Line, out.pos = "", 0, positions{}
	if !reflect.DeepEqual(in, out) {
		t.Errorf("round trip = %+v, want %+v", out, in)
	}
}

func TestReadCSVAndJSONL(t *testing.T) {
	csvIn := "question,similar,answer,skill\nHow to pay?,Payment options|支付方式,With a card.,order_support\n\"Multi\nline?\",,\"Yes, \"\"quoted\"\".\",\n"
	es, err := ReadCSV(strings.NewReader(csvIn), "faq.csv", "faq")
	if err != nil {
		t.Fatalf("ReadCSV() error = %v", err)
	}
	if len(es) != 2 || es[0].ID != "faq-1" || !reflect.DeepEqual(es[0].Questions, []string{"How to pay?", "Payment options", "支付方式"}) ||
		es[0].Skill != "order_support" || es[1].Answer != `Yes, "quoted".` || es[1].Line != 3 {
		t.Errorf("ReadCSV() = %+v", es)
	}
	if _, err := ReadCSV(strings.NewReader("q,,\n"), "bad.csv", "bad"); err == nil || !strings.Contains(err.Error(), "bad.csv:1") {
		t.Errorf("ReadCSV(empty answer) error = %v, want bad.csv:1", err)
	}

	jl := `{"id":"a","question":"Q1","answer":"A1"}

{"id":"b","question":"Q2","questions":["Q2b","Q2"],"answers":["A2","A3"]}
{"id":"c","question":"only a question"}
`
	es, err = ReadJSONL(strings.NewReader(jl), "kb.jsonl")
	if err != nil {
		t.Fatalf("ReadJSONL() error = %v", err)
	}
	if len(es) != 3 || !reflect.DeepEqual(es[1].Questions, []string{"Q2", "Q2b"}) || !reflect.DeepEqual(es[1].Answers, []string{"A2", "A3"}) ||
		es[1].Answer != "A2" || es[1].Line != 3 || es[2].Answer != "" {
		t.Errorf("ReadJSONL() = %+v", es)
	}
	if _, err := ReadJSONL(strings.NewReader("{\"id\":\"a\",\"question\":\"q\"}\n{bad\n"), "kb.jsonl"); err == nil || !strings.Contains(err.Error(), "kb.jsonl:2") {
		t.Errorf("ReadJSONL(bad line) error = %v, want kb.jsonl:2", err)
	}
}

func TestLint(t *testing.T) {
	dir := filepath.Join("testdata", "lint")
	entries, problems, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	problems = append(problems, Lint(entries, DefaultSkills)...)
	var got []string
	for _, p := range problems {
		got = append(got, p.String())
	}
	want := []string{
		filepath.Join(dir, "d.md") + ":7: entry d has an empty answer",
		filepath.Join(dir, "e.md") + ":2: front matter:",
		filepath.Join(dir, "b.md") + `:2: duplicate id "dup"`,
		filepath.Join(dir, "c.md") + `:5: question "how do I PAY" of c is also in dup`,
		filepath.Join(dir, "c.md") + `:6: entry c: unknown skill "sales_team"`,
	}
	if len(got) != len(want) {
		t.Fatalf("Load+Lint(%s) = %d problems:\n%s\nwant %d", dir, len(got), strings.Join(got, "\n"), len(want))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("problem %d = %q, want prefix %q", i, got[i], want[i])
		}
	}
	// d.md is only empty-answer in lint because Load reports it as a parse error.
	starter, ps, err := Load(filepath.Join("starter"))
	if err != nil || len(ps) > 0 {
		t.Fatalf("Load(starter) problems %v, err %v", ps, err)
	}
	if ps := Lint(starter, DefaultSkills); len(ps) > 0 {
		t.Errorf("Lint(starter) = %v, want none", ps)
	}
	if len(starter) < 20 {
		t.Errorf("starter set has %d entries, want at least 20", len(starter))
	}
}

func TestSynonyms(t *testing.T) {
	s, err := ParseSynonyms(strings.NewReader("# c\n花呗 = Huabei\nrefund = money back, 退款\n"), "syn.txt")
	if err != nil || s.Len() != 2 {
		t.Fatalf("ParseSynonyms() = %v, %v", s.Len(), err)
	}
	tests := []struct {
		q    string
		want [][]string
	}{
		{"花呗怎么还", [][]string{{"huabei"}}},
		{"HUABEI repay", [][]string{{"花呗"}}},
		{"I want my money back", [][]string{{"refund", "退款"}}},
		{"refunded", nil}, // whole words only for Latin text
		{"nothing", nil},
	}
	for _, tt := range tests {
		if got := s.expand(tt.q); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("expand(%q) = %q, want %q", tt.q, got, tt.want)
		}
	}
	if _, err := ParseSynonyms(strings.NewReader("ok = fine\nlonely\n"), "syn.txt"); err == nil || !strings.Contains(err.Error(), "syn.txt:2") {
		t.Errorf("ParseSynonyms(bad) error = %v, want syn.txt:2", err)
	}
}

func TestAnalysis(t *testing.T) {
	tests := []struct {
		a    Analysis
		in   string
		want []string
	}{
		{Analysis{}, "Ｒｅｆｕｎｄｓ for the orders", []string{"refund", "order"}},
		{Analysis{NoStem: true, NoStopWords: true}, "Refunds for the orders", []string{"refunds", "for", "the", "orders"}},
		{Analysis{}, "花呗还款", []string{"花", "呗", "还", "款", "花呗", "呗还", "还款"}},
		{Analysis{CJK: CJKBigram}, "花呗还款 用huabei", []string{"花呗", "呗还", "还款", "用", "huabei"}},
		{Analysis{CJK: CJKUnigram}, "花呗", []string{"花", "呗"}},
		{Analysis{}, "don't 123", []string{"dont", "123"}},
	}
	for _, tt := range tests {
		if got := tt.a.terms(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%+v.terms(%q) = %q, want %q", tt.a, tt.in, got, tt.want)
		}
	}
}

func FuzzParseEntry(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("starter", "*.md"))
	lint, _ := filepath.Glob(filepath.Join("testdata", "lint", "*.md"))
	for _, p := range append(files, lint...) {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("---\nid: a\nquestions: [q]\n---\nx\n<!-- answer -->\ny\n"))
	f.Add([]byte("---\n---\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := ParseEntry("fuzz.md", data)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("ParseEntry() error %v is not a *ParseError", err)
			}
			return
		}
		if e.ID == "" || len(e.Questions) == 0 || e.Answer == "" {
			t.Fatalf("ParseEntry() accepted an incomplete entry %+v", e)
		}
		out, err := MarshalEntry(e)
		if err != nil {
			t.Fatalf("MarshalEntry() error = %v", err)
		}
		e2, err := ParseEntry("fuzz.md", out)
		if err != nil {
			t.Fatalf("ParseEntry(MarshalEntry(e)) error = %v\n%s", err, out)
		}
		if e2.ID != e.ID || !reflect.DeepEqual(e2.Questions, e.Questions) || e2.Answer != e.Answer {
			t.Fatalf("round trip changed the entry: %+v -> %+v", e, e2)
		}
	})
}
