package analytics

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/frontdesk/frontdesk/data"
)

// Store is what reports read.
type Store interface {
	ConversationsBetween(ctx context.Context, from, to time.Time) ([]data.Conversation, error)
	ListMessages(ctx context.Context, conversationID string, afterSeq int64, limit int) ([]data.Message, error)
	ListTickets(ctx context.Context, f data.TicketFilter) ([]data.Ticket, error)
	SiteByKey(ctx context.Context, key string) (data.Site, error)
	CountEvents(ctx context.Context, siteID string, since, until time.Time) (map[string]int, error)
}

// Range selects what a report covers.
type Range struct {
	From, To time.Time
	// Group, when set, keeps conversations and tickets of one skill group.
	Group string
	// Bucket is the volume chart's resolution: time.Hour or 24*time.Hour.
	Bucket time.Duration
	// SiteKey selects the site whose invitation events are counted.
	SiteKey string
}

// Stat summarises durations in seconds.
type Stat struct {
	Count  int     `json:"count"`
	Median float64 `json:"median_seconds"`
	P90    float64 `json:"p90_seconds"`
}

// Bucket is one step of the volume chart.
type Bucket struct {
	Start         time.Time `json:"start"`
	Conversations int       `json:"conversations"`
	Messages      int       `json:"messages"`
}

// CSAT is the satisfaction summary.
type CSAT struct {
	Count        int     `json:"count"`
	Average      float64 `json:"average"`
	Distribution [5]int  `json:"distribution"` // ratings 1..5
}

// Invitations counts proactive invitations.
type Invitations struct {
	Shown     int `json:"shown"`
	Clicked   int `json:"clicked"`
	Converted int `json:"converted"`
}

// GroupReport is one skill group's share of a report.
type GroupReport struct {
	Group         string `json:"group"`
	HandedOff     int    `json:"handed_off"`
	FirstResponse Stat   `json:"first_response"`
	QueueWait     Stat   `json:"queue_wait"`
	Resolution    Stat   `json:"resolution"`
	CSAT          CSAT   `json:"csat"`
}

// Report is the support report for a range.
type Report struct {
	From          time.Time `json:"from"`
	To            time.Time `json:"to"`
	Group         string    `json:"group,omitempty"`
	Conversations int       `json:"conversations"`
	Messages      int       `json:"messages"`
	Volume        []Bucket  `json:"volume"`
	BotOnly       int       `json:"bot_only"`
	// BotResolved counts bot-only conversations in which the bot answered
	// (an FAQ entry, a flow or the LLM) and no answer was marked unhelpful:
	// a conversation that ended on a fallback is contained, not resolved.
	BotResolved       int            `json:"bot_resolved"`
	BotResolutionRate float64        `json:"bot_resolution_rate"`
	HandedOff         int            `json:"handed_off"`
	ContainmentRate   float64        `json:"containment_rate"`
	HandoffRate       float64        `json:"handoff_rate"`
	HandoffReasons    map[string]int `json:"handoff_reasons"`
	BotDecisions      map[string]int `json:"bot_decisions"`
	FirstResponse     Stat           `json:"first_response"`
	QueueWait         Stat           `json:"queue_wait"`
	Resolution        Stat           `json:"resolution"`
	CSAT              CSAT           `json:"csat"`
	TicketsOpened     int            `json:"tickets_opened"`
	TicketsSolved     int            `json:"tickets_solved"`
	Invitations       Invitations    `json:"invitations"`
	Groups            []GroupReport  `json:"groups"`
}

