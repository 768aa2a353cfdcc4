package analytics

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/frontdesk/frontdesk/data"
	"github.com/frontdesk/frontdesk/mask"
)

// Gap is a cluster of similar visitor questions the bot could not answer.
type Gap struct {
	// Question is the cluster's most frequent phrasing.
	Question string `json:"question"`
	Count    int    `json:"count"`
	// Examples are other phrasings (at most 5), for a new FAQ entry's alternatives.
	Examples []string  `json:"examples"`
	LastSeen time.Time `json:"last_seen"`
}

// LowIntent is an intent the classifier often recognised with low confidence.
type LowIntent struct {
	Intent        string  `json:"intent"`
	Count         int     `json:"count"`
	LowConfidence int     `json:"low_confidence"`
	Share         float64 `json:"share"`
}

// GapsReport lists what the bot missed in a range.
type GapsReport struct {
	Gaps       []Gap       `json:"gaps"`
	LowIntents []LowIntent `json:"low_intents"`
}

// missed reports whether a bot decision means the bot could not answer, and
// the in-scope intent it predicted ("" for none or out of scope) with its confidence.
func missed(meta json.RawMessage) (bool, string, float64) {
	var m struct {
		Decision struct {
			Kind             string  `json:"kind"`
			Reason           string  `json:"reason"`
			Intent           string  `json:"intent"`
			IntentConfidence float64 `json:"intent_confidence"`
			OutOfScope       bool    `json:"out_of_scope"`
		} `json:"decision"`
	}
	if len(meta) == 0 || json.Unmarshal(meta, &m) != nil {
		return false, "", 0
	}
	d := m.Decision
	miss := d.Kind == "fallback" || strings.Contains(d.Reason, "low_confidence") || strings.Contains(d.Reason, "unhelpful") || strings.Contains(d.Reason, "out_of_scope")
	if d.OutOfScope || d.Intent == "oos" {
		return miss, "", 0 // out of scope is no intent: the question is a gap, not a weak intent
	}
	return miss, d.Intent, d.IntentConfidence
}

// unhelpful reports whether a bot message is the reaction to "not helpful" feedback.
func unhelpful(meta json.RawMessage) bool {
	var m struct {
		Decision struct {
			Reason string `json:"reason"`
		} `json:"decision"`
	}
	return json.Unmarshal(meta, &m) == nil && strings.Contains(m.Decision.Reason, "unhelpful")
}

// GapOptions selects which gaps FindGapsWith lists and how it shows them.
type GapOptions struct {
	// Limit is the most gaps listed (0: all).
	Limit int
	// Answered, when set, reports whether the knowledge base now answers a
	// visitor's phrasing confidently; such phrasings are left out (a gap an
	// editor has since filled disappears).
	Answered func(ctx context.Context, phrasing string) (bool, error)
	// Site, when set, returns a conversation's site: the phrasings of sites
	// whose privacy settings mask the agent view (or that cannot be read) are
	// shown with personal data replaced by placeholders (mask.Redact), before
	// they are clustered. Without it phrasings are shown as written.
	Site func(ctx context.Context, id string) (data.Site, error)
}

// FindGaps clusters the visitor questions that preceded a bot fallback (or a
// low-confidence handoff) in [from, to), most frequent first.
func FindGaps(ctx context.Context, s Store, from, to time.Time, limit int) (GapsReport, error) {
	return FindGapsWith(ctx, s, from, to, GapOptions{Limit: limit})
}

