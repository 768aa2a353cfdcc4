package knowledge

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	porterstemmer "github.com/blevesearch/go-porterstemmer"
	"golang.org/x/text/width"
)

// CJK modes: how runs of Chinese (and Japanese, Korean) characters become terms.
const (
	// CJKBoth indexes single characters and overlapping bigrams (the default).
	CJKBoth = "both"
	// CJKBigram indexes overlapping bigrams only (single characters for runs of one).
	CJKBigram = "bigram"
	// CJKUnigram indexes single characters only.
	CJKUnigram = "unigram"
)

// Analysis selects how text is turned into search terms; the zero value is the
// recommended setup (see docs/quality.md).
type Analysis struct {
	// CJK is the CJK mode: CJKBoth (default), CJKBigram or CJKUnigram.
	CJK string
	// NoStem disables English (Porter) stemming.
	NoStem bool
	// NoStopWords keeps English stop words.
	NoStopWords bool
}

// version identifies the analysis for the persisted-index manifest.
func (a Analysis) version() string {
	return fmt.Sprintf("terms/v1 cjk=%s stem=%t stop=%t", a.cjk(), !a.NoStem, !a.NoStopWords)
}

func (a Analysis) cjk() string {
	if a.CJK == "" {
		return CJKBoth
	}
	return a.CJK
}

func (a Analysis) validate() error {
	switch a.cjk() {
	case CJKBoth, CJKBigram, CJKUnigram:
		return nil
	}
	return fmt.Errorf("knowledge: unknown CJK mode %q (want %s, %s or %s)", a.CJK, CJKBoth, CJKBigram, CJKUnigram)
}

// token is one term with its byte span in the original text.
type token struct {
	term       string
	start, end int
}

// runeSpan is one folded rune with its byte span in the original text.
type runeSpan struct {
	r          rune
	start, end int
}

// foldRune folds full-width and half-width forms and case.
func foldRune(r rune) rune {
	if r >= 0x80 {
		p := width.LookupRune(r)
		switch p.Kind() {
		case width.EastAsianFullwidth:
			if n := p.Narrow(); n != 0 {
				r = n
			}
		case width.EastAsianHalfwidth:
			if w := p.Wide(); w != 0 {
				r = w
			}
		}
	}
	return unicode.ToLower(r)
}

// isCJK reports whether r is written without spaces between words.
func isCJK(r rune) bool {
	return unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) ||
		unicode.Is(unicode.Katakana, r) || unicode.Is(unicode.Hangul, r)
}

// isWordRune reports whether r is part of a word or CJK run.
func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

// tokens splits text into terms with their byte spans in text.
func (a Analysis) tokens(text string) []token { return a.tokensIn(text, len(text)) }

// tokensIn is tokens for the words that start before byte offset stop.
func (a Analysis) tokensIn(text string, stop int) []token {
	var out []token
	a.scan(text, stop, func(t token) { out = append(out, t) })
	return out
}

// scan calls emit for each term of the words of text that start before byte
// offset stop, in order, without collecting them.
func (a Analysis) scan(text string, stop int, emit func(token)) {
	var buf [32]runeSpan
	run := buf[:0] // current word or CJK run
	runCJK := false
	flush := func() {
		if len(run) == 0 {
			return
		}
		if runCJK {
			a.cjkTerms(emit, text, run)
		} else {
			w := a.runText(text, run)
			if a.NoStopWords || !englishStopWords[w] {
				if !a.NoStem && len(w) > 2 && isASCII(w) {
					w = porterstemmer.StemString(w)
				}
				emit(token{term: w, start: run[0].start, end: run[len(run)-1].end})
			}
		}
		run = run[:0]
	}
	for i, r := range text {
		if i >= stop && len(run) == 0 {
			break
		}
		end := i + utf8.RuneLen(r)
		if r == utf8.RuneError {
			_, size := utf8.DecodeRuneInString(text[i:])
			end = i + size
		}
		f := foldRune(r)
		switch {
		case isCJK(f):
			if !runCJK {
				flush()
				runCJK = true
			}
			run = append(run, runeSpan{f, i, end})
		case isWordRune(f):
			if runCJK {
				flush()
				runCJK = false
			}
			run = append(run, runeSpan{f, i, end})
		case f == '\'' || f == '’':
			// Apostrophes join a word ("don't" -> "dont").
		default:
			flush()
		}
	}
	flush()
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// runText returns the folded text of a run, sliced from text (no allocation)
// when folding changed nothing.
func (a Analysis) runText(text string, run []runeSpan) string {
	same := true
	for i, s := range run {
		if (i > 0 && run[i-1].end != s.start) || !runeIs(text[s.start:s.end], s.r) {
			same = false
			break
		}
	}
	if same {
		return text[run[0].start:run[len(run)-1].end]
	}
	var b strings.Builder
	for _, s := range run {
		b.WriteRune(s.r)
	}
	return b.String()
}

// runeIs reports whether src is exactly the UTF-8 encoding of r.
func runeIs(src string, r rune) bool {
	d, size := utf8.DecodeRuneInString(src)
	return d == r && size == len(src)
}

// cjkTerms appends the unigrams and/or bigrams of a CJK run.
func (a Analysis) cjkTerms(emit func(token), text string, run []runeSpan) {
	mode := a.cjk()
	if mode != CJKBigram || len(run) == 1 {
		for i := range run {
			emit(token{term: a.runText(text, run[i:i+1]), start: run[i].start, end: run[i].end})
		}
	}
	if mode != CJKUnigram {
		for i := 0; i+1 < len(run); i++ {
			emit(token{term: a.runText(text, run[i:i+2]), start: run[i].start, end: run[i+1].end})
		}
	}
}

// terms returns the terms of text, in order, repeats kept.
func (a Analysis) terms(text string) []string {
	toks := a.tokens(text)
	out := make([]string, len(toks))
	for i, t := range toks {
		out[i] = t.term
	}
	return out
}

// englishStopWords is a constant table of English function words.
var englishStopWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`a about above after again against all am an and any are as at be because been
	before being below between both but by can could did do does doing down during each few for from further had has
	have having he her here hers herself him himself his how i if in into is it its itself just me more most my myself
	no nor not now of off on once only or other our ours ourselves out over own same she should so some such than that
	the their theirs them themselves then there these they this those through to too under until up very was we were
	what when where which while who whom why will with would you your yours yourself yourselves s t`) {
		m[w] = true
	}
	return m
}()

