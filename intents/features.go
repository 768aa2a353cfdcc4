package intents

import (
	"math"
	"slices"
)

// featureConfig says which sparse features are extracted from an utterance.
type featureConfig struct {
	WordNgrams int // word n-grams of length 1..WordNgrams (CJK characters count as words)
	CharMin    int // shortest character n-gram inside a word, padded with boundary marks
	CharMax    int // longest character n-gram inside a word
	CJKMax     int // CJK character n-grams of length 3..CJKMax across a run of CJK characters
}

func defaultFeatureConfig() featureConfig {
	return featureConfig{WordNgrams: 2, CharMin: 2, CharMax: 4, CJKMax: 3}
}

// FNV-1a, 64 bit.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func hashByte(h uint64, b byte) uint64 { return (h ^ uint64(b)) * fnvPrime }

func hashString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * fnvPrime
	}
	return h
}

// Namespaces keep the kinds of features apart.
const (
	nsWord byte = 'w'
	nsChar byte = 'c'
	nsCJK  byte = 'k'
)

// charBit marks the hash of a character n-gram; word n-grams have it clear.
const charBit = 1 << 63

const (
	bos = "\x02"
	eos = "\x03"
)

// hashes appends the feature hashes of the tokens to dst (with repeats).
func (c featureConfig) hashes(dst []uint64, toks []token) []uint64 {
	// Word n-grams, with sentence boundaries for n >= 2.
	for n := 1; n <= c.WordNgrams; n++ {
		lo, hi := 0, len(toks)-n+1
		if n > 1 {
			lo, hi = -1, len(toks)-n+2
		}
		for i := lo; i < hi; i++ {
			h := hashByte(hashByte(fnvOffset, nsWord), byte(n))
			for k := i; k < i+n; k++ {
				switch {
				case k < 0:
					h = hashString(h, bos)
				case k >= len(toks):
					h = hashString(h, eos)
				default:
					h = hashString(h, toks[k].text)
				}
				h = hashByte(h, 0)
			}
			dst = append(dst, h&^charBit)
		}
	}
	// Character n-grams inside words, padded: "<word>".
	var buf []rune
	for _, t := range toks {
		if t.cjk || isPlaceholder(t.text) {
			continue
		}
		buf = append(buf[:0], '<')
		buf = append(buf, []rune(t.text)...)
		buf = append(buf, '>')
		for n := c.CharMin; n <= c.CharMax; n++ {
			for i := 0; i+n <= len(buf); i++ {
				if n == len(buf) && n <= 3 {
					// The whole padded word is already a word feature.
					continue
				}
				h := hashByte(fnvOffset, nsChar)
				for _, r := range buf[i : i+n] {
					h = hashRune(h, r)
				}
				dst = append(dst, h|charBit)
			}
		}
	}
	// CJK character n-grams across runs of CJK characters.
	for n := 3; n <= c.CJKMax; n++ {
		for i := 0; i+n <= len(toks); i++ {
			ok := true
			for k := i; k < i+n; k++ {
				if !toks[k].cjk {
					ok = false
					break
				}
			}
			if !ok {
				continue
			}
			h := hashByte(hashByte(fnvOffset, nsCJK), byte(n))
			for k := i; k < i+n; k++ {
				h = hashString(h, toks[k].text)
			}
			dst = append(dst, h|charBit)
		}
	}
	return dst
}

func hashRune(h uint64, r rune) uint64 {
	for r > 0 {
		h = hashByte(h, byte(r))
		r >>= 8
	}
	return hashByte(h, 0xff)
}

func isPlaceholder(s string) bool {
	return s == TokenEmail || s == TokenURL || s == TokenID || s == TokenNum
}

// termCount is a feature hash with its count in one utterance.
type termCount struct {
	hash  uint64
	count int32
}

// countHashes sorts hs in place and returns each distinct hash with its count.
func countHashes(hs []uint64) []termCount {
	slices.Sort(hs)
	out := make([]termCount, 0, len(hs))
	for i, h := range hs {
		if i > 0 && h == hs[i-1] {
			out[len(out)-1].count++
			continue
		}
		out = append(out, termCount{hash: h, count: 1})
	}
	return out
}

// sparse is an L2-normalised sparse feature vector.
type sparse struct {
	idx []int32
	val []float32
}

// vectorize maps counted hashes through the vocabulary and weights them with
// sublinear TF times IDF; the word n-grams and the character n-grams are each
// normalised to unit length, then the whole vector is (each block has half the weight).
func vectorize(tc []termCount, vocab map[uint64]int32, idf []float32) sparse {
	v := sparse{idx: make([]int32, 0, len(tc)), val: make([]float32, 0, len(tc))}
	var norm [2]float64
	for _, t := range tc {
		j, ok := vocab[t.hash]
		if !ok {
			continue
		}
		x := (1 + math.Log(float64(t.count))) * float64(idf[j])
		v.idx = append(v.idx, j)
		v.val = append(v.val, float32(x))
		norm[t.hash>>63] += x * x
	}
	var inv [2]float32
	blocks := 0
	for b, n := range norm {
		if n > 0 {
			inv[b] = float32(1 / math.Sqrt(n))
			blocks++
		}
	}
	if blocks == 2 {
		inv[0] *= math.Sqrt2 / 2
		inv[1] *= math.Sqrt2 / 2
	}
	k := 0
	for _, t := range tc {
		if _, ok := vocab[t.hash]; ok {
			v.val[k] *= inv[t.hash>>63]
			k++
		}
	}
	return v
}
