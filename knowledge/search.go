package knowledge

import (
	"context"
	"fmt"
	"html"
	"math"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"
)

// Ranking selects how entries are scored; the zero value is the recommended setup.
type Ranking struct {
	// QuestionBoost weighs matches in questions against matches in answers; 0 means 3.
	QuestionBoost float64
	// NoAnswers ignores the answer text (questions only).
	NoAnswers bool
	// SynonymWeight weighs terms added by synonyms against the query's own; 0 means 0.5.
	SynonymWeight float64
	// Candidates is how many Bleve hits are considered before cutting to k; 0 means 30.
	Candidates int
	// Cosine averages the relative BM25 score with the cosine similarity to the
	// entry's closest question (measured: no gain, so off by default).
	Cosine bool
}

func (r Ranking) withDefaults() Ranking {
	if r.QuestionBoost == 0 {
		r.QuestionBoost = 3
	}
	if r.SynonymWeight == 0 {
		r.SynonymWeight = 0.5
	}
	if r.Candidates == 0 {
		r.Candidates = 30
	}
	return r
}

// MaxK is the largest number of hits a search returns.
const MaxK = 100

// Search returns the k best entries for a query, with a calibrated confidence
// that the first one answers it and highlights of what matched.
//
// Bleve finds the candidates; they are then scored with BM25 over the
// questions (boosted) and the answers, synonyms counted once per group.
func (x *Index) Search(ctx context.Context, q string, k int) (Result, error) {
	if k <= 0 {
		k = 5
	}
	if k > MaxK {
		k = MaxK
	}
	x.mu.RLock()
	syn := x.syn
	x.mu.RUnlock()
	qt := x.analyseQuery(q, syn)
	if len(qt.terms) == 0 {
		return Result{Hits: []Hit{}}, nil
	}
	// Answer-field lookups of terms in more than a tenth of the answers are
	// skipped when finding candidates: their long postings lists dominate the
	// search time and hardly change which entries are candidates (the
	// rescoring still counts them).
	commonAnswerTerm := map[string]bool{}
	x.mu.RLock()
	for _, t := range qt.all {
		if int(x.astats.df[t])*10 > len(x.entries) {
			commonAnswerTerm[t] = true
		}
	}
	x.mu.RUnlock()
	clauses := make([]query.Query, 0, 2*len(qt.all))
	for _, t := range candidateTerms(qt.all) {
		w := qt.boost[t]
		tq := bleve.NewTermQuery(t)
		tq.SetField(fieldQ)
		tq.SetBoost(w * x.rank.QuestionBoost)
		clauses = append(clauses, tq)
		if !x.rank.NoAnswers && !commonAnswerTerm[t] {
			ta := bleve.NewTermQuery(t)
			ta.SetField(fieldA)
			ta.SetBoost(w)
			clauses = append(clauses, ta)
		}
	}
	n := max(k, x.rank.Candidates)
	if len(clauses) == 0 {
		return Result{Hits: []Hit{}}, nil
	}
	req := bleve.NewSearchRequestOptions(bleve.NewDisjunctionQuery(clauses...), n, 0, false)
	res, err := x.bi.SearchInContext(ctx, req)
	if err != nil {
		return Result{}, fmt.Errorf("knowledge: search: %w", err)
	}

	x.mu.RLock()
	defer x.mu.RUnlock()
	sc := x.newScorer(qt)
	cands := make([]scored, 0, len(res.Hits))
	top := 0.0
	for _, h := range res.Hits {
		if e, ok := x.entries[h.ID]; ok {
			c := scored{e: e, bm25: sc.score(e)}
			top = max(top, c.bm25)
			cands = append(cands, c)
		}
	}
	// Optional final score: BM25 relative to the best candidate, averaged with the
	// cosine similarity to the entry's closest question (a symmetric measure
	// that penalises questions about something more than the query).
	for i := range cands {
		c := &cands[i]
		c.cos = sc.cosine(c.e)
		c.score = c.bm25
		if top > 0 && x.rank.Cosine {
			c.score = (c.bm25/top + c.cos) / 2
		}
	}
	sort.SliceStable(cands, func(i, j int) bool {
		if cands[i].score != cands[j].score {
			return cands[i].score > cands[j].score
		}
		return cands[i].e.ID < cands[j].e.ID
	})
	out := Result{Hits: make([]Hit, 0, min(k, len(cands)))}
	if len(cands) > 0 {
		out.Confidence, out.Margin = sc.confidence(cands)
	}
	if len(cands) > k {
		cands = cands[:k]
	}
	for _, c := range cands {
		out.Hits = append(out.Hits, Hit{
			ID:         c.e.ID,
			Question:   c.e.Questions[0],
			Answer:     c.e.Answer,
			Skill:      c.e.Skill,
			Score:      c.score,
			Highlights: x.highlights(c.e, qt.boost),
		})
	}
	return out, nil
}

