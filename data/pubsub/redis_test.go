package pubsub

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/data"
	"github.com/frontdesk/frontdesk/data/datatest"
	"github.com/redis/go-redis/v9"
)

// newTestRedis connects a broker with a channel prefix of its own test, so
// parallel runs on one Redis never hear each other.
func newTestRedis(t *testing.T, prefix string, opts ...RedisOption) *Redis {
	t.Helper()
	url := datatest.RedisURL(t)
	r, err := NewRedis(context.Background(), url, append([]RedisOption{WithPrefix(prefix)}, opts...)...)
	if err != nil {
		t.Fatalf("NewRedis(%s): %v", url, err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func testPrefix() string { return "fdtest:" + data.NewID("") + ":" }

func TestRedisBroker(t *testing.T) {
	testBroker(t, newTestRedis(t, testPrefix()))
}

// inbox collects payloads and lets a test wait for one.
type inbox struct {
	mu  sync.Mutex
	got []string
	ch  chan struct{}
}

func newInbox() *inbox { return &inbox{ch: make(chan struct{}, 1)} }

func (in *inbox) handler(topic string, p []byte) {
	in.mu.Lock()
	in.got = append(in.got, string(p))
	in.mu.Unlock()
	select {
	case in.ch <- struct{}{}:
	default:
	}
}

// waitFor waits until want has arrived; it fails the test after 15 s.
func (in *inbox) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.NewTimer(15 * time.Second)
	defer deadline.Stop()
	for {
		in.mu.Lock()
		for _, g := range in.got {
			if g == want {
				in.mu.Unlock()
				return
			}
		}
		got := strings.Join(in.got, ",")
		in.mu.Unlock()
		select {
		case <-in.ch:
		case <-deadline.C:
			t.Fatalf("waiting for %q: received only [%s]", want, got)
		}
	}
}

// TestRedisAcrossNodes: a publication on one node reaches the other.
func TestRedisAcrossNodes(t *testing.T) {
	prefix := testPrefix()
	a, b := newTestRedis(t, prefix), newTestRedis(t, prefix)
	in := newInbox()
	if _, err := b.Subscribe("conv.1", in.handler); err != nil {
		t.Fatal(err)
	}
	if err := a.Publish(context.Background(), "conv.1", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	in.waitFor(t, "hello")
	other := newTestRedis(t, testPrefix())
	if err := other.Publish(context.Background(), "conv.1", []byte("another installation")); err != nil {
		t.Fatal(err)
	}
	if err := a.Publish(context.Background(), "conv.1", []byte("after")); err != nil {
		t.Fatal(err)
	}
	in.waitFor(t, "after")
	in.mu.Lock()
	defer in.mu.Unlock()
	if fmt.Sprint(in.got) != "[hello after]" {
		t.Errorf("node b received %v, want [hello after] (nothing from another prefix)", in.got)
	}
}

// TestRedisReconnects kills the broker's subscription connection (as a Redis
// restart does): the broker reconnects, resubscribes, hands the recoverer's
// payloads to subscribers, and delivers later publications.
func TestRedisReconnects(t *testing.T) {
	prefix := testPrefix()
	name := "fdtest-" + data.NewID("")
	recovered := make(chan string, 8)
	sub := newTestRedis(t, prefix, WithRecoverer(func(ctx context.Context, topic string) [][]byte {
		recovered <- topic
		return [][]byte{[]byte("recovered " + topic)}
	}))
	pub := newTestRedis(t, prefix)
	in := newInbox()
	if _, err := sub.Subscribe("conv.9", in.handler); err != nil {
		t.Fatal(err)
	}
	admin := redis.NewClient(&redis.Options{Addr: sub.client.Options().Addr})
	defer admin.Close()
	// Name the subscription connection so that only it is killed.
	if err := sub.ps.ClientSetName(context.Background(), name); err != nil {
		t.Fatalf("CLIENT SETNAME: %v", err)
	}
	if err := pub.Publish(context.Background(), "conv.9", []byte("before")); err != nil {
		t.Fatal(err)
	}
	in.waitFor(t, "before")
	list, err := admin.ClientList(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	killed := 0
	for _, line := range strings.Split(list, "\n") {
		if !strings.Contains(line, " name="+name+" ") {
			continue
		}
		for _, f := range strings.Fields(line) {
			if id, ok := strings.CutPrefix(f, "id="); ok {
				if err := admin.Do(context.Background(), "CLIENT", "KILL", "ID", id).Err(); err != nil {
					t.Fatalf("CLIENT KILL ID %s: %v", id, err)
				}
				killed++
			}
		}
	}
	if killed != 1 {
		t.Fatalf("killed %d connections named %s, want 1", killed, name)
	}
	in.waitFor(t, "recovered conv.9")
	if topic := <-recovered; topic != "conv.9" {
		t.Errorf("recovered topic %q, want conv.9", topic)
	}
	// Recovery runs once Redis has confirmed the subscription again, so a
	// publication from now on must arrive.
	if err := pub.Publish(context.Background(), "conv.9", []byte("after")); err != nil {
		t.Fatal(err)
	}
	in.waitFor(t, "after")
}
