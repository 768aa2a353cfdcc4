package bot

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	"time"

	"gopkg.in/yaml.v3"
)

// starterFS holds the demo company's policy, flows and conversation stories.
//
//go:embed starter
var starterFS embed.FS

// FlowSet is a set of flows read from YAML (see docs/bot.md).
type FlowSet struct {
	Flows []*Flow `yaml:"flows"`

	byIntent map[string]*Flow
}

// Flow is a task that needs data from the company's backend: it asks for
// slots, calls a webhook with them and fills a reply template.
type Flow struct {
	// Name identifies the flow in decisions.
	Name string `yaml:"name"`
	// Intent is the intent that starts the flow.
	Intent string `yaml:"intent"`
	// Skill is the group a failed flow hands off to.
	Skill string `yaml:"skill"`
	// Slots are asked for in order.
	Slots []*Slot `yaml:"slots"`
	// Webhook is the backend call made once every slot is filled.
	Webhook WebhookSpec `yaml:"webhook"`
	// Reply is a text/template over .slots and .result (the webhook's JSON object).
	Reply Localised `yaml:"reply"`
	// NotFound is said when the webhook answers 404; the last slot is asked again.
	NotFound Localised `yaml:"not_found"`
	// Failure is said before handing off when the webhook fails.
	Failure Localised `yaml:"failure"`

	url   string // resolved webhook URL; "" disables the flow
	reply [2]*template.Template
}

// Slot is one value a flow collects.
type Slot struct {
	// Name is the key in .slots and in the webhook request.
	Name string `yaml:"name"`
	// Pattern finds the value in a message (the first group if it has one).
	Pattern string `yaml:"pattern"`
	// Prompt asks for the value; Invalid asks again after a message without one.
	Prompt  Localised `yaml:"prompt"`
	Invalid Localised `yaml:"invalid"`
	// MaxAttempts invalid answers hand the conversation off (default 3).
	MaxAttempts int `yaml:"max_attempts"`
	// Remove lists characters taken out of the value found, so the backend
	// gets one spelling ("-" turns 2024-0518-001 into 20240518001).
	Remove string `yaml:"remove"`

	re *regexp.Regexp
}

// WebhookSpec is where a flow's webhook is and how long it may take.
type WebhookSpec struct {
	// URL is an absolute URL, or Path is joined to Webhook.BaseURL.
	URL  string `yaml:"url"`
	Path string `yaml:"path"`
	// Timeout bounds the call (default: Webhook.Timeout, else 3s).
	Timeout time.Duration `yaml:"timeout"`
}

// Webhook is the deployment's connection to the company's backend.
type Webhook struct {
	// BaseURL is joined with each flow's webhook path; https, or http on a
	// loopback address (for tests). Flows without a URL are disabled.
	BaseURL string
	// Secret signs every request (HMAC-SHA256, see SignatureHeader).
	Secret string
	// Timeout is the default per-call timeout (3s).
	Timeout time.Duration
	// Client makes the calls (default: a new http.Client).
	Client *http.Client
}

// SignatureHeader carries "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">".
const SignatureHeader = "X-Frontdesk-Signature"

