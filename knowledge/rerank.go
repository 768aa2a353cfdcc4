package knowledge

import (
	"context"
	"fmt"
	"math"
	"sort"
	"unicode"
)

// Pair is a labelled pair of questions: Same reports whether they ask the same
// thing (as in AFQMC-style paraphrase data).
type Pair struct {
	// A and B are the two questions.
	A, B string
	// Same is true when A and B ask the same thing.
	Same bool
}

// Reranker re-orders BM25 candidates with a logistic regression over text
// similarity features learned from labelled question pairs; its probability of
// the first candidate is the search's confidence.
type Reranker struct {
	// Candidates is how many BM25 candidates are re-ordered.
	Candidates int
	// contrast weighs a term found in only one of two questions: log-odds that
	// such a pair asks different things.
	contrast map[string]float64
	bias     float64
	weights  []float64
}

// SetReranker makes Search re-order candidates with r (nil: BM25 order).
func (x *Index) SetReranker(r *Reranker) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.rr = r
}

// rerankN is the number of re-ranking features.
const rerankN = 8

// rerankFeatures describes how well candidate i matches the query.
func (r *Reranker) features(qr []rune, cands []scored, i int) []float64 {
	c := cands[i]
	cr := foldRunes(c.e.Questions[0])
	top := cands[0].bm25
	f := make([]float64, rerankN)
	if top > 0 {
		f[0] = c.bm25 / top
	}
	f[1] = 1 / float64(1+i)
	qu, cu := ngrams(qr, 1), ngrams(cr, 1)
	qb, cb := ngrams(qr, 2), ngrams(cr, 2)
	f[2] = jaccard(qb, cb)
	f[3] = jaccard(qu, cu)
	if m := max(len(qr), len(cr)); m > 0 {
		f[4] = float64(longestCommon(qr, cr)) / float64(m)
		f[5] = float64(min(len(qr), len(cr))) / float64(m)
	}
	var contrast, only float64
	for t := range qb {
		if !cb[t] {
			contrast += r.contrast[t]
			only++
		}
	}
	for t := range cb {
		if !qb[t] {
			contrast += r.contrast[t]
			only++
		}
	}
	f[6] = contrast
	f[7] = only / float64(max(1, len(qb)+len(cb)))
	return f
}

// rerank re-orders cands (BM25 order in) and returns the confidence and margin.
func (r *Reranker) rerank(q string, cands []scored) (float64, float64) {
	qr := foldRunes(q)
	p := make([]float64, len(cands))
	for i := range cands {
		p[i] = r.probability(r.features(qr, cands, i))
	}
	for i := range cands {
		cands[i].score = p[i]
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].score > cands[j].score })
	if len(cands) == 0 {
		return 0, 0
	}
	if len(cands) == 1 {
		return cands[0].score, cands[0].score
	}
	return cands[0].score, cands[0].score - cands[1].score
}

func (r *Reranker) probability(f []float64) float64 {
	z := r.bias
	for i, v := range f {
		z += r.weights[i] * v
	}
	return 1 / (1 + math.Exp(-z))
}