// Compute builds the report for r.
func Compute(ctx context.Context, s Store, r Range) (Report, error) {
	if !r.To.After(r.From) {
		return Report{}, fmt.Errorf("analytics: the range must end after it starts: %w", data.ErrInvalid)
	}
	if r.To.Sub(r.From) > 400*24*time.Hour {
		return Report{}, fmt.Errorf("analytics: ranges are limited to 400 days: %w", data.ErrInvalid)
	}
	if r.Bucket != time.Hour {
		r.Bucket = 24 * time.Hour
	}
	convs, err := s.ConversationsBetween(ctx, r.From, r.To)
	if err != nil {
		return Report{}, fmt.Errorf("analytics: %w", err)
	}
	rep := Report{From: r.From, To: r.To, Group: r.Group, HandoffReasons: map[string]int{}, BotDecisions: map[string]int{}, Groups: []GroupReport{}}
	nb := int(math.Ceil(float64(r.To.Sub(r.From)) / float64(r.Bucket)))
	if nb > 24*400 {
		nb = 24 * 400
	}
	rep.Volume = make([]Bucket, nb)
	for i := range rep.Volume {
		rep.Volume[i].Start = r.From.Add(time.Duration(i) * r.Bucket)
	}
	type acc struct{ frt, wait, res []float64 }
	all := acc{}
	perGroup := map[string]*acc{}
	groupRep := map[string]*GroupReport{}
	var ratings []int
	inRange := func(t time.Time) bool {
		b := int(t.Sub(r.From) / r.Bucket)
		return !t.Before(r.From) && t.Before(r.To) && b < nb
	}
	for _, c := range convs {
		handed := c.QueuedAt != nil
		if r.Group != "" && c.SkillGroup != r.Group {
			continue
		}
		rep.Conversations++
		b := int(c.CreatedAt.Sub(r.From) / r.Bucket)
		if b >= 0 && b < nb {
			rep.Volume[b].Conversations++
		}
		msgs, err := s.ListMessages(ctx, c.ID, 0, 0)
		if err != nil {
			return Report{}, fmt.Errorf("analytics: %w", err)
		}
		answered, unhelpful := false, false
		for _, m := range msgs {
			if m.SenderKind == data.SenderSystem || m.Kind == data.KindNote {
				continue
			}
			if m.SenderKind == data.SenderBot {
				kind, reason := decisionOf(m.Metadata)
				answered = answered || kind == "answer"
				unhelpful = unhelpful || reason == "feedback_unhelpful"
				if kind != "" && inRange(m.CreatedAt) {
					rep.BotDecisions[kind]++
				}
			}
			// Messages count in the range they were written in, like the
			// volume chart's buckets (a conversation may run past midnight).
			if !inRange(m.CreatedAt) {
				continue
			}
			rep.Messages++
			rep.Volume[int(m.CreatedAt.Sub(r.From)/r.Bucket)].Messages++
		}
		if !handed {
			rep.BotOnly++
			if answered && !unhelpful {
				rep.BotResolved++
			}
			continue
		}
		rep.HandedOff++
		reason := c.HandoffReason
		if reason == "" {
			reason = "unknown"
		}
		rep.HandoffReasons[reason]++
		g := groupRep[c.SkillGroup]
		if g == nil {
			g = &GroupReport{Group: c.SkillGroup}
			groupRep[c.SkillGroup] = g
			perGroup[c.SkillGroup] = &acc{}
		}
		g.HandedOff++
		pg := perGroup[c.SkillGroup]
		// First response and resolution count from the first hand-off: a
		// transfer to another group re-queues the conversation, but the
		// visitor has been waiting for a person since the first. The queue
		// wait is that of the last queue, the group the report files it under.
		q, first := *c.QueuedAt, *c.QueuedAt
		if c.FirstQueuedAt != nil && c.FirstQueuedAt.Before(first) {
			first = *c.FirstQueuedAt
		}
		if c.FirstResponseAt != nil && !c.FirstResponseAt.Before(first) {
			d := c.FirstResponseAt.Sub(first).Seconds()
			all.frt, pg.frt = append(all.frt, d), append(pg.frt, d)
		}
		if c.AssignedAt != nil && !c.AssignedAt.Before(q) {
			d := c.AssignedAt.Sub(q).Seconds()
			all.wait, pg.wait = append(all.wait, d), append(pg.wait, d)
		}
		if c.ClosedAt != nil && c.AssignedAt != nil && !c.ClosedAt.Before(first) {
			d := c.ClosedAt.Sub(first).Seconds()
			all.res, pg.res = append(all.res, d), append(pg.res, d)
		}
		if c.Rating > 0 {
			addRating(&g.CSAT, c.Rating)
		}
	}
	for _, c := range convs {
		if c.Rating > 0 && (r.Group == "" || c.SkillGroup == r.Group) {
			ratings = append(ratings, c.Rating)
		}
	}
	for _, v := range ratings {
		addRating(&rep.CSAT, v)
	}
	if rep.Conversations > 0 {
		rep.ContainmentRate = float64(rep.BotOnly) / float64(rep.Conversations)
		rep.BotResolutionRate = float64(rep.BotResolved) / float64(rep.Conversations)
		rep.HandoffRate = float64(rep.HandedOff) / float64(rep.Conversations)
	}
	rep.FirstResponse, rep.QueueWait, rep.Resolution = stat(all.frt), stat(all.wait), stat(all.res)
	for name, g := range groupRep {
		pg := perGroup[name]
		g.FirstResponse, g.QueueWait, g.Resolution = stat(pg.frt), stat(pg.wait), stat(pg.res)
		rep.Groups = append(rep.Groups, *g)
	}
	sort.Slice(rep.Groups, func(i, j int) bool { return rep.Groups[i].Group < rep.Groups[j].Group })

	tickets, err := s.ListTickets(ctx, data.TicketFilter{GroupID: r.Group, Limit: 10000})
	if err != nil {
		return Report{}, fmt.Errorf("analytics: %w", err)
	}
	for _, t := range tickets {
		if !t.CreatedAt.Before(r.From) && t.CreatedAt.Before(r.To) {
			rep.TicketsOpened++
		}
		if t.SolvedAt != nil && !t.SolvedAt.Before(r.From) && t.SolvedAt.Before(r.To) {
			rep.TicketsSolved++
		}
	}
	if r.SiteKey != "" {
		if site, err := s.SiteByKey(ctx, r.SiteKey); err == nil {
			counts, err := s.CountEvents(ctx, site.ID, r.From, r.To)
			if err != nil {
				return Report{}, fmt.Errorf("analytics: %w", err)
			}
			rep.Invitations = Invitations{Shown: counts["invitation_shown"], Clicked: counts["invitation_clicked"], Converted: counts["invitation_converted"]}
		}
	}
	return rep, nil
}

func addRating(c *CSAT, v int) {
	if v < 1 || v > 5 {
		return
	}
	c.Average = (c.Average*float64(c.Count) + float64(v)) / float64(c.Count+1)
	c.Count++
	c.Distribution[v-1]++
}

// stat returns the count, median and 90th percentile (nearest rank).
func stat(xs []float64) Stat {
	if len(xs) == 0 {
		return Stat{}
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return Stat{Count: len(s), Median: nearestRank(s, 0.5), P90: nearestRank(s, 0.9)}
}

// nearestRank is the smallest value with at least q of the values at or below it.
func nearestRank(sorted []float64, q float64) float64 {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	if i < 0 {
		i = 0
	}
	return sorted[i]
}

// decisionOf reads the kind and reason of a bot message's decision record.
func decisionOf(meta json.RawMessage) (kind, reason string) {
	var m struct {
		Decision struct {
			Kind   string `json:"kind"`
			Reason string `json:"reason"`
		} `json:"decision"`
	}
	if len(meta) == 0 || json.Unmarshal(meta, &m) != nil {
		return "", ""
	}
	return m.Decision.Kind, m.Decision.Reason
}
