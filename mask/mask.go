package mask

import (
	"regexp"
	"strings"
	"unicode"
)

// Kind is a type of personal data.
type Kind string

// The kinds of personal data found.
const (
	Phone Kind = "phone"
	IDNo  Kind = "id_number"
	Card  Kind = "bank_card"
	Email Kind = "email"
)

// Match is one piece of personal data in a text.
type Match struct {
	Kind       Kind
	Start, End int // byte offsets
}

var (
	emailRE = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}`)
	// numberRE finds runs of digits, optionally grouped by single spaces or
	// dashes, with an optional leading + (international numbers) and a
	// trailing X (Chinese ID numbers).
	numberRE = regexp.MustCompile(`\+?\d(?:[\d]|[ \-]\d)*[Xx]?`)
)

// orderWords before a number mean it is an order, tracking or ticket number.
var orderWords = []string{"order", "订单", "单号", "tracking", "运单", "快递", "ticket", "工单", "invoice", "发票", "#", "no.", "编号"}

// Find returns the personal data in s, in order, without overlaps.
func Find(s string) []Match {
	var out []Match
	for _, loc := range emailRE.FindAllStringIndex(s, -1) {
		out = append(out, Match{Kind: Email, Start: loc[0], End: loc[1]})
	}
	for _, loc := range numberRE.FindAllStringIndex(s, -1) {
		start, end := loc[0], loc[1]
		if insideAny(out, start) {
			continue
		}
		// A number glued to letters (e.g. "SKU12345678901") is a code, not personal data.
		if start > 0 && isWordRune(lastRune(s[:start])) || end < len(s) && isWordRune(firstRune(s[end:])) {
			continue
		}
		raw := s[start:end]
		digits := strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' || r == 'X' || r == 'x' {
				return r
			}
			return -1
		}, raw)
		if k, ok := classify(raw, digits, s[:start]); ok {
			out = append(out, Match{Kind: k, Start: start, End: end})
		}
	}
	sortMatches(out)
	return out
}

func insideAny(ms []Match, i int) bool {
	for _, m := range ms {
		if i >= m.Start && i < m.End {
			return true
		}
	}
	return false
}

func isWordRune(r rune) bool { return r < unicode.MaxASCII && (unicode.IsLetter(r) || r == '_') }

func lastRune(s string) rune {
	r := []rune(s)
	if len(r) == 0 {
		return 0
	}
	return r[len(r)-1]
}

func firstRune(s string) rune {
	for _, r := range s {
		return r
	}
	return 0
}

func sortMatches(ms []Match) {
	for i := 1; i < len(ms); i++ {
		for j := i; j > 0 && ms[j].Start < ms[j-1].Start; j-- {
			ms[j], ms[j-1] = ms[j-1], ms[j]
		}
	}
}

// precededByOrderWord reports whether the text just before a number names it
// as an order/tracking/ticket number.
func precededByOrderWord(before string) bool {
	b := strings.ToLower(before)
	if r := []rune(b); len(r) > 16 {
		b = string(r[len(r)-16:])
	}
	for _, w := range orderWords {
		if strings.Contains(b, w) {
			return true
		}
	}
	return false
}

func classify(raw, digits, before string) (Kind, bool) {
	hasX := strings.ContainsAny(digits, "Xx")
	n := len(digits)
	if strings.HasPrefix(raw, "+") {
		if !hasX && n >= 8 && n <= 15 {
			return Phone, true
		}
		return "", false
	}
	if hasX && (n != 18 || !strings.ContainsAny(digits[17:], "Xx")) {
		return "", false
	}
	if n == 18 && validResidentID(digits) {
		return IDNo, true
	}
	if hasX {
		return "", false
	}
	if precededByOrderWord(before) {
		return "", false
	}
	// Chinese mobile: 11 digits starting 13-19, optionally after 86 or 0086.
	d := digits
	if strings.HasPrefix(d, "0086") && len(d) == 15 {
		d = d[4:]
	} else if strings.HasPrefix(d, "86") && len(d) == 13 {
		d = d[2:]
	}
	if len(d) == 11 && d[0] == '1' && d[1] >= '3' && d[1] <= '9' {
		return Phone, true
	}
	if n >= 13 && n <= 19 && cardPrefix(digits) && luhn(digits) {
		return Card, true
	}
	return "", false
}

// validResidentID checks a Chinese resident ID number: a plausible birth
// date and the ISO 7064 MOD 11-2 check character.
func validResidentID(d string) bool {
	if len(d) != 18 {
		return false
	}
	for i := 0; i < 17; i++ {
		if d[i] < '0' || d[i] > '9' {
			return false
		}
	}
	year := atoi(d[6:10])
	month := atoi(d[10:12])
	day := atoi(d[12:14])
	if year < 1900 || year > 2099 || month < 1 || month > 12 || day < 1 || day > 31 {
		return false
	}
	weights := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i := 0; i < 17; i++ {
		sum += int(d[i]-'0') * weights[i]
	}
	check := "10X98765432"[sum%11]
	last := d[17]
	if last == 'x' {
		last = 'X'
	}
	return last == check
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// cardPrefix reports whether the number starts like a payment card of a
// major network (Visa, Mastercard, American Express, UnionPay, JCB, Discover).
func cardPrefix(d string) bool {
	p2, p4 := atoi(d[:2]), atoi(d[:4])
	switch {
	case d[0] == '4':
		return true
	case p2 >= 51 && p2 <= 55, p4 >= 2221 && p4 <= 2720:
		return true
	case p2 == 34 || p2 == 37, p2 == 62, p2 == 35, p4 == 6011, p2 == 65:
		return true
	}
	return false
}

func luhn(d string) bool {
	sum, double := 0, false
	for i := len(d) - 1; i >= 0; i-- {
		v := int(d[i] - '0')
		if double {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
		double = !double
	}
	return sum%10 == 0
}

// Redact replaces every piece of personal data with a placeholder such as
// [PHONE] — for text sent to an LLM or written to a log.
func Redact(s string) string {
	return replace(s, func(m Match, v string) string { return "[" + strings.ToUpper(string(m.Kind)) + "]" })
}

// Partial masks personal data for display, keeping enough to recognise it:
// 138****8000, 622202******3445 (first 6 and last 4 of a card),
// 110105********123X, l***@example.com.
func Partial(s string) string {
	return replace(s, func(m Match, v string) string {
		switch m.Kind {
		case Email:
			at := strings.LastIndexByte(v, '@')
			return v[:1] + "***" + v[at:]
		case Card:
			return keepDigits(v, 6, 4)
		case IDNo:
			return keepDigits(v, 6, 4)
		default:
			return keepDigits(v, 3, 4)
		}
	})
}

// keepDigits keeps the first and last digits of v and stars the rest,
// leaving separators in place.
func keepDigits(v string, first, last int) string {
	total := 0
	for _, r := range v {
		if r >= '0' && r <= '9' || r == 'X' || r == 'x' {
			total++
		}
	}
	var b strings.Builder
	i := 0
	for _, r := range v {
		if r >= '0' && r <= '9' || r == 'X' || r == 'x' {
			if i < first || i >= total-last {
				b.WriteRune(r)
			} else {
				b.WriteByte('*')
			}
			i++
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func replace(s string, f func(Match, string) string) string {
	ms := Find(s)
	if len(ms) == 0 {
		return s
	}
	var b strings.Builder
	prev := 0
	for _, m := range ms {
		if m.Start < prev {
			continue
		}
		b.WriteString(s[prev:m.Start])
		b.WriteString(f(m, s[m.Start:m.End]))
		prev = m.End
	}
	b.WriteString(s[prev:])
	return b.String()
}
