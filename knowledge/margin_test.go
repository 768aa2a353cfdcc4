package knowledge

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// marginOutcome counts what the bot's FAQ rule (answer at >= 0.5 unless
// ambiguous: >= 0.3 with a margin under 0.1 and two hits; clarify at >= 0.3;
// else fall back) does with a set of queries.
type marginOutcome struct{ rightAnswer, wrongAnswer, clarifyRight, clarifyWrong, fallback int }

func (o *marginOutcome) add(id string, res Result, margin float64) {
	conf := res.Confidence
	ambiguous := len(res.Hits) >= 2 && conf >= 0.3 && margin < 0.1
	inOptions := false
	for i, h := range res.Hits {
		if i < 3 && h.ID == id && (i == 0 || h.Score >= res.Hits[0].Score/2) {
			inOptions = true
		}
	}
	switch {
	case len(res.Hits) > 0 && conf >= 0.5 && !ambiguous:
		if res.Hits[0].ID == id {
			o.rightAnswer++
		} else {
			o.wrongAnswer++
		}
	case len(res.Hits) > 0 && conf >= 0.3:
		if inOptions {
			o.clarifyRight++
		} else {
			o.clarifyWrong++
		}
	default:
		o.fallback++
	}
}

// TestMarginExperiment compares ways of computing the margin by what the
// bot would do with held-out questions (FRONTDESK_MARGIN=1).
func TestMarginExperiment(t *testing.T) {
	if os.Getenv("FRONTDESK_MARGIN") == "" {
		t.Skip("set FRONTDESK_MARGIN=1")
	}
	data := os.Getenv("FRONTDESK_DATASETS")
	if data == "" {
		data = filepath.Join("..", "..", "shared", "datasets")
	}
	ctx := context.Background()
	starter, err := Open(ctx, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer starter.Close()
	sfaq, _, err := Load(filepath.Join(data, "stackfaq", "kb.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(sfaq) > 600 {
		sfaq = sfaq[:600]
	}
	variants := map[string]func(res Result) float64{
		"current": func(res Result) float64 { return res.Margin },
		"lead": func(res Result) float64 {
			if len(res.Hits) < 2 || res.Hits[0].Score <= 0 {
				return res.Margin
			}
			return res.Confidence * (res.Hits[0].Score - res.Hits[1].Score) / res.Hits[0].Score
		},
		"max": func(res Result) float64 {
			if len(res.Hits) < 2 || res.Hits[0].Score <= 0 {
				return res.Margin
			}
			return max(res.Margin, res.Confidence*(res.Hits[0].Score-res.Hits[1].Score)/res.Hits[0].Score)
		},
	}
	for _, set := range []struct {
		name    string
		entries []Entry
	}{{"starter", starter.Entries()}, {"stackfaq", sfaq}} {
		out := map[string]*marginOutcome{}
		for name := range variants {
			out[name] = &marginOutcome{}
		}
		forHeldOut(t, set.entries, 3, func(id string, res Result, _ confFeatures) {
			for name, m := range variants {
				out[name].add(id, res, m(res))
			}
		})
		for name, o := range out {
			t.Logf("%-9s %-8s held out: answer right %d wrong %d, clarify with the right one %d without %d, fall back %d",
				set.name, name, o.rightAnswer, o.wrongAnswer, o.clarifyRight, o.clarifyWrong, o.fallback)
		}
	}
	// The starter's own questions, as written (a visitor clicking or typing one).
	out := map[string]*marginOutcome{}
	for name := range variants {
		out[name] = &marginOutcome{}
	}
	for _, e := range starter.Entries() {
		for _, q := range e.Questions {
			res, err := starter.Search(ctx, q, 10)
			if err != nil {
				t.Fatal(err)
			}
			for name, m := range variants {
				out[name].add(e.ID, res, m(res))
			}
		}
	}
	for name, o := range out {
		t.Logf("starter   %-8s own questions: answer right %d wrong %d, clarify with the right one %d without %d, fall back %d",
			name, o.rightAnswer, o.wrongAnswer, o.clarifyRight, o.clarifyWrong, o.fallback)
	}
}
