package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/frontdesk/frontdesk/bot"
	"github.com/frontdesk/frontdesk/intents"
)

// botConfig is the bot engine's part of the server configuration.
type botConfig struct {
	// Policy is a bot policy YAML file (default: the built-in Acme Shop policy).
	Policy string `json:"policy"`
	// Intents is intent training data (file or directory; default: the built-in starter set).
	Intents string `json:"intents"`
	// Flows is a flows YAML file (default: the built-in order_status flow).
	Flows            string  `json:"flows"`
	ClarifyThreshold float64 `json:"clarify_threshold"`
	ClarifyMargin    float64 `json:"clarify_margin"`
	// WebhookURL is the company backend's base URL for flows; empty disables flows.
	WebhookURL    string `json:"webhook_url"`
	WebhookSecret string `json:"webhook_secret"`
	// LLM* configure optional generative answers (off without a base URL and model).
	LLMBaseURL         string        `json:"llm_base_url"`
	LLMModel           string        `json:"llm_model"`
	LLMAPIKey          string        `json:"llm_api_key"`
	LLMTimeout         time.Duration `json:"llm_timeout"`
	LLMMaxPromptTokens int           `json:"llm_max_prompt_tokens"`
}

// botFlags registers the bot's flags; env gives each flag's default from the environment.
func botFlags(fs *flag.FlagSet, env *envVars) *botConfig {
	b := &botConfig{}
	fs.StringVar(&b.Policy, "bot-config", env.str("bot-config", ""), "bot policy YAML (thresholds, per-intent rules; see docs/bot.md; default: built-in)")
	fs.StringVar(&b.Intents, "bot-intents", env.str("bot-intents", ""), "intent training data, file or directory (default: built-in starter intents)")
	fs.StringVar(&b.Flows, "bot-flows", env.str("bot-flows", ""), "flows YAML (default: built-in order_status flow, enabled by --bot-webhook-url)")
	fs.Float64Var(&b.ClarifyThreshold, "bot-clarify-threshold", env.float("bot-clarify-threshold", 0.3), "knowledge confidence at or above which an unsure match is clarified (0 disables clarifying)")
	fs.Float64Var(&b.ClarifyMargin, "bot-clarify-margin", env.float("bot-clarify-margin", 0.1), "confidence gap between the two best entries below which the bot asks which one is meant")
	fs.StringVar(&b.WebhookURL, "bot-webhook-url", env.str("bot-webhook-url", ""), "HTTPS base URL of your backend for flows (e.g. order status); empty disables flows")
	fs.StringVar(&b.WebhookSecret, "bot-webhook-secret", env.str("bot-webhook-secret", ""), "secret signing flow webhook requests (HMAC-SHA256)")
	fs.StringVar(&b.LLMBaseURL, "llm-base-url", env.str("llm-base-url", ""), "OpenAI-compatible API base URL for generative answers (default: off)")
	fs.StringVar(&b.LLMModel, "llm-model", env.str("llm-model", ""), "model for generative answers")
	fs.StringVar(&b.LLMAPIKey, "llm-api-key", env.str("llm-api-key", ""), "API key for generative answers")
	fs.DurationVar(&b.LLMTimeout, "llm-timeout", env.duration("llm-timeout", 8*time.Second), "how long a generated answer may take before the FAQ answer is used")
	fs.IntVar(&b.LLMMaxPromptTokens, "llm-max-prompt-tokens", env.int("llm-max-prompt-tokens", 1500), "token budget of the prompt (FAQ sources are cut to fit)")
	return b
}

// defaultBotConfig is the configuration with every flag at its default.
func defaultBotConfig() *botConfig {
	return botFlags(flag.NewFlagSet("bot", flag.ContinueOnError), newEnvVars(func(string) string { return "" }))
}

