package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(xs ...int) []time.Duration {
		out := make([]time.Duration, len(xs))
		for i, x := range xs {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		q      float64
		want   time.Duration
	}{
		{"empty", nil, 0.5, 0},
		{"one sample", ms(7), 0.99, 7 * time.Millisecond},
		{"median of 1..100", ms(hundred...), 0.50, 50 * time.Millisecond},
		{"p99 of 1..100", ms(hundred...), 0.99, 99 * time.Millisecond},
		{"p999 of 1..100 is the max", ms(hundred...), 0.999, 100 * time.Millisecond},
		{"p50 of 4 takes the lower middle", ms(1, 2, 3, 4), 0.5, 2 * time.Millisecond},
		{"q=1 is the max", ms(1, 2, 3), 1, 3 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.sorted, tt.q); got != tt.want {
				t.Errorf("percentile(%v, %v) = %v, want %v", tt.sorted, tt.q, got, tt.want)
			}
		})
	}
}

func TestRecorderSummary(t *testing.T) {
	var r recorder
	if s := r.summary(); s != nil {
		t.Errorf("summary of no samples = %+v, want nil", s)
	}
	for i := 1000; i >= 1; i-- {
		r.add(time.Duration(i) * time.Microsecond)
	}
	s := r.summary()
	if s.Count != 1000 || s.P50 != 0.5 || s.P99 != 0.99 || s.P999 != 0.999 || s.Max != 1 {
		t.Errorf("summary of 1..1000 µs = %+v, want count 1000, p50 0.5, p99 0.99, p999 0.999, max 1 ms", s)
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"defaults", nil, ""},
		{"localhost", []string{"--server", "http://localhost:9000"}, ""},
		{"ipv6 loopback", []string{"--server", "http://[::1]:9000", "--debug", "http://127.0.0.2:6060"}, ""},
		{"remote server refused", []string{"--server", "http://10.0.0.5:8080"}, "only loopback"},
		{"public name refused", []string{"--server", "http://example.com:8080"}, "only loopback"},
		{"remote debug refused", []string{"--debug", "http://192.168.1.1:6060"}, "only loopback"},
		{"https refused", []string{"--server", "https://127.0.0.1:8080"}, "want a URL"},
		{"unbounded duration refused", []string{"--duration", "1h"}, "--duration"},
		{"too many connections", []string{"--idle-conns", "50000"}, "--idle-conns"},
		{"too many agents", []string{"--relay-agents", "20"}, "--relay-agents"},
		{"profile without debug", []string{"--profile-dir", "x"}, "needs --debug"},
		{"loads", []string{"--loads", "0.5, 1"}, ""},
		{"no open loops", []string{"--loads", "none"}, ""},
		{"load above 1 refused", []string{"--loads", "0.5,1.5"}, "fraction"},
		{"load not a number refused", []string{"--loads", "half"}, "fraction"},
		{"relay rounds", []string{"--relay-rounds", "3"}, ""},
		{"no relay rounds refused", []string{"--relay-rounds", "0"}, "--relay-rounds"},
		{"too many relay rounds refused", []string{"--relay-rounds", "10"}, "--relay-rounds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr strings.Builder
			_, _, err := parseOptions(tt.args, &stderr)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("parseOptions(%q) = %v, want no error", tt.args, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("parseOptions(%q) = %v, want an error containing %q", tt.args, err, tt.wantErr)
			}
		})
	}
}

func TestStampRoundTrip(t *testing.T) {
	now := time.Unix(1790000000, 123456789)
	tests := []struct {
		name, text string
		wantPhase  int
		wantOK     bool
	}{
		{"relay text", relayText(now, 3), 3, true},
		{"phase zero", relayText(now, 0), 0, true},
		{"not ours", "hello there", 0, false},
		{"no phase", stamp(relayPrefix, now), 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, k, ok := parseRelayText(tt.text)
			if ok != tt.wantOK || (ok && (!got.Equal(now) || k != tt.wantPhase)) {
				t.Errorf("parseRelayText(%q) = %v, %d, %v; want %v, %d, %v", tt.text, got, k, ok, now, tt.wantPhase, tt.wantOK)
			}
		})
	}
	id := stamp("q", now) + "-17"
	if got, ok := parseStamp(id, "q"); !ok || !got.Equal(now) {
		t.Errorf("parseStamp(%q) = %v, %v; want %v", id, got, ok, now)
	}
}

func TestEchoMessageSize(t *testing.T) {
	for _, n := range []int{64, 128, 1000} {
		if got := len(echoMessage(n)); got != n {
			t.Errorf("len(echoMessage(%d)) = %d", n, got)
		}
	}
}

// TestEchoOverLoopback runs the reference with a few connections for a
// moment: it must complete round trips without errors.
func TestEchoOverLoopback(t *testing.T) {
	srv, err := startEcho()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	res, err := runEcho(context.Background(), srv.url(), 3, 128, 200*time.Millisecond)
	if err != nil {
		t.Fatalf("runEcho = %v", err)
	}
	if res.Rate <= 0 || res.Errors != 0 || res.Latency == nil || res.Latency.Count == 0 {
		t.Errorf("runEcho = rate %v, errors %d, latency %+v; want round trips and no errors", res.Rate, res.Errors, res.Latency)
	}
	if res.CPU == nil || res.CPU.Loadgen <= 0 || res.CPU.Server != 0 {
		t.Errorf("runEcho CPU = %+v; want the load generator's own CPU per round trip and no server figure", res.CPU)
	}
}

