package bot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pkoukk/tiktoken-go"
	tiktoken_loader "github.com/pkoukk/tiktoken-go-loader"
	"github.com/sashabaranov/go-openai"

	"github.com/frontdesk/frontdesk/knowledge"
	"github.com/frontdesk/frontdesk/mask"
)

// LLMConfig configures generative answers through any OpenAI-compatible
// chat-completions endpoint. They are off unless BaseURL and Model are set.
type LLMConfig struct {
	// BaseURL is the API base, e.g. https://api.openai.com/v1 or a local server's /v1.
	BaseURL string `json:"base_url"`
	// APIKey is sent as a bearer token (may be empty for local servers).
	APIKey string `json:"api_key"`
	// Model is the model name.
	Model string `json:"model"`
	// Timeout bounds one answer, streaming included (default 8s); after it
	// the bot falls back to the FAQ answer.
	Timeout time.Duration `json:"timeout"`
	// MaxPromptTokens bounds the prompt (default 1500), counted with tiktoken.
	MaxPromptTokens int `json:"max_prompt_tokens"`
	// MaxAnswerTokens bounds the answer (default 400).
	MaxAnswerTokens int `json:"max_answer_tokens"`
	// Sources is how many of the top FAQ entries are given (default 3).
	Sources int `json:"sources"`
	// Encoding is the tiktoken encoding (default cl100k_base; o200k_base for newer models).
	Encoding string `json:"encoding"`
	// Company names the business in the instructions (default "Acme Shop").
	Company string `json:"company"`
	// HTTPClient makes the calls (default: a new http.Client).
	HTTPClient *http.Client `json:"-"`
}

// Enabled reports whether generative answers are configured.
func (c LLMConfig) Enabled() bool { return c.BaseURL != "" && c.Model != "" }

// Generator writes answers from the top FAQ entries with an LLM; it is safe
// for concurrent use. Create one at start-up: loading the tokenizer takes a
// few hundred milliseconds.
type Generator struct {
	cfg    LLMConfig
	client *openai.Client
	enc    *tiktoken.Tiktoken
}

// NoAnswer is what the model is told to reply when the sources do not answer.
const NoAnswer = "NO_ANSWER"

// NewGenerator checks cfg and loads the tokenizer (embedded, nothing is downloaded).
func NewGenerator(cfg LLMConfig) (*Generator, error) {
	if !cfg.Enabled() {
		return nil, errors.New("bot: llm: base URL and model are required")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 8 * time.Second
	}
	if cfg.MaxPromptTokens <= 0 {
		cfg.MaxPromptTokens = 1500
	}
	if cfg.MaxAnswerTokens <= 0 {
		cfg.MaxAnswerTokens = 400
	}
	if cfg.Sources <= 0 {
		cfg.Sources = 3
	}
	if cfg.Encoding == "" {
		cfg.Encoding = tiktoken.MODEL_CL100K_BASE
	}
	if cfg.Company == "" {
		cfg.Company = "Acme Shop"
	}
	tiktoken.SetBpeLoader(tiktoken_loader.NewOfflineLoader())
	enc, err := tiktoken.GetEncoding(cfg.Encoding)
	if err != nil {
		return nil, fmt.Errorf("bot: llm: tokenizer %s: %w", cfg.Encoding, err)
	}
	oc := openai.DefaultConfig(cfg.APIKey)
	oc.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.HTTPClient != nil {
		oc.HTTPClient = cfg.HTTPClient
	}
	return &Generator{cfg: cfg, client: openai.NewClientWithConfig(oc), enc: enc}, nil
}

// Tokens counts the tokens of s with the generator's encoding.
func (g *Generator) Tokens(s string) int { return len(g.enc.EncodeOrdinary(s)) }

// prompt builds the messages: instructions with as many sources as fit the
// token budget (the last one cut to fit), then the masked question. It
// returns the ids of the sources given and the prompt's token count.
func (g *Generator) prompt(question, lang string, hits []knowledge.Hit) ([]openai.ChatCompletionMessage, []string, int) {
	language := map[string]string{"zh": "Simplified Chinese", "en": "English"}[lang]
	instr := fmt.Sprintf("You are the customer-service assistant of %s. Answer the visitor's question using ONLY the FAQ sources below. "+
		"Reply in %s, briefly and politely. Cite the id of every source you use in square brackets, e.g. [%s]. "+
		"If the sources do not answer the question, reply exactly %s and nothing else. Never invent policies, prices, dates or links.\n\nSources:\n",
		g.cfg.Company, language, "source-id", NoAnswer)
	question = mask.Redact(question)
	// Each message costs about 4 tokens of framing.
	used := g.Tokens(instr) + g.Tokens(question) + 8
	var b strings.Builder
	b.WriteString(instr)
	var ids []string
	for i, h := range hits {
		if i == g.cfg.Sources {
			break
		}
		src := fmt.Sprintf("[%s] Q: %s\nA: %s\n\n", h.ID, h.Question, Localise(h.Answer, lang))
		n := g.Tokens(src)
		if used+n > g.cfg.MaxPromptTokens {
			left := g.cfg.MaxPromptTokens - used
			if left < 32 {
				break
			}
			src = g.cut(src, left)
			n = g.Tokens(src)
		}
		b.WriteString(src)
		used += n
		ids = append(ids, h.ID)
	}
	return []openai.ChatCompletionMessage{
		{Role: openai.ChatMessageRoleSystem, Content: b.String()},
		{Role: openai.ChatMessageRoleUser, Content: question},
	}, ids, used
}

