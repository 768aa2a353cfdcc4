package bot

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
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

// Language guesses the reply language of a visitor's message: zh or en,
// by the share of each script as in paragraphLanguage (a Han character
// counts as hanWeight letters), after grammar words of one language: "能开
// fapiao 吗" is Chinese, "Can I pay with 支付宝?" English. A message without
// language content (an order number, "ok", an emoji) is English here; Turn
// keeps the conversation's language for those.
func Language(text string) string {
	if l, _ := messageLanguage(text); l != "" {
		return l
	}
	return "en"
}

// How surely a message shows its language (see messageLanguage).
const (
	langNone   = iota // no language content: numbers, emoji, "ok"
	langWeak          // both scripts and no grammar word: the conversation's language wins
	langStrong        // one script, or grammar words of one language
)

// neutralWords are Latin words people type in any language ("ok" in a
// Chinese conversation); they do not show a language.
var neutralWords = map[string]bool{
	"ok": true, "okay": true, "okk": true, "kk": true, "hi": true, "hey": true, "hello": true, "bye": true,
	"byebye": true, "thx": true, "lol": true, "haha": true, "hh": true, "hhh": true, "hmm": true, "hm": true,
	"emm": true, "em": true, "oh": true, "ah": true,
}

// zhGrammar are Chinese particles, pronouns and question words: a message
// using them is Chinese whatever names it contains.
const zhGrammar = "吗呢吧啊呀的了么我你您们是在有没不能可要会想怎什哪谁这那和请给把被就都也还很太"

// enGrammar are English function words: a message using them is English
// whatever names it contains ("Do you support 花呗?").
var enGrammar = map[string]bool{
	"i": true, "you": true, "we": true, "my": true, "your": true, "me": true, "it": true, "is": true, "are": true,
	"am": true, "was": true, "the": true, "a": true, "an": true, "can": true, "could": true, "do": true, "does": true,
	"did": true, "how": true, "what": true, "where": true, "when": true, "why": true, "which": true, "with": true,
	"to": true, "for": true, "of": true, "in": true, "on": true, "this": true, "that": true, "please": true,
	"have": true, "has": true, "will": true, "would": true, "there": true, "not": true, "and": true, "or": true,
}

// messageLanguage is the language of a visitor's message and how surely it
// shows: only Han characters or only Latin words is sure; a mix is decided
// by grammar words of one language (sure), else by the share of each script
// (weak: the conversation's language wins). Links, numbers, codes such as
// "abc123" and neutralWords are no language ("", langNone).
func messageLanguage(text string) (string, int) {
	if strings.Contains(text, "@") || strings.Contains(text, "://") || strings.Contains(text, "www.") {
		text = linkRE.ReplaceAllString(text, " ")
	}
	han, letters := 0, 0
	zhCue, enCue := false, false
	for _, w := range strings.FieldsFunc(text, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) }) {
		wh, n, other := 0, 0, 0
		for _, r := range w {
			switch {
			case unicode.Is(unicode.Han, r):
				wh++
				if strings.ContainsRune(zhGrammar, r) {
					zhCue = true
				}
			case unicode.IsLetter(r):
				n++
			default:
				other++
			}
		}
		han += wh
		switch {
		case wh > 0:
			if n >= 2 {
				letters += n // "怎么用coupon"
			}
			continue
		case other > 0 || n < 2 && !strings.EqualFold(w, "i"):
			continue // a code like abc123, a number, a single letter
		}
		lw := strings.ToLower(w)
		if neutralWords[lw] {
			continue
		}
		letters += n
		if enGrammar[lw] {
			enCue = true
		}
	}
	switch {
	case han == 0 && letters == 0:
		return "", langNone
	case han == 0:
		return "en", langStrong
	case letters == 0:
		return "zh", langStrong
	case zhCue && !enCue:
		return "zh", langStrong
	case enCue && !zhCue:
		return "en", langStrong
	case hanWeight*han >= letters:
		return "zh", langWeak
	}
	return "en", langWeak
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

