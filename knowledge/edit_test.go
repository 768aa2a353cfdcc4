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

const twoAnswersMD = "---\nid: gifts\nquestions:\n  - Do you wrap gifts?\nlang: en\nlinks:\n  - title: Gifts\n    url: https://acme.example/gifts\n---\nYes, for 5 yuan.\n\n<!-- answer -->\n\nAsk at checkout.\n"

// openDir opens an index over dir with files written into it.
func openDir(t *testing.T, files map[string]string) (*Index, string) {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, files)
	x, err := Open(context.Background(), Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	return x, dir
}

// TestUpdate: Update rewrites an entry's own Markdown file and the change is
// live when it returns; it refuses a question of another entry, unknown ids
// and entries it cannot change where they are kept.
func TestUpdate(t *testing.T) {
	ctx := context.Background()
	x, dir := openDir(t, map[string]string{
		"sub/loyalty.md": loyaltyMD,
		"gifts.md":       twoAnswersMD,
		"faq.csv":        "question,similar,answer\nDo you sell vouchers?,,Yes.\n",
	})
	csvID := ""
	for _, s := range x.List() {
		if s.Path == "faq.csv" {
			csvID = s.ID
		}
	}
	tests := []struct {
		name     string
		e        Entry
		wantErr  error
		wantConf ConflictError
		wantRO   Origin
	}{
		{"new answer and questions", Entry{ID: "loyalty-points", Questions: []string{"How do loyalty points work?", "Do points expire?", "do points expire"}, Answer: "Two points per yuan.", Skill: "order_support", Tags: []string{"points"}}, nil, ConflictError{}, ""},
		{"same size again", Entry{ID: "loyalty-points", Questions: []string{"How do loyalty points work?", "Do points expire?"}, Answer: "Six points per yuan.", Skill: "order_support", Tags: []string{"points"}}, nil, ConflictError{}, ""},
		{"a question of another entry", Entry{ID: "loyalty-points", Questions: []string{"Points?", "DO YOU WRAP GIFTS"}, Answer: "A."}, ErrExists, ConflictError{ID: "gifts", File: "gifts.md", Question: "DO YOU WRAP GIFTS"}, ""},
		{"the first of several answers", Entry{ID: "gifts", Questions: []string{"Do you wrap gifts?"}, Answer: "Yes, for free."}, nil, ConflictError{}, ""},
		{"unknown id", Entry{ID: "nope", Questions: []string{"Q?"}, Answer: "A."}, ErrNoEntry, ConflictError{}, ""},
		{"entry of a CSV file", Entry{ID: csvID, Questions: []string{"Vouchers?"}, Answer: "A."}, ErrReadOnlyEntry, ConflictError{}, OriginMultiEntry},
		{"no answer", Entry{ID: "gifts", Questions: []string{"Q?"}}, nil, ConflictError{}, ""},
	}
	for _, tt := range tests {
		got, err := x.Update(ctx, tt.e)
		if tt.name == "no answer" {
			if err == nil {
				t.Errorf("%s: Update(%+v) succeeded, want an error", tt.name, tt.e)
			}
			continue
		}
		if !errors.Is(err, tt.wantErr) {
			t.Errorf("%s: Update(%s) = %v, want %v", tt.name, tt.e.ID, err, tt.wantErr)
			continue
		}
		var ce *ConflictError
		if errors.As(err, &ce) && *ce != tt.wantConf {
			t.Errorf("%s: Update(%s) conflict = %+v, want %+v", tt.name, tt.e.ID, *ce, tt.wantConf)
		}
		var ro *ReadOnlyError
		if errors.As(err, &ro) && (ro.Origin != tt.wantRO || ro.File != "faq.csv") {
			t.Errorf("%s: Update(%s) = %+v, want origin %s in faq.csv", tt.name, tt.e.ID, *ro, tt.wantRO)
		}
		if err != nil {
			continue
		}
		live, _ := x.Get(tt.e.ID)
		if live.Answer != tt.e.Answer || !slices.Equal(live.Questions, uniqueQuestions(tt.e.Questions)) || live.Skill != tt.e.Skill {
			t.Errorf("%s: live entry after Update = %+v, want the questions (repeats once), answer and skill of %+v", tt.name, live, tt.e)
		}
		if got.File != "sub/loyalty.md" && got.File != "gifts.md" {
			t.Errorf("%s: Update returned file %q, want the entry's own file", tt.name, got.File)
		}
		res, err := x.Search(ctx, tt.e.Questions[0], 1)
		if err != nil || len(res.Hits) == 0 || res.Hits[0].Answer != tt.e.Answer {
			t.Errorf("%s: Search(%q) = %+v, %v; want the new answer", tt.name, tt.e.Questions[0], res, err)
		}
	}
	gifts, _ := x.Get("gifts")
	if !slices.Equal(gifts.AllAnswers(), []string{"Yes, for free.", "Ask at checkout."}) || gifts.Lang != "en" || len(gifts.Links) != 1 {
		t.Errorf("gifts after Update = %+v, want the second answer, lang and link kept", gifts)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "sub", "loyalty.md"))
	if !strings.Contains(string(b), "Six points per yuan.") || strings.Contains(string(b), "Two points") {
		t.Errorf("sub/loyalty.md = %q, want the last answer only", b)
	}
	if ps := x.Problems(); len(ps) > 0 {
		t.Errorf("problems after the updates: %v", ps)
	}
	if tmp, _ := filepath.Glob(filepath.Join(dir, ".*")); len(tmp) > 0 {
		t.Errorf("temporary files left: %v", tmp)
	}
}

