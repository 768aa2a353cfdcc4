package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/frontdesk/frontdesk/api/realtime"
)

// debugStats is the body of GET /debug/stats on the debug listener.
type debugStats struct {
	RSSBytes       int64  `json:"rss_bytes"`
	Goroutines     int    `json:"goroutines"`
	Connections    int    `json:"connections"`
	HeapInuseBytes uint64 `json:"heap_inuse_bytes"`
	StackInuse     uint64 `json:"stack_inuse_bytes"`
	NumGC          uint32 `json:"num_gc"`
	// CPU time this process has used since it started, in seconds.
	CPUUserSeconds   float64 `json:"cpu_user_s"`
	CPUSystemSeconds float64 `json:"cpu_system_s"`
}

// checkLoopback refuses debug addresses other than loopback ones: the
// debug listener has no authentication, so it must not be reachable from
// other machines.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--debug-addr %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("--debug-addr %q: must be a loopback address such as 127.0.0.1:6060", addr)
}

// readRSS returns the resident set size of this process from /proc/self/statm.
func readRSS() (int64, error) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, fmt.Errorf("debug: rss: %w", err)
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0, fmt.Errorf("debug: rss: unexpected statm %q", b)
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("debug: rss: %w", err)
	}
	return pages * int64(os.Getpagesize()), nil
}

// clockTicks is USER_HZ, the unit of the times in /proc/<pid>/stat: 100 on
// every Linux architecture (the kernel converts to it for user space).
const clockTicks = 100

// readCPU returns the user and system CPU time of this process from
// /proc/self/stat (fields 14 and 15, after the parenthesised command name,
// which may itself contain spaces and parentheses).
func readCPU() (user, system float64, err error) {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, 0, fmt.Errorf("debug: cpu: %w", err)
	}
	return parseCPU(string(b))
}

func parseCPU(stat string) (user, system float64, err error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("debug: cpu: unexpected stat %q", stat)
	}
	// After the name: state (field 3) ... utime (14), stime (15).
	f := strings.Fields(stat[i+1:])
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("debug: cpu: unexpected stat %q", stat)
	}
	u, err1 := strconv.ParseUint(f[11], 10, 64)
	s, err2 := strconv.ParseUint(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, 0, fmt.Errorf("debug: cpu: %w", err)
	}
	return float64(u) / clockTicks, float64(s) / clockTicks, nil
}

// debugHandler serves net/http/pprof under /debug/pprof/ and the process
// figures the load generator reads under /debug/stats (?gc=1 collects
// garbage and returns free memory to the OS first, so that RSS differences
// measure live memory, not garbage or pages the runtime has yet to release).
func debugHandler(hub *realtime.Hub) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/stats", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("gc") == "1" {
			debug.FreeOSMemory()
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		st := debugStats{Goroutines: runtime.NumGoroutine(), Connections: hub.Connections(),
			HeapInuseBytes: ms.HeapInuse, StackInuse: ms.StackInuse, NumGC: ms.NumGC}
		rss, err := readRSS()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		st.RSSBytes = rss
		if st.CPUUserSeconds, st.CPUSystemSeconds, err = readCPU(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(st)
	})
	return mux
}

// startDebug listens on addr (loopback only) and serves the debug handler
// until the returned stop function is called.
func startDebug(addr string, hub *realtime.Hub, log *slog.Logger) (stop func(), err error) {
	if err := checkLoopback(addr); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("debug listen: %w", err)
	}
	srv := &http.Server{Handler: debugHandler(hub), ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("debug listener", slog.Any("err", err))
		}
	}()
	log.Info("debug listener (pprof, /debug/stats)", slog.String("url", "http://"+ln.Addr().String()+"/debug/"))
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	}, nil
}

// connLimits returns the per-connection limits of the WebSocket endpoints.
func connLimits(cfg *serverConfig) realtime.Limits {
	l := realtime.DefaultLimits()
	l.MessagesPerSecond = cfg.MessageRate
	return l
}
