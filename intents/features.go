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
	// CJKBound adds n-grams of 2..CJKMax CJK characters anchored at the start or the end of the utterance, with the
	// boundary as one more character (the first and last characters of a Chinese query carry much of its intent:
	// 打开.., ..怎么走).
	CJKBound bool
	// CJKWeight, when above 0, puts the CJK n-grams of length 3 and more (and the boundary ones) in a block of
	// their own with this weight against the word and the character blocks (weight 1 each); at 0 they share the
	// character block (models saved before the third block).
	CJKWeight float64
}

func defaultFeatureConfig() featureConfig {
	return featureConfig{WordNgrams: 2, CharMin: 2, CharMax: 4, CJKMax: 3, CJKBound: true, CJKWeight: 0.4}
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

// The top two bits of a feature hash name its block: word n-grams have both clear, character n-grams inside
// words have charBit, CJK n-grams of length 3 and more have charBit, and cjkBit too when they form a block of
// their own (featureConfig.CJKWeight > 0); before the CJK block existed, only charBit was cleared or set.
const (
	charBit = 1 << 63
	cjkBit  = 1 << 62
)

// block bits of the three kinds of feature.
func (c featureConfig) wordBits(h uint64) uint64 {
	if c.CJKWeight > 0 {
		return h &^ (charBit | cjkBit)
	}
	return h &^ charBit
}

func (c featureConfig) charBits(h uint64) uint64 {
	if c.CJKWeight > 0 {
		return h&^cjkBit | charBit
	}
	return h | charBit
}

func (c featureConfig) cjkBits(h uint64) uint64 {
	if c.CJKWeight > 0 {
		return h | charBit | cjkBit
	}
	return h | charBit
}

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
			dst = append(dst, c.wordBits(h))
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
				dst = append(dst, c.charBits(h))
			}
		}
	}
	if c.CJKBound {
		dst = c.cjkBound(dst, toks)
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
			dst = append(dst, c.cjkBits(h))
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

// vectorize maps counted hashes through the vocabulary and weights them with sublinear TF times IDF; each block
// of features (word n-grams, character n-grams, and with cjkWeight > 0 CJK n-grams) is normalised to unit length
// and then weighted so that the whole vector has unit length: the word and character blocks weigh 1 each and the
// CJK block cjkWeight, shared among the blocks present in the utterance.
func vectorize(tc []termCount, vocab map[uint64]int32, idf []float32, cjkWeight float64) sparse {
	v := sparse{idx: make([]int32, 0, len(tc)), val: make([]float32, 0, len(tc))}
	shift := uint(63)
	weight := [4]float64{1, 1, 1, 1}
	if cjkWeight > 0 {
		shift = 62
		weight[3] = cjkWeight
	}
	var norm [4]float64
	for _, t := range tc {
		j, ok := vocab[t.hash]
		if !ok {
			continue
		}
		x := (1 + math.Log(float64(t.count))) * float64(idf[j])
		v.idx = append(v.idx, j)
		v.val = append(v.val, float32(x))
		norm[t.hash>>shift] += x * x
	}
	var total float64
	blocks := 0
	for b, n := range norm {
		if n > 0 {
			total += weight[b]
			blocks++
		}
	}
	var inv [4]float32
	for b, n := range norm {
		switch {
		case n == 0:
		case cjkWeight > 0:
			inv[b] = float32(math.Sqrt(weight[b] / total / n))
		default: // two blocks of equal weight, computed as models saved before the CJK block expect
			inv[b] = float32(1 / math.Sqrt(n))
			if blocks == 2 {
				inv[b] *= math.Sqrt2 / 2
			}
		}
	}
	k := 0
	for _, t := range tc {
		if _, ok := vocab[t.hash]; ok {
			v.val[k] *= inv[t.hash>>shift]
			k++
		}
	}
	return v
}

// cjkBound appends the n-grams of the first and of the last 2..CJKMax characters of an utterance, when they are
// all CJK, each with the boundary mark as one more character.
func (c featureConfig) cjkBound(dst []uint64, toks []token) []uint64 {
	for n := 3; n <= c.CJKMax+1; n++ {
		if n-1 <= len(toks) {
			ok := true
			h := hashString(hashByte(hashByte(fnvOffset, 'b'), byte(n)), bos)
			for k := 0; k < n-1; k++ {
				if !toks[k].cjk {
					ok = false
					break
				}
				h = hashString(h, toks[k].text)
			}
			if ok {
				dst = append(dst, c.cjkBits(h))
			}
			ok = true
			h = hashByte(hashByte(fnvOffset, 'e'), byte(n))
			for k := len(toks) - n + 1; k < len(toks); k++ {
				if !toks[k].cjk {
					ok = false
					break
				}
				h = hashString(h, toks[k].text)
			}
			if ok {
				dst = append(dst, c.cjkBits(hashString(h, eos)))
			}
		}
	}
	return dst
}
