package knowledge

import (
	"math"
	"slices"
	"sort"
)

// BM25 parameters of the rescoring (the usual Okapi values).
const (
	bm25K1 = 1.2
	bm25B  = 0.75
)

// termDict numbers the terms of the knowledge base, so that per-entry term
// vectors hold no pointers (which keeps garbage collection cheap on a large
// knowledge base). Ids are never reused; the dictionary grows with the vocabulary.
type termDict struct {
	ids   map[string]uint32
	names []string
}

func newTermDict() termDict { return termDict{ids: map[string]uint32{}} }

// id returns the id of t, adding it when new.
func (d *termDict) id(t string) uint32 {
	if id, ok := d.ids[t]; ok {
		return id
	}
	id := uint32(len(d.names))
	t = string([]byte(t)) // do not keep the analysed text alive
	d.ids[t] = id
	d.names = append(d.names, t)
	return id
}

// lookup returns the id of t if it is known.
func (d *termDict) lookup(t string) (uint32, bool) {
	id, ok := d.ids[t]
	return id, ok
}

// termFreq is one term of a field with its frequency.
type termFreq struct {
	id uint32
	tf int32
}

// fieldVec is the bag of terms of one field of an entry, sorted by term id.
type fieldVec struct {
	terms []termFreq
	len   int32 // number of term occurrences
}

// newFieldVec builds the bag of terms of the given analysed terms, numbering
// new terms in d.
func newFieldVec(d *termDict, terms []string) fieldVec {
	ids := make([]uint32, len(terms))
	for i, t := range terms {
		ids[i] = d.id(t)
	}
	slices.Sort(ids)
	v := fieldVec{len: int32(len(terms))}
	for _, id := range ids {
		if n := len(v.terms); n > 0 && v.terms[n-1].id == id {
			v.terms[n-1].tf++
			continue
		}
		v.terms = append(v.terms, termFreq{id, 1})
	}
	v.terms = slices.Clip(v.terms)
	return v
}

// tf returns the frequency of term id in the field.
func (v fieldVec) tf(id uint32) int32 {
	i := sort.Search(len(v.terms), func(i int) bool { return v.terms[i].id >= id })
	if i < len(v.terms) && v.terms[i].id == id {
		return v.terms[i].tf
	}
	return 0
}

// fieldStats holds collection statistics of one field.
type fieldStats struct {
	df     []int32 // by term id
	sumLen int64
}

func newFieldStats() fieldStats { return fieldStats{} }

// add adds (d=1) or removes (d=-1) a field's terms to the statistics.
func (s *fieldStats) add(v fieldVec, d int32) {
	s.sumLen += int64(d) * int64(v.len)
	for _, t := range v.terms {
		if int(t.id) >= len(s.df) {
			s.df = append(s.df, make([]int32, int(t.id)+1-len(s.df))...)
		}
		s.df[t.id] = max(0, s.df[t.id]+d)
	}
}

// docFreq is the number of entries whose field has term id.
func (s *fieldStats) docFreq(id uint32) int32 {
	if int(id) < len(s.df) {
		return s.df[id]
	}
	return 0
}

// idf is the BM25 inverse document frequency of term id among n entries.
func (s *fieldStats) idf(id uint32, n int) float64 {
	df := float64(s.docFreq(id))
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
