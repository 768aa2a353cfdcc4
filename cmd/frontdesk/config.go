package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// serverConfig is the effective configuration of `frontdesk serve`.
type serverConfig struct {
	Addr            string        `json:"addr"`
	DataDir         string        `json:"data_dir"`
	KBDir           string        `json:"kb_dir"`
	LogLevel        string        `json:"log_level"`
	LogFormat       string        `json:"log_format"`
	MasterKey       string        `json:"master_key"`
	AllowedOrigins  []string      `json:"allowed_origins"`
	SQLiteSync      string        `json:"sqlite_synchronous"`
	BotThreshold    float64       `json:"bot_answer_threshold"`
	BotWorkers      int           `json:"bot_workers"`
	Bot             *botConfig    `json:"bot"`
	ShutdownTimeout time.Duration `json:"shutdown_timeout"`
	PresenceGrace   time.Duration `json:"presence_grace"`
	SessionTTL      time.Duration `json:"agent_session_ttl"`
	SMTPAddr        string        `json:"smtp_addr"`
	SMTPFrom        string        `json:"smtp_from"`
	SMTPUsername    string        `json:"smtp_username"`
	SMTPPassword    string        `json:"smtp_password"`
	NotifyEmail     string        `json:"notify_email"`
	MetricsToken    string        `json:"metrics_token"`
	TrustedProxies  []string      `json:"trusted_proxies"`
	DebugAddr       string        `json:"debug_addr"`
	MessageRate     float64       `json:"ws_message_rate"`
	SessionsPerIP   int           `json:"new_sessions_per_ip"`
	UploadsPerIP    int           `json:"uploads_per_ip"`
	DatabaseURL     string        `json:"database_url"`
	RedisURL        string        `json:"redis_url"`
	SessionKey      string        `json:"session_key"`
}

// envPrefix prefixes every environment variable that sets a flag.
const envPrefix = "FRONTDESK_"

