package handoff

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/frontdesk/frontdesk/data"
	"github.com/frontdesk/frontdesk/data/datatest"
	"github.com/frontdesk/frontdesk/data/pubsub"
)

// changes records onChange calls of several nodes.
type changes struct {
	mu  sync.Mutex
	got []string
	ch  chan struct{}
}

func newChanges() *changes { return &changes{ch: make(chan struct{}, 64)} }

func (c *changes) on(node string) func(string, Status) {
	return func(agent string, s Status) {
		c.mu.Lock()
		c.got = append(c.got, node+":"+agent+":"+string(s))
		c.mu.Unlock()
		c.ch <- struct{}{}
	}
}

// waitCount waits until n changes with the given suffix were reported, and
// fails after 10 s.
func (c *changes) waitCount(t *testing.T, suffix string, n int) {
	t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		k := 0
		for _, g := range c.got {
			if len(g) >= len(suffix) && g[len(g)-len(suffix):] == suffix {
				k++
			}
		}
		got := append([]string(nil), c.got...)
		c.mu.Unlock()
		if k >= n {
			return
		}
		select {
		case <-c.ch:
		case <-deadline.C:
			t.Fatalf("want %d changes ending %q; got %v", n, suffix, got)
		}
	}
}

func (c *changes) count(suffix string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := 0
	for _, g := range c.got {
		if len(g) >= len(suffix) && g[len(g)-len(suffix):] == suffix {
			k++
		}
	}
	return k
}

func newTestPresence(t *testing.T, prefix, node string, grace, ttl time.Duration, onChange func(string, Status)) *RedisPresence {
	t.Helper()
	p, err := NewRedisPresence(context.Background(), datatest.RedisURL(t), grace, onChange, RedisPresenceOptions{Prefix: prefix, NodeID: node, TTL: ttl})
	if err != nil {
		t.Fatalf("NewRedisPresence: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// TestRedisPresenceAcrossNodes: an agent connected on any node is online on
// every node; away is shared; they go offline once, after the grace period
// that follows their last connection anywhere.
func TestRedisPresenceAcrossNodes(t *testing.T) {
	prefix := "fdtest:" + data.NewID("") + ":"
	ch := newChanges()
	n1 := newTestPresence(t, prefix, "n1", 300*time.Millisecond, time.Minute, ch.on("n1"))
	n2 := newTestPresence(t, prefix, "n2", 300*time.Millisecond, time.Minute, ch.on("n2"))
	const agent = "a_1"
	steps := []struct {
		name string
		do   func()
		want Status
	}{
		{"connect on node 1", func() { release1 = n1.Connect(agent) }, Online},
		{"away set through node 2", func() { n2.SetAway(agent, true) }, Away},
		{"back through node 1", func() { n1.SetAway(agent, false) }, Online},
		{"second tab on node 2", func() { release2 = n2.Connect(agent) }, Online},
		{"node 1 tab closes", func() { release1() }, Online},
		{"node 2 tab closes (grace)", func() { release2() }, Online},
	}
	for _, st := range steps {
		st.do()
		for i, n := range []*RedisPresence{n1, n2} {
			if got := n.Status(agent); got != st.want {
				t.Fatalf("after %s: node %d Status = %s, want %s", st.name, i+1, got, st.want)
			}
		}
		_, online := n2.Online()[agent]
		if online != (st.want == Online) {
			t.Fatalf("after %s: node 2 Online() lists the agent = %v, want %v", st.name, online, st.want == Online)
		}
	}
	ch.waitCount(t, ":offline", 1)
	for i, n := range []*RedisPresence{n1, n2} {
		if got := n.Status(agent); got != Offline {
			t.Errorf("after the grace period node %d Status = %s, want offline", i+1, got)
		}
	}
	if k := ch.count(":online"); k != 2 {
		t.Errorf("online reported %d times, want 2 (connect, back from away); changes %v", k, ch.got)
	}
	// A late second report would arrive from the other node's timer by now.
	n1.sweep()
	n2.sweep()
	if k := ch.count(":offline"); k != 1 {
		t.Errorf("offline reported %d times, want once across nodes; changes %v", k, ch.got)
	}
}

var release1, release2 func()

// TestRedisPresenceCrashedNode: a node that stops refreshing (crashed) loses
// its agents after its TTL; another node reports them offline once.
func TestRedisPresenceCrashedNode(t *testing.T) {
	prefix := "fdtest:" + data.NewID("") + ":"
	ch := newChanges()
	crashed := newTestPresence(t, prefix, "crashed", 0, 300*time.Millisecond, ch.on("crashed"))
	live := newTestPresence(t, prefix, "live", 0, 300*time.Millisecond, ch.on("live"))
	crashed.Connect("a_2")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- live.Run(ctx) }()
	ch.waitCount(t, "live:a_2:offline", 1)
	cancel()
	<-done
	if got := live.Status("a_2"); got != Offline {
		t.Errorf("Status after the crashed node's TTL = %s, want offline", got)
	}
}

// TestRedisRestartOfEveryNodeRequeues: every node restarts while an agent
// holds a conversation, and the agent does not come back: once the grace
// period has passed, a node's tick puts the conversation back in the queue
// for someone else, although no node of the new generation saw the agent.
func TestRedisRestartOfEveryNodeRequeues(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	prefix := "fdtest:" + data.NewID("") + ":"
	const grace, ttl = time.Second, 300 * time.Millisecond
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	pub := pubsub.NewPublisher(e.broker, log)
	a := e.agent("a@x.io", 2, "order_support")
	b := e.agent("b@x.io", 2, "order_support")
	before := newTestPresence(t, prefix, "before", grace, ttl, nil)
	e.router = NewRouter(e.store, pub, before, log, Config{})
	e.router.now = func() time.Time { return e.clock }
	before.Connect(a.ID)
	c := e.enqueue("order_support", 0)
	if got := e.status(c.ID); got.AssignedAgent != a.ID {
		t.Fatalf("before the restart: %s/%s, want assigned to a", got.Status, got.AssignedAgent)
	}
	before.withdraw() // every node stops

	started := time.Now()
	after := newTestPresence(t, prefix, "after", grace, ttl, nil)
	r := NewRouter(e.store, pub, after, log, Config{})
	r.now = func() time.Time { return e.clock }
	r.Tick(ctx)
	if got := e.status(c.ID); got.AssignedAgent != a.ID {
		t.Fatalf("right after the restart: %s/%s, want still with a (within the grace period)", got.Status, got.AssignedAgent)
	}
	after.Connect(b.ID)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- after.Run(runCtx) }() // keeps b's claim fresh
	defer func() { stop(); <-done }()
	deadline := time.Now().Add(5 * time.Second)
	for e.status(c.ID).AssignedAgent == a.ID && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		r.Tick(ctx)
	}
	if got := e.status(c.ID); got.Status != data.StatusAssigned || got.AssignedAgent != b.ID {
		t.Fatalf("5 s after the restart: %s/%s, want requeued and routed to b", got.Status, got.AssignedAgent)
	}
	if took := time.Since(started); took < grace {
		t.Errorf("requeued %s after the restart, before the grace period (%s) had passed", took, grace)
	}
}

