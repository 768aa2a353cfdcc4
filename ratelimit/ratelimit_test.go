package ratelimit

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"
)

func TestRedisLimiterIsShared(t *testing.T) {
	url := os.Getenv("FRONTDESK_TEST_REDIS_URL")
	if url == "" {
		url = "redis://127.0.0.1:6379/0"
	}
	ctx := context.Background()
	prefix := "frontdesk-test-rl:" + fmt.Sprint(time.Now().UnixNano()) + ":"
	a, err := NewRedis(ctx, url, prefix, 3, time.Minute)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("redis is required under CI: %v", err)
		}
		t.Skipf("no redis: %v", err)
	}
	defer a.Close()
	b, err := NewRedis(ctx, url, prefix, 3, time.Minute) // a second node
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	fixed := time.Date(2026, 11, 23, 10, 0, 10, 0, time.UTC)
	a.now, b.now = func() time.Time { return fixed }, func() time.Time { return fixed }
	results := []bool{}
	for _, l := range []*Redis{a, b, a, b} {
		ok, _ := l.Allow(ctx, "ip:203.0.113.7")
		results = append(results, ok)
	}
	if results[0] != true || results[1] != true || results[2] != true || results[3] != false {
		t.Errorf("4 attempts across two nodes with a limit of 3 = %v, want [true true true false]", results)
	}
	if ok, wait := b.Allow(ctx, "ip:203.0.113.7"); ok || wait != 50*time.Second {
		t.Errorf("over the limit: ok %v, wait %v; want false and 50s to the next window", ok, wait)
	}
	if ok, _ := a.Allow(ctx, "ip:198.51.100.1"); !ok {
		t.Error("another key was limited")
	}
	next := fixed.Add(time.Minute)
	a.now = func() time.Time { return next }
	if ok, _ := a.Allow(ctx, "ip:203.0.113.7"); !ok {
		t.Error("the next window is still limited")
	}
}

func TestFactoryLimitersAreSeparate(t *testing.T) {
	url := os.Getenv("FRONTDESK_TEST_REDIS_URL")
	if url == "" {
		url = "redis://127.0.0.1:6379/0"
	}
	f, err := NewFactory(context.Background(), url, "frontdesk-test-rlf:"+fmt.Sprint(time.Now().UnixNano())+":")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("redis is required under CI: %v", err)
		}
		t.Skipf("no redis: %v", err)
	}
	defer f.Close()
	login, sessions := f.Limiter("login", 1, time.Minute), f.Limiter("sessions", 1, time.Minute)
	ctx := context.Background()
	if ok, _ := login.Allow(ctx, "k"); !ok {
		t.Fatal("first login refused")
	}
	if ok, _ := login.Allow(ctx, "k"); ok {
		t.Error("second login allowed with a limit of 1")
	}
	if ok, _ := sessions.Allow(ctx, "k"); !ok {
		t.Error("the sessions limiter shares the login count")
	}
}

func TestOnceIsShared(t *testing.T) {
	url := os.Getenv("FRONTDESK_TEST_REDIS_URL")
	if url == "" {
		url = "redis://127.0.0.1:6379/0"
	}
	prefix := "frontdesk-test-once:" + fmt.Sprint(time.Now().UnixNano()) + ":"
	a, err := NewFactory(context.Background(), url, prefix)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("redis is required under CI: %v", err)
		}
		t.Skipf("no redis: %v", err)
	}
	defer a.Close()
	b, _ := NewFactory(context.Background(), url, prefix)
	defer b.Close()
	ctx := context.Background()
	until := time.Now().Add(time.Minute)
	if first, err := a.Once().Use(ctx, "jti:abc", until); !first || err != nil {
		t.Fatalf("first use = %v, %v", first, err)
	}
	if first, _ := b.Once().Use(ctx, "jti:abc", until); first {
		t.Error("a second node accepted the same key")
	}
	if first, _ := b.Once().Use(ctx, "jti:def", until); !first {
		t.Error("another key was refused")
	}
}
