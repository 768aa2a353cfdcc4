package knowledge

import (
	"math"
	"sort"
)

// BM25 parameters of the rescoring (the usual Okapi values).
const (
	bm25K1 = 1.2
	bm25B  = 0.75
)

// termFreq is one term of a field with its frequency.
type termFreq struct {
	term string
	tf   int32
}

// fieldVec is the bag of terms of one field of an entry, sorted by term.
type fieldVec struct {
	terms []termFreq
	len   int32 // number of term occurrences
}

// newFieldVec builds the bag of terms of the given analysed terms.
func newFieldVec(terms []string) fieldVec {
	sorted := append([]string(nil), terms...)
	sort.Strings(sorted)
	v := fieldVec{len: int32(len(terms))}
	for _, t := range sorted {
		if n := len(v.terms); n > 0 && v.terms[n-1].term == t {
			v.terms[n-1].tf++
			continue
		}
		v.terms = append(v.terms, termFreq{t, 1})
	}
	return v
}

// tf returns the frequency of t in the field.
func (v fieldVec) tf(t string) int32 {
	i := sort.Search(len(v.terms), func(i int) bool { return v.terms[i].term >= t })
	if i < len(v.terms) && v.terms[i].term == t {
		return v.terms[i].tf
	}
	return 0
}

// fieldStats holds collection statistics of one field.
type fieldStats struct {
	df     map[string]int32
	sumLen int64
}

func newFieldStats() fieldStats { return fieldStats{df: map[string]int32{}} }

// add adds (d=1) or removes (d=-1) a field's terms to the statistics.
func (s *fieldStats) add(v fieldVec, d int32) {
	s.sumLen += int64(d) * int64(v.len)
	for _, t := range v.terms {
		n := s.df[t.term] + d
		if n <= 0 {
			delete(s.df, t.term)
		} else {
			s.df[t.term] = n
		}
	}
}

// idf is the BM25 inverse document frequency of t among n entries.
func (s *fieldStats) idf(t string, n int) float64 {
	df := float64(s.df[t])
	return math.Log(1 + (float64(n)-df+0.5)/(df+0.5))
}

// bm25 scores one term occurrence count in a field of length dl.
func bm25(idf float64, tf int32, dl int32, avgdl float64) float64 {
	if tf == 0 {
		return 0
	}
	f := float64(tf)
	norm := 1.0
	if avgdl > 0 {
		norm = 1 - bm25B + bm25B*float64(dl)/avgdl
	}
	return idf * f * (bm25K1 + 1) / (f + bm25K1*norm)
}
