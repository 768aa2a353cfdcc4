package intents

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
	"golang.org/x/text/width"
)

// Placeholder tokens that replace volatile parts of an utterance.
const (
	// TokenEmail replaces an e-mail address.
	TokenEmail = "<email>"
	// TokenURL replaces a web address.
	TokenURL = "<url>"
	// TokenID replaces an order, tracking or account number: a long digit run or a code mixing letters and digits.
	TokenID = "<id>"
	// TokenNum replaces any other number.
	TokenNum = "<num>"
)

// token is one unit of a normalised utterance.
type token struct {
	text string
	cjk  bool // a single Han, Kana or Hangul character
}

// Normalize returns the canonical form of an utterance that the classifier
// sees: Unicode NFKC, width and case folded, with e-mail addresses, URLs, order
// ids and numbers replaced by placeholder tokens, and words separated by single
// spaces (runs of CJK characters stay unsplit).
func Normalize(text string) string {
	return joinTokens(tokenize(text))
}

// Tokens returns the tokens of the normalised utterance: words, placeholders,
// and single CJK characters.
func Tokens(text string) []string {
	toks := tokenize(text)
	out := make([]string, len(toks))
	for i, t := range toks {
		out[i] = t.text
	}
	return out
}

func joinTokens(toks []token) string {
	var b strings.Builder
	for i, t := range toks {
		if i > 0 && !(t.cjk && toks[i-1].cjk) {
			b.WriteByte(' ')
		}
		b.WriteString(t.text)
	}
	return b.String()
}

// fold applies width folding, NFKC and Unicode case folding.
func fold(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	s = width.Fold.String(s)
	s = norm.NFKC.String(s)
	s = cases.Fold().String(s)
	// Case folding can produce sequences that are not NFKC again (rare).
	return norm.NFKC.String(s)
}

// isCJK reports whether r is written without spaces between words.
func isCJK(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul) || r == 'ー'
}

func isWordRune(r rune) bool {
	return (unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)) && !isCJK(r)
}

// isJoiner reports whether r may appear inside a chunk such as an e-mail
// address, a URL, an order code or a contraction.
func isJoiner(r rune) bool {
	switch r {
	case '.', '-', '_', '@', '+', '\'', '/', ':', '#', '%', '&', '=', '?', '~':
		return true
	}
	return false
}

// tokenize folds text and splits it into tokens.
func tokenize(text string) []token {
	s := fold(text)
	toks := make([]token, 0, len(s)/3+1)
	i := 0
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case isCJK(r):
			toks = append(toks, token{text: s[i : i+n], cjk: true})
			i += n
		case isWordRune(r):
			// A chunk: word runes and joiners, ending on a word rune.
			j, end := i, i
			for j < len(s) {
				r2, n2 := utf8.DecodeRuneInString(s[j:])
				if isWordRune(r2) {
					j += n2
					end = j
					continue
				}
				if isJoiner(r2) {
					j += n2
					continue
				}
				break
			}
			toks = appendChunk(toks, s[i:end])
			i = end
		default:
			i += n
		}
	}
	return toks
}

// appendChunk classifies a chunk and appends its tokens.
func appendChunk(toks []token, c string) []token {
	if strings.Contains(c, "://") || strings.HasPrefix(c, "www.") {
		return append(toks, token{text: TokenURL})
	}
	if at := strings.IndexByte(c, '@'); at > 0 && strings.Contains(c[at+1:], ".") && !strings.Contains(c[at+1:], "@") {
		return append(toks, token{text: TokenEmail})
	}
	letters, digits, alnum := 0, 0, 0
	for _, r := range c {
		switch {
		case unicode.IsDigit(r):
			digits++
			alnum++
		case unicode.IsLetter(r):
			letters++
			alnum++
		}
	}
	if digits > 0 && isCode(c, letters, digits) {
		return append(toks, token{text: TokenID})
	}
	// Split the chunk into words at joiners (keeping inner apostrophes), and
	// split letters from digits, so that "3pm" gives <num> pm.
	start := -1
	flush := func(end int) {
		if start >= 0 {
			toks = appendWord(toks, c[start:end])
			start = -1
		}
	}
	for k, r := range c {
		if isWordRune(r) || (r == '\'' && start >= 0 && startsWithWordRune(c[k+1:])) {
			if start < 0 {
				start = k
			}
			continue
		}
		flush(k)
	}
	flush(len(c))
	return toks
}

// isCode reports whether a chunk with digits looks like an order, tracking or
// account number rather than a quantity.
func isCode(c string, letters, digits int) bool {
	if letters == 0 {
		return digits >= 6
	}
	return digits >= 3 && letters+digits >= 6
}

// appendWord appends a word, splitting runs of digits from runs of letters.
func appendWord(toks []token, w string) []token {
	start, digit := 0, false
	for k, r := range w {
		d := unicode.IsDigit(r)
		if k > 0 && d != digit {
			toks = appendPart(toks, w[start:k], digit)
			start = k
		}
		digit = d
	}
	return appendPart(toks, w[start:], digit)
}

func appendPart(toks []token, p string, digit bool) []token {
	if p == "" {
		return toks
	}
	if digit {
		if len(p) >= 6 {
			return append(toks, token{text: TokenID})
		}
		return append(toks, token{text: TokenNum})
	}
	return append(toks, token{text: p})
}

func startsWithWordRune(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return len(s) > 0 && isWordRune(r)
}
