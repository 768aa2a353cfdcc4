package handoff

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisPresenceOptions tune a RedisPresence; the zero value is sensible.
type RedisPresenceOptions struct {
	// Prefix starts every key (default "frontdesk:"); nodes of one
	// installation share it.
	Prefix string
	// NodeID names this node (default: random); it must differ between nodes.
	NodeID string
	// TTL is how long this node's claim that an agent is connected lasts
	// without a refresh (default 15 s): a crashed node's agents go offline
	// after TTL plus the grace period at most.
	TTL time.Duration
	// Log receives Redis errors (default: discarded).
	Log *slog.Logger
}

// RedisPresence is the Presence of several nodes, kept in Redis. Each node
// writes, per agent, a claim with an expiry time into a sorted set
// (presence:nodes:<agent>) while it holds console connections, and
// refreshes the claims in Run. An agent is online while any claim is
// live or within the grace period after the last connection closed
// (presence:grace:<agent>, a key with a TTL), unless they set themselves
// away. onChange runs on the node whose action changed the status; a change
// by expiry (a crashed node) is reported once, by whichever node's Run
// notices it first. When Redis is unreachable, a node answers Status from
// its own connections and the statuses it saw last, but never decides that
// an agent went offline: it looks again once Redis answers. Each node
// restores its own agents' claims and away flags at its next refresh when
// Redis lost them (a restart without persistence).
type RedisPresence struct {
	client   *redis.Client
	base     string // the installation's prefix
	prefix   string
	node     string
	ttl      time.Duration
	grace    time.Duration
	log      *slog.Logger
	onChange func(agentID string, s Status)
	now      func() time.Time
	started  time.Time

	mu    sync.Mutex
	local map[string]*localAgent
	seen  map[string]Status // statuses at the last sweep, to notice expiries
	// offlineSince is when Gone first found each agent offline (and
	// continuously since, as far as it looked).
	offlineSince map[string]time.Time
	// recheck holds agents whose going offline could not be decided or
	// reported while Redis failed, with when a sweep first found them
	// offline after that (zero: not yet).
	recheck map[string]time.Time
}

type localAgent struct {
	conns int
	grace *time.Timer
	// away mirrors the agent's away flag (this node's SetAway calls, and
	// what each refresh reads), so that a refresh can restore it.
	away bool
}

var _ Presence = (*RedisPresence)(nil)

// NewRedisPresence connects to Redis at url (redis://...) and returns
// presence with the given grace period; onChange may be nil.
func NewRedisPresence(ctx context.Context, url string, grace time.Duration, onChange func(agentID string, s Status), opts RedisPresenceOptions) (*RedisPresence, error) {
	o, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("handoff: presence: redis url: %w", err)
	}
	client := redis.NewClient(o)
	if err := client.Ping(ctx).Err(); err != nil {
		client.Close()
		return nil, fmt.Errorf("handoff: presence: connect to redis: %w", err)
	}
	if onChange == nil {
		onChange = func(string, Status) {}
	}
	if opts.Prefix == "" {
		opts.Prefix = "frontdesk:"
	}
	if opts.NodeID == "" {
		opts.NodeID = strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	if opts.TTL <= 0 {
		opts.TTL = 15 * time.Second
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	return &RedisPresence{
		client: client, base: opts.Prefix, prefix: opts.Prefix + "presence:", node: opts.NodeID, ttl: opts.TTL, grace: grace,
		log: opts.Log, onChange: onChange, now: time.Now, started: time.Now(),
		local: map[string]*localAgent{}, seen: map[string]Status{}, offlineSince: map[string]time.Time{}, recheck: map[string]time.Time{},
	}, nil
}

func (p *RedisPresence) key(kind, agentID string) string { return p.prefix + kind + ":" + agentID }

func (p *RedisPresence) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 2*time.Second)
}

// claim writes (or refreshes) this node's claim on agentID.
func (p *RedisPresence) claim(ctx context.Context, pipe redis.Pipeliner, agentID string) {
	until := p.now().Add(p.ttl).UnixMilli()
	pipe.ZAdd(ctx, p.key("nodes", agentID), redis.Z{Score: float64(until), Member: p.node})
	pipe.PExpire(ctx, p.key("nodes", agentID), 2*p.ttl+p.grace)
	pipe.SAdd(ctx, p.prefix+"agents", agentID)
}