var (
	// humanRequestZH: a verb of asking or transferring, then a person:
	// 转人工, 我要找经理, 帮我接人工客服; or asking whether there is one:
	// 有没有活人, 有人工吗.
	humanRequestZH = regexp.MustCompile(`(?:转|转接|接|找|要|叫|换|来)(?:一?个|一下|下)?(?:人工|真人|活人|经理|主管|客服人员|客服|工作人员|专员)|有没有(?:活人|真人|人工|人工客服|客服)|有(?:活人|真人|人工客服|人工)吗`)
	// humanRequestEN: talking to someone, or asking to be put through.
	humanRequestEN = regexp.MustCompile(`\b(?:talk|speak|chat)\s+(?:to|with)\s+(?:someone|somebody|anyone|(?:a|an|your|the)\s+(?:real\s+|live\s+|actual\s+)?(?:person|human(?:\s+being)?|agent|rep|representative|manager|supervisor|operator|employee|staff|customer\s+service|support)|(?:real\s+)?(?:people|humans?|persons?)|customer\s+service|support|(?:a\s+)?manager)\b` +
		`|\b(?:connect|transfer|put)\s+me\s+(?:to|with|through)\b` +
		`|\b(?:i\s+(?:want|need|would\s+like|'d\s+like)|give\s+me|get\s+me|can\s+i\s+(?:have|get))\s+(?:a\s+|an\s+)?(?:real\s+|live\s+|actual\s+)?(?:human|person|agent|representative|operator|manager)\b` +
		`|\b(?:human|agent|representative|person|operator)\s+please\b`)
	// humanAlone are whole messages asking for a person (punctuation and
	// "please" aside).
	humanAlone = map[string]bool{
		"agent": true, "human": true, "person": true, "representative": true, "operator": true, "real person": true,
		"live agent": true, "human agent": true, "customer service": true, "manager": true,
		"人工": true, "人工客服": true, "人工服务": true, "转人工": true, "真人": true, "真人客服": true, "客服": true,
		"活人": true, "经理": true, "人工客服呢": true, "人工呢": true,
	}
	// agentAvailability words make a mention of agents a question about
	// them (人工客服什么时候在线？, When is a live agent available?), which the
	// FAQ answers.
	agentAvailability = regexp.MustCompile(`(?i)\b(?:when|what\s+time|hours|available|availability|online|weekends?)\b|什么时候|几点|在线|上班|下班|营业|周末|节假日`)
)

// notPersonAfter continue 人工 or 客服 into something that is not a person:
// 人工费 (labour cost), 人工智能, 客服电话.
var notPersonAfter = []string{"费", "智能", "成本", "操作", "审核", "合成", "电话", "热线", "邮箱"}

// wantsHuman reports whether the visitor asks for a person, and the phrase:
// a request form (转人工, 找经理, talk to someone, a real human being), not
// a word: 人工智能, 人工费 and "is the photo representative" are no
// requests, and a question about agents (人工客服什么时候在线？) goes to the FAQ.
func wantsHuman(text string) (string, bool) {
	t := strings.ToLower(strings.ReplaceAll(text, "’", "'"))
	bare := strings.TrimFunc(t, isSep)
	for _, p := range []string{"please", "pls", "请", "吧", "谢谢"} {
		bare = strings.TrimFunc(strings.TrimSuffix(strings.TrimPrefix(bare, p), p), isSep)
	}
	if humanAlone[bare] {
		return bare, true
	}
	m := ""
	if containsAny(t, personWordsZH) {
		for _, loc := range humanRequestZH.FindAllStringIndex(t, -1) {
			if !hasAnyPrefix(t[loc[1]:], notPersonAfter) {
				m = t[loc[0]:loc[1]]
				break
			}
		}
	}
	if m == "" && containsAny(t, requestWordsEN) {
		m = humanRequestEN.FindString(t)
	}
	if m == "" || agentAvailability.MatchString(t) {
		return "", false
	}
	return m, true
}