// ParseFlows reads flows from YAML.
func ParseFlows(r io.Reader) (*FlowSet, error) {
	var fs FlowSet
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	if err := dec.Decode(&fs); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("bot: flows: %w", err)
	}
	fs.byIntent = map[string]*Flow{}
	names := map[string]bool{}
	for i, f := range fs.Flows {
		if f == nil || f.Name == "" || f.Intent == "" {
			return nil, fmt.Errorf("bot: flows: flow %d needs a name and an intent", i+1)
		}
		if names[f.Name] || fs.byIntent[f.Intent] != nil {
			return nil, fmt.Errorf("bot: flows: %s: duplicate name or intent", f.Name)
		}
		names[f.Name] = true
		if len(f.Slots) == 0 || f.Reply.EN == "" && f.Reply.ZH == "" {
			return nil, fmt.Errorf("bot: flows: %s needs slots and a reply", f.Name)
		}
		for _, s := range f.Slots {
			if s == nil || s.Name == "" || s.Pattern == "" {
				return nil, fmt.Errorf("bot: flows: %s: every slot needs a name and a pattern", f.Name)
			}
			re, err := regexp.Compile(s.Pattern)
			if err != nil {
				return nil, fmt.Errorf("bot: flows: %s: slot %s: %w", f.Name, s.Name, err)
			}
			s.re = re
			if s.MaxAttempts <= 0 {
				s.MaxAttempts = 3
			}
		}
		for i, lang := range []string{"en", "zh"} {
			// A missing field is empty in {{with}} and {{if}}, so optional
			// fields work; printed, it is a failure (see render).
			t, err := template.New(f.Name).Option("missingkey=zero").Parse(f.Reply.In(lang))
			if err != nil {
				return nil, fmt.Errorf("bot: flows: %s: reply: %w", f.Name, err)
			}
			f.reply[i] = t
		}
		fs.byIntent[f.Intent] = f
	}
	return &fs, nil
}

// ReadFlowsFile reads a flows file (see ParseFlows).
func ReadFlowsFile(path string) (*FlowSet, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("bot: flows: %w", err)
	}
	fs, err := ParseFlows(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return fs, nil
}

// StarterFlows returns the demo company's flows (order_status).
func StarterFlows() (*FlowSet, error) {
	b, err := starterFS.ReadFile("starter/flows.yaml")
	if err != nil {
		return nil, fmt.Errorf("bot: starter flows: %w", err)
	}
	return ParseFlows(bytes.NewReader(b))
}

// StarterConfig returns the demo company's policy.
func StarterConfig() (Config, error) {
	b, err := starterFS.ReadFile("starter/policy.yaml")
	if err != nil {
		return Config{}, fmt.Errorf("bot: starter policy: %w", err)
	}
	return ParseConfig(bytes.NewReader(b))
}

// Names returns the names of the flows and whether each is enabled (has a webhook URL).
func (fs *FlowSet) Names() map[string]bool {
	out := map[string]bool{}
	if fs != nil {
		for _, f := range fs.Flows {
			out[f.Name] = f.url != ""
		}
	}
	return out
}

// resolve works out each flow's URL against the deployment's webhook settings.
func (fs *FlowSet) resolve(wh *Webhook) error {
	enabled := false
	for _, f := range fs.Flows {
		f.url = ""
		switch {
		case f.Webhook.URL != "":
			f.url = f.Webhook.URL
		case wh.BaseURL != "":
			f.url = strings.TrimRight(wh.BaseURL, "/") + "/" + strings.TrimLeft(f.Webhook.Path, "/")
		}
		if f.url == "" {
			continue
		}
		if err := checkWebhookURL(f.url); err != nil {
			return fmt.Errorf("bot: flow %s: %w", f.Name, err)
		}
		enabled = true
	}
	if enabled && wh.Secret == "" {
		return errors.New("bot: flows: a webhook secret is required to sign requests")
	}
	return nil
}

// checkWebhookURL accepts https URLs, and http ones on loopback addresses.
func checkWebhookURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("webhook URL %q is not absolute", raw)
	}
	if u.Scheme == "https" {
		return nil
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); u.Scheme == "http" && (host == "localhost" || ip != nil && ip.IsLoopback()) {
		return nil
	}
	return fmt.Errorf("webhook URL %q: want https (http only on loopback)", raw)
}

func (fs *FlowSet) forIntent(intent string) *Flow {
	if fs == nil {
		return nil
	}
	if f := fs.byIntent[intent]; f != nil && f.url != "" {
		return f
	}
	return nil
}

