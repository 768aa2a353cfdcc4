package knowledge

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeFiles writes name -> content under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const loyaltyMD = "---\nid: loyalty-points\nquestions:\n  - How do loyalty points work?\n  - 积分怎么用？\n---\nOne point per yuan.\n"

// TestAdd: Index.Add and AddToDir refuse an entry whose id or question is in
// the knowledge base already (any file, any folder), and Index.Add makes the
// new entry live at once.
func TestAdd(t *testing.T) {
	type adder func(t *testing.T, dir string) func(Entry) (Entry, error)
	adders := map[string]adder{
		"Index.Add": func(t *testing.T, dir string) func(Entry) (Entry, error) {
			x, err := Open(context.Background(), Config{Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { x.Close() })
			return func(e Entry) (Entry, error) {
				got, err := x.Add(context.Background(), e)
				if err == nil {
					if _, ok := x.Get(e.ID); !ok {
						t.Errorf("Add(%s) returned before the entry was live", e.ID)
					}
				}
				return got, err
			}
		},
		"AddToDir": func(t *testing.T, dir string) func(Entry) (Entry, error) {
			return func(e Entry) (Entry, error) { return AddToDir(dir, e) }
		},
	}
	entry := func(id string, qs ...string) Entry { return Entry{ID: id, Questions: qs, Answer: "A."} }
	steps := []struct {
		name     string
		e        Entry
		wantErr  error
		wantConf ConflictError
	}{
		{"id in a subfolder", entry("loyalty-points", "Can I use points?"), ErrExists, ConflictError{ID: "loyalty-points", File: "sub/loyalty.md"}},
		{"id differing in case", entry("Loyalty-Points", "Can I use points?"), ErrExists, ConflictError{ID: "loyalty-points", File: "sub/loyalty.md"}},
		{"question folded", entry("points", "how do LOYALTY points work"), ErrExists, ConflictError{ID: "loyalty-points", File: "sub/loyalty.md", Question: "how do LOYALTY points work"}},
		{"chinese question without punctuation", entry("points", "New?", "积分 怎么用"), ErrExists, ConflictError{ID: "loyalty-points", File: "sub/loyalty.md", Question: "积分 怎么用"}},
		{"new", entry("mars", "Do you ship to Mars?", "do you ship to mars"), nil, ConflictError{}},
		{"question of the entry just added", entry("mars2", "Do you ship to Mars"), ErrExists, ConflictError{ID: "mars", File: "mars.md", Question: "Do you ship to Mars"}},
		{"a file of that name that does not parse", entry("broken", "Something new?"), ErrExists, ConflictError{File: "broken.md"}},
		{"invalid entry", Entry{ID: "x", Questions: []string{"Q?"}}, nil, ConflictError{}},
	}
	for name, newAdder := range adders {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{"sub/loyalty.md": loyaltyMD, "broken.md": "no front matter"})
			add := newAdder(t, dir)
			for _, st := range steps {
				got, err := add(st.e)
				if st.name == "invalid entry" {
					if err == nil {
						t.Errorf("%s: Add(%+v) succeeded, want an error", st.name, st.e)
					}
					continue
				}
				if !errors.Is(err, st.wantErr) {
					t.Errorf("%s: Add(%s) = %v, want %v", st.name, st.e.ID, err, st.wantErr)
					continue
				}
				var ce *ConflictError
				if errors.As(err, &ce) && *ce != st.wantConf {
					t.Errorf("%s: Add(%s) conflict = %+v, want %+v", st.name, st.e.ID, *ce, st.wantConf)
				}
				if err == nil {
					if got.File != st.e.ID+".md" || !slices.Equal(got.Questions, st.e.Questions[:1]) {
						t.Errorf("%s: Add(%s) = %+v, want file %s.md and the repeated question kept once", st.name, st.e.ID, got, st.e.ID)
					}
					if _, err := os.Stat(filepath.Join(dir, st.e.ID+".md")); err != nil {
						t.Errorf("%s: %v", st.name, err)
					}
				}
			}
		})
	}
}

