package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// phaseStats counts one phase; pending messages remember their phase, so
// answers arriving after it ended still count for it.
type phaseStats struct {
	rec     recorder
	done    atomic.Int64
	errors  atomic.Int64
	pending atomic.Int64
	// handedOff counts questions sent into a conversation the bot handed
	// to a person: answered by the handoff, not by the bot, and not lost.
	handedOff atomic.Int64
}

type pendingMsg struct {
	id string
	t  time.Time
	ph *phaseStats
}

// visitor is one simulated widget: a session and its socket.
type visitor struct {
	c      *wsConn
	sess   session
	mu     sync.Mutex
	fifo   []pendingMsg
	signal chan struct{}
	status atomic.Value // string: the conversation status last seen
	convID atomic.Value // string
	n      int
}

// connectVisitor opens a session and its socket and reads the hello frame.
func connectVisitor(ctx context.Context, t *target) (*visitor, error) {
	s, err := t.newSession(ctx)
	if err != nil {
		return nil, err
	}
	c, err := dialWS(ctx, dialer(nil), t.visitorURL(s))
	if err != nil {
		return nil, err
	}
	_ = c.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	f, err := c.readFrame()
	_ = c.ws.SetReadDeadline(time.Time{})
	if err != nil || f.Type != "hello" {
		c.close()
		return nil, fmt.Errorf("loadgen: no hello frame (got %q): %v", f.Type, err)
	}
	v := &visitor{c: c, sess: s, signal: make(chan struct{}, 1)}
	v.status.Store("")
	v.convID.Store("")
	return v, nil
}

// push remembers a sent message.
func (v *visitor) push(p pendingMsg) {
	v.mu.Lock()
	v.fifo = append(v.fifo, p)
	v.mu.Unlock()
	p.ph.pending.Add(1)
}

// pop takes the oldest pending message (id "") or the one with id.
func (v *visitor) pop(id string) (pendingMsg, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for i, p := range v.fifo {
		if id == "" || p.id == id {
			v.fifo = append(v.fifo[:i], v.fifo[i+1:]...)
			p.ph.pending.Add(-1)
			return p, true
		}
	}
	return pendingMsg{}, false
}

// dropAll takes every pending message off v, counting each as handed off.
func (v *visitor) dropAll() {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, p := range v.fifo {
		p.ph.pending.Add(-1)
		p.ph.handedOff.Add(1)
	}
	v.fifo = nil
}

func (v *visitor) wake() {
	select {
	case v.signal <- struct{}{}:
	default:
	}
}

// parallel runs fn(i) for i in [0,n) on at most workers goroutines and
// returns the first error.
func parallel(ctx context.Context, n, workers int, fn func(i int) error) error {
	var next atomic.Int64
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := fn(i); err != nil {
					once.Do(func() { first = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}

// sleepUntil waits until t or ctx ends; it reports whether t was reached.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return true
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// drain waits until ph has nothing pending or the timeout passes.
func drain(ctx context.Context, ph *phaseStats, timeout time.Duration) {
	end := time.Now().Add(timeout)
	for ph.pending.Load() > 0 && time.Now().Before(end) && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
}

// roundTrip drops a stale wake-up, sends with send, and waits for the reply's
// wake-up; it reports false when the loop should stop (send failed, no reply
// within 10 s, or ctx ended).
func (v *visitor) roundTrip(ctx context.Context, send func() error) bool {
	select {
	case <-v.signal:
	default:
	}
	if err := send(); err != nil {
		return false
	}
	select {
	case <-v.signal:
		return true
	case <-time.After(10 * time.Second):
		return false
	case <-ctx.Done():
		return false
	}
}
