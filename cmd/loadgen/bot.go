package main

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// builtinQueries are used without --queries; they match the starter FAQ.
var builtinQueries = []string{
	"How long does a refund take?", "退款多久到账？", "Where is my order?", "怎么修改收货地址？",
	"Which payment methods do you accept?", "能开发票吗？", "How much is shipping?", "How do I reset my password?",
	"Can I return an item after 30 days?", "优惠券怎么用？", "Do you ship abroad?", "What are your opening hours?",
}

// loadQueries reads one question per line, skipping blanks and any that
// would make the bot hand off (the scenario measures answers).
func loadQueries(path string) ([]string, error) {
	if path == "" {
		return builtinQueries, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("loadgen: queries: %w", err)
	}
	defer f.Close()
	var qs []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if q := strings.TrimSpace(sc.Text()); q != "" && !strings.Contains(q, "人工") && len([]rune(q)) <= 2000 {
			qs = append(qs, q)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("loadgen: queries: %w", err)
	}
	if len(qs) == 0 {
		return nil, fmt.Errorf("loadgen: queries: %s has no questions", path)
	}
	return qs, nil
}

// botRun is the state of the bot scenario.
type botRun struct {
	t        *target
	mu       sync.Mutex // guards visitors: handed-off visitors are replaced
	visitors []*visitor
	readers  sync.WaitGroup
	queries  []string
	sent     atomic.Int64
	handoffs atomic.Int64
	replaced atomic.Int64
}

// visitor returns visitor i, replaced by a new visitor (a new session and
// conversation) when the bot has handed its conversation off: the
// scenario measures the bot, and a handed-off conversation no longer asks it.
func (b *botRun) visitor(ctx context.Context, i int) (*visitor, error) {
	b.mu.Lock()
	v := b.visitors[i]
	b.mu.Unlock()
	if v.status.Load() != "gone" {
		return v, nil
	}
	nv, err := connectVisitor(ctx, b.t)
	if err != nil {
		return nil, err
	}
	nv.n = v.n
	b.mu.Lock()
	b.visitors[i] = nv
	b.mu.Unlock()
	v.c.close()
	// The questions still waiting went into the handed-off conversation:
	// only the goroutine that asks as visitor i gets here, so none follows.
	v.dropAll()
	b.replaced.Add(1)
	b.readers.Add(1)
	go func() { defer b.readers.Done(); b.read(nv) }()
	return nv, nil
}

func (b *botRun) closeAll() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, v := range b.visitors {
		if v != nil {
			v.c.close()
		}
	}
}

// runBot measures bot answers per second: a closed loop (each visitor asks
// as soon as it has its answer) for the maximum, then open loops at
// fractions of it, with latency measured from each question's intended
// send time.
func runBot(ctx context.Context, o Options, t *target, prof profiler) (Result, error) {
	res := Result{Scenario: "bot", Unit: "answers", Params: map[string]any{"visitors": o.BotVisitors, "duration_s": o.Duration.Seconds(), "queries": o.Queries}}
	qs, err := loadQueries(o.Queries)
	if err != nil {
		return res, err
	}
	b := &botRun{t: t, queries: qs, visitors: make([]*visitor, o.BotVisitors)}
	defer b.readers.Wait()
	defer b.closeAll()
	if err := parallel(ctx, o.BotVisitors, 16, func(i int) error {
		v, err := connectVisitor(ctx, t)
		if err != nil {
			return err
		}
		v.n = i
		b.visitors[i] = v
		return nil
	}); err != nil {
		return res, fmt.Errorf("loadgen: bot: %w", err)
	}
	for _, v := range b.visitors {
		b.readers.Add(1)
		go func() { defer b.readers.Done(); b.read(v) }()
	}

	// Warm-up: every visitor's first question starts its conversation.
	warm := &phaseStats{}
	b.closedLoop(ctx, warm, time.Now().Add(time.Minute), 1)
	if warm.done.Load() == 0 {
		return res, fmt.Errorf("loadgen: bot: no answer to the warm-up questions (errors: %d)", warm.errors.Load())
	}

	closed := &phaseStats{}
	meter := cpuMeter{o.Debug}
	stopProf := prof.start(ctx, "bot", o.Duration)
	cpu := meter.start(ctx)
	start := time.Now()
	b.closedLoop(ctx, closed, start.Add(o.Duration), 0)
	el := time.Since(start)
	closedCPU := cpu(closed.done.Load())
	stopProf()
	maxRate := float64(closed.done.Load()) / el.Seconds()
	res.Phases = append(res.Phases, Phase{Name: "closed", Rate: round(maxRate, 1), Latency: closed.rec.summary(), HandedOff: closed.handedOff.Load(), Errors: closed.errors.Load(), CPU: closedCPU})
	res.Rate = round(maxRate, 1)
	for _, load := range o.Loads {
		if maxRate <= 0 || ctx.Err() != nil {
			break
		}
		ph := &phaseStats{}
		rate := maxRate * load
		cpu := meter.start(ctx)
		b.openLoop(ctx, ph, rate, o.Duration)
		drain(ctx, ph, 10*time.Second)
		res.Phases = append(res.Phases, Phase{Name: fmt.Sprintf("open %d%%", int(load*100)), Target: round(rate, 1),
			Rate: round(float64(ph.done.Load())/o.Duration.Seconds(), 1), Latency: ph.rec.summary(), Lost: ph.pending.Load(), HandedOff: ph.handedOff.Load(), Errors: ph.errors.Load(),
			CPU: cpu(ph.done.Load())})
	}
	if p := res.phaseAt("open 50%"); p != nil {
		res.Latency = p.Latency
	}
	for _, p := range res.Phases {
		res.Errors += p.Errors
	}
	res.Extra = map[string]any{"handoffs": b.handoffs.Load(), "visitors_replaced": b.replaced.Load(), "questions_sent": b.sent.Load()}
	if b.handoffs.Load() > 0 {
		var into int64
		for _, p := range res.Phases {
			into += p.HandedOff
		}
		res.Notes = append(res.Notes, fmt.Sprintf("the bot handed %d conversations off; each visitor was replaced by a new one (%d questions went into them meanwhile: handed_off, not lost)", b.handoffs.Load(), into))
	}
	return res, nil
}

