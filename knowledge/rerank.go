package knowledge

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"unicode"
	"unicode/utf8"
)

// Pair is a labelled pair of questions: Same reports whether they ask the same
// thing (as in AFQMC-style paraphrase data).
type Pair struct {
	// A and B are the two questions.
	A, B string
	// Same is true when A and B ask the same thing.
	Same bool
}

// RerankConfig chooses the parts of a learned Reranker; the zero value is the
// recommended setup.
type RerankConfig struct {
	// Candidates is how many BM25 candidates are re-ordered; 0 means 50.
	Candidates int
	// Model is "listwise" (the default, also ""): a linear score over the
	// hand features, translation-model features, a pair classifier's log-odds
	// and a dual encoder's cosine,
	// trained with a softmax over each training query's candidates; or
	// "logistic": the hand features alone in a pointwise logistic regression
	// (the first version).
	Model string
	// NoTranslation leaves out the translation-model features (listwise only).
	NoTranslation bool
	// Units adds learned per-unit weights (listwise only; measured: no
	// clear gain in cross-validation on the training pairs, so off).
	Units bool
	// NoPairModel leaves out the pair classifier's log-odds (listwise only).
	NoPairModel bool
	// NoEncoder leaves out the cosine of the learned bag-of-units dual
	// encoder (listwise only).
	NoEncoder bool
	// Expand adds up to this many character bigrams to the candidate search:
	// those the translation model finds most likely to have produced the
	// query's units (listwise only; 0: none).
	Expand int
}

// Reranker re-orders BM25 candidates with a model learned from labelled
// question pairs; its probability of the first candidate is the search's
// confidence.
type Reranker struct {
	// Candidates is how many BM25 candidates are re-ordered.
	Candidates int
	cfg        RerankConfig
	// contrast weighs a term found in only one of two questions: log-odds that
	// such a pair asks different things.
	contrast map[string]float64
	// The logistic model.
	bias    float64
	weights []float64
	// The listwise model.
	units       *units
	tm          *translation
	pm          *pairModel
	enc         *encoder
	mean, std   []float64 // standardisation of the dense features
	dense       []float64 // weights of the standardised dense features
	match, miss []float64 // per unit: weight when in both texts, in only one
	calBias     float64   // Platt scaling of (score - best score, score)
	cal         []float64
}

// SetReranker makes Search re-order candidates with r (nil: BM25 order).
func (x *Index) SetReranker(r *Reranker) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.rr = r
}

// rerankN is the number of hand features.
const rerankN = 8

// features computes the hand features of candidate i for the query runes qr.
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

// candRow is what the listwise model sees of one candidate.
type candRow struct {
	dense       []float64 // standardised
	match, miss []int32   // units in both texts; units in only one
}

// denseN is the number of dense features of the listwise model.
func (r *Reranker) denseN() int {
	n := rerankN
	if !r.cfg.NoTranslation {
		n += 4
	}
	if !r.cfg.NoPairModel {
		n++
	}
	if !r.cfg.NoEncoder {
		n += 2
	}
	return n
}

// pmAt is the position of the pair model's feature among the dense ones.
func (r *Reranker) pmAt() int {
	if r.cfg.NoTranslation {
		return rerankN
	}
	return rerankN + 4
}

// encAt is the position of the encoder's two features among the dense ones.
func (r *Reranker) encAt() int {
	if r.cfg.NoPairModel {
		return r.pmAt()
	}
	return r.pmAt() + 1
}

// rows computes the listwise model's view of every candidate; raw leaves
// the dense features unstandardised (for learning the standardisation).
func (r *Reranker) rows(q string, cands []scored, raw bool) []candRow {
	qr := foldRunes(q)
	qids, qunk := r.units.of(qr, false)
	rows := make([]candRow, len(cands))
	bestF, bestB, bestE := math.Inf(-1), math.Inf(-1), math.Inf(-1)
	for i, c := range cands {
		d := append(r.features(qr, cands, i), make([]float64, r.denseN()-rerankN)...)
		cids, cunk := r.units.of(foldRunes(c.e.Questions[0]), false)
		if !r.cfg.NoTranslation {
			d[rerankN] = r.tm.logProb(qids, qunk, cids)
			d[rerankN+1] = r.tm.logProb(cids, cunk, qids)
			bestF, bestB = max(bestF, d[rerankN]), max(bestB, d[rerankN+1])
		}
		if !r.cfg.NoPairModel {
			d[r.pmAt()] = r.pm.logit(qids, cids)
		}
		if !r.cfg.NoEncoder {
			d[r.encAt()] = r.enc.cosine(qids, cids)
			bestE = max(bestE, d[r.encAt()])
		}
		rows[i].dense = d
		if r.cfg.Units {
			rows[i].match, rows[i].miss = split(qids, cids)
		}
	}
	for i := range rows {
		d := rows[i].dense
		if !r.cfg.NoTranslation {
			d[rerankN+2] = d[rerankN] - bestF
			d[rerankN+3] = d[rerankN+1] - bestB
		}
		if !r.cfg.NoEncoder {
			d[r.encAt()+1] = d[r.encAt()] - bestE
		}
		if !raw {
			for j := range d {
				d[j] = (d[j] - r.mean[j]) / r.std[j]
			}
		}
	}
	return rows
}

