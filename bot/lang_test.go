package bot

import "testing"

func TestSmalltalk(t *testing.T) {
	tests := []struct {
		text, wantKey, wantRest string
	}{
		// A greeting or thanks in front of a question leaves the question.
		{"hi, where is my order?", "", "where is my order?"},
		{"Hey, can I return this?", "", "can I return this?"},
		{"你好，我想退货", "", "我想退货"},
		{"你好我想退货", "", "我想退货"},
		{"您好，请问怎么开发票", "", "请问怎么开发票"},
		{"在吗？运费多少", "", "运费多少"},
		{"thanks, and to Canada?", "", "and to Canada?"},
		{"hello team, I need help with my order", "", "I need help with my order"},
		{"where is my order, thanks!", "", "where is my order"},
		{"怎么退货谢谢", "", "怎么退货"},
		// Words that only start like small talk are questions.
		{"你们卖扫地机器人吗", "", "你们卖扫地机器人吗"},
		{"好评返现吗", "", "好评返现吗"},
		{"是不是包邮", "", "是不是包邮"},
		{"可以退货吗", "", "可以退货吗"},
		{"你好像没回答我的问题", "", "你好像没回答我的问题"},
		{"hit the button", "", "hit the button"},
		// Only small talk.
		{"Hello!", "greeting", ""},
		{"hi there", "greeting", ""},
		{"Hi!!!", "greeting", ""},
		{"在吗", "greeting", ""},
		{"hello, anyone there?", "greeting", ""},
		{"好的呢", "ack", ""},
		{"运费呢", "", ""},
		{"thanks a lot", "thanks", ""},
		{"Thanks for the help!", "thanks", ""},
		{"好的谢谢", "thanks", ""},
		{"谢谢你", "thanks", ""},
		{"ok", "ack", ""},
		{"好的", "ack", ""},
		{"嗯", "ack", ""},
		{"对", "ack", ""},
		{"是的", "ack", ""},
		{"great", "ack", ""},
		{"no problem", "ack", ""},
		{"😀", "ack", ""},
		{"👍", "ack", ""},
		{"?", "prompt", ""},
		{"that's all", "closing", ""},
		{"no", "closing", ""},
		{"no thanks", "closing", ""},
		{"没有了", "closing", ""},
		{"ok thanks bye", "bye", ""},
		{"are you a bot?", "robot", ""},
		{"hi, are you a bot?", "robot", ""},
		{"你是真人吗", "robot", ""},
	}
	for _, tt := range tests {
		got := smalltalk(tt.text)
		wantRest := tt.wantRest
		if tt.wantKey == "" && wantRest == "" {
			wantRest = tt.text
		}
		if tt.wantKey != "" {
			wantRest = ""
		}
		if got.key != tt.wantKey || got.rest != wantRest {
			t.Errorf("smalltalk(%q) = key %q rest %q; want key %q rest %q", tt.text, got.key, got.rest, tt.wantKey, wantRest)
		}
	}
}

func TestWantsHuman(t *testing.T) {
	tests := []struct {
		text string
		want bool
	}{
		{"转人工", true},
		{"人工客服", true},
		{"我要转人工", true},
		{"帮我接人工客服", true},
		{"我要找经理", true},
		{"有没有活人", true},
		{"有人工客服吗", true},
		{"agent", true},
		{"Human please!", true},
		{"I want to talk to a person", true},
		{"Can I talk to a person please", true},
		{"Can I speak with someone?", true},
		{"I want to talk to a real human being", true},
		{"I need a human", true},
		{"please connect me to customer service", true},
		// Questions about agents, and words that are not requests.
		{"人工客服什么时候在线？", false},
		{"周末有人工客服吗", false},
		{"When is a live agent available?", false},
		{"人工智能是什么", false},
		{"安装需要人工费吗", false},
		{"Is the photo representative of the actual color?", false},
		{"怎么联系客服？", false},
		{"客服电话是多少", false},
		{"你是真人吗", false},
		{"are you a real person?", false},
	}
	for _, tt := range tests {
		if p, got := wantsHuman(tt.text); got != tt.want {
			t.Errorf("wantsHuman(%q) = %v (%q), want %v", tt.text, got, p, tt.want)
		}
	}
}

func TestFrustrated(t *testing.T) {
	tests := []struct {
		text   string
		social bool
		want   string
	}{
		{"this is useless, I want my money back!!!", false, "useless"},
		{"WHERE IS MY PARCEL NOW", false, "capitals"},
		{"where is my parcel!!!", false, "!!!"},
		{"你们客服真没用", false, "没用"},
		{"Thanks!!!", true, ""},
		{"谢谢！！！", true, ""},
		{"优惠券没用上能退吗", false, ""},
		{"我的优惠券还没用…", false, ""},
		{"这个功能我没用过", false, ""},
		{"stupid question, but do you ship to Canada?", false, ""},
		{"this is stupid", false, "stupid"},
	}
	for _, tt := range tests {
		if p, _ := frustrated(tt.text, tt.social); p != tt.want {
			t.Errorf("frustrated(%q, %v) = %q, want %q", tt.text, tt.social, p, tt.want)
		}
	}
}