// Connect records an open connection on this node.
func (p *RedisPresence) Connect(agentID string) func() {
	before := p.Status(agentID)
	p.mu.Lock()
	a := p.local[agentID]
	if a == nil {
		a = &localAgent{}
		p.local[agentID] = a
	}
	if a.grace != nil {
		a.grace.Stop()
		a.grace = nil
	}
	a.conns++
	a.away = before == Away
	p.mu.Unlock()
	ctx, cancel := p.ctx()
	_, err := p.client.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		p.claim(ctx, pipe, agentID)
		pipe.Del(ctx, p.key("grace", agentID))
		if before == Offline {
			pipe.Del(ctx, p.key("away", agentID))
			pipe.Set(ctx, p.key("work", agentID), p.now().UnixMilli(), 0)
			pipe.Incr(ctx, p.key("epoch", agentID))
		}
		return nil
	})
	cancel()
	if err != nil {
		p.log.Warn("presence: connect", slog.String("agent", agentID), slog.Any("err", err))
	}
	if after := p.Status(agentID); after != before {
		p.remember(agentID, after)
		p.onChange(agentID, after)
	}
	var once sync.Once
	return func() { once.Do(func() { p.release(agentID) }) }
}

func (p *RedisPresence) release(agentID string) {
	p.mu.Lock()
	a := p.local[agentID]
	if a == nil || a.conns == 0 {
		p.mu.Unlock()
		return
	}
	a.conns--
	if a.conns > 0 {
		p.mu.Unlock()
		return
	}
	// The timer starts once Redis holds the grace key, so that when it fires
	// the key has expired, unless another connection renewed the agent.
	var t *time.Timer
	t = time.AfterFunc(time.Hour, func() {
		p.mu.Lock()
		if a.grace != t || a.conns > 0 {
			p.mu.Unlock()
			return
		}
		a.grace = nil
		delete(p.local, agentID)
		p.mu.Unlock()
		p.afterGrace(agentID)
	})
	a.grace = t
	p.mu.Unlock()
	ctx, cancel := p.ctx()
	defer cancel()
	_, err := p.client.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.ZRem(ctx, p.key("nodes", agentID), p.node)
		if p.grace > 0 {
			pipe.Set(ctx, p.key("grace", agentID), p.node, p.grace)
		}
		return nil
	})
	if err != nil {
		p.log.Warn("presence: release", slog.String("agent", agentID), slog.Any("err", err))
	}
	t.Reset(p.grace)
}

// afterGrace reports the agent offline if nobody holds them now. Redis
// expires keys with millisecond resolution, so a grace key may outlive the
// timer by a moment: wait for what is left of it (a connection elsewhere
// deletes the key, and then that node reports). When Redis cannot answer,
// the agent may well be connected to another node: a sweep looks again.
func (p *RedisPresence) afterGrace(agentID string) {
	for range 5 {
		st, err := p.statuses([]string{agentID})
		if err != nil {
			p.recheckLater(agentID)
			return
		}
		if st[agentID].status == Offline {
			p.noteOffline(agentID)
			return
		}
		ctx, cancel := p.ctx()
		left, err := p.client.PTTL(ctx, p.key("grace", agentID)).Result()
		cancel()
		if err != nil {
			p.recheckLater(agentID)
			return
		}
		// left < 0: the key expired just now, or another node holds the
		// agent; look again once.
		time.Sleep(max(left, 0) + 2*time.Millisecond)
		p.mu.Lock()
		_, back := p.local[agentID]
		p.mu.Unlock()
		if back {
			return
		}
	}
}

// noteOffline reports an agent's going offline once across nodes: the
// first node to claim this connection epoch's offline note reports it.
// Without an answer from Redis nothing is reported; a sweep looks again.
func (p *RedisPresence) noteOffline(agentID string) {
	ctx, cancel := p.ctx()
	defer cancel()
	epoch, err := p.client.Get(ctx, p.key("epoch", agentID)).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		p.log.Warn("presence: offline note", slog.String("agent", agentID), slog.Any("err", err))
		p.recheckLater(agentID)
		return
	}
	ok, err := p.client.SetNX(ctx, p.key("offline", agentID)+":"+epoch, p.node, 24*time.Hour).Result()
	if err != nil {
		p.log.Warn("presence: offline note", slog.String("agent", agentID), slog.Any("err", err))
		p.recheckLater(agentID)
		return
	}
	p.remember(agentID, Offline)
	if ok {
		p.onChange(agentID, Offline)
	}
}

// recheckLater leaves an agent's going offline to the next sweeps, for
// when Redis answers again.
func (p *RedisPresence) recheckLater(agentID string) {
	p.mu.Lock()
	p.recheck[agentID] = time.Time{}
	p.mu.Unlock()
}

// heldLocally reports whether this node holds a connection of the agent,
// or is in the grace period after one (p.mu held).
func (p *RedisPresence) heldLocally(agentID string) bool {
	a := p.local[agentID]
	return a != nil && (a.conns > 0 || a.grace != nil)
}

func (p *RedisPresence) remember(agentID string, s Status) {
	p.mu.Lock()
	p.seen[agentID] = s
	p.mu.Unlock()
}

