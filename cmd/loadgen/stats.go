package main

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"time"
)

// maxSamples bounds the memory of one recorder (8 bytes a sample).
const maxSamples = 4 << 20

// recorder collects latency samples from many goroutines.
type recorder struct {
	mu      sync.Mutex
	samples []time.Duration
	dropped int64
}

func (r *recorder) add(d time.Duration) {
	r.mu.Lock()
	if len(r.samples) < maxSamples {
		r.samples = append(r.samples, d)
	} else {
		r.dropped++
	}
	r.mu.Unlock()
}

// Latency summarises samples in milliseconds.
type Latency struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p999_ms"`
	Max   float64 `json:"max_ms"`
}

func (r *recorder) summary() *Latency {
	r.mu.Lock()
	s := slices.Clone(r.samples)
	r.mu.Unlock()
	if len(s) == 0 {
		return nil
	}
	slices.Sort(s)
	ms := func(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }
	return &Latency{Count: len(s), P50: ms(percentile(s, 0.50)), P99: ms(percentile(s, 0.99)), P999: ms(percentile(s, 0.999)), Max: ms(s[len(s)-1])}
}

// percentile returns the nearest-rank percentile q (0 < q <= 1) of sorted
// samples: the smallest sample with at least q of all samples at or below it.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(q * float64(len(sorted))))
	if rank < 1 {
		rank = 1
	}
	if rank > len(sorted) {
		rank = len(sorted)
	}
	return sorted[rank-1]
}

// Phase is one measured load level of a scenario.
type Phase struct {
	Name string `json:"name"`
	// Target is the offered rate per second (0 for a closed loop).
	Target  float64  `json:"target_per_s,omitempty"`
	Rate    float64  `json:"rate_per_s"`
	Latency *Latency `json:"latency,omitempty"`
	// Lost counts requests that got no answer before the phase's drain ended.
	Lost int64 `json:"lost,omitempty"`
	// HandedOff counts bot questions sent into a conversation the bot had
	// just handed to a person (so no bot answer comes); not lost.
	HandedOff int64 `json:"handed_off,omitempty"`
	Errors    int64 `json:"errors,omitempty"`
	// RatioToEcho is Rate over the echo reference measured just before this
	// phase (relay rounds); 0 when the phase had none of its own.
	RatioToEcho float64 `json:"ratio_to_echo,omitempty"`
	// CPU is the CPU time per operation during the phase.
	CPU *CPUCost `json:"cpu_us_per_op,omitempty"`
}

// ratioCell is the ratio to print in phase i's row: the phase's own, or the
// result's in its first row.
func ratioCell(r Result, i int) string {
	switch {
	case i < len(r.Phases) && r.Phases[i].RatioToEcho > 0:
		return fmt.Sprintf("%.3f", r.Phases[i].RatioToEcho)
	case i == 0 && r.RatioToEcho > 0:
		return fmt.Sprintf("%.3f", r.RatioToEcho)
	}
	return "-"
}

// Result is one scenario's figures, printed as one JSON object.
type Result struct {
	Scenario string `json:"scenario"`
	// Unit names what Rate counts per second.
	Unit string  `json:"unit"`
	Rate float64 `json:"rate_per_s"`
	// RatioToEcho is Rate divided by the echo reference of the same run.
	RatioToEcho float64  `json:"ratio_to_echo,omitempty"`
	Latency     *Latency `json:"latency,omitempty"`
	// CPU is the CPU time per operation, for scenarios without phases.
	CPU    *CPUCost       `json:"cpu_us_per_op,omitempty"`
	Phases []Phase        `json:"phases,omitempty"`
	Errors int64          `json:"errors"`
	Params map[string]any `json:"params"`
	Extra  map[string]any `json:"extra,omitempty"`
	Notes  []string       `json:"notes,omitempty"`
}

// phaseAt returns the phase with the given name, or nil.
func (r *Result) phaseAt(name string) *Phase {
	for i := range r.Phases {
		if r.Phases[i].Name == name {
			return &r.Phases[i]
		}
	}
	return nil
}

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}
