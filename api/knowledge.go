package api

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/frontdesk/frontdesk/knowledge"
	"github.com/frontdesk/frontdesk/mask"
)

type newEntryRequest struct {
	ID        string   `json:"id"`
	Questions []string `json:"questions"`
	Answer    string   `json:"answer"`
	Skill     string   `json:"skill"`
	Tags      []string `json:"tags"`
}

// defaultEntrySkill is the skill group of a new FAQ entry that names none.
const defaultEntrySkill = "default_support"

// createFAQEntry writes a new FAQ file into the knowledge directory. Editors
// and admins only. The questions are visitors' phrasings, so personal data in
// them is replaced by placeholders before anything is written.
func (s *Server) createFAQEntry(c *gin.Context) {
	var req newEntryRequest
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, 64<<10)
	if err := c.ShouldBindJSON(&req); err != nil {
		writeError(c, badRequest(`body must be {"questions": ["..."], "answer": "...", "skill": "...", "tags": [...]}`))
		return
	}
	e, err := s.entryFromRequest(c.Request.Context(), req)
	if err != nil {
		writeError(c, err)
		return
	}
	id := cmp.Or(req.ID, slug(e.Questions[0]))
	if !validEntryID(id) {
		writeError(c, badRequest("id may contain a-z, 0-9 and - only (at most 64 characters)"))
		return
	}
	e.ID = id
	if !s.audited(c, auditFAQCreate, "", "faq:"+id) {
		return
	}
	e, err = s.addEntry(c.Request.Context(), e)
	if err != nil {
		writeError(c, err)
		return
	}
	s.log.Info("faq entry created", "id", id, "by", currentAgent(c).ID)
	c.JSON(http.StatusCreated, e)
}

// entryFromRequest validates an entry's questions, answer, skill and tags
// the same way for a new and a changed entry (the id is the caller's):
// personal data in the questions is replaced by placeholders, blank tags are
// dropped, and no skill means default_support, which must exist.
func (s *Server) entryFromRequest(ctx context.Context, req newEntryRequest) (knowledge.Entry, error) {
	var qs []string
	for _, q := range req.Questions {
		if q = strings.TrimSpace(mask.Redact(q)); q != "" && utf8.RuneCountInString(q) <= 300 {
			qs = append(qs, q)
		}
	}
	if len(qs) == 0 || len(qs) > 30 || strings.TrimSpace(req.Answer) == "" || len(req.Answer) > 16<<10 {
		return knowledge.Entry{}, badRequest("1-30 questions (at most 300 characters each) and an answer of at most 16 KB are required")
	}
	var tags []string
	for _, tg := range req.Tags {
		if tg = strings.TrimSpace(tg); tg != "" {
			tags = append(tags, tg)
		}
	}
	if len(tags) > 20 {
		return knowledge.Entry{}, badRequest("at most 20 tags")
	}
	skill := cmp.Or(req.Skill, defaultEntrySkill)
	if err := s.checkGroup(ctx, skill); err != nil {
		return knowledge.Entry{}, err
	}
	return knowledge.Entry{Questions: qs, Answer: strings.TrimSpace(req.Answer), Skill: skill, Tags: tags, Lang: "both"}, nil
}

// checkGroup answers 400 unknown_skill unless group is a skill group.
func (s *Server) checkGroup(ctx context.Context, group string) error {
	groups, err := s.records.ListGroups(ctx)
	if err != nil {
		return err
	}
	var ids []string
	for _, g := range groups {
		if g.ID == group {
			return nil
		}
		ids = append(ids, g.ID)
	}
	return &Error{Status: http.StatusBadRequest, Code: "unknown_skill", Message: fmt.Sprintf("no skill group %q (the groups are %s)", group, strings.Join(ids, ", "))}
}

// addEntry adds an entry to the live index, or without one to the files of
// the knowledge directory, one at a time.
func (s *Server) addEntry(ctx context.Context, e knowledge.Entry) (knowledge.Entry, error) {
	s.kbMu.Lock()
	defer s.kbMu.Unlock()
	if s.kb != nil {
		return s.kb.Add(ctx, e)
	}
	return knowledge.AddToDir(s.cfg.KBDir, e)
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
