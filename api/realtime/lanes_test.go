package realtime

import (
	"fmt"
	"hash/fnv"
	"slices"
	"sync"
	"testing"
	"time"
)

func laneOf(key string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(key))
	return int(h.Sum32() % uint32(n))
}

func TestLanesKeepOrderWithinAKey(t *testing.T) {
	l := newLanes(4)
	var mu sync.Mutex
	got := map[string][]int{}
	keys := []string{"c1", "c2", "c3", "c4", "c5", "c6"}
	for i := range 200 {
		k := keys[i%len(keys)]
		l.do(k, func() {
			mu.Lock()
			got[k] = append(got[k], i)
			mu.Unlock()
		})
	}
	l.close() // waits for every queued job
	for _, k := range keys {
		if len(got[k]) == 0 || !slices.IsSorted(got[k]) {
			t.Errorf("key %s ran %v, want every job in the order queued", k, got[k])
		}
	}
	total := 0
	for _, v := range got {
		total += len(v)
	}
	if total != 200 {
		t.Errorf("ran %d jobs, want 200", total)
	}
}

func TestLanesRunKeysConcurrently(t *testing.T) {
	l := newLanes(agentLanes)
	defer l.close()
	// Two keys on different lanes: the first job waits for the second, which
	// can only run if the lanes are independent.
	a := "conv-a"
	var b string
	for i := 0; ; i++ {
		b = fmt.Sprintf("conv-%d", i)
		if laneOf(b, agentLanes) != laneOf(a, agentLanes) {
			break
		}
	}
	release := make(chan struct{})
	done := make(chan struct{})
	l.do(a, func() {
		select {
		case <-release:
			close(done)
		case <-time.After(5 * time.Second):
		}
	})
	l.do(b, func() { close(release) })
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a job on one conversation's lane held up another conversation")
	}
}
