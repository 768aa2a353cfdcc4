package intents

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
)

// Options controls training; the zero value gives the defaults, which are the same for every data set.
type Options struct {
	// Seed makes training reproducible; 0 means 1.
	Seed uint64
	// Epochs is the number of passes of stochastic gradient descent; 0 means 12.
	Epochs int
	// L2 is the L2 regularisation strength per example; 0 means 2e-6.
	L2 float64
	// LearningRate is the initial SGD step; 0 means 2.
	LearningRate float64
	// MinDF drops features seen in fewer training utterances; 0 means 2 (1 for data sets under 5,000 examples).
	MinDF int
	// Folds is the number of cross-validation folds used to calibrate the confidence and choose the
	// out-of-scope threshold; 0 means 5; 1 or less skips cross-validation (temperature 1, threshold FixedThreshold).
	Folds int
	// MaxFalseRejection is the share of held-out in-scope utterances, otherwise answered correctly, that the
	// chosen threshold may reject (hand off); 0 means 0.01.
	MaxFalseRejection float64
	// TargetOOSRecall is the out-of-scope recall, on held-out out-of-scope examples, that the threshold aims for
	// when the training (or validation) data has such examples: the threshold is the lowest that reaches it, capped
	// by the false-rejection budget; 0 means 0.6, below 0 uses the budget alone.
	TargetOOSRecall float64
	// FixedThreshold, when above 0, is used as the out-of-scope threshold instead of one chosen by cross-validation.
	FixedThreshold float64
	// Validation, when it has examples, is used instead of cross-validation to calibrate and choose the threshold.
	Validation Dataset
	// Workers bounds the number of folds trained in parallel; 0 means GOMAXPROCS.
	Workers int
	// Embedder, when set, adds sentence embeddings as extra features (the optional second stage).
	Embedder Embedder
	// NBWeight is the weight of the multinomial naive Bayes scores added to the logistic regression's; 0 means
	// 0.25, below 0 turns naive Bayes off.
	NBWeight float64
	// NBSmoothing is the additive smoothing of the naive Bayes part; 0 means 0.005.
	NBSmoothing float64
	// EmbeddingWeight scales the unit-length embedding against the unit-length sparse features; 0 means 1.
	EmbeddingWeight float64
}

