package redisctx

import (
	"context"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/bot"
	"github.com/frontdesk/frontdesk/data"
)

func openTest(t *testing.T) *Store {
	t.Helper()
	url := os.Getenv("FRONTDESK_TEST_REDIS_URL")
	if url == "" {
		url = "redis://127.0.0.1:6379/0"
	}
	s, err := Open(context.Background(), url, "frontdesk-test:"+data.NewID("")+":")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("redis is required under CI: %v", err)
		}
		t.Skipf("no redis: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestRedisContextStore runs the context-store behaviour against real Redis.
func TestRedisContextStore(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	st := bot.State{Lang: "zh", Topic: bot.Topic{Query: "运费", FAQID: "shipping-cost", Skill: "order_support"},
		Slots: map[string]string{"order_id": "20240518001"}, Flow: &bot.FlowState{Name: "order_status", Slot: 1},
		Turns: []bot.TurnRecord{{Text: "运费", Kind: bot.KindAnswer, At: time.Unix(1700000000, 0).UTC()}}, Fallbacks: 1}
	if _, ok, err := s.Get(ctx, "nope"); ok || err != nil {
		t.Errorf("Get(nope) = ok %v err %v, want not found", ok, err)
	}
	if err := s.Put(ctx, "c1", st, time.Minute); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.Get(ctx, "c1")
	if err != nil || !ok || !reflect.DeepEqual(got, st) {
		t.Errorf("Get(c1) = %+v %v %v, want %+v", got, ok, err, st)
	}
	got.Slots["order_id"] = "x"
	if again, _, _ := s.Get(ctx, "c1"); again.Slots["order_id"] != "20240518001" {
		t.Error("changing a returned state changed the stored one")
	}
	if err := s.Put(ctx, "c2", st, 150*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(400 * time.Millisecond) // let Redis expire the key
	if _, ok, _ := s.Get(ctx, "c2"); ok {
		t.Error("Get after the TTL found the state")
	}
	if err := s.Delete(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Get(ctx, "c1"); ok {
		t.Error("Get after Delete found the state")
	}
	if err := s.Put(ctx, "c3", st, 0); err == nil {
		t.Error("Put with no TTL accepted")
	}
}
