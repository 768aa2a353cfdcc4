package intents

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Metrics are the evaluation figures of a model on a labelled data set.
type Metrics struct {
	N               int     `json:"n"`
	InScope         int     `json:"n_in_scope"`
	OutOfScope      int     `json:"n_oos"`
	Accuracy        float64 `json:"accuracy"`          // over all examples, out-of-scope ones counted right when rejected
	InScopeAccuracy float64 `json:"in_scope_accuracy"` // in-scope examples given their intent (a rejection is an error)
	Top1Accuracy    float64 `json:"top1_accuracy"`     // in-scope examples whose best in-scope intent is right, ignoring rejection
	OOSRecall       float64 `json:"oos_recall"`        // out-of-scope examples rejected
	OOSPrecision    float64 `json:"oos_precision"`     // rejections that were out-of-scope examples
	InScopeRejected float64 `json:"in_scope_rejected"` // in-scope examples wrongly rejected
	MacroF1         float64 `json:"macro_f1"`          // mean F1 over the gold labels (out-of-scope counts as one label)
	Threshold       float64 `json:"threshold"`
	P50Micros       float64 `json:"p50_us"`
	P99Micros       float64 `json:"p99_us"`
}

// Evaluate classifies every example of ds with m and computes the metrics, including per-message latency.
func Evaluate(ctx context.Context, m *Model, ds Dataset) (Metrics, error) {
	ex := ds.Examples()
	var r Metrics
	r.Threshold = m.threshold
	tp, fp, fn := map[string]int{}, map[string]int{}, map[string]int{}
	gold := map[string]bool{}
	lat := make([]time.Duration, 0, len(ex))
	inOK, top1, oosOK, rejected, rejectedIn := 0, 0, 0, 0, 0
	for i, e := range ex {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return Metrics{}, fmt.Errorf("intents: evaluate: %w", err)
			}
		}
		start := time.Now()
		p, err := m.PredictContext(ctx, e.Text)
		lat = append(lat, time.Since(start))
		if err != nil {
			return Metrics{}, err
		}
		label := e.Intent
		if IsOutOfScopeLabel(label) {
			label = OutOfScope
			r.OutOfScope++
		} else {
			r.InScope++
			if len(p.Top) > 0 && p.Top[0].Intent == label {
				top1++
			}
		}
		gold[label] = true
		if p.OutOfScope {
			rejected++
		}
		switch {
		case p.Intent == label && label == OutOfScope:
			oosOK++
			tp[label]++
		case p.Intent == label:
			inOK++
			tp[label]++
		default:
			fp[p.Intent]++
			fn[label]++
			if label != OutOfScope && p.OutOfScope {
				rejectedIn++
			}
		}
	}
	r.N = len(ex)
	r.Accuracy = ratio(inOK+oosOK, r.N)
	r.InScopeAccuracy = ratio(inOK, r.InScope)
	r.Top1Accuracy = ratio(top1, r.InScope)
	r.OOSRecall = ratio(oosOK, r.OutOfScope)
	r.OOSPrecision = ratio(oosOK, rejected)
	r.InScopeRejected = ratio(rejectedIn, r.InScope)
	var f1 float64
	for l := range gold {
		p := ratio(tp[l], tp[l]+fp[l])
		rc := ratio(tp[l], tp[l]+fn[l])
		if p+rc > 0 {
			f1 += 2 * p * rc / (p + rc)
		}
	}
	r.MacroF1 = ratio1(f1, len(gold))
	slices.Sort(lat)
	if len(lat) > 0 {
		r.P50Micros = float64(lat[len(lat)/2].Nanoseconds()) / 1e3
		r.P99Micros = float64(lat[min(len(lat)-1, len(lat)*99/100)].Nanoseconds()) / 1e3
	}
	return r, nil
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func ratio1(a float64, b int) float64 {
	if b == 0 {
		return 0
	}
	return a / float64(b)
}

// StratifiedSplit splits a data set into two parts, holding out about frac of every intent (and of the
// out-of-scope examples) in the second part, reproducibly for a given seed.
func StratifiedSplit(ds Dataset, frac float64, seed uint64) (train, held Dataset) {
	rngSplit := newRand(seed)
	pick := func(ex []string) (a, b []string) {
		idx := all(len(ex))
		rngSplit.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		nh := int(float64(len(ex))*frac + 0.5)
		if nh >= len(ex) && len(ex) > 1 {
			nh = len(ex) - 1
		}
		hold := map[int]bool{}
		for _, i := range idx[:nh] {
			hold[i] = true
		}
		for i, e := range ex {
			if hold[i] {
				b = append(b, e)
			} else {
				a = append(a, e)
			}
		}
		return a, b
	}
	for _, in := range ds.Intents {
		a, b := pick(in.Examples)
		ta, tb := in, in
		ta.Examples, tb.Examples = a, b
		train.Intents = append(train.Intents, ta)
		if len(b) > 0 {
			held.Intents = append(held.Intents, tb)
		}
	}
	train.OutOfScope, held.OutOfScope = pick(ds.OutOfScope)
	return train, held
}
