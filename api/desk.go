package api

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/frontdesk/frontdesk/chat"
	"github.com/frontdesk/frontdesk/data"
	"github.com/frontdesk/frontdesk/handoff"
)

// Desk is what the console's conversation actions need from handoff.
type Desk interface {
	Accept(ctx context.Context, agentID, conversationID string) (data.Conversation, error)
	Transfer(ctx context.Context, agentID, conversationID, toGroup, toAgent, note string) (data.Conversation, error)
	HandBack(ctx context.Context, agentID, conversationID string) (data.Conversation, error)
	Close(ctx context.Context, agentID, conversationID string) (data.Conversation, error)
	Queue(ctx context.Context, group string) (data.Queue, error)
	// AgentGone requeues the conversations of an agent who can no longer answer them.
	AgentGone(ctx context.Context, agentID string)
}

// Presence is agents' presence as the HTTP layer sees it.
type Presence interface {
	Status(agentID string) handoff.Status
	SetAway(agentID string, away bool)
	Connect(agentID string) (release func())
}

func (s *Server) conversationDetails(c *gin.Context) {
	d, err := s.chat.Details(c.Request.Context(), currentAgent(c), c.Param("id"))
	if err != nil {
		writeError(c, err)
		return
	}
	if !s.audited(c, data.AuditView, d.Conversation.SiteID, "conversation:"+d.Conversation.ID) {
		return
	}
	c.JSON(http.StatusOK, d)
}

func (s *Server) accept(c *gin.Context) {
	s.deskAction(c, func(ctx context.Context, agentID, id string) (data.Conversation, error) {
		return s.desk.Accept(ctx, agentID, id)
	})
}

func (s *Server) handBack(c *gin.Context) { s.deskAction(c, s.desk.HandBack) }

func (s *Server) closeConversation(c *gin.Context) { s.deskAction(c, s.desk.Close) }

func (s *Server) deskAction(c *gin.Context, act func(ctx context.Context, agentID, id string) (data.Conversation, error)) {
	conv, err := act(c.Request.Context(), currentAgent(c).ID, c.Param("id"))
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, conv)
}

type transferRequest struct {
	Group string `json:"group"`
	Agent string `json:"agent"`
	Note  string `json:"note"`
}

func (s *Server) transfer(c *gin.Context) {
	var req transferRequest
	if err := c.ShouldBindJSON(&req); err != nil || (req.Group == "") == (req.Agent == "") {
		writeError(c, badRequest(`body must name exactly one target: {"group": "..."} or {"agent": "..."}, with an optional "note"`))
		return
	}
	conv, err := s.desk.Transfer(c.Request.Context(), currentAgent(c).ID, c.Param("id"), req.Group, req.Agent, req.Note)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, conv)
}

type agentMessageRequest struct {
	ClientMsgID string       `json:"client_msg_id"`
	Text        string       `json:"text"`
	Note        bool         `json:"note"`
	Coupon      *data.Coupon `json:"coupon"`
}

func (s *Server) postAgentMessage(c *gin.Context) {
	var req agentMessageRequest
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, 32<<10)
	if err := c.ShouldBindJSON(&req); err != nil || req.ClientMsgID == "" || (req.Text == "" && req.Coupon == nil) {
		writeError(c, badRequest(`body must be {"client_msg_id": "...", "text": "...", "note": false} or carry a "coupon": {"code", "title", "description"}`))
		return
	}
	var (
		m   data.Message
		dup bool
		err error
	)
	if req.Coupon != nil {
		m, dup, err = s.chat.PostAgentRich(c.Request.Context(), currentAgent(c), c.Param("id"), req.ClientMsgID, req.Text, chat.Rich{Coupon: req.Coupon})
	} else {
		m, dup, err = s.chat.PostAgentMessage(c.Request.Context(), currentAgent(c), c.Param("id"), req.ClientMsgID, req.Text, req.Note)
	}
	if err != nil {
		writeError(c, err)
		return
	}
	status := http.StatusCreated
	if dup {
		status = http.StatusOK
	}
	c.JSON(status, m)
}

func (s *Server) queues(c *gin.Context) {
	a := currentAgent(c)
	groups := a.QueueGroups() // none for editors
	if a.Role == data.RoleAdmin {
		all, err := s.records.ListGroups(c.Request.Context())
		if err != nil {
			writeError(c, err)
			return
		}
		groups = groups[:0:0]
		for _, g := range all {
			groups = append(groups, g.ID)
		}
	}
	out := []data.Queue{}
	for _, g := range groups {
		q, err := s.desk.Queue(c.Request.Context(), g)
		if err != nil {
			writeError(c, err)
			return
		}
		out = append(out, q)
	}
	c.JSON(http.StatusOK, gin.H{"queues": out})
}

type agentSummary struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Role     string   `json:"role"`
	Groups   []string `json:"groups"`
	Capacity int      `json:"capacity"`
	Presence string   `json:"presence"`
}

func (s *Server) listAgents(c *gin.Context) {
	agents, err := s.records.ListAgents(c.Request.Context())
	if err != nil {
		writeError(c, err)
		return
	}
	out := make([]agentSummary, 0, len(agents))
	for _, a := range agents {
		if a.Disabled {
			continue
		}
		out = append(out, agentSummary{ID: a.ID, Name: a.Name, Role: string(a.Role), Groups: a.Groups, Capacity: a.Capacity, Presence: string(s.presence.Status(a.ID))})
	}
	c.JSON(http.StatusOK, gin.H{"agents": out})
}

func (s *Server) listGroups(c *gin.Context) {
	groups, err := s.records.ListGroups(c.Request.Context())
	if err != nil {
		writeError(c, err)
		return
	}
	if groups == nil {
		groups = []data.SkillGroup{}
	}
	c.JSON(http.StatusOK, gin.H{"groups": groups})
}

func (s *Server) myConversations(c *gin.Context) {
	a := currentAgent(c)
	var convs []data.Conversation
	if a.WorksConversations() {
		var err error
		if convs, err = s.records.AgentConversations(c.Request.Context(), a.ID); err != nil {
			writeError(c, err)
			return
		}
	}
	if convs == nil {
		convs = []data.Conversation{}
	}
	c.JSON(http.StatusOK, gin.H{"conversations": convs})
}
