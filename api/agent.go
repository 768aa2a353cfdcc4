package api

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/frontdesk/frontdesk/api/realtime"
	"github.com/frontdesk/frontdesk/data"
	"github.com/frontdesk/frontdesk/handoff"
	"github.com/frontdesk/frontdesk/ratelimit"
)

// Accounts is what the HTTP layer needs for agent sign-in.
type Accounts interface {
	Login(ctx context.Context, email, password string) (handoff.Session, error)
	Authenticate(ctx context.Context, token string) (handoff.Session, error)
	Logout(ctx context.Context, token string) error
	CreateAgent(ctx context.Context, in handoff.NewAgent) (data.Agent, error)
	UpdateAgent(ctx context.Context, agentID string, ch handoff.AgentChanges) (data.Agent, error)
	ChangePassword(ctx context.Context, agentID, current, next string) (handoff.Session, error)
	CreateToken(ctx context.Context, agentID string, ttl time.Duration) (handoff.Session, error)
}

// sessionCookie holds the console session token.
const sessionCookie = "fd_session"

// csrfHeader carries the session's CSRF token on state-changing requests.
const csrfHeader = "X-CSRF-Token"

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

type meResponse struct {
	Agent     data.Agent `json:"agent"`
	CSRFToken string     `json:"csrf_token"`
	ExpiresAt time.Time  `json:"expires_at"`
	Presence  string     `json:"presence"`
}

// login checks the password (rate-limited per IP and per e-mail) and sets the session cookie.
func (s *Server) login(c *gin.Context) {
	var req loginRequest
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, 4<<10)
	// Only JSON: an HTML form on another site cannot send it, so it cannot
	// sign a browser into the attacker's account (login CSRF).
	if c.ContentType() != "application/json" {
		writeError(c, &Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Message: "send the sign-in as Content-Type: application/json"})
		return
	}
	if err := c.ShouldBindJSON(&req); err != nil || req.Email == "" || req.Password == "" {
		writeError(c, badRequest(`body must be JSON: {"email": "...", "password": "..."}`))
		return
	}
	// Per client address, and per account from all addresses together with
	// a ceiling ten times higher: one address cannot lock an account out.
	for _, lim := range []struct {
		l   ratelimit.Limiter
		key string
	}{{s.loginLimit, "ip:" + c.ClientIP()}, {s.loginEmailLimit, "email:" + strings.ToLower(strings.TrimSpace(req.Email))}} {
		if ok, wait := lim.l.Allow(c.Request.Context(), lim.key); !ok {
			c.Header("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
			writeError(c, &Error{Status: http.StatusTooManyRequests, Code: "too_many_attempts", Message: "too many sign-in attempts; try again later"})
			return
		}
	}
	sess, err := s.accounts.Login(c.Request.Context(), req.Email, req.Password)
	if errors.Is(err, handoff.ErrBadCredentials) {
		writeError(c, &Error{Status: http.StatusUnauthorized, Code: "bad_credentials", Message: "wrong e-mail or password"})
		return
	}
	if err != nil {
		writeError(c, err)
		return
	}
	s.startSession(c, sess)
}

// startSession sets the session cookie and answers with the session.
func (s *Server) startSession(c *gin.Context, sess handoff.Session) {
	http.SetCookie(c.Writer, &http.Cookie{Name: sessionCookie, Value: sess.Token, Path: "/", HttpOnly: true,
		Secure: isTLS(c.Request), SameSite: http.SameSiteStrictMode, Expires: sess.ExpiresAt})
	c.JSON(http.StatusOK, meResponse{Agent: sess.Agent, CSRFToken: sess.CSRFToken, ExpiresAt: sess.ExpiresAt, Presence: string(s.presence.Status(sess.Agent.ID))})
}

type passwordRequest struct {
	Current string `json:"current_password"`
	New     string `json:"new_password"`
}

