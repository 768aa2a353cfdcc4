package api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/frontdesk/frontdesk/data"
)

// TicketService is what the console's ticket actions need.
type TicketService interface {
	Reply(ctx context.Context, agent data.Agent, ticketID, text string) (data.TicketEvent, error)
	Note(ctx context.Context, agent data.Agent, ticketID, text string) (data.TicketEvent, error)
	FromConversation(ctx context.Context, agent data.Agent, conversationID, subject, body string, contact data.Contact) (data.Ticket, error)
	List(ctx context.Context, agent data.Agent, f data.TicketFilter) ([]data.Ticket, error)
	Get(ctx context.Context, agent data.Agent, id string) (data.Ticket, []data.TicketEvent, error)
	Update(ctx context.Context, agent data.Agent, u data.TicketUpdate) (data.Ticket, error)
}

func (s *Server) listTickets(c *gin.Context) {
	limit, _ := strconv.Atoi(c.DefaultQuery("limit", "100"))
	status := data.TicketStatus(c.Query("status"))
	if status != "" && !status.Valid() {
		writeError(c, badRequest("status must be open, pending or solved"))
		return
	}
	list, err := s.tickets.List(c.Request.Context(), currentAgent(c), data.TicketFilter{Status: status, GroupID: c.Query("group"), Limit: limit})
	if err != nil {
		writeError(c, err)
		return
	}
	// The list shows each ticket's contact and message: one audit entry per
	// listing, naming how many tickets it showed.
	if len(list) > 0 && !s.auditedDetail(c, data.AuditView, "", fmt.Sprintf("tickets:%d", len(list)), c.Request.URL.RawQuery) {
		return
	}
	if list == nil {
		list = []data.Ticket{}
	}
	c.JSON(http.StatusOK, gin.H{"tickets": list})
}

func (s *Server) getTicket(c *gin.Context) {
	t, events, err := s.tickets.Get(c.Request.Context(), currentAgent(c), c.Param("id"))
	if err != nil {
		writeError(c, err)
		return
	}
	if !s.audited(c, data.AuditView, t.SiteID, "ticket:"+t.ID) {
		return
	}
	if events == nil {
		events = []data.TicketEvent{}
	}
	c.JSON(http.StatusOK, gin.H{"ticket": t, "events": events})
}

type textRequest struct {
	Text string `json:"text"`
}

func (s *Server) ticketEvent(reply bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		var req textRequest
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, 32<<10)
		if err := c.ShouldBindJSON(&req); err != nil || req.Text == "" {
			writeError(c, badRequest(`body must be {"text": "..."}`))
			return
		}
		do := s.tickets.Note
		if reply {
			do = s.tickets.Reply
		}
		ev, err := do(c.Request.Context(), currentAgent(c), c.Param("id"), req.Text)
		if err != nil {
			writeError(c, err)
			return
		}
		c.JSON(http.StatusCreated, ev)
	}
}

type ticketPatch struct {
	Status   data.TicketStatus `json:"status"`
	Assignee *string           `json:"assignee"`
	Group    *string           `json:"group"`
}

func (s *Server) patchTicket(c *gin.Context) {
	var req ticketPatch
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, 32<<10)
	if err := c.ShouldBindJSON(&req); err != nil {
		writeError(c, badRequest(`body must be {"status": "open|pending|solved", "assignee": "...", "group": "..."}`))
		return
	}
	t, err := s.tickets.Update(c.Request.Context(), currentAgent(c), data.TicketUpdate{ID: c.Param("id"), Status: req.Status, Assignee: req.Assignee, GroupID: req.Group})
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, t)
}

type newTicketRequest struct {
	Subject string       `json:"subject"`
	Body    string       `json:"body"`
	Contact data.Contact `json:"contact"`
}

func (s *Server) ticketFromConversation(c *gin.Context) {
	var req newTicketRequest
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, 64<<10)
	if err := c.ShouldBindJSON(&req); err != nil || req.Body == "" {
		writeError(c, badRequest(`body must be {"subject": "...", "body": "...", "contact": {"name","email","phone"}}`))
		return
	}
	t, err := s.tickets.FromConversation(c.Request.Context(), currentAgent(c), c.Param("id"), req.Subject, req.Body, req.Contact)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusCreated, t)
}

func (s *Server) listCanned(c *gin.Context) {
	list, err := s.records.ListCanned(c.Request.Context())
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"canned": list})
}

func (s *Server) upsertCanned(c *gin.Context) {
	var req data.CannedResponse
	if err := c.ShouldBindJSON(&req); err != nil {
		writeError(c, badRequest(`body must be {"shortcut": "refund", "title": "...", "body": "..."}`))
		return
	}
	req.ID = c.Param("id")
	out, err := s.records.UpsertCanned(c.Request.Context(), req)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, out)
}

func (s *Server) deleteCanned(c *gin.Context) {
	if err := s.records.DeleteCanned(c.Request.Context(), c.Param("id")); err != nil {
		writeError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
