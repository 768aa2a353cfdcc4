package api

import (
	"context"
	"encoding/csv"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/frontdesk/frontdesk/analytics"
	"github.com/frontdesk/frontdesk/bot"
	"github.com/frontdesk/frontdesk/data"
)

// reportRange parses ?from=YYYY-MM-DD&to=YYYY-MM-DD (to inclusive; default:
// the last 7 days), ?group= and ?bucket=hour|day, in UTC.
func reportRange(c *gin.Context) (analytics.Range, error) {
	now := time.Now().UTC()
	to := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).Add(24 * time.Hour)
	from := to.Add(-7 * 24 * time.Hour)
	var err error
	if v := c.Query("from"); v != "" {
		if from, err = time.Parse("2006-01-02", v); err != nil {
			return analytics.Range{}, badRequest("from must be a date like 2026-11-01")
		}
	}
	if v := c.Query("to"); v != "" {
		t, err := time.Parse("2006-01-02", v)
		if err != nil {
			return analytics.Range{}, badRequest("to must be a date like 2026-11-30")
		}
		to = t.Add(24 * time.Hour)
	}
	if from.Year() < 2000 || to.Year() > 9000 {
		return analytics.Range{}, badRequest("dates must be between 2000-01-01 and 8999-12-31")
	}
	if !to.After(from) || to.Sub(from) > 400*24*time.Hour {
		return analytics.Range{}, badRequest("the range must end after it starts and span at most 400 days")
	}
	r := analytics.Range{From: from, To: to, Group: c.Query("group"), SiteKey: c.DefaultQuery("site", "demo"), Bucket: 24 * time.Hour}
	switch c.DefaultQuery("bucket", "day") {
	case "hour":
		if to.Sub(from) > 31*24*time.Hour {
			return analytics.Range{}, badRequest("hourly buckets are limited to 31 days")
		}
		r.Bucket = time.Hour
	case "day":
	default:
		return analytics.Range{}, badRequest("bucket must be hour or day")
	}
	return r, nil
}

func (s *Server) report(c *gin.Context) {
	r, err := reportRange(c)
	if err != nil {
		writeError(c, err)
		return
	}
	rep, err := s.computeReport(c, r)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, rep)
}