// changePassword lets a signed-in agent replace their own password: every
// session ends, and this browser gets a new one.
func (s *Server) changePassword(c *gin.Context) {
	var req passwordRequest
	if err := c.ShouldBindJSON(&req); err != nil || req.Current == "" || req.New == "" {
		writeError(c, badRequest(`body must be {"current_password": "...", "new_password": "..."}`))
		return
	}
	me := currentAgent(c)
	if ok, wait := s.loginLimit.Allow(c.Request.Context(), "password:"+me.ID); !ok {
		c.Header("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		writeError(c, &Error{Status: http.StatusTooManyRequests, Code: "too_many_attempts", Message: "too many attempts; try again later"})
		return
	}
	sess, err := s.accounts.ChangePassword(c.Request.Context(), me.ID, req.Current, req.New)
	if errors.Is(err, handoff.ErrBadCredentials) {
		writeError(c, &Error{Status: http.StatusForbidden, Code: "bad_credentials", Message: "the current password is wrong"})
		return
	}
	if err != nil {
		writeError(c, err)
		return
	}
	s.hub.AccountChanged(c.Request.Context(), me.ID) // open sockets of the old sessions close
	s.startSession(c, sess)
}

func isTLS(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// agentAuth requires a console session (cookie) or an API token
// (Authorization: Bearer). Cookie requests that change state also need the
// session's CSRF token in the X-CSRF-Token header; bearer tokens are not
// sent by browsers on their own, so they need none.
func (s *Server) agentAuth() gin.HandlerFunc {
	return func(c *gin.Context) {
		token, _ := c.Cookie(sessionCookie)
		bearer := false
		if h := c.GetHeader("Authorization"); strings.HasPrefix(h, "Bearer ") {
			token, bearer = strings.TrimPrefix(h, "Bearer "), true
		}
		sess, err := s.accounts.Authenticate(c.Request.Context(), token)
		if err != nil {
			if errors.Is(err, handoff.ErrNoSession) {
				msg := "sign in to the console first"
				if bearer {
					msg = "the API token is unknown or has expired"
				}
				writeError(c, &Error{Status: http.StatusUnauthorized, Code: "not_signed_in", Message: msg})
				return
			}
			writeError(c, err)
			return
		}
		switch {
		case bearer, c.Request.Method == http.MethodGet, c.Request.Method == http.MethodHead, c.Request.Method == http.MethodOptions:
		default:
			got := c.GetHeader(csrfHeader)
			if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(sess.CSRFToken)) != 1 {
				writeError(c, &Error{Status: http.StatusForbidden, Code: "bad_csrf_token", Message: "missing or wrong " + csrfHeader + " header"})
				return
			}
		}
		c.Set("session", sess)
		c.Next()
	}
}

// requireRole lets only the given roles through.
func requireRole(roles ...data.Role) gin.HandlerFunc {
	return func(c *gin.Context) {
		a := currentAgent(c)
		for _, r := range roles {
			if a.Role == r {
				c.Next()
				return
			}
		}
		writeError(c, &Error{Status: http.StatusForbidden, Code: "forbidden", Message: "your role may not do this"})
	}
}

func currentSession(c *gin.Context) handoff.Session {
	v, _ := c.Get("session")
	sess, _ := v.(handoff.Session)
	return sess
}

func currentAgent(c *gin.Context) data.Agent { return currentSession(c).Agent }

func (s *Server) logout(c *gin.Context) {
	if err := s.accounts.Logout(c.Request.Context(), currentSession(c).Token); err != nil {
		writeError(c, err)
		return
	}
	http.SetCookie(c.Writer, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true, Secure: isTLS(c.Request), SameSite: http.SameSiteStrictMode, MaxAge: -1})
	c.Status(http.StatusNoContent)
}

func (s *Server) me(c *gin.Context) {
	sess := currentSession(c)
	c.JSON(http.StatusOK, meResponse{Agent: sess.Agent, CSRFToken: sess.CSRFToken, ExpiresAt: sess.ExpiresAt, Presence: string(s.presence.Status(sess.Agent.ID))})
}

func (s *Server) setPresence(c *gin.Context) {
	var req struct {
		Status string `json:"status"`
	}
	if err := c.ShouldBindJSON(&req); err != nil || (req.Status != "online" && req.Status != "away") {
		writeError(c, badRequest(`body must be {"status": "online" | "away"}`))
		return
	}
	a := currentAgent(c)
	s.presence.SetAway(a.ID, req.Status == "away")
	c.JSON(http.StatusOK, gin.H{"presence": s.presence.Status(a.ID)})
}

// agentSocket hands an authenticated agent's request to realtime.
func (s *Server) agentSocket(c *gin.Context) {
	if !sameOriginRequest(c.Request) {
		writeError(c, &Error{Status: http.StatusForbidden, Code: "origin_not_allowed", Message: "the console socket is same-origin only"})
		return
	}
	token := currentSession(c).Token
	s.agentWS.Serve(c.Writer, c.Request, currentAgent(c), func(ctx context.Context) (data.Agent, error) {
		sess, err := s.accounts.Authenticate(ctx, token)
		if errors.Is(err, handoff.ErrNoSession) {
			return data.Agent{}, realtime.ErrSignedOut
		}
		return sess.Agent, err
	})
}

type tokenRequest struct {
	Days int `json:"days"`
}

// createToken gives the signed-in admin an API token for another system.
func (s *Server) createToken(c *gin.Context) {
	var req tokenRequest
	if err := c.ShouldBindJSON(&req); err != nil || req.Days < 1 || req.Days > 730 {
		writeError(c, badRequest(`body must be {"days": 1-730}`))
		return
	}
	sess, err := s.accounts.CreateToken(c.Request.Context(), currentAgent(c).ID, time.Duration(req.Days)*24*time.Hour)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"token": sess.Token, "expires_at": sess.ExpiresAt, "agent_id": sess.Agent.ID})
}
