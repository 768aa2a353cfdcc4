package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"
)

// Story is a conversation test: visitor turns (or feedback) and what the bot
// must decide at each step, like Rasa's test stories.
type Story struct {
	Name string `yaml:"name"`
	// Lang is the visitor's preferred language passed with every turn (optional).
	Lang string `yaml:"lang"`
	// Webhook, when set, answers this story's flow webhooks instead of the
	// configured backend (no network: the call never leaves the process).
	Webhook *WebhookFixture `yaml:"webhook"`
	Steps   []StoryStep     `yaml:"steps"`
	// File is where the story was read from.
	File string `yaml:"-"`
}

// StoryStep is one visitor message, or one "Was this helpful?" answer.
type StoryStep struct {
	User     string `yaml:"user"`
	Feedback *bool  `yaml:"feedback"`
	Expect   Expect `yaml:"expect"`
	Line     int    `yaml:"-"`
}

// Expect lists what a decision must have; empty fields are not checked.
type Expect struct {
	Kind     Kind   `yaml:"kind"`
	Reason   string `yaml:"reason"`
	Intent   string `yaml:"intent"`
	FAQ      string `yaml:"faq"`
	Skill    string `yaml:"skill"`
	Flow     string `yaml:"flow"`
	Slot     string `yaml:"slot"`
	Lang     string `yaml:"lang"`
	Contains string `yaml:"contains"`
	FollowUp *bool  `yaml:"follow_up"`
	// QuickReplies is the least number of quick replies.
	QuickReplies int `yaml:"quick_replies"`
}

// WebhookFixture is a fake company backend for a story's flows.
type WebhookFixture struct {
	// Status is the HTTP status answered (default 200).
	Status int `yaml:"status"`
	// Body is answered as JSON.
	Body map[string]any `yaml:"body"`
	// Delay holds the answer back (to test timeouts).
	Delay time.Duration `yaml:"delay"`
	// Fail makes the call fail as if the backend were down.
	Fail bool `yaml:"fail"`
	// ExpectSlots must be in the request's slots, checked on every call.
	ExpectSlots map[string]string `yaml:"expect_slots"`
}

// storyFile is the YAML layout of a stories file.
type storyFile struct {
	Stories []Story `yaml:"stories"`
}

// ParseStories reads stories from YAML; name is used in messages.
func ParseStories(r io.Reader, name string) ([]Story, error) {
	var node yaml.Node
	if err := yaml.NewDecoder(r).Decode(&node); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("bot: stories %s: %w", name, err)
	}
	var sf storyFile
	if node.Kind != 0 {
		if err := node.Decode(&sf); err != nil {
			return nil, fmt.Errorf("bot: stories %s: %w", name, err)
		}
	}
	lines := stepLines(&node)
	k := 0
	for i := range sf.Stories {
		s := &sf.Stories[i]
		s.File = name
		if s.Name == "" || len(s.Steps) == 0 {
			return nil, fmt.Errorf("bot: stories %s: story %d needs a name and steps", name, i+1)
		}
		for j := range s.Steps {
			st := &s.Steps[j]
			if k < len(lines) {
				st.Line = lines[k]
			}
			k++
			if (st.User == "") == (st.Feedback == nil) {
				return nil, fmt.Errorf("bot: stories %s:%d: a step needs either user or feedback", name, st.Line)
			}
		}
	}
	return sf.Stories, nil
}

// stepLines returns the source lines of every step, in order.
func stepLines(doc *yaml.Node) []int {
	var out []int
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil
	}
	root := doc.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "stories" {
			continue
		}
		for _, story := range root.Content[i+1].Content {
			for j := 0; j+1 < len(story.Content); j += 2 {
				if story.Content[j].Value == "steps" {
					for _, step := range story.Content[j+1].Content {
						out = append(out, step.Line)
					}
				}
			}
		}
	}
	return out
}

// ReadStoriesFile reads a stories file.
func ReadStoriesFile(p string) ([]Story, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("bot: stories: %w", err)
	}
	return ParseStories(bytes.NewReader(b), p)
}

// StarterStories returns the stories for the starter content (embedded).
func StarterStories() ([]Story, error) {
	names, err := fs.Glob(starterFS, "starter/stories/*.yaml")
	if err != nil {
		return nil, fmt.Errorf("bot: starter stories: %w", err)
	}
	var out []Story
	for _, n := range names {
		b, err := starterFS.ReadFile(n)
		if err != nil {
			return nil, fmt.Errorf("bot: starter stories: %w", err)
		}
		s, err := ParseStories(bytes.NewReader(b), path.Join("bot", n))
		if err != nil {
			return nil, err
		}
		out = append(out, s...)
	}
	return out, nil
}

