package api

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/frontdesk/frontdesk/analytics"
	"github.com/frontdesk/frontdesk/api/realtime"
	"github.com/frontdesk/frontdesk/api/web"
	"github.com/frontdesk/frontdesk/bot"
	"github.com/frontdesk/frontdesk/chat"
	"github.com/frontdesk/frontdesk/data"
	"github.com/frontdesk/frontdesk/knowledge"
	"github.com/frontdesk/frontdesk/privacy"
	"github.com/frontdesk/frontdesk/ratelimit"
)

// Chat is what the HTTP handlers need from the message path.
type Chat interface {
	realtime.Chat
	realtime.AgentChat
	StartSession(ctx context.Context, siteKey, visitorID string) (data.Site, data.Visitor, error)
	IdentifiedSession(ctx context.Context, siteKey, visitorID, token string) (data.Site, data.Visitor, error)
	Visitor(ctx context.Context, visitorID string) (data.Site, data.Visitor, error)
	Site(ctx context.Context, key string) (data.Site, error)
	Details(ctx context.Context, a data.Agent, conversationID string) (chat.Details, error)
	PostAgentRich(ctx context.Context, a data.Agent, conversationID, clientMsgID, text string, r chat.Rich) (data.Message, bool, error)
	Files
}

// Records is the storage the console's lists and admin pages read and write.
type Records interface {
	Ping(ctx context.Context) error
	ListAgents(ctx context.Context) ([]data.Agent, error)
	ListGroups(ctx context.Context) ([]data.SkillGroup, error)
	GetSite(ctx context.Context, id string) (data.Site, error)
	UpsertGroup(ctx context.Context, g data.SkillGroup) (data.SkillGroup, error)
	AgentConversations(ctx context.Context, agentID string) ([]data.Conversation, error)
	ListCanned(ctx context.Context) ([]data.CannedResponse, error)
	UpsertCanned(ctx context.Context, c data.CannedResponse) (data.CannedResponse, error)
	DeleteCanned(ctx context.Context, id string) error
	SiteByKey(ctx context.Context, key string) (data.Site, error)
	UpdateSiteSettings(ctx context.Context, siteID string, st data.SiteSettings) (data.Site, error)
	SetSiteOrigins(ctx context.Context, siteID string, origins []string) (data.Site, error)
	SetIdentityKeys(ctx context.Context, siteID string, keys []data.IdentityKey) error
	ListAudit(ctx context.Context, afterSeq int64, limit int) ([]data.AuditEntry, error)
	ListOutbox(ctx context.Context, kind string, limit int) ([]data.OutboxItem, error)
}

// Deps are the domain services the HTTP layer calls.
type Deps struct {
	Chat     Chat
	Records  Records
	Accounts Accounts
	Desk     Desk
	Presence Presence
	Tickets  TicketService
	Reports  analytics.Store
	// Limiters, when set, makes rate limits shared across nodes (Redis).
	Limiters LimiterFactory
	// Privacy exports and erases visitors and keeps the audit log (default: over Records).
	Privacy *privacy.Service
	Hub     *realtime.Hub
	Log     *slog.Logger
	// Knowledge, when set, is the live FAQ index: editors' new entries are
	// checked against it and live when the API answers, and the knowledge
	// gaps it now answers are left out; editors list, change, delete and try
	// entries and see its problems through it. Without it new entries are
	// checked against the files in Config.KBDir, every gap is listed and the
	// other knowledge routes answer 503.
	Knowledge Knowledge
}

// Knowledge is the live FAQ index (a *knowledge.Index).
type Knowledge interface {
	Add(ctx context.Context, e knowledge.Entry) (knowledge.Entry, error)
	Update(ctx context.Context, e knowledge.Entry) (knowledge.Entry, error)
	Delete(ctx context.Context, id string) error
	List() []knowledge.Stored
	Lookup(id string) (knowledge.Stored, bool)
	RelativeProblems() []knowledge.Problem
	Search(ctx context.Context, q string, k int) (knowledge.Result, error)
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
	// LoginAttempts is how many sign-ins one client address may try per 5
	// minutes; one e-mail address may be tried ten times as often from all
	// addresses together.
	LoginAttempts int
	// KBDir is the knowledge directory editors write FAQ entries into ("" = read-only built-in set).
	KBDir string
	// BotPolicy is the bot's policy: its FAQ rule (bot.Config.Confident)
	// decides which knowledge gaps Deps.Knowledge now answers; nil means
	// bot.DefaultConfig().
	BotPolicy *bot.Config
	// TrustedProxies are the addresses (IPs or CIDRs) whose X-Forwarded-For
	// header is believed; empty: the client is the TCP peer. Rate limits are
	// keyed on the client address, so only list your own load balancers.
	TrustedProxies []string
	// NewSessionsPerIP caps visitor sessions one client address may start per
	// minute (burst the same); 0: 60, negative: no limit (load tests only).
	// New visitor sockets may be opened at twice this rate.
	NewSessionsPerIP int
	// UploadsPerIP caps the visitor uploads one client address may send per
	// minute (burst the same); 0: 20, negative: no limit (load tests only).
	UploadsPerIP int
	// SendsEmail says whether this node has an SMTP server (--smtp-addr).
	SendsEmail bool
}

