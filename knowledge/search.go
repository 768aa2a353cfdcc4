package knowledge

import (
	"context"
	"fmt"
	"html"
	"math"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search"
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
	res, _, err := x.search(ctx, q, k, "")
	return res, err
}

// search is Search that leaves out the entry with id exclude (for building
// calibration data) and also returns the confidence features of the first hit.
func (x *Index) search(ctx context.Context, q string, k int, exclude string) (Result, confFeatures, error) {
	if k <= 0 {
		k = 5
	}
	if k > MaxK {
		k = MaxK
	}
	x.mu.RLock()
	rr := x.rr
	x.mu.RUnlock()
	n := max(k, x.rank.Candidates)
	if rr != nil {
		n = max(k, rr.Candidates)
	}
	var extra []string
	if rr != nil {
		extra = rr.expansion(q)
	}
	qt, sc, cands, err := x.candidates(ctx, q, n, exclude, extra)
	if err != nil || len(cands) == 0 {
		return Result{Hits: []Hit{}}, confFeatures{}, err
	}
	if rr == nil {
		promoteExactQuestion(q, cands)
	}
	out := Result{Hits: make([]Hit, 0, min(k, len(cands)))}
	var f confFeatures
	if rr != nil {
		out.Confidence, out.Margin = rr.rerank(q, cands)
	} else if len(cands) > 0 {
		f = sc.features(cands, 0)
		out.Confidence = f.probability()
		out.Margin = out.Confidence
		if len(cands) > 1 {
			out.Margin = max(0, out.Confidence-sc.features(cands, 1).probability())
		}
	}
	if exactQuestion(q, cands) {
		out.Margin = out.Confidence // asked word for word: not ambiguous
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
	return out, f, nil
}

// candidates finds up to n candidates with Bleve and scores them with BM25,
// best first (entry exclude left out); extra terms are added to the query
// like synonyms, one group each. Live entries are never modified, so the
// candidates stay valid after the lock is released.
func (x *Index) candidates(ctx context.Context, q string, n int, exclude string, extra []string) (queryTerms, *scorer, []scored, error) {
	x.mu.RLock()
	syn := x.syn
	x.mu.RUnlock()
	qt := x.analyseQuery(q, syn)
	if len(extra) > 0 {
		qt.addTerms(extra, x.rank.SynonymWeight)
	}
	if len(qt.terms) == 0 {
		return qt, nil, nil, nil
	}
	if exclude != "" {
		n++
	}
	terms, skipped := candidateTerms(qt.all, false)
	hits, err := x.lookup(ctx, qt, terms, n)
	if err == nil && skipped && len(hits) < n {
		// Fewer candidates than wanted: the bigrams of a short or colloquial
		// Chinese query ("登不上去", "能寄美国吗") may be in no entry while its
		// characters are. Look the single characters up too.
		terms, _ = candidateTerms(qt.all, true)
		hits, err = x.lookup(ctx, qt, terms, n)
	}
	if err != nil {
		return qt, nil, nil, err
	}
	if len(hits) == 0 {
		return qt, nil, nil, nil
	}

	x.mu.RLock()
	sc := x.newScorer(qt)
	cands := make([]scored, 0, len(hits))
	top := 0.0
	for _, h := range hits {
		if e, ok := x.entries[h.ID]; ok && h.ID != exclude {
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
		c.score = c.bm25
		if top > 0 && x.rank.Cosine {
			c.cos = sc.cosine(c.e)
			c.score = (c.bm25/top + c.cos) / 2
		}
	}
	x.mu.RUnlock()
	sort.SliceStable(cands, func(i, j int) bool {
		if cands[i].score != cands[j].score {
			return cands[i].score > cands[j].score
		}
		return cands[i].e.ID < cands[j].e.ID
	})
	return qt, sc, cands, nil
}

// lookup asks Bleve for the n best entries by the given terms of the query.
func (x *Index) lookup(ctx context.Context, qt queryTerms, terms []string, n int) (search.DocumentMatchCollection, error) {
	clauses := x.candidateClauses(qt, terms)
	if len(clauses) == 0 {
		return nil, nil
	}
	req := bleve.NewSearchRequestOptions(bleve.NewDisjunctionQuery(clauses...), n, 0, false)
	res, err := x.bi.SearchInContext(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("knowledge: search: %w", err)
	}
	return res.Hits, nil
}

// lookupBudget bounds the postings Bleve walks per query: terms are looked up
// rarest first until their document frequencies add up to this (or to a
// quarter of the entries, if more); the first minLookupTerms terms always are.
const (
	lookupBudget   = 3000
	minLookupTerms = 2
)

// candidateClauses builds the Bleve term queries that find candidates. The
// rarest terms come first and the lookup stops at a postings budget: common
// terms have long postings lists that dominate the search time but hardly
// change which entries are candidates (the rescoring still counts them).
// Answer-field lookups of terms in more than a tenth of the answers are
// skipped for the same reason.
func (x *Index) candidateClauses(qt queryTerms, terms []string) []query.Query {
	type lookup struct {
		t        string
		qdf, adf int
	}
	ls := make([]lookup, 0, len(terms))
	x.mu.RLock()
	n := len(x.entries)
	for _, t := range terms {
		if id, ok := x.dict.lookup(t); ok {
			ls = append(ls, lookup{t, int(x.qstats.docFreq(id)), int(x.astats.docFreq(id))})
		}
	}
	x.mu.RUnlock()
	for i := range ls {
		if x.rank.NoAnswers || ls[i].adf*10 > n {
			ls[i].adf = 0 // not looked up in answers
		}
	}
	sort.Slice(ls, func(i, j int) bool {
		if a, b := ls[i].qdf+ls[i].adf, ls[j].qdf+ls[j].adf; a != b {
			return a < b
		}
		return ls[i].t < ls[j].t
	})
	budget := max(lookupBudget, n/4)
	clauses := make([]query.Query, 0, 2*len(ls))
	walked := 0
	for i, l := range ls {
		if l.qdf+l.adf == 0 {
			continue // in no entry
		}
		if i >= minLookupTerms && walked+l.qdf+l.adf > budget {
			break
		}
		walked += l.qdf + l.adf
		w := qt.boost[l.t]
		tq := bleve.NewTermQuery(l.t)
		tq.SetField(fieldQ)
		tq.SetBoost(w * x.rank.QuestionBoost)
		clauses = append(clauses, tq)
		if l.adf > 0 {
			ta := bleve.NewTermQuery(l.t)
			ta.SetField(fieldA)
			ta.SetBoost(w)
			clauses = append(clauses, ta)
		}
	}
	return clauses
}

// candidateTerms are the terms Bleve looks up to find candidates: all but,
// unless unigrams, the CJK single characters that a bigram of the query
// covers (they match a large part of a Chinese knowledge base and would only
// slow the lookup; the rescoring still counts them). skipped reports whether
// any term was left out.
func candidateTerms(all []string, unigrams bool) (terms []string, skipped bool) {
	covered := map[rune]bool{}
	if !unigrams {
		for _, t := range all {
			if r := []rune(t); len(r) == 2 && isCJK(r[0]) && isCJK(r[1]) {
				covered[r[0]], covered[r[1]] = true, true
			}
		}
	}
	if len(covered) == 0 {
		return all, false
	}
	out := make([]string, 0, len(all))
	for _, t := range all {
		if r, size := utf8.DecodeRuneInString(t); size == len(t) && covered[r] {
			continue
		}
		out = append(out, t)
	}
	return out, len(out) < len(all)
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

// addTerms adds terms to an analysed query as one-term synonym groups of
// weight w.
func (qt *queryTerms) addTerms(terms []string, w float64) {
	for _, t := range terms {
		if _, own := qt.terms[t]; own {
			continue
		}
		if _, seen := qt.boost[t]; !seen {
			qt.all = append(qt.all, t)
		}
		qt.boost[t] += w
		qt.groups = append(qt.groups, [][]string{{t}})
	}
	sort.Strings(qt.all)
}

// qterm is a query term resolved against the knowledge base's dictionary.
type qterm struct {
	id         uint32
	w          float64 // count in the query (own terms)
	qidf, aidf float64
}

// scorer scores entries for one analysed query; it needs x.mu held for reading.
type scorer struct {
	x      *Index
	own    []qterm     // the query's own terms that occur in the knowledge base
	groups [][][]qterm // per synonym group, per member: its terms that are not own terms
	n      int
	qavg   float64
	aavg   float64
	weight float64 // idf-weighted size of the query (unknown terms count as rarest), for coverage
	terms  int     // number of the query's own terms
	qnorm  float64 // norm of the query's tf-idf vector (0: not computed, -1: empty)
}

func (x *Index) newScorer(qt queryTerms) *scorer {
	n := len(x.entries)
	s := &scorer{x: x, n: n}
	if n > 0 {
		s.qavg = float64(x.qstats.sumLen) / float64(n)
		s.aavg = float64(x.astats.sumLen) / float64(n)
	}
	resolve := func(t string, w float64) (qterm, bool) {
		id, ok := x.dict.lookup(t)
		if !ok {
			return qterm{}, false
		}
		return qterm{id: id, w: w, qidf: x.qstats.idf(id, n), aidf: x.astats.idf(id, n)}, true
	}
	unknown := s.rareIDF()
	for _, t := range qt.all {
		w, own := qt.terms[t]
		if !own {
			continue
		}
		if q, ok := resolve(t, w); ok {
			s.own = append(s.own, q)
			s.weight += w * q.qidf
		} else {
			s.weight += w * unknown
		}
		s.terms += int(w)
	}
	for _, g := range qt.groups {
		var members [][]qterm
		for _, m := range g {
			var ms []qterm
			for _, t := range m {
				if _, own := qt.terms[t]; own {
					continue
				}
				if q, ok := resolve(t, 1); ok {
					ms = append(ms, q)
				}
			}
			members = append(members, ms)
		}
		s.groups = append(s.groups, members)
	}
	return s
}

// rareIDF is the BM25 idf of a term in no entry (and of a term in no question).
func (s *scorer) rareIDF() float64 {
	return math.Log(1 + (float64(s.n)+0.5)/0.5)
}

// uniqueIDF is the BM25 idf of a term in one entry: the rarest that can match.
func (s *scorer) uniqueIDF() float64 {
	return math.Log(1 + (float64(s.n)-0.5)/1.5)
}

// term is the BM25 score of one term in an entry, questions boosted.
func (s *scorer) term(e *liveEntry, t qterm) float64 {
	v := s.x.rank.QuestionBoost * bm25(t.qidf, e.q.tf(t.id), e.q.len, s.qavg)
	if !s.x.rank.NoAnswers {
		v += bm25(t.aidf, e.a.tf(t.id), e.a.len, s.aavg)
	}
	return v
}

// score is the BM25 score of the query's terms plus the best member of each synonym group.
func (s *scorer) score(e *liveEntry) float64 {
	var total float64
	for _, t := range s.own {
		total += t.w * s.term(e, t)
	}
	for _, g := range s.groups {
		best := 0.0
		for _, m := range g {
			v := 0.0
			for _, t := range m {
				v += s.term(e, t)
			}
			best = max(best, v)
		}
		total += s.x.rank.SynonymWeight * best
	}
	return total
}

// ownWeight returns the query count of term id among the query's own terms.
func (s *scorer) ownWeight(id uint32) (float64, bool) {
	for _, t := range s.own {
		if t.id == id {
			return t.w, true
		}
	}
	return 0, false
}

// cosine is the tf-idf cosine similarity between the query's own terms and
// the entry's closest question.
func (s *scorer) cosine(e *liveEntry) float64 {
	if s.qnorm == 0 {
		s.qnorm = -1
		var n2 float64
		for _, t := range s.own {
			v := t.w * t.qidf
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
	for _, q := range e.qs {
		var dot, n2 float64
		for _, tf := range q.terms {
			idf := s.x.qstats.idf(tf.id, s.n)
			v := float64(tf.tf) * idf
			n2 += v * v
			if w, own := s.ownWeight(tf.id); own {
				dot += v * w * idf
			}
		}
		if n2 > 0 {
			best = max(best, dot/(math.Sqrt(n2)*s.qnorm))
		}
	}
	return best
}

// coverage returns the idf-weighted shares of the query's terms found in an
// entry's questions and found only in its answers. They are kept apart
// because a word that no question has (so the rarest by the questions' idf)
// but some answer does ("please", "tell", 好) says little about what was
// asked; see features.
func (s *scorer) coverage(e *liveEntry) (questions, answersOnly float64) {
	if s.weight == 0 {
		return 0, 0
	}
	for _, t := range s.own {
		switch {
		case e.q.tf(t.id) > 0:
			questions += t.w * t.qidf
		case !s.x.rank.NoAnswers && e.a.tf(t.id) > 0:
			answersOnly += t.w * t.qidf
		}
	}
	return questions / s.weight, answersOnly / s.weight
}

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

// highlightScan is how far into an answer (in bytes) a match is looked for.
const highlightScan = 2048

// markFragment marks the query terms in text; maxRunes > 0 cuts a window around
// the first match. It returns the fragment and the number of matched terms.
func (x *Index) markFragment(text string, qset map[string]float64, maxRunes int) (string, int) {
	type span struct{ start, end int }
	var spans []span
	var matched []string
	stop := len(text)
	if maxRunes > 0 {
		// Look for the first match in the first highlightScan bytes only:
		// long answers would otherwise dominate the search time.
		stop = min(stop, highlightScan+4*maxRunes)
	}
	x.an.scan(text, stop, func(t token) {
		if _, ok := qset[t.term]; !ok {
			return
		}
		if len(spans) == 0 && maxRunes > 0 && t.start >= highlightScan {
			return
		}
		if !contains(matched, t.term) {
			matched = append(matched, t.term)
		}
		if n := len(spans); n > 0 && t.start <= spans[n-1].end {
			spans[n-1].end = max(spans[n-1].end, t.end)
			return
		}
		spans = append(spans, span{t.start, t.end})
	})
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

// promoteExactQuestion moves to the front the one candidate that has q,
// up to case, width, spaces and punctuation, among its questions: a visitor
// who types an FAQ question word for word means that entry, whatever BM25
// makes of the other entries' answers. With none, or several such entries,
// the order stays.
func promoteExactQuestion(q string, cands []scored) {
	fq := QuestionKey(q)
	if fq == "" || len(cands) < 2 {
		return
	}
	at := -1
	for i, c := range cands {
		if slices.ContainsFunc(c.e.Questions, func(x string) bool { return QuestionKey(x) == fq }) {
			if at >= 0 {
				return // asked by two entries: ambiguous
			}
			at = i
		}
	}
	if at > 0 {
		c := cands[at]
		copy(cands[1:at+1], cands[:at])
		cands[0] = c
	}
}

// exactQuestion reports whether q is, up to case, width, spaces and
// punctuation, one of the first candidate's questions and of no other
// candidate's: a visitor who asks an FAQ question word for word (or clicks
// it) means that entry, however close the runner-up scores.
func exactQuestion(q string, cands []scored) bool {
	fq := QuestionKey(q)
	if fq == "" || len(cands) == 0 {
		return false
	}
	asks := func(e *liveEntry) bool {
		return slices.ContainsFunc(e.Questions, func(x string) bool { return QuestionKey(x) == fq })
	}
	if !asks(cands[0].e) {
		return false
	}
	return !slices.ContainsFunc(cands[1:], func(c scored) bool { return asks(c.e) })
}