func (fs *FlowSet) byName(name string) *Flow {
	if fs == nil {
		return nil
	}
	for _, f := range fs.Flows {
		if f.Name == name && f.url != "" {
			return f
		}
	}
	return nil
}

// extract finds the slot's value in text.
func (s *Slot) extract(text string) (string, bool) {
	m := s.re.FindStringSubmatch(text)
	if m == nil {
		return "", false
	}
	v := m[0]
	if len(m) > 1 && m[1] != "" {
		v = m[1]
	}
	if s.Remove != "" {
		v = strings.Map(func(r rune) rune {
			if strings.ContainsRune(s.Remove, r) {
				return -1
			}
			return r
		}, v)
	}
	return v, v != ""
}

// startFlow begins flow f: slots found in the first message are kept.
func (e *Engine) startFlow(ctx context.Context, st *State, in Input, f *Flow, text string, d *Decision) error {
	st.Flow = &FlowState{Name: f.Name}
	if st.Slots == nil {
		st.Slots = map[string]string{}
	}
	for _, s := range f.Slots {
		delete(st.Slots, s.Name)
	}
	return e.advanceFlow(ctx, st, in, f, text, d, true)
}

// continueFlow handles a message while a flow waits for a slot. done is
// false when the message left the flow and the normal policy should run, on
// rest when only part of it is a question ("算了，我想取消订单").
func (e *Engine) continueFlow(ctx context.Context, st *State, in Input, text string, tk talk, d *Decision) (done bool, rest string, err error) {
	f := e.flows.byName(st.Flow.Name)
	if f == nil || st.Flow.Slot >= len(f.Slots) {
		st.Flow = nil
		return false, "", nil
	}
	d.Flow = f.Name
	if cancels(text) {
		st.Flow = nil
		d.Kind, d.Reason, d.Reply = KindAcknowledge, ReasonFlowCancelled, phrase(d.Lang, "flow_cancelled")
		return true, "", nil
	}
	if r, ok := stopLead(text); ok {
		st.Flow, d.Flow = nil, ""
		return false, r, nil
	}
	slot := f.Slots[st.Flow.Slot]
	if _, ok := slot.extract(text); ok {
		return true, "", e.advanceFlow(ctx, st, in, f, text, d, false)
	}
	if tk.key != "" {
		e.smalltalkInFlow(st, d, tk.key, slot)
		return true, "", nil
	}
	own := false
	if e.intents != nil {
		// A different, confident question leaves the flow.
		p := e.intents.Predict(text)
		if !p.OutOfScope && p.Intent != f.Intent && p.Confidence >= e.cfg.IntentConfident {
			st.Flow, d.Flow = nil, ""
			return false, "", nil
		}
		own = !p.OutOfScope && p.Intent == f.Intent && p.Confidence >= e.cfg.IntentConfident
	}
	if !own {
		// A question the FAQ answers clearly is answered; the flow keeps waiting.
		res, err := e.kb.Search(ctx, tk.rest, e.cfg.TopK)
		if err != nil {
			return true, "", fmt.Errorf("bot: search: %w", err)
		}
		if e.cfg.Confident(res) {
			d.Confidence, d.Margin, d.Slot = res.Confidence, res.Margin, slot.Name
			for _, h := range res.Hits {
				d.Candidates = append(d.Candidates, Candidate{ID: h.ID, Score: h.Score, Question: h.Question, Skill: h.Skill})
			}
			in.Text = tk.rest
			if err := e.answerHit(ctx, st, in, d, res, ReasonFAQMatch); err != nil {
				return true, "", err
			}
			if d.Kind == KindAnswer {
				e.reask(st, d, slot, "\n\n")
			}
			return true, "", nil
		}
	}
	return true, "", e.advanceFlow(ctx, st, in, f, text, d, false)
}

