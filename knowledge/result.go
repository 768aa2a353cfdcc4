package knowledge

import "context"

// Hit is one FAQ entry found for a query.
type Hit struct {
	// ID is the entry's stable identifier.
	ID string `json:"id"`
	// Question is the entry's main question.
	Question string `json:"question"`
	// Answer is the entry's answer in Markdown.
	Answer string `json:"answer"`
	// Skill is the skill group that handles this topic when a human is needed.
	Skill string `json:"skill,omitempty"`
	// Score is the raw relevance score (comparable only within one result).
	Score float64 `json:"score"`
	// Highlights are fragments of the entry that matched, for display.
	Highlights []string `json:"highlights,omitempty"`
}

// Result is the outcome of one search.
type Result struct {
	// Hits are the best entries, best first.
	Hits []Hit `json:"hits"`
	// Confidence is a calibrated probability in [0,1] that Hits[0] answers the query.
	Confidence float64 `json:"confidence"`
	// Margin is the confidence gap between the best and the runner-up entry, in [0,1].
	Margin float64 `json:"margin"`
}

// Searcher finds FAQ entries for a query; consumers declare it (or a narrower
// interface) so tests can use small fakes.
type Searcher interface {
	Search(ctx context.Context, query string, k int) (Result, error)
}
