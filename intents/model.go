package intents

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
)

// Scored is an intent with its calibrated probability.
type Scored struct {
	Intent string  `json:"intent"`
	Prob   float64 `json:"prob"`
}

// Prediction is the classifier's answer for one utterance.
type Prediction struct {
	// Intent is the predicted intent, or OutOfScope ("oos") when the utterance belongs to no intent.
	Intent string `json:"intent"`
	// Confidence is the calibrated probability of the best in-scope intent (Top[0]).
	Confidence float64 `json:"confidence"`
	// Margin is the probability of the best in-scope intent minus that of the second; a small margin means ambiguity.
	Margin float64 `json:"margin"`
	// OutOfScope is true when the explicit out-of-scope class wins or Confidence is below the intent's threshold.
	OutOfScope bool `json:"out_of_scope"`
	// Skill is the skill group of the predicted intent; empty when out of scope.
	Skill string `json:"skill,omitempty"`
	// Top lists the best in-scope intents, most probable first, even when the utterance is out of scope.
	Top []Scored `json:"top"`
}

// topN is the length of Prediction.Top.
const topN = 5

// Model is a trained intent classifier; it is safe for concurrent use.
type Model struct {
	features    featureConfig
	classes     []string  // intent names; the out-of-scope class, if any, at index oos
	skills      []string  // skill group per class
	thresholds  []float64 // per-intent threshold, 0 for the global one
	oos         int       // index of the explicit out-of-scope class, -1 without
	threshold   float64   // global out-of-scope threshold on Confidence
	temperature float64   // divides the logits before the softmax (calibration)
	lin         *linear

	embedder    Embedder // runtime only, not saved
	embedModel  string
	embedDims   int
	embedWeight float64
}

// Intents returns the names of the in-scope intents the model knows, in training order.
func (m *Model) Intents() []string {
	var out []string
	for i, c := range m.classes {
		if i != m.oos {
			out = append(out, c)
		}
	}
	return out
}

// Skill returns the skill group of an intent, or "" when the intent is unknown or has none.
func (m *Model) Skill(intent string) string {
	if i := slices.Index(m.classes, intent); i >= 0 {
		return m.skills[i]
	}
	return ""
}

// Threshold returns the global out-of-scope threshold chosen at training time.
func (m *Model) Threshold() float64 { return m.threshold }

// SetThreshold overrides the global out-of-scope threshold (per-intent thresholds from the data still win); it is
// not safe to call concurrently with Predict.
func (m *Model) SetThreshold(t float64) { m.threshold = t }

// Temperature returns the calibration temperature fitted at training time.
func (m *Model) Temperature() float64 { return m.temperature }

// Features returns the number of sparse features (vocabulary size) of the model.
func (m *Model) Features() int { return m.lin.dims }

// SetEmbedder attaches the embedder of the optional second stage to a loaded model that was trained with one.
func (m *Model) SetEmbedder(e Embedder) error {
	if m.embedModel == "" {
		return errors.New("intents: model was trained without embeddings")
	}
	if e.Name() != m.embedModel {
		return fmt.Errorf("intents: model was trained with embeddings %q, not %q", m.embedModel, e.Name())
	}
	m.embedder = e
	return nil
}

// Predict classifies one utterance; for a model trained with embeddings it calls the embedder with a background
// context and, if that fails, classifies on the sparse features alone (use PredictContext to see the error).
func (m *Model) Predict(text string) Prediction {
	p, err := m.PredictContext(context.Background(), text)
	if err != nil {
		return m.predict(text, nil)
	}
	return p
}

// PredictContext classifies one utterance, calling the embedder (if the model uses one) with ctx.
func (m *Model) PredictContext(ctx context.Context, text string) (Prediction, error) {
	var emb []float32
	if m.embedModel != "" {
		if m.embedder == nil {
			return Prediction{}, errors.New("intents: model needs an embedder (SetEmbedder)")
		}
		v, err := m.embedder.Embed(ctx, []string{text})
		if err != nil {
			return Prediction{}, fmt.Errorf("intents: embed: %w", err)
		}
		if len(v) != 1 || len(v[0]) != m.embedDims {
			return Prediction{}, fmt.Errorf("intents: embedder returned the wrong shape (want 1 x %d)", m.embedDims)
		}
		emb = v[0]
	}
	return m.predict(text, emb), nil
}

func (m *Model) predict(text string, emb []float32) Prediction {
	tc := countHashes(m.features.hashes(make([]uint64, 0, 4*len(text)+8), tokenize(text)))
	z := m.lin.logits(tc, emb, m.embedWeight)
	probs := m.calibrated(z)
	return m.decide(probs)
}

// calibrated turns logits into temperature-scaled probabilities (in place).
func (m *Model) calibrated(z []float64) []float64 {
	t := m.temperature
	if t <= 0 {
		t = 1
	}
	for i := range z {
		z[i] /= t
	}
	softmax(z)
	return z
}

