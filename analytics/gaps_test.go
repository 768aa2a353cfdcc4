package analytics

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/data"
)

// TestGapsAnsweredAndMasked: phrasings the knowledge base now answers are
// left out, and a site that masks the agent view gets its visitors' personal
// data replaced by placeholders.
func TestGapsAnsweredAndMasked(t *testing.T) {
	s := seed(t)
	miss := map[string]any{"kind": "fallback", "reason": "low_confidence"}
	for i, q := range []string{
		"Do you ship to Mars?", "do you ship to mars", // answered by a new entry
		"My phone 13812345678 gets no SMS", "My phone 13987654321 gets no SMS", // masked, one phrasing
		"Write to lee@example.com please",
	} {
		s.conv(t, day.Add(time.Duration(i)*time.Hour), q, miss)
	}
	answersMars := func(_ context.Context, q string) (bool, error) {
		return strings.Contains(strings.ToLower(q), "mars"), nil
	}
	site := func(maskView bool, err error) func(context.Context, string) (data.Site, error) {
		return func(_ context.Context, id string) (data.Site, error) {
			if id != s.site.ID {
				t.Errorf("Site(%q), want the conversations' site %q", id, s.site.ID)
			}
			st := s.site
			st.Settings.Privacy.MaskAgentView = maskView
			return st, err
		}
	}
	tests := []struct {
		name string
		opts GapOptions
		want []string // "count question", most frequent first
	}{
		{"as written", GapOptions{}, []string{
			"2 Do you ship to Mars?", "1 My phone 13812345678 gets no SMS", "1 My phone 13987654321 gets no SMS", "1 Write to lee@example.com please"}},
		{"answered phrasings left out", GapOptions{Answered: answersMars}, []string{
			"1 My phone 13812345678 gets no SMS", "1 My phone 13987654321 gets no SMS", "1 Write to lee@example.com please"}},
		{"site masks the agent view", GapOptions{Site: site(true, nil)}, []string{
			"2 Do you ship to Mars?", "2 My phone [PHONE] gets no SMS", "1 Write to [EMAIL] please"}},
		{"site shows personal data", GapOptions{Site: site(false, nil)}, []string{
			"2 Do you ship to Mars?", "1 My phone 13812345678 gets no SMS", "1 My phone 13987654321 gets no SMS", "1 Write to lee@example.com please"}},
		{"unreadable site is masked", GapOptions{Site: site(false, errors.New("down"))}, []string{
			"2 Do you ship to Mars?", "2 My phone [PHONE] gets no SMS", "1 Write to [EMAIL] please"}},
		{"both", GapOptions{Answered: answersMars, Site: site(true, nil), Limit: 1}, []string{
			"2 My phone [PHONE] gets no SMS"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := FindGapsWith(context.Background(), s.store, day, day.Add(24*time.Hour), tt.opts)
			if err != nil {
				t.Fatalf("FindGapsWith: %v", err)
			}
			var got []string
			for _, g := range rep.Gaps {
				got = append(got, fmt.Sprintf("%d %s", g.Count, g.Question))
				for _, ex := range g.Examples {
					if tt.opts.Site != nil && strings.ContainsAny(ex, "@") {
						t.Errorf("example %q shows an e-mail address", ex)
					}
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("FindGapsWith(%s) gaps = %q, want %q", tt.name, got, tt.want)
			}
		})
	}
}

// TestGapsAnsweredError: a failing knowledge search fails the report rather
// than listing gaps that may be answered.
func TestGapsAnsweredError(t *testing.T) {
	s := seed(t)
	s.conv(t, day, "Do you ship to Mars?", map[string]any{"kind": "fallback", "reason": "low_confidence"})
	boom := errors.New("index closed")
	_, err := FindGapsWith(context.Background(), s.store, day, day.Add(24*time.Hour), GapOptions{
		Answered: func(context.Context, string) (bool, error) { return false, boom },
	})
	if !errors.Is(err, boom) {
		t.Errorf("FindGapsWith with a failing Answered = %v, want %v", err, boom)
	}
}
