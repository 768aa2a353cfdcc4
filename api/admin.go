package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/frontdesk/frontdesk/api/realtime"
	"github.com/frontdesk/frontdesk/data"
	"github.com/frontdesk/frontdesk/handoff"
	"github.com/frontdesk/frontdesk/webhooks"
)

type newAgentRequest struct {
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	Password  string    `json:"password"`
	Role      data.Role `json:"role"`
	Groups    []string  `json:"groups"`
	Languages []string  `json:"languages"`
	Capacity  int       `json:"capacity"`
}

func (s *Server) createAgent(c *gin.Context) {
	var req newAgentRequest
	if err := c.ShouldBindJSON(&req); err != nil {
		writeError(c, badRequest(`body must be {"email","name","password","role","groups":[...],"capacity"}`))
		return
	}
	a, err := s.accounts.CreateAgent(c.Request.Context(), handoff.NewAgent{Email: req.Email, Name: req.Name, Password: req.Password,
		Role: req.Role, Groups: req.Groups, Languages: req.Languages, Capacity: req.Capacity})
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusCreated, a)
}

type agentPatch struct {
	Name      *string    `json:"name"`
	Role      *data.Role `json:"role"`
	Groups    []string   `json:"groups"`
	Languages []string   `json:"languages"`
	Capacity  *int       `json:"capacity"`
	Disabled  *bool      `json:"disabled"`
	Password  *string    `json:"password"`
}

func (s *Server) patchAgent(c *gin.Context) {
	var req agentPatch
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, 16<<10)
	if err := c.ShouldBindJSON(&req); err != nil {
		writeError(c, badRequest("body must be a JSON object of fields to change"))
		return
	}
	a, err := s.accounts.UpdateAgent(c.Request.Context(), c.Param("id"), handoff.AgentChanges{Name: req.Name, Role: req.Role, Groups: req.Groups,
		Languages: req.Languages, Capacity: req.Capacity, Disabled: req.Disabled, Password: req.Password})
	if err != nil {
		writeError(c, err)
		return
	}
	s.hub.AccountChanged(c.Request.Context(), a.ID)
	if a.Disabled || a.Capacity == 0 || a.Role == data.RoleEditor {
		s.desk.AgentGone(c.Request.Context(), a.ID)
	}
	c.JSON(http.StatusOK, a)
}

func (s *Server) putGroup(c *gin.Context) {
	var g data.SkillGroup
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, 64<<10)
	if err := c.ShouldBindJSON(&g); err != nil {
		writeError(c, badRequest(`body must be {"name": "...", "settings": {...}}`))
		return
	}
	g.ID = c.Param("id")
	known, err := s.records.ListGroups(c.Request.Context())
	if err != nil {
		writeError(c, err)
		return
	}
	if err := handoff.ValidateGroup(g, known); err != nil {
		writeError(c, badRequest(err.Error()))
		return
	}
	out, err := s.records.UpsertGroup(c.Request.Context(), g)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, out)
}

const maskedSecret = "********"

// maskSecrets hides webhook secrets in settings sent to browsers.
func maskSecrets(st data.SiteSettings) data.SiteSettings {
	hooks := make([]data.Webhook, len(st.Webhooks))
	for i, h := range st.Webhooks {
		h.Secret = maskedSecret
		hooks[i] = h
	}
	st.Webhooks = hooks
	return st
}

func (s *Server) getSiteSettings(c *gin.Context) {
	site, err := s.records.SiteByKey(c.Request.Context(), c.Param("key"))
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, maskSecrets(site.Settings))
}

func (s *Server) webhookDeliveries(c *gin.Context) {
	items, err := s.records.ListOutbox(c.Request.Context(), "webhook", 200)
	if err != nil {
		writeError(c, err)
		return
	}
	type row struct {
		ID        string     `json:"id"`
		WebhookID string     `json:"webhook_id"`
		Event     string     `json:"event"`
		URL       string     `json:"url"`
		Attempts  int        `json:"attempts"`
		LastError string     `json:"last_error,omitempty"`
		NextTry   time.Time  `json:"next_attempt_at"`
		CreatedAt time.Time  `json:"created_at"`
		DoneAt    *time.Time `json:"delivered_at,omitempty"`
	}
	out := make([]row, 0, len(items))
	for _, it := range items {
		var p struct {
			WebhookID string `json:"webhook_id"`
			URL       string `json:"url"`
			Event     string `json:"event"`
		}
		_ = json.Unmarshal(it.Payload, &p)
		out = append(out, row{ID: it.ID, WebhookID: p.WebhookID, Event: p.Event, URL: p.URL, Attempts: it.Attempts, LastError: it.LastError,
			NextTry: it.NextAttemptAt, CreatedAt: it.CreatedAt, DoneAt: it.DoneAt})
	}
	c.JSON(http.StatusOK, gin.H{"deliveries": out})
}