// reportCSV exports the report: one row per bucket, then the summary.
func (s *Server) reportCSV(c *gin.Context) {
	r, err := reportRange(c)
	if err != nil {
		writeError(c, err)
		return
	}
	rep, err := s.computeReport(c, r)
	if err != nil {
		writeError(c, err)
		return
	}
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="frontdesk-report-%s.csv"`, r.From.Format("2006-01-02")))
	w := csv.NewWriter(c.Writer)
	_ = w.Write([]string{"bucket_start", "conversations", "messages"})
	for _, b := range rep.Volume {
		_ = w.Write([]string{b.Start.Format(time.RFC3339), strconv.Itoa(b.Conversations), strconv.Itoa(b.Messages)})
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 4, 64) }
	_ = w.Write(nil)
	_ = w.Write([]string{"metric", "value"})
	for _, row := range [][2]string{
		{"conversations", strconv.Itoa(rep.Conversations)}, {"messages", strconv.Itoa(rep.Messages)},
		{"bot_only", strconv.Itoa(rep.BotOnly)}, {"bot_resolved", strconv.Itoa(rep.BotResolved)}, {"handed_off", strconv.Itoa(rep.HandedOff)},
		{"containment_rate", f(rep.ContainmentRate)}, {"bot_resolution_rate", f(rep.BotResolutionRate)}, {"handoff_rate", f(rep.HandoffRate)},
		{"first_response_count", strconv.Itoa(rep.FirstResponse.Count)}, {"first_response_median_s", f(rep.FirstResponse.Median)}, {"first_response_p90_s", f(rep.FirstResponse.P90)},
		{"queue_wait_count", strconv.Itoa(rep.QueueWait.Count)}, {"queue_wait_median_s", f(rep.QueueWait.Median)}, {"queue_wait_p90_s", f(rep.QueueWait.P90)},
		{"resolution_count", strconv.Itoa(rep.Resolution.Count)}, {"resolution_median_s", f(rep.Resolution.Median)}, {"resolution_p90_s", f(rep.Resolution.P90)},
		{"csat_average", f(rep.CSAT.Average)}, {"csat_count", strconv.Itoa(rep.CSAT.Count)},
		{"tickets_opened", strconv.Itoa(rep.TicketsOpened)}, {"tickets_solved", strconv.Itoa(rep.TicketsSolved)},
		{"invitations_shown", strconv.Itoa(rep.Invitations.Shown)}, {"invitations_clicked", strconv.Itoa(rep.Invitations.Clicked)},
		{"invitations_converted", strconv.Itoa(rep.Invitations.Converted)},
	} {
		_ = w.Write(row[:])
	}
	for i, n := range rep.CSAT.Distribution {
		_ = w.Write([]string{fmt.Sprintf("csat_%d", i+1), strconv.Itoa(n)})
	}
	for _, reason := range slices.Sorted(maps.Keys(rep.HandoffReasons)) {
		_ = w.Write([]string{"handoff_reason:" + reason, strconv.Itoa(rep.HandoffReasons[reason])})
	}
	for _, kind := range slices.Sorted(maps.Keys(rep.BotDecisions)) {
		_ = w.Write([]string{"bot_decision:" + kind, strconv.Itoa(rep.BotDecisions[kind])})
	}
	// Per skill group, one row each (groups are sorted by the report).
	_ = w.Write(nil)
	_ = w.Write([]string{"group", "handed_off", "first_response_median_s", "first_response_p90_s", "queue_wait_median_s", "queue_wait_p90_s", "resolution_median_s", "resolution_p90_s", "csat_average", "csat_count"})
	for _, g := range rep.Groups {
		_ = w.Write([]string{g.Group, strconv.Itoa(g.HandedOff), f(g.FirstResponse.Median), f(g.FirstResponse.P90), f(g.QueueWait.Median), f(g.QueueWait.P90),
			f(g.Resolution.Median), f(g.Resolution.P90), f(g.CSAT.Average), strconv.Itoa(g.CSAT.Count)})
	}
	w.Flush()
}

// computeReport computes the report of r; a group that does not exist is
// a 400 rather than a report of zeros.
func (s *Server) computeReport(c *gin.Context, r analytics.Range) (analytics.Report, error) {
	if r.Group != "" {
		if err := s.checkGroup(c.Request.Context(), r.Group); err != nil {
			return analytics.Report{}, err
		}
	}
	return analytics.Compute(c.Request.Context(), s.reports, r)
}

// knowledgeGaps lists what the bot could not answer, leaving out what the
// knowledge base answers now and masking personal data: for editors always
// (they never see conversations, so not the visitors' details in them
// either), for admins where the site masks the agent view.
func (s *Server) knowledgeGaps(c *gin.Context) {
	r, err := reportRange(c)
	if err != nil {
		writeError(c, err)
		return
	}
	limit, _ := strconv.Atoi(c.DefaultQuery("limit", "50"))
	opts := analytics.GapOptions{Limit: limit, Site: s.records.GetSite}
	if currentAgent(c).Role != data.RoleAdmin {
		opts.Site = func(ctx context.Context, id string) (data.Site, error) {
			site, err := s.records.GetSite(ctx, id)
			site.Settings.Privacy.MaskAgentView = true // whatever the site's setting
			return site, err
		}
	}
	if s.kb != nil {
		opts.Answered = s.answersNow
	}
	gaps, err := analytics.FindGapsWith(c.Request.Context(), s.reports, r.From, r.To, opts)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, gaps)
}

// answersNow reports whether the bot's FAQ rule answers a question from the
// live knowledge base.
func (s *Server) answersNow(ctx context.Context, q string) (bool, error) {
	policy := bot.DefaultConfig()
	if s.cfg.BotPolicy != nil {
		policy = *s.cfg.BotPolicy
	}
	res, err := s.kb.Search(ctx, q, max(policy.TopK, 2))
	if err != nil {
		return false, err
	}
	return policy.Confident(res), nil
}
