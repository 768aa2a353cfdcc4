package bot

import (
	"regexp"
	"strings"
	"unicode"
)

// Localise keeps the paragraphs of a bilingual answer that are in lang, and
// those in no language (a link, a phone number, a short label with a URL),
// which belong to both. An answer without paragraphs in both languages is
// returned whole.
func Localise(answer, lang string) string {
	paras := strings.Split(strings.ReplaceAll(answer, "\r\n", "\n"), "\n\n")
	var keep []string
	mine, other := false, false
	for _, p := range paras {
		if strings.TrimSpace(p) == "" {
			continue
		}
		switch paragraphLanguage(p) {
		case "":
			keep = append(keep, p)
		case lang:
			keep = append(keep, p)
			mine = true
		default:
			other = true
		}
	}
	if !mine || !other {
		return strings.TrimSpace(answer)
	}
	return strings.TrimSpace(strings.Join(keep, "\n\n"))
}

// Language guesses the reply language of a visitor's message: zh when the
// text has Han characters (a Chinese message with an English word, "能开
// fapiao 吗", is Chinese).
func Language(text string) string {
	for _, r := range text {
		if unicode.Is(unicode.Han, r) {
			return "zh"
		}
	}
	return "en"
}

// hanWeight is how many Latin letters say as much as one Han character: the
// starter set's English paragraphs have 3.0 letters for each Han character
// of their Chinese translations.
const hanWeight = 3

// labelLetters is the most letters (a Han character counting hanWeight) that
// a paragraph with a link may have and still be a label ("More:", "详情：").
const labelLetters = 16

// linkRE finds URLs and e-mail addresses, which are in no language.
var linkRE = regexp.MustCompile(`(?i)\b(?:https?://|www\.)[^\s)\]>]+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+`)

// paragraphLanguage is the main script of an answer's paragraph: zh when Han
// characters carry at least as much of its text as other letters (Han
// characters are at least a quarter of its letters), else en; "" when it has
// no language content: only links, numbers and punctuation, or a short label
// and a link. "Yes: choose Alipay (支付宝) at checkout." is English, "支持
// Visa、Mastercard 和银联卡。" Chinese.
func paragraphLanguage(p string) string {
	text := linkRE.ReplaceAllString(p, " ")
	han, letters := 0, 0
	for _, r := range text {
		switch {
		case unicode.Is(unicode.Han, r):
			han++
		case unicode.IsLetter(r):
			letters++
		}
	}
	weight := hanWeight*han + letters
	switch {
	case weight == 0:
		return ""
	case weight <= labelLetters && linkRE.MatchString(p):
		return ""
	case hanWeight*han >= letters:
		return "zh"
	}
	return "en"
}

// tellsLanguage reports whether text shows its language: Han characters,
// or a word of two or more letters only. A bare order number or a code such
// as "abc123" does not.
func tellsLanguage(text string) bool {
	for _, w := range strings.FieldsFunc(text, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsPunct(r) }) {
		letters, other := 0, 0
		for _, r := range w {
			switch {
			case unicode.Is(unicode.Han, r):
				return true
			case unicode.IsLetter(r):
				letters++
			default:
				other++
			}
		}
		if letters >= 2 && other == 0 {
			return true
		}
	}
	return false
}

// Localised is a text in Chinese and English, as written in YAML files.
type Localised struct {
	EN string `yaml:"en" json:"en"`
	ZH string `yaml:"zh" json:"zh"`
}

// In returns the text in lang, or the other language when that one is empty.
func (l Localised) In(lang string) string {
	if lang == "zh" && l.ZH != "" || l.EN == "" {
		return l.ZH
	}
	return l.EN
}

var humanPhrases = []string{
	"转人工", "人工客服", "人工服务", "找客服", "真人", "人工", "客服人员", "找人工", "接人工",
	"talk to a person", "talk to a human", "speak to a human", "speak to a person", "real person",
	"human agent", "live agent", "talk to customer service", "speak to customer service", "talk to someone",
	"agent please", "an agent", "representative", "operator", "human please",
}

// wantsHuman reports whether the visitor asks for a person, and the phrase.
func wantsHuman(text string) (string, bool) {
	t := strings.ToLower(text)
	for _, p := range humanPhrases {
		if strings.Contains(t, p) {
			return p, true
		}
	}
	t = strings.Trim(t, " !！.。?？~")
	if t == "agent" || t == "human" {
		return t, true
	}
	return "", false
}

var frustrationPhrases = []string{
	"垃圾", "没用", "废物", "气死", "太差", "投诉", "什么破", "坑人", "骗子", "无语", "答非所问", "听不懂人话", "烦死",
	"useless", "stupid", "ridiculous", "terrible", "worst", "complaint", "complain", "wtf", "scam", "angry",
	"you don't understand", "you dont understand", "not helpful", "waste of time",
}

// frustrated returns the frustration signal in text, if any: an angry or
// complaining phrase, three exclamation marks, or shouting in capitals.
func frustrated(text string) (string, bool) {
	t := strings.ToLower(text)
	for _, p := range frustrationPhrases {
		if strings.Contains(t, p) {
			return p, true
		}
	}
	if strings.Count(text, "!")+strings.Count(text, "！") >= 3 {
		return "!!!", true
	}
	upper, words := 0, 0
	for _, w := range strings.Fields(text) {
		letters, caps := 0, 0
		for _, r := range w {
			if unicode.IsLetter(r) && r < unicode.MaxASCII {
				letters++
				if unicode.IsUpper(r) {
					caps++
				}
			}
		}
		if letters >= 3 {
			words++
			if caps == letters {
				upper++
			}
		}
	}
	if words >= 3 && upper == words {
		return "capitals", true
	}
	return "", false
}