// FindGapsWith is FindGaps with options: phrasings the knowledge base now
// answers left out, personal data masked.
func FindGapsWith(ctx context.Context, s Store, from, to time.Time, o GapOptions) (GapsReport, error) {
	convs, err := s.ConversationsBetween(ctx, from, to)
	if err != nil {
		return GapsReport{}, fmt.Errorf("analytics: gaps: %w", err)
	}
	type q struct {
		text string
		at   time.Time
		mask bool
	}
	var questions []q
	intents := map[string]*LowIntent{}
	masks := map[string]bool{} // site id -> masks the agent view
	for _, c := range convs {
		msgs, err := s.ListMessages(ctx, c.ID, 0, 0)
		if err != nil {
			return GapsReport{}, fmt.Errorf("analytics: gaps: %w", err)
		}
		masked := false
		if o.Site != nil {
			m, ok := masks[c.SiteID]
			if !ok {
				site, err := o.Site(ctx, c.SiteID)
				m = err != nil || site.Settings.Privacy.MaskAgentView // unreadable: masking is the safe side
				masks[c.SiteID] = m
			}
			masked = m
		}
		last, answered := "", "" // the open question; the one the last bot reply answered
		for _, m := range msgs {
			switch m.SenderKind {
			case data.SenderVisitor:
				if m.Kind == data.KindText {
					last = m.Text
				}
			case data.SenderBot:
				miss, intent, conf := missed(m.Metadata)
				if last == "" && miss && unhelpful(m.Metadata) {
					last = answered // "not helpful" refers to the answer before
				}
				if intent != "" {
					li := intents[intent]
					if li == nil {
						li = &LowIntent{Intent: intent}
						intents[intent] = li
					}
					li.Count++
					if conf > 0 && conf < 0.5 {
						li.LowConfidence++
					}
				}
				if miss && strings.TrimSpace(last) != "" {
					questions = append(questions, q{last, m.CreatedAt, masked})
				}
				if last != "" {
					answered = last
				}
				last = ""
			}
		}
	}
	type cluster struct {
		grams  map[string]bool
		counts map[string]int
		gap    Gap
	}
	var clusters []*cluster
	answered := map[string]bool{}
	for _, qq := range questions {
		text := strings.TrimSpace(qq.text)
		if o.Answered != nil {
			yes, ok := answered[text]
			if !ok {
				if yes, err = o.Answered(ctx, text); err != nil {
					return GapsReport{}, fmt.Errorf("analytics: gaps: %w", err)
				}
				answered[text] = yes
			}
			if yes {
				continue
			}
		}
		if qq.mask {
			text = mask.Redact(text)
		}
		g := bigrams(text)
		var best *cluster
		bestSim := 0.0
		for _, c := range clusters {
			if sim := jaccard(g, c.grams); sim > bestSim {
				best, bestSim = c, sim
			}
		}
		if best == nil || bestSim < 0.45 {
			best = &cluster{grams: g, counts: map[string]int{}}
			clusters = append(clusters, best)
		}
		best.counts[text]++
		best.gap.Count++
		if qq.at.After(best.gap.LastSeen) {
			best.gap.LastSeen = qq.at
		}
	}
	out := GapsReport{Gaps: []Gap{}, LowIntents: []LowIntent{}}
	for _, c := range clusters {
		phrasings := make([]string, 0, len(c.counts))
		for p := range c.counts {
			phrasings = append(phrasings, p)
		}
		sort.Slice(phrasings, func(i, j int) bool {
			if c.counts[phrasings[i]] != c.counts[phrasings[j]] {
				return c.counts[phrasings[i]] > c.counts[phrasings[j]]
			}
			return phrasings[i] < phrasings[j]
		})
		c.gap.Question = phrasings[0]
		c.gap.Examples = phrasings[1:min(len(phrasings), 6)]
		out.Gaps = append(out.Gaps, c.gap)
	}
	sort.SliceStable(out.Gaps, func(i, j int) bool {
		if out.Gaps[i].Count != out.Gaps[j].Count {
			return out.Gaps[i].Count > out.Gaps[j].Count
		}
		return out.Gaps[i].Question < out.Gaps[j].Question
	})
	if o.Limit > 0 && len(out.Gaps) > o.Limit {
		out.Gaps = out.Gaps[:o.Limit]
	}
	for _, li := range intents {
		li.Share = float64(li.LowConfidence) / float64(li.Count)
		if li.LowConfidence > 0 {
			out.LowIntents = append(out.LowIntents, *li)
		}
	}
	sort.Slice(out.LowIntents, func(i, j int) bool { return out.LowIntents[i].Share > out.LowIntents[j].Share })
	return out, nil
}

// bigrams returns the character bigrams of a normalised question (letters
// and digits only, lower case); a one-character question is its own gram.
func bigrams(s string) map[string]bool {
	var rs []rune
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			rs = append(rs, r)
		}
	}
	g := map[string]bool{}
	if len(rs) == 1 {
		g[string(rs)] = true
	}
	for i := 0; i+1 < len(rs); i++ {
		g[string(rs[i:i+2])] = true
	}
	return g
}

func jaccard(a, b map[string]bool) float64 {
	if len(a) == 0 && len(b) == 0 {
		return 0
	}
	inter := 0
	for k := range a {
		if b[k] {
			inter++
		}
	}
	return float64(inter) / float64(len(a)+len(b)-inter)
}