// smalltalkInFlow answers small talk while a flow waits, without counting it
// as an invalid value: a short reply and the slot's prompt (once; "ok" and
// "?" get the prompt again as an ask). A goodbye ends the flow; a closing
// ("no", "that's all", 没有了) stops it as a stop phrase does.
func (e *Engine) smalltalkInFlow(st *State, d *Decision, key string, slot *Slot) {
	d.Kind, d.Reason, d.Matched, d.Slot = KindSmalltalk, ReasonSmalltalk, key, slot.Name
	switch key {
	case "bye":
		st.Flow, d.Flow, d.Slot = nil, "", ""
		d.Reply = phrase(d.Lang, key)
		return
	case "closing": // "no", "that's all", 没有了: stop the lookup
		st.Flow, d.Slot = nil, ""
		d.Kind, d.Reason, d.Reply = KindAcknowledge, ReasonFlowCancelled, phrase(d.Lang, "flow_cancelled")
		return
	case "robot":
		d.Reply = phrase(d.Lang, key)
	default:
		d.Reply = phrase(d.Lang, key+"_short")
	}
	sep := " "
	if d.Lang == "zh" || d.Reply == "" {
		sep = ""
	}
	if key == "ack" || key == "prompt" {
		// "ok", "?": the answer is the question again.
		d.Kind, d.Reason, d.Reply = KindAsk, ReasonFlowAsk, d.Reply+sep+slot.Prompt.In(d.Lang)
		st.Flow.Reasked = false
		return
	}
	e.reask(st, d, slot, sep)
}

// reask repeats the slot's prompt after a reply to something else, once
// until the flow asks again.
func (e *Engine) reask(st *State, d *Decision, slot *Slot, sep string) {
	if st.Flow == nil || st.Flow.Reasked {
		return
	}
	st.Flow.Reasked = true
	d.Reply += sep + slot.Prompt.In(d.Lang)
}

// advanceFlow fills slots from text, asks for the next missing one, or calls
// the webhook when all are there.
func (e *Engine) advanceFlow(ctx context.Context, st *State, in Input, f *Flow, text string, d *Decision, first bool) error {
	d.Flow, d.Skill = f.Name, f.Skill
	fs := st.Flow
	for fs.Slot < len(f.Slots) {
		s := f.Slots[fs.Slot]
		v, ok := s.extract(text)
		if !ok {
			fs.Reasked = false
			if first {
				d.Kind, d.Reason, d.Slot, d.Reply = KindAsk, ReasonFlowAsk, s.Name, s.Prompt.In(d.Lang)
				return nil
			}
			fs.Attempts++
			if fs.Attempts >= s.MaxAttempts {
				d.Slot = s.Name
				e.handoff(st, d, ReasonFlowGaveUp, f.Skill, "handoff_sorry")
				return nil
			}
			d.Kind, d.Reason, d.Slot, d.Reply = KindAsk, ReasonFlowInvalid, s.Name, s.Invalid.In(d.Lang)
			if d.Reply == "" {
				d.Reply = s.Prompt.In(d.Lang)
			}
			return nil
		}
		st.Slots[s.Name] = v
		fs.Slot++
		fs.Attempts = 0
		first = true // the next slot is asked for, not re-asked
		text = ""
	}
	result, status, err := e.callWebhook(ctx, in.ConversationID, f, st.Slots, d.Lang)
	if status == http.StatusNotFound && (f.NotFound.EN != "" || f.NotFound.ZH != "") {
		last := f.Slots[len(f.Slots)-1]
		fs.Slot = len(f.Slots) - 1
		fs.NotFound++ // a new value resets Attempts, not this
		if fs.NotFound >= last.MaxAttempts {
			d.Reply = f.NotFound.In(d.Lang)
			e.handoff(st, d, ReasonFlowGaveUp, f.Skill, "")
			return nil
		}
		fs.Reasked = false
		d.Kind, d.Reason, d.Slot, d.Reply = KindAsk, ReasonFlowNotFound, last.Name, f.NotFound.In(d.Lang)
		return nil
	}
	var reply string
	if err == nil {
		reply, err = f.render(d.Lang, st.Slots, result)
	}
	if err != nil {
		d.WebhookError = err.Error()
		d.Reply = f.Failure.In(d.Lang)
		e.handoff(st, d, ReasonWebhookFailed, f.Skill, "handoff_sorry")
		return nil
	}
	st.Flow = nil
	d.Kind, d.Reason, d.Reply = KindAnswer, ReasonFlowDone, reply
	return nil
}

