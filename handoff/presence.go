package handoff

import (
	"sort"
	"sync"
	"time"
)

// Status is an agent's presence.
type Status string

// The presence states.
const (
	Online  Status = "online"
	Away    Status = "away"
	Offline Status = "offline"
)

// Presence tracks which agents are reachable. An agent is online while at
// least one console connection is open (or for a grace period after the last
// one closed), unless they set themselves away.
type Presence interface {
	// Connect records an open console connection; release records its end.
	Connect(agentID string) (release func())
	// SetAway switches a connected agent between online and away.
	SetAway(agentID string, away bool)
	// Status returns an agent's presence.
	Status(agentID string) Status
	// Online returns the online agents with the time each became free for
	// new work (the longest idle first after sorting).
	Online() map[string]time.Time
	// MarkAssigned records that the agent just took a conversation.
	MarkAssigned(agentID string, at time.Time)
	// Gone returns those of agentIDs who are certainly offline past the
	// grace period, on every node: nobody while that cannot be told (the
	// shared state is unreachable), and nobody not seen since this process
	// started until a grace period has passed since then (their consoles
	// may still be reconnecting after a restart).
	Gone(agentIDs []string) []string
}

type agentPresence struct {
	conns    int
	away     bool
	lastWork time.Time
	grace    *time.Timer
}

// MemoryPresence is the in-process Presence of a single node.
type MemoryPresence struct {
	mu       sync.Mutex
	agents   map[string]*agentPresence
	grace    time.Duration
	now      func() time.Time
	started  time.Time
	onChange func(agentID string, s Status)
}

var _ Presence = (*MemoryPresence)(nil)

// NewMemoryPresence returns presence with the given grace period; onChange
// (may be nil) is called, outside the lock, whenever an agent's status changes.
func NewMemoryPresence(grace time.Duration, onChange func(agentID string, s Status)) *MemoryPresence {
	if onChange == nil {
		onChange = func(string, Status) {}
	}
	return &MemoryPresence{agents: map[string]*agentPresence{}, grace: grace, now: time.Now, started: time.Now(), onChange: onChange}
}

func (p *MemoryPresence) statusLocked(a *agentPresence) Status {
	if a == nil || (a.conns == 0 && a.grace == nil) {
		return Offline
	}
	if a.away {
		return Away
	}
	return Online
}

// Connect records an open connection.
func (p *MemoryPresence) Connect(agentID string) func() {
	p.mu.Lock()
	a := p.agents[agentID]
	if a == nil {
		a = &agentPresence{lastWork: p.now()}
		p.agents[agentID] = a
	}
	before := p.statusLocked(a)
	if a.grace != nil {
		a.grace.Stop()
		a.grace = nil
	}
	if before == Offline {
		a.lastWork = p.now()
	}
	a.conns++
	after := p.statusLocked(a)
	p.mu.Unlock()
	if before != after {
		p.onChange(agentID, after)
	}
	var once sync.Once
	return func() { once.Do(func() { p.release(agentID) }) }
}

func (p *MemoryPresence) release(agentID string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	a := p.agents[agentID]
	if a == nil || a.conns == 0 {
		return
	}
	a.conns--
	if a.conns > 0 {
		return
	}
	var t *time.Timer
	t = time.AfterFunc(p.grace, func() {
		p.mu.Lock()
		if a.grace != t || a.conns > 0 {
			p.mu.Unlock()
			return
		}
		a.grace = nil
		a.away = false
		p.mu.Unlock()
		p.onChange(agentID, Offline)
	})
	a.grace = t
}

// SetAway switches between online and away.
func (p *MemoryPresence) SetAway(agentID string, away bool) {
	p.mu.Lock()
	a := p.agents[agentID]
	if a == nil || p.statusLocked(a) == Offline {
		p.mu.Unlock()
		return
	}
	before := p.statusLocked(a)
	a.away = away
	if !away {
		a.lastWork = p.now()
	}
	after := p.statusLocked(a)
	p.mu.Unlock()
	if before != after {
		p.onChange(agentID, after)
	}
}

// Status returns an agent's presence.
func (p *MemoryPresence) Status(agentID string) Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.statusLocked(p.agents[agentID])
}

// Online returns online agents and when each last took work.
func (p *MemoryPresence) Online() map[string]time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]time.Time{}
	for id, a := range p.agents {
		if p.statusLocked(a) == Online {
			out[id] = a.lastWork
		}
	}
	return out
}

// MarkAssigned records when the agent last took a conversation.
func (p *MemoryPresence) MarkAssigned(agentID string, at time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if a := p.agents[agentID]; a != nil {
		a.lastWork = at
	}
}

// Gone returns the agents among agentIDs who went offline past the grace
// period, and, once a grace period has passed since start-up, those not
// seen at all since (this process restarted and they did not come back).
func (p *MemoryPresence) Gone(agentIDs []string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	settled := p.now().Sub(p.started) >= p.grace
	var out []string
	for _, id := range agentIDs {
		a := p.agents[id]
		if p.statusLocked(a) == Offline && (a != nil || settled) {
			out = append(out, id)
		}
	}
	return out
}

// candidate is an agent who could take a conversation.
type candidate struct {
	id       string
	load     int
	capacity int
	idle     time.Time
}

// rank orders candidates: least loaded first, then longest idle, then id.
func rank(cs []candidate) {
	sort.Slice(cs, func(i, j int) bool {
		a, b := cs[i], cs[j]
		if a.load != b.load {
			return a.load < b.load
		}
		if !a.idle.Equal(b.idle) {
			return a.idle.Before(b.idle)
		}
		return a.id < b.id
	})
}
