package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestKBImportNamesDoNotCollide: `kb import a/faq.csv b/faq.csv` writes every
// entry to its own file and says so; the count is the files written.
func TestKBImportNamesDoNotCollide(t *testing.T) {
	src := t.TempDir()
	for name, content := range map[string]string{
		"a/faq.csv":   "question,similar,answer\nWhere is my parcel?,,Track it in the app.\nCan I return it?,,Within 30 days.\n",
		"b/faq.csv":   "How do I pay?,,With Alipay.\n",
		"dup.jsonl":   `{"id":"x","question":"Q1","answer":"A1"}` + "\n" + `{"id":"x","question":"Q2","answer":"A2"}` + "\n",
		"other.jsonl": `{"id":"pay","question":"Pay?","answer":"A"}` + "\n",
	} {
		p := filepath.Join(src, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	in := func(name string) string { return filepath.Join(src, filepath.FromSlash(name)) }
	tests := []struct {
		name      string
		files     []string
		wantCode  int
		wantOut   []string
		wantFiles []string
	}{
		{"two files named faq.csv", []string{in("a/faq.csv"), in("b/faq.csv")}, 0,
			[]string{"wrote 3 entries", "ids faq-N are taken", "b-faq-N"}, []string{"faq-1.md", "faq-2.md", "b-faq-1.md"}},
		{"an id twice", []string{in("other.jsonl"), in("dup.jsonl")}, 1, []string{`id "x" is also in`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := t.TempDir()
			var stdout, stderr strings.Builder
			code := run(context.Background(), append([]string{"kb", "import", "--out", out}, tt.files...), &stdout, &stderr)
			all := stdout.String() + stderr.String()
			if code != tt.wantCode {
				t.Fatalf("kb import %v = exit %d (%s), want %d", tt.files, code, all, tt.wantCode)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(all, w) {
					t.Errorf("kb import %v printed %q, want %q in it", tt.files, all, w)
				}
			}
			written, _ := filepath.Glob(filepath.Join(out, "*.md"))
			if len(written) != len(tt.wantFiles) {
				t.Errorf("kb import %v wrote %v, want %v", tt.files, written, tt.wantFiles)
			}
			for _, f := range tt.wantFiles {
				if _, err := os.Stat(filepath.Join(out, f)); err != nil {
					t.Errorf("kb import %v: %v", tt.files, err)
				}
			}
		})
	}
}