func (o Options) withDefaults(n int) Options {
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Epochs <= 0 {
		o.Epochs = 12
	}
	if o.L2 <= 0 {
		o.L2 = 2e-6
	}
	if o.LearningRate <= 0 {
		o.LearningRate = 2
	}
	if o.MinDF <= 0 {
		o.MinDF = 2
		if n < 5000 {
			o.MinDF = 1
		}
	}
	if o.MaxFalseRejection <= 0 {
		o.MaxFalseRejection = 0.01
	}
	if o.TargetOOSRecall == 0 {
		o.TargetOOSRecall = 0.6
	}
	if o.Folds == 0 {
		o.Folds = 5
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.NBWeight == 0 {
		o.NBWeight = 0.25
	}
	if o.NBSmoothing <= 0 {
		o.NBSmoothing = 0.005
	}
	if o.EmbeddingWeight <= 0 {
		o.EmbeddingWeight = 1
	}
	return o
}

// labelled is the training form of a data set: class indexes and counted feature hashes.
type labelled struct {
	texts []string
	y     []int32
	terms [][]termCount
	emb   [][]float32 // nil without an embedder
}

// Train fits a classifier to ds, calibrates its confidence and chooses the out-of-scope threshold.
func Train(ctx context.Context, ds Dataset, opts Options) (*Model, error) {
	if err := ds.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults(ds.Len())
	m := &Model{features: defaultFeatureConfig(), oos: -1, temperature: 1, embedWeight: opts.EmbeddingWeight}
	classIndex := map[string]int32{}
	for _, in := range ds.Intents {
		if len(in.Examples) == 0 {
			continue
		}
		classIndex[in.Name] = int32(len(m.classes))
		m.classes = append(m.classes, in.Name)
		m.skills = append(m.skills, in.Skill)
		m.thresholds = append(m.thresholds, in.Threshold)
	}
	if len(ds.OutOfScope) > 0 {
		m.oos = len(m.classes)
		classIndex[OutOfScope] = int32(m.oos)
		m.classes = append(m.classes, OutOfScope)
		m.skills = append(m.skills, "")
		m.thresholds = append(m.thresholds, 0)
	}
	if opts.Embedder != nil {
		m.embedder = opts.Embedder
		m.embedModel = opts.Embedder.Name()
	}
	data, err := m.prepare(ctx, ds.Examples(), classIndex)
	if err != nil {
		return nil, err
	}

	// The final fit does not depend on calibration, so it runs alongside it.
	type fitResult struct {
		lm  *linear
		err error
	}
	final := make(chan fitResult, 1)
	sem := make(chan struct{}, opts.Workers) // bounds the fits that run at once
	sem <- struct{}{}
	go func() {
		defer func() { <-sem }()
		lm, err := fit(ctx, data, all(len(data.y)), len(m.classes), opts, m.features, opts.Seed)
		final <- fitResult{lm, err}
	}()

	// Calibrate and choose the threshold on out-of-fold (or validation) scores.
	var cal *labelled
	var scores [][]float64
	switch {
	case opts.Validation.Len() > 0:
		cal, err = m.prepare(ctx, opts.Validation.Examples(), classIndex)
		if err != nil {
			return nil, err
		}
		res := <-final
		final <- res
		if res.err != nil {
			return nil, res.err
		}
		scores = make([][]float64, len(cal.y))
		for i := range cal.y {
			scores[i] = res.lm.logits(cal.terms[i], embOf(cal, i), m.embedWeight)
		}
	case opts.Folds > 1:
		cal = data
		scores, err = crossValidate(ctx, data, len(m.classes), opts, m.features, sem)
		if err != nil {
			return nil, err
		}
	}
	if cal != nil {
		m.temperature = fitTemperature(scores, cal.y)
		m.threshold = m.chooseThreshold(scores, cal.y, opts.MaxFalseRejection, opts.TargetOOSRecall)
	}
	if opts.FixedThreshold > 0 {
		m.threshold = opts.FixedThreshold
	}

	res := <-final
	if res.err != nil {
		return nil, res.err
	}
	m.lin = res.lm
	return m, nil
}

// prepare tokenises, hashes and (with an embedder) embeds the examples.
func (m *Model) prepare(ctx context.Context, ex []Example, classIndex map[string]int32) (*labelled, error) {
	d := &labelled{}
	for _, e := range ex {
		c, ok := classIndex[e.Intent]
		if IsOutOfScopeLabel(e.Intent) {
			c, ok = classIndex[OutOfScope]
			if !ok {
				c = -1 // out-of-scope example when the training set has none: only usable for calibration
				ok = true
			}
		}
		if !ok {
			continue // an intent unknown to the model (validation only)
		}
		d.texts = append(d.texts, e.Text)
		d.y = append(d.y, c)
		d.terms = append(d.terms, countHashes(m.features.hashes(nil, tokenize(e.Text))))
	}
	if m.embedder != nil {
		embs, err := m.embedder.Embed(ctx, d.texts)
		if err != nil {
			return nil, fmt.Errorf("intents: embed training data: %w", err)
		}
		if len(embs) != len(d.texts) {
			return nil, fmt.Errorf("intents: embedder returned %d vectors for %d texts", len(embs), len(d.texts))
		}
		for _, e := range embs {
			if m.embedDims == 0 {
				m.embedDims = len(e)
			}
			if len(e) != m.embedDims {
				return nil, fmt.Errorf("intents: embedder returned vectors of %d and %d dimensions", m.embedDims, len(e))
			}
		}
		d.emb = embs
	}
	return d, nil
}

func embOf(d *labelled, i int) []float32 {
	if d.emb == nil {
		return nil
	}
	return d.emb[i]
}

func all(n int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return idx
}

// crossValidate returns out-of-fold logits for every example, using stratified folds.
func crossValidate(ctx context.Context, d *labelled, k int, opts Options, fc featureConfig, sem chan struct{}) ([][]float64, error) {
	fold := stratifiedFolds(d.y, k, opts.Folds, opts.Seed)
	scores := make([][]float64, len(d.y))
	errs := make([]error, opts.Folds)
	var wg sync.WaitGroup
	for f := 0; f < opts.Folds; f++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			var train []int
			for i, c := range d.y {
				if fold[i] != f && c >= 0 {
					train = append(train, i)
				}
			}
			lm, err := fit(ctx, d, train, k, opts, fc, opts.Seed+uint64(f)+1)
			if err != nil {
				errs[f] = err
				return
			}
			for i := range d.y {
				if fold[i] == f {
					scores[i] = lm.logits(d.terms[i], embOf(d, i), opts.EmbeddingWeight)
				}
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return scores, nil
}

// stratifiedFolds assigns each example (class y[i] in -1..k-1, -1 for out-of-scope examples without a class) to
// one of folds folds: every class is shuffled with the seed and dealt round-robin, continuing across classes, so
// fold sizes differ by at most one and each class is spread evenly.
func stratifiedFolds(y []int32, k, folds int, seed uint64) []int {
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	byClass := map[int32][]int{}
	for i, c := range y {
		byClass[c] = append(byClass[c], i)
	}
	fold := make([]int, len(y))
	next := 0
	for c := int32(-1); c < int32(k); c++ {
		idx := byClass[c]
		rng.Shuffle(len(idx), func(a, b int) { idx[a], idx[b] = idx[b], idx[a] })
		for _, i := range idx {
			fold[i] = next % folds
			next++
		}
	}
	return fold
}

// linear is a fitted multinomial logistic regression over a vocabulary.
type linear struct {
	vocab map[uint64]int32
	idf   []float32
	dims  int       // sparse feature count; embedding features follow
	k     int       // classes
	w     []float32 // (dims+embedDims) x k, row-major by feature
	b     []float32

	cjkWeight float64 // featureConfig.CJKWeight, for vectorize

	// Training only: the naive Bayes log-probabilities over the same features (dims x k) and log priors.
	nbw []float32
	nbb []float32
}

// vector builds the feature vector of one utterance.
func (l *linear) vector(tc []termCount, emb []float32, embWeight float64) sparse {
	v := vectorize(tc, l.vocab, l.idf, l.cjkWeight)
	if len(emb) > 0 {
		var n float64
		for _, e := range emb {
			n += float64(e) * float64(e)
		}
		if n > 0 {
			s := embWeight / math.Sqrt(n)
			for j, e := range emb {
				v.idx = append(v.idx, int32(l.dims+j))
				v.val = append(v.val, float32(float64(e)*s))
			}
		}
	}
	return v
}

// logits returns the class scores of one utterance.
func (l *linear) logits(tc []termCount, emb []float32, embWeight float64) []float64 {
	x := l.vector(tc, emb, embWeight)
	z := make([]float64, l.k)
	l.score(x, z, 1)
	return z
}

func (l *linear) score(x sparse, z []float64, scale float64) {
	k := l.k
	for i := range z {
		z[i] = 0
	}
	for j, f := range x.idx {
		xv := float64(x.val[j])
		row := l.w[int(f)*k : int(f)*k+k]
		for c, w := range row {
			z[c] += float64(w) * xv
		}
	}
	for c := range z {
		z[c] = z[c]*scale + float64(l.b[c])
	}
}

// fit trains a multinomial logistic regression on the examples train of d by
// SGD with L2 weight decay (Bottou's scaled-weights trick keeps updates sparse).
func fit(ctx context.Context, d *labelled, train []int, k int, opts Options, fc featureConfig, seed uint64) (*linear, error) {
	// Vocabulary and IDF from the training examples only.
	df := map[uint64]int32{}
	for _, i := range train {
		for _, t := range d.terms[i] {
			df[t.hash]++
		}
	}
	hashes := make([]uint64, 0, len(df))
	for h, n := range df {
		if int(n) >= opts.MinDF {
			hashes = append(hashes, h)
		}
	}
	slices.Sort(hashes) // deterministic feature order
	l := &linear{vocab: make(map[uint64]int32, len(hashes)), idf: make([]float32, len(hashes)), dims: len(hashes), k: k, cjkWeight: fc.CJKWeight}
	n := float64(len(train))
	for j, h := range hashes {
		l.vocab[h] = int32(j)
		l.idf[j] = float32(math.Log((1+n)/(1+float64(df[h]))) + 1)
	}
	embDims := 0
	if d.emb != nil {
		embDims = len(d.emb[0])
	}
	l.w = make([]float32, (l.dims+embDims)*k)
	l.b = make([]float32, k)

	xs := make([]sparse, len(train))
	ys := make([]int32, len(train))
	for j, i := range train {
		xs[j] = l.vector(d.terms[i], embOf(d, i), opts.EmbeddingWeight)
		ys[j] = d.y[i]
	}

	rng := rand.New(rand.NewPCG(seed, 0xda3e39cb94b95bdb))
	order := all(len(xs))
	z := make([]float64, k)
	scale := 1.0
	eta0, lambda := opts.LearningRate, opts.L2
	t := 0
	for ep := 0; ep < opts.Epochs; ep++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("intents: train: %w", err)
		}
		rng.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
		for _, i := range order {
			eta := eta0 / (1 + eta0*lambda*float64(t))
			t++
			x := xs[i]
			l.score(x, z, scale)
			softmax(z)
			z[ys[i]]--
			scale *= 1 - eta*lambda
			if scale < 1e-4 {
				for j := range l.w {
					l.w[j] *= float32(scale)
				}
				scale = 1
			}
			s := eta / scale
			for j, f := range x.idx {
				xv := float64(x.val[j]) * s
				row := l.w[int(f)*k : int(f)*k+k]
				for c, g := range z {
					if g > 1e-6 || g < -1e-6 {
						row[c] -= float32(g * xv)
					}
				}
			}
			for c, g := range z {
				l.b[c] -= float32(eta * g)
			}
		}
	}
	for j := range l.w {
		l.w[j] *= float32(scale)
	}
	if opts.NBWeight > 0 {
		l.fitNB(xs, ys, opts.NBSmoothing)
		l.mergeNB(opts.NBWeight)
	}
	return l, nil
}

