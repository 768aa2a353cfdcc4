package api

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/frontdesk/frontdesk/knowledge"
)

type newEntryRequest struct {
	ID        string   `json:"id"`
	Questions []string `json:"questions"`
	Answer    string   `json:"answer"`
	Skill     string   `json:"skill"`
	Tags      []string `json:"tags"`
}

// createFAQEntry writes a new FAQ file into the knowledge directory; the
// index picks it up within a second (hot reload). Editors and admins only.
func (s *Server) createFAQEntry(c *gin.Context) {
	if s.cfg.KBDir == "" {
		writeError(c, &Error{Status: http.StatusConflict, Code: "read_only_knowledge", Message: "the server runs on the built-in demo knowledge; start it with --kb DIR to edit FAQ entries"})
		return
	}
	var req newEntryRequest
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, 64<<10)
	if err := c.ShouldBindJSON(&req); err != nil {
		writeError(c, badRequest(`body must be {"questions": ["..."], "answer": "...", "skill": "...", "tags": [...]}`))
		return
	}
	var qs []string
	for _, q := range req.Questions {
		if q = strings.TrimSpace(q); q != "" && utf8.RuneCountInString(q) <= 300 {
			qs = append(qs, q)
		}
	}
	if len(qs) == 0 || len(qs) > 30 || strings.TrimSpace(req.Answer) == "" || len(req.Answer) > 16<<10 {
		writeError(c, badRequest("1-30 questions (at most 300 characters each) and an answer of at most 16 KB are required"))
		return
	}
	if req.Skill == "" {
		req.Skill = "default_support"
	}
	id := req.ID
	if id == "" {
		id = slug(qs[0])
	}
	if !validEntryID(id) {
		writeError(c, badRequest("id may contain a-z, 0-9 and - only (at most 64 characters)"))
		return
	}
	if _, err := os.Stat(filepath.Join(s.cfg.KBDir, id+".md")); err == nil {
		writeError(c, &Error{Status: http.StatusConflict, Code: "conflict", Message: "an FAQ entry with this id exists"})
		return
	} else if !errors.Is(err, os.ErrNotExist) {
		writeError(c, err)
		return
	}
	e := knowledge.Entry{ID: id, Questions: qs, Answer: strings.TrimSpace(req.Answer), Skill: req.Skill, Tags: req.Tags, Lang: "both"}
	if _, err := knowledge.WriteEntryFile(s.cfg.KBDir, e); err != nil {
		writeError(c, err)
		return
	}
	s.log.Info("faq entry created", "id", id, "by", currentAgent(c).ID)
	c.JSON(http.StatusCreated, e)
}

func validEntryID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// slug makes an id from a question: ASCII words joined by dashes, plus a
// random suffix (Chinese questions get only the suffix).
func slug(q string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(q) {
		if r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
		if b.Len() > 40 {
			break
		}
	}
	rnd := make([]byte, 3)
	_, _ = rand.Read(rnd)
	base := strings.Trim(b.String(), "-")
	if base == "" {
		base = "faq"
	}
	return base + "-" + hex.EncodeToString(rnd)
}