// serverFlags registers serve's flags on fs; each flag's default comes from
// its environment variable (FRONTDESK_ + the flag name in upper case with
// underscores), so flags override the environment.
// The returned finish function completes list-valued fields after fs.Parse.
func serverFlags(fs *flag.FlagSet, getenv func(string) string) (*serverConfig, func()) {
	c := &serverConfig{}
	env := func(name, def string) string {
		if v := getenv(envPrefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))); v != "" {
			return v
		}
		return def
	}
	fs.StringVar(&c.Addr, "addr", env("addr", "127.0.0.1:8080"), "listen address")
	fs.StringVar(&c.DataDir, "data-dir", env("data-dir", "./frontdesk-data"), "directory for the database, index and keys")
	fs.StringVar(&c.KBDir, "kb", env("kb", ""), "knowledge directory of FAQ files (default: the built-in demo set)")
	fs.StringVar(&c.LogLevel, "log-level", env("log-level", "info"), "debug, info, warn or error")
	fs.StringVar(&c.LogFormat, "log-format", env("log-format", "text"), "text or json")
	fs.StringVar(&c.MasterKey, "master-key", env("master-key", ""), "base64 AES-256 key sealing data at rest (default: generated in the data dir)")
	origins := env("allowed-origins", "")
	fs.Func("allowed-origins", "comma-separated origins whose pages may embed the demo site's widget (default: same origin only)", func(s string) error {
		origins = s
		return nil
	})
	fs.StringVar(&c.SQLiteSync, "sqlite-synchronous", env("sqlite-synchronous", "FULL"), "SQLite synchronous mode: FULL (survives power loss) or NORMAL")
	c.BotThreshold = envFloat(env("bot-answer-threshold", ""), 0.5)
	fs.Float64Var(&c.BotThreshold, "bot-answer-threshold", c.BotThreshold, "knowledge confidence at or above which the bot answers")
	c.Bot = botFlags(fs, env)
	c.BotWorkers = envInt(env("bot-workers", ""), 4)
	fs.IntVar(&c.BotWorkers, "bot-workers", c.BotWorkers, "concurrent bot turns")
	c.ShutdownTimeout = envDuration(env("shutdown-timeout", ""), 10*time.Second)
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, "how long a graceful shutdown may take")
	c.PresenceGrace = envDuration(env("presence-grace", ""), 30*time.Second)
	fs.DurationVar(&c.PresenceGrace, "presence-grace", c.PresenceGrace, "how long an agent stays online after their last console tab closed")
	c.SessionTTL = envDuration(env("agent-session-ttl", ""), 12*time.Hour)
	fs.DurationVar(&c.SessionTTL, "agent-session-ttl", c.SessionTTL, "how long a console sign-in lasts")
	fs.StringVar(&c.SMTPAddr, "smtp-addr", env("smtp-addr", ""), "SMTP server host:port for ticket e-mails (empty: e-mails wait in the outbox)")
	fs.StringVar(&c.SMTPFrom, "smtp-from", env("smtp-from", "frontdesk@localhost"), "sender address of e-mails")
	fs.StringVar(&c.SMTPUsername, "smtp-username", env("smtp-username", ""), "SMTP user name")
	fs.StringVar(&c.SMTPPassword, "smtp-password", env("smtp-password", ""), "SMTP password")
	fs.StringVar(&c.NotifyEmail, "notify-email", env("notify-email", ""), "address that receives new tickets of groups without their own")
	proxies := env("trusted-proxies", "")
	fs.Func("trusted-proxies", "comma-separated IPs or CIDRs of your load balancers, whose X-Forwarded-For is believed (default: none)", func(v string) error {
		proxies = v
		return nil
	})
	fs.StringVar(&c.MetricsToken, "metrics-token", env("metrics-token", ""), "serve Prometheus metrics at /metrics to requests with Authorization: Bearer <token> (empty: no /metrics)")
	fs.StringVar(&c.DebugAddr, "debug-addr", env("debug-addr", ""), "loopback address for pprof and /debug/stats, e.g. 127.0.0.1:6060 (default: off)")
	c.MessageRate = envFloat(env("ws-message-rate", ""), 2)
	fs.Float64Var(&c.MessageRate, "ws-message-rate", c.MessageRate, "messages per second per visitor socket (agents 5x); 0 disables the limit (load tests only)")
	fs.IntVar(&c.SessionsPerIP, "new-sessions-per-ip", int(envFloat(env("new-sessions-per-ip", ""), 60)), "new visitor sessions per client address per minute (new sockets: twice that); -1 disables the limit (load tests only)")
	fs.IntVar(&c.UploadsPerIP, "uploads-per-ip", int(envFloat(env("uploads-per-ip", ""), 20)), "visitor file uploads per client address per minute; -1 disables the limit (load tests only)")
	fs.StringVar(&c.DatabaseURL, "database-url", env("database-url", ""), "PostgreSQL URL postgres://user:pass@host:5432/db shared by several nodes (default: SQLite in the data dir)")
	fs.StringVar(&c.RedisURL, "redis-url", env("redis-url", ""), "Redis URL redis://[:pass@]host:6379/0 linking several nodes: events, presence (default: in-process)")
	fs.StringVar(&c.SessionKey, "session-key", env("session-key", ""), "base64 key signing visitor tokens; the same on every node (default: generated in the data dir)")
	return c, func() {
		c.AllowedOrigins = splitList(origins)
		c.TrustedProxies = splitList(proxies)
	}
}

func envFloat(s string, def float64) float64 {
	if v, err := strconv.ParseFloat(s, 64); err == nil {
		return v
	}
	return def
}

func envInt(s string, def int) int {
	if v, err := strconv.Atoi(s); err == nil {
		return v
	}
	return def
}