func (f *Flow) render(lang string, slots map[string]string, result map[string]any) (string, error) {
	t := f.reply[0]
	if lang == "zh" {
		t = f.reply[1]
	}
	var b strings.Builder
	if err := t.Execute(&b, map[string]any{"slots": slots, "result": result}); err != nil {
		return "", fmt.Errorf("reply template: %w", err)
	}
	// text/template prints a missing (or null) field of a map as "<no
	// value>": the reply would show it, so the backend's answer is unusable.
	if strings.Contains(b.String(), "<no value>") {
		return "", errors.New("reply template: a field it prints is missing from the webhook's answer")
	}
	return b.String(), nil
}

// webhookRequest is the JSON body a flow's webhook receives.
type webhookRequest struct {
	Flow           string            `json:"flow"`
	ConversationID string            `json:"conversation_id"`
	Lang           string            `json:"lang"`
	Slots          map[string]string `json:"slots"`
}

// callWebhook POSTs the slots, signed, and returns the JSON object answered
// and the HTTP status (0 when there was no answer).
func (e *Engine) callWebhook(ctx context.Context, conversationID string, f *Flow, slots map[string]string, lang string) (map[string]any, int, error) {
	timeout := f.Webhook.Timeout
	if timeout <= 0 {
		timeout = e.hook.Timeout
	}
	if timeout <= 0 {
		timeout = 3 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	body, err := json.Marshal(webhookRequest{Flow: f.Name, ConversationID: conversationID, Lang: lang, Slots: slots})
	if err != nil {
		return nil, 0, fmt.Errorf("bot: webhook %s: %w", f.Name, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.url, bytes.NewReader(body))
	if err != nil {
		return nil, 0, fmt.Errorf("bot: webhook %s: %w", f.Name, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Frontdesk-Webhook/1")
	req.Header.Set(SignatureHeader, Sign(e.hook.Secret, e.now(), body))
	resp, err := e.hook.Client.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("bot: webhook %s: %w", f.Name, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, resp.StatusCode, fmt.Errorf("bot: webhook %s: read: %w", f.Name, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, resp.StatusCode, fmt.Errorf("bot: webhook %s: %s", f.Name, resp.Status)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, resp.StatusCode, fmt.Errorf("bot: webhook %s: answer is not a JSON object: %w", f.Name, err)
	}
	return out, resp.StatusCode, nil
}

// Sign returns the SignatureHeader value for body sent at t.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts))
	mac.Write([]byte("."))
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// ErrBadSignature is returned by VerifySignature for a missing, forged or stale signature.
var ErrBadSignature = errors.New("bot: bad webhook signature")

// VerifySignature checks a SignatureHeader value, as the company's backend
// should: the HMAC must match and t must be within tolerance of now.
func VerifySignature(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts, sig string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sig == "" {
		return ErrBadSignature
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return ErrBadSignature
	}
	want := Sign(secret, time.Unix(sec, 0), body)
	if !hmac.Equal([]byte(want), []byte("t="+ts+",v1="+sig)) {
		return ErrBadSignature
	}
	return nil
}

// copy returns an independent copy of the set (flows hold their resolved URL).
func (fs *FlowSet) copy() (*FlowSet, error) {
	c := &FlowSet{byIntent: map[string]*Flow{}}
	for _, f := range fs.Flows {
		g := *f
		c.Flows = append(c.Flows, &g)
		c.byIntent[g.Intent] = &g
	}
	return c, nil
}
