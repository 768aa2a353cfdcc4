package knowledge

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestStarterRelevance(t *testing.T) {
	ctx := context.Background()
	x, err := Open(ctx, Config{Skills: DefaultSkills})
	if err != nil {
		t.Fatalf("Open(starter) error = %v", err)
	}
	defer x.Close()
	if ps := x.Problems(); len(ps) > 0 {
		t.Errorf("Problems() = %v, want none", ps)
	}
	f, err := os.Open(filepath.Join("testdata", "relevance.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var c struct{ Query, Top string }
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		t.Run(c.Query, func(t *testing.T) {
			res, err := x.Search(ctx, c.Query, 3)
			if err != nil {
				t.Fatalf("Search(%q) error = %v", c.Query, err)
			}
			if len(res.Hits) == 0 || res.Hits[0].ID != c.Top {
				t.Fatalf("Search(%q) = %v, want %s first", c.Query, ids(res), c.Top)
			}
			if res.Confidence <= 0 || res.Confidence > 1 || res.Margin < 0 || res.Margin > res.Confidence {
				t.Errorf("Search(%q) confidence %v margin %v, want 0 < margin <= confidence <= 1", c.Query, res.Confidence, res.Margin)
			}
			if len(res.Hits[0].Highlights) == 0 || !strings.Contains(strings.Join(res.Hits[0].Highlights, " "), "<mark>") {
				t.Errorf("Search(%q) highlights = %q, want marked fragments", c.Query, res.Hits[0].Highlights)
			}
		})
	}
}

func ids(r Result) []string {
	var out []string
	for _, h := range r.Hits {
		out = append(out, h.ID)
	}
	return out
}

func TestSearchEdgeCases(t *testing.T) {
	ctx := context.Background()
	x, err := Open(ctx, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	for _, q := range []string{"", "   ", "?!", "the of and"} {
		res, err := x.Search(ctx, q, 5)
		if err != nil || len(res.Hits) != 0 || res.Confidence != 0 {
			t.Errorf("Search(%q) = %+v, %v; want no hits", q, res, err)
		}
	}
	res, err := x.Search(ctx, "refund", 1000)
	if err != nil || len(res.Hits) == 0 || len(res.Hits) > MaxK {
		t.Errorf("Search(refund, 1000) = %d hits, %v", len(res.Hits), err)
	}
	if e, ok := x.Get("invoice"); !ok || e.Skill != "order_support" || e.File != "starter/invoice.md" {
		t.Errorf("Get(invoice) = %+v, %v", e, ok)
	}
	if _, ok := x.Get("nope"); ok {
		t.Error("Get(nope) found an entry")
	}
	var _ Searcher = x
}

func writeEntry(t *testing.T, dir, id, question, answer string) {
	t.Helper()
	if _, err := WriteEntryFile(dir, Entry{ID: id, Questions: []string{question}, Answer: answer, Skill: "default_support"}); err != nil {
		t.Fatal(err)
	}
}

func TestPersistedIndexReuse(t *testing.T) {
	ctx := context.Background()
	kb, idx := t.TempDir(), t.TempDir()
	for i := range 5 {
		writeEntry(t, kb, fmt.Sprintf("e%d", i), fmt.Sprintf("question number %d about topic%d", i, i), "answer")
	}
	steps := []struct {
		name        string
		change      func()
		cfg         Config
		wantIndexed int
	}{
		{"first open builds", func() {}, Config{}, 5},
		{"unchanged reuses", func() {}, Config{}, 0},
		{"one changed file", func() { writeEntry(t, kb, "e1", "changed question topic1", "answer") }, Config{}, 1},
		{"deleted file", func() { os.Remove(filepath.Join(kb, "e2.md")) }, Config{}, 0},
		{"analysis changed rebuilds", func() {}, Config{Analysis: Analysis{NoStem: true}}, 4},
	}
	for _, s := range steps {
		s.change()
		cfg := s.cfg
		cfg.Dir, cfg.IndexDir = kb, idx
		x, err := Open(ctx, cfg)
		if err != nil {
			t.Fatalf("%s: Open() error = %v", s.name, err)
		}
		if x.indexed != s.wantIndexed {
			t.Errorf("%s: indexed %d documents, want %d", s.name, x.indexed, s.wantIndexed)
		}
		res, err := x.Search(ctx, "topic2", 5)
		found := len(res.Hits) > 0 && res.Hits[0].ID == "e2"
		if wantFound := s.name < "deleted"; err != nil || found != (s.name == "first open builds" || s.name == "unchanged reuses" || s.name == "one changed file") {
			t.Errorf("%s: Search(topic2) = %v, %v (want e2: %v)", s.name, ids(res), err, wantFound)
		}
		if err := x.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestHotReload(t *testing.T) {
	modes := []struct {
		name string
		cfg  Config
	}{
		// File notifications alone: the safety rescan never comes in time.
		{"notify", Config{PollInterval: time.Hour}},
		{"poll", Config{Poll: true, PollInterval: 10 * time.Millisecond}},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) { testHotReload(t, m.cfg) })
	}
}

func testHotReload(t *testing.T, cfg Config) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	kb := t.TempDir()
	writeEntry(t, kb, "pay", "How do I pay?", "With a card.")
	writeEntry(t, kb, "ship", "How long is shipping?", "Two days.")
	// A subdirectory created while running is watched too.
	sub := filepath.Join(kb, "returns")
	reloads := make(chan []string, 100)
	cfg.Dir = kb
	cfg.OnReload = func(files []string, _ []Problem) { reloads <- files }
	x, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	done := make(chan error, 1)
	go func() { done <- x.Run(ctx) }()

	top := func(q string) string {
		res, err := x.Search(ctx, q, 1)
		if err != nil {
			t.Fatalf("Search(%q) error = %v", q, err)
		}
		if len(res.Hits) == 0 {
			return ""
		}
		return res.Hits[0].ID + ":" + res.Hits[0].Answer
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not visible after 5s (problems %v)", what, x.Problems())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	steps := []struct {
		name   string
		change func()
		query  string
		want   string
		probs  string // substring expected in Problems(), "" for none
	}{
		{"edit", func() { writeEntry(t, kb, "pay", "How do I pay?", "With Alipay.") }, "pay", "pay:With Alipay.", ""},
		{"add", func() { writeEntry(t, kb, "hours", "What are your opening hours?", "9 to 5.") }, "opening hours", "hours:9 to 5.", ""},
		{"break", func() {
			os.WriteFile(filepath.Join(kb, "pay.md"), []byte("---\nid: pay\nquestions: [How do I pay?\n---\nbroken\n"), 0o644)
		}, "pay", "pay:With Alipay.", "pay.md:2: front matter"},
		{"fix", func() { writeEntry(t, kb, "pay", "How do I pay?", "With cash.") }, "pay", "pay:With cash.", ""},
		{"delete", func() { os.Remove(filepath.Join(kb, "ship.md")) }, "shipping", "", ""},
		{"new directory", func() {
			os.Mkdir(sub, 0o755)
			time.Sleep(100 * time.Millisecond) // the watch on the new directory is added after its event
			writeEntry(t, sub, "refund", "How do I get a refund?", "Within 7 days.")
		}, "refund", "refund:Within 7 days.", ""},
		{"edit in new directory", func() { writeEntry(t, sub, "refund", "How do I get a refund?", "Within 14 days.") }, "refund", "refund:Within 14 days.", ""},
		{"duplicate id", func() {
			os.WriteFile(filepath.Join(kb, "z.md"), []byte("---\nid: hours\nquestions:\n  - When do you open?\n---\nNever.\n"), 0o644)
		}, "opening hours", "hours:9 to 5.", `z.md:2: duplicate id "hours"`},
	}
	for _, s := range steps {
		start := time.Now()
		s.change()
		waitFor(s.name, func() bool {
			ps := fmt.Sprint(x.Problems())
			okProbs := (s.probs == "" && ps == "[]") || (s.probs != "" && strings.Contains(ps, s.probs))
			return top(s.query) == s.want && okProbs
		})
		if d := time.Since(start); d > time.Second {
			t.Logf("%s: visible after %v (over 1s, machine busy?)", s.name, d)
		}
	}
	if len(reloads) == 0 {
		t.Error("OnReload was never called")
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run() = %v, want nil after cancel", err)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := Open(ctx, Config{Dir: filepath.Join(t.TempDir(), "missing")}); err == nil || !strings.HasPrefix(err.Error(), "knowledge: ") {
		t.Errorf("Open(missing dir) error = %v, want a knowledge: error", err)
	}
	if _, err := Open(ctx, Config{Analysis: Analysis{CJK: "trigram"}}); err == nil {
		t.Error("Open(CJK trigram) error = nil, want an error")
	}
	// A single JSONL file is a valid source.
	p := filepath.Join(t.TempDir(), "kb.jsonl")
	os.WriteFile(p, []byte(`{"id":"a","question":"红包怎么用","answer":"x"}`+"\n"+`{"id":"b","question":"How do refunds work?","answer":"y"}`+"\n"), 0o644)
	x, err := Open(ctx, Config{Dir: p})
	if err != nil {
		t.Fatalf("Open(jsonl) error = %v", err)
	}
	defer x.Close()
	res, _ := x.Search(ctx, "红包", 2)
	if len(res.Hits) == 0 || res.Hits[0].ID != "a" || x.Len() != 2 {
		t.Errorf("Search(红包) over jsonl = %v (len %d), want a", ids(res), x.Len())
	}
}