// TestRedisPresenceAwayAfterRedisLostData: Redis restarts without its data;
// the node that holds an away agent's connection writes "away" back with
// its claim at its next refresh, also when the agent went away (or came
// back) through another node.
func TestRedisPresenceAwayAfterRedisLostData(t *testing.T) {
	prefix := "fdtest:" + data.NewID("") + ":"
	n1 := newTestPresence(t, prefix, "n1", 0, time.Minute, nil)
	n2 := newTestPresence(t, prefix, "n2", 0, time.Minute, nil)
	const agent = "a_3"
	release := n1.Connect(agent)
	defer release()
	for _, st := range []struct {
		away bool
		want Status
	}{{true, Away}, {false, Online}, {true, Away}} {
		n2.SetAway(agent, st.away) // the console's request reached the other node
		n1.refresh()
		wipeRedis(t, prefix)
		n1.refresh()
		for i, n := range []*RedisPresence{n1, n2} {
			if got := n.Status(agent); got != st.want {
				t.Errorf("SetAway(%v) on node 2, Redis lost its data, node 1 refreshed: node %d Status = %s, want %s", st.away, i+1, got, st.want)
			}
		}
		if _, online := n2.Online()[agent]; online != (st.want == Online) {
			t.Errorf("SetAway(%v), Redis lost its data: Online() lists the agent = %v, want %v", st.away, online, st.want == Online)
		}
	}
}

