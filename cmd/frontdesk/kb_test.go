package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKBEvalTrainPairs(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string { return writeFile(t, dir, name, text) }
	kb := write("kb.jsonl", `{"id":"hb-repay","question":"花呗怎么还款","answer":"a"}
{"id":"jb-repay","question":"借呗怎么还款","answer":"a"}
{"id":"hb-open","question":"花呗怎么开通","answer":"a"}
{"id":"jb-open","question":"借呗怎么开通","answer":"a"}
{"id":"hb-record","question":"花呗还钱记录在哪","answer":"a"}
{"id":"jb-record","question":"借呗还钱记录在哪","answer":"a"}
`)
	queries := write("q.jsonl", `{"qid":"1","query":"花呗如何还钱","relevant":["hb-repay"]}
{"qid":"2","query":"借呗如何开启","relevant":["jb-open"]}
`)
	pairs := write("pairs.csv", `sentence1,sentence2,label
花呗如何还钱,花呗怎么还款,1
借呗如何还钱,借呗怎么还款,1
花呗如何开启,花呗怎么开通,1
借呗如何开启,借呗怎么开通,1
花呗还钱记录,花呗还钱记录在哪,1
借呗还钱记录,借呗还钱记录在哪,1
花呗如何还钱,花呗还钱记录在哪,0
借呗如何还钱,借呗还钱记录在哪,0
`)
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"listwise", nil, ""},
		{"listwise with units", []string{"--rerank-units"}, ""},
		{"listwise with hand features only", []string{"--rerank-no-translation", "--rerank-no-pair-model", "--rerank-no-encoder"}, ""},
		{"listwise with expansion", []string{"--rerank-expand", "3"}, ""},
		{"logistic", []string{"--rerank", "logistic"}, ""},
		{"unknown model", []string{"--rerank", "bert"}, "unknown model"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"eval", "--kb", kb, "--queries", queries, "--train-pairs", pairs, "--candidates", "6"}, tc.args...)
			var stdout, stderr bytes.Buffer
			err := runKB(context.Background(), args, &stdout, &stderr)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("kb %v error = %v, want one containing %q", args, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("kb %v error = %v (stderr %s)", args, err, stderr.String())
			}
			var rep struct {
				N         int     `json:"n"`
				RecallAt1 float64 `json:"recall_at_1"`
				MRR       float64 `json:"mrr_at_10"`
			}
			if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
				t.Fatalf("kb %v printed %q: %v", args, stdout.String(), err)
			}
			if rep.N != 2 || rep.RecallAt1 < 0 || rep.RecallAt1 > 1 || rep.MRR < rep.RecallAt1 {
				t.Errorf("kb %v = %+v, want n 2 and figures in [0,1] with MRR >= R@1", args, rep)
			}
		})
	}
}

// writeFile writes text to dir/name and returns the path.
func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
