package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/frontdesk/frontdesk/chat"
	"github.com/frontdesk/frontdesk/data"
	"github.com/frontdesk/frontdesk/handoff"
	"github.com/frontdesk/frontdesk/knowledge"
)

// Error is an API error with an HTTP status and a stable code.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func badRequest(msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "bad_request", Message: msg}
}

// writeError renders err as {"error":{"code","message"}}; it is the one place
// that maps domain errors to HTTP statuses.
func writeError(c *gin.Context, err error) {
	var apiErr *Error
	var kbConflict *knowledge.ConflictError
	switch {
	case errors.As(err, &apiErr):
	case errors.Is(err, chat.ErrForbidden), errors.Is(err, handoff.ErrNotAllowed):
		apiErr = &Error{Status: http.StatusForbidden, Code: "forbidden", Message: "you may not do this with this conversation or ticket"}
	case errors.Is(err, handoff.ErrAtCapacity):
		apiErr = &Error{Status: http.StatusConflict, Code: "at_capacity", Message: "the agent already has as many conversations as their capacity"}
	case errors.Is(err, chat.ErrNoHandoff):
		apiErr = &Error{Status: http.StatusServiceUnavailable, Code: "no_handoff", Message: "human handoff is not configured"}
	case errors.Is(err, knowledge.ErrReadOnly):
		apiErr = &Error{Status: http.StatusConflict, Code: "read_only_knowledge", Message: "the server's knowledge is the built-in demo set or a single file; start it with --kb DIR to add FAQ entries"}
	case errors.As(err, &kbConflict):
		apiErr = &Error{Status: http.StatusConflict, Code: "duplicate_id", Message: kbConflictMessage(kbConflict)}
		if kbConflict.Question != "" {
			apiErr.Code = "duplicate_question"
		}
	case errors.Is(err, data.ErrNotFound):
		apiErr = &Error{Status: http.StatusNotFound, Code: "not_found", Message: "not found"}
	case errors.Is(err, data.ErrConflict):
		apiErr = &Error{Status: http.StatusConflict, Code: "conflict", Message: conflictMessage(err)}
	case errors.Is(err, data.ErrInvalid):
		apiErr = &Error{Status: http.StatusBadRequest, Code: "invalid", Message: data.Reason(err)}
	default:
		apiErr = &Error{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error"}
		_ = c.Error(err)
	}
	c.AbortWithStatusJSON(apiErr.Status, gin.H{"error": gin.H{"code": apiErr.Code, "message": apiErr.Message}})
}

// kbConflictMessage says what a new FAQ entry clashes with.
func kbConflictMessage(e *knowledge.ConflictError) string {
	switch {
	case e.Question != "":
		return fmt.Sprintf("the question %q is already a question of FAQ entry %s (%s)", e.Question, e.ID, e.File)
	case e.ID == "":
		return fmt.Sprintf("the knowledge directory has a file %s already (one that does not parse); choose another id", e.File)
	}
	return fmt.Sprintf("an FAQ entry with the id %s exists (%s); choose another id", e.ID, e.File)
}

// conflictMessage explains a conflict without leaking internals.
func conflictMessage(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "capacity"):
		return "the agent already has as many conversations as their capacity"
	case strings.Contains(msg, "exists"), strings.Contains(msg, "taken"), strings.Contains(msg, "another agent"):
		return "a record with this name or e-mail already exists"
	}
	return "the conversation or record changed meanwhile (for example another agent took it); reload"
}
