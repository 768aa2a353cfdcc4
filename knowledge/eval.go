package knowledge

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"
)

// Query is one evaluation query with the ids of the entries that answer it.
type Query struct {
	// QID identifies the query.
	QID string `json:"qid"`
	// Query is the visitor's text.
	Query string `json:"query"`
	// Relevant lists the ids of the entries that answer the query.
	Relevant []string `json:"relevant"`
}

// ReadQueries reads evaluation queries from JSON lines {"qid","query","relevant":[ids]}.
func ReadQueries(r io.Reader, name string) ([]Query, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	var out []Query
	line := 0
	for sc.Scan() {
		line++
		b := strings.TrimSpace(sc.Text())
		if b == "" {
			continue
		}
		var q Query
		if err := json.Unmarshal([]byte(b), &q); err != nil {
			return nil, parseErr(name, line, "json: %v", err)
		}
		out = append(out, q)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("knowledge: read %s: %w", name, err)
	}
	return out, nil
}

// Report holds retrieval quality and latency figures for a set of queries.
type Report struct {
	// N is the number of queries.
	N int `json:"n"`
	// RecallAt1 is the share of queries with a relevant entry first.
	RecallAt1 float64 `json:"recall_at_1"`
	// RecallAt5 is the share of queries with a relevant entry in the top 5.
	RecallAt5 float64 `json:"recall_at_5"`
	// RecallAt10 is the share of queries with a relevant entry in the top 10.
	RecallAt10 float64 `json:"recall_at_10"`
	// MRRAt10 is the mean reciprocal rank of the first relevant entry (0 beyond 10).
	MRRAt10 float64 `json:"mrr_at_10"`
	// P50Ms is the median search latency in milliseconds.
	P50Ms float64 `json:"p50_ms"`
	// P99Ms is the 99th-percentile search latency in milliseconds.
	P99Ms float64 `json:"p99_ms"`
	// IndexSeconds is the time taken to load and index the knowledge base.
	IndexSeconds float64 `json:"index_seconds"`
	// Entries is the number of indexed entries.
	Entries int `json:"entries"`
	// ECE is the expected calibration error of the confidence (10 equal-width bins).
	ECE float64 `json:"ece"`
	// MeanConfidence is the average confidence of the first hit.
	MeanConfidence float64 `json:"mean_confidence"`
}

// Evaluate runs every query against s (one at a time) with k hits and computes the figures;
// IndexSeconds and Entries are left for the caller.
func Evaluate(ctx context.Context, s Searcher, queries []Query, k int) (Report, error) {
	if k < 10 {
		k = 10
	}
	var rep Report
	lat := make([]time.Duration, 0, len(queries))
	const bins = 10
	var binN, binConf, binAcc [bins]float64
	for _, q := range queries {
		if err := ctx.Err(); err != nil {
			return rep, fmt.Errorf("knowledge: evaluate: %w", err)
		}
		start := time.Now()
		res, err := s.Search(ctx, q.Query, k)
		lat = append(lat, time.Since(start))
		if err != nil {
			return rep, err
		}
		rank := 0
		for i, h := range res.Hits {
			if contains(q.Relevant, h.ID) {
				rank = i + 1
				break
			}
		}
		rep.N++
		if rank == 1 {
			rep.RecallAt1++
		}
		if rank >= 1 && rank <= 5 {
			rep.RecallAt5++
		}
		if rank >= 1 && rank <= 10 {
			rep.RecallAt10++
			rep.MRRAt10 += 1 / float64(rank)
		}
		b := min(int(res.Confidence*bins), bins-1)
		binN[b]++
		binConf[b] += res.Confidence
		if rank == 1 {
			binAcc[b]++
		}
		rep.MeanConfidence += res.Confidence
	}
	if rep.N == 0 {
		return rep, nil
	}
	n := float64(rep.N)
	rep.RecallAt1 /= n
	rep.RecallAt5 /= n
	rep.RecallAt10 /= n
	rep.MRRAt10 /= n
	rep.MeanConfidence /= n
	for b := range bins {
		if binN[b] > 0 {
			rep.ECE += binN[b] / n * math.Abs(binConf[b]/binN[b]-binAcc[b]/binN[b])
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	rep.P50Ms = ms(percentile(lat, 0.50))
	rep.P99Ms = ms(percentile(lat, 0.99))
	return rep, nil
}

func ms(d time.Duration) float64 { return math.Round(float64(d.Microseconds())) / 1000 }

// percentile returns the p-quantile of sorted durations (nearest rank).
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}