// Synonyms holds groups of equivalent words or phrases ("花呗 = huabei").
type Synonyms struct {
	groups [][]string // folded members
}

// ParseSynonyms reads a synonyms file: one group per line, members separated by
// "=" or ",", "#" starts a comment; name is used in errors.
func ParseSynonyms(r io.Reader, name string) (*Synonyms, error) {
	s := &Synonyms{}
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		l := sc.Text()
		if i := strings.Index(l, "#"); i >= 0 {
			l = l[:i]
		}
		if strings.TrimSpace(l) == "" {
			continue
		}
		var g []string
		for _, m := range strings.FieldsFunc(l, func(r rune) bool { return r == '=' || r == ',' || r == '，' }) {
			if m = foldString(strings.TrimSpace(m)); m != "" && !contains(g, m) {
				g = append(g, m)
			}
		}
		if len(g) < 2 {
			return nil, parseErr(name, line, "a synonym group needs at least two members separated by '='")
		}
		s.groups = append(s.groups, g)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("knowledge: read %s: %w", name, err)
	}
	return s, nil
}

// Len returns the number of synonym groups.
func (s *Synonyms) Len() int {
	if s == nil {
		return 0
	}
	return len(s.groups)
}

// foldString folds width and case and collapses spaces.
func foldString(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		r = foldRune(r)
		if unicode.IsSpace(r) {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

// expand returns, for every group that occurs in the (folded) query, the
// members that are not in it themselves: the text to add to the query.
func (s *Synonyms) expand(query string) [][]string {
	if s == nil || len(s.groups) == 0 {
		return nil
	}
	q := foldString(query)
	var out [][]string
	for _, g := range s.groups {
		hit := false
		for _, m := range g {
			if containsPhrase(q, m) {
				hit = true
				break
			}
		}
		if !hit {
			continue
		}
		var add []string
		for _, m := range g {
			if !containsPhrase(q, m) {
				add = append(add, m)
			}
		}
		if len(add) > 0 {
			out = append(out, add)
		}
	}
	return out
}

// containsPhrase reports whether m occurs in q; Latin words must match whole words.
func containsPhrase(q, m string) bool {
	for off := 0; ; {
		i := strings.Index(q[off:], m)
		if i < 0 {
			return false
		}
		i += off
		j := i + len(m)
		okL := i == 0 || !latinWordEdge(lastRune(q[:i]), firstRune(m))
		okR := j == len(q) || !latinWordEdge(firstRune(q[j:]), lastRune(m))
		if okL && okR {
			return true
		}
		off = i + 1
	}
}

// latinWordEdge reports whether two adjacent runes would continue one Latin word.
func latinWordEdge(outside, inside rune) bool {
	return isWordRune(outside) && !isCJK(outside) && isWordRune(inside) && !isCJK(inside)
}

func firstRune(s string) rune {
	for _, r := range s {
		return r
	}
	return 0
}

func lastRune(s string) rune {
	r := rune(0)
	for _, c := range s {
		r = c
	}
	return r
}
