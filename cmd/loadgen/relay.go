package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// relayRun is the state of the relay scenario: visitors in handed-off
// conversations and the agents answering them.
type relayRun struct {
	visitors []*visitor
	agents   []*wsConn
	phases   []*phaseStats
	acks     atomic.Int64
	counter  atomic.Int64
}

const relayPrefix = "lg "

// relayText carries the send time and the phase index.
func relayText(t time.Time, phase int) string {
	return stamp(relayPrefix, t) + " p" + strconv.Itoa(phase)
}

func parseRelayText(s string) (time.Time, int, bool) {
	t, ok := parseStamp(s, relayPrefix)
	if !ok {
		return t, 0, false
	}
	i := strings.LastIndex(s, " p")
	if i < 0 {
		return t, 0, false
	}
	k, err := strconv.Atoi(s[i+2:])
	return t, k, err == nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// runRelay measures messages delivered per second between visitors and
// agents (each persisted before it is acked or delivered) and their
// end-to-end latency from the sender's intended send time to the receiver.
//
// The closed loop runs o.RelayRounds times, each right after a measurement
// of the echo reference by reference (nil: none); the round with the
// median ratio gives the maximum rate, the ratio and the open loops' rates.
func runRelay(ctx context.Context, o Options, t *target, prof profiler, reference func(context.Context) (float64, error)) (Result, error) {
	res := Result{Scenario: "relay", Unit: "messages delivered", Params: map[string]any{"visitors": o.RelayVisitors, "agents": o.RelayAgents,
		"duration_s": o.Duration.Seconds(), "rounds": max(o.RelayRounds, 1)}}
	if o.AdminPasswordFile == "" {
		return res, fmt.Errorf("loadgen: relay: --admin-password-file is required (the server's <data-dir>/initial-admin.txt)")
	}
	pwFile, err := os.ReadFile(o.AdminPasswordFile)
	if err != nil {
		return res, fmt.Errorf("loadgen: relay: %w", err)
	}
	admin, err := t.login(ctx, o.AdminEmail, adminPassword(pwFile))
	if err != nil {
		return res, fmt.Errorf("loadgen: relay: admin: %w", err)
	}
	r := &relayRun{}
	defer r.closeAll()
	run := randomHex(4)
	// Room for twice the relay's own share: conversations still queued from
	// earlier scenarios (the bot's hand-offs) are routed to these agents too.
	capacity := min(100, 2*((o.RelayVisitors+o.RelayAgents-1)/o.RelayAgents)+2)
	for i := range o.RelayAgents {
		email := fmt.Sprintf("lg-%s-%d@loadgen.example", run, i)
		pw := randomHex(12)
		code, body, err := t.do(ctx, admin.http, http.MethodPost, "/api/v1/admin/agents", admin.csrf, map[string]any{
			"email": email, "name": "Loadgen " + strconv.Itoa(i), "password": pw, "role": "agent",
			"groups": []string{"default_support"}, "capacity": capacity})
		if err != nil || code != http.StatusCreated {
			return res, fmt.Errorf("loadgen: relay: create agent: %d %s %v", code, shortBody(body), err)
		}
		as, err := t.login(ctx, email, pw)
		if err != nil {
			return res, fmt.Errorf("loadgen: relay: %w", err)
		}
		c, err := dialWS(ctx, dialer(as.jar), t.agentURL())
		if err != nil {
			return res, fmt.Errorf("loadgen: relay: agent socket: %w", err)
		}
		r.agents = append(r.agents, c)
	}
	var readers sync.WaitGroup
	defer readers.Wait()
	defer r.closeAll()
	for _, a := range r.agents {
		readers.Add(1)
		go func() { defer readers.Done(); r.readAgent(a) }()
	}
	r.visitors = make([]*visitor, o.RelayVisitors)
	if err := parallel(ctx, o.RelayVisitors, 16, func(i int) error {
		v, err := connectVisitor(ctx, t)
		if err != nil {
			return err
		}
		v.n = i
		r.visitors[i] = v
		return nil
	}); err != nil {
		return res, fmt.Errorf("loadgen: relay: %w", err)
	}
	for _, v := range r.visitors {
		readers.Add(1)
		go func() { defer readers.Done(); r.readVisitor(v) }()
	}
	// Hand every conversation off and wait until routing assigns it.
	for _, v := range r.visitors {
		if err := v.c.writeFrame(outFrame{Type: "message", ClientMsgID: "handoff-" + randomHex(6), Text: "转人工"}); err != nil {
			return res, fmt.Errorf("loadgen: relay: %w", err)
		}
	}
	assigned := 0
	for wait := time.Now().Add(30 * time.Second); time.Now().Before(wait) && ctx.Err() == nil; time.Sleep(50 * time.Millisecond) {
		assigned = 0
		for _, v := range r.visitors {
			if v.status.Load() == "assigned" {
				assigned++
			}
		}
		if assigned == len(r.visitors) {
			break
		}
	}
	if assigned == 0 {
		return res, fmt.Errorf("loadgen: relay: no conversation was assigned to an agent within 30 s")
	}
	if assigned < len(r.visitors) {
		res.Notes = append(res.Notes, fmt.Sprintf("only %d of %d conversations were assigned", assigned, len(r.visitors)))
	}
	res.Params["assigned"] = assigned

	rounds, err := r.closedRounds(ctx, o, prof, reference)
	if err != nil {
		return res, err
	}
	med := medianRound(rounds)
	maxRate := rounds[med].Rate
	res.Rate = round(maxRate, 1)
	if rounds[med].Echo > 0 {
		res.RatioToEcho = round(rounds[med].Ratio, 4)
	}
	for i, rd := range rounds {
		name := "closed"
		if len(rounds) > 1 {
			name = fmt.Sprintf("closed %d/%d", i+1, len(rounds))
		}
		ph := r.phases[i]
		res.Phases = append(res.Phases, Phase{Name: name, Rate: round(rd.Rate, 1), Latency: ph.rec.summary(), Errors: ph.errors.Load(), RatioToEcho: rd.Ratio, CPU: rd.CPU})
	}
	if len(rounds) > 1 {
		res.Notes = append(res.Notes, fmt.Sprintf("median of %d rounds (each ratio against an echo run just before it): round %d, %.3f", len(rounds), med+1, rounds[med].Ratio))
	}
	for _, load := range o.Loads {
		if maxRate <= 0 || ctx.Err() != nil {
			break
		}
		k := len(r.phases)
		ph := &phaseStats{}
		r.phases = append(r.phases, ph)
		rate := maxRate * load
		cpu := cpuMeter{o.Debug}.start(ctx)
		r.openLoop(ctx, k, rate/2, o.Duration) // each visitor message and its reply are two deliveries
		drain(ctx, ph, 10*time.Second)
		res.Phases = append(res.Phases, Phase{Name: fmt.Sprintf("open %d%%", int(load*100)), Target: round(rate, 1),
			Rate: round(float64(ph.done.Load())/o.Duration.Seconds(), 1), Latency: ph.rec.summary(), Lost: ph.pending.Load(), Errors: ph.errors.Load(),
			CPU: cpu(ph.done.Load())})
	}
	if p := res.phaseAt("open 50%"); p != nil {
		res.Latency = p.Latency
	}
	for _, p := range res.Phases {
		res.Errors += p.Errors
	}
	res.Extra = map[string]any{"acks": r.acks.Load(), "rounds": rounds}
	return res, nil
}

// relayRound is one closed loop and the echo rate measured just before it.
type relayRound struct {
	Echo  float64 `json:"echo_rate_per_s,omitempty"`
	Rate  float64 `json:"rate_per_s"`
	Ratio float64 `json:"ratio_to_echo,omitempty"`
	// CPU is the CPU time per delivered message in the closed loop.
	CPU *CPUCost `json:"cpu_us_per_op,omitempty"`
}

// closedRounds runs the closed loop o.RelayRounds times (phases 0..n-1),
// each after a measurement of the reference; the server profile covers the
// first.
func (r *relayRun) closedRounds(ctx context.Context, o Options, prof profiler, reference func(context.Context) (float64, error)) ([]relayRound, error) {
	var rounds []relayRound
	for i := range max(o.RelayRounds, 1) {
		var rd relayRound
		if reference != nil {
			echo, err := reference(ctx)
			if err != nil {
				return nil, fmt.Errorf("loadgen: relay: echo reference: %w", err)
			}
			rd.Echo = echo
		}
		r.phases = append(r.phases, &phaseStats{})
		stopProf := func() {}
		if i == 0 {
			stopProf = prof.start(ctx, "relay", o.Duration)
		}
		cpu := cpuMeter{o.Debug}.start(ctx)
		start := time.Now()
		r.closedLoop(ctx, i, start.Add(o.Duration))
		el := time.Since(start)
		rd.CPU = cpu(r.phases[i].done.Load())
		stopProf()
		rd.Rate = float64(r.phases[i].done.Load()) / el.Seconds()
		if rd.Echo > 0 {
			rd.Ratio = rd.Rate / rd.Echo
		}
		rd.Rate, rd.Echo, rd.Ratio = round(rd.Rate, 1), round(rd.Echo, 1), round(rd.Ratio, 4)
		rounds = append(rounds, rd)
		if ctx.Err() != nil {
			break
		}
	}
	return rounds, nil
}

// medianRound returns the index of the round with the median ratio (the
// lower of the two middle ones for an even count), or of the median rate
// when no reference was measured.
func medianRound(rounds []relayRound) int {
	idx := make([]int, len(rounds))
	for i := range idx {
		idx[i] = i
	}
	key := func(i int) float64 {
		if rounds[i].Echo > 0 {
			return rounds[i].Ratio
		}
		return rounds[i].Rate
	}
	sort.SliceStable(idx, func(a, b int) bool { return key(idx[a]) < key(idx[b]) })
	return idx[(len(idx)-1)/2]
}

func (r *relayRun) closeAll() {
	for _, v := range r.visitors {
		if v != nil {
			v.c.close()
		}
	}
	for _, a := range r.agents {
		a.close()
	}
}

func (r *relayRun) phase(k int) *phaseStats {
	if k < 0 || k >= len(r.phases) {
		return nil
	}
	return r.phases[k]
}

// readAgent answers every visitor message of the load generator at once.
func (r *relayRun) readAgent(a *wsConn) {
	for {
		f, err := a.readFrame()
		if err != nil {
			return
		}
		switch f.Type {
		case "message":
			if f.Sender != "visitor" {
				continue
			}
			sent, k, ok := parseRelayText(f.Text)
			ph := r.phase(k)
			if !ok || ph == nil {
				continue
			}
			now := time.Now()
			ph.rec.add(now.Sub(sent))
			ph.done.Add(1)
			id := stamp("a", now) + "-" + strconv.FormatInt(r.counter.Add(1), 36)
			if err := a.writeFrame(outFrame{Type: "message", ConversationID: f.ConversationID, ClientMsgID: id, Text: relayText(now, k)}); err != nil {
				return
			}
		case "ack":
			r.acks.Add(1)
		case "error":
			if ph := r.phase(len(r.phases) - 1); ph != nil {
				ph.errors.Add(1)
			}
		}
	}
}

// readVisitor records agents' replies and the conversation's status.
func (r *relayRun) readVisitor(v *visitor) {
	for {
		f, err := v.c.readFrame()
		if err != nil {
			return
		}
		switch f.Type {
		case "conversation":
			v.status.Store(f.Status)
		case "message":
			if f.Sender != "agent" {
				continue
			}
			sent, k, ok := parseRelayText(f.Text)
			ph := r.phase(k)
			if !ok || ph == nil {
				continue
			}
			ph.rec.add(time.Since(sent))
			ph.done.Add(1)
			ph.pending.Add(-1)
			v.wake()
		case "ack":
			r.acks.Add(1)
		case "error":
			if ph := r.phase(len(r.phases) - 1); ph != nil {
				ph.errors.Add(1)
			}
			v.wake()
		}
	}
}

func (r *relayRun) send(v *visitor, k int, at time.Time) error {
	r.phases[k].pending.Add(1)
	id := stamp("v", at) + "-" + strconv.FormatInt(r.counter.Add(1), 36)
	return v.c.writeFrame(outFrame{Type: "message", ClientMsgID: id, Text: relayText(at, k)})
}

// closedLoop: each assigned visitor sends, waits for the agent's reply, repeats.
func (r *relayRun) closedLoop(ctx context.Context, k int, end time.Time) {
	var wg sync.WaitGroup
	for _, v := range r.visitors {
		if v.status.Load() != "assigned" {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && time.Now().Before(end) {
				if !v.roundTrip(ctx, func() error { return r.send(v, k, time.Now()) }) {
					return
				}
			}
		}()
	}
	wg.Wait()
}

// openLoop: visitors send rate messages per second in total for d.
func (r *relayRun) openLoop(ctx context.Context, k int, rate float64, d time.Duration) {
	var live []*visitor
	for _, v := range r.visitors {
		if v.status.Load() == "assigned" {
			live = append(live, v)
		}
	}
	if len(live) == 0 || rate <= 0 {
		return
	}
	interval := time.Duration(float64(len(live)) / rate * float64(time.Second))
	start := time.Now()
	end := start.Add(d)
	var wg sync.WaitGroup
	for i, v := range live {
		wg.Add(1)
		go func() {
			defer wg.Done()
			next := start.Add(interval * time.Duration(i) / time.Duration(len(live)))
			for next.Before(end) && sleepUntil(ctx, next) {
				if err := r.send(v, k, next); err != nil {
					return
				}
				next = next.Add(interval)
			}
		}()
	}
	wg.Wait()
}