// SetAway switches a connected agent between online and away.
func (p *RedisPresence) SetAway(agentID string, away bool) {
	before := p.Status(agentID)
	if before == Offline {
		return
	}
	p.mu.Lock()
	if a := p.local[agentID]; a != nil {
		a.away = away
	}
	p.mu.Unlock()
	ctx, cancel := p.ctx()
	_, err := p.client.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		if away {
			pipe.Set(ctx, p.key("away", agentID), "1", 24*time.Hour)
		} else {
			pipe.Del(ctx, p.key("away", agentID))
			pipe.Set(ctx, p.key("work", agentID), p.now().UnixMilli(), 0)
		}
		return nil
	})
	cancel()
	if err != nil {
		p.log.Warn("presence: away", slog.String("agent", agentID), slog.Any("err", err))
		return
	}
	if after := p.Status(agentID); after != before {
		p.remember(agentID, after)
		p.onChange(agentID, after)
	}
}

// Status returns an agent's presence across nodes.
func (p *RedisPresence) Status(agentID string) Status {
	st, err := p.statuses([]string{agentID})
	if err != nil {
		return p.localStatus(agentID)
	}
	return st[agentID].status
}

// localStatus answers when Redis cannot: from this node's connections,
// else the status the last sweep saw. It is an estimate for display and
// routing, never a reason to declare an agent offline.
func (p *RedisPresence) localStatus(agentID string) Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.heldLocally(agentID) {
		if p.local[agentID].away {
			return Away
		}
		return Online
	}
	if s, ok := p.seen[agentID]; ok {
		return s
	}
	return Offline
}

type agentState struct {
	status   Status
	lastWork time.Time
}

// statuses reads several agents' state in one round trip.
func (p *RedisPresence) statuses(ids []string) (map[string]agentState, error) {
	ctx, cancel := p.ctx()
	defer cancel()
	now := strconv.FormatInt(p.now().UnixMilli(), 10)
	type cmds struct {
		live        *redis.IntCmd
		grace, away *redis.IntCmd
		work        *redis.StringCmd
	}
	cs := make([]cmds, len(ids))
	_, err := p.client.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for i, id := range ids {
			cs[i] = cmds{
				live:  pipe.ZCount(ctx, p.key("nodes", id), now, "+inf"),
				grace: pipe.Exists(ctx, p.key("grace", id)),
				away:  pipe.Exists(ctx, p.key("away", id)),
				work:  pipe.Get(ctx, p.key("work", id)),
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		p.log.Warn("presence: read", slog.Any("err", err))
		return nil, err
	}
	out := make(map[string]agentState, len(ids))
	for i, id := range ids {
		st := agentState{status: Offline}
		if cs[i].live.Val() > 0 || cs[i].grace.Val() > 0 {
			st.status = Online
			if cs[i].away.Val() > 0 {
				st.status = Away
			}
		}
		if ms, err := strconv.ParseInt(cs[i].work.Val(), 10, 64); err == nil {
			st.lastWork = time.UnixMilli(ms)
		}
		out[id] = st
	}
	return out, nil
}

// all returns every agent ever seen online and their current state.
func (p *RedisPresence) all() (map[string]agentState, error) {
	ctx, cancel := p.ctx()
	ids, err := p.client.SMembers(ctx, p.prefix+"agents").Result()
	cancel()
	if err != nil {
		return nil, err
	}
	return p.statuses(ids)
}

// Online returns the online agents of every node with the time each last
// took work.
func (p *RedisPresence) Online() map[string]time.Time {
	out := map[string]time.Time{}
	st, err := p.all()
	if err != nil {
		p.mu.Lock()
		for id, a := range p.local {
			if (a.conns > 0 || a.grace != nil) && !a.away {
				out[id] = time.Time{}
			}
		}
		p.mu.Unlock()
		return out
	}
	for id, s := range st {
		if s.status == Online {
			out[id] = s.lastWork
		}
	}
	return out
}

// MarkAssigned records when the agent last took a conversation.
func (p *RedisPresence) MarkAssigned(agentID string, at time.Time) {
	ctx, cancel := p.ctx()
	defer cancel()
	if err := p.client.Set(ctx, p.key("work", agentID), at.UnixMilli(), 0).Err(); err != nil {
		p.log.Warn("presence: mark assigned", slog.String("agent", agentID), slog.Any("err", err))
	}
}

// Run refreshes this node's claims every third of the TTL, and reports
// agents who went offline because another node stopped refreshing, until
// ctx ends; then it withdraws this node's claims.
func (p *RedisPresence) Run(ctx context.Context) error {
	tick := time.NewTicker(p.ttl / 3)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			p.withdraw()
			return nil
		case <-tick.C:
			p.refresh()
			p.sweep()
		}
	}
}