// bestInScope returns the most probable in-scope class and its probability.
func (m *Model) bestInScope(probs []float64) (int, float64) {
	best, bp := -1, -1.0
	for i, p := range probs {
		if i != m.oos && p > bp {
			best, bp = i, p
		}
	}
	return best, bp
}

func (m *Model) decide(probs []float64) Prediction {
	idx := make([]int, 0, len(probs))
	for i := range probs {
		if i != m.oos {
			idx = append(idx, i)
		}
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case probs[a] > probs[b]:
			return -1
		case probs[a] < probs[b]:
			return 1
		}
		return 0
	})
	n := min(topN, len(idx))
	p := Prediction{Top: make([]Scored, n)}
	for i := 0; i < n; i++ {
		p.Top[i] = Scored{Intent: m.classes[idx[i]], Prob: probs[idx[i]]}
	}
	best := idx[0]
	p.Confidence = probs[best]
	if len(idx) > 1 {
		p.Margin = probs[best] - probs[idx[1]]
	} else {
		p.Margin = p.Confidence
	}
	th := m.threshold
	if m.thresholds[best] > 0 {
		th = m.thresholds[best]
	}
	p.OutOfScope = p.Confidence < th || (m.oos >= 0 && probs[m.oos] > p.Confidence)
	if p.OutOfScope {
		p.Intent = OutOfScope
	} else {
		p.Intent = m.classes[best]
		p.Skill = m.skills[best]
	}
	return p
}

// modelFile is the saved form of a Model.
type modelFile struct {
	Format      string
	Features    featureConfig
	Classes     []string
	Skills      []string
	Thresholds  []float64
	OOS         int
	Threshold   float64
	Temperature float64
	Hashes      []uint64 // vocabulary, in feature order
	IDF         []float32
	Dims        int
	W           []float32
	B           []float32
	EmbedModel  string
	EmbedDims   int
	EmbedWeight float64
}

const modelFormat = "frontdesk-intents/1"

// Save writes the model (gzip-compressed gob) to w.
func (m *Model) Save(w io.Writer) error {
	hashes := make([]uint64, m.lin.dims)
	for h, j := range m.lin.vocab {
		hashes[j] = h
	}
	f := modelFile{Format: modelFormat, Features: m.features, Classes: m.classes, Skills: m.skills,
		Thresholds: m.thresholds, OOS: m.oos, Threshold: m.threshold, Temperature: m.temperature,
		Hashes: hashes, IDF: m.lin.idf, Dims: m.lin.dims, W: m.lin.w, B: m.lin.b,
		EmbedModel: m.embedModel, EmbedDims: m.embedDims, EmbedWeight: m.embedWeight}
	zw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return fmt.Errorf("intents: save: %w", err)
	}
	if err := gob.NewEncoder(zw).Encode(&f); err != nil {
		return fmt.Errorf("intents: save: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("intents: save: %w", err)
	}
	return nil
}

// Load reads a model written by Save.
func Load(r io.Reader) (*Model, error) {
	zr, err := gzip.NewReader(bufio.NewReader(r))
	if err != nil {
		return nil, fmt.Errorf("intents: load: %w", err)
	}
	var f modelFile
	if err := gob.NewDecoder(zr).Decode(&f); err != nil {
		return nil, fmt.Errorf("intents: load: %w", err)
	}
	if f.Format != modelFormat {
		return nil, fmt.Errorf("intents: load: unknown model format %q", f.Format)
	}
	k := len(f.Classes)
	if k == 0 || len(f.Skills) != k || len(f.Thresholds) != k || len(f.B) != k || len(f.Hashes) != f.Dims ||
		len(f.IDF) != f.Dims || len(f.W) != (f.Dims+f.EmbedDims)*k || f.OOS < -1 || f.OOS >= k ||
		math.IsNaN(f.Temperature) {
		return nil, errors.New("intents: load: inconsistent model file")
	}
	l := &linear{vocab: make(map[uint64]int32, f.Dims), idf: f.IDF, dims: f.Dims, k: k, w: f.W, b: f.B,
		cjkWeight: f.Features.CJKWeight}
	for j, h := range f.Hashes {
		l.vocab[h] = int32(j)
	}
	return &Model{features: f.Features, classes: f.Classes, skills: f.Skills, thresholds: f.Thresholds, oos: f.OOS,
		threshold: f.Threshold, temperature: f.Temperature, lin: l, embedModel: f.EmbedModel, embedDims: f.EmbedDims,
		embedWeight: f.EmbedWeight}, nil
}

// SaveFile writes the model to a file.
func (m *Model) SaveFile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("intents: %w", err)
	}
	bw := bufio.NewWriter(f)
	if err := m.Save(bw); err != nil {
		f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("intents: save %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("intents: save %s: %w", path, err)
	}
	return nil
}

// LoadFile reads a model file written by SaveFile.
func LoadFile(path string) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("intents: %w", err)
	}
	defer f.Close()
	return Load(f)
}
