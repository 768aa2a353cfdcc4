package mask

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestFind(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Kind
	}{
		{"chinese mobile", "我的手机是13800138000，请回电", []Kind{Phone}},
		{"mobile with spaces", "call 138 0013 8000 please", []Kind{Phone}},
		{"mobile with +86", "+86 138-0013-8000", []Kind{Phone}},
		{"international", "reach me at +44 20 7946 0958", []Kind{Phone}},
		{"resident id", "身份证号 11010519491231002X", []Kind{IDNo}},
		{"resident id lower x", "id 11010519491231002x ok", []Kind{IDNo}},
		{"visa card", "card 4111 1111 1111 1111 exp 12/29", []Kind{Card}},
		{"unionpay card", "银行卡6222020200112233445", nil}, // fails Luhn: not a card
		{"unionpay card valid", "银行卡 6212261202007223408 谢谢", []Kind{Card}},
		{"email", "write to li.lei+shop@example.com.cn today", []Kind{Email}},
		{"several", "li@example.com 13912345678", []Kind{Email, Phone}},
		// False positives that must not happen.
		{"order number", "订单号 2024112312345678 还没发货", nil},
		{"order number luhn-valid after word", "order #4111111111111111 status", nil},
		{"tracking number", "运单 SF1234567890123 到哪了", nil},
		{"sku code", "SKU12345678901 out of stock", nil},
		{"bad id checksum", "11010519491231002Y and 110105194912310021", nil},
		{"id with impossible date", "110105194913310028", nil},
		{"short number", "room 12345, 2026-11-23", nil},
		{"money", "¥13800.00 refund", nil},
		{"eleven digits not a mobile", "12345678901", nil},
		{"date time", "2026-11-23 10:30", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []Kind
			for _, m := range Find(tt.in) {
				got = append(got, m.Kind)
			}
			if strings.Join(kinds(got), ",") != strings.Join(kinds(tt.want), ",") {
				t.Errorf("Find(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func kinds(ks []Kind) []string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = string(k)
	}
	return out
}

func TestRedactAndPartial(t *testing.T) {
	tests := []struct {
		in, redacted, partial string
	}{
		{"手机13800138000", "手机[PHONE]", "手机138****8000"},
		{"card 4111 1111 1111 1111.", "card [BANK_CARD].", "card 4111 11** **** 1111."},
		{"ID 11010519491231002X", "ID [ID_NUMBER]", "ID 110105********002X"},
		{"mail li.lei@example.com", "mail [EMAIL]", "mail l***@example.com"},
		{"order 2024112312345678", "order 2024112312345678", "order 2024112312345678"},
		{"nothing here", "nothing here", "nothing here"},
	}
	for _, tt := range tests {
		if got := Redact(tt.in); got != tt.redacted {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.redacted)
		}
		if got := Partial(tt.in); got != tt.partial {
			t.Errorf("Partial(%q) = %q, want %q", tt.in, got, tt.partial)
		}
	}
}

func TestValidators(t *testing.T) {
	if !luhn("4111111111111111") || luhn("4111111111111112") {
		t.Error("luhn")
	}
	if !validResidentID("11010519491231002X") || validResidentID("110105194912310020") {
		t.Error("resident id checksum")
	}
}

// FuzzRedact: masking never panics, keeps text valid UTF-8, and leaves no
// detectable personal data behind.
func FuzzRedact(f *testing.F) {
	for _, s := range []string{"13800138000", "+86 138 0013 8000", "11010519491231002X", "4111-1111-1111-1111", "a@b.co", "订单2024112312345678", "+", "1 2 3", "X", "@@", "\xff13800138000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := Redact(s)
		if utf8.ValidString(s) && !utf8.ValidString(r) {
			t.Fatalf("Redact(%q) = %q is not valid UTF-8", s, r)
		}
		if again := Find(r); len(again) != 0 {
			t.Fatalf("Redact(%q) = %q still contains %v", s, r, again)
		}
		_ = Partial(s)
	})
}