// fitNB fits a multinomial naive Bayes over the (TF-IDF weighted, normalised) sparse features.
func (l *linear) fitNB(xs []sparse, ys []int32, alpha float64) {
	k := l.k
	cnt := make([]float64, l.dims*k)
	tot := make([]float64, k)
	nc := make([]float64, k)
	for i, x := range xs {
		c := int(ys[i])
		nc[c]++
		for j, f := range x.idx {
			if int(f) >= l.dims {
				continue
			}
			cnt[int(f)*k+c] += float64(x.val[j])
			tot[c] += float64(x.val[j])
		}
	}
	l.nbw = make([]float32, l.dims*k)
	l.nbb = make([]float32, k)
	for c := 0; c < k; c++ {
		den := math.Log(tot[c] + alpha*float64(l.dims))
		for f := 0; f < l.dims; f++ {
			l.nbw[f*k+c] = float32(math.Log(cnt[f*k+c]+alpha) - den)
		}
		l.nbb[c] = float32(math.Log((nc[c] + 1) / (float64(len(xs)) + float64(k))))
	}
}

// mergeNB adds the naive Bayes scores, times weight, to the linear model (both are linear in the features).
func (l *linear) mergeNB(weight float64) {
	k := l.k
	for f := 0; f < l.dims; f++ {
		for c := 0; c < k; c++ {
			l.w[f*k+c] += float32(weight * float64(l.nbw[f*k+c]))
		}
	}
	for c := range l.b {
		l.b[c] += float32(weight * float64(l.nbb[c]))
	}
	l.nbw, l.nbb = nil, nil
}

