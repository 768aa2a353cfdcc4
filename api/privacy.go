package api

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/frontdesk/frontdesk/data"
	"github.com/frontdesk/frontdesk/privacy"
)

// actor names the signed-in agent or admin for the audit log.
func actor(c *gin.Context) privacy.Actor { return actorOf(currentAgent(c)) }

// actorOf names an agent or admin for the audit log.
func actorOf(a data.Agent) privacy.Actor {
	kind := "agent"
	if a.Role == data.RoleAdmin {
		kind = "admin"
	}
	return privacy.Actor{Kind: kind, ID: a.ID}
}

// audited records an access to personal data; when it cannot be recorded
// the request fails (no unrecorded access).
func (s *Server) audited(c *gin.Context, action, siteID, target string) bool {
	return s.auditedDetail(c, action, siteID, target, "")
}

// auditedDetail is audited with a detail (e.g. a listing's filters).
func (s *Server) auditedDetail(c *gin.Context, action, siteID, target, detail string) bool {
	if err := s.privacy.Audit(c.Request.Context(), actor(c), action, siteID, target, detail); err != nil {
		writeError(c, err)
		return false
	}
	return true
}

func (s *Server) exportVisitor(c *gin.Context) {
	out, err := s.privacy.Export(c.Request.Context(), actor(c), c.Param("id"))
	if err != nil {
		writeError(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Header("Content-Disposition", `attachment; filename="visitor-`+out.Visitor.ID+`.json"`)
	c.JSON(http.StatusOK, out)
}

func (s *Server) eraseVisitor(c *gin.Context) {
	if err := s.privacy.Erase(c.Request.Context(), actor(c), c.Param("id")); err != nil {
		writeError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

type erasureRequest struct {
	Email string `json:"email"`
}

func (s *Server) eraseByEmail(c *gin.Context) {
	var req erasureRequest
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, 4<<10)
	if err := c.ShouldBindJSON(&req); err != nil || strings.TrimSpace(req.Email) == "" || len(req.Email) > 254 {
		writeError(c, badRequest(`body must be {"email": "..."}`))
		return
	}
	out, err := s.privacy.EraseByEmail(c.Request.Context(), actor(c), c.Param("key"), req.Email)
	if errors.Is(err, privacy.ErrNoMatch) {
		err = &Error{Status: http.StatusNotFound, Code: "no_match", Message: "no visitor or ticket of this site has this e-mail address; nothing was erased"}
	}
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, out)
}

func (s *Server) listAudit(c *gin.Context) {
	after, err := strconv.ParseInt(c.DefaultQuery("after", "0"), 10, 64)
	if err != nil || after < 0 {
		writeError(c, badRequest("after must be the seq of an audit entry (a whole number)"))
		return
	}
	entries, err := s.records.ListAudit(c.Request.Context(), after, 500)
	if err != nil {
		writeError(c, err)
		return
	}
	if entries == nil {
		entries = []data.AuditEntry{}
	}
	c.JSON(http.StatusOK, gin.H{"entries": entries})
}
