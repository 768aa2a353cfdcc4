package api

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/frontdesk/frontdesk/data"
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
	switch {
	case errors.As(err, &apiErr):
	case errors.Is(err, data.ErrNotFound):
		apiErr = &Error{Status: http.StatusNotFound, Code: "not_found", Message: "not found"}
	case errors.Is(err, data.ErrConflict):
		apiErr = &Error{Status: http.StatusConflict, Code: "conflict", Message: "conflicts with the current state"}
	case errors.Is(err, data.ErrInvalid):
		apiErr = &Error{Status: http.StatusBadRequest, Code: "invalid", Message: err.Error()}
	default:
		apiErr = &Error{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error"}
		_ = c.Error(err)
	}
	c.AbortWithStatusJSON(apiErr.Status, gin.H{"error": gin.H{"code": apiErr.Code, "message": apiErr.Message}})
}
