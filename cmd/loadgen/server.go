package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// serverStats is the server's GET /debug/stats.
type serverStats struct {
	RSSBytes       int64   `json:"rss_bytes"`
	Goroutines     int     `json:"goroutines"`
	Connections    int     `json:"connections"`
	HeapInuseBytes uint64  `json:"heap_inuse_bytes"`
	StackInuse     uint64  `json:"stack_inuse_bytes"`
	CPUUser        float64 `json:"cpu_user_s"`
	CPUSystem      float64 `json:"cpu_system_s"`
}

// fetchStats reads the server's figures, after a garbage collection when gc
// is set.
func fetchStats(ctx context.Context, debug string, gc bool) (serverStats, error) {
	var s serverStats
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	u := debug + "/debug/stats"
	if gc {
		u += "?gc=1"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return s, fmt.Errorf("loadgen: stats: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return s, fmt.Errorf("loadgen: stats (is the server started with --debug-addr?): %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("loadgen: stats: status %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		return s, fmt.Errorf("loadgen: stats: %w", err)
	}
	return s, nil
}

// CPUCost is the CPU time (user + system) used per operation during one
// measurement, in microseconds: by the server, read from its /debug/stats
// (0 without --debug), and by the load generator's own process, which
// shares the machine with it (for echo it holds the echo server too).
type CPUCost struct {
	Server  float64 `json:"server_us,omitempty"`
	Loadgen float64 `json:"loadgen_us"`
}

// cell is the table cell "server / loadgen".
func (c *CPUCost) cell() string {
	switch {
	case c == nil:
		return "-"
	case c.Server == 0:
		return fmt.Sprintf("- / %.1f", c.Loadgen)
	}
	return fmt.Sprintf("%.1f / %.1f", c.Server, c.Loadgen)
}

// cpuMeter measures CPU per operation over a measurement; debug is the
// server's debug URL ("" measures the load generator only).
type cpuMeter struct{ debug string }

// start samples the CPU times; the returned function samples them again
// and divides the difference by ops (nil when ops is 0 or nothing could be
// read).
func (m cpuMeter) start(ctx context.Context) func(ops int64) *CPUCost {
	self0, selfErr := selfCPU()
	srv0, srvErr := m.server(ctx)
	return func(ops int64) *CPUCost {
		self1, err := selfCPU()
		if ops <= 0 || selfErr != nil || err != nil {
			return nil
		}
		c := &CPUCost{Loadgen: round(float64(self1-self0)/1e3/float64(ops), 1)}
		if srvErr == nil {
			if srv1, err := m.server(ctx); err == nil {
				c.Server = round((srv1-srv0)*1e6/float64(ops), 1)
			}
		}
		return c
	}
}

// server returns the server's CPU seconds so far.
func (m cpuMeter) server(ctx context.Context) (float64, error) {
	if m.debug == "" {
		return 0, errors.New("loadgen: no --debug")
	}
	st, err := fetchStats(ctx, m.debug, false)
	return st.CPUUser + st.CPUSystem, err
}

// selfCPU returns the CPU time this process has used.
func selfCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("loadgen: getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// profiler saves server CPU profiles of measured phases when enabled.
type profiler struct {
	debug, dir string
}

// start begins a CPU profile of about d; stop waits until it is saved.
func (p profiler) start(ctx context.Context, name string, d time.Duration) (stop func()) {
	if p.dir == "" || p.debug == "" {
		return func() {}
	}
	secs := int(d.Seconds()) - 1
	if secs < 1 {
		secs = 1
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := p.fetch(ctx, name, secs); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen: profile:", err)
		}
	}()
	return func() { <-done }
}

func (p profiler) fetch(ctx context.Context, name string, secs int) error {
	return p.save(ctx, "profile?seconds="+strconv.Itoa(secs), name+".cpu.pprof", time.Duration(secs+30)*time.Second)
}

// heap saves the server's heap profile (after a collection) when enabled.
func (p profiler) heap(ctx context.Context, name string) {
	if p.dir == "" || p.debug == "" {
		return
	}
	if err := p.save(ctx, "heap?gc=1", name+".heap.pprof", 30*time.Second); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen: heap profile:", err)
	}
}

func (p profiler) save(ctx context.Context, query, file string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.debug+"/debug/pprof/"+query, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := os.MkdirAll(p.dir, 0o755); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(p.dir, file))
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(f, resp.Body)
	return err
}
