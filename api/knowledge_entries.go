package api

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/frontdesk/frontdesk/bot"
	"github.com/frontdesk/frontdesk/knowledge"
)

// The audited changes to FAQ entries (target "faq:<id>").
const (
	auditFAQCreate = "create_faq_entry"
	auditFAQUpdate = "update_faq_entry"
	auditFAQDelete = "delete_faq_entry"
)

// entryView is an FAQ entry as editors see it: where it is kept, relative to
// the knowledge directory, and whether the console may change it.
type entryView struct {
	ID        string   `json:"id"`
	Questions []string `json:"questions"`
	Answer    string   `json:"answer"`
	// Answers holds every answer when the entry has several; a change
	// replaces the first and keeps the others.
	Answers  []string `json:"answers,omitempty"`
	Skill    string   `json:"skill,omitempty"`
	Tags     []string `json:"tags,omitempty"`
	Lang     string   `json:"lang,omitempty"`
	File     string   `json:"file"`
	Editable bool     `json:"editable"`
	// Origin is where the entry is kept: markdown (editable),
	// multi_entry_file, single_file or starter.
	Origin knowledge.Origin `json:"origin"`
	// ReadOnly says why the entry cannot be changed here ("" when editable).
	ReadOnly string `json:"read_only,omitempty"`
}

func newEntryView(s knowledge.Stored) entryView {
	v := entryView{ID: s.ID, Questions: s.Questions, Answer: s.Answer, Answers: s.Answers, Skill: s.Skill, Tags: s.Tags, Lang: s.Lang,
		File: s.Path, Editable: s.Origin.Editable(), Origin: s.Origin}
	if !v.Editable {
		v.ReadOnly = readOnlyMessage(s.ID, s.Path, s.Origin)
	}
	return v
}

// readOnlyMessage says why an entry cannot be changed in the console and
// what to do instead.
func readOnlyMessage(id, file string, o knowledge.Origin) string {
	switch o {
	case knowledge.OriginStarter:
		return fmt.Sprintf("FAQ entry %s is part of the built-in demo set, which cannot be changed; start the server with --kb DIR to edit FAQ entries", id)
	case knowledge.OriginSingleFile:
		return fmt.Sprintf("the server's knowledge is the single file %s; edit that file, or start the server with --kb DIR to edit FAQ entries here", file)
	}
	return fmt.Sprintf("FAQ entry %s comes from %s, a file with several entries; edit that file, or convert it to one Markdown file per entry (frontdesk kb import)", id, file)
}

// kbError turns the knowledge package's errors about one entry into API
// errors; others go to writeError as they are.
func kbError(err error) error {
	var ro *knowledge.ReadOnlyError
	var pe *knowledge.ParseError
	switch {
	case errors.As(err, &ro):
		return &Error{Status: http.StatusConflict, Code: "read_only_entry", Message: readOnlyMessage(ro.ID, ro.File, ro.Origin)}
	case errors.Is(err, knowledge.ErrNoEntry):
		return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such FAQ entry"}
	case errors.As(err, &pe):
		return badRequest(pe.Reason)
	}
	return err
}

// liveKB returns the live index, or answers 503 when the server has none.
func (s *Server) liveKB(c *gin.Context) (Knowledge, bool) {
	if s.kb == nil {
		writeError(c, &Error{Status: http.StatusServiceUnavailable, Code: "knowledge_unavailable", Message: "this server has no live knowledge index"})
		return nil, false
	}
	return s.kb, true
}

// listFAQEntries lists the entries, sorted by id, whose id, questions or
// answers contain q (ignoring case), limit at a time from offset.
func (s *Server) listFAQEntries(c *gin.Context) {
	kb, ok := s.liveKB(c)
	if !ok {
		return
	}
	limit, err1 := strconv.Atoi(c.DefaultQuery("limit", "50"))
	offset, err2 := strconv.Atoi(c.DefaultQuery("offset", "0"))
	if err1 != nil || err2 != nil || limit < 1 || limit > 500 || offset < 0 {
		writeError(c, badRequest("limit must be 1-500 and offset 0 or more"))
		return
	}
	q := strings.ToLower(strings.TrimSpace(c.Query("q")))
	matches := []entryView{}
	total := 0
	for _, e := range kb.List() {
		if q != "" && !entryContains(e.Entry, q) {
			continue
		}
		if total >= offset && len(matches) < limit {
			matches = append(matches, newEntryView(e))
		}
		total++
	}
	c.JSON(http.StatusOK, gin.H{"entries": matches, "total": total, "offset": offset, "limit": limit})
}

// entryContains reports whether the entry's id, a question or an answer
// contains q (lower case).
func entryContains(e knowledge.Entry, q string) bool {
	if strings.Contains(strings.ToLower(e.ID), q) {
		return true
	}
	has := func(t string) bool { return strings.Contains(strings.ToLower(t), q) }
	return slices.ContainsFunc(e.Questions, has) || slices.ContainsFunc(e.AllAnswers(), has)
}

func (s *Server) getFAQEntry(c *gin.Context) {
	kb, ok := s.liveKB(c)
	if !ok {
		return
	}
	e, found := kb.Lookup(c.Param("id"))
	if !found {
		writeError(c, kbError(knowledge.ErrNoEntry))
		return
	}
	c.JSON(http.StatusOK, newEntryView(e))
}