var cancelPhrases = []string{"cancel", "never mind", "nevermind", "forget it", "stop", "取消", "算了", "不用了", "不查了"}

// cancels reports whether a short message abandons the flow in progress.
func cancels(text string) bool {
	t := strings.ToLower(strings.Trim(text, " !！.。?？~,，"))
	if len([]rune(t)) > 16 {
		return false
	}
	for _, p := range cancelPhrases {
		if t == p || strings.HasPrefix(t, p+" ") || Language(p) == "zh" && strings.Contains(t, p) {
			return true
		}
	}
	return false
}

var (
	followPrefixes = []string{"and ", "what about ", "how about ", "also ", "same for ", "and for ", "but for ", "那么", "那", "还有", "另外", "如果是"}
	followSuffixes = []string{"呢", "呢？", "呢?"}
)

// followUp reports whether text looks elliptical — it only makes sense with
// the previous question ("and for credit cards?", "那信用卡呢") — and returns
// the text without the follow-up markers.
func followUp(text string) (string, bool) {
	t := strings.TrimSpace(strings.ToLower(text))
	marked := false
	for _, p := range followPrefixes {
		if strings.HasPrefix(t, p) {
			t, marked = strings.TrimSpace(t[len(p):]), true
			break
		}
	}
	for _, s := range followSuffixes {
		if strings.HasSuffix(t, s) {
			t, marked = strings.TrimSpace(strings.TrimSuffix(t, s)), true
			break
		}
	}
	t = strings.Trim(t, " ?？!！.。,，")
	if t == "" {
		return "", false
	}
	short := len(strings.Fields(t)) <= 4
	if Language(t) == "zh" {
		short = len([]rune(t)) <= 6
	}
	return t, marked && short
}

var smalltalkPhrases = []struct {
	key     string
	phrases []string
}{
	{"robot", []string{"are you a robot", "are you a bot", "are you human", "are you real", "你是机器人", "你是真人吗", "机器人吗"}},
	{"thanks", []string{"thank", "thx", "谢谢", "多谢", "感谢"}},
	{"bye", []string{"bye", "goodbye", "see you", "再见", "拜拜"}},
	{"greeting", []string{"hello", "hi", "hey", "good morning", "good afternoon", "good evening", "你好", "您好", "嗨", "在吗", "在不在"}},
}

// smalltalk recognises short social messages; long messages are questions.
func smalltalk(text string) (string, bool) {
	t := strings.ToLower(strings.Trim(text, " !！.。?？~,，"))
	if len([]rune(t)) > 24 {
		return "", false
	}
	words := strings.FieldsFunc(t, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	for _, s := range smalltalkPhrases {
		for _, p := range s.phrases {
			if Language(p) == "zh" {
				if strings.Contains(t, p) {
					return s.key, true
				}
				continue
			}
			if strings.Contains(p, " ") {
				if strings.Contains(t, p) {
					return s.key, true
				}
				continue
			}
			for _, w := range words {
				if w == p || (p == "thank" && strings.HasPrefix(w, p)) {
					return s.key, true
				}
			}
		}
	}
	return "", false
}

var phrases = map[string][2]string{ // en, zh
	"greeting":         {"Hello! I'm the Acme Shop assistant. Ask me about orders, shipping, returns or payment.", "您好！我是 Acme 商城的智能助手，可以回答订单、配送、退换货和支付等问题。"},
	"thanks":           {"You're welcome! Anything else I can help with?", "不客气！还有什么可以帮您？"},
	"bye":              {"Goodbye, and thanks for visiting Acme Shop!", "再见，感谢您光临 Acme 商城！"},
	"robot":            {"I'm a virtual assistant. Type \"human\" at any time to reach a person.", "我是智能助手。随时输入“转人工”即可联系人工客服。"},
	"fallback":         {"Sorry, I'm not sure I understood. Could you rephrase, or ask for a human?", "抱歉，我没有完全理解。您可以换个说法，或者转人工客服。"},
	"handoff":          {"I'll connect you with a member of our team.", "好的，正在为您转接人工客服。"},
	"handoff_low":      {"I don't have a good answer to that, so I'll connect you with a member of our team.", "这个问题我暂时无法准确回答，正在为您转接人工客服。"},
	"handoff_sorry":    {"I'm sorry I couldn't help. I'll connect you with a member of our team.", "抱歉没能帮到您，正在为您转接人工客服。"},
	"handoff_upset":    {"I'm sorry for the trouble. I'll connect you with a member of our team right away.", "非常抱歉给您带来不便，马上为您转接人工客服。"},
	"empty":            {"Please type your question.", "请输入您的问题。"},
	"human_button":     {"Talk to a person", "转人工"},
	"clarify":          {"Which of these do you mean?", "请问您想了解的是哪一个？"},
	"feedback_thanks":  {"Thanks for your feedback!", "感谢您的反馈！"},
	"feedback_sorry":   {"Sorry that didn't help. Could you tell me more, or rephrase your question?", "抱歉没能帮到您。能再详细描述一下，或者换个说法吗？"},
	"flow_cancelled":   {"OK, I've stopped. What else can I help with?", "好的，已取消。还有什么可以帮您？"},
	"llm_unavailable":  {"", ""},
	"generated_footer": {"Sources", "来源"},
}

func phrase(lang, key string) string {
	p := phrases[key]
	if lang == "zh" {
		return p[1]
	}
	return p[0]
}