// emailDeliveries says whether this node sends e-mail and lists the
// latest e-mails (ticket notifications and replies) with their state.
func (s *Server) emailDeliveries(c *gin.Context) {
	items, err := s.records.ListOutbox(c.Request.Context(), "email", 200)
	if err != nil {
		writeError(c, err)
		return
	}
	type row struct {
		ID        string     `json:"id"`
		To        []string   `json:"to"`
		Subject   string     `json:"subject"`
		Attempts  int        `json:"attempts"`
		LastError string     `json:"last_error,omitempty"`
		NextTry   time.Time  `json:"next_attempt_at"`
		CreatedAt time.Time  `json:"created_at"`
		DoneAt    *time.Time `json:"sent_at,omitempty"`
	}
	out := make([]row, 0, len(items))
	waiting := 0
	for _, it := range items {
		var p struct {
			To      []string `json:"to"`
			Subject string   `json:"subject"`
		}
		_ = json.Unmarshal(it.Payload, &p)
		if it.DoneAt == nil {
			waiting++
		}
		out = append(out, row{ID: it.ID, To: p.To, Subject: p.Subject, Attempts: it.Attempts, LastError: it.LastError,
			NextTry: it.NextAttemptAt, CreatedAt: it.CreatedAt, DoneAt: it.DoneAt})
	}
	c.JSON(http.StatusOK, gin.H{"smtp_configured": s.cfg.SendsEmail, "waiting": waiting, "emails": out})
}

func (s *Server) putSiteSettings(c *gin.Context) {
	var st data.SiteSettings
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, 64<<10)
	if err := c.ShouldBindJSON(&st); err != nil {
		writeError(c, badRequest("body must be the site settings as JSON: {\"widget\": {\"pre_chat\": {...}, \"invitations\": [...]}}"))
		return
	}
	site, err := s.records.SiteByKey(c.Request.Context(), c.Param("key"))
	if err != nil {
		writeError(c, err)
		return
	}
	s.saveSiteSettings(c, site, st)
}

// patchSiteSettings replaces only the sections of the settings the body
// names (widget, webhooks, identity, privacy) and keeps the others.
func (s *Server) patchSiteSettings(c *gin.Context) {
	var patch map[string]json.RawMessage
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, 64<<10)
	if err := c.ShouldBindJSON(&patch); err != nil || patch == nil {
		writeError(c, badRequest(`body must be a JSON object of the sections to replace: {"identity": {"required": true}}`))
		return
	}
	site, err := s.records.SiteByKey(c.Request.Context(), c.Param("key"))
	if err != nil {
		writeError(c, err)
		return
	}
	cur, err := json.Marshal(maskSecrets(site.Settings))
	if err != nil {
		writeError(c, err)
		return
	}
	var merged map[string]json.RawMessage
	if err := json.Unmarshal(cur, &merged); err != nil {
		writeError(c, err)
		return
	}
	for k, v := range patch {
		if _, known := merged[k]; !known && k != "webhooks" {
			writeError(c, badRequest(fmt.Sprintf("unknown settings section %q (want widget, webhooks, identity or privacy)", k)))
			return
		}
		merged[k] = v
	}
	b, _ := json.Marshal(merged)
	var st data.SiteSettings
	if err := json.Unmarshal(b, &st); err != nil {
		writeError(c, badRequest("settings: "+err.Error()))
		return
	}
	s.saveSiteSettings(c, site, st)
}

// saveSiteSettings validates st, keeps stored webhook secrets sent back
// masked, audits the change and stores it.
func (s *Server) saveSiteSettings(c *gin.Context, site data.Site, st data.SiteSettings) {
	if err := validateSiteSettings(st); err != nil {
		writeError(c, badRequest(err.Error()))
		return
	}
	// A masked secret sent back unchanged keeps the stored one.
	for i, h := range st.Webhooks {
		if h.Secret != maskedSecret {
			continue
		}
		for _, old := range site.Settings.Webhooks {
			if old.ID == h.ID {
				st.Webhooks[i].Secret = old.Secret
			}
		}
		if st.Webhooks[i].Secret == maskedSecret {
			writeError(c, badRequest(fmt.Sprintf("webhooks[%d].secret: give the secret of a new webhook", i)))
			return
		}
	}
	if !s.audited(c, data.AuditSettings, site.ID, "site:"+site.Key) {
		return
	}
	out, err := s.records.UpdateSiteSettings(c.Request.Context(), site.ID, st)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, maskSecrets(out.Settings))
}

