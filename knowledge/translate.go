package knowledge

import (
	"math"
	"sort"
)

// units numbers the character unigrams and bigrams the learned re-ranker
// works on (text folded, letters and digits only).
type units struct {
	ids   map[string]int32
	names []string // by id
}

func newUnits() *units { return &units{ids: map[string]int32{}} }

// of returns the distinct units of text, sorted by id; with add, unseen units
// are numbered, otherwise they are left out and counted in unknown.
func (u *units) of(rs []rune, add bool) (ids []int32, unknown int) {
	seen := map[int32]bool{}
	visit := func(s string) {
		id, ok := u.ids[s]
		if !ok {
			if !add {
				unknown++
				return
			}
			id = int32(len(u.ids))
			u.ids[s] = id
			u.names = append(u.names, s)
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	for i := range rs {
		visit(string(rs[i : i+1]))
		if i+1 < len(rs) {
			visit(string(rs[i : i+2]))
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids, unknown
}

// translation is an IBM Model 1 table t(w|s) of unit w in one question given
// unit s in a question that asks the same thing (Jeon, Croft and Lee 2005;
// Xue, Jeon and Croft 2008), learned from same-meaning pairs in both
// directions. It scores a question q against a candidate c with the
// translation-based language model
//
//	P(q|c) = Π_w (1-λ) [(1-β) P_ml(w|c) + β Σ_s t(w|s) P_ml(s|c)] + λ P(w|collection).
type translation struct {
	t    map[uint64]float64   // key w<<32 | s
	to   map[int32][]unitProb // by s: every w with t(w|s) kept
	coll []float64            // P(unit | collection), by id
	miss float64              // collection probability of an unseen unit
}

const (
	tmLambda    = 0.2  // smoothing with the collection
	tmBeta      = 0.5  // weight of translation against the candidate's own units
	tmIter      = 5    // EM iterations
	tmMinProb   = 1e-3 // translation probabilities below this are dropped
	tmNullShare = 0.1  // share of each unit's mass explained by no source unit
)

// learnTranslation fits t(w|s) by EM on aligned unit sets (each pair in both
// directions) and collection probabilities from texts.
func learnTranslation(pairs [][2][]int32, texts [][]int32, vocab int) *translation {
	tm := &translation{t: map[uint64]float64{}, coll: make([]float64, vocab)}
	var total float64
	for _, ids := range texts {
		for _, id := range ids {
			tm.coll[id]++
			total++
		}
	}
	for i := range tm.coll {
		tm.coll[i] = (tm.coll[i] + 0.5) / (total + 0.5*float64(vocab))
	}
	tm.miss = 0.5 / (total + 0.5*float64(vocab))
	// Uniform start over the co-occurring units.
	key := func(w, s int32) uint64 { return uint64(uint32(w))<<32 | uint64(uint32(s)) }
	t := map[uint64]float64{}
	for _, p := range pairs {
		for d := range 2 {
			src, dst := p[d], p[1-d]
			for _, w := range dst {
				for _, s := range src {
					t[key(w, s)] = 1
				}
			}
		}
	}
	for range tmIter {
		count := make(map[uint64]float64, len(t))
		norm := make([]float64, vocab)
		for _, p := range pairs {
			for d := range 2 {
				src, dst := p[d], p[1-d]
				for _, w := range dst {
					z := tmNullShare * tm.collOf(w)
					for _, s := range src {
						z += t[key(w, s)]
					}
					for _, s := range src {
						c := t[key(w, s)] / z
						count[key(w, s)] += c
						norm[s] += c
					}
				}
			}
		}
		for k, c := range count {
			count[k] = c / norm[int32(uint32(k))]
		}
		t = count
	}
	tm.to = map[int32][]unitProb{}
	for k, v := range t {
		if v >= tmMinProb {
			tm.t[k] = v
			s := int32(uint32(k))
			tm.to[s] = append(tm.to[s], unitProb{int32(uint32(k >> 32)), v})
		}
	}
	return tm
}

// unitProb is a unit with a probability.
type unitProb struct {
	id int32
	p  float64
}

// tmExpandMin is the least summed translation probability of an expansion unit.
const tmExpandMin = 0.1

// expand returns up to k units w, not in q and accepted by keep, that q's
// units most likely translate into: the largest Σ_{s in q} t(w|s) (at least
// tmExpandMin), best first.
func (tm *translation) expand(q []int32, k int, keep func(int32) bool) []int32 {
	in := make(map[int32]bool, len(q))
	for _, w := range q {
		in[w] = true
	}
	score := map[int32]float64{}
	for _, s := range q {
		for _, wp := range tm.to[s] {
			if !in[wp.id] {
				score[wp.id] += wp.p
			}
		}
	}
	var out []unitProb
	for s, v := range score {
		if v >= tmExpandMin && keep(s) {
			out = append(out, unitProb{s, v})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].p != out[j].p {
			return out[i].p > out[j].p
		}
		return out[i].id < out[j].id
	})
	ids := make([]int32, 0, k)
	for _, u := range out[:min(k, len(out))] {
		ids = append(ids, u.id)
	}
	return ids
}

func (tm *translation) collOf(w int32) float64 {
	if w < 0 || int(w) >= len(tm.coll) {
		return tm.miss
	}
	return tm.coll[w]
}

// logProb is log P(q|c) per unit of q; unknown counts units of q with no id.
func (tm *translation) logProb(q []int32, unknown int, c []int32) float64 {
	n := len(q) + unknown
	if n == 0 || len(c) == 0 {
		return 0
	}
	inC := make(map[int32]bool, len(c))
	for _, s := range c {
		inC[s] = true
	}
	pc := 1 / float64(len(c))
	var lp float64
	for _, w := range q {
		var tr float64
		for _, s := range c {
			tr += tm.t[uint64(uint32(w))<<32|uint64(uint32(s))]
		}
		own := 0.0
		if inC[w] {
			own = pc
		}
		p := (1-tmLambda)*((1-tmBeta)*own+tmBeta*tr*pc) + tmLambda*tm.collOf(w)
		lp += math.Log(p)
	}
	lp += float64(unknown) * math.Log(tmLambda*tm.miss)
	return lp / float64(n)
}
