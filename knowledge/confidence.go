package knowledge

import "math"

// confFeatures describe how well an entry matches a query; the confidence is
// a logistic function of them.
type confFeatures struct {
	Questions float64 // idf-weighted share of the query's terms in the entry's questions, [0,1]
	Answers   float64 // share of the query's terms only in the entry's answers, counted up to Questions, [0,0.5]
	Terms     float64 // log(1 + number of query terms)
	Evidence  float64 // log(1 + BM25 over the question score of a term that one entry has)
}

// vector returns the features in the order of confWeights.
func (f confFeatures) vector() [confN]float64 {
	return [confN]float64{f.Questions, f.Answers, f.Terms, f.Evidence}
}

// probability is the calibrated probability that the entry answers the query.
func (f confFeatures) probability() float64 {
	z := confBias
	for i, v := range f.vector() {
		z += confWeights[i] * v
	}
	return 1 / (1 + math.Exp(-z))
}

// features computes the confidence features of candidate i of a ranked list.
//
// Words found only in an entry's answers count only as far as its questions
// match too: a word that no question has is the rarest by the questions'
// statistics, so "please" or 好 in one answer used to look like a full match.
// Evidence is the BM25 score in units of one question match of a word that
// only one entry has, so a query of one common word ("可以", "get") that
// several questions contain gets less than a specific one.
func (s *scorer) features(cands []scored, i int) confFeatures {
	c := cands[i]
	f := confFeatures{Terms: math.Log1p(float64(s.terms))}
	q, a := s.coverage(c.e)
	f.Questions, f.Answers = q, min(a, q)
	if unit := s.x.rank.QuestionBoost * s.uniqueIDF(); unit > 0 {
		f.Evidence = math.Log1p(c.bm25 / unit)
	}
	return f
}

// confN is the number of confidence features.
const confN = 4

// Confidence model: logistic regression on confFeatures, fitted by
// TestFitCalibration (FRONTDESK_CALIBRATE=1 go test -run TestFitCalibration
// ./knowledge/) on pseudo-queries that are not evaluation queries; see
// docs/quality.md.
const confBias = 0.2674

// confWeights are the logistic regression weights of the confidence features.
var confWeights = [confN]float64{-0.0716, 6.3749, -2.9306, 3.3445}