// validate checks the bot's settings.
func (b *botConfig) validate() []error {
	if b == nil {
		return nil
	}
	var errs []error
	if b.ClarifyThreshold < 0 || b.ClarifyThreshold > 1 || b.ClarifyMargin < 0 || b.ClarifyMargin > 1 {
		errs = append(errs, errors.New("--bot-clarify-threshold and --bot-clarify-margin: want values in [0,1]"))
	}
	if b.WebhookURL != "" {
		if u, err := url.Parse(b.WebhookURL); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
			errs = append(errs, fmt.Errorf("--bot-webhook-url %q: want an https URL", b.WebhookURL))
		}
		if b.WebhookSecret == "" {
			errs = append(errs, errors.New("--bot-webhook-url needs --bot-webhook-secret to sign requests"))
		}
	}
	if (b.LLMBaseURL == "") != (b.LLMModel == "") {
		errs = append(errs, errors.New("--llm-base-url and --llm-model go together"))
	}
	if b.LLMTimeout <= 0 || b.LLMMaxPromptTokens < 200 {
		errs = append(errs, errors.New("--llm-timeout must be > 0 and --llm-max-prompt-tokens >= 200"))
	}
	return errs
}

// masked hides the bot's secrets.
func (b botConfig) masked() botConfig {
	if b.WebhookSecret != "" {
		b.WebhookSecret = "********"
	}
	if b.LLMAPIKey != "" {
		b.LLMAPIKey = "********"
	}
	b.WebhookURL, b.LLMBaseURL = maskURL(b.WebhookURL), maskURL(b.LLMBaseURL)
	return b
}

// botParts are what an engine is built from, loaded once.
type botParts struct {
	cfg   bot.Config
	nlu   *intents.Model
	flows *bot.FlowSet
	hook  bot.Webhook
	gen   *bot.Generator
}

// loadBotParts reads the policy, trains the intent model and reads the flows.
func loadBotParts(ctx context.Context, b *botConfig, answerThreshold float64) (botParts, error) {
	if b == nil {
		b = defaultBotConfig()
	}
	var p botParts
	var err error
	if b.Policy != "" {
		p.cfg, err = bot.ReadConfigFile(b.Policy)
	} else {
		p.cfg, err = bot.StarterConfig()
	}
	if err != nil {
		return p, err
	}
	p.cfg.AnswerThreshold, p.cfg.ClarifyThreshold, p.cfg.ClarifyMargin = answerThreshold, b.ClarifyThreshold, b.ClarifyMargin
	if b.Intents != "" {
		ds, err := intents.ReadFile(ctx, b.Intents)
		if err != nil {
			return p, err
		}
		if p.nlu, err = intents.Train(ctx, ds, intents.Options{}); err != nil {
			return p, err
		}
	} else if p.nlu, err = intents.Starter(ctx); err != nil {
		return p, err
	}
	if b.Flows != "" {
		p.flows, err = bot.ReadFlowsFile(b.Flows)
	} else {
		p.flows, err = bot.StarterFlows()
	}
	if err != nil {
		return p, err
	}
	p.hook = bot.Webhook{BaseURL: b.WebhookURL, Secret: b.WebhookSecret}
	if b.LLMBaseURL != "" {
		p.gen, err = bot.NewGenerator(bot.LLMConfig{BaseURL: b.LLMBaseURL, Model: b.LLMModel, APIKey: b.LLMAPIKey, Timeout: b.LLMTimeout, MaxPromptTokens: b.LLMMaxPromptTokens})
		if err != nil {
			return p, err
		}
	}
	return p, nil
}

// newBotEngine builds the bot engine from the server configuration.
// newBotEngine builds the engine; contexts (nil: in memory) keeps the
// multi-turn context, in Redis when scaled out.
func newBotEngine(ctx context.Context, b *botConfig, answerThreshold float64, kb bot.Knowledge, contexts bot.ContextStore, log *slog.Logger) (*bot.Engine, error) {
	start := time.Now()
	p, err := loadBotParts(ctx, b, answerThreshold)
	if err != nil {
		return nil, err
	}
	opts := []bot.Option{bot.WithIntents(p.nlu), bot.WithFlows(p.flows, p.hook), bot.WithLogger(log)}
	if contexts != nil {
		opts = append(opts, bot.WithContextStore(contexts))
	}
	if p.gen != nil {
		opts = append(opts, bot.WithGenerator(p.gen))
	}
	e, err := bot.New(kb, p.cfg, opts...)
	if err != nil {
		return nil, err
	}
	log.Info("bot ready", slog.Int("intents", len(p.nlu.Intents())), slog.Any("flows", p.flows.Names()),
		slog.Bool("llm", p.gen != nil), slog.Duration("took", time.Since(start)))
	return e, nil
}
