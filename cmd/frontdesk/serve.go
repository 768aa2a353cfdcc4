package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/frontdesk/frontdesk/api"
	"github.com/frontdesk/frontdesk/api/realtime"
	"github.com/frontdesk/frontdesk/bot"
	"github.com/frontdesk/frontdesk/bot/redisctx"
	"github.com/frontdesk/frontdesk/chat"
	"github.com/frontdesk/frontdesk/data"
	"github.com/frontdesk/frontdesk/data/pubsub"
	"github.com/frontdesk/frontdesk/data/seal"
	"github.com/frontdesk/frontdesk/data/sqlstore"
	"github.com/frontdesk/frontdesk/handoff"
	"github.com/frontdesk/frontdesk/identity"
	"github.com/frontdesk/frontdesk/knowledge"
	"github.com/frontdesk/frontdesk/metrics"
	"github.com/frontdesk/frontdesk/privacy"
	"github.com/frontdesk/frontdesk/ratelimit"
	"github.com/frontdesk/frontdesk/webhooks"
)

// demoSiteKey is the site the demo page and `frontdesk chat` use.
const demoSiteKey = "demo"

func runServe(ctx context.Context, args []string, _, stderr io.Writer) error {
	cfg, fs, err := parseServerConfig("serve", args, stderr)
	if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q (serve takes flags only)", fs.Args())
	}
	log, err := newLogger(cfg, stderr)
	if err != nil {
		return err
	}
	return serve(ctx, cfg, log, nil)
}

func newLogger(cfg *serverConfig, w io.Writer) (*slog.Logger, error) {
	level, err := parseLevel(cfg.LogLevel)
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: level}
	// Personal data is redacted from every log line (logmask.go).
	if cfg.LogFormat == "json" {
		return slog.New(newMaskingHandler(slog.NewJSONHandler(w, opts))), nil
	}
	return slog.New(newMaskingHandler(slog.NewTextHandler(w, opts))), nil
}