// personWordsZH and requestWordsEN are in every match of humanRequestZH and
// humanRequestEN: most messages skip the regular expressions.
var (
	personWordsZH  = []string{"人工", "真人", "活人", "经理", "主管", "客服", "工作人员", "专员"}
	requestWordsEN = []string{"talk", "speak", "chat", "connect", "transfer", "put me", "want", "need", "like", "give me", "get me", "can i", "please"}
)

func containsAny(s string, subs []string) bool {
	for _, p := range subs {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}

var frustrationPhrases = []string{
	"垃圾", "没用", "废物", "气死", "太差", "投诉", "什么破", "坑人", "骗子", "无语", "答非所问", "听不懂人话", "烦死",
	"useless", "stupid", "ridiculous", "terrible", "worst", "complaint", "complain", "wtf", "scam", "angry",
	"you don't understand", "you dont understand", "not helpful", "waste of time",
}

// notFrustration are phrases containing a frustration phrase that say
// something else: 优惠券还没用 (not used yet), "stupid question, but ...".
var notFrustration = []string{
	"没用过", "没用上", "还没用", "没用到", "没有用过", "没使用", "stupid question", "dumb question", "silly question",
}

// frustrated returns the frustration signal in text, if any: an angry or
// complaining phrase, three exclamation marks (not in small talk: "Thanks!!!"
// is enthusiasm), or shouting in capitals.
func frustrated(text string, social bool) (string, bool) {
	t := strings.ToLower(text)
	for _, x := range notFrustration {
		t = strings.ReplaceAll(t, x, " ")
	}
	for _, p := range frustrationPhrases {
		if strings.Contains(t, p) {
			return p, true
		}
	}
	if !social && strings.Count(text, "!")+strings.Count(text, "！") >= 3 {
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

// stopPhrases leave a flow when they are the whole message: "cancel my
// order" and 我想取消订单 are questions, not a wish to stop the lookup.
var stopPhrases = map[string]bool{
	"cancel": true, "cancel it": true, "cancel that": true, "cancel this": true, "stop": true, "stop it": true,
	"never mind": true, "nevermind": true, "forget it": true, "forget about it": true, "no need": true,
	"取消": true, "算了": true, "算了吧": true, "不查了": true, "不用查了": true, "别查了": true, "不用了": true,
	"算了不查了": true, "那算了": true, "好吧算了": true,
}

// stopLeads start a message that stops the flow and asks something else:
// "算了，我想取消订单", "never mind, how much is shipping?".
var stopLeads = []string{"算了", "不查了", "不用查了", "never mind", "nevermind", "forget it"}

// cancels reports whether a message only abandons the flow in progress.
func cancels(text string) bool {
	t := strings.ToLower(strings.TrimFunc(text, isSep))
	t = strings.TrimFunc(strings.TrimSuffix(t, "please"), isSep)
	return stopPhrases[t]
}

// stopLead returns what follows a leading stop phrase ("算了，我想取消订单"
// -> "我想取消订单"), when something does.
func stopLead(text string) (string, bool) {
	t := strings.TrimSpace(text)
	for _, p := range stopLeads {
		n, ok := prefixFold(t, p)
		if !ok {
			continue
		}
		rest := t[n:]
		r, _ := utf8.DecodeRuneInString(rest)
		if rest == "" || !isSep(r) && Language(p) == "en" {
			continue
		}
		if strings.TrimFunc(rest, isSep) != "" {
			return strings.TrimLeftFunc(rest, isSep), true
		}
	}
	return "", false
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

// Small talk kinds, most telling first: a message with several ("ok thanks,
// bye") is answered for the first kind it has.
var smalltalkPhrases = []struct {
	key string
	// lead phrases may stand in front of (or after) a question, which is
	// then handled without them: "hi, where is my order?".
	lead    bool
	phrases []string
}{
	{"robot", false, []string{"are you a robot", "are you a bot", "are you human", "are you a human", "are you real",
		"are you a real person", "is this a bot", "is this a robot", "am i talking to a bot", "am i talking to a robot",
		"你是机器人吗", "你是机器人", "你是真人吗", "你是人吗", "是机器人吗", "是真人吗", "机器人吗", "是人工吗", "你是ai吗"}},
	{"bye", false, []string{"goodbye", "good bye", "bye bye", "byebye", "bye", "see you", "see ya", "再见", "拜拜", "回见"}},
	{"closing", false, []string{"that's all", "thats all", "that is all", "that's it", "nothing else", "no thanks",
		"no thank you", "nope", "no", "没有了", "没了", "没有", "没事了", "没事", "就这些", "就这样", "不用了谢谢"}},
	{"thanks", true, []string{"thank you", "thankyou", "thank u", "thanks", "thanx", "thnx", "thx", "ty", "tks",
		"cheers", "谢谢", "多谢", "感谢", "谢了", "3q"}},
	{"greeting", true, []string{"hello", "hiya", "hi", "hey", "good morning", "good afternoon", "good evening",
		"你好", "您好", "嗨", "哈喽", "哈啰", "在吗", "在么", "在嘛", "在不在", "有人吗", "早上好", "下午好", "晚上好"}},
	{"ack", true, []string{"ok", "okay", "okk", "kk", "k", "got it", "great", "cool", "nice", "fine", "alright",
		"all right", "sure", "yes", "yeah", "yep", "yup", "good", "perfect", "understood", "i see", "no problem",
		"hmm", "hm", "好的", "好滴", "好吧", "好", "嗯嗯", "嗯", "哦哦", "哦", "噢", "喔", "对的", "对", "是的", "是",
		"行", "可以", "明白了", "明白", "知道了", "收到", "了解"}},
}

// smalltalkFillers may surround small-talk phrases in a message that is
// only small talk: "thanks a lot", "hi there", "谢谢你".
var smalltalkFillers = []string{
	"there", "you", "u", "so", "much", "very", "a", "lot", "again", "guys", "all", "everyone", "team", "then",
	"and", "oh", "ah", "well", "for", "the", "your", "help", "info", "bot", "sir", "madam", "anyone", "anybody", "here",
	"你们", "你", "您", "亲", "客服", "啊", "呀", "哈哈", "哈", "啦", "吧", "了", "哦", "喔", "嘛", "呐", "呢", "非常", "太",
}

// leadFillers may follow a lead phrase in front of a question: "hi there, ...".
var leadFillers = []string{"there", "you", "so much", "very much", "a lot", "team", "everyone", "guys", "你们", "您", "你", "亲", "客服"}

// zhLeads are Chinese lead phrases clear enough to strip without a
// punctuation mark after them (你好我想退货); others (好, 是, 可以) need one,
// as they also start questions (好评返现吗, 是不是包邮).
var zhLeads = map[string]bool{"你好": true, "您好": true, "谢谢": true, "多谢": true, "在吗": true, "在不在": true, "哈喽": true, "哈啰": true, "嗨": true, "好的": true}

// talk is what small talk a message has.
type talk struct {
	// key is the small-talk kind when the message is nothing else.
	key string
	// rest is the message without leading and trailing greetings, thanks and
	// acknowledgements; it equals the message when there were none.
	rest string
}

// smalltalk recognises social messages: greetings, thanks, acknowledgements
// ("ok", 好的, 👍), closings ("that's all", 没有了), goodbyes and "are you a
// robot?". A message is small talk only when nothing is left without those
// phrases; otherwise rest is the message without a greeting or thanks around
// it, to be answered ("hi, where is my order?" -> "where is my order?").
func smalltalk(text string) talk {
	t := strings.TrimFunc(text, isSep)
	if t == "" {
		if strings.ContainsAny(text, "?？") {
			return talk{key: "prompt"}
		}
		if strings.IndexFunc(text, func(r rune) bool { return unicode.IsSymbol(r) }) >= 0 {
			return talk{key: "ack"} // 👍, 😀
		}
		return talk{rest: text}
	}
	if key := onlySmalltalk(t); key != "" {
		return talk{key: key}
	}
	// What is left once greetings, thanks and acknowledgements around it
	// are taken away; the question keeps its own punctuation.
	rest := strings.TrimLeftFunc(strings.TrimSpace(text), isSep)
	for changed := true; changed; {
		changed = false
		if n := leadPhrase(rest, true); n > 0 {
			rest, changed = strings.TrimLeftFunc(rest[n:], isSep), true
		}
		end := strings.TrimRightFunc(rest, isSep)
		if n := leadPhrase(end, false); n > 0 {
			rest, changed = strings.TrimRightFunc(end[:len(end)-n], isSep), true
		}
	}
	if strings.TrimFunc(rest, isSep) == "" {
		return talk{rest: text}
	}
	return talk{rest: rest}
}

// onlySmalltalk returns the small-talk kind of a message made of small-talk
// phrases and fillers only, else "".
func onlySmalltalk(t string) string {
	if utf8.RuneCountInString(t) > 60 {
		return ""
	}
	best := len(smalltalkPhrases)
	for rest := t; rest != ""; rest = strings.TrimLeftFunc(rest, isSep) {
		n, kind := 0, len(smalltalkPhrases)
		for _, p := range phrasesByFirst[firstLower(rest)] {
			if m, ok := wordPrefix(rest, p.text); ok && m > n {
				n, kind = m, p.kind
			}
		}
		best = min(best, kind)
		if n == 0 {
			for _, f := range fillersByFirst[firstLower(rest)] {
				if m, ok := wordPrefix(rest, f); ok && m > n {
					n = m
				}
			}
		}
		if n == 0 {
			return ""
		}
		rest = rest[n:]
	}
	if best == len(smalltalkPhrases) {
		return ""
	}
	return smalltalkPhrases[best].key
}

// leadPhrase returns the length of a lead phrase (greeting, thanks,
// acknowledgement) and the fillers after it at the start of t (front) or at
// its end, 0 when there is none.
func leadPhrase(t string, front bool) int {
	best := 0
	refs := phrasesByFirst[firstLower(t)]
	if !front {
		r, _ := utf8.DecodeLastRuneInString(t)
		refs = phrasesByLast[unicode.ToLower(r)]
	}
	for _, ref := range refs {
		p := ref.text
		if !smalltalkPhrases[ref.kind].lead {
			continue
		}
		var n int
		var ok bool
		if front {
			n, ok = wordPrefix(t, p)
		} else {
			n, ok = wordSuffix(t, p)
		}
		if !ok || n <= best {
			continue
		}
		if Language(p) == "zh" && !zhLeads[p] {
			// 好, 是, 可以 ... need a separator: 好评返现吗 is a question.
			var r rune
			if front {
				r, _ = utf8.DecodeRuneInString(t[n:])
			} else {
				r, _ = utf8.DecodeLastRuneInString(t[:len(t)-n])
			}
			if r != utf8.RuneError && !isSep(r) {
				continue
			}
		}
		if front && p == "你好" && strings.HasPrefix(t[n:], "像") {
			continue // 你好像没回答
		}
		best = n
	}
	if best == 0 || !front {
		return best
	}
	for {
		rest := strings.TrimLeftFunc(t[best:], isSep)
		skipped := len(t) - best - len(rest)
		n := 0
		for _, f := range leadFillers {
			if m, ok := wordPrefix(rest, f); ok && m > n {
				n = m
			}
		}
		if n == 0 {
			return best
		}
		best += skipped + n
	}
}

// phraseRef is a small-talk phrase and its kind (index in smalltalkPhrases).
type phraseRef struct {
	text string
	kind int
}

// phrasesByFirst and phrasesByLast index the small-talk phrases by their
// first and last rune, fillersByFirst the fillers: a message is compared
// with the few that can match.
var (
	phrasesByFirst, phrasesByLast = indexPhrases()
	fillersByFirst                = indexWords(smalltalkFillers)
)

func indexPhrases() (first, last map[rune][]phraseRef) {
	first, last = map[rune][]phraseRef{}, map[rune][]phraseRef{}
	for i, s := range smalltalkPhrases {
		for _, p := range s.phrases {
			r, _ := utf8.DecodeLastRuneInString(p)
			first[firstLower(p)] = append(first[firstLower(p)], phraseRef{p, i})
			last[r] = append(last[r], phraseRef{p, i})
		}
	}
	return first, last
}

func indexWords(ws []string) map[rune][]string {
	m := map[rune][]string{}
	for _, w := range ws {
		m[firstLower(w)] = append(m[firstLower(w)], w)
	}
	return m
}

// firstLower is the first rune of s, lower-cased.
func firstLower(s string) rune {
	r, _ := utf8.DecodeRuneInString(s)
	return unicode.ToLower(r)
}

// isSep reports whether r separates words and carries no meaning here:
// spaces, punctuation, symbols and emoji.
func isSep(r rune) bool {
	return unicode.IsSpace(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Cf, r)
}

// isWordChar reports whether r continues a Latin word or number.
func isWordChar(r rune) bool {
	return r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)) || r == '\''
}

// prefixFold returns the length in t of p at its start, ignoring case (p is
// lower-case).
func prefixFold(t, p string) (int, bool) {
	n := 0
	for i := 0; i < len(p); {
		if n >= len(t) {
			return 0, false
		}
		if c := p[i]; c < utf8.RuneSelf {
			b := t[n]
			if 'A' <= b && b <= 'Z' {
				b += 'a' - 'A'
			}
			if b != c {
				return 0, false
			}
			i, n = i+1, n+1
			continue
		}
		pr, psize := utf8.DecodeRuneInString(p[i:])
		r, size := utf8.DecodeRuneInString(t[n:])
		if r != pr && unicode.ToLower(r) != pr {
			return 0, false
		}
		i, n = i+psize, n+size
	}
	return n, true
}

// wordPrefix is prefixFold for whole words: a Latin phrase must not run on
// into a letter ("hi" is not in "hit").
func wordPrefix(t, p string) (int, bool) {
	n, ok := prefixFold(t, p)
	if !ok {
		return 0, false
	}
	if last, _ := utf8.DecodeLastRuneInString(p); isWordChar(last) {
		if r, size := utf8.DecodeRuneInString(t[n:]); size > 0 && isWordChar(r) {
			return 0, false
		}
	}
	return n, true
}

// wordSuffix is wordPrefix at the end of t.
func wordSuffix(t, p string) (int, bool) {
	pl := utf8.RuneCountInString(p)
	start := len(t)
	for i := 0; i < pl; i++ {
		if start == 0 {
			return 0, false
		}
		_, size := utf8.DecodeLastRuneInString(t[:start])
		start -= size
	}
	n, ok := prefixFold(t[start:], p)
	if !ok || n != len(t)-start {
		return 0, false
	}
	if first, _ := utf8.DecodeRuneInString(p); isWordChar(first) {
		if r, size := utf8.DecodeLastRuneInString(t[:start]); size > 0 && isWordChar(r) {
			return 0, false
		}
	}
	return n, true
}

// hasAnyPrefix reports whether s starts with one of ps.
func hasAnyPrefix(s string, ps []string) bool {
	for _, p := range ps {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
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
	"flow_cancelled":   {"OK, I've stopped looking it up. What else can I help with?", "好的，不查了。还有什么可以帮您？"},
	"ack":              {"All right! Is there anything else I can help with?", "好的！请问还有什么可以帮您？"},
	"closing":          {"Thank you for contacting Acme Shop. Have a nice day!", "感谢您的咨询，祝您生活愉快！"},
	"prompt":           {"What would you like to know? You can ask me about orders, shipping, returns or payment.", "请问您想咨询什么？可以问我订单、配送、退换货和支付等问题。"},
	"none_of_these":    {"OK. Could you tell me in a few words what you are looking for?", "好的。能简单描述一下您想了解什么吗？"},
	"did_you_mean":     {"Did you mean “%s”?", "您是想问“%s”吗？"},
	"greeting_short":   {"Hello!", "您好！"},
	"thanks_short":     {"You're welcome!", "不客气！"},
	"ack_short":        {"OK.", "好的。"},
	"prompt_short":     {"", ""},
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