// refresh renews this node's claims. When Redis has lost an agent's state
// (it restarted without persistence, or was flushed: this node's claim is
// gone), the agent's away flag is written back with the claim, in one
// transaction, so they never look online meanwhile; otherwise it reads the
// flag, which any node may have changed, into its mirror.
func (p *RedisPresence) refresh() {
	p.mu.Lock()
	var ids []string
	for id, a := range p.local {
		if a.conns > 0 {
			ids = append(ids, id)
		}
	}
	p.mu.Unlock()
	if len(ids) == 0 {
		return
	}
	ctx, cancel := p.ctx()
	defer cancel()
	claims := make([]*redis.FloatCmd, len(ids))
	aways := make([]*redis.IntCmd, len(ids))
	_, err := p.client.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for i, id := range ids {
			claims[i] = pipe.ZScore(ctx, p.key("nodes", id), p.node)
			aways[i] = pipe.Exists(ctx, p.key("away", id))
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		p.log.Warn("presence: refresh", slog.Any("err", err))
		return
	}
	var restore []string
	p.mu.Lock()
	for i, id := range ids {
		a := p.local[id]
		switch {
		case a == nil:
		case errors.Is(claims[i].Err(), redis.Nil):
			if a.away {
				restore = append(restore, id)
			}
		case claims[i].Err() == nil && aways[i].Err() == nil:
			a.away = aways[i].Val() > 0
		}
	}
	p.mu.Unlock()
	if _, err := p.client.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		for _, id := range ids {
			p.claim(ctx, pipe, id)
		}
		for _, id := range restore {
			pipe.SetNX(ctx, p.key("away", id), "1", 24*time.Hour)
		}
		return nil
	}); err != nil {
		p.log.Warn("presence: refresh", slog.Any("err", err))
	}
}

// sweep notices agents who went offline without a release on any live
// node (their node crashed) and reports each once; and it decides about
// the agents whose going offline Redis could not confirm before: offline
// for a TTL now (long enough for every node to have restored its claims
// after Redis lost them), or online after all.
func (p *RedisPresence) sweep() {
	st, err := p.all()
	if err != nil {
		return
	}
	var gone []string
	p.mu.Lock()
	for id, s := range st {
		if prev, ok := p.seen[id]; ok && prev != Offline && s.status == Offline {
			gone = append(gone, id)
		}
		p.seen[id] = s.status
	}
	pending := make([]string, 0, len(p.recheck))
	for id := range p.recheck {
		pending = append(pending, id)
	}
	p.mu.Unlock()
	if len(pending) > 0 {
		if rs, err := p.statuses(pending); err == nil {
			now := p.now()
			p.mu.Lock()
			for _, id := range pending {
				since, ok := p.recheck[id]
				switch {
				case !ok:
				case rs[id].status != Offline || p.heldLocally(id):
					delete(p.recheck, id)
				case since.IsZero():
					p.recheck[id] = now
				case now.Sub(since) >= p.ttl:
					delete(p.recheck, id)
					if !slices.Contains(gone, id) {
						gone = append(gone, id)
					}
				}
			}
			p.mu.Unlock()
		}
	}
	for _, id := range gone {
		p.noteOffline(id)
	}
}

// Gone returns those of agentIDs who are offline on every node, and have
// been for a TTL as far as this node looked (so that a Redis that lost its
// data has had every node's refresh put their claims back), once a grace
// period has passed since this node started. When Redis cannot answer it
// returns nobody.
func (p *RedisPresence) Gone(agentIDs []string) []string {
	if len(agentIDs) == 0 {
		return nil
	}
	st, err := p.statuses(agentIDs)
	if err != nil {
		return nil
	}
	now := p.now()
	settled := now.Sub(p.started) >= p.grace
	p.mu.Lock()
	defer p.mu.Unlock()
	since := make(map[string]time.Time, len(agentIDs))
	var out []string
	for _, id := range agentIDs {
		if st[id].status != Offline || p.heldLocally(id) {
			continue
		}
		t, ok := p.offlineSince[id]
		if !ok {
			t = now
		}
		since[id] = t
		if settled && now.Sub(t) >= p.ttl {
			out = append(out, id)
		}
	}
	p.offlineSince = since
	return out
}

// withdraw removes this node's claims at shutdown; its agents' other
// connections (other nodes) keep them online.
func (p *RedisPresence) withdraw() {
	p.mu.Lock()
	var ids []string
	for id, a := range p.local {
		if a.grace != nil {
			a.grace.Stop()
		}
		ids = append(ids, id)
	}
	p.mu.Unlock()
	ctx, cancel := p.ctx()
	defer cancel()
	_, _ = p.client.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for _, id := range ids {
			pipe.ZRem(ctx, p.key("nodes", id), p.node)
			if p.grace > 0 {
				pipe.Set(ctx, p.key("grace", id), p.node, p.grace)
			}
		}
		return nil
	})
}

// Close releases the Redis connection.
func (p *RedisPresence) Close() error { return p.client.Close() }
