package handoff

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/data"
	"github.com/frontdesk/frontdesk/data/datatest"
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