// validateSiteSettings checks widget settings before they are stored.
func validateSiteSettings(st data.SiteSettings) error {
	if d := st.Privacy.RetentionDays; d < 0 || d > 36500 {
		return fmt.Errorf("privacy.retention_days must be 0 (keep) to 36500, not %d", d)
	}
	w := st.Widget
	if w.PrivacyNoticeURL != "" {
		u, err := url.Parse(w.PrivacyNoticeURL)
		if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || len(w.PrivacyNoticeURL) > 500 {
			return errors.New("widget.privacy_notice_url: an https URL of at most 500 bytes, or empty")
		}
	}
	if len(w.PreChat.Topics) > 20 {
		return errors.New("pre_chat.topics: at most 20")
	}
	for _, t := range w.PreChat.Topics {
		if t == "" || len(t) > 60 {
			return errors.New("pre_chat.topics: each 1-60 bytes")
		}
	}
	if len(st.Webhooks) > 10 {
		return errors.New("webhooks: at most 10")
	}
	known := map[string]bool{}
	for _, e := range webhooks.Events {
		known[e] = true
	}
	for i, h := range st.Webhooks {
		u, err := url.Parse(h.URL)
		switch {
		case h.ID == "" || len(h.ID) > 40:
			return fmt.Errorf("webhooks[%d].id: required, at most 40 bytes", i)
		case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(h.URL) > 500:
			return fmt.Errorf("webhooks[%d].url: an http(s) URL is required", i)
		case h.Secret != maskedSecret && (len(h.Secret) < 16 || len(h.Secret) > 200):
			return fmt.Errorf("webhooks[%d].secret: 16-200 characters", i)
		}
		for _, e := range h.Events {
			if !known[e] {
				return fmt.Errorf("webhooks[%d].events: unknown event %q", i, e)
			}
		}
	}
	if len(w.Invitations) > 20 {
		return errors.New("invitations: at most 20")
	}
	ids := map[string]bool{}
	for i, inv := range w.Invitations {
		where := fmt.Sprintf("invitations[%d]", i)
		switch {
		case inv.ID == "" || len(inv.ID) > 40 || ids[inv.ID]:
			return fmt.Errorf("%s.id: required, unique, at most 40 bytes", where)
		case len(inv.Message) == 0:
			return fmt.Errorf("%s.message: give the text per language, e.g. {\"en\": \"...\", \"zh\": \"...\"}", where)
		case inv.When == (data.InvitationWhen{}):
			return fmt.Errorf("%s.when: at least one condition is required", where)
		case inv.When.SecondsOnPage < 0 || inv.When.SecondsOnPage > 3600 || inv.When.ScrollPercent < 0 || inv.When.ScrollPercent > 100:
			return fmt.Errorf("%s.when: seconds_on_page 0-3600, scroll_percent 0-100", where)
		case len(inv.When.URLPattern) > 200:
			return fmt.Errorf("%s: url_pattern at most 200 bytes", where)
		case (inv.When.Event != "" && !data.ValidEventName(inv.When.Event)) || (inv.ConversionEvent != "" && !data.ValidEventName(inv.ConversionEvent)):
			return fmt.Errorf("%s: event names are 1-64 of a-z, 0-9 and _ . : - (e.g. added_to_cart)", where)
		case inv.MaxPerDay < 0 || inv.MaxPerDay > 20:
			return fmt.Errorf("%s.max_per_day: 0-20", where)
		case inv.Coupon != nil && (inv.Coupon.Code == "" || len(inv.Coupon.Code) > 40 || len(inv.Coupon.Title) > 100 || len(inv.Coupon.Description) > 300):
			return fmt.Errorf("%s.coupon: code 1-40 bytes, title at most 100, description at most 300", where)
		}
		for lang, text := range inv.Message {
			if (lang != "en" && lang != "zh") || text == "" || len(text) > 500 {
				return fmt.Errorf("%s.message: languages en and zh, 1-500 bytes each", where)
			}
		}
		ids[inv.ID] = true
	}
	return nil
}

// siteView is a site as the admin API shows it.
type siteView struct {
	ID             string            `json:"id"`
	Key            string            `json:"key"`
	Name           string            `json:"name"`
	AllowedOrigins []string          `json:"allowed_origins"`
	Settings       data.SiteSettings `json:"settings"`
	CreatedAt      time.Time         `json:"created_at"`
}

func newSiteView(site data.Site) siteView {
	return siteView{ID: site.ID, Key: site.Key, Name: site.Name, AllowedOrigins: site.AllowedOrigins, Settings: maskSecrets(site.Settings), CreatedAt: site.CreatedAt}
}

func (s *Server) getSite(c *gin.Context) {
	site, err := s.records.SiteByKey(c.Request.Context(), c.Param("key"))
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, newSiteView(site))
}

// putSiteOrigins replaces the origins whose pages may embed the site's widget.
func (s *Server) putSiteOrigins(c *gin.Context) {
	var req struct {
		AllowedOrigins []string `json:"allowed_origins"`
	}
	if err := c.ShouldBindJSON(&req); err != nil || req.AllowedOrigins == nil || len(req.AllowedOrigins) > 100 {
		writeError(c, badRequest(`body must be {"allowed_origins": ["https://shop.example.com", ...]} (at most 100)`))
		return
	}
	for i, o := range req.AllowedOrigins {
		o = strings.TrimRight(strings.TrimSpace(o), "/")
		if !realtime.ValidOrigin(o) {
			writeError(c, badRequest(fmt.Sprintf("allowed_origins[%d]: %q is not an origin like https://shop.example.com", i, o)))
			return
		}
		req.AllowedOrigins[i] = o
	}
	site, err := s.records.SiteByKey(c.Request.Context(), c.Param("key"))
	if err != nil {
		writeError(c, err)
		return
	}
	if !s.audited(c, data.AuditSettings, site.ID, "site:"+site.Key+" origins") {
		return
	}
	out, err := s.records.SetSiteOrigins(c.Request.Context(), site.ID, req.AllowedOrigins)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, newSiteView(out))
}
