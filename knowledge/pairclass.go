package knowledge

import (
	"math"
	"math/rand/v2"
)

// pairModel is a logistic regression that tells whether two questions ask the
// same thing from the units they share, the units found in only one of them,
// and the pairs of such one-sided units (substitutions such as 花呗/借呗 or
// 开通/关闭), learned from labelled pairs. Every feature is symmetric in the
// two questions.
type pairModel struct {
	bias        float64
	match, miss []float64          // by unit id
	cross       map[uint64]float64 // by unordered pair of one-sided units
}

// Pair model training settings, fixed beforehand.
const (
	pmEpochs = 3
	pmRate   = 0.1
	pmL2     = 1e-5
)

// crossKey is the key of an unordered pair of units.
func crossKey(a, b int32) uint64 {
	if a > b {
		a, b = b, a
	}
	return uint64(uint32(a))<<32 | uint64(uint32(b))
}

// crossOf lists the unordered pairs of a unit found only in a and one found
// only in b (a, b sorted).
func crossOf(a, b []int32) []uint64 {
	var onlyA, onlyB []int32
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || i < len(a) && a[i] < b[j]:
			onlyA = append(onlyA, a[i])
			i++
		case i == len(a) || b[j] < a[i]:
			onlyB = append(onlyB, b[j])
			j++
		default:
			i++
			j++
		}
	}
	out := make([]uint64, 0, len(onlyA)*len(onlyB))
	for _, u := range onlyA {
		for _, v := range onlyB {
			out = append(out, crossKey(u, v))
		}
	}
	return out
}

// learnPairModel fits the pair model with AdaGrad on the logistic loss.
func learnPairModel(pairs [][2][]int32, same []bool, vocab int) *pairModel {
	m := &pairModel{match: make([]float64, vocab), miss: make([]float64, vocab), cross: map[uint64]float64{}}
	type ex struct {
		match, miss []int32
		cross       []uint64
		y           float64
	}
	exs := make([]ex, len(pairs))
	for i, p := range pairs {
		both, one := split(p[0], p[1])
		exs[i] = ex{both, one, crossOf(p[0], p[1]), b2f(same[i])}
	}
	var gb float64
	gm, gx := make([]float64, vocab), make([]float64, vocab)
	gc := map[uint64]float64{}
	upd := func(w, g *float64, grad float64) {
		grad += pmL2 * *w
		*g += grad * grad
		*w -= pmRate * grad / math.Sqrt(*g+1e-8)
	}
	order := make([]int, len(exs))
	for i := range order {
		order[i] = i
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range pmEpochs {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, i := range order {
			e := exs[i]
			z := m.bias
			for _, u := range e.match {
				z += m.match[u]
			}
			for _, u := range e.miss {
				z += m.miss[u]
			}
			for _, k := range e.cross {
				z += m.cross[k]
			}
			g := 1/(1+math.Exp(-z)) - e.y
			upd(&m.bias, &gb, g)
			for _, u := range e.match {
				upd(&m.match[u], &gm[u], g)
			}
			for _, u := range e.miss {
				upd(&m.miss[u], &gx[u], g)
			}
			for _, k := range e.cross {
				w, gk := m.cross[k], gc[k]
				upd(&w, &gk, g)
				m.cross[k], gc[k] = w, gk
			}
		}
	}
	return m
}

// logit is the pair model's log-odds that a and b (sorted unit ids) ask the same thing.
func (m *pairModel) logit(a, b []int32) float64 {
	z := m.bias
	both, one := split(a, b)
	for _, u := range both {
		z += m.match[u]
	}
	for _, u := range one {
		z += m.miss[u]
	}
	for _, k := range crossOf(a, b) {
		z += m.cross[k]
	}
	return z
}