// softmax turns scores into probabilities in place.
func softmax(z []float64) {
	mx := math.Inf(-1)
	for _, v := range z {
		mx = max(mx, v)
	}
	var s float64
	for i, v := range z {
		z[i] = math.Exp(v - mx)
		s += z[i]
	}
	for i := range z {
		z[i] /= s
	}
}

// fitTemperature finds the temperature that minimises the negative log-likelihood of the labelled scores.
func fitTemperature(scores [][]float64, y []int32) float64 {
	nll := func(logT float64) float64 {
		t := math.Exp(logT)
		p := make([]float64, 0, 256)
		var s float64
		for i, z := range scores {
			if y[i] < 0 || z == nil {
				continue
			}
			p = p[:0]
			for _, v := range z {
				p = append(p, v/t)
			}
			softmax(p)
			s -= math.Log(max(p[y[i]], 1e-12))
		}
		return s
	}
	// Golden-section search on log T in [log 0.02, log 50].
	a, b := math.Log(0.02), math.Log(50)
	g := (math.Sqrt(5) - 1) / 2
	c, d := b-g*(b-a), a+g*(b-a)
	fc, fd := nll(c), nll(d)
	for range 40 {
		if fc < fd {
			b, d, fd = d, c, fc
			c = b - g*(b-a)
			fc = nll(c)
		} else {
			a, c, fc = c, d, fd
			d = a + g*(b-a)
			fd = nll(d)
		}
	}
	return math.Exp((a + b) / 2)
}

