package api

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/frontdesk/frontdesk/chat"
	"github.com/frontdesk/frontdesk/data"
)

// Files is what the upload and download handlers need.
type Files interface {
	PostVisitorFile(ctx context.Context, v data.Visitor, u chat.Upload) (data.Message, bool, error)
	PostAgentFile(ctx context.Context, a data.Agent, conversationID string, u chat.Upload) (data.Message, bool, error)
	VisitorFile(ctx context.Context, v data.Visitor, id string) (data.File, error)
	AgentFile(ctx context.Context, a data.Agent, id string) (data.File, error)
}

// readUpload reads the multipart field "file" (at most MaxFileBytes) and "client_msg_id".
func readUpload(c *gin.Context) (chat.Upload, error) {
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, data.MaxFileBytes+64<<10)
	fh, err := c.FormFile("file")
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return chat.Upload{}, &Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: "files may be at most 10 MB"}
		}
		return chat.Upload{}, badRequest(`send the file as multipart/form-data in the field "file"`)
	}
	if fh.Size > data.MaxFileBytes {
		return chat.Upload{}, &Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: "files may be at most 10 MB"}
	}
	f, err := fh.Open()
	if err != nil {
		return chat.Upload{}, badRequest("the file cannot be read")
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, data.MaxFileBytes+1))
	if err != nil {
		return chat.Upload{}, badRequest("the file cannot be read")
	}
	id := c.PostForm("client_msg_id")
	if id == "" || len(id) > data.MaxClientMsgIDLen {
		return chat.Upload{}, badRequest("client_msg_id is required (at most 64 characters)")
	}
	return chat.Upload{ClientMsgID: id, Name: fh.Filename, Content: b}, nil
}

// visitorFromBearer authenticates a visitor by the token in the Authorization header.
func (s *Server) visitorFromBearer(c *gin.Context) (data.Visitor, bool) {
	token := strings.TrimPrefix(c.GetHeader("Authorization"), "Bearer ")
	claims, err := s.tokens.verify(token)
	if err != nil {
		writeError(c, &Error{Status: http.StatusUnauthorized, Code: "bad_token", Message: "send the visitor token as Authorization: Bearer <token>"})
		return data.Visitor{}, false
	}
	site, v, err := s.chat.Visitor(c.Request.Context(), claims.VisitorID)
	if err != nil || site.ID != claims.SiteID {
		writeError(c, &Error{Status: http.StatusUnauthorized, Code: "bad_token", Message: "the visitor in this token no longer exists"})
		return data.Visitor{}, false
	}
	return v, true
}

func (s *Server) visitorUpload(c *gin.Context) {
	v, ok := s.visitorFromBearer(c)
	if !ok || !allowIP(c, s.uploadLimit, "uploads") {
		return
	}
	u, err := readUpload(c)
	if err != nil {
		writeError(c, err)
		return
	}
	m, _, err := s.files.PostVisitorFile(c.Request.Context(), v, u)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"conversation_id": m.ConversationID, "seq": m.Seq, "client_msg_id": m.ClientMsgID})
}

func (s *Server) agentUpload(c *gin.Context) {
	u, err := readUpload(c)
	if err != nil {
		writeError(c, err)
		return
	}
	m, _, err := s.files.PostAgentFile(c.Request.Context(), currentAgent(c), c.Param("id"), u)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusCreated, m)
}

func (s *Server) visitorDownload(c *gin.Context) {
	v, ok := s.visitorFromBearer(c)
	if !ok {
		return
	}
	f, err := s.files.VisitorFile(c.Request.Context(), v, c.Param("id"))
	if err != nil {
		writeError(c, err)
		return
	}
	serveFile(c, f)
}

func (s *Server) agentDownload(c *gin.Context) {
	f, err := s.files.AgentFile(c.Request.Context(), currentAgent(c), c.Param("id"))
	if err != nil {
		writeError(c, err)
		return
	}
	if !s.audited(c, data.AuditView, f.SiteID, "file:"+f.ID) {
		return
	}
	serveFile(c, f)
}

// serveFile sends a stored file: images inline, everything else as a
// download, never sniffed, sandboxed.
func serveFile(c *gin.Context, f data.File) {
	disposition := "attachment"
	switch f.ContentType {
	case "image/png", "image/jpeg", "image/gif":
		disposition = "inline"
	}
	c.Header("Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": f.Name}))
	c.Header("Content-Security-Policy", "default-src 'none'; sandbox")
	c.Header("X-Content-Type-Options", "nosniff")
	c.Header("Cache-Control", "private, max-age=3600")
	c.Header("Cross-Origin-Resource-Policy", "cross-origin")
	c.Header("Content-Length", strconv.Itoa(len(f.Content)))
	c.Data(http.StatusOK, f.ContentType, f.Content)
}