func envDuration(s string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(s); err == nil {
		return v
	}
	return def
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// validate checks the configuration as a whole.
func (c *serverConfig) validate() error {
	var errs []error
	if c.Addr == "" {
		errs = append(errs, errors.New("--addr is required"))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("--data-dir is required"))
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		errs = append(errs, err)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("--log-format %q: want text or json", c.LogFormat))
	}
	if s := strings.ToUpper(c.SQLiteSync); s != "FULL" && s != "NORMAL" {
		errs = append(errs, fmt.Errorf("--sqlite-synchronous %q: want FULL or NORMAL", c.SQLiteSync))
	}
	if c.BotThreshold < 0 || c.BotThreshold > 1 {
		errs = append(errs, fmt.Errorf("--bot-answer-threshold %v: want a value in [0,1]", c.BotThreshold))
	}
	if c.PresenceGrace < 0 || c.SessionTTL < time.Minute {
		errs = append(errs, errors.New("--presence-grace must be >= 0 and --agent-session-ttl >= 1m"))
	}
	errs = append(errs, c.Bot.validate()...)
	if c.BotWorkers < 1 || c.BotWorkers > 1024 {
		errs = append(errs, fmt.Errorf("--bot-workers %d: want 1-1024", c.BotWorkers))
	}
	if c.DebugAddr != "" {
		if err := checkLoopback(c.DebugAddr); err != nil {
			errs = append(errs, err)
		}
	}
	if c.MessageRate < 0 {
		errs = append(errs, fmt.Errorf("--ws-message-rate %v: want >= 0", c.MessageRate))
	}
	if c.DatabaseURL != "" {
		if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
			errs = append(errs, errors.New("--database-url: want postgres://user:password@host:5432/database"))
		}
	}
	if c.RedisURL != "" {
		if u, err := url.Parse(c.RedisURL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			errs = append(errs, errors.New("--redis-url: want redis://[:password@]host:6379/0 or rediss://..."))
		}
	}
	for _, p := range c.TrustedProxies {
		if _, _, err := net.ParseCIDR(p); err != nil && net.ParseIP(p) == nil {
			errs = append(errs, fmt.Errorf("--trusted-proxies: %q is neither an IP nor a CIDR", p))
		}
	}
	for _, o := range c.AllowedOrigins {
		u, err := url.Parse(o)
		if o != "*" && (err != nil || u.Scheme == "" || u.Host == "" || (u.Path != "" && u.Path != "/")) {
			errs = append(errs, fmt.Errorf("--allowed-origins: %q is not an origin like https://shop.example.com", o))
		}
	}
	return errors.Join(errs...)
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("--log-level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

// masked returns a copy safe to print: secrets are replaced.
func (c serverConfig) masked() serverConfig {
	if c.MasterKey != "" {
		c.MasterKey = "********"
	}
	if c.SMTPPassword != "" {
		c.SMTPPassword = "********"
	}
	if c.Bot != nil {
		bc := c.Bot.masked()
		c.Bot = &bc
	}
	if c.MetricsToken != "" {
		c.MetricsToken = "********"
	}
	if c.SessionKey != "" {
		c.SessionKey = "********"
	}
	c.DatabaseURL, c.RedisURL = maskURL(c.DatabaseURL), maskURL(c.RedisURL)
	return c
}

// maskURL hides the password of a URL, and password query parameters.
func maskURL(s string) string {
	u, err := url.Parse(s)
	if s == "" || err != nil {
		return s
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	q := u.Query()
	for k := range q {
		if strings.Contains(strings.ToLower(k), "password") {
			q.Set(k, "xxxxx")
		}
	}
	if len(q) > 0 {
		u.RawQuery = q.Encode()
	}
	return strings.ReplaceAll(u.String(), "xxxxx", "********")
}

// parseServerConfig parses serve-style flags and validates the result.
func parseServerConfig(name string, args []string, stderr io.Writer) (*serverConfig, *flag.FlagSet, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, finish := serverFlags(fs, os.Getenv)
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	finish()
	if err := cfg.validate(); err != nil {
		return nil, nil, err
	}
	return cfg, fs, nil
}

// runConfig prints the effective configuration with secrets masked.
func runConfig(_ context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, _, err := parseServerConfig("config", args, stderr)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(cfg.masked())
}