// Server holds the HTTP layer's dependencies.
type Server struct {
	chat                        Chat
	records                     Records
	accounts                    Accounts
	desk                        Desk
	presence                    Presence
	tickets                     TicketService
	files                       Files
	reports                     analytics.Store
	privacy                     *privacy.Service
	hub                         *realtime.Hub
	visitor                     *realtime.VisitorEndpoint
	agentWS                     *realtime.AgentEndpoint
	tokens                      tokens
	loginLimit, loginEmailLimit ratelimit.Limiter
	// sessionLimit and socketLimit cap new sessions and sockets per client address (nil: off).
	sessionLimit, socketLimit ratelimit.Limiter
	// uploadLimit caps visitor uploads per client address (nil: off).
	uploadLimit ratelimit.Limiter
	// kb is the live FAQ index (nil: none); kbMu serialises changes to entries.
	kb   Knowledge
	kbMu sync.Mutex
	cfg  Config
	log  *slog.Logger
}

// deskAdapter gives realtime's agent endpoint what it needs.
type deskAdapter struct {
	Desk
	Records
	Presence
}

// New returns the HTTP layer; Handler gives its routes.
func New(cfg Config, d Deps) (*Server, error) {
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
	if d.Reports == nil {
		// The store usually answers report queries too.
		if rs, ok := d.Records.(analytics.Store); ok {
			d.Reports = rs
		} else {
			return nil, errors.New("api: a reports store is required")
		}
	}
	if d.Privacy == nil {
		ps, ok := d.Records.(privacy.Store)
		if !ok {
			return nil, errors.New("api: a privacy service is required")
		}
		d.Privacy = privacy.New(ps, d.Log)
	}
	if cfg.LoginAttempts <= 0 {
		cfg.LoginAttempts = 10
	}
	if d.Chat == nil || d.Records == nil || d.Accounts == nil || d.Desk == nil || d.Presence == nil || d.Tickets == nil || d.Hub == nil || d.Log == nil {
		return nil, errors.New("api: every dependency is required")
	}
	srv := &Server{
		chat: d.Chat, files: d.Chat, records: d.Records, reports: d.Reports, privacy: d.Privacy, accounts: d.Accounts, desk: d.Desk, presence: d.Presence, tickets: d.Tickets,
		hub: d.Hub, kb: d.Knowledge, cfg: cfg, log: d.Log,
		visitor:         realtime.NewVisitorEndpoint(d.Hub, d.Chat, cfg.Limits, d.Log),
		agentWS:         realtime.NewAgentEndpoint(d.Hub, d.Chat, deskAdapter{d.Desk, d.Records, d.Presence}, data.Agent.CanView, cfg.Limits, d.Log),
		tokens:          tokens{key: cfg.SessionKey, ttl: cfg.SessionTTL, now: time.Now},
		loginLimit:      newKeyLimiter(d.Limiters, "login", 5*time.Minute, cfg.LoginAttempts),
		loginEmailLimit: newKeyLimiter(d.Limiters, "login-email", 5*time.Minute, 10*cfg.LoginAttempts),
		sessionLimit:    perIPLimiter(d.Limiters, "sessions", cfg.NewSessionsPerIP, 1),
		socketLimit:     perIPLimiter(d.Limiters, "sockets", cfg.NewSessionsPerIP, 2),
		uploadLimit:     perIPLimiter(d.Limiters, "uploads", cmp.Or(cfg.UploadsPerIP, 20), 1),
	}
	// Reading a transcript over the console socket is an access to personal
	// data like opening the conversation's details.
	srv.agentWS.WithAudit(func(ctx context.Context, a data.Agent, conv data.Conversation) error {
		return srv.privacy.Audit(ctx, actorOf(a), data.AuditView, conv.SiteID, "conversation:"+conv.ID, "watch")
	})
	return srv, nil
}

