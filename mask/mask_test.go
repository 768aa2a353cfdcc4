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
		{"order number long", "order 2024051800123 shipped?", nil},
		{"order number chinese", "订单号 2024051800123", nil},
		{"order number with no.", "Order No. 2024051800123", nil},
		{"order number with hash", "order #2024051800123", nil},
		{"ticket number", "ticket 0012345678", nil},
		{"invoice number zero-led", "发票号码：0755123456", nil},
		// Cards and mobiles are personal data even after an order word or a
		// generic "no."/"#": a Luhn-valid card number is never an order number.
		{"luhn-valid card after order word", "order #4111111111111111 status", []Kind{Card}},
		{"phone no. and card no.", "My phone no. is 13912345678 and card no. 4111111111111111", []Kind{Phone, Card}},
		{"phone no. colon", "Phone No.: 13912345678", []Kind{Phone}},
		{"hash mobile", "my #13912345678", []Kind{Phone}},
		{"ticket about mobile", "ticket about 13912345678", []Kind{Phone}},
		{"mobile after order number", "order 12345, phone 13912345678", []Kind{Phone}},
		{"landline after order number", "order 12345, landline 010-62345678", []Kind{Phone}},
		{"mobile after order word", "订单 13912345678 的收件人", []Kind{Phone}},
		{"glued to phone word", "phone13912345678", []Kind{Phone}},
		{"glued to tel", "Tel13912345678.", []Kind{Phone}},
		{"tel colon", "tel:13912345678", []Kind{Phone}},
		{"beijing landline", "landline 010-12345678", []Kind{Phone}},
		{"shenzhen landline spaced", "call 0755 1234 5678 today", []Kind{Phone}},
		{"landline bracketed area code", "电话 (010) 6234 5678", []Kind{Phone}},
		{"bracket then card", "(010) 4111111111111111", []Kind{Card}},
		{"landline no separators", "座机01062345678", []Kind{Phone}},
		{"german mobile", "DE mobile 0151 23456789", []Kind{Phone}},
		{"uk landline national", "020 7946 0958", []Kind{Phone}},
		{"french mobile", "06 12 34 56 78", []Kind{Phone}},
		{"international with 00", "0044 20 7946 0958", []Kind{Phone}},
		{"old resident id", "身份证 110105491231002", []Kind{IDNo}},
		{"old resident id bad date", "110105491331002", nil},
		{"id word, bad date", "身份证 110105194912310", []Kind{IDNo}},
		{"id word, bad checksum", "ID number: 110105194912310021", []Kind{IDNo}},
		{"id no.", "ID no. 11010519491231002X", []Kind{IDNo}},
		{"email letters before number", "a@b.co4111111111111111", []Kind{Email, Card}},
		{"order word in email", "x@shop.order 010-62345678", []Kind{Email, Phone}},
		{"tracking number", "运单 SF1234567890123 到哪了", nil},
		{"sku code", "SKU12345678901 out of stock", nil},
		{"bad id checksum", "11010519491231002Y and 110105194912310021", nil},
		{"id with impossible date", "110105194913310028", nil},
		{"short number", "room 12345, 2026-11-23", nil},
		{"money", "¥13800.00 refund", nil},
		{"eleven digits not a mobile", "12345678901", nil},
		{"date time", "2026-11-23 10:30", nil},
		{"european date time", "01-12-2026 10:30", nil},
		{"zero-led short", "room 0123 4567", nil},
		{"sku glued mobile-length", "SKU12345678901", nil},
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
		{"phone no. 13912345678, card no. 4111111111111111", "phone no. [PHONE], card no. [BANK_CARD]", "phone no. 139****5678, card no. 411111******1111"},
		{"tel 010-62345678", "tel [PHONE]", "tel 010-****5678"},
		{"tel (010) 6234 5678", "tel [PHONE]", "tel (010) **** 5678"},
		{"phone13912345678", "phone[PHONE]", "phone139****5678"},
		{"身份证110105491231002", "身份证[ID_NUMBER]", "身份证110105******002"},
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
	for _, s := range []string{"13800138000", "+86 138 0013 8000", "11010519491231002X", "4111-1111-1111-1111", "a@b.co", "订单2024112312345678", "phone no. 13912345678", "order #4111111111111111", "(010) 6234 5678", "0151 23456789", "110105491231002", "x@shop.order 010-62345678", "a@b.co4111111111111111", "+", "1 2 3", "X", "@@", "\xff13800138000"} {
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
