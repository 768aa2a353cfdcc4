package api

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/api/realtime"
	"github.com/frontdesk/frontdesk/data"
	"github.com/frontdesk/frontdesk/knowledge"
)

const loyaltyEntry = `---
id: loyalty-points
questions:
  - How do loyalty points work?
  - 积分怎么用？
skill: default_support
---
Every yuan spent earns one point.
`

// kbDir returns a knowledge directory with sub/loyalty.md in it.
func kbDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sub", "loyalty.md"), []byte(loyaltyEntry), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// openKB opens a live index over path (no Run: Add reloads by itself).
func openKB(t *testing.T, path string) *knowledge.Index {
	t.Helper()
	x, err := knowledge.Open(context.Background(), knowledge.Config{Dir: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	return x
}

// TestCreateFAQEntryChecks: a new entry is refused when its id or one of its
// questions is already in the knowledge base (any file, any folder), when its
// skill group does not exist; visitors' personal data never reaches the file.
// Both with the live index and, without one, against the directory's files.
func TestCreateFAQEntryChecks(t *testing.T) {
	for _, mode := range []string{"live index", "files only"} {
		t.Run(mode, func(t *testing.T) {
			h := newHarness(t, realtime.DefaultLimits())
			h.newAgent("ed@acme.example", data.RoleEditor)
			ed := h.login("ed@acme.example")
			dir := kbDir(t)
			h.server.cfg.KBDir = dir
			var x *knowledge.Index
			if mode == "live index" {
				x = openKB(t, dir)
				h.server.kb = x
			}
			steps := []struct {
				name     string
				body     map[string]any
				wantCode int
				wantErr  string
				inFile   []string // for 201: what the written file contains
				notFile  []string // and what it must not
			}{
				{"id of an entry in a subfolder", map[string]any{"id": "loyalty-points", "questions": []string{"Can I use points?"}, "answer": "Yes."}, 409, "duplicate_id", nil, nil},
				{"new entry", map[string]any{"id": "mars", "questions": []string{"Do you ship to Mars?", "Mars delivery"}, "answer": "Not yet.\n\nWe will tell you.", "skill": "order_support"},
					201, "", []string{"Do you ship to Mars?", "Not yet.\n\nWe will tell you.", "skill: order_support"}, nil},
				{"same question again (a second click)", map[string]any{"questions": []string{"Do you ship to Mars?"}, "answer": "No."}, 409, "duplicate_question", nil, nil},
				{"same question up to case and punctuation", map[string]any{"questions": []string{"HOW DO LOYALTY POINTS WORK"}, "answer": "Like this."}, 409, "duplicate_question", nil, nil},
				{"alternative phrasing already asked", map[string]any{"questions": []string{"Points?", "积分怎么用"}, "answer": "Like this."}, 409, "duplicate_question", nil, nil},
				{"id of an entry just created", map[string]any{"id": "mars", "questions": []string{"Martian parcels"}, "answer": "No."}, 409, "duplicate_id", nil, nil},
				{"unknown skill group", map[string]any{"questions": []string{"Do you sell gift cards?"}, "answer": "Yes.", "skill": "nosuchgroup"}, 400, "unknown_skill", nil, nil},
				{"no skill: default_support", map[string]any{"id": "gift-cards", "questions": []string{"Do you sell gift cards?"}, "answer": "Yes."}, 201, "", []string{"skill: default_support"}, nil},
				{"personal data masked", map[string]any{"id": "sms", "questions": []string{"My phone 13812345678 gets no SMS", "mail lee@example.com back", "My phone 13987654321 gets no SMS"}, "answer": "Check the number."},
					201, "", []string{"My phone [PHONE] gets no SMS", "mail [EMAIL] back"}, []string{"13812345678", "13987654321", "lee@example.com"}},
				{"path traversal id", map[string]any{"id": "../escape", "questions": []string{"q"}, "answer": "a"}, 400, "bad_request", nil, nil},
			}
			for _, st := range steps {
				code, out := ed.do("POST", "/api/v1/agent/knowledge/entries", st.body)
				if code != st.wantCode || st.wantErr != "" && errCode(out) != st.wantErr {
					t.Errorf("%s: POST knowledge/entries %v = %d %v, want %d %s", st.name, st.body, code, out, st.wantCode, st.wantErr)
					continue
				}
				if code != 201 {
					continue
				}
				id := out["id"].(string)
				b, err := os.ReadFile(filepath.Join(dir, id+".md"))
				if err != nil {
					t.Errorf("%s: read %s.md: %v", st.name, id, err)
				}
				for _, want := range st.inFile {
					if !strings.Contains(string(b), want) {
						t.Errorf("%s: %s.md = %q, want it to contain %q", st.name, id, b, want)
					}
				}
				for _, bad := range st.notFile {
					if strings.Contains(string(b), bad) {
						t.Errorf("%s: %s.md = %q contains %q", st.name, id, b, bad)
					}
				}
				if x != nil {
					if _, ok := x.Get(id); !ok {
						t.Errorf("%s: entry %s not live when the API answered", st.name, id)
					}
				}
			}
			if x != nil && len(x.Problems()) > 0 {
				t.Errorf("knowledge problems after the creates: %v", x.Problems())
			}
		})
	}
}

// TestCreateFAQEntryTwiceAtOnce: a double click sends the same entry twice
// at once; one is written.
func TestCreateFAQEntryTwiceAtOnce(t *testing.T) {
	h := newHarness(t, realtime.DefaultLimits())
	h.newAgent("ed@acme.example", data.RoleEditor)
	ed := h.login("ed@acme.example")
	dir := kbDir(t)
	h.server.cfg.KBDir = dir
	h.server.kb = openKB(t, dir)
	codes := make([]int, 4)
	var wg sync.WaitGroup
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], _ = ed.do("POST", "/api/v1/agent/knowledge/entries", map[string]any{"questions": []string{"Do you ship to Mars?"}, "answer": "Not yet."})
		}()
	}
	wg.Wait()
	created := 0
	for _, c := range codes {
		if c == 201 {
			created++
		} else if c != 409 {
			t.Errorf("concurrent create = %d, want 201 or 409", c)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.md"))
	if created != 1 || len(files) != 1 {
		t.Errorf("4 concurrent creates of one question: %d answered 201, %d files written; want 1 and 1", created, len(files))
	}
}

// TestCreateFAQEntryReadOnly: the built-in set and a single knowledge file
// cannot take entries: 409 read_only_knowledge, never a 500.
func TestCreateFAQEntryReadOnly(t *testing.T) {
	file := filepath.Join(t.TempDir(), "faq.jsonl")
	if err := os.WriteFile(file, []byte(`{"id":"a","question":"Q?","answer":"A."}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		kbDir string
		live  bool
	}{
		{"built-in set", "", false},
		{"built-in set, live index", "", true},
		{"single jsonl file", file, false},
		{"single jsonl file, live index", file, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, realtime.DefaultLimits())
			h.newAgent("ed@acme.example", data.RoleEditor)
			ed := h.login("ed@acme.example")
			h.server.cfg.KBDir = tt.kbDir
			if tt.live {
				h.server.kb = openKB(t, tt.kbDir)
			}
			code, out := ed.do("POST", "/api/v1/agent/knowledge/entries", map[string]any{"questions": []string{"Do you ship to Mars?"}, "answer": "Not yet."})
			if code != http.StatusConflict || errCode(out) != "read_only_knowledge" {
				t.Errorf("create with --kb %q = %d %v, want 409 read_only_knowledge", tt.kbDir, code, out)
			}
		})
	}
}

// TestKnowledgeGapsAnsweredAndMasked: a gap disappears once an entry answers
// it, and a site that masks the agent view shows editors no personal data.
func TestKnowledgeGapsAnsweredAndMasked(t *testing.T) {
	h := newHarness(t, realtime.DefaultLimits())
	h.newAgent("ed@acme.example", data.RoleEditor)
	ed := h.login("ed@acme.example")
	dir := t.TempDir()
	h.server.cfg.KBDir = dir
	h.server.kb = openKB(t, dir)
	for _, q := range []string{"Do you deliver parcels to Mars?", "Please call me on 13812345678 about my refund"} {
		v := h.mustDial(h.token()) // one visitor each: a second fallback in a row is a handoff
		v.say("q", q)
		v.until(isBotMessage)
	}
	today := time.Now().UTC().Format("2006-01-02")
	gaps := func() []string {
		t.Helper()
		code, out := ed.do("GET", "/api/v1/agent/knowledge-gaps?from="+today+"&to="+today, nil)
		if code != 200 {
			t.Fatalf("GET knowledge-gaps = %d %v", code, out)
		}
		var qs []string
		for _, g := range out["gaps"].([]any) {
			qs = append(qs, g.(map[string]any)["question"].(string))
		}
		return qs
	}
	setMask := func(on bool) {
		site, err := h.store.SiteByKey(context.Background(), "demo")
		if err != nil {
			t.Fatal(err)
		}
		st := site.Settings
		st.Privacy.MaskAgentView = on
		if _, err := h.store.UpdateSiteSettings(context.Background(), site.ID, st); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		name   string
		do     func()
		want   []string
		absent []string
	}{
		// Editors never see visitors' personal data, whatever the site's setting.
		{"as asked, redacted for an editor", func() {}, []string{"Do you deliver parcels to Mars?", "Please call me on [PHONE] about my refund"}, []string{"13812345678"}},
		{"masked for the agent view", func() { setMask(true) }, []string{"Please call me on [PHONE] about my refund"}, []string{"13812345678"}},
		{"answered by a new entry", func() {
			if code, out := ed.do("POST", "/api/v1/agent/knowledge/entries", map[string]any{"questions": []string{"Do you deliver parcels to Mars?"}, "answer": "Not yet."}); code != 201 {
				t.Fatalf("create = %d %v", code, out)
			}
		}, []string{"Please call me on [PHONE] about my refund"}, []string{"Mars"}},
	}
	for _, st := range steps {
		st.do()
		got := gaps()
		joined := strings.Join(got, "\n")
		for _, w := range st.want {
			if !strings.Contains(joined, w) {
				t.Errorf("%s: gaps = %q, want %q among them", st.name, got, w)
			}
		}
		for _, a := range st.absent {
			if strings.Contains(joined, a) {
				t.Errorf("%s: gaps = %q, want no %q", st.name, got, a)
			}
		}
	}
}
