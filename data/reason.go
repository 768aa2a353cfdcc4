package data

import "strings"

// Reason is an error's message for the person who caused it: without the
// packages and operations it passed through and without the sentinel it
// wraps ("chat: upload: sqlstore: append: text is not UTF-8: invalid" ->
// "text is not UTF-8").
func Reason(err error) string {
	msg := err.Error()
	for _, sentinel := range []error{ErrInvalid, ErrConflict, ErrNotFound} {
		msg = strings.TrimSuffix(msg, ": "+sentinel.Error())
	}
	for {
		i := strings.Index(msg, ": ")
		if i < 0 || !isPrefixWord(msg[:i]) {
			break
		}
		msg = msg[i+2:]
	}
	if msg == "" || msg == ErrInvalid.Error() {
		return "invalid input"
	}
	return msg
}

// isPrefixWord reports whether s looks like an error-wrapping prefix: one
// to three lower-case words such as a package or an operation ("sqlstore",
// "update ticket").
func isPrefixWord(s string) bool {
	words := strings.Split(s, " ")
	if len(s) > 24 || len(words) > 3 {
		return false
	}
	for _, w := range words {
		if w == "" {
			return false
		}
		for _, r := range w {
			if (r < 'a' || r > 'z') && r != '_' {
				return false
			}
		}
	}
	return true
}