// cut shortens s to at most max tokens, on a rune boundary.
func (g *Generator) cut(s string, max int) string {
	toks := g.enc.EncodeOrdinary(s)
	if len(toks) <= max {
		return s
	}
	out := g.enc.Decode(toks[:max-1])
	for !utf8.ValidString(out) && len(out) > 0 {
		out = out[:len(out)-1]
	}
	return out + "…\n\n"
}

var citationRE = regexp.MustCompile(`\[([A-Za-z0-9][A-Za-z0-9._-]*)\]`)

// generation is the outcome of one LLM call.
type generation struct {
	text     string
	refused  bool
	cited    []string
	tokens   int
	streamed bool
}

// answer asks the model; tokens are passed to onToken as they arrive (held
// back while they could still be the NoAnswer sentinel).
func (g *Generator) answer(ctx context.Context, question, lang string, hits []knowledge.Hit, onToken func(string)) (generation, error) {
	msgs, ids, n := g.prompt(question, lang, hits)
	out := generation{tokens: n}
	if len(ids) == 0 {
		return out, errors.New("no source fits the token budget")
	}
	ctx, cancel := context.WithTimeout(ctx, g.cfg.Timeout)
	defer cancel()
	req := openai.ChatCompletionRequest{Model: g.cfg.Model, Messages: msgs, MaxTokens: g.cfg.MaxAnswerTokens, Temperature: 0.2}
	if onToken == nil {
		resp, err := g.client.CreateChatCompletion(ctx, req)
		if err != nil {
			return out, err
		}
		if len(resp.Choices) == 0 {
			return out, errors.New("no choices in the answer")
		}
		out.text, out.refused = resp.Choices[0].Message.Content, resp.Choices[0].Message.Refusal != ""
	} else {
		req.Stream = true
		stream, err := g.client.CreateChatCompletionStream(ctx, req)
		if err != nil {
			return out, err
		}
		defer stream.Close()
		var b strings.Builder
		held := true
		for {
			chunk, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return out, err
			}
			if len(chunk.Choices) == 0 {
				continue
			}
			delta := chunk.Choices[0].Delta
			if delta.Refusal != "" {
				out.refused = true
			}
			if delta.Content == "" {
				continue
			}
			b.WriteString(delta.Content)
			if held {
				if strings.HasPrefix(NoAnswer, strings.TrimSpace(b.String())) {
					continue // could still be the sentinel
				}
				held = false
				out.streamed = true
				onToken(b.String())
				continue
			}
			onToken(delta.Content)
		}
		out.text = b.String()
	}
	out.text = strings.TrimSpace(out.text)
	if strings.HasPrefix(out.text, NoAnswer) || out.text == "" {
		out.refused = true
	}
	given := map[string]bool{}
	for _, id := range ids {
		given[id] = true
	}
	seen := map[string]bool{}
	for _, m := range citationRE.FindAllStringSubmatch(out.text, -1) {
		if given[m[1]] && !seen[m[1]] {
			seen[m[1]] = true
			out.cited = append(out.cited, m[1])
		}
	}
	return out, nil
}

// generate replaces the FAQ answer in d with an LLM answer written from the
// hits, keeps the FAQ answer when the model fails or times out, and hands
// off when the model says the sources do not answer the question.
func (e *Engine) generate(ctx context.Context, st *State, in Input, d *Decision, res knowledge.Result) {
	question := in.Text
	if d.Query != "" {
		question = d.Query
	}
	g, err := e.llm.answer(ctx, question, d.Lang, res.Hits, in.OnToken)
	if err != nil {
		d.LLMError = llmError(err)
		return
	}
	if g.refused {
		skill := d.Skill
		d.Reply = ""
		e.handoff(st, d, ReasonLLMNoAnswer, skill, "handoff_low")
		d.FAQID = ""
		return
	}
	d.Reason, d.Generated, d.Reply, d.Citations = ReasonGenerated, true, g.text, g.cited
	if len(g.cited) > 0 {
		d.FAQID = g.cited[0]
	}
}

// llmError is the short reason recorded when an LLM answer was not used.
func llmError(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "timeout"
	}
	s := err.Error()
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}
