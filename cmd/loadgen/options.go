package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Options bound every scenario: durations, connection counts and targets.
type Options struct {
	// Server is the Frontdesk base URL (loopback only).
	Server string
	// Debug is the server's debug listener base URL (loopback only), for
	// /debug/stats and profiles; empty disables the server-side figures.
	Debug string
	// Duration is the length of each measured phase.
	Duration time.Duration
	// EchoConns and EchoSize shape the echo reference.
	EchoConns, EchoSize int
	// BotVisitors is the number of visitor connections asking questions.
	BotVisitors int
	// Queries is a file of questions, one per line (empty: a built-in list).
	Queries string
	// RelayVisitors and RelayAgents shape the relay scenario.
	RelayVisitors, RelayAgents int
	// RelayRounds is how many times the relay measures the echo reference
	// and then its closed loop, one right after the other; the round with
	// the median ratio is reported (the machine's speed drifts between runs).
	RelayRounds int
	// AdminEmail and AdminPasswordFile sign in the admin who creates agents.
	AdminEmail, AdminPasswordFile string
	// IdleConns is the number of idle visitor connections.
	IdleConns int
	// HandshakeWorkers run session+connect loops concurrently.
	HandshakeWorkers int
	// Loads are the open-loop rates as fractions of the closed-loop maximum.
	Loads []float64
	// ProfileDir, if set, receives a CPU profile of each scenario's closed loop.
	ProfileDir string
	// JSONOut, if set, receives the results as JSON lines.
	JSONOut string
}

// Upper bounds keep a typo from exhausting the machine.
const (
	maxConns    = 20000
	maxDuration = 5 * time.Minute
)

func defaultOptions() Options {
	return Options{
		Server: "http://127.0.0.1:8080", Duration: 10 * time.Second,
		EchoConns: 50, EchoSize: 128, BotVisitors: 64, RelayVisitors: 128, RelayAgents: 8, RelayRounds: 1,
		AdminEmail: "admin@example.com", IdleConns: 10000, HandshakeWorkers: 16,
		Loads: []float64{0.25, 0.50, 0.75},
	}
}

func parseOptions(args []string, stderr io.Writer) (Options, []string, error) {
	o := defaultOptions()
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.Server, "server", o.Server, "Frontdesk base URL (loopback only)")
	fs.StringVar(&o.Debug, "debug", o.Debug, "the server's --debug-addr as a URL, e.g. http://127.0.0.1:6060 (loopback only)")
	fs.DurationVar(&o.Duration, "duration", o.Duration, "length of each measured phase")
	fs.IntVar(&o.EchoConns, "echo-conns", o.EchoConns, "echo reference: connections")
	fs.IntVar(&o.EchoSize, "echo-size", o.EchoSize, "echo reference: message size in bytes")
	fs.IntVar(&o.BotVisitors, "bot-visitors", o.BotVisitors, "bot: visitor connections")
	fs.StringVar(&o.Queries, "queries", o.Queries, "bot: file of questions, one per line (default: built-in list)")
	fs.IntVar(&o.RelayVisitors, "relay-visitors", o.RelayVisitors, "relay: visitors in handed-off conversations")
	fs.IntVar(&o.RelayAgents, "relay-agents", o.RelayAgents, "relay: agents (at most 9: sign-ins are limited to 10 per 5 minutes per IP)")
	fs.IntVar(&o.RelayRounds, "relay-rounds", o.RelayRounds, "relay: rounds of (echo reference, closed loop); the round with the median ratio is reported")
	fs.StringVar(&o.AdminEmail, "admin-email", o.AdminEmail, "relay: admin who creates the agents")
	fs.StringVar(&o.AdminPasswordFile, "admin-password-file", o.AdminPasswordFile, "relay: the server's <data-dir>/initial-admin.txt, or a file holding the password")
	fs.IntVar(&o.IdleConns, "idle-conns", o.IdleConns, "idle: visitor connections")
	fs.IntVar(&o.HandshakeWorkers, "handshake-workers", o.HandshakeWorkers, "handshake: concurrent session+connect loops")
	fs.StringVar(&o.ProfileDir, "profile-dir", o.ProfileDir, "save a server CPU profile of each scenario's closed loop here (needs --debug)")
	fs.StringVar(&o.JSONOut, "json-out", o.JSONOut, "also write the results as JSON lines to this file")
	fs.Func("loads", "bot, relay: open-loop rates as fractions of the closed-loop maximum, comma-separated (default 0.25,0.5,0.75; \"none\": closed loop only)", func(v string) error {
		loads, err := parseLoads(v)
		if err == nil {
			o.Loads = loads
		}
		return err
	})
	if err := fs.Parse(args); err != nil {
		return o, nil, err
	}
	if err := o.validate(); err != nil {
		return o, nil, err
	}
	return o, fs.Args(), nil
}

// parseLoads reads --loads: fractions in (0, 1], or "none".
func parseLoads(v string) ([]float64, error) {
	if v == "none" {
		return nil, nil
	}
	var out []float64
	for _, f := range strings.Split(v, ",") {
		x, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || x <= 0 || x > 1 {
			return nil, fmt.Errorf("load %q: want a fraction in (0, 1]", f)
		}
		out = append(out, x)
	}
	return out, nil
}

// validate refuses non-loopback targets and unbounded runs.
func (o Options) validate() error {
	var errs []error
	if err := checkLoopbackURL("--server", o.Server); err != nil {
		errs = append(errs, err)
	}
	if o.Debug != "" {
		if err := checkLoopbackURL("--debug", o.Debug); err != nil {
			errs = append(errs, err)
		}
	}
	if o.Duration <= 0 || o.Duration > maxDuration {
		errs = append(errs, fmt.Errorf("--duration %v: want (0, %v]", o.Duration, maxDuration))
	}
	for name, n := range map[string]int{"--echo-conns": o.EchoConns, "--bot-visitors": o.BotVisitors, "--relay-visitors": o.RelayVisitors,
		"--idle-conns": o.IdleConns, "--handshake-workers": o.HandshakeWorkers} {
		if n < 1 || n > maxConns {
			errs = append(errs, fmt.Errorf("%s %d: want 1-%d", name, n, maxConns))
		}
	}
	if o.RelayAgents < 1 || o.RelayAgents > 9 {
		errs = append(errs, fmt.Errorf("--relay-agents %d: want 1-9", o.RelayAgents))
	}
	if o.RelayRounds < 1 || o.RelayRounds > 9 {
		errs = append(errs, fmt.Errorf("--relay-rounds %d: want 1-9", o.RelayRounds))
	}
	if o.EchoSize < 16 || o.EchoSize > 16<<10 {
		errs = append(errs, fmt.Errorf("--echo-size %d: want 16-16384", o.EchoSize))
	}
	if o.ProfileDir != "" && o.Debug == "" {
		errs = append(errs, errors.New("--profile-dir needs --debug"))
	}
	return errors.Join(errs...)
}

// checkLoopbackURL accepts http URLs whose host is localhost or a loopback IP.
func checkLoopbackURL(flagName, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return fmt.Errorf("%s %q: want a URL like http://127.0.0.1:8080", flagName, raw)
	}
	if !isLoopbackHost(u.Hostname()) {
		return fmt.Errorf("%s %q: only loopback targets (127.0.0.0/8, ::1, localhost) may be loaded", flagName, raw)
	}
	return nil
}

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
