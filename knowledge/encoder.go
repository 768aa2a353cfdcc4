package knowledge

import (
	"math"
	"math/rand/v2"
)

// encoder embeds a question as the normalised sum of learned vectors of its
// units (a bag-of-character-n-grams dual encoder). It is trained so that a
// question is closer to its same-meaning partner than to the other partners
// in its batch and to its labelled different-meaning partners (contrastive
// softmax loss). The vectors start random, so before training the cosine
// measures shared units.
type encoder struct {
	emb [][]float32 // by unit id
}

// Encoder training settings, fixed beforehand.
const (
	encDim    = 64
	encEpochs = 10
	encBatch  = 64
	encScale  = 20 // cosine to logit
	encRate   = 0.05
	encHard   = 2 // different-meaning partners used per pair
)

// learnEncoder trains the encoder on same-meaning pairs; hard[i] lists the
// different-meaning partners of the questions of pos[i].
func learnEncoder(pos [][2][]int32, hard [][][]int32, vocab int) *encoder {
	rng := rand.New(rand.NewPCG(5, 6))
	e := &encoder{emb: make([][]float32, vocab)}
	for i := range e.emb {
		v := make([]float32, encDim)
		for j := range v {
			v[j] = float32(rng.NormFloat64() / math.Sqrt(encDim))
		}
		e.emb[i] = v
	}
	acc := make([]float64, vocab) // AdaGrad, one accumulator per unit
	order := make([]int, len(pos))
	for i := range order {
		order[i] = i
	}
	for range encEpochs {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for start := 0; start < len(order); start += encBatch {
			batch := order[start:min(start+encBatch, len(order))]
			var rows, cols [][]int32
			for _, i := range batch {
				a, b := pos[i][0], pos[i][1]
				if rng.IntN(2) == 0 {
					a, b = b, a
				}
				rows = append(rows, a)
				cols = append(cols, b)
			}
			for _, i := range batch {
				cols = append(cols, hard[i][:min(encHard, len(hard[i]))]...)
			}
			e.step(rows, cols, acc)
		}
	}
	return e
}

// step takes one AdaGrad step on the softmax loss of rows[i] against all
// cols, cols[i] being the right one.
func (e *encoder) step(rows, cols [][]int32, acc []float64) {
	re, rn := make([][]float64, len(rows)), make([]float64, len(rows))
	for i, t := range rows {
		re[i], rn[i] = e.embed(t)
	}
	ce, cn := make([][]float64, len(cols)), make([]float64, len(cols))
	for j, t := range cols {
		ce[j], cn[j] = e.embed(t)
	}
	gr := make([][]float64, len(rows))
	gc := make([][]float64, len(cols))
	for j := range gc {
		gc[j] = make([]float64, encDim)
	}
	p := make([]float64, len(cols))
	for i := range rows {
		gr[i] = make([]float64, encDim)
		best := math.Inf(-1)
		for j := range cols {
			p[j] = encScale * dot(re[i], ce[j])
			best = max(best, p[j])
		}
		var z float64
		for j := range p {
			p[j] = math.Exp(p[j] - best)
			z += p[j]
		}
		for j := range cols {
			g := p[j] / z
			if j == i {
				g--
			}
			g *= encScale / float64(len(rows))
			for d := range encDim {
				gr[i][d] += g * ce[j][d]
				gc[j][d] += g * re[i][d]
			}
		}
	}
	e.update(rows, re, rn, gr, acc)
	e.update(cols, ce, cn, gc, acc)
}

// update back-propagates gradients g on the normalised embeddings v (norms n)
// of texts to their units' vectors.
func (e *encoder) update(texts [][]int32, v [][]float64, n []float64, g [][]float64, acc []float64) {
	for i, t := range texts {
		if n[i] == 0 {
			continue
		}
		// Through the normalisation: (g - (g·v) v) / |s|.
		gv := dot(g[i], v[i])
		grad := make([]float64, encDim)
		var sq float64
		for d := range encDim {
			grad[d] = (g[i][d] - gv*v[i][d]) / n[i]
			sq += grad[d] * grad[d]
		}
		for _, u := range t {
			acc[u] += sq / encDim
			rate := encRate / math.Sqrt(acc[u]+1e-8)
			w := e.emb[u]
			for d := range encDim {
				w[d] -= float32(rate * grad[d])
			}
		}
	}
}

// embed returns the normalised sum of the vectors of units and its norm
// before normalising.
func (e *encoder) embed(units []int32) ([]float64, float64) {
	s := make([]float64, encDim)
	for _, u := range units {
		for d, x := range e.emb[u] {
			s[d] += float64(x)
		}
	}
	n := math.Sqrt(dot(s, s))
	if n > 0 {
		for d := range s {
			s[d] /= n
		}
	}
	return s, n
}

// cosine is the cosine similarity of two texts' embeddings.
func (e *encoder) cosine(a, b []int32) float64 {
	va, _ := e.embed(a)
	vb, _ := e.embed(b)
	return dot(va, vb)
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}