// candidateTerms are the terms Bleve looks up to find candidates: all but the
// CJK single characters that a bigram of the query covers (they match a large
// part of a Chinese knowledge base and would only slow the lookup; the
// rescoring still counts them).
func candidateTerms(all []string) []string {
	covered := map[rune]bool{}
	for _, t := range all {
		if r := []rune(t); len(r) == 2 && isCJK(r[0]) && isCJK(r[1]) {
			covered[r[0]], covered[r[1]] = true, true
		}
	}
	if len(covered) == 0 {
		return all
	}
	out := make([]string, 0, len(all))
	for _, t := range all {
		if r, size := utf8.DecodeRuneInString(t); size == len(t) && covered[r] {
			continue
		}
		out = append(out, t)
	}
	return out
}

// scored is a candidate entry with its score.
type scored struct {
	e     *liveEntry
	score float64 // final score
	bm25  float64 // BM25 over questions and answers
	cos   float64 // cosine similarity to the closest question
}

// queryTerms is an analysed query.
type queryTerms struct {
	terms  map[string]float64 // the query's own terms with their counts
	groups [][][]string       // per synonym group: the added members' terms
	all    []string           // every term to look up, sorted
	boost  map[string]float64 // candidate-query weight of every term
}

// analyseQuery analyses a query and its synonyms.
func (x *Index) analyseQuery(q string, syn *Synonyms) queryTerms {
	qt := queryTerms{terms: map[string]float64{}, boost: map[string]float64{}}
	for _, t := range x.an.terms(q) {
		qt.terms[t]++
		qt.boost[t]++
	}
	for _, g := range syn.expand(q) {
		var members [][]string
		sw := x.rank.SynonymWeight / float64(len(g))
		for _, m := range g {
			ts := x.an.terms(m)
			if len(ts) == 0 {
				continue
			}
			members = append(members, ts)
			for _, t := range ts {
				if _, own := qt.terms[t]; !own {
					qt.boost[t] += sw
				}
			}
		}
		if len(members) > 0 {
			qt.groups = append(qt.groups, members)
		}
	}
	for t := range qt.boost {
		qt.all = append(qt.all, t)
	}
	sort.Strings(qt.all)
	return qt
}

// scorer scores entries for one analysed query; it needs x.mu held for reading.
type scorer struct {
	x      *Index
	qt     queryTerms
	qidf   map[string]float64
	aidf   map[string]float64
	qavg   float64
	aavg   float64
	weight float64 // idf-weighted size of the query, for coverage
	qnorm  float64 // norm of the query's tf-idf vector (0: not computed, -1: empty)
}

func (x *Index) newScorer(qt queryTerms) *scorer {
	n := len(x.entries)
	s := &scorer{x: x, qt: qt, qidf: map[string]float64{}, aidf: map[string]float64{}}
	if n > 0 {
		s.qavg = float64(x.qstats.sumLen) / float64(n)
		s.aavg = float64(x.astats.sumLen) / float64(n)
	}
	for _, t := range qt.all {
		s.qidf[t] = x.qstats.idf(t, n)
		s.aidf[t] = x.astats.idf(t, n)
	}
	for t, w := range qt.terms {
		s.weight += w * s.qidf[t]
	}
	return s
}

// term is the BM25 score of one term in an entry, questions boosted.
func (s *scorer) term(e *liveEntry, t string) float64 {
	v := s.x.rank.QuestionBoost * bm25(s.qidf[t], e.q.tf(t), e.q.len, s.qavg)
	if !s.x.rank.NoAnswers {
		v += bm25(s.aidf[t], e.a.tf(t), e.a.len, s.aavg)
	}
	return v
}

// score is the BM25 score of the query's terms plus the best member of each synonym group.
func (s *scorer) score(e *liveEntry) float64 {
	var total float64
	for t, w := range s.qt.terms {
		total += w * s.term(e, t)
	}
	for _, g := range s.qt.groups {
		best := 0.0
		for _, m := range g {
			v := 0.0
			for _, t := range m {
				if _, own := s.qt.terms[t]; !own {
					v += s.term(e, t)
				}
			}
			best = max(best, v)
		}
		total += s.x.rank.SynonymWeight * best
	}
	return total
}

