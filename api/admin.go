package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/gin-gonic/gin"

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
	if err := c.ShouldBindJSON(&req); err != nil {
		writeError(c, badRequest("body must be a JSON object of fields to change"))
		return
	}
	ctx := c.Request.Context()
	a, err := s.records.GetAgent(ctx, c.Param("id"))
	if err != nil {
		writeError(c, err)
		return
	}
	if req.Name != nil {
		a.Name = *req.Name
	}
	if req.Role != nil {
		a.Role = *req.Role
	}
	if req.Groups != nil {
		a.Groups = req.Groups
	}
	if req.Languages != nil {
		a.Languages = req.Languages
	}
	if req.Capacity != nil {
		a.Capacity = *req.Capacity
	}
	if req.Disabled != nil {
		a.Disabled = *req.Disabled
	}
	a.PasswordHash = ""
	if a, err = s.records.UpdateAgent(ctx, a); err != nil {
		writeError(c, err)
		return
	}
	if req.Password != nil {
		if err := s.accounts.SetPassword(ctx, a.ID, *req.Password); err != nil {
			writeError(c, err)
			return
		}
	}
	c.JSON(http.StatusOK, a)
}

func (s *Server) putGroup(c *gin.Context) {
	var g data.SkillGroup
	if err := c.ShouldBindJSON(&g); err != nil {
		writeError(c, badRequest(`body must be {"name": "...", "settings": {...}}`))
		return
	}
	g.ID = c.Param("id")
	if err := handoff.ValidateHours(g.Settings.BusinessHours); err != nil {
		writeError(c, badRequest(err.Error()))
		return
	}
	if r := g.Settings.Routing; r != "" && r != "auto" && r != "manual" {
		writeError(c, badRequest(`settings.routing must be "auto" or "manual"`))
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

func (s *Server) putSiteSettings(c *gin.Context) {
	var st data.SiteSettings
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, 64<<10)
	if err := c.ShouldBindJSON(&st); err != nil {
		writeError(c, badRequest("body must be the site settings as JSON: {\"widget\": {\"pre_chat\": {...}, \"invitations\": [...]}}"))
		return
	}
	if err := validateSiteSettings(st); err != nil {
		writeError(c, badRequest(err.Error()))
		return
	}
	site, err := s.records.SiteByKey(c.Request.Context(), c.Param("key"))
	if err != nil {
		writeError(c, err)
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
		case len(inv.When.URLPattern) > 200 || len(inv.When.Event) > 64 || len(inv.ConversionEvent) > 64:
			return fmt.Errorf("%s: url_pattern at most 200 bytes, events at most 64", where)
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