// StoryEnv is what stories run against; every story gets a fresh engine
// (and so a fresh context) built from it.
type StoryEnv struct {
	KB      Knowledge
	Intents IntentClassifier
	Config  Config
	Flows   *FlowSet
	// Webhook is used by stories without a webhook fixture.
	Webhook Webhook
	// Generator, when set, is used for generative answers.
	Generator *Generator
}

// StepResult is the outcome of one step.
type StepResult struct {
	Line     int      `json:"line"`
	Input    string   `json:"input"`
	Decision Decision `json:"decision"`
	Failures []string `json:"failures,omitempty"`
}

// StoryResult is the outcome of one story.
type StoryResult struct {
	Name   string       `json:"name"`
	File   string       `json:"file"`
	Passed bool         `json:"passed"`
	Steps  []StepResult `json:"steps"`
	// Error is set when the story could not run (engine construction failed).
	Error string `json:"error,omitempty"`
}

// storySecret signs the webhook calls answered by fixtures.
const storySecret = "story-secret"

// RunStories runs every story and reports each step.
func RunStories(ctx context.Context, env StoryEnv, stories []Story) []StoryResult {
	out := make([]StoryResult, 0, len(stories))
	for i, s := range stories {
		out = append(out, runStory(ctx, env, s, fmt.Sprintf("story-%d", i+1)))
	}
	return out
}

func runStory(ctx context.Context, env StoryEnv, s Story, convID string) StoryResult {
	r := StoryResult{Name: s.Name, File: s.File, Passed: true}
	opts := []Option{WithIntents(env.Intents)}
	if env.Intents == nil {
		opts = nil
	}
	if env.Generator != nil {
		opts = append(opts, WithGenerator(env.Generator))
	}
	var fx *fixtureTransport
	if env.Flows != nil {
		wh := env.Webhook
		if s.Webhook != nil {
			fx = &fixtureTransport{fx: *s.Webhook}
			wh = Webhook{BaseURL: "https://backend.story.invalid", Secret: storySecret, Timeout: wh.Timeout, Client: &http.Client{Transport: fx}}
		}
		// Each story gets its own copy of the flows: URLs are resolved per engine.
		fl, err := env.Flows.copy()
		if err != nil {
			r.Passed, r.Error = false, err.Error()
			return r
		}
		opts = append(opts, WithFlows(fl, wh))
	}
	e, err := New(env.KB, env.Config, opts...)
	if err != nil {
		r.Passed, r.Error = false, err.Error()
		return r
	}
	for _, step := range s.Steps {
		var d Decision
		in := step.User
		if step.Feedback != nil {
			in = fmt.Sprintf("(feedback helpful=%v)", *step.Feedback)
			d, err = e.Feedback(ctx, convID, *step.Feedback)
		} else {
			d, err = e.Turn(ctx, Input{ConversationID: convID, Text: step.User, Lang: s.Lang})
		}
		sr := StepResult{Line: step.Line, Input: in, Decision: d}
		if err != nil {
			sr.Failures = append(sr.Failures, "error: "+err.Error())
		} else {
			sr.Failures = step.Expect.check(d)
		}
		if fx != nil {
			sr.Failures = append(sr.Failures, fx.problems()...)
		}
		if len(sr.Failures) > 0 {
			r.Passed = false
		}
		r.Steps = append(r.Steps, sr)
	}
	return r
}

// check lists how d differs from what is expected.
func (x Expect) check(d Decision) []string {
	var out []string
	str := func(field, want, got string) {
		if want != "" && want != got {
			out = append(out, fmt.Sprintf("%s = %q, want %q", field, got, want))
		}
	}
	str("kind", string(x.Kind), string(d.Kind))
	str("reason", x.Reason, d.Reason)
	str("intent", x.Intent, d.Intent)
	str("faq", x.FAQ, d.FAQID)
	str("skill", x.Skill, d.Skill)
	str("flow", x.Flow, d.Flow)
	str("slot", x.Slot, d.Slot)
	str("lang", x.Lang, d.Lang)
	if x.Contains != "" && !strings.Contains(d.Reply, x.Contains) {
		out = append(out, fmt.Sprintf("reply %q does not contain %q", d.Reply, x.Contains))
	}
	if x.FollowUp != nil && *x.FollowUp != d.FollowUp {
		out = append(out, fmt.Sprintf("follow_up = %v, want %v", d.FollowUp, *x.FollowUp))
	}
	if len(d.QuickReplies) < x.QuickReplies {
		out = append(out, fmt.Sprintf("%d quick replies, want at least %d", len(d.QuickReplies), x.QuickReplies))
	}
	return out
}

