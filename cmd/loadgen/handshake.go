package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// runHandshake measures new sessions plus WebSocket connects per second:
// each worker creates a session, connects, waits for hello and closes.
func runHandshake(ctx context.Context, o Options, t *target) (Result, error) {
	res := Result{Scenario: "handshake", Unit: "sessions+connects", Params: map[string]any{"workers": o.HandshakeWorkers, "duration_s": o.Duration.Seconds()}}
	var rec recorder
	var ok, failed atomic.Int64
	var firstErr atomic.Value
	cpu := cpuMeter{o.Debug}.start(ctx)
	start := time.Now()
	end := start.Add(o.Duration)
	var wg sync.WaitGroup
	for range o.HandshakeWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && time.Now().Before(end) {
				t0 := time.Now()
				if err := handshakeOnce(ctx, t); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					time.Sleep(10 * time.Millisecond)
					continue
				}
				rec.add(time.Since(t0))
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	res.Rate = round(float64(ok.Load())/time.Since(start).Seconds(), 1)
	res.CPU = cpu(ok.Load())
	res.Latency = rec.summary()
	res.Errors = failed.Load()
	if e := firstErr.Load(); e != nil {
		res.Notes = append(res.Notes, fmt.Sprintf("first failure: %v", e))
	}
	return res, nil
}

func handshakeOnce(ctx context.Context, t *target) error {
	v, err := connectVisitor(ctx, t)
	if err != nil {
		return err
	}
	v.c.close()
	return nil
}
