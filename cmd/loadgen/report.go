package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

// scenarioOrder is the order of `all`: the reference first, idle last (it
// leaves the most visitors behind).
var scenarioOrder = []string{"echo", "bot", "relay", "handshake", "idle"}

// runScenarios runs the named scenarios and prints one JSON object per
// scenario, then a table.
func runScenarios(ctx context.Context, args []string, stdout, stderr io.Writer, log *slog.Logger) error {
	o, names, err := parseOptions(args, stderr)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		return fmt.Errorf("name at least one scenario: %s or all", strings.Join(scenarioOrder, ", "))
	}
	want := map[string]bool{}
	for _, n := range names {
		if n == "all" {
			for _, s := range scenarioOrder {
				want[s] = true
			}
			continue
		}
		known := false
		for _, s := range scenarioOrder {
			known = known || s == n
		}
		if !known {
			return fmt.Errorf("unknown scenario %q (want %s or all)", n, strings.Join(scenarioOrder, ", "))
		}
		want[n] = true
	}
	t, err := newTarget(o.Server)
	if err != nil {
		return err
	}
	prof := profiler{debug: o.Debug, dir: o.ProfileDir}
	var results []Result
	var echoRate float64
	if want["echo"] || want["bot"] || want["relay"] {
		// The reference is needed for every ratio.
		log.Info("scenario", slog.String("name", "echo"))
		r, err := measureEcho(ctx, o)
		if err != nil {
			return err
		}
		echoRate = r.Rate
		results = append(results, r)
	}
	for _, name := range scenarioOrder[1:] {
		if !want[name] || ctx.Err() != nil {
			continue
		}
		log.Info("scenario", slog.String("name", name))
		start := time.Now()
		var r Result
		switch name {
		case "bot":
			r, err = runBot(ctx, o, t, prof)
		case "relay":
			r, err = runRelay(ctx, o, t, prof, func(ctx context.Context) (float64, error) {
				e, err := measureEcho(ctx, o)
				return e.Rate, err
			})
		case "handshake":
			r, err = runHandshake(ctx, o, t)
		case "idle":
			r, err = runIdle(ctx, o, t, prof)
		}
		if err != nil {
			log.Error("scenario failed", slog.String("name", name), slog.Any("err", err))
			r.Notes = append(r.Notes, "failed: "+err.Error())
			r.Scenario = name
		}
		if (name == "bot" || name == "relay") && echoRate > 0 && r.RatioToEcho == 0 {
			r.RatioToEcho = round(r.Rate/echoRate, 4)
		}
		log.Info("scenario done", slog.String("name", name), slog.Duration("took", time.Since(start).Round(time.Millisecond)))
		results = append(results, r)
	}
	var jsonFile io.Writer
	if o.JSONOut != "" {
		f, err := os.Create(o.JSONOut)
		if err != nil {
			return fmt.Errorf("--json-out: %w", err)
		}
		defer f.Close()
		jsonFile = f
	}
	for _, r := range results {
		b, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("encode result: %w", err)
		}
		fmt.Fprintln(stdout, string(b))
		if jsonFile != nil {
			fmt.Fprintln(jsonFile, string(b))
		}
	}
	fmt.Fprintln(stdout)
	writeTable(stdout, results)
	return nil
}

func fmtLat(l *Latency) string {
	if l == nil {
		return "-"
	}
	return fmt.Sprintf("%.2f / %.2f / %.2f", l.P50, l.P99, l.P999)
}

// writeTable prints the results for people.
func writeTable(w io.Writer, results []Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tphase\trate/s\tratio to echo\tlatency p50 / p99 / p999 ms\tCPU us/op server / loadgen\terrors\tlost\tnotes")
	for _, r := range results {
		notes := strings.Join(r.Notes, "; ")
		if len(r.Phases) == 0 {
			fmt.Fprintf(tw, "%s\t-\t%.1f %s\t%s\t%s\t%s\t%d\t-\t%s\n", r.Scenario, r.Rate, r.Unit, ratioCell(r, 0), fmtLat(r.Latency), r.CPU.cell(), r.Errors, notes)
		}
		for i, p := range r.Phases {
			target := ""
			if p.Target > 0 {
				target = fmt.Sprintf(" (offered %.0f)", p.Target)
			}
			fmt.Fprintf(tw, "%s\t%s\t%.1f %s%s\t%s\t%s\t%s\t%d\t%d\t%s\n", r.Scenario, p.Name, p.Rate, r.Unit, target, ratioCell(r, i), fmtLat(p.Latency), p.CPU.cell(), p.Errors, p.Lost, notes)
			notes = ""
		}
		if len(r.Extra) > 0 && r.Scenario == "idle" {
			b, _ := json.Marshal(r.Extra)
			fmt.Fprintf(tw, "%s\tfigures\t%s\t\t\t\t\t\n", r.Scenario, b)
		}
	}
	tw.Flush()
}