// Handler returns the HTTP handler with every route.
func (s *Server) Handler() http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	if err := r.SetTrustedProxies(s.cfg.TrustedProxies); err != nil {
		s.log.Error("trusted proxies", slog.Any("err", err))
		_ = r.SetTrustedProxies(nil)
	}
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
	r.GET("/api/openapi.json", s.asset("openapi.json", "application/json", false))
	r.GET("/readyz", s.readyz)

	v1 := r.Group("/api/v1")
	visitor := v1.Group("/visitor", s.visitorCORS())
	visitor.OPTIONS("/sessions", func(c *gin.Context) { c.Status(http.StatusNoContent) })
	visitor.POST("/sessions", s.createSession)
	visitor.GET("/config", s.widgetConfig)
	visitor.OPTIONS("/uploads", func(c *gin.Context) { c.Status(http.StatusNoContent) })
	visitor.POST("/uploads", s.visitorUpload)
	visitor.OPTIONS("/files/:id", func(c *gin.Context) { c.Status(http.StatusNoContent) })
	visitor.GET("/files/:id", s.visitorDownload)
	visitor.GET("/ws", s.visitorSocket)

	v1.POST("/agent/login", s.login)
	agent := v1.Group("/agent", s.agentAuth(), limitBody(maxJSONBody))
	agent.POST("/logout", s.logout)
	agent.GET("/me", s.me)
	agent.POST("/password", s.changePassword)
	agent.POST("/presence", s.setPresence)
	agent.GET("/ws", s.agentSocket)
	agent.GET("/queues", s.queues)
	agent.GET("/agents", s.listAgents)
	agent.GET("/groups", s.listGroups)
	agent.GET("/conversations", s.myConversations)
	agent.GET("/conversations/:id", s.conversationDetails)
	agent.POST("/conversations/:id/accept", s.accept)
	agent.POST("/conversations/:id/transfer", s.transfer)
	agent.POST("/conversations/:id/handback", s.handBack)
	agent.POST("/conversations/:id/close", s.closeConversation)
	agent.POST("/conversations/:id/messages", s.postAgentMessage)
	agent.POST("/conversations/:id/tickets", s.ticketFromConversation)
	agent.POST("/conversations/:id/uploads", s.agentUpload)
	agent.GET("/files/:id", s.agentDownload)
	agent.GET("/tickets", s.listTickets)
	agent.GET("/tickets/:id", s.getTicket)
	agent.PATCH("/tickets/:id", s.patchTicket)
	agent.POST("/tickets/:id/replies", s.ticketEvent(true))
	agent.POST("/tickets/:id/notes", s.ticketEvent(false))
	agent.GET("/canned", s.listCanned)
	agent.GET("/knowledge-gaps", requireRole(data.RoleAdmin, data.RoleEditor), s.knowledgeGaps)
	agent.POST("/knowledge/entries", requireRole(data.RoleAdmin, data.RoleEditor), s.createFAQEntry)
	agent.GET("/knowledge/entries", requireRole(data.RoleAdmin, data.RoleEditor), s.listFAQEntries)
	agent.GET("/knowledge/entries/:id", requireRole(data.RoleAdmin, data.RoleEditor), s.getFAQEntry)
	agent.PUT("/knowledge/entries/:id", requireRole(data.RoleAdmin, data.RoleEditor), s.updateFAQEntry)
	agent.DELETE("/knowledge/entries/:id", requireRole(data.RoleAdmin, data.RoleEditor), s.deleteFAQEntry)
	agent.GET("/knowledge/problems", requireRole(data.RoleAdmin, data.RoleEditor), s.knowledgeProblems)
	agent.POST("/knowledge/try", requireRole(data.RoleAdmin, data.RoleEditor), s.tryKnowledge)

	admin := v1.Group("/admin", s.agentAuth(), requireRole(data.RoleAdmin), limitBody(maxJSONBody))
	admin.POST("/agents", s.createAgent)
	admin.PATCH("/agents/:id", s.patchAgent)
	admin.PUT("/groups/:id", s.putGroup)
	admin.GET("/reports", s.report)
	admin.GET("/reports.csv", s.reportCSV)
	admin.GET("/webhooks/deliveries", s.webhookDeliveries)
	admin.GET("/email", s.emailDeliveries)
	admin.POST("/tokens", s.createToken)
	admin.GET("/sites/:key/settings", s.getSiteSettings)
	admin.PUT("/sites/:key/settings", s.putSiteSettings)
	admin.PATCH("/sites/:key/settings", s.patchSiteSettings)
	admin.GET("/sites/:key", s.getSite)
	admin.PUT("/sites/:key/origins", s.putSiteOrigins)
	admin.GET("/sites/:key/identity-keys", s.listIdentityKeys)
	admin.POST("/sites/:key/identity-keys", s.addIdentityKey)
	admin.DELETE("/sites/:key/identity-keys/:kid", s.removeIdentityKey)
	admin.POST("/sites/:key/erasures", s.eraseByEmail)
	admin.GET("/visitors/:id/export", s.exportVisitor)
	admin.DELETE("/visitors/:id", s.eraseVisitor)
	admin.GET("/audit", s.listAudit)
	admin.POST("/canned", s.upsertCanned)
	admin.PUT("/canned/:id", s.upsertCanned)
	admin.DELETE("/canned/:id", s.deleteCanned)

	r.GET("/", s.page("index.html"))
	r.GET("/widget.js", s.asset("widget.js", "text/javascript; charset=utf-8", false))
	r.GET("/demo.css", s.asset("demo.css", "text/css; charset=utf-8", true))
	r.GET("/console/", s.page("console/index.html"))
	r.GET("/console/console.js", s.asset("console/console.js", "text/javascript; charset=utf-8", true))
	r.GET("/console/console.css", s.asset("console/console.css", "text/css; charset=utf-8", true))
	r.GET("/console", func(c *gin.Context) { c.Redirect(http.StatusMovedPermanently, "/console/") })
}

func (s *Server) healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

func (s *Server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	if err := s.records.Ping(ctx); err != nil {
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