// serve wires every part by hand, runs until ctx ends, then shuts down in
// reverse order. ready, if set, is called with the listening address.
func serve(ctx context.Context, cfg *serverConfig, log *slog.Logger, ready func(addr string)) error {
	m := metrics.New()
	log = slog.New(m.WrapLogHandler(log.Handler()))
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	unlock, err := lockDataDir(cfg.DataDir)
	if err != nil {
		return err
	}
	defer unlock()
	rawStore, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	store := m.WrapStore(webhooks.Wrap(rawStore, log))
	sessionKey, err := loadSessionKey(cfg)
	if err != nil {
		store.Close()
		return err
	}
	defer func() {
		if err := store.Close(); err != nil {
			log.Error("close store", slog.Any("err", err))
		}
	}()
	if err := ensureDemoSite(ctx, store, cfg, log); err != nil {
		return err
	}

	broker, err := openBroker(ctx, cfg, store, log)
	if err != nil {
		return err
	}
	defer broker.Close()

	kbStart := time.Now()
	kb, err := knowledge.Open(ctx, knowledge.Config{
		Dir:      cfg.KBDir,
		IndexDir: filepath.Join(cfg.DataDir, "index"),
		Logger:   log,
		OnReload: func(changed []string, problems []knowledge.Problem) {
			if len(changed) > 0 {
				log.Info("knowledge reloaded", slog.Any("changed", changed))
			}
			for _, p := range problems {
				log.Warn("knowledge file problem", slog.String("problem", p.String()))
			}
		},
	})
	if err != nil {
		return err
	}
	defer kb.Close()
	for _, p := range kb.Problems() {
		log.Warn("knowledge file problem", slog.String("problem", p.String()))
	}
	log.Info("knowledge loaded", slog.Int("entries", kb.Len()), slog.Duration("took", time.Since(kbStart)))

	var contexts bot.ContextStore // in memory unless scaled out
	if cfg.RedisURL != "" {
		rc, err := redisctx.Open(ctx, cfg.RedisURL, cfg.RedisPrefix+"ctx:")
		if err != nil {
			return fmt.Errorf("bot context: %w (redis %s)", err, maskURL(cfg.RedisURL))
		}
		defer rc.Close()
		contexts = rc
	}
	engine, err := newBotEngine(ctx, cfg.Bot, cfg.BotThreshold, m.WrapSearcher(kb), contexts, log)
	if err != nil {
		return err
	}
	if err := seedHandoff(ctx, store, cfg, log); err != nil {
		return err
	}
	pub := pubsub.NewPublisher(broker, log)
	// The router and presence refer to each other (an agent coming online
	// triggers assignment), so presence reports through a late-bound func.
	var router *handoff.Router
	presence, avoidance, runPresence, err := newPresence(ctx, cfg, log, func(agentID string, st handoff.Status) {
		pub.Event(context.Background(), data.AgentTopic(agentID), data.Event{Type: data.EventPresence, AgentID: agentID, Presence: string(st)})
		switch {
		case router == nil:
		case st == handoff.Online:
			go router.AgentAvailable(context.Background(), agentID)
		case st == handoff.Offline:
			go router.AgentGone(context.Background(), agentID)
		}
	})
	if err != nil {
		return err
	}
	idleClose := cfg.IdleClose
	if idleClose == 0 {
		idleClose = -1 // --idle-close 0: never (the router's 0 is its default)
	}
	router = handoff.NewRouter(store, pub, presence, log, handoff.Config{NotifyEmail: cfg.NotifyEmail, IdleClose: idleClose, Avoidance: avoidance})
	verifier := identity.NewVerifier(nil)
	var limiters api.LimiterFactory // per node unless scaled out
	if cfg.RedisURL != "" {
		rl, err := ratelimit.NewFactory(ctx, cfg.RedisURL, cfg.RedisPrefix+"rl:")
		if err != nil {
			return fmt.Errorf("rate limits: %w (redis %s)", err, maskURL(cfg.RedisURL))
		}
		defer rl.Close()
		limiters = rl.Limiter
		verifier.ShareReplays(rl.Once())
	}
	svc := chat.New(store, broker, engine, router, log, chat.Config{Workers: cfg.BotWorkers, Identity: verifier})
	hub := realtime.NewHub(broker, log)
	accounts := handoff.NewAccounts(store, cfg.SessionTTL, 0)
	senders := map[string]handoff.Sender{webhooks.OutboxKind: webhooks.Sender(&http.Client{Timeout: 10 * time.Second})}
	if cfg.SMTPAddr != "" {
		senders[handoff.OutboxEmail] = handoff.EmailSender(handoff.SMTPConfig{Addr: cfg.SMTPAddr, From: cfg.SMTPFrom, Username: cfg.SMTPUsername, Password: cfg.SMTPPassword})
	}
	outbox := handoff.NewOutbox(store, senders, log, 2*time.Second)
	if err := firstAdmin(ctx, store, accounts, cfg, log); err != nil {
		return err
	}
	m.Gauge("frontdesk_connections", "Open WebSocket connections on this node.", func() float64 { return float64(hub.Connections()) })
	m.QueueLengths(store.ListGroups, store.QueuedConversations)
	policy := engine.Config() // the knowledge gaps use the bot's own FAQ rule
	apiSrv, err := api.New(api.Config{SessionKey: sessionKey, DemoSiteKey: demoSiteKey, Limits: connLimits(cfg), KBDir: cfg.KBDir, TrustedProxies: cfg.TrustedProxies, NewSessionsPerIP: cfg.SessionsPerIP, UploadsPerIP: cfg.UploadsPerIP, SendsEmail: cfg.SMTPAddr != "", BotPolicy: &policy}, api.Deps{
		Chat: svc, Records: store, Accounts: accounts, Desk: router, Presence: presence,
		Tickets: handoff.NewTickets(store).WithReplyTo(cfg.NotifyEmail), Hub: hub, Log: log, Limiters: limiters, Knowledge: kb,
	})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	handler := apiSrv.Handler()
	if cfg.MetricsToken != "" {
		mux := http.NewServeMux()
		mux.Handle("/metrics", m.Handler(cfg.MetricsToken))
		mux.Handle("/", handler)
		handler = mux
	}
	httpSrv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}

	if cfg.DebugAddr != "" {
		stopDebug, err := startDebug(cfg.DebugAddr, hub, log)
		if err != nil {
			ln.Close()
			return err
		}
		defer stopDebug()
	}

	workCtx, stopWork := context.WithCancel(context.Background())
	defer stopWork()
	var g errgroup.Group
	g.Go(func() error { return svc.Run(workCtx) })
	g.Go(func() error { return router.Run(workCtx) })
	g.Go(func() error { return outbox.Run(workCtx) })
	g.Go(func() error { return privacy.NewPurger(store, log, time.Hour).Run(workCtx) })
	g.Go(func() error { return runPresence(workCtx) })
	if cfg.SMTPAddr == "" {
		log.Info("no --smtp-addr: ticket e-mails are kept in the outbox until one is configured")
	}
	g.Go(func() error {
		if err := kb.Run(workCtx); err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
		return nil
	})
	serveErr := make(chan error, 1)
	go func() { serveErr <- httpSrv.Serve(ln) }()
	addr := ln.Addr().String()
	log.Info("frontdesk is serving", slog.String("url", "http://"+addr+"/"), slog.String("data_dir", cfg.DataDir))
	if ready != nil {
		ready(addr)
	}

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-serveErr:
		runErr = fmt.Errorf("http: %w", err)
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	// Reverse order of start-up: stop taking requests, close the sockets
	// (http.Server does not track hijacked connections), finish queued bot
	// turns, then the index and the store (deferred) flush and close.
	if err := httpSrv.Shutdown(shutCtx); err != nil {
		log.Warn("http shutdown", slog.Any("err", err))
	}
	if err := hub.Close(shutCtx); err != nil {
		log.Warn("websocket shutdown", slog.Any("err", err))
	}
	stopWork()
	if err := g.Wait(); err != nil && runErr == nil {
		runErr = err
	}
	log.Info("stopped")
	return runErr
}