// chooseThreshold picks the global out-of-scope threshold from calibrated held-out scores. The budget threshold
// is the highest that wrongly rejects at most maxReject of the held-out in-scope utterances the model would
// otherwise answer correctly. When the held-out scores include out-of-scope examples, the threshold is instead the
// lowest one at which the out-of-scope recall (the class and the threshold together) reaches targetRecall, but
// never above the budget threshold: a threshold beyond what the recall target needs only hands off more
// in-scope messages. Out-of-scope examples make the explicit out-of-scope class, which rejects on its own.
func (m *Model) chooseThreshold(scores [][]float64, y []int32, maxReject, targetRecall float64) float64 {
	var ps, oosConf []float64
	nOOS, oosByClass := 0, 0
	for i, z := range scores {
		if z == nil {
			continue
		}
		probs := m.calibrated(slices.Clone(z))
		best, p := m.bestInScope(probs)
		if y[i] < 0 || int(y[i]) == m.oos {
			nOOS++
			if m.oos >= 0 && probs[m.oos] > p {
				oosByClass++
			} else {
				oosConf = append(oosConf, p)
			}
			continue
		}
		if best != int(y[i]) || (m.oos >= 0 && probs[m.oos] > p) || m.thresholds[best] > 0 {
			continue // wrong, already rejected by the out-of-scope class, or governed by its own threshold
		}
		ps = append(ps, p)
	}
	if len(ps) == 0 {
		return 0
	}
	slices.Sort(ps)
	k := int(maxReject * float64(len(ps)))
	if k >= len(ps) {
		k = len(ps) - 1
	}
	// Round down to a 0.001 grid so the saved threshold reads well and stays below ps[k].
	th := math.Floor(ps[k]*1000) / 1000
	if nOOS == 0 || targetRecall <= 0 {
		return th
	}
	need := int(math.Ceil(targetRecall*float64(nOOS)-1e-9)) - oosByClass
	if need <= 0 {
		return 0
	}
	if need > len(oosConf) {
		return th
	}
	slices.Sort(oosConf)
	// Reject the need least confident out-of-scope examples: the threshold must exceed their confidence.
	return min(th, math.Floor(oosConf[need-1]*1000)/1000+0.001)
}

func newRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, 0x853c49e6748fea9b))
}