// expansion returns the terms added to the candidate search for q.
func (r *Reranker) expansion(q string) []string {
	if r == nil || r.cfg.Expand <= 0 || r.tm == nil {
		return nil
	}
	ids, _ := r.units.of(foldRunes(q), false)
	var out []string
	for _, s := range r.tm.expand(ids, r.cfg.Expand, func(id int32) bool { return utf8.RuneCountInString(r.units.names[id]) == 2 }) {
		out = append(out, r.units.names[s])
	}
	return out
}

// split returns the ids in both sorted id lists and those in only one.
func split(a, b []int32) (both, one []int32) {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || i < len(a) && a[i] < b[j]:
			one = append(one, a[i])
			i++
		case i == len(a) || b[j] < a[i]:
			one = append(one, b[j])
			j++
		default:
			both = append(both, a[i])
			i++
			j++
		}
	}
	return both, one
}

// score is the listwise model's score of one candidate.
func (r *Reranker) score(row candRow) float64 {
	var s float64
	for j, v := range row.dense {
		s += r.dense[j] * v
	}
	for _, u := range row.match {
		s += r.match[u]
	}
	for _, u := range row.miss {
		s += r.miss[u]
	}
	return s
}

// rerank re-orders cands (BM25 order in) and returns the confidence and margin.
func (r *Reranker) rerank(q string, cands []scored) (float64, float64) {
	if len(cands) == 0 {
		return 0, 0
	}
	if r.cfg.Model == "logistic" {
		qr := foldRunes(q)
		p := make([]float64, len(cands))
		for i := range cands {
			p[i] = r.probability(r.features(qr, cands, i))
		}
		for i := range cands {
			cands[i].score = p[i]
		}
		sort.SliceStable(cands, func(i, j int) bool { return cands[i].score > cands[j].score })
	} else {
		rows := r.rows(q, cands, false)
		s := make([]float64, len(cands))
		best := math.Inf(-1)
		for i, row := range rows {
			s[i] = r.score(row)
			best = max(best, s[i])
		}
		idx := make([]int, len(cands))
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool { return s[idx[a]] > s[idx[b]] })
		out := make([]scored, len(cands))
		prev := 1.0
		for k, i := range idx {
			out[k] = cands[i]
			// Calibrated probability, kept non-increasing down the list.
			z := r.calBias + r.cal[0]*(s[i]-best) + r.cal[1]*s[i]
			out[k].score = min(prev, 1/(1+math.Exp(-z)))
			prev = out[k].score
		}
		copy(cands, out)
	}
	if len(cands) == 1 {
		return cands[0].score, cands[0].score
	}
	return cands[0].score, max(0, cands[0].score-cands[1].score)
}

func (r *Reranker) probability(f []float64) float64 {
	z := r.bias
	for i, v := range f {
		z += r.weights[i] * v
	}
	return 1 / (1 + math.Exp(-z))
}

