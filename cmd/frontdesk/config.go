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
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/frontdesk/frontdesk/api/realtime"
	"github.com/frontdesk/frontdesk/data/seal"
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
	IdleClose       time.Duration `json:"idle_close"`
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
	RedisPrefix     string        `json:"redis_prefix"`
	SessionKey      string        `json:"session_key"`

	// originsGiven: --allowed-origins or its variable was set, so the
	// stored list of the demo site is replaced by AllowedOrigins.
	originsGiven bool
	// envProblems are the environment variables that did not parse.
	envProblems []error
}

// envPrefix prefixes every environment variable that sets a flag.
const envPrefix = "FRONTDESK_"

// envName is the environment variable of a flag: FRONTDESK_ + the flag
// name in upper case with "-" as "_".
func envName(flag string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// envVars gives flags their defaults from the environment and keeps, per
// flag, the values it could not parse, so they are reported instead of
// silently replaced by the default.
type envVars struct {
	getenv func(string) string
	errs   map[string]error // by flag name
}

func newEnvVars(getenv func(string) string) *envVars {
	return &envVars{getenv: getenv, errs: map[string]error{}}
}

// str returns the flag's variable, or def when it is unset or empty.
func (e *envVars) str(name, def string) string {
	if v := e.getenv(envName(name)); v != "" {
		return v
	}
	return def
}

// envParse returns parse(value) of the flag's variable, or def when it is
// unset or does not parse (recording want as the problem).
func envParse[T any](e *envVars, name string, def T, want string, parse func(string) (T, error)) T {
	s := e.getenv(envName(name))
	if s == "" {
		return def
	}
	v, err := parse(s)
	if err != nil {
		e.errs[name] = fmt.Errorf("%s=%q: want %s", envName(name), s, want)
		return def
	}
	return v
}

func (e *envVars) float(name string, def float64) float64 {
	return envParse(e, name, def, "a number", func(s string) (float64, error) { return strconv.ParseFloat(s, 64) })
}

func (e *envVars) int(name string, def int) int {
	return envParse(e, name, def, "an integer", strconv.Atoi)
}

func (e *envVars) duration(name string, def time.Duration) time.Duration {
	return envParse(e, name, def, "a duration like 10s or 1m30s", time.ParseDuration)
}

// problems returns the variables that did not parse, except those whose
// flag fs set on the command line (the flag wins).
func (e *envVars) problems(fs *flag.FlagSet) []error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	names := make([]string, 0, len(e.errs))
	for n := range e.errs {
		if !set[n] {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	out := make([]error, 0, len(names))
	for _, n := range names {
		out = append(out, e.errs[n])
	}
	return out
}

// serverFlags registers serve's flags on fs; each flag's default comes from
// its environment variable (see envName), so flags override the environment.
// The returned finish function completes the configuration after fs.Parse.
func serverFlags(fs *flag.FlagSet, getenv func(string) string) (*serverConfig, func()) {
	c := &serverConfig{}
	env := newEnvVars(getenv)
	fs.StringVar(&c.Addr, "addr", env.str("addr", "127.0.0.1:8080"), "listen address")
	fs.StringVar(&c.DataDir, "data-dir", env.str("data-dir", "./frontdesk-data"), "directory for the database, index and keys")
	fs.StringVar(&c.KBDir, "kb", env.str("kb", ""), "knowledge directory of FAQ files (default: the built-in demo set)")
	fs.StringVar(&c.LogLevel, "log-level", env.str("log-level", "info"), "debug, info, warn or error")
	fs.StringVar(&c.LogFormat, "log-format", env.str("log-format", "text"), "text or json")
	fs.StringVar(&c.MasterKey, "master-key", env.str("master-key", ""), "base64 AES-256 key sealing data at rest (default: generated in the data dir)")
	origins := env.str("allowed-origins", "")
	c.originsGiven = origins != ""
	fs.Func("allowed-origins", "comma-separated origins whose pages may embed the demo site's widget; when given, replaces the stored list (default: keep the stored list; same origin only on a new data dir)", func(s string) error {
		origins, c.originsGiven = s, true
		return nil
	})
	fs.StringVar(&c.SQLiteSync, "sqlite-synchronous", env.str("sqlite-synchronous", "FULL"), "SQLite synchronous mode: FULL (survives power loss) or NORMAL")
	fs.Float64Var(&c.BotThreshold, "bot-answer-threshold", env.float("bot-answer-threshold", 0.5), "knowledge confidence at or above which the bot answers")
	c.Bot = botFlags(fs, env)
	fs.IntVar(&c.BotWorkers, "bot-workers", env.int("bot-workers", 4), "concurrent bot turns")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", env.duration("shutdown-timeout", 10*time.Second), "how long a graceful shutdown may take")
	fs.DurationVar(&c.PresenceGrace, "presence-grace", env.duration("presence-grace", 30*time.Second), "how long an agent stays online after their last console tab closed")
	fs.DurationVar(&c.IdleClose, "idle-close", env.duration("idle-close", 30*time.Minute), "close open conversations after this long without activity; 0 never")
	fs.DurationVar(&c.SessionTTL, "agent-session-ttl", env.duration("agent-session-ttl", 12*time.Hour), "how long a console sign-in lasts")
	fs.StringVar(&c.SMTPAddr, "smtp-addr", env.str("smtp-addr", ""), "SMTP server host:port for ticket e-mails (empty: e-mails wait in the outbox)")
	fs.StringVar(&c.SMTPFrom, "smtp-from", env.str("smtp-from", "frontdesk@localhost"), "sender address of e-mails")
	fs.StringVar(&c.SMTPUsername, "smtp-username", env.str("smtp-username", ""), "SMTP user name")
	fs.StringVar(&c.SMTPPassword, "smtp-password", env.str("smtp-password", ""), "SMTP password")
	fs.StringVar(&c.NotifyEmail, "notify-email", env.str("notify-email", ""), "address that receives new tickets of groups without their own")
	proxies := env.str("trusted-proxies", "")
	fs.Func("trusted-proxies", "comma-separated IPs or CIDRs of your load balancers, whose X-Forwarded-For is believed (default: none)", func(v string) error {
		proxies = v
		return nil
	})
	fs.StringVar(&c.MetricsToken, "metrics-token", env.str("metrics-token", ""), "serve Prometheus metrics at /metrics to requests with Authorization: Bearer <token> (empty: no /metrics)")
	fs.StringVar(&c.DebugAddr, "debug-addr", env.str("debug-addr", ""), "loopback address for pprof and /debug/stats, e.g. 127.0.0.1:6060 (default: off)")
	fs.Float64Var(&c.MessageRate, "ws-message-rate", env.float("ws-message-rate", 2), "messages per second per visitor socket (agents 5x); 0 disables the limit (load tests only)")
	fs.IntVar(&c.SessionsPerIP, "new-sessions-per-ip", env.int("new-sessions-per-ip", 60), "new visitor sessions per client address per minute (new sockets: twice that); 0: the default 60; -1 disables the limit (load tests only)")
	fs.IntVar(&c.UploadsPerIP, "uploads-per-ip", env.int("uploads-per-ip", 20), "visitor file uploads per client address per minute; 0: the default 20; -1 disables the limit (load tests only)")
	fs.StringVar(&c.DatabaseURL, "database-url", env.str("database-url", ""), "PostgreSQL URL postgres://user:pass@host:5432/db shared by several nodes (default: SQLite in the data dir)")
	fs.StringVar(&c.RedisURL, "redis-url", env.str("redis-url", ""), "Redis URL redis://[:pass@]host:6379/0 linking several nodes: events, presence (default: in-process)")
	fs.StringVar(&c.RedisPrefix, "redis-prefix", env.str("redis-prefix", "frontdesk:"), "prefix of every Redis key and channel; installations sharing one Redis server need different prefixes (pub/sub ignores the database number)")
	fs.StringVar(&c.SessionKey, "session-key", env.str("session-key", ""), "base64 key signing visitor tokens; the same on every node (default: generated in the data dir)")
	return c, func() {
		c.AllowedOrigins = splitList(origins)
		c.TrustedProxies = splitList(proxies)
		c.envProblems = env.problems(fs)
	}
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
	errs := append([]error(nil), c.envProblems...)
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
	if c.IdleClose < 0 || (c.IdleClose > 0 && c.IdleClose < time.Minute) {
		errs = append(errs, fmt.Errorf("--idle-close %s: want 0 (never) or at least 1m", c.IdleClose))
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
	for _, k := range []struct{ flag, value string }{{"--master-key", c.MasterKey}, {"--session-key", c.SessionKey}} {
		if k.value == "" {
			continue
		}
		if _, err := seal.ParseKey(k.value); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w (give a base64 key of 32 random bytes, e.g. from: openssl rand -base64 32)", k.flag, err))
		}
	}
	for _, l := range []struct {
		flag string
		n    int
	}{{"--new-sessions-per-ip", c.SessionsPerIP}, {"--uploads-per-ip", c.UploadsPerIP}} {
		if l.n < -1 {
			errs = append(errs, fmt.Errorf("%s %d: want -1 (no limit, load tests only) or >= 0", l.flag, l.n))
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
	if !validRedisPrefix(c.RedisPrefix) {
		errs = append(errs, fmt.Errorf("--redis-prefix %q: want 1-64 letters, digits and any of : _ - .", c.RedisPrefix))
	}
	if c.RedisURL != "" && c.SessionKey == "" {
		// Each node would sign visitor tokens with its own generated key,
		// and a visitor sent to another node would lose the conversation.
		errs = append(errs, errors.New("--redis-url runs several nodes, which must share --session-key (FRONTDESK_SESSION_KEY): give every node the same key, e.g. from: openssl rand -base64 32"))
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
		if !realtime.ValidOrigin(strings.TrimRight(o, "/")) {
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
		lk := strings.ToLower(k)
		for _, secret := range []string{"password", "passwd", "pwd", "key", "token", "secret", "signature", "sig", "auth", "credential"} {
			if strings.Contains(lk, secret) {
				q.Set(k, "xxxxx")
			}
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

// configJSON is the configuration as `frontdesk config` prints it, with
// durations as Go duration strings ("10s") instead of nanoseconds.
type configJSON struct {
	serverConfig
	Bot             *botConfigJSON `json:"bot"`
	ShutdownTimeout string         `json:"shutdown_timeout"`
	PresenceGrace   string         `json:"presence_grace"`
	IdleClose       string         `json:"idle_close"`
	SessionTTL      string         `json:"agent_session_ttl"`
}

// botConfigJSON is the bot's part of configJSON.
type botConfigJSON struct {
	botConfig
	LLMTimeout string `json:"llm_timeout"`
}

// printable returns the masked configuration in its printed form.
func (c serverConfig) printable() configJSON {
	m := c.masked()
	out := configJSON{serverConfig: m, ShutdownTimeout: m.ShutdownTimeout.String(), PresenceGrace: m.PresenceGrace.String(), IdleClose: m.IdleClose.String(), SessionTTL: m.SessionTTL.String()}
	if m.Bot != nil {
		out.Bot = &botConfigJSON{botConfig: *m.Bot, LLMTimeout: m.Bot.LLMTimeout.String()}
	}
	return out
}

// runConfig prints the effective configuration with secrets masked.
func runConfig(_ context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, fs, err := parseServerConfig("config", args, stderr)
	if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q (config takes flags only)", fs.Args())
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(cfg.printable())
}

// validRedisPrefix accepts 1-64 letters, digits and ":_-." (no glob
// characters: presence scans keys by prefix).
func validRedisPrefix(p string) bool {
	if p == "" || len(p) > 64 {
		return false
	}
	for _, r := range p {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(":_-.", r)) {
			return false
		}
	}
	return true
}