// LearnReranker learns a Reranker for x from labelled pairs: contrast weights
// from all pairs, then a logistic regression on the BM25 candidates of x for
// the questions of same-meaning pairs whose partner is an entry's question
// (the query's own entry, if any, left out). Pairs for which skip returns true
// for either question are not used (for example evaluation queries).
func LearnReranker(ctx context.Context, x *Index, pairs []Pair, skip func(string) bool, candidates int) (*Reranker, error) {
	if candidates <= 0 {
		candidates = 50
	}
	r := &Reranker{Candidates: candidates, contrast: map[string]float64{}}
	var use []Pair
	for _, p := range pairs {
		if skip == nil || !skip(p.A) && !skip(p.B) {
			use = append(use, p)
		}
	}
	// Contrast weights: how much more often a term is on one side only in
	// different-meaning pairs than in same-meaning pairs.
	type count struct{ oneSide, either [2]float64 }
	counts := map[string]*count{}
	var total [2]float64
	for _, p := range use {
		lab := 0
		if p.Same {
			lab = 1
		}
		total[lab]++
		a, b := ngrams(foldRunes(p.A), 2), ngrams(foldRunes(p.B), 2)
		seen := func(t string, one bool) {
			c := counts[t]
			if c == nil {
				c = &count{}
				counts[t] = c
			}
			c.either[lab]++
			if one {
				c.oneSide[lab]++
			}
		}
		for t := range a {
			seen(t, !b[t])
		}
		for t := range b {
			if !a[t] {
				seen(t, true)
			}
		}
	}
	for t, c := range counts {
		if c.either[0]+c.either[1] < 3 {
			continue
		}
		neg := (c.oneSide[0] + 1) / (c.either[0] + 2)
		pos := (c.oneSide[1] + 1) / (c.either[1] + 2)
		r.contrast[t] = math.Log(neg / pos)
	}
	// Training queries: same-meaning pairs with one side an entry's question.
	byText := map[string]string{}
	for _, e := range x.Entries() {
		for _, q := range e.Questions {
			byText[q] = e.ID
		}
	}
	var xs [][]float64
	var ys []float64
	for _, p := range use {
		if !p.Same {
			continue
		}
		for _, qa := range [][2]string{{p.A, p.B}, {p.B, p.A}} {
			target, ok := byText[qa[1]]
			if !ok {
				continue
			}
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("knowledge: learn reranker: %w", err)
			}
			_, _, cands, err := x.candidates(ctx, qa[0], candidates, byText[qa[0]])
			if err != nil {
				return nil, err
			}
			qr := foldRunes(qa[0])
			for i, c := range cands {
				xs = append(xs, r.features(qr, cands, i))
				y := 0.0
				if c.e.ID == target {
					y = 1
				}
				ys = append(ys, y)
			}
		}
	}
	if len(xs) == 0 {
		return nil, fmt.Errorf("knowledge: learn reranker: no same-meaning pair has an entry's question")
	}
	r.bias, r.weights = logistic(xs, ys, 1e-3)
	return r, nil
}

// logistic fits a logistic regression with L2 penalty l2 by Newton's method.
func logistic(xs [][]float64, ys []float64, l2 float64) (float64, []float64) {
	d := len(xs[0]) + 1
	w := make([]float64, d)
	for range 30 {
		g := make([]float64, d)
		h := make([][]float64, d)
		for i := range h {
			h[i] = make([]float64, d+1)
		}
		for n, x := range xs {
			z := w[0]
			for i, v := range x {
				z += w[i+1] * v
			}
			p := 1 / (1 + math.Exp(-z))
			for i := range d {
				xi := 1.0
				if i > 0 {
					xi = x[i-1]
				}
				g[i] += (p - ys[n]) * xi
				for j := range d {
					xj := 1.0
					if j > 0 {
						xj = x[j-1]
					}
					h[i][j] += p * (1 - p) * xi * xj
				}
			}
		}
		for i := range d {
			h[i][i] += l2
			if i > 0 {
				g[i] += l2 * w[i]
			}
			h[i][d] = g[i]
		}
		// Gaussian elimination on the augmented matrix.
		for c := range d {
			p := c
			for r := c + 1; r < d; r++ {
				if math.Abs(h[r][c]) > math.Abs(h[p][c]) {
					p = r
				}
			}
			h[c], h[p] = h[p], h[c]
			for r := c + 1; r < d; r++ {
				f := h[r][c] / h[c][c]
				for k := c; k <= d; k++ {
					h[r][k] -= f * h[c][k]
				}
			}
		}
		step := make([]float64, d)
		for r := d - 1; r >= 0; r-- {
			s := h[r][d]
			for k := r + 1; k < d; k++ {
				s -= h[r][k] * step[k]
			}
			step[r] = s / h[r][r]
		}
		for i := range d {
			w[i] -= step[i]
		}
	}
	return w[0], w[1:]
}

// foldRunes folds text and keeps only letters and digits.
func foldRunes(s string) []rune {
	var out []rune
	for _, r := range s {
		if r = foldRune(r); unicode.IsLetter(r) || unicode.IsDigit(r) {
			out = append(out, r)
		}
	}
	return out
}

// ngrams returns the set of character n-grams of rs.
func ngrams(rs []rune, n int) map[string]bool {
	out := make(map[string]bool, len(rs))
	for i := 0; i+n <= len(rs); i++ {
		out[string(rs[i:i+n])] = true
	}
	return out
}

func jaccard(a, b map[string]bool) float64 {
	inter := 0
	for t := range a {
		if b[t] {
			inter++
		}
	}
	if u := len(a) + len(b) - inter; u > 0 {
		return float64(inter) / float64(u)
	}
	return 0
}

// longestCommon is the length of the longest common substring of a and b.
func longestCommon(a, b []rune) int {
	best := 0
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			if a[i-1] == b[j-1] {
				cur[j] = prev[j-1] + 1
				best = max(best, cur[j])
			} else {
				cur[j] = 0
			}
		}
		prev, cur = cur, prev
	}
	return best
}