// LearnReranker learns a Reranker for x from labelled pairs: contrast weights
// from all pairs, a translation model from the same-meaning pairs, then the
// ranking model on the BM25 candidates of x for the questions of same-meaning
// pairs whose partner is an entry's question (the query's own entry, if any,
// left out). Pairs for which skip returns true for either question are not
// used (for example evaluation queries).
//
// The listwise model is stacked without leaking: the training queries are
// split in innerFolds folds by target entry, and the contrast and translation
// features of each fold's candidates come from models learned without the
// pairs that contain one of that fold's queries; the models kept for search
// are learned from every pair.
func LearnReranker(ctx context.Context, x *Index, pairs []Pair, skip func(string) bool, cfg RerankConfig) (*Reranker, error) {
	if cfg.Candidates <= 0 {
		cfg.Candidates = 50
	}
	switch cfg.Model {
	case "":
		cfg.Model = "listwise"
	case "listwise", "logistic":
	default:
		return nil, fmt.Errorf("knowledge: learn reranker: unknown model %q (want listwise or logistic)", cfg.Model)
	}
	var use []Pair
	for _, p := range pairs {
		if skip == nil || !skip(p.A) && !skip(p.B) {
			use = append(use, p)
		}
	}
	entries := x.Entries()
	r := &Reranker{Candidates: cfg.Candidates, cfg: cfg}
	if cfg.Model == "listwise" {
		r.units = newUnits()
		for _, e := range entries {
			r.units.of(foldRunes(e.Questions[0]), true)
		}
		for _, p := range use {
			r.units.of(foldRunes(p.A), true)
			r.units.of(foldRunes(p.B), true)
		}
	}
	r.fitPairModels(entries, use)

	// Training queries: same-meaning pairs with one side an entry's question.
	byText := map[string]string{}
	for _, e := range entries {
		for _, q := range e.Questions {
			byText[q] = e.ID
		}
	}
	type train struct{ query, target string }
	var queries []train
	for _, p := range use {
		if !p.Same {
			continue
		}
		for _, qa := range [][2]string{{p.A, p.B}, {p.B, p.A}} {
			if target, ok := byText[qa[1]]; ok {
				queries = append(queries, train{qa[0], target})
			}
		}
	}
	if len(queries) == 0 {
		return nil, fmt.Errorf("knowledge: learn reranker: no same-meaning pair has an entry's question")
	}
	// candidatesOf returns a training query's candidates and the right one's
	// position (-1: not among them).
	candidatesOf := func(m *Reranker, q train) ([]scored, int, error) {
		if err := ctx.Err(); err != nil {
			return nil, 0, fmt.Errorf("knowledge: learn reranker: %w", err)
		}
		_, _, cands, err := x.candidates(ctx, q.query, cfg.Candidates, byText[q.query], m.expansion(q.query))
		label := -1
		for i, c := range cands {
			if c.e.ID == q.target {
				label = i
			}
		}
		return cands, label, err
	}
	if cfg.Model == "logistic" {
		var xs [][]float64
		var ys []float64
		for _, q := range queries {
			cands, label, err := candidatesOf(r, q)
			if err != nil {
				return nil, err
			}
			qr := foldRunes(q.query)
			for i := range cands {
				xs = append(xs, r.features(qr, cands, i))
				ys = append(ys, b2f(i == label))
			}
		}
		r.bias, r.weights = logistic(xs, ys, 1e-3)
		return r, nil
	}
	var lists [][]candRow
	var labels []int
	for k := range innerFolds {
		held := map[string]bool{}
		for _, q := range queries {
			if fold(q.target, innerFolds) == k {
				held[q.query] = true
			}
		}
		var rest []Pair
		for _, p := range use {
			if !held[p.A] && !held[p.B] {
				rest = append(rest, p)
			}
		}
		rk := *r
		rk.fitPairModels(entries, rest)
		for _, q := range queries {
			if fold(q.target, innerFolds) != k {
				continue
			}
			cands, label, err := candidatesOf(&rk, q)
			if err != nil {
				return nil, err
			}
			// Lists without the right entry only serve the calibration.
			lists = append(lists, rk.rows(q.query, cands, true))
			labels = append(labels, label)
		}
	}
	if !slices.ContainsFunc(labels, func(l int) bool { return l >= 0 }) {
		return nil, fmt.Errorf("knowledge: learn reranker: no training query finds its entry among %d candidates", cfg.Candidates)
	}
	r.learnListwise(lists, labels, defaultListwise)
	return r, nil
}

// innerFolds is the number of folds the listwise model's training queries are
// split into for stacking.
const innerFolds = 3

// fold assigns a key to one of n folds by its FNV hash.
func fold(key string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(key))
	return int(h.Sum32() % uint32(n))
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// fitPairModels learns the models r learns straight from pairs: the contrast
// weights and, for the listwise model, the translation model and the pair
// classifier.
func (r *Reranker) fitPairModels(entries []Entry, use []Pair) {
	r.contrast = contrastWeights(use)
	if r.cfg.Model != "listwise" {
		return
	}
	var texts [][]int32
	for _, e := range entries {
		ids, _ := r.units.of(foldRunes(e.Questions[0]), false)
		texts = append(texts, ids)
	}
	var aligned, all [][2][]int32
	var same []bool
	for _, p := range use {
		a, _ := r.units.of(foldRunes(p.A), false)
		b, _ := r.units.of(foldRunes(p.B), false)
		texts = append(texts, a, b)
		all = append(all, [2][]int32{a, b})
		same = append(same, p.Same)
		if p.Same {
			aligned = append(aligned, [2][]int32{a, b})
		}
	}
	if !r.cfg.NoTranslation {
		r.tm = learnTranslation(aligned, texts, len(r.units.ids))
	}
	if !r.cfg.NoPairModel {
		r.pm = learnPairModel(all, same, len(r.units.ids))
	}
	if !r.cfg.NoEncoder {
		different := map[string][][]int32{}
		for i, p := range use {
			if !p.Same {
				different[p.A] = append(different[p.A], all[i][1])
				different[p.B] = append(different[p.B], all[i][0])
			}
		}
		var pos [][2][]int32
		var hard [][][]int32
		for i, p := range use {
			if p.Same {
				pos = append(pos, all[i])
				hard = append(hard, append(append([][]int32(nil), different[p.A]...), different[p.B]...))
			}
		}
		r.enc = learnEncoder(pos, hard, len(r.units.ids))
	}
}

