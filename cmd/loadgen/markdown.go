package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// runReport prints the results of `run --json-out` as Markdown tables: the
// figures of every phase and each target of docs/benchmarks.md, met or not.
func runReport(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("results", "", "JSON lines written by run --json-out")
	if err := fs.Parse(args); err != nil {
		return err
	}
	f, err := os.Open(*file)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	defer f.Close()
	var results []Result
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r Result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return fmt.Errorf("report: %w", err)
		}
		results = append(results, r)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	writeMarkdown(stdout, results)
	return nil
}

// goal is one acceptance target and whether a run met it.
type goal struct {
	scenario, want, got string
	met                 bool
}

// targets checks the acceptance targets of issue 10 against results.
func goals(results []Result) []goal {
	var out []goal
	for _, r := range results {
		p50 := r.phaseAt("open 50%")
		p99 := func() (float64, bool) {
			if p50 == nil || p50.Latency == nil {
				return 0, false
			}
			return p50.Latency.P99, true
		}
		switch r.Scenario {
		case "relay":
			out = append(out, goal{"relay", ">= 0.20 x echo", fmt.Sprintf("%.3f x (%.0f/s)", r.RatioToEcho, r.Rate), r.RatioToEcho >= 0.20})
			v, ok := p99()
			out = append(out, goal{"relay", "p99 < 25 ms at 50% load", fmt.Sprintf("%.1f ms", v), ok && v < 25})
		case "bot":
			out = append(out, goal{"bot", ">= 1,000 answers/s", fmt.Sprintf("%.0f/s", r.Rate), r.Rate >= 1000})
			v, ok := p99()
			out = append(out, goal{"bot", "p99 < 50 ms at 50% load", fmt.Sprintf("%.1f ms", v), ok && v < 50})
		case "idle":
			kb, _ := r.Extra["rss_per_conn_kb"].(float64)
			n, _ := r.Params["conns"].(float64)
			back, _ := r.Extra["back_to_baseline"].(bool)
			out = append(out, goal{"idle", "<= 20 KB RSS per connection at 10,000", fmt.Sprintf("%.1f KB at %.0f", kb, n), kb > 0 && kb <= 20 && n >= 10000})
			out = append(out, goal{"idle", "goroutines back to baseline", fmt.Sprintf("%v (%v -> %v)", back, r.Extra["goroutines_base"], r.Extra["goroutines_after_close"]), back})
		case "handshake":
			out = append(out, goal{"handshake", ">= 500/s, 0 failures", fmt.Sprintf("%.0f/s, %d failures", r.Rate, r.Errors), r.Rate >= 500 && r.Errors == 0})
		}
	}
	return out
}

func writeMarkdown(w io.Writer, results []Result) {
	fmt.Fprintln(w, "| scenario | phase | rate/s | ratio to echo | p50 ms | p99 ms | p999 ms | CPU us/op (server / loadgen) | errors | lost |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|")
	cell := func(l *Latency, f func(*Latency) float64) string {
		if l == nil {
			return "-"
		}
		return fmt.Sprintf("%.2f", f(l))
	}
	row := func(scn, phase string, rate float64, unit, ratio string, l *Latency, cpu *CPUCost, errs, lost int64) {
		fmt.Fprintf(w, "| %s | %s | %.1f %s | %s | %s | %s | %s | %s | %d | %d |\n", scn, phase, rate, unit, ratio,
			cell(l, func(l *Latency) float64 { return l.P50 }), cell(l, func(l *Latency) float64 { return l.P99 }),
			cell(l, func(l *Latency) float64 { return l.P999 }), cpu.cell(), errs, lost)
	}
	for _, r := range results {
		if len(r.Phases) == 0 {
			row(r.Scenario, "-", r.Rate, r.Unit, ratioCell(r, 0), r.Latency, r.CPU, r.Errors, 0)
		}
		for i, p := range r.Phases {
			name := p.Name
			if p.Target > 0 {
				name = fmt.Sprintf("%s (offered %.0f/s)", p.Name, p.Target)
			}
			row(r.Scenario, name, p.Rate, r.Unit, ratioCell(r, i), p.Latency, p.CPU, p.Errors, p.Lost)
		}
	}
	for _, r := range results {
		if r.Scenario == "idle" && len(r.Extra) > 0 {
			b, _ := json.Marshal(r.Extra)
			fmt.Fprintf(w, "\nidle figures (server, after a GC and returning free memory to the OS): `%s`\n", b)
		}
		if len(r.Notes) > 0 {
			fmt.Fprintf(w, "\n%s notes: %s\n", r.Scenario, strings.Join(r.Notes, "; "))
		}
	}
	fmt.Fprintln(w, "\n| target | wanted | measured | met |\n|---|---|---|---|")
	for _, t := range goals(results) {
		met := "**missed**"
		if t.met {
			met = "yes"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", t.scenario, t.want, t.got, met)
	}
}
