package intents

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"lower case", "Where IS my Order?", "where is my order"},
		{"full width latin", "ＷＨＥＲＥ　ｉｓ　ｍｙ　ｏｒｄｅｒ", "where is my order"},
		{"half width katakana", "ｶﾀｶﾅ", "カタカナ"},
		{"case folding sharp s", "STRASSE straße", "strasse strasse"},
		{"email", "mail me at Jane.Doe+x@Example.co.uk please", "mail me at <email> please"},
		{"url", "see https://shop.example.com/a?b=1 now", "see <url> now"},
		{"order id digits", "order 20240518001 is late", "order <id> is late"},
		{"order id code", "order #AB-12345 where", "order <id> where"},
		{"small number", "I paid $50 twice", "i paid <num> twice"},
		{"number glued to unit", "at 3pm", "at <num> pm"},
		{"decimal", "costs 12.5 dollars", "costs <num> <num> dollars"},
		{"contraction kept", "I can't log in", "i can't log in"},
		{"chinese kept together", "我的订单到哪了？", "我的订单到哪了"},
		{"chinese with id", "订单号１２３４５６７８９还没到", "订单号 <id> 还没到"},
		{"mixed scripts", "app闪退了", "app 闪退了"},
		{"full width digits small", "等了３天", "等了 <num> 天"},
		{"punctuation and spaces", "  hello ,,, world!!  ", "hello world"},
		{"hyphenated words split", "log-in e-mail", "log in e mail"},
		{"empty", "", ""},
		{"only punctuation", "?!…", ""},
		{"invalid utf8", "bad\xffbyte", "bad byte"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Normalize(tt.in); got != tt.want {
				t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestTokens(t *testing.T) {
	got := Tokens("退款 refund 2 次")
	want := []string{"退", "款", "refund", TokenNum, "次"}
	if !slices.Equal(got, want) {
		t.Errorf("Tokens = %q, want %q", got, want)
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"Where is my order 12345678?", "我的订单到哪了", "ＡＢＣ１２３", "a@b.c", "http://x.y/z",
		"can't", "'quoted'", "1.2.3.4", "--", "ß", "\xff", "ﬁ ligature", "İstanbul", "x'", "'", "a'b'c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := Normalize(s)
		if !utf8.ValidString(n) {
			t.Fatalf("Normalize(%q) = %q: invalid UTF-8", s, n)
		}
		if strings.HasPrefix(n, " ") || strings.HasSuffix(n, " ") || strings.Contains(n, "  ") {
			t.Fatalf("Normalize(%q) = %q: stray spaces", s, n)
		}
		if n2 := Normalize(s); n2 != n {
			t.Fatalf("Normalize(%q) not deterministic: %q then %q", s, n, n2)
		}
		for _, tok := range Tokens(s) {
			if tok == "" || strings.ContainsAny(tok, " \t\n") {
				t.Fatalf("Tokens(%q) has bad token %q", s, tok)
			}
			if strings.ToLower(tok) != tok && !strings.ContainsFunc(tok, func(r rune) bool { return r > 0x7f }) {
				t.Fatalf("Tokens(%q) has unfolded token %q", s, tok)
			}
		}
	})
}
