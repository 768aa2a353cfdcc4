package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/frontdesk/frontdesk/data"
	"github.com/frontdesk/frontdesk/handoff"
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
