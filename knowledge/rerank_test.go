package knowledge

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestSplit(t *testing.T) {
	tests := []struct {
		a, b      []int32
		both, one []int32
	}{
		{nil, nil, nil, nil},
		{[]int32{1, 2, 3}, nil, nil, []int32{1, 2, 3}},
		{[]int32{1, 3, 5}, []int32{2, 3, 6}, []int32{3}, []int32{1, 2, 5, 6}},
		{[]int32{4}, []int32{4}, []int32{4}, nil},
	}
	for _, tc := range tests {
		both, one := split(tc.a, tc.b)
		if !slices.Equal(both, tc.both) || !slices.Equal(one, tc.one) {
			t.Errorf("split(%v, %v) = %v, %v, want %v, %v", tc.a, tc.b, both, one, tc.both, tc.one)
		}
	}
}

func TestCrossOf(t *testing.T) {
	tests := []struct {
		a, b []int32
		want []uint64
	}{
		{[]int32{1, 2}, []int32{2}, nil},
		{[]int32{1, 2}, []int32{2, 3}, []uint64{crossKey(1, 3)}},
		{[]int32{5, 7}, []int32{2}, []uint64{crossKey(2, 5), crossKey(2, 7)}},
	}
	for _, tc := range tests {
		if got := crossOf(tc.a, tc.b); !slices.Equal(got, tc.want) {
			t.Errorf("crossOf(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
		if crossKey(3, 9) != crossKey(9, 3) {
			t.Errorf("crossKey(3, 9) != crossKey(9, 3), want an unordered key")
		}
	}
}

func TestUnitsOf(t *testing.T) {
	u := newUnits()
	ids, unk := u.of(foldRunes("花呗，花呗"), true)
	// 花, 呗, 花呗, 呗花: punctuation folded away, duplicates once.
	if len(ids) != 4 || unk != 0 {
		t.Errorf("units.of(花呗，花呗, add) = %v (%d unknown), want 4 distinct units", ids, unk)
	}
	ids, unk = u.of(foldRunes("花钱"), false)
	// 花 known; 钱 and 花钱 unknown.
	if len(ids) != 1 || unk != 2 {
		t.Errorf("units.of(花钱) = %v (%d unknown), want 1 known, 2 unknown", ids, unk)
	}
}

// toyPairs are same-meaning pairs in which 还钱 stands for 还款 and 如何 for 怎么.
var toyPairs = [][2]string{
	{"花呗如何还钱", "花呗怎么还款"},
	{"借呗如何还钱", "借呗怎么还款"},
	{"信用卡如何还钱", "信用卡怎么还款"},
	{"余额宝如何还钱", "余额宝怎么还款"},
	{"花呗还钱失败", "花呗还款失败"},
	{"借呗还钱日期", "借呗还款日期"},
}

func TestTranslationLearnsSubstitution(t *testing.T) {
	u := newUnits()
	var aligned [][2][]int32
	var texts [][]int32
	for _, p := range toyPairs {
		a, _ := u.of(foldRunes(p[0]), true)
		b, _ := u.of(foldRunes(p[1]), true)
		aligned = append(aligned, [2][]int32{a, b})
		texts = append(texts, a, b)
	}
	tm := learnTranslation(aligned, texts, len(u.ids))
	id := func(s string) int32 { return u.ids[s] }
	if got := tm.t[uint64(id("还钱"))<<32|uint64(id("还款"))]; got < 0.05 {
		t.Errorf("t(还钱|还款) = %.3f, want >= 0.05", got)
	}
	q, _ := u.of(foldRunes("花呗如何还钱"), false)
	var exp []string
	for _, id := range tm.expand(q, 3, func(id int32) bool { return len([]rune(u.names[id])) == 2 }) {
		exp = append(exp, u.names[id])
	}
	if len(exp) == 0 || len(exp) > 3 || !slices.Contains(exp, "还款") || slices.Contains(exp, "还钱") {
		t.Errorf("expand(花呗如何还钱, 3) = %v, want at most 3 bigrams not in the query, 还款 among them", exp)
	}
	logProb := func(q, c string) float64 {
		qi, qu := u.of(foldRunes(q), false)
		ci, _ := u.of(foldRunes(c), false)
		return tm.logProb(qi, qu, ci)
	}
	tests := []struct{ query, better, worse string }{
		{"借呗如何还钱", "借呗怎么还款", "借呗还钱记录"},
		{"花呗如何还钱", "花呗怎么还款", "花呗如何开通"},
	}
	for _, tc := range tests {
		if b, w := logProb(tc.query, tc.better), logProb(tc.query, tc.worse); b <= w {
			t.Errorf("logProb(%s|%s) = %.3f <= logProb(%s|%s) = %.3f, want the paraphrase more likely", tc.query, tc.better, b, tc.query, tc.worse, w)
		}
	}
}

func TestPairModelLearnsContrast(t *testing.T) {
	// Swapping 花呗 and 借呗 changes the meaning; 请问 and 蚂蚁 do not.
	var raw []Pair
	for _, act := range []string{"还款", "开通", "关闭", "提额", "分期", "逾期", "额度", "利息"} {
		raw = append(raw,
			Pair{A: "花呗" + act, B: "借呗" + act},
			Pair{A: "请问花呗" + act, B: "花呗" + act, Same: true},
			Pair{A: "蚂蚁借呗" + act, B: "借呗" + act, Same: true},
		)
	}
	u := newUnits()
	var pairs [][2][]int32
	var same []bool
	for _, p := range raw {
		a, _ := u.of(foldRunes(p.A), true)
		b, _ := u.of(foldRunes(p.B), true)
		pairs = append(pairs, [2][]int32{a, b})
		same = append(same, p.Same)
	}
	m := learnPairModel(pairs, same, len(u.ids))
	logit := func(a, b string) float64 {
		ai, _ := u.of(foldRunes(a), false)
		bi, _ := u.of(foldRunes(b), false)
		return m.logit(ai, bi)
	}
	tests := []struct {
		a, b string
		same bool
	}{
		{"花呗怎么还款", "借呗怎么还款", false},
		{"请问借呗怎么还款", "借呗怎么还款", true},
		{"蚂蚁花呗怎么开通", "花呗怎么开通", true},
	}
	for _, tc := range tests {
		if z := logit(tc.a, tc.b); (z > 0) != tc.same {
			t.Errorf("pair model logit(%s, %s) = %.2f, want same=%v", tc.a, tc.b, z, tc.same)
		}
	}
}

// toyKB writes a small Chinese knowledge base in which BM25 puts a distractor
// sharing the query's words (还钱) above the entry with the same meaning.
func toyKB(t *testing.T) string {
	t.Helper()
	entries := map[string]string{
		"hb-repay":     "花呗怎么还款",
		"jb-repay":     "借呗怎么还款",
		"cc-repay":     "信用卡怎么还款",
		"yeb-repay":    "余额宝怎么还款",
		"hb-fail":      "花呗还款失败",
		"jb-date":      "借呗还款日期",
		"hb-open":      "花呗怎么开通",
		"jb-open":      "借呗怎么开通",
		"hb-record":    "花呗还钱记录在哪",
		"jb-record":    "借呗还钱记录在哪",
		"cc-record":    "信用卡还钱记录在哪",
		"yeb-record":   "余额宝还钱记录在哪",
		"hb-close":     "花呗怎么关闭",
		"hb-limit":     "花呗额度怎么提升",
		"jb-limit":     "借呗额度怎么提升",
		"zfb-record":   "支付宝还钱记录在哪",
		"zfb-repay":    "支付宝怎么还款",
		"hb-interest":  "花呗利息多少",
		"jb-interest":  "借呗利息多少",
		"yeb-interest": "余额宝利息多少",
	}
	var b strings.Builder
	for _, id := range slices.Sorted(maps.Keys(entries)) {
		line, _ := json.Marshal(map[string]string{"id": id, "question": entries[id], "answer": "答案 " + id})
		b.Write(line)
		b.WriteByte('\n')
	}
	p := filepath.Join(t.TempDir(), "kb.jsonl")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLearnRerankerModels(t *testing.T) {
	ctx := context.Background()
	x, err := Open(ctx, Config{Dir: toyKB(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	var pairs []Pair
	for _, p := range toyPairs[:4] {
		pairs = append(pairs, Pair{A: p[0], B: p[1], Same: true})
	}
	for _, s := range []string{"花呗", "借呗", "信用卡", "余额宝"} {
		pairs = append(pairs,
			Pair{A: s + "如何还钱", B: s + "还钱记录在哪"},
			Pair{A: s + "还钱记录", B: s + "还钱记录在哪", Same: true},
			Pair{A: s + "如何开通", B: s + "怎么开通", Same: true},
			Pair{A: s + "如何提额", B: s + "额度怎么提升", Same: true},
		)
	}
	const query, want = "支付宝如何还钱", "zfb-repay"
	bm25, err := x.Search(ctx, query, 3)
	if err != nil || len(bm25.Hits) == 0 || bm25.Hits[0].ID == want {
		t.Fatalf("Search(%s) without re-ranker = %v, %v; the test wants BM25 to get it wrong", query, ids(bm25), err)
	}
	tests := []struct {
		cfg     RerankConfig
		wantErr bool
		top     string // "" : not checked
	}{
		{RerankConfig{Candidates: 10}, false, want},
		{RerankConfig{Candidates: 10, Units: true}, false, want},
		{RerankConfig{Candidates: 10, NoPairModel: true}, false, want},
		{RerankConfig{Candidates: 10, NoEncoder: true}, false, want},
		{RerankConfig{Candidates: 10, Expand: 3}, false, want},
		{RerankConfig{Candidates: 10, NoTranslation: true, NoPairModel: true, NoEncoder: true}, false, ""},
		{RerankConfig{Candidates: 10, Model: "logistic"}, false, ""},
		{RerankConfig{Candidates: 10, Model: "bert"}, true, ""},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%+v", tc.cfg), func(t *testing.T) {
			rr, err := LearnReranker(ctx, x, pairs, nil, tc.cfg)
			if tc.wantErr {
				if err == nil {
					t.Errorf("LearnReranker(%+v) error = nil, want an error", tc.cfg)
				}
				return
			}
			if err != nil {
				t.Fatalf("LearnReranker(%+v) error = %v", tc.cfg, err)
			}
			x.SetReranker(rr)
			defer x.SetReranker(nil)
			res, err := x.Search(ctx, query, 5)
			if err != nil || len(res.Hits) == 0 {
				t.Fatalf("Search(%s) with re-ranker = %v, %v", query, ids(res), err)
			}
			if tc.top != "" && res.Hits[0].ID != tc.top {
				t.Errorf("Search(%s) with re-ranker %+v = %v, want %s first", query, tc.cfg, ids(res), tc.top)
			}
			if res.Confidence < 0 || res.Confidence > 1 || res.Margin < 0 || res.Margin > 1 {
				t.Errorf("Search(%s) with re-ranker: confidence %v margin %v, want both in [0,1]", query, res.Confidence, res.Margin)
			}
			for i := 1; i < len(res.Hits); i++ {
				if res.Hits[i].Score > res.Hits[i-1].Score {
					t.Errorf("Search(%s) with re-ranker: hit %d score %v > hit %d score %v, want non-increasing", query, i, res.Hits[i].Score, i-1, res.Hits[i-1].Score)
				}
			}
		})
	}
	// Skipping every pair leaves nothing to learn from.
	if _, err := LearnReranker(ctx, x, pairs, func(string) bool { return true }, RerankConfig{}); err == nil {
		t.Errorf("LearnReranker(all pairs skipped) error = nil, want an error")
	}
}

func TestEncoderLearnsParaphrases(t *testing.T) {
	u := newUnits()
	ids := func(s string) []int32 {
		v, _ := u.of(foldRunes(s), true)
		return v
	}
	var pos [][2][]int32
	var hard [][][]int32
	for _, p := range toyPairs {
		pos = append(pos, [2][]int32{ids(p[0]), ids(p[1])})
		// The record question shares 还钱 with the query but asks something else.
		hard = append(hard, [][]int32{ids(strings.ReplaceAll(p[0], "如何", "") + "记录")})
	}
	before := learnEncoder(nil, nil, len(u.ids))
	after := learnEncoder(pos, hard, len(u.ids))
	tests := []struct{ query, better, worse string }{
		{"花呗如何还钱", "花呗怎么还款", "花呗还钱记录"},
		{"借呗如何还钱", "借呗怎么还款", "借呗还钱记录"},
	}
	for _, tc := range tests {
		q, b, w := ids(tc.query), ids(tc.better), ids(tc.worse)
		if before.cosine(q, b) > before.cosine(q, w) {
			t.Fatalf("untrained cosine(%s, %s) > cosine(%s, %s): the case does not need learning", tc.query, tc.better, tc.query, tc.worse)
		}
		if cb, cw := after.cosine(q, b), after.cosine(q, w); cb <= cw {
			t.Errorf("trained cosine(%s, %s) = %.3f <= cosine(%s, %s) = %.3f, want the paraphrase closer", tc.query, tc.better, cb, tc.query, tc.worse, cw)
		}
	}
}
