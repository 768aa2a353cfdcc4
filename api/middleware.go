package api

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// contentSecurityPolicy is sent with every page Frontdesk serves.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

func securityHeaders() gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		if !strings.HasPrefix(c.Request.URL.Path, "/api/") && c.Request.URL.Path != "/widget.js" {
			h.Set("Content-Security-Policy", contentSecurityPolicy)
			h.Set("X-Frame-Options", "DENY")
		}
		c.Next()
	}
}

// accessLog logs one line per request; query strings (which may hold tokens) are not logged.
func (s *Server) accessLog() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		level := slog.LevelDebug
		if c.Writer.Status() >= 500 {
			level = slog.LevelError
		}
		attrs := []slog.Attr{
			slog.String("method", c.Request.Method), slog.String("path", c.Request.URL.Path),
			slog.Int("status", c.Writer.Status()), slog.Duration("took", time.Since(start)),
		}
		if len(c.Errors) > 0 {
			attrs = append(attrs, slog.String("err", c.Errors.String()))
		}
		s.log.LogAttrs(c.Request.Context(), level, "http", attrs...)
	}
}

// recoverer turns a panic in a handler into a 500 JSON error and a log line.
func (s *Server) recoverer() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic in handler", slog.String("path", c.Request.URL.Path), slog.String("panic", fmt.Sprint(v)))
				if !c.Writer.Written() {
					writeError(c, &Error{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error"})
				}
			}
		}()
		c.Next()
	}
}

// maxJSONBody bounds the JSON body of a console or admin request (the
// largest are site settings and FAQ entries).
const maxJSONBody = 256 << 10

// limitBody stops reading a request body after n bytes, except for file
// uploads (multipart), which their handler limits itself.
func limitBody(n int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.ContentType() != "multipart/form-data" {
			c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, n)
		}
		c.Next()
	}
}
