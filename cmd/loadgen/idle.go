package main

import (
	"context"
	"fmt"
	"syscall"
	"time"
)

// raiseFileLimit lifts the soft open-file limit to the hard limit, so that
// thousands of client sockets fit, and returns the new soft limit.
func raiseFileLimit() (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("loadgen: getrlimit: %w", err)
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return 0, fmt.Errorf("loadgen: setrlimit: %w", err)
		}
	}
	return lim.Cur, nil
}

// runIdle opens n idle visitor connections and reads from the server how
// much memory and how many goroutines each costs, and whether the
// goroutines return to the baseline after the connections close.
func runIdle(ctx context.Context, o Options, t *target, prof profiler) (Result, error) {
	n := o.IdleConns
	res := Result{Scenario: "idle", Unit: "connections opened", Params: map[string]any{"conns": n}}
	if o.Debug == "" {
		return res, fmt.Errorf("loadgen: idle: needs --debug (the server's --debug-addr)")
	}
	limit, err := raiseFileLimit()
	if err != nil {
		return res, err
	}
	if limit < uint64(n)+100 {
		return res, fmt.Errorf("loadgen: idle: open-file limit %d is below %d connections; raise it with ulimit -n", limit, n)
	}
	// Sessions first: creating visitors grows the store's caches, which is
	// not the cost of a connection.
	sessions := make([]session, n)
	if err := parallel(ctx, n, 32, func(i int) error {
		s, err := t.newSession(ctx)
		sessions[i] = s
		return err
	}); err != nil {
		return res, fmt.Errorf("loadgen: idle: sessions: %w", err)
	}
	t.http.CloseIdleConnections()
	time.Sleep(500 * time.Millisecond)
	base, err := fetchStats(ctx, o.Debug, true)
	if err != nil {
		return res, err
	}
	conns := make([]*wsConn, n)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.close()
			}
		}
	}()
	start := time.Now()
	d := dialer(nil)
	d.ReadBufferSize, d.WriteBufferSize = 256, 256
	if err := parallel(ctx, n, 32, func(i int) error {
		c, err := dialWS(ctx, d, t.visitorURL(sessions[i]))
		if err != nil {
			return err
		}
		conns[i] = c
		_ = c.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
		if f, err := c.readFrame(); err != nil || f.Type != "hello" {
			return fmt.Errorf("loadgen: idle: no hello: %v", err)
		}
		return nil
	}); err != nil {
		return res, fmt.Errorf("loadgen: idle: %w", err)
	}
	res.Rate = round(float64(n)/time.Since(start).Seconds(), 1)
	time.Sleep(2 * time.Second)
	loaded, err := fetchStats(ctx, o.Debug, true)
	if err != nil {
		return res, err
	}
	prof.heap(ctx, "idle")
	for i, c := range conns {
		c.close()
		conns[i] = nil
	}
	after := loaded
	for wait := time.Now().Add(15 * time.Second); time.Now().Before(wait); time.Sleep(250 * time.Millisecond) {
		if after, err = fetchStats(ctx, o.Debug, true); err != nil {
			return res, err
		}
		if after.Goroutines <= base.Goroutines+5 && after.Connections == 0 {
			break
		}
	}
	perConn := float64(loaded.RSSBytes-base.RSSBytes) / float64(n)
	res.Extra = map[string]any{
		"rss_base_mb":            round(float64(base.RSSBytes)/(1<<20), 1),
		"rss_loaded_mb":          round(float64(loaded.RSSBytes)/(1<<20), 1),
		"rss_per_conn_kb":        round(perConn/1024, 2),
		"heap_per_conn_kb":       round((float64(loaded.HeapInuseBytes)-float64(base.HeapInuseBytes))/float64(n)/1024, 2),
		"stack_per_conn_kb":      round((float64(loaded.StackInuse)-float64(base.StackInuse))/float64(n)/1024, 2),
		"goroutines_base":        base.Goroutines,
		"goroutines_loaded":      loaded.Goroutines,
		"goroutines_per_conn":    round(float64(loaded.Goroutines-base.Goroutines)/float64(n), 3),
		"goroutines_after_close": after.Goroutines,
		"back_to_baseline":       after.Goroutines <= base.Goroutines+5,
		"server_connections":     loaded.Connections,
	}
	return res, nil
}