// TestDelete: Delete removes an entry's file and the entry before it
// returns; entries of a multi-entry file and unknown ids are refused.
func TestDelete(t *testing.T) {
	ctx := context.Background()
	x, dir := openDir(t, map[string]string{
		"sub/loyalty.md": loyaltyMD,
		"faq.jsonl":      `{"id":"vouchers","question":"Do you sell vouchers?","answer":"Yes."}` + "\n",
	})
	if err := x.Delete(ctx, "loyalty-points"); err != nil {
		t.Fatalf("Delete(loyalty-points) = %v", err)
	}
	if _, ok := x.Get("loyalty-points"); ok {
		t.Error("loyalty-points still live after Delete returned")
	}
	if _, err := os.Stat(filepath.Join(dir, "sub", "loyalty.md")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("sub/loyalty.md after Delete: %v, want it gone", err)
	}
	for id, want := range map[string]error{"loyalty-points": ErrNoEntry, "vouchers": ErrReadOnlyEntry} {
		if err := x.Delete(ctx, id); !errors.Is(err, want) {
			t.Errorf("Delete(%s) = %v, want %v", id, err, want)
		}
	}
	if _, ok := x.Get("vouchers"); !ok {
		t.Error("vouchers gone after a refused Delete")
	}
}

// TestOriginsAndReadOnlySources: List says where each entry is kept; the
// starter set and a single file cannot be changed.
func TestOriginsAndReadOnlySources(t *testing.T) {
	ctx := context.Background()
	x, _ := openDir(t, map[string]string{"sub/loyalty.md": loyaltyMD, "faq.jsonl": `{"id":"vouchers","question":"Vouchers?","answer":"Yes."}` + "\n"})
	var got []string
	for _, s := range x.List() {
		got = append(got, s.ID+" "+s.Path+" "+string(s.Origin))
	}
	want := []string{"loyalty-points sub/loyalty.md markdown", "vouchers faq.jsonl multi_entry_file"}
	if !slices.Equal(got, want) {
		t.Errorf("List = %q, want %q", got, want)
	}
	file := filepath.Join(t.TempDir(), "one.md")
	writeFiles(t, filepath.Dir(file), map[string]string{"one.md": loyaltyMD})
	for dir, want := range map[string]Origin{"": OriginStarter, file: OriginSingleFile} {
		x, err := Open(ctx, Config{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		first := x.List()[0]
		var ro *ReadOnlyError
		_, err = x.Update(ctx, Entry{ID: first.ID, Questions: []string{"Q?"}, Answer: "A."})
		if first.Origin != want || !errors.As(err, &ro) || ro.Origin != want {
			t.Errorf("Open(%q): first entry %s origin %s, Update = %v; want origin %s and a *ReadOnlyError", dir, first.ID, first.Origin, err, want)
		}
		if err := x.Delete(ctx, first.ID); !errors.Is(err, ErrReadOnlyEntry) {
			t.Errorf("Open(%q).Delete(%s) = %v, want ErrReadOnlyEntry", dir, first.ID, err)
		}
		if strings.Contains(first.Path, string(filepath.Separator)+"tmp") {
			t.Errorf("Open(%q): path %q is not relative", dir, first.Path)
		}
		x.Close()
	}
}

// TestRelativeProblems: problems name files relative to the knowledge
// directory, in File and in the reasons.
func TestRelativeProblems(t *testing.T) {
	x, dir := openDir(t, map[string]string{
		"sub/loyalty.md": loyaltyMD,
		"again.md":       strings.Replace(loyaltyMD, "积分怎么用？", "Points?", 1),
		"broken.md":      "no front matter",
	})
	ps := x.RelativeProblems()
	var files []string
	for _, p := range ps {
		files = append(files, p.File)
		if strings.Contains(p.File+p.Reason, dir) {
			t.Errorf("problem %+v names the directory %s", p, dir)
		}
	}
	if !slices.Contains(files, "broken.md") || !slices.Contains(files, "sub/loyalty.md") && !slices.Contains(files, "again.md") {
		t.Errorf("RelativeProblems files = %q, want broken.md and the duplicate id", files)
	}
}
