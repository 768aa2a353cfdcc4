package pubsub

import (
	"context"
	"errors"
	"sync"
	"testing"
)

// TestBroker is the behaviour every Broker must show.
func TestBroker(t *testing.T) {
	testBroker(t, NewMemory())
}

func testBroker(t *testing.T, b Broker) {
	ctx := context.Background()
	var mu sync.Mutex
	got := map[string][]string{}
	record := func(name string) Handler {
		return func(topic string, p []byte) {
			mu.Lock()
			got[name] = append(got[name], topic+":"+string(p))
			mu.Unlock()
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
	cancelA()
	cancelA() // idempotent
	_ = b.Publish(ctx, "conv.1", []byte("z"))
	_ = b.Publish(ctx, "conv.3", []byte("nobody"))
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
