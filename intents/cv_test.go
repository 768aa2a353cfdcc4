package intents

import (
	"context"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestStratifiedFolds checks that the cross-validation folds spread every class evenly and are reproducible.
func TestStratifiedFolds(t *testing.T) {
	var y []int32
	for c, n := range []int{3, 10, 7, 1} {
		for range n {
			y = append(y, int32(c)-1) // class -1: out-of-scope examples without a class
		}
	}
	const folds = 5
	fold := stratifiedFolds(y, 3, folds, 1)
	if again := stratifiedFolds(y, 3, folds, 1); !slices.Equal(fold, again) {
		t.Fatalf("stratifiedFolds(seed 1) = %v, then %v, want the same", fold, again)
	}
	size := make([]int, folds)
	perClass := map[int32][]int{}
	for i, f := range fold {
		if f < 0 || f >= folds {
			t.Fatalf("stratifiedFolds: example %d in fold %d, want 0..%d", i, f, folds-1)
		}
		size[f]++
		if perClass[y[i]] == nil {
			perClass[y[i]] = make([]int, folds)
		}
		perClass[y[i]][f]++
	}
	if lo, hi := slices.Min(size), slices.Max(size); hi-lo > 1 {
		t.Errorf("stratifiedFolds: fold sizes %v, want within 1 of each other", size)
	}
	for c, counts := range perClass {
		if lo, hi := slices.Min(counts), slices.Max(counts); hi-lo > 1 {
			t.Errorf("stratifiedFolds: class %d spread %v over the folds, want within 1 of each other", c, counts)
		}
	}
	if slices.Equal(fold, stratifiedFolds(y, 3, folds, 2)) {
		t.Errorf("stratifiedFolds gave the same folds for seeds 1 and 2, want a different shuffle")
	}
}

// cvTop1 returns the top-1 accuracy of out-of-fold scores (out-of-scope class ignored).
func cvTop1(scores [][]float64, y []int32, oos int) float64 {
	ok, n := 0, 0
	for i, z := range scores {
		if y[i] < 0 || int(y[i]) == oos {
			continue
		}
		best := -1
		for c, v := range z {
			if c != oos && (best < 0 || v > z[best]) {
				best = c
			}
		}
		n++
		if best == int(y[i]) {
			ok++
		}
	}
	return float64(ok) / float64(n)
}

// scorer fits on the training indexes of d and returns out-of-fold scores for the others.
type scorer func(ctx context.Context, d *labelled, train []int, k int, seed uint64) (func(i int) []float64, error)

func runCV(ctx context.Context, d *labelled, k, oos int, seed uint64, fit scorer) (float64, error) {
	const folds = 5
	fold := stratifiedFolds(d.y, k, folds, seed)
	scores := make([][]float64, len(d.y))
	for f := 0; f < folds; f++ {
		var train []int
		for i, c := range d.y {
			if fold[i] != f && c >= 0 {
				train = append(train, i)
			}
		}
		sc, err := fit(ctx, d, train, k, seed+uint64(f)+1)
		if err != nil {
			return 0, err
		}
		for i := range d.y {
			if fold[i] == f {
				scores[i] = sc(i)
			}
		}
	}
	return cvTop1(scores, d.y, oos), nil
}

// TestCVExperiment runs stratified 5-fold cross-validation on the training file in INTENTS_CV_TRAIN, for the
// seeds in INTENTS_CV_SEEDS (default 1,2,3), for the default model and the experimental variants named in
// INTENTS_CV_VARIANTS. It is for choosing settings on training data only.
func TestCVExperiment(t *testing.T) {
	path := os.Getenv("INTENTS_CV_TRAIN")
	if path == "" {
		t.Skip("set INTENTS_CV_TRAIN to a training file")
	}
	ctx := context.Background()
	ds, err := ReadFile(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	seeds := []uint64{1, 2, 3}
	if s := os.Getenv("INTENTS_CV_SEEDS"); s != "" {
		seeds = nil
		for _, f := range strings.Split(s, ",") {
			n, _ := strconv.ParseUint(f, 10, 64)
			seeds = append(seeds, n)
		}
	}
	names := []string{"base"}
	if s := os.Getenv("INTENTS_CV_VARIANTS"); s != "" {
		names = append(names, strings.Split(s, ",")...)
	}
	for _, name := range names {
		v, ok := cvVariants[strings.SplitN(name, ":", 2)[0]]
		if !ok {
			t.Fatalf("unknown variant %q", name)
		}
		arg := ""
		if i := strings.Index(name, ":"); i >= 0 {
			arg = name[i+1:]
		}
		fc, opts, sc := v(arg)
		opts = opts.withDefaults(ds.Len())
		m := &Model{features: fc, oos: -1}
		classIndex := map[string]int32{}
		for _, in := range ds.Intents {
			classIndex[in.Name] = int32(len(m.classes))
			m.classes = append(m.classes, in.Name)
		}
		if len(ds.OutOfScope) > 0 {
			m.oos = len(m.classes)
			classIndex[OutOfScope] = int32(m.oos)
			m.classes = append(m.classes, OutOfScope)
		}
		d, err := m.prepare(ctx, ds.Examples(), classIndex)
		if err != nil {
			t.Fatal(err)
		}
		if sc == nil {
			sc = linearScorer(opts, fc)
		}
		var sum float64
		var accs []string
		for _, s := range seeds {
			acc, err := runCV(ctx, d, len(m.classes), m.oos, s, sc)
			if err != nil {
				t.Fatal(err)
			}
			sum += acc
			accs = append(accs, strconv.FormatFloat(100*acc, 'f', 2, 64))
		}
		t.Logf("%-28s mean %.2f%%  seeds %s", name, 100*sum/float64(len(seeds)), strings.Join(accs, " "))
	}
}

func linearScorer(opts Options, fc featureConfig) scorer {
	return func(ctx context.Context, d *labelled, train []int, k int, seed uint64) (func(int) []float64, error) {
		lm, err := fit(ctx, d, train, k, opts, fc, seed)
		if err != nil {
			return nil, err
		}
		return func(i int) []float64 { return lm.logits(d.terms[i], embOf(d, i), opts.EmbeddingWeight) }, nil
	}
}

func atof(s string, def float64) float64 {
	if s == "" {
		return def
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return def
	}
	return v
}

type cvVariant func(arg string) (featureConfig, Options, scorer)

var cvVariants = map[string]cvVariant{
	"base": func(string) (featureConfig, Options, scorer) { return defaultFeatureConfig(), Options{}, nil },
	"cjkw": func(a string) (featureConfig, Options, scorer) {
		fc := defaultFeatureConfig()
		fc.CJKWeight = atof(a, 0.4)
		return fc, Options{}, nil
	},
	"nb": func(a string) (featureConfig, Options, scorer) {
		return defaultFeatureConfig(), Options{NBWeight: atof(a, 0.25)}, nil
	},
	"epochs": func(a string) (featureConfig, Options, scorer) {
		return defaultFeatureConfig(), Options{Epochs: int(atof(a, 12))}, nil
	},
	"lr": func(a string) (featureConfig, Options, scorer) {
		return defaultFeatureConfig(), Options{LearningRate: atof(a, 2)}, nil
	},
}