// cosine is the tf-idf cosine similarity between the query's own terms and
// the entry's closest question.
func (s *scorer) cosine(e *liveEntry) float64 {
	if s.qnorm == 0 {
		s.qnorm = -1
		var n2 float64
		for t, w := range s.qt.terms {
			v := w * s.qidf[t]
			n2 += v * v
		}
		if n2 > 0 {
			s.qnorm = math.Sqrt(n2)
		}
	}
	if s.qnorm < 0 {
		return 0
	}
	best := 0.0
	n := len(s.x.entries)
	for _, q := range e.qs {
		var dot, n2 float64
		for _, tf := range q.terms {
			idf, ok := s.qidf[tf.term]
			if !ok {
				idf = s.x.qstats.idf(tf.term, n)
			}
			v := float64(tf.tf) * idf
			n2 += v * v
			if w, own := s.qt.terms[tf.term]; own {
				dot += v * w * idf
			}
		}
		if n2 > 0 {
			best = max(best, dot/(math.Sqrt(n2)*s.qnorm))
		}
	}
	return best
}

// coverage is the idf-weighted share of the query's terms found in an entry's questions.
func (s *scorer) coverage(e *liveEntry) float64 {
	if s.weight == 0 {
		return 0
	}
	var got float64
	for t, w := range s.qt.terms {
		if e.q.tf(t) > 0 {
			got += w * s.qidf[t]
		}
	}
	return got / s.weight
}

// confidence estimates the probability that the first candidate answers the
// query, and the gap to the same estimate for the runner-up.
func (s *scorer) confidence(cands []scored) (conf, margin float64) {
	p := func(i int) float64 {
		c := cands[i]
		rel := 1.0
		if i+1 < len(cands) && c.score > 0 {
			rel = (c.score - cands[i+1].score) / c.score
		}
		if i > 0 {
			rel = 0
		}
		z := confBias + confCoverage*s.coverage(c.e) + confRelMargin*rel
		return 1 / (1 + math.Exp(-z))
	}
	conf = p(0)
	if len(cands) < 2 {
		return conf, conf
	}
	return conf, math.Max(0, conf-p(1))
}

// Confidence model: a logistic function of the top entry's question coverage
// and its relative score lead (see docs/quality.md for how it was fitted).
const (
	confBias      = -3.0
	confCoverage  = 4.0
	confRelMargin = 3.0
)

// highlights returns fragments of the entry's best question and answer with
// matched words wrapped in <mark>…</mark>; the rest of the text is HTML-escaped.
func (x *Index) highlights(e *liveEntry, qset map[string]float64) []string {
	var out []string
	best, bestN := "", 0
	for _, q := range e.Questions {
		if f, n := x.markFragment(q, qset, 0); n > bestN {
			best, bestN = f, n
		}
	}
	if bestN > 0 {
		out = append(out, best)
	}
	for _, a := range e.AllAnswers() {
		if f, n := x.markFragment(a, qset, 160); n > 0 {
			out = append(out, f)
			break
		}
	}
	return out
}

// markFragment marks the query terms in text; maxRunes > 0 cuts a window around
// the first match. It returns the fragment and the number of matched terms.
func (x *Index) markFragment(text string, qset map[string]float64, maxRunes int) (string, int) {
	type span struct{ start, end int }
	var spans []span
	matched := map[string]bool{}
	for _, t := range x.an.tokens(text) {
		if _, ok := qset[t.term]; !ok {
			continue
		}
		matched[t.term] = true
		if n := len(spans); n > 0 && t.start <= spans[n-1].end {
			spans[n-1].end = max(spans[n-1].end, t.end)
			continue
		}
		spans = append(spans, span{t.start, t.end})
	}
	if len(spans) == 0 {
		return "", 0
	}
	from, to := 0, len(text)
	if maxRunes > 0 && utf8.RuneCountInString(text) > maxRunes {
		from = spans[0].start
		for back := maxRunes / 4; back > 0 && from > 0; back-- {
			_, size := utf8.DecodeLastRuneInString(text[:from])
			from -= size
		}
		to = from
		for n := 0; n < maxRunes && to < len(text); n++ {
			_, size := utf8.DecodeRuneInString(text[to:])
			to += size
		}
	}
	var b strings.Builder
	if from > 0 {
		b.WriteString("…")
	}
	pos := from
	for _, s := range spans {
		if s.end <= from || s.start >= to {
			continue
		}
		st, en := max(s.start, pos), min(s.end, to)
		b.WriteString(html.EscapeString(text[pos:st]))
		b.WriteString("<mark>")
		b.WriteString(html.EscapeString(text[st:en]))
		b.WriteString("</mark>")
		pos = en
	}
	b.WriteString(html.EscapeString(text[pos:to]))
	if to < len(text) {
		b.WriteString("…")
	}
	return strings.TrimSpace(b.String()), len(matched)
}
