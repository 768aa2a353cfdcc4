package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

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
