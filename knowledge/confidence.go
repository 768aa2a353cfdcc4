package knowledge

import "math"

// confFeatures describe how well the best entry matches a query; the
// confidence is a logistic function of them.
type confFeatures struct {
	Coverage float64 // idf-weighted share of the query's terms in the entry's questions or answers, [0,1]
	Lead     float64 // relative score lead over the runner-up, [0,1] (0 for the runner-up itself)
	Norm     float64 // BM25 score over the score of a question that has every query term once, [0,2]
	Terms    float64 // log(1 + number of query terms)
}

// vector returns the features in the order of confWeights.
func (f confFeatures) vector() [confN]float64 {
	return [confN]float64{f.Coverage, f.Lead, f.Norm, f.Terms}
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
func (s *scorer) features(cands []scored, i int) confFeatures {
	c := cands[i]
	f := confFeatures{Coverage: s.coverage(c.e), Terms: math.Log1p(float64(s.terms))}
	if i == 0 {
		f.Lead = 1
		if len(cands) > 1 && c.score > 0 {
			f.Lead = max(0, min(1, (c.score-cands[1].score)/c.score))
		}
	}
	if s.weight > 0 {
		if ideal := s.x.rank.QuestionBoost * (s.weight - s.unknown); ideal > 0 {
			f.Norm = min(2, c.bm25/ideal)
		}
	}
	return f
}

// confN is the number of confidence features.
const confN = 4

// Confidence model: logistic regression on confFeatures, fitted by
// TestFitCalibration (FRONTDESK_CALIBRATE=1 go test -run TestFitCalibration
// ./knowledge/) on pseudo-queries that are not evaluation queries; see
// docs/quality.md.
const confBias = -2.9182

// confWeights are the logistic regression weights of the confidence features.
var confWeights = [confN]float64{5.4734, 0.0411, 0.4486, -0.2037}