func TestCPUMeter(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/debug/stats" || r.URL.RawQuery != "" {
			t.Errorf("request %s; want /debug/stats without a forced GC", r.URL)
		}
		n := float64(calls.Add(1))
		fmt.Fprintf(w, `{"cpu_user_s": %g, "cpu_system_s": %g}`, 1+0.2*n, 0.5+0.1*n)
	}))
	defer srv.Close()
	ctx := context.Background()
	stop := cpuMeter{srv.URL}.start(ctx)
	if c := stop(1000); c == nil || c.Server != 300 || c.Loadgen < 0 {
		t.Errorf("CPU per op = %+v; want server 300 us (0.3 s over 1,000 ops)", c)
	}
	if c := (cpuMeter{srv.URL}).start(ctx)(0); c != nil {
		t.Errorf("CPU per op of no ops = %+v; want nil", c)
	}
	if c := (cpuMeter{}).start(ctx)(10); c == nil || c.Server != 0 {
		t.Errorf("CPU per op without --debug = %+v; want the load generator only", c)
	}
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	if c := (cpuMeter{down.URL}).start(ctx)(10); c == nil || c.Server != 0 {
		t.Errorf("CPU per op with an unreachable server = %+v; want the load generator only", c)
	}
}

func TestCPUCell(t *testing.T) {
	tests := []struct {
		c    *CPUCost
		want string
	}{
		{nil, "-"},
		{&CPUCost{Loadgen: 2.54}, "- / 2.5"},
		{&CPUCost{Server: 52.06, Loadgen: 24.9}, "52.1 / 24.9"},
	}
	for _, tt := range tests {
		if got := tt.c.cell(); got != tt.want {
			t.Errorf("%+v.cell() = %q, want %q", tt.c, got, tt.want)
		}
	}
}

func TestReplaceSection(t *testing.T) {
	doc := "# B\n\n## A\n\nold a\n\n## Load (loadgen)\n\nold load\n\n## C\n\nc\n"
	tests := []struct {
		name, title, want string
	}{
		{"middle", "Load (loadgen)", "# B\n\n## A\n\nold a\n\n## Load (loadgen)\n\nnew\n\n## C\n\nc\n"},
		{"missing is appended", "Micro-benchmarks", doc + "\n## Micro-benchmarks\n\nnew\n"},
		{"last section", "C", "# B\n\n## A\n\nold a\n\n## Load (loadgen)\n\nold load\n\n## C\n\nnew\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := replaceSection(doc, tt.title, "new\n"); got != tt.want {
				t.Errorf("replaceSection(%q) =\n%q\nwant\n%q", tt.title, got, tt.want)
			}
		})
	}
}

func TestAdminPassword(t *testing.T) {
	tests := []struct{ in, want string }{
		{"console: /console/\ne-mail: admin@example.com\npassword: s3cret-pass\n", "s3cret-pass"},
		{"just-a-password\n", "just-a-password"},
	}
	for _, tt := range tests {
		if got := adminPassword([]byte(tt.in)); got != tt.want {
			t.Errorf("adminPassword(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMedianRound(t *testing.T) {
	tests := []struct {
		name   string
		rounds []relayRound
		want   int
	}{
		{"one", []relayRound{{Echo: 100, Rate: 20, Ratio: 0.2}}, 0},
		{"median ratio, not median rate", []relayRound{
			{Echo: 100, Rate: 18, Ratio: 0.18},
			{Echo: 80, Rate: 17, Ratio: 0.2125},
			{Echo: 120, Rate: 24, Ratio: 0.20},
		}, 2},
		{"even count takes the lower middle", []relayRound{
			{Echo: 100, Rate: 21, Ratio: 0.21}, {Echo: 100, Rate: 15, Ratio: 0.15},
			{Echo: 100, Rate: 19, Ratio: 0.19}, {Echo: 100, Rate: 17, Ratio: 0.17},
		}, 3},
		{"no reference: median rate", []relayRound{{Rate: 30}, {Rate: 10}, {Rate: 20}}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := medianRound(tt.rounds); got != tt.want {
				t.Errorf("medianRound = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestRatioCell(t *testing.T) {
	r := Result{RatioToEcho: 0.19, Phases: []Phase{{Name: "closed 1/2", RatioToEcho: 0.2}, {Name: "closed 2/2"}, {Name: "open 50%"}}}
	for i, want := range []string{"0.200", "-", "-"} {
		if got := ratioCell(r, i); got != want {
			t.Errorf("ratioCell(phase %d) = %q, want %q", i, got, want)
		}
	}
	r.Phases[0].RatioToEcho = 0
	if got := ratioCell(r, 0); got != "0.190" {
		t.Errorf("ratioCell without a phase ratio = %q, want the result's 0.190", got)
	}
}