// contrastWeights returns, per character bigram, the log-odds that a pair with
// the bigram on one side only asks different things.
func contrastWeights(use []Pair) map[string]float64 {
	type count struct{ oneSide, either [2]float64 }
	counts := map[string]*count{}
	for _, p := range use {
		lab := 0
		if p.Same {
			lab = 1
		}
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
	out := map[string]float64{}
	for t, c := range counts {
		if c.either[0]+c.either[1] < 3 {
			continue
		}
		neg := (c.oneSide[0] + 1) / (c.either[0] + 2)
		pos := (c.oneSide[1] + 1) / (c.either[1] + 2)
		out[t] = math.Log(neg / pos)
	}
	return out
}

// listwiseSettings are the listwise model's training settings.
type listwiseSettings struct {
	epochs   int
	rate, l2 float64
}

// defaultListwise are the settings used: fixed beforehand, and the best of five
// in a validation split of the training lists (docs/quality.md).
var defaultListwise = listwiseSettings{epochs: 8, rate: 0.05, l2: 1e-4}

// learnListwise standardises the dense features, fits the weights with
// AdaGrad on the softmax loss of each list's right candidate (labels[i] is its
// position in lists[i], -1 if it is not there), and fits the Platt scaling of
// the scores on every list.
func (r *Reranker) learnListwise(lists [][]candRow, labels []int, set listwiseSettings) {
	nd := r.denseN()
	r.mean, r.std = make([]float64, nd), make([]float64, nd)
	var n float64
	for _, l := range lists {
		for _, row := range l {
			for j, v := range row.dense {
				r.mean[j] += v
				r.std[j] += v * v
			}
			n++
		}
	}
	for j := range nd {
		r.mean[j] /= n
		r.std[j] = math.Sqrt(max(r.std[j]/n-r.mean[j]*r.mean[j], 0))
		if r.std[j] < 1e-9 {
			r.std[j] = 1
		}
	}
	for _, l := range lists {
		for _, row := range l {
			for j := range row.dense {
				row.dense[j] = (row.dense[j] - r.mean[j]) / r.std[j]
			}
		}
	}
	nu := len(r.units.ids)
	r.dense = make([]float64, nd)
	r.match, r.miss = make([]float64, nu), make([]float64, nu)
	gd := make([]float64, nd)
	gm, gx := make([]float64, nu), make([]float64, nu)
	step := func(w, g []float64, i int, grad float64) {
		grad += set.l2 * w[i]
		g[i] += grad * grad
		w[i] -= set.rate * grad / math.Sqrt(g[i]+1e-8)
	}
	order := make([]int, len(lists))
	for i := range order {
		order[i] = i
	}
	rng := rand.New(rand.NewPCG(1, 2))
	p := make([]float64, 0, r.Candidates)
	for range set.epochs {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, li := range order {
			l := lists[li]
			if labels[li] < 0 {
				continue
			}
			p = p[:0]
			best := math.Inf(-1)
			for _, row := range l {
				s := r.score(row)
				p = append(p, s)
				best = max(best, s)
			}
			var z float64
			for i := range p {
				p[i] = math.Exp(p[i] - best)
				z += p[i]
			}
			for i, row := range l {
				g := p[i] / z
				if i == labels[li] {
					g--
				}
				if math.Abs(g) < 1e-6 {
					continue
				}
				for j, v := range row.dense {
					step(r.dense, gd, j, g*v)
				}
				for _, u := range row.match {
					step(r.match, gm, int(u), g)
				}
				for _, u := range row.miss {
					step(r.miss, gx, int(u), g)
				}
			}
		}
	}
	// Platt scaling: P(right | score - best, score) over every candidate.
	var xs [][]float64
	var ys []float64
	for li, l := range lists {
		s := make([]float64, len(l))
		best := math.Inf(-1)
		for i, row := range l {
			s[i] = r.score(row)
			best = max(best, s[i])
		}
		for i := range l {
			y := 0.0
			if i == labels[li] {
				y = 1
			}
			xs = append(xs, []float64{s[i] - best, s[i]})
			ys = append(ys, y)
		}
	}
	r.calBias, r.cal = logistic(xs, ys, 1e-3)
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