// updateFAQEntry replaces the questions, answer, skill and tags of an entry
// in its own Markdown file, validated as a new entry is; the change is live
// when the API answers.
func (s *Server) updateFAQEntry(c *gin.Context) {
	kb, ok := s.liveKB(c)
	if !ok {
		return
	}
	var req newEntryRequest
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, 64<<10)
	if err := c.ShouldBindJSON(&req); err != nil {
		writeError(c, badRequest(`body must be {"questions": ["..."], "answer": "...", "skill": "...", "tags": [...]}`))
		return
	}
	cur, err := s.changeableEntry(kb, c.Param("id"))
	if err != nil {
		writeError(c, err)
		return
	}
	e, err := s.entryFromRequest(c.Request.Context(), req)
	if err != nil {
		writeError(c, err)
		return
	}
	e.ID = cur.ID
	if !s.audited(c, auditFAQUpdate, "", "faq:"+cur.ID) {
		return
	}
	s.kbMu.Lock()
	e, err = kb.Update(c.Request.Context(), e)
	s.kbMu.Unlock()
	if err != nil {
		writeError(c, kbError(err))
		return
	}
	s.log.Info("faq entry updated", "id", e.ID, "by", currentAgent(c).ID)
	c.JSON(http.StatusOK, newEntryView(knowledge.Stored{Entry: e, Path: e.File, Origin: knowledge.OriginMarkdown}))
}

// deleteFAQEntry deletes an entry's Markdown file; the entry is gone from
// the index when the API answers.
func (s *Server) deleteFAQEntry(c *gin.Context) {
	kb, ok := s.liveKB(c)
	if !ok {
		return
	}
	cur, err := s.changeableEntry(kb, c.Param("id"))
	if err != nil {
		writeError(c, err)
		return
	}
	if !s.audited(c, auditFAQDelete, "", "faq:"+cur.ID) {
		return
	}
	s.kbMu.Lock()
	err = kb.Delete(c.Request.Context(), cur.ID)
	s.kbMu.Unlock()
	if err != nil {
		writeError(c, kbError(err))
		return
	}
	s.log.Info("faq entry deleted", "id", cur.ID, "by", currentAgent(c).ID)
	c.Status(http.StatusNoContent)
}

// changeableEntry returns the live entry id when the console may change it,
// so that the audit log holds no change refused as not found or read-only
// (the index checks again when it makes the change).
func (s *Server) changeableEntry(kb Knowledge, id string) (knowledge.Stored, error) {
	e, ok := kb.Lookup(id)
	if !ok {
		return knowledge.Stored{}, kbError(knowledge.ErrNoEntry)
	}
	if !e.Origin.Editable() {
		return knowledge.Stored{}, kbError(&knowledge.ReadOnlyError{ID: e.ID, File: e.Path, Origin: e.Origin})
	}
	return e, nil
}

// problemView is a problem of the knowledge base, its file relative to the
// knowledge directory.
type problemView struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Message string `json:"message"`
}

// knowledgeProblems lists the index's problems: files that do not parse,
// duplicate ids and lint findings.
func (s *Server) knowledgeProblems(c *gin.Context) {
	kb, ok := s.liveKB(c)
	if !ok {
		return
	}
	out := []problemView{}
	for _, p := range kb.RelativeProblems() {
		out = append(out, problemView{File: p.File, Line: p.Line, Message: p.Reason})
	}
	c.JSON(http.StatusOK, gin.H{"problems": out})
}

type tryRequest struct {
	Text string `json:"text"`
}

// tryResult is one entry the FAQ search found.
type tryResult struct {
	ID       string  `json:"id"`
	Question string  `json:"question"`
	Answer   string  `json:"answer"`
	Skill    string  `json:"skill,omitempty"`
	Score    float64 `json:"score"`
}

// tryKnowledge searches the live knowledge base as the bot does and says
// what the bot's FAQ rule makes of the result: answer (with the first
// entry), clarify (asks which entry is meant) or fallback.
func (s *Server) tryKnowledge(c *gin.Context) {
	kb, ok := s.liveKB(c)
	if !ok {
		return
	}
	var req tryRequest
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, 16<<10)
	if err := c.ShouldBindJSON(&req); err != nil || strings.TrimSpace(req.Text) == "" || utf8.RuneCountInString(req.Text) > 1000 {
		writeError(c, badRequest(`body must be {"text": "..."} (at most 1000 characters)`))
		return
	}
	policy := s.botPolicy()
	res, err := kb.Search(c.Request.Context(), req.Text, max(policy.TopK, 5))
	if err != nil {
		writeError(c, err)
		return
	}
	results := []tryResult{}
	for _, h := range res.Hits {
		results = append(results, tryResult{ID: h.ID, Question: h.Question, Answer: h.Answer, Skill: h.Skill, Score: h.Score})
	}
	c.JSON(http.StatusOK, gin.H{
		"results": results, "confidence": res.Confidence, "margin": res.Margin, "verdict": faqVerdict(policy, res),
		"answer_threshold": policy.AnswerThreshold, "clarify_threshold": policy.ClarifyThreshold, "clarify_margin": policy.ClarifyMargin,
	})
}

// botPolicy is the bot's policy (Config.BotPolicy or the default).
func (s *Server) botPolicy() bot.Config {
	if s.cfg.BotPolicy != nil {
		return *s.cfg.BotPolicy
	}
	return bot.DefaultConfig()
}

// faqVerdict is what the bot's FAQ rule does with a search result, leaving
// out the intent classifier (which may still hand off, or answer a less
// confident entry of the topic it recognised): "answer" when it is
// confident (bot.Config.Confident), "clarify" when the best entry is at
// least as confident as ClarifyThreshold (the bot asks which entry is
// meant), otherwise "fallback".
func faqVerdict(p bot.Config, r knowledge.Result) string {
	switch {
	case p.Confident(r):
		return "answer"
	case len(r.Hits) > 0 && p.ClarifyThreshold > 0 && r.Confidence >= p.ClarifyThreshold:
		return "clarify"
	}
	return "fallback"
}
