package bot

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// ContextStoreSuite checks a ContextStore; every backend runs it.
func testContextStore(t *testing.T, s ContextStore, advance func(time.Duration)) {
	ctx := context.Background()
	st := State{Lang: "zh", Topic: Topic{Query: "运费", FAQID: "shipping-cost", Skill: "order_support"},
		Slots: map[string]string{"order_id": "20240518001"}, Flow: &FlowState{Name: "order_status", Slot: 1},
		Turns: []TurnRecord{{Text: "运费", Kind: KindAnswer, At: time.Unix(1700000000, 0).UTC()}}, Fallbacks: 1}
	tests := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"missing", func(t *testing.T) {
			if _, ok, err := s.Get(ctx, "nope"); ok || err != nil {
				t.Errorf("Get(nope) = ok %v err %v, want not found", ok, err)
			}
		}},
		{"put and get", func(t *testing.T) {
			if err := s.Put(ctx, "c1", st, time.Minute); err != nil {
				t.Fatal(err)
			}
			got, ok, err := s.Get(ctx, "c1")
			if err != nil || !ok || !reflect.DeepEqual(got, st) {
				t.Errorf("Get(c1) = %+v %v %v, want %+v", got, ok, err, st)
			}
		}},
		{"values are copies", func(t *testing.T) {
			got, _, _ := s.Get(ctx, "c1")
			got.Slots["order_id"] = "x"
			got.Flow.Slot = 9
			again, _, _ := s.Get(ctx, "c1")
			if again.Slots["order_id"] != "20240518001" || again.Flow.Slot != 1 {
				t.Errorf("changing a returned state changed the stored one: %+v", again)
			}
		}},
		{"expires", func(t *testing.T) {
			s.Put(ctx, "c2", st, time.Second)
			advance(2 * time.Second)
			if _, ok, _ := s.Get(ctx, "c2"); ok {
				t.Error("Get after the TTL found the state")
			}
		}},
		{"delete", func(t *testing.T) {
			s.Put(ctx, "c3", st, time.Minute)
			if err := s.Delete(ctx, "c3"); err != nil {
				t.Fatal(err)
			}
			if _, ok, _ := s.Get(ctx, "c3"); ok {
				t.Error("Get after Delete found the state")
			}
		}},
		{"json round trip", func(t *testing.T) {
			b, err := json.Marshal(st)
			if err != nil {
				t.Fatal(err)
			}
			var back State
			if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, st) {
				t.Errorf("State JSON round trip = %+v, %v; want %+v", back, err, st)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.run)
	}
}

func TestMemoryStore(t *testing.T) {
	now := time.Unix(1700000000, 0)
	m := NewMemoryStore()
	m.now = func() time.Time { return now }
	testContextStore(t, m, func(d time.Duration) { now = now.Add(d) })
}

func TestMemoryStoreSweepsExpired(t *testing.T) {
	now := time.Unix(1700000000, 0)
	m := NewMemoryStore()
	m.now = func() time.Time { return now }
	for i := 0; i < 1000; i++ {
		m.Put(context.Background(), string(rune(0x4e00+i)), State{}, time.Second)
	}
	now = now.Add(time.Minute)
	for i := 0; i < 24; i++ {
		m.Put(context.Background(), "live", State{}, time.Hour)
	}
	if n := m.Len(); n != 1 {
		t.Errorf("after 1024 puts, %d states kept, want 1 (expired ones swept)", n)
	}
}