// TestRedisPresenceOutageDeclaresNobodyOffline: a node that cannot reach
// Redis when an agent's last connection on it closes does not report the
// agent offline: they are still connected to another node, which it learns
// once Redis answers. An agent who really left is reported once, then.
func TestRedisPresenceOutageDeclaresNobodyOffline(t *testing.T) {
	prefix := "fdtest:" + data.NewID("") + ":"
	const grace, ttl = 200 * time.Millisecond, 600 * time.Millisecond
	ch := newChanges()
	proxy, proxied := newRedisProxy(t, datatest.RedisURL(t))
	n1, err := NewRedisPresence(context.Background(), proxied, grace, ch.on("n1"), RedisPresenceOptions{Prefix: prefix, NodeID: "n1", TTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n1.Close() })
	n2 := newTestPresence(t, prefix, "n2", grace, ttl, ch.on("n2"))
	rechecking := func(agent string) bool {
		n1.mu.Lock()
		defer n1.mu.Unlock()
		_, ok := n1.recheck[agent]
		return ok
	}
	waitFor := func(what string, cond func() bool, each func()) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("no %s after 10 s; changes %v", what, ch.got)
			}
			each()
			time.Sleep(50 * time.Millisecond)
		}
	}

	// a_4 has a tab on each node; node 1 loses Redis and its tab closes.
	release2 := n2.Connect("a_4")
	defer release2()
	release1 := n1.Connect("a_4")
	n1.sweep()
	proxy.cut()
	release1()
	waitFor("decision on node 1", func() bool { return rechecking("a_4") || ch.count(":a_4:offline") > 0 }, n2.refresh)
	if k := ch.count(":a_4:offline"); k != 0 {
		t.Fatalf("a_4, still connected to node 2, was reported offline %d times during node 1's outage; changes %v", k, ch.got)
	}
	if got := n1.Status("a_4"); got != Online {
		t.Errorf("node 1's Status during its outage = %s, want online (as last seen)", got)
	}
	proxy.restore()
	waitFor("decision after the outage", func() bool { return !rechecking("a_4") }, func() { n2.refresh(); n1.sweep() })
	if k := ch.count(":a_4:offline"); k != 0 {
		t.Errorf("a_4 was reported offline %d times after the outage, want never; changes %v", k, ch.got)
	}

	// a_5 is connected to node 1 only, and leaves during its outage.
	release5 := n1.Connect("a_5")
	n1.sweep()
	proxy.cut()
	release5()
	waitFor("decision on node 1", func() bool { return rechecking("a_5") || ch.count(":a_5:offline") > 0 }, func() {})
	if k := ch.count(":a_5:offline"); k != 0 {
		t.Fatalf("a_5 was reported offline %d times while Redis could not tell; changes %v", k, ch.got)
	}
	proxy.restore()
	waitFor("a_5 reported offline", func() bool { return ch.count(":a_5:offline") > 0 }, n1.sweep)
	for range 3 {
		n1.sweep()
		n2.sweep()
	}
	if k := ch.count(":a_5:offline"); k != 1 {
		t.Errorf("a_5 was reported offline %d times, want once; changes %v", k, ch.got)
	}
}

// wipeRedis deletes the test's keys, as a Redis restart without
// persistence would.
func wipeRedis(t *testing.T, prefix string) {
	t.Helper()
	o, err := redis.ParseURL(datatest.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(o)
	defer c.Close()
	ctx := context.Background()
	var keys []string
	iter := c.Scan(ctx, 0, prefix+"*", 100).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	if len(keys) > 0 {
		if err := c.Del(ctx, keys...).Err(); err != nil {
			t.Fatal(err)
		}
	}
}

// redisProxy forwards connections to Redis until cut, so that one node can
// lose Redis while the others keep it.
type redisProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  []net.Conn
}

// newRedisProxy starts a proxy to the Redis at redisURL and returns it with
// the URL that reaches Redis through it.
func newRedisProxy(t *testing.T, redisURL string) (*redisProxy, string) {
	t.Helper()
	u, err := url.Parse(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	target := u.Host
	if u.Port() == "" {
		target = net.JoinHostPort(u.Hostname(), "6379")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &redisProxy{ln: ln, target: target}
	go p.serve()
	t.Cleanup(func() {
		ln.Close()
		p.cut()
	})
	u.Host = ln.Addr().String()
	return p, u.String()
}

func (p *redisProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.down {
			p.mu.Unlock()
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(up, c); up.Close() }()
		go func() { _, _ = io.Copy(c, up); c.Close() }()
	}
}

// cut closes every forwarded connection and refuses new ones.
func (p *redisProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// restore forwards new connections again.
func (p *redisProxy) restore() {
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
}