// siteStore is what ensureDemoSite needs of the store.
type siteStore interface {
	EnsureSite(ctx context.Context, s data.Site) (data.Site, error)
	SetSiteOrigins(ctx context.Context, siteID string, origins []string) (data.Site, error)
}

// ensureDemoSite creates the demo site on the first start. On later starts
// the stored allowed origins stay, unless --allowed-origins (or its
// variable) is given and differs: then the given list replaces them.
func ensureDemoSite(ctx context.Context, store siteStore, cfg *serverConfig, log *slog.Logger) error {
	site, err := store.EnsureSite(ctx, data.Site{Key: demoSiteKey, Name: "Acme Shop", AllowedOrigins: cfg.AllowedOrigins})
	if err != nil {
		return fmt.Errorf("demo site: %w", err)
	}
	if !cfg.originsGiven || slices.Equal(site.AllowedOrigins, cfg.AllowedOrigins) {
		return nil
	}
	if _, err := store.SetSiteOrigins(ctx, site.ID, cfg.AllowedOrigins); err != nil {
		return fmt.Errorf("demo site: allowed origins: %w", err)
	}
	log.Info("replaced the allowed origins of the demo site", slog.String("site", demoSiteKey),
		slog.Any("old", site.AllowedOrigins), slog.Any("new", cfg.AllowedOrigins))
	return nil
}

// openStore opens the store for `serve` (which has created the data
// directory), creating the SQLite database and the master key file on first use.
func openStore(ctx context.Context, cfg *serverConfig) (*sqlstore.Store, error) {
	return openBackend(ctx, cfg, true)
}

// openExistingStore opens the store for every other command. It creates
// nothing, so a mistyped --data-dir fails instead of starting a new, empty
// installation.
func openExistingStore(ctx context.Context, cfg *serverConfig) (*sqlstore.Store, error) {
	if cfg.DatabaseURL == "" {
		if err := checkDataDir(cfg.DataDir); err != nil {
			return nil, err
		}
	}
	return openBackend(ctx, cfg, false)
}

// checkDataDir reports a data directory without a SQLite database.
func checkDataDir(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, "frontdesk.db")); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("no Frontdesk data in %s; start `frontdesk serve --data-dir %s` first or pass the right --data-dir", dir, dir)
		}
		return fmt.Errorf("data dir: %w", err)
	}
	return nil
}

// openBackend opens the store with the master key from the configuration
// or the data directory's key file (created when create is set).
func openBackend(ctx context.Context, cfg *serverConfig, create bool) (*sqlstore.Store, error) {
	masterKey, err := loadMasterKey(cfg, create)
	if err != nil {
		return nil, err
	}
	sealer, err := seal.NewKeyring(masterKey)
	if err != nil {
		return nil, err
	}
	return openBackendStore(ctx, cfg, sealer)
}

// loadMasterKey returns --master-key, else the key in the data directory's
// key file, which is created when missing only if create is set.
func loadMasterKey(cfg *serverConfig, create bool) ([]byte, error) {
	if cfg.MasterKey != "" {
		k, err := seal.ParseKey(cfg.MasterKey)
		if err != nil {
			return nil, fmt.Errorf("--master-key: %w", err)
		}
		return k, nil
	}
	path := filepath.Join(cfg.DataDir, "keys", "master.key")
	if create {
		return seal.LoadOrCreateKeyFile(path)
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("no master key: %s does not exist; pass --master-key (FRONTDESK_MASTER_KEY) or the right --data-dir", path)
	}
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	k, err := seal.ParseKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("master key %s: %w", path, err)
	}
	return k, nil
}
