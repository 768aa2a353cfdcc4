package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// serverStats is the server's GET /debug/stats.
type serverStats struct {
	RSSBytes       int64  `json:"rss_bytes"`
	Goroutines     int    `json:"goroutines"`
	Connections    int    `json:"connections"`
	HeapInuseBytes uint64 `json:"heap_inuse_bytes"`
	StackInuse     uint64 `json:"stack_inuse_bytes"`
}

// fetchStats reads the server's figures after a garbage collection.
func fetchStats(ctx context.Context, debug string) (serverStats, error) {
	var s serverStats
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, debug+"/debug/stats?gc=1", nil)
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
