package api

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/frontdesk/frontdesk/api/realtime"
	"github.com/frontdesk/frontdesk/data"
	"github.com/frontdesk/frontdesk/identity"
)

type sessionRequest struct {
	SiteKey string `json:"site_key"`
	// Token is the visitor token from an earlier session, if the browser has one.
	Token string `json:"token"`
	// IdentityToken, if set, is a JWT the site's server signed for its
	// signed-in customer: the session is then that customer's (any device).
	IdentityToken string `json:"identity_token"`
}

type sessionResponse struct {
	VisitorID string    `json:"visitor_id"`
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	Site      siteInfo  `json:"site"`
	SocketURL string    `json:"socket_path"`
}

type siteInfo struct {
	Key    string              `json:"key"`
	Name   string              `json:"name"`
	Widget data.WidgetSettings `json:"widget"`
}

// createSession starts or resumes a visitor session and returns its token.
func (s *Server) createSession(c *gin.Context) {
	var req sessionRequest
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, 8<<10)
	if err := c.ShouldBindJSON(&req); err != nil {
		writeError(c, badRequest("body must be JSON: {\"site_key\": \"...\", \"token\": \"...\"}"))
		return
	}
	if req.SiteKey == "" {
		req.SiteKey = c.Query("site_key")
	}
	if req.SiteKey == "" || len(req.SiteKey) > 64 {
		writeError(c, badRequest("site_key is required"))
		return
	}
	if !allowIP(c, s.sessionLimit, "sessions") {
		return
	}
	var visitorID string
	if req.Token != "" {
		if claims, err := s.tokens.verify(req.Token); err == nil {
			visitorID = claims.VisitorID
		}
	}
	var (
		site data.Site
		v    data.Visitor
		err  error
	)
	if req.IdentityToken != "" {
		site, v, err = s.chat.IdentifiedSession(c.Request.Context(), req.SiteKey, visitorID, req.IdentityToken)
	} else {
		site, v, err = s.chat.StartSession(c.Request.Context(), req.SiteKey, visitorID)
	}
	if code := identity.Code(err); code != "" {
		writeError(c, identityHTTPError(err))
		return
	}
	if errors.Is(err, data.ErrNotFound) {
		writeError(c, &Error{Status: http.StatusNotFound, Code: "unknown_site", Message: "no site has this site_key"})
		return
	}
	if err != nil {
		writeError(c, err)
		return
	}
	token, exp := s.tokens.sign(v.ID, site.ID)
	c.JSON(http.StatusCreated, sessionResponse{
		VisitorID: v.ID, Token: token, ExpiresAt: exp.UTC(), Site: siteInfo{Key: site.Key, Name: site.Name, Widget: site.Settings.Widget},
		SocketURL: "/api/v1/visitor/ws",
	})
}

// visitorSocket authenticates the visitor token and hands over to realtime.
func (s *Server) visitorSocket(c *gin.Context) {
	if !allowIP(c, s.socketLimit, "connections") {
		return
	}
	claims, err := s.tokens.verify(c.Query("token"))
	if err != nil {
		writeError(c, &Error{Status: http.StatusUnauthorized, Code: "bad_token", Message: "a valid visitor token is required (POST /api/v1/visitor/sessions)"})
		return
	}
	site, v, err := s.chat.Visitor(c.Request.Context(), claims.VisitorID)
	if err != nil || site.ID != claims.SiteID {
		if err == nil || errors.Is(err, data.ErrNotFound) {
			writeError(c, &Error{Status: http.StatusUnauthorized, Code: "bad_token", Message: "the visitor in this token no longer exists"})
			return
		}
		writeError(c, err)
		return
	}
	if !realtime.OriginAllowed(c.Request, site) {
		writeError(c, &Error{Status: http.StatusForbidden, Code: "origin_not_allowed", Message: "this page's origin may not open a chat for this site"})
		return
	}
	s.visitor.Serve(c.Writer, c.Request, site, v)
}

// visitorCORS lets pages on a site's allowed origins call the visitor API.
func (s *Server) visitorCORS() gin.HandlerFunc {
	return func(c *gin.Context) {
		origin := c.GetHeader("Origin")
		key := c.Query("site_key")
		if origin == "" || key == "" || strings.EqualFold(strings.TrimPrefix(strings.TrimPrefix(origin, "https://"), "http://"), c.Request.Host) {
			c.Next()
			return
		}
		site, err := s.chat.Site(c.Request.Context(), key)
		if err == nil && realtime.OriginAllowed(c.Request, site) {
			c.Header("Access-Control-Allow-Origin", origin)
			c.Header("Access-Control-Allow-Methods", "POST, GET, OPTIONS")
			c.Header("Access-Control-Allow-Headers", "Content-Type, Authorization")
			c.Header("Access-Control-Max-Age", "600")
			c.Header("Vary", "Origin")
		}
		c.Next()
	}
}

// sameOriginRequest reports whether a browser request comes from a page of this server.
func sameOriginRequest(r *http.Request) bool { return realtime.SameOrigin(r) }

// widgetConfig returns a site's public widget settings (pre-chat form,
// invitations) without creating a visitor, so every page view can load it.
func (s *Server) widgetConfig(c *gin.Context) {
	key := c.Query("site_key")
	if key == "" || len(key) > 64 {
		writeError(c, badRequest("site_key is required"))
		return
	}
	site, err := s.chat.Site(c.Request.Context(), key)
	if errors.Is(err, data.ErrNotFound) {
		writeError(c, &Error{Status: http.StatusNotFound, Code: "unknown_site", Message: "no site has this site_key"})
		return
	}
	if err != nil {
		writeError(c, err)
		return
	}
	c.Header("Cache-Control", "public, max-age=60")
	c.JSON(http.StatusOK, siteInfo{Key: site.Key, Name: site.Name, Widget: site.Settings.Widget})
}
