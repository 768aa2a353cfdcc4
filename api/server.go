package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/frontdesk/frontdesk/api/realtime"
	"github.com/frontdesk/frontdesk/api/web"
	"github.com/frontdesk/frontdesk/data"
)

// Chat is what the HTTP handlers need from the message path.
type Chat interface {
	realtime.Chat
	StartSession(ctx context.Context, siteKey, visitorID string) (data.Site, data.Visitor, error)
	Visitor(ctx context.Context, visitorID string) (data.Site, data.Visitor, error)
	Site(ctx context.Context, key string) (data.Site, error)
}

// Pinger reports whether the store is reachable.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Config configures the HTTP layer.
type Config struct {
	// SessionKey signs visitor tokens (32 random bytes).
	SessionKey []byte
	// SessionTTL is how long a visitor token stays valid.
	SessionTTL time.Duration
	// DemoSiteKey is the site key the demo page embeds.
	DemoSiteKey string
	// Limits bound WebSocket connections.
	Limits realtime.Limits
}

// Server holds the HTTP layer's dependencies.
type Server struct {
	chat    Chat
	store   Pinger
	hub     *realtime.Hub
	visitor *realtime.VisitorEndpoint
	tokens  tokens
	cfg     Config
	log     *slog.Logger
}

// New returns the HTTP layer; Handler gives its routes.
func New(cfg Config, chat Chat, store Pinger, hub *realtime.Hub, log *slog.Logger) (*Server, error) {
	if len(cfg.SessionKey) < 32 {
		return nil, errors.New("api: session key must be at least 32 bytes")
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 30 * 24 * time.Hour
	}
	if cfg.DemoSiteKey == "" {
		cfg.DemoSiteKey = "demo"
	}
	if cfg.Limits == (realtime.Limits{}) {
		cfg.Limits = realtime.DefaultLimits()
	}
	return &Server{
		chat: chat, store: store, hub: hub, cfg: cfg, log: log,
		visitor: realtime.NewVisitorEndpoint(hub, chat, cfg.Limits, log),
		tokens:  tokens{key: cfg.SessionKey, ttl: cfg.SessionTTL, now: time.Now},
	}, nil
}

// Handler returns the HTTP handler with every route.
func (s *Server) Handler() http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(s.recoverer(), s.accessLog(), securityHeaders())
	r.HandleMethodNotAllowed = true
	r.NoRoute(func(c *gin.Context) {
		writeError(c, &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such route"})
	})
	r.NoMethod(func(c *gin.Context) {
		writeError(c, &Error{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed", Message: "method not allowed"})
	})
	s.routes(r)
	return r
}

// routes lists every route in one place.
func (s *Server) routes(r *gin.Engine) {
	r.GET("/healthz", s.healthz)
	r.GET("/readyz", s.readyz)

	v1 := r.Group("/api/v1")
	visitor := v1.Group("/visitor", s.visitorCORS())
	visitor.OPTIONS("/sessions", func(c *gin.Context) { c.Status(http.StatusNoContent) })
	visitor.POST("/sessions", s.createSession)
	visitor.GET("/ws", s.visitorSocket)

	r.GET("/", s.page("index.html"))
	r.GET("/widget.js", s.asset("widget.js", "text/javascript; charset=utf-8", false))
	r.GET("/demo.css", s.asset("demo.css", "text/css; charset=utf-8", true))
	r.GET("/console/", s.page("console/index.html"))
	r.GET("/console", func(c *gin.Context) { c.Redirect(http.StatusMovedPermanently, "/console/") })
}

func (s *Server) healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

func (s *Server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.log.Warn("readiness: store unreachable", slog.Any("err", err))
		writeError(c, &Error{Status: http.StatusServiceUnavailable, Code: "store_unavailable", Message: "the store is not reachable"})
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready", "connections": s.hub.Connections()})
}

func (s *Server) page(name string) gin.HandlerFunc {
	return func(c *gin.Context) {
		b, err := web.File(name)
		if err != nil {
			writeError(c, err)
			return
		}
		c.Header("Cache-Control", "no-cache")
		c.Data(http.StatusOK, "text/html; charset=utf-8", b)
	}
}

// asset serves an embedded file; the widget may be loaded by any site.
func (s *Server) asset(name, contentType string, sameOriginOnly bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		b, err := web.File(name)
		if err != nil {
			writeError(c, err)
			return
		}
		c.Header("Cache-Control", "public, max-age=300")
		if !sameOriginOnly {
			c.Header("Cross-Origin-Resource-Policy", "cross-origin")
		}
		c.Data(http.StatusOK, contentType, b)
	}
}
