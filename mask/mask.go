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
	// dashes, with an optional leading + (international numbers) or area
	// code in brackets ("(010) 6234 5678"), and a trailing X (Chinese ID
	// numbers).
	numberRE = regexp.MustCompile(`(?:\(0\d{2,3}\) ?|\+)?\d(?:[\d]|[ \-]\d)*[Xx]?`)
	// dateRE is a date written day-month-year (or month-day-year), which a
	// leading 0 would otherwise make look like a national phone number.
	dateRE = regexp.MustCompile(`^\d{2}[ \-]\d{2}[ \-]\d{4}(?:\D|$)`)
)

// orderWords just before a number (see precededByOrderWord) mean it is an
// order, tracking, ticket or invoice number. Generic words such as "no." or
// "#" are not among them: "phone no. 139..." and "card #4111..." are
// personal data.
var orderWords = []string{"order", "订单", "单号", "tracking", "运单", "快递", "ticket", "工单", "invoice", "发票", "编号"}

// orderFillers may stand between an order word and its number:
// "order no. 123", "订单号是 123", "invoice #123", "ticket id: 123".
var orderFillers = []string{"number", "num", "no.", "no", "nr", "id", "is", "#", ":", "：", "号码", "号", "码", "是", "为", "-", "."}

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
		// A number glued to letters (e.g. "SKU12345678901") is a code, not
		// personal data — unless it is a Chinese mobile number
		// ("phone13912345678"). Letters that end an e-mail address found
		// above do not count: its placeholder will not be a letter.
		glued := start > 0 && isWordRune(lastRune(s[:start])) && !endsAt(out, start) ||
			end < len(s) && isWordRune(firstRune(s[end:]))
		// The text before the number, from the end of the last match: an
		// order word inside an e-mail address does not count, since it will
		// not be there once the address is masked.
		from := lastEnd(out, start)
		k, ok := classify(s[start:end], s[from:start], glued)
		if !ok && s[start] == '(' {
			// "(010) " did not make a phone number: classify what follows alone.
			start += strings.IndexByte(s[start:end], ')') + 1
			start += len(s[start:end]) - len(strings.TrimLeft(s[start:end], " "))
			glued = end < len(s) && isWordRune(firstRune(s[end:]))
			k, ok = classify(s[start:end], s[from:start], glued)
		}
		if ok {
			out = append(out, Match{Kind: k, Start: start, End: end})
		}
	}
	sortMatches(out)
	return out
}

// lastEnd returns the end of the last match that ends at or before i, or 0.
func lastEnd(ms []Match, i int) int {
	e := 0
	for _, m := range ms {
		if m.End <= i && m.End > e {
			e = m.End
		}
	}
	return e
}

func endsAt(ms []Match, i int) bool {
	for _, m := range ms {
		if m.End == i {
			return true
		}
	}
	return false
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
// as an order, tracking, ticket or invoice number: an order word, then only
// fillers ("no.", "#", "号", ":") and spaces. A word further back does not
// count ("order 12345, phone 010-62345678").
func precededByOrderWord(before string) bool { return precededBy(before, orderWords) }

// idWords just before a 15- or 18-digit number mean it is a resident ID
// number, even one whose date or check digit is wrong (a typing mistake
// does not make it less personal).
var idWords = []string{"身份证", "证件", "id card", "id number", "id no", "identity card", "identity number"}

// precededBy reports whether before ends with one of words, followed only by
// fillers and spaces.
func precededBy(before string, words []string) bool {
	b := strings.ToLower(before)
	for range 8 {
		b = strings.TrimRight(b, " \t　")
		for _, w := range words {
			if strings.HasSuffix(b, w) {
				return true
			}
		}
		trimmed := false
		for _, f := range orderFillers {
			if strings.HasSuffix(b, f) {
				b, trimmed = b[:len(b)-len(f)], true
				break
			}
		}
		if !trimmed {
			return false
		}
	}
	return false
}

// classify decides what the number raw (as found by numberRE) is, given
// the text before it and whether it is glued to letters. Cards and Chinese
// mobile numbers are recognised before the order-word exemption: their
// checks are strong, and leaking one costs far more than masking an order
// number that happens to look like one.
func classify(raw, before string, glued bool) (Kind, bool) {
	digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' || r == 'X' || r == 'x' {
			return r
		}
		return -1
	}, raw)
	hasX := strings.ContainsAny(digits, "Xx")
	n := len(digits)
	if glued {
		if !hasX && !strings.HasPrefix(raw, "+") && chineseMobile(digits) {
			return Phone, true
		}
		return "", false
	}
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
	if chineseMobile(digits) {
		return Phone, true
	}
	if n >= 13 && n <= 19 && cardPrefix(digits) && luhn(digits) {
		return Card, true
	}
	if precededByOrderWord(before) {
		return "", false
	}
	if n == 15 && validOldResidentID(digits) || (n == 15 || n == 18) && precededBy(before, idWords) {
		return IDNo, true
	}
	// A national number with its trunk prefix 0: Chinese landlines with the
	// area code (010-6234 5678, 0755 1234 5678), mobiles and landlines of
	// most other countries (0151 23456789, 020 7946 0958); or an
	// international one with 00.
	if n >= 10 && digits[0] == '0' && !dateRE.MatchString(strings.TrimPrefix(raw, "(")) {
		if digits[1] != '0' && n <= 12 {
			return Phone, true
		}
		if digits[1] == '0' && digits[2] != '0' && n >= 11 && n <= 15 {
			return Phone, true
		}
	}
	return "", false
}

// chineseMobile reports whether d is a Chinese mobile number, 1[3-9] and 9
// more digits, optionally after 86 or 0086.
func chineseMobile(d string) bool {
	if strings.HasPrefix(d, "0086") && len(d) == 15 {
		d = d[4:]
	} else if strings.HasPrefix(d, "86") && len(d) == 13 {
		d = d[2:]
	}
	return len(d) == 11 && d[0] == '1' && d[1] >= '3' && d[1] <= '9'
}

// provinces are the first two digits of Chinese resident ID numbers.
var provinces = map[string]bool{
	"11": true, "12": true, "13": true, "14": true, "15": true,
	"21": true, "22": true, "23": true,
	"31": true, "32": true, "33": true, "34": true, "35": true, "36": true, "37": true,
	"41": true, "42": true, "43": true, "44": true, "45": true, "46": true,
	"50": true, "51": true, "52": true, "53": true, "54": true,
	"61": true, "62": true, "63": true, "64": true, "65": true,
	"71": true, "81": true, "82": true,
}

// validOldResidentID checks a 15-digit resident ID number of the format
// issued until 1999 (no check digit): a province code and a plausible
// YYMMDD birth date.
func validOldResidentID(d string) bool {
	if len(d) != 15 || !provinces[d[:2]] {
		return false
	}
	month, day := atoi(d[8:10]), atoi(d[10:12])
	return month >= 1 && month <= 12 && day >= 1 && day <= 31
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
			if len(v) == 15 {
				return keepDigits(v, 6, 3) // old format: hide the whole birth date
			}
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
