package pubsub

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// TestBroker is the behaviour every Broker must show.
func TestBroker(t *testing.T) {
	testBroker(t, NewMemory())
}

// testBroker checks what every broker does. Delivery may be asynchronous
// (Redis), so it waits for the messages it expects, then checks that none
// more arrived: a broker delivers a topic's messages in order, so once "z"
// has reached b, anything a or c would have received has arrived too.
func testBroker(t *testing.T, b Broker) {
	ctx := context.Background()
	var mu sync.Mutex
	arrived := sync.NewCond(&mu)
	got := map[string][]string{}
	record := func(name string) Handler {
		return func(topic string, p []byte) {
			mu.Lock()
			got[name] = append(got[name], topic+":"+string(p))
			arrived.Broadcast()
			mu.Unlock()
		}
	}
	waitFor := func(name string, n int) {
		t.Helper()
		timeout := time.AfterFunc(10*time.Second, func() {
			mu.Lock()
			arrived.Broadcast()
			mu.Unlock()
		})
		defer timeout.Stop()
		start := time.Now()
		mu.Lock()
		defer mu.Unlock()
		for len(got[name]) < n {
			if time.Since(start) >= 10*time.Second {
				t.Fatalf("subscriber %s received %s, want %d messages", name, fmtList(got[name]), n)
			}
			arrived.Wait()
		}
	}
	cancelA, err := b.Subscribe("conv.1", record("a"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Subscribe("conv.1", record("b")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Subscribe("conv.2", record("c")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"x", "y"} {
		if err := b.Publish(ctx, "conv.1", []byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor("a", 2)
	cancelA()
	cancelA() // idempotent
	_ = b.Publish(ctx, "conv.3", []byte("nobody"))
	_ = b.Publish(ctx, "conv.1", []byte("z"))
	waitFor("b", 3)
	want := map[string]string{"a": "[conv.1:x conv.1:y]", "b": "[conv.1:x conv.1:y conv.1:z]", "c": "[]"}
	mu.Lock()
	for name, w := range want {
		if g := fmtList(got[name]); g != w {
			t.Errorf("subscriber %s received %s, want %s", name, g, w)
		}
	}
	mu.Unlock()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, "conv.1", []byte("after")); !errors.Is(err, ErrClosed) {
		t.Errorf("Publish after Close = %v, want ErrClosed", err)
	}
}

func fmtList(xs []string) string {
	s := "["
	for i, x := range xs {
		if i > 0 {
			s += " "
		}
		s += x
	}
	return s + "]"
}