// TestAddReadOnly: the starter set and a single file take no entries.
func TestAddReadOnly(t *testing.T) {
	file := filepath.Join(t.TempDir(), "faq.jsonl")
	writeFiles(t, filepath.Dir(file), map[string]string{"faq.jsonl": `{"id":"a","question":"Q?","answer":"A."}` + "\n"})
	e := Entry{ID: "new", Questions: []string{"New?"}, Answer: "A."}
	for _, dir := range []string{"", file} {
		x, err := Open(context.Background(), Config{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := x.Add(context.Background(), e); !errors.Is(err, ErrReadOnly) {
			t.Errorf("Open(%q).Add = %v, want ErrReadOnly", dir, err)
		}
		x.Close()
		if _, err := AddToDir(dir, e); !errors.Is(err, ErrReadOnly) {
			t.Errorf("AddToDir(%q) = %v, want ErrReadOnly", dir, err)
		}
	}
}

// TestReadImport: files whose ids would name the same output file are made
// unique (generated CSV ids) or refused (ids given in JSONL).
func TestReadImport(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"a/faq.csv":      "question,similar,answer\nQ a1?,,A.\nQ a2?,,A.\n",
		"b/faq.csv":      "Q b1?,,A.\n",
		"c/faq.csv":      "Q c1?,,A.\n",
		"b/c/faq.csv":    "Q bc1?,,A.\n",
		"one.jsonl":      `{"id":"refund","question":"Refund?","answer":"A."}` + "\n" + `{"id":"faq-1","question":"Clash with a CSV id","answer":"A."}` + "\n",
		"twice.jsonl":    `{"id":"x","question":"Q1","answer":"A."}` + "\n" + `{"id":"x","question":"Q2","answer":"A."}` + "\n",
		"other.jsonl":    `{"id":"Refund","question":"Refund again?","answer":"A."}` + "\n",
		"b/faq-tail.csv": "Q tail?,,A.\n",
	})
	p := func(name string) string { return filepath.Join(dir, filepath.FromSlash(name)) }
	tests := []struct {
		name      string
		files     []string
		wantIDs   []string
		wantNotes int
		wantErr   string
	}{
		{"two files of one name", []string{p("a/faq.csv"), p("b/faq.csv")}, []string{"faq-1", "faq-2", "b-faq-1"}, 1, ""},
		{"three files of one name", []string{p("a/faq.csv"), p("b/faq.csv"), p("b/c/faq.csv"), p("c/faq.csv")}, []string{"faq-1", "faq-2", "b-faq-1", "c-faq-1", "faq-2-1"}, 3, ""},
		{"csv ids taken by a jsonl id", []string{p("a/faq.csv"), p("one.jsonl")}, []string{"a-faq-1", "a-faq-2", "refund", "faq-1"}, 1, ""},
		{"a jsonl id twice in one file", []string{p("twice.jsonl")}, nil, 0, `id "x" is also in`},
		{"a jsonl id in two files, case aside", []string{p("one.jsonl"), p("other.jsonl")}, nil, 0, `id "Refund" is also in`},
		{"one file twice", []string{p("b/faq.csv"), p("b/faq.csv")}, nil, 0, "given twice"},
		{"distinct names", []string{p("b/faq.csv"), p("b/faq-tail.csv")}, []string{"faq-1", "faq-tail-1"}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			imp, err := ReadImport(tt.files)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("ReadImport = %v, want an error with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ReadImport: %v", err)
			}
			var ids []string
			for _, e := range imp.Entries {
				ids = append(ids, e.ID)
			}
			if !slices.Equal(ids, tt.wantIDs) || len(imp.Notes) != tt.wantNotes {
				t.Errorf("ReadImport ids = %v, notes %q; want %v and %d notes", ids, imp.Notes, tt.wantIDs, tt.wantNotes)
			}
		})
	}
}