// read handles one visitor's frames until its socket closes.
func (b *botRun) read(v *visitor) {
	for {
		f, err := v.c.readFrame()
		if err != nil {
			return
		}
		switch f.Type {
		case "message":
			if f.Sender != "bot" {
				continue
			}
			if p, ok := v.pop(""); ok {
				p.ph.rec.add(time.Since(p.t))
				p.ph.done.Add(1)
			}
			v.wake()
		case "error":
			if p, ok := v.pop(f.ClientMsgID); ok {
				p.ph.errors.Add(1)
			}
			v.wake()
		case "conversation":
			if f.Status != "" && f.Status != "bot" && v.status.Load() != "gone" {
				v.status.Store("gone")
				b.handoffs.Add(1)
				v.wake()
			}
		}
	}
}

func (b *botRun) ask(v *visitor, ph *phaseStats, at time.Time, r *rand.Rand) error {
	v.n++
	id := stamp("q", at) + "-" + strconv.Itoa(v.n)
	v.push(pendingMsg{id: id, t: at, ph: ph})
	b.sent.Add(1)
	return v.c.writeFrame(outFrame{Type: "message", ClientMsgID: id, Text: b.queries[r.IntN(len(b.queries))]})
}

// closedLoop keeps one question in flight per visitor until end, or for
// rounds questions each when rounds > 0.
func (b *botRun) closedLoop(ctx context.Context, ph *phaseStats, end time.Time, rounds int) {
	var wg sync.WaitGroup
	for vi := range b.visitors {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(vi), uint64(time.Now().UnixNano())))
			for i := 0; (rounds == 0 || i < rounds) && ctx.Err() == nil && time.Now().Before(end); i++ {
				v, err := b.visitor(ctx, vi)
				if err != nil {
					return
				}
				if !v.roundTrip(ctx, func() error { return b.ask(v, ph, time.Now(), r) }) {
					return
				}
			}
		}()
	}
	wg.Wait()
}

// openLoop sends questions at rate per second in total, spread evenly over
// the visitors, whatever the answers do, for d.
func (b *botRun) openLoop(ctx context.Context, ph *phaseStats, rate float64, d time.Duration) {
	n := len(b.visitors)
	if rate <= 0 {
		return
	}
	interval := time.Duration(float64(n) / rate * float64(time.Second))
	start := time.Now()
	end := start.Add(d)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(i), uint64(start.UnixNano())))
			next := start.Add(interval * time.Duration(i) / time.Duration(n))
			for next.Before(end) && sleepUntil(ctx, next) {
				v, err := b.visitor(ctx, i)
				if err != nil {
					return
				}
				if err := b.ask(v, ph, next, r); err != nil {
					return
				}
				next = next.Add(interval)
			}
		}()
	}
	wg.Wait()
}
