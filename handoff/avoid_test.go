package handoff

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/data"
)

// TestAvoidanceExpires: an avoidance holds for its duration, for the
// conversation it names only, on every node sharing it.
func TestAvoidanceExpires(t *testing.T) {
	const d = 300 * time.Millisecond
	impls := map[string]func(t *testing.T) (set, get Avoidance){
		"memory": func(t *testing.T) (Avoidance, Avoidance) { a := NewMemoryAvoidance(); return a, a },
		"redis": func(t *testing.T) (Avoidance, Avoidance) {
			prefix := "fdtest:" + data.NewID("") + ":"
			return newTestPresence(t, prefix, "n1", 0, time.Minute, nil).Avoidance(), newTestPresence(t, prefix, "n2", 0, time.Minute, nil).Avoidance()
		},
	}
	for name, impl := range impls {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			set, get := impl(t)
			set.Avoid(ctx, "c_1", "a_1", d)
			set.Avoid(ctx, "c_2", "a_2", time.Minute)
			if got := fmt.Sprint(get.Avoiding(ctx, []string{"c_1", "c_2", "c_3"})); got != "map[c_1:a_1 c_2:a_2]" {
				t.Errorf("Avoiding(c_1, c_2, c_3) = %s, want map[c_1:a_1 c_2:a_2]", got)
			}
			time.Sleep(d + 50*time.Millisecond)
			if got := fmt.Sprint(get.Avoiding(ctx, []string{"c_1", "c_2"})); got != "map[c_2:a_2]" {
				t.Errorf("Avoiding(c_1, c_2) after c_1's %s = %s, want map[c_2:a_2]", d, got)
			}
		})
	}
}

// TestRedisAvoidanceWithoutRedis: when Redis fails, a node still keeps the
// conversations it transferred away from their agents.
func TestRedisAvoidanceWithoutRedis(t *testing.T) {
	ctx := context.Background()
	p := newTestPresence(t, "fdtest:"+data.NewID("")+":", "n1", 0, time.Minute, nil)
	av := p.Avoidance()
	av.Avoid(ctx, "c_1", "a_1", time.Minute)
	p.Close()
	if got := fmt.Sprint(av.Avoiding(ctx, []string{"c_1"})); got != "map[c_1:a_1]" {
		t.Errorf("Avoiding(c_1) with Redis closed = %s, want this node's own map[c_1:a_1]", got)
	}
}