// WriteReport prints one line per story (and the failing steps with the
// decision's evidence), then "N passed, M failed"; it returns the counts.
func WriteReport(w io.Writer, results []StoryResult, verbose bool) (passed, failed int) {
	for _, r := range results {
		if r.Passed {
			passed++
			fmt.Fprintf(w, "PASS  %s (%s)\n", r.Name, r.File)
		} else {
			failed++
			fmt.Fprintf(w, "FAIL  %s (%s)\n", r.Name, r.File)
		}
		if r.Error != "" {
			fmt.Fprintf(w, "      error: %s\n", r.Error)
		}
		for _, s := range r.Steps {
			if len(s.Failures) == 0 && !verbose {
				continue
			}
			fmt.Fprintf(w, "      line %d: %q -> %s\n", s.Line, s.Input, Explain(s.Decision))
			for _, f := range s.Failures {
				fmt.Fprintf(w, "        %s\n", f)
			}
		}
	}
	fmt.Fprintf(w, "%d passed, %d failed\n", passed, failed)
	return passed, failed
}

// searched are the reasons of decisions taken after an FAQ search.
var searched = map[string]bool{ReasonFAQMatch: true, ReasonIntentAgrees: true, ReasonAmbiguous: true, ReasonUnsure: true,
	ReasonLowConfidence: true, ReasonRepeatedFallback: true, ReasonHumanOnly: true}

// Explain renders a decision's reason and scores on one line.
func Explain(d Decision) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s reason=%s", d.Kind, d.Reason)
	if d.Skill != "" {
		fmt.Fprintf(&b, " skill=%s", d.Skill)
	}
	if d.FAQID != "" {
		fmt.Fprintf(&b, " faq=%s", d.FAQID)
	}
	if d.Flow != "" {
		fmt.Fprintf(&b, " flow=%s", d.Flow)
		if d.Slot != "" {
			fmt.Fprintf(&b, "/%s", d.Slot)
		}
	}
	if d.Intent != "" && (d.IntentConfidence > 0 || len(d.Intents) > 0) {
		fmt.Fprintf(&b, " intent=%s(%.2f, margin %.2f", d.Intent, d.IntentConfidence, d.IntentMargin)
		if d.OutOfScope {
			b.WriteString(", out of scope")
		}
		b.WriteString(")")
	}
	if len(d.Candidates) > 0 {
		fmt.Fprintf(&b, " faq_conf=%.2f margin=%.2f threshold=%.2f top=", d.Confidence, d.Margin, d.Threshold)
		for i, c := range d.Candidates {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, "%s:%.1f", c.ID, c.Score)
		}
	} else if searched[d.Reason] {
		b.WriteString(" no FAQ candidates")
	}
	if d.FollowUp {
		fmt.Fprintf(&b, " follow_up=%q", d.Query)
	}
	if d.Matched != "" {
		fmt.Fprintf(&b, " matched=%q", d.Matched)
	}
	if d.Generated {
		fmt.Fprintf(&b, " generated cites=%s", strings.Join(d.Citations, ","))
	}
	if d.LLMError != "" {
		fmt.Fprintf(&b, " llm_error=%q", d.LLMError)
	}
	if d.WebhookError != "" {
		fmt.Fprintf(&b, " webhook_error=%q", d.WebhookError)
	}
	return b.String()
}

// fixtureTransport answers webhook calls from a WebhookFixture, checking
// each request's signature and slots.
type fixtureTransport struct {
	fx   WebhookFixture
	mu   sync.Mutex
	errs []string
}

func (t *fixtureTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, err
	}
	if err := VerifySignature(storySecret, req.Header.Get(SignatureHeader), body, time.Now(), 5*time.Minute); err != nil {
		t.fail("webhook request: %v", err)
	}
	var wr webhookRequest
	if err := json.Unmarshal(body, &wr); err != nil {
		t.fail("webhook request is not JSON: %v", err)
	}
	for k, v := range t.fx.ExpectSlots {
		if wr.Slots[k] != v {
			t.fail("webhook slot %s = %q, want %q", k, wr.Slots[k], v)
		}
	}
	if t.fx.Delay > 0 {
		select {
		case <-time.After(t.fx.Delay):
		case <-req.Context().Done():
			return nil, req.Context().Err()
		}
	}
	if t.fx.Fail {
		return nil, errors.New("connection refused (fixture)")
	}
	status := t.fx.Status
	if status == 0 {
		status = http.StatusOK
	}
	b, _ := json.Marshal(t.fx.Body)
	return &http.Response{StatusCode: status, Status: fmt.Sprintf("%d %s", status, http.StatusText(status)),
		Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(bytes.NewReader(b)), Request: req}, nil
}

func (t *fixtureTransport) fail(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.errs = append(t.errs, fmt.Sprintf(format, args...))
}

// problems returns and clears the problems found since the last call.
func (t *fixtureTransport) problems() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.errs
	t.errs = nil
	return p
}