func TestCancels(t *testing.T) {
	tests := []struct {
		text     string
		cancels  bool
		wantRest string
	}{
		{"算了", true, ""},
		{"不查了。", true, ""},
		{"cancel", true, ""},
		{"Never mind!", true, ""},
		{"stop", true, ""},
		{"算了，我想取消订单", false, "我想取消订单"},
		{"never mind, how much is shipping?", false, "how much is shipping?"},
		{"cancel my order", false, ""},
		{"我想取消订单", false, ""},
		{"stop my subscription", false, ""},
		{"nevermindful", false, ""},
	}
	for _, tt := range tests {
		rest, _ := stopLead(tt.text)
		if got := cancels(tt.text); got != tt.cancels || rest != tt.wantRest {
			t.Errorf("cancels(%q) = %v, stopLead = %q; want %v, %q", tt.text, got, rest, tt.cancels, tt.wantRest)
		}
	}
}

func TestMessageLanguage(t *testing.T) {
	tests := []struct {
		text     string
		want     string
		strength int
	}{
		{"How much is shipping?", "en", langStrong},
		{"运费多少", "zh", langStrong},
		{"Can I pay with 支付宝?", "en", langStrong},
		{"Do you support 花呗?", "en", langStrong},
		{"能开 fapiao 吗", "zh", langStrong},
		{"怎么用coupon", "zh", langStrong},
		{"iPhone 15 能退吗", "zh", langStrong},
		{"AirPods Pro 2 退货", "en", langWeak},
		{"huabei 分期", "zh", langWeak},
		{"ok", "", langNone},
		{"hello", "", langNone},
		{"20240518001", "", langNone},
		{"abc123", "", langNone},
		{"😀", "", langNone},
		{"我的邮箱 jane@example.com", "zh", langStrong},
	}
	for _, tt := range tests {
		got, s := messageLanguage(tt.text)
		if got != tt.want || s != tt.strength {
			t.Errorf("messageLanguage(%q) = %q %d, want %q %d", tt.text, got, s, tt.want, tt.strength)
		}
	}
}

func TestPickOption(t *testing.T) {
	coupons := []Choice{{Label: "优惠券怎么用？", FAQID: "coupon-use"}, {Label: "怎么领优惠券？", FAQID: "coupon-get"}}
	en := []Choice{{Label: "How do I use a coupon?", FAQID: "coupon-use"}, {Label: "How can I get a coupon?", FAQID: "coupon-get"}}
	one := []Choice{{Label: "What are your opening hours?", FAQID: "opening-hours"}}
	tests := []struct {
		opts []Choice
		text string
		want string
	}{
		{coupons, "怎么领优惠券？", "coupon-get"},
		{coupons, "怎么领优惠券", "coupon-get"},
		{coupons, "2", "coupon-get"},
		{coupons, "1.", "coupon-use"},
		{coupons, "第二个", "coupon-get"},
		{coupons, "第一个", "coupon-use"},
		{coupons, "最后一个", "coupon-get"},
		{coupons, "怎么领", "coupon-get"},
		{en, "the second", "coupon-get"},
		{en, "The first one", "coupon-use"},
		{en, "second one please", "coupon-get"},
		{en, "how can i get a coupon", "coupon-get"},
		{en, "How can I get coupons?", "coupon-get"},
		{one, "yes", "opening-hours"},
		{one, "对", "opening-hours"},
		{coupons, "3", ""},
		{coupons, "优惠券", ""},
		{en, "coupon", ""},
		{coupons, "好", ""},
		{nil, "1", ""},
	}
	for _, tt := range tests {
		got, ok := pickOption(tt.opts, tt.text, smalltalk(tt.text))
		if ok && got.FAQID != tt.want || !ok && tt.want != "" {
			t.Errorf("pickOption(%v, %q) = %q %v, want %q", tt.opts, tt.text, got.FAQID, ok, tt.want)
		}
	}
}

func TestCovers(t *testing.T) {
	installments := "Orders over ¥500 can be paid in 3, 6 or 12 installments with Huabei (花呗) or a credit card.\n\n订单满 ¥500 可使用花呗或信用卡分 3、6、12 期付款。"
	returns := "You can return unused items within **30 days**.\n\n商品签收后 **30 天**内可无理由退货，我们会发送预付运单。"
	tests := []struct {
		answer, core string
		want         bool
	}{
		{installments, "信用卡", true},
		{installments, "with a credit card", true},
		{installments, "credit cards", true},
		{returns, "要多久", false},
		{returns, "运费", false},
		{returns, "to canada", false},
		{returns, "", true},
	}
	for _, tt := range tests {
		if got := covers(tt.answer, tt.core); got != tt.want {
			t.Errorf("covers(%.20q..., %q) = %v, want %v", tt.answer, tt.core, got, tt.want)
		}
	}
}
