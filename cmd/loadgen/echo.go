package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// echoServer is the reference: a plain gorilla WebSocket echo server with
// no application logic, on loopback in this process.
type echoServer struct {
	srv  *http.Server
	ln   net.Listener
	wg   sync.WaitGroup
	mu   sync.Mutex
	open map[*websocket.Conn]struct{}
}

func startEcho() (*echoServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("loadgen: echo listen: %w", err)
	}
	e := &echoServer{ln: ln, open: map[*websocket.Conn]struct{}{}}
	up := websocket.Upgrader{ReadBufferSize: 4096, WriteBufferSize: 4096}
	e.srv = &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		e.mu.Lock()
		e.open[ws] = struct{}{}
		e.mu.Unlock()
		defer func() {
			e.mu.Lock()
			delete(e.open, ws)
			e.mu.Unlock()
			ws.Close()
		}()
		for {
			mt, b, err := ws.ReadMessage()
			if err != nil {
				return
			}
			if err := ws.WriteMessage(mt, b); err != nil {
				return
			}
		}
	})}
	e.wg.Add(1)
	go func() { defer e.wg.Done(); _ = e.srv.Serve(ln) }()
	return e, nil
}

func (e *echoServer) url() string { return "ws://" + e.ln.Addr().String() + "/" }

// Close stops the server and its hijacked connections.
func (e *echoServer) Close() {
	_ = e.srv.Close()
	e.mu.Lock()
	for ws := range e.open {
		ws.Close()
	}
	e.mu.Unlock()
	e.wg.Wait()
}

// echoMessage returns a JSON message frame of exactly size bytes.
func echoMessage(size int) []byte {
	head := `{"type":"message","client_msg_id":"echo","text":"`
	tail := `"}`
	n := size - len(head) - len(tail)
	if n < 1 {
		n = 1
	}
	return []byte(head + strings.Repeat("x", n) + tail)
}

// runEcho measures round trips per second over conns connections to url
// for d, one message in flight per connection.
func runEcho(ctx context.Context, url string, conns, size int, d time.Duration) (Result, error) {
	res := Result{Scenario: "echo", Unit: "round trips", Params: map[string]any{"conns": conns, "bytes": size, "duration_s": d.Seconds()}}
	dl := dialer(nil)
	cs := make([]*wsConn, 0, conns)
	defer func() {
		for _, c := range cs {
			c.close()
		}
	}()
	for range conns {
		c, err := dialWS(ctx, dl, url)
		if err != nil {
			return res, fmt.Errorf("loadgen: echo: %w", err)
		}
		cs = append(cs, c)
	}
	msg := echoMessage(size)
	var rec recorder
	var count, errs atomic.Int64
	cpu := cpuMeter{}.start(ctx)
	start := time.Now()
	end := start.Add(d)
	var wg sync.WaitGroup
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && time.Now().Before(end) {
				t := time.Now()
				if err := c.writeRaw(msg); err != nil {
					errs.Add(1)
					return
				}
				_ = c.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
				if _, err := c.readFrame(); err != nil {
					errs.Add(1)
					return
				}
				rec.add(time.Since(t))
				count.Add(1)
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	res.Rate = round(float64(count.Load())/el.Seconds(), 1)
	res.CPU = cpu(count.Load())
	res.Latency = rec.summary()
	res.Errors = errs.Load()
	if res.Errors > 0 && count.Load() == 0 {
		return res, errors.New("loadgen: echo: no round trip succeeded")
	}
	return res, nil
}

// measureEcho starts the in-process echo server, measures R and stops it.
func measureEcho(ctx context.Context, o Options) (Result, error) {
	srv, err := startEcho()
	if err != nil {
		return Result{}, err
	}
	defer srv.Close()
	return runEcho(ctx, srv.url(), o.EchoConns, o.EchoSize, o.Duration)
}
