package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/api/realtime"
	"github.com/frontdesk/frontdesk/data/pubsub"
)

func TestCheckLoopback(t *testing.T) {
	tests := []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:6060", true},
		{"localhost:6060", true},
		{"[::1]:6060", true},
		{"0.0.0.0:6060", false},
		{":6060", false},
		{"10.1.2.3:6060", false},
		{"example.com:6060", false},
		{"127.0.0.1", false},
	}
	for _, tt := range tests {
		if err := checkLoopback(tt.addr); (err == nil) != tt.ok {
			t.Errorf("checkLoopback(%q) = %v, want ok=%v", tt.addr, err, tt.ok)
		}
	}
}

func TestDebugStats(t *testing.T) {
	broker := pubsub.NewMemory()
	defer broker.Close()
	hub := realtime.NewHub(broker, slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv := httptest.NewServer(debugHandler(hub))
	defer srv.Close()
	// Use some CPU first, so that the process has a nonzero CPU time to report.
	var used float64
	for deadline := time.Now().Add(10 * time.Second); used == 0 && time.Now().Before(deadline); {
		for i := 0; i < 1e6; i++ {
			_ = strconv.Itoa(i)
		}
		u, s, err := readCPU()
		if err != nil {
			t.Fatal(err)
		}
		used = u + s
	}
	resp, err := http.Get(srv.URL + "/debug/stats?gc=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st debugStats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatalf("GET /debug/stats: %v", err)
	}
	if resp.StatusCode != 200 || st.RSSBytes <= 0 || st.Goroutines <= 0 || st.Connections != 0 {
		t.Errorf("GET /debug/stats = %d %+v; want RSS, goroutines and 0 connections", resp.StatusCode, st)
	}
	if used == 0 || st.CPUUserSeconds+st.CPUSystemSeconds < used {
		t.Errorf("GET /debug/stats: CPU %.2f + %.2f s, want at least the %.2f s read before", st.CPUUserSeconds, st.CPUSystemSeconds, used)
	}
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/goroutine?debug=1"} {
		r, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != 200 {
			t.Errorf("GET %s = %d, want 200", path, r.StatusCode)
		}
	}
}

func TestParseCPU(t *testing.T) {
	tests := []struct {
		stat         string
		user, system float64
		ok           bool
	}{
		{"4242 (frontdesk) S 1 4242 4242 0 -1 4194560 1520 0 0 0 1234 56 0 0 20 0 9 0 100 1000 200", 12.34, 0.56, true},
		{"7 (a b) (c)) R 1 7 7 0 -1 0 0 0 0 0 5 7 0 0 20 0 1 0 1 1 1", 0.05, 0.07, true},
		{"4242 (frontdesk) S 1 4242", 0, 0, false},
		{"no parenthesis 1 2 3", 0, 0, false},
		{"1 (x) S 1 1 1 0 -1 0 0 0 0 0 abc 5 0", 0, 0, false},
	}
	for _, tt := range tests {
		u, s, err := parseCPU(tt.stat)
		if (err == nil) != tt.ok || u != tt.user || s != tt.system {
			t.Errorf("parseCPU(%q) = %v, %v, %v; want %v, %v, ok=%v", tt.stat, u, s, err, tt.user, tt.system, tt.ok)
		}
	}
}
