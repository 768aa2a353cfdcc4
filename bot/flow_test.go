package bot

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/knowledge"
)

const testFlows = `
flows:
  - name: order_status
    intent: order_status
    skill: order_support
    slots:
      - name: order_id
        pattern: '\b(\d{11,20})\b'
        max_attempts: 2
        prompt: {en: "Your order number?", zh: "请提供订单号。"}
        invalid: {en: "Not an order number.", zh: "订单号无效。"}
    webhook: {path: /order-status, timeout: 300ms}
    reply:
      en: "Order {{.slots.order_id}} is {{.result.status}}."
      zh: "订单 {{.slots.order_id}}：{{.result.status_zh}}。"
    not_found: {en: "No such order.", zh: "没有这个订单。"}
    failure: {en: "Sorry, lookups are down.", zh: "抱歉，暂时无法查询。"}
`

func newFlowEngine(t *testing.T, handler http.HandlerFunc) *Engine {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	fs, err := ParseFlows(strings.NewReader(testFlows))
	if err != nil {
		t.Fatal(err)
	}
	nlu := fakeNLU{"where is my order": pred("order_status", "order_support", 0.99), "订单到哪了": pred("order_status", "order_support", 0.99),
		"how much is shipping": pred("shipping", "order_support", 0.95), "cancel my order": pred("cancel_order", "order_support", 0.99),
		"我想取消订单": pred("cancel_order", "order_support", 0.99)}
	cancel := knowledge.Result{Confidence: 0.9, Margin: 0.9, Hits: []knowledge.Hit{{ID: "order-cancel", Answer: "Cancel in My orders."}}}
	kb := scriptKB{"how much is shipping": {Confidence: 0.9, Margin: 0.9, Hits: []knowledge.Hit{{ID: "shipping-cost", Answer: "¥8"}}},
		"cancel my order": cancel, "我想取消订单": cancel,
		"how do I get an invoice?":         {Confidence: 0.9, Margin: 0.9, Hits: []knowledge.Hit{{ID: "invoice", Answer: "Under My orders."}}},
		"where can I download my invoice?": {Confidence: 0.9, Margin: 0.9, Hits: []knowledge.Hit{{ID: "invoice", Answer: "Under My orders."}}}}
	e, err := New(kb, DefaultConfig(), WithIntents(nlu), WithFlows(fs, Webhook{BaseURL: srv.URL, Secret: "s3cret", Client: srv.Client()}))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// backend is a company backend that checks the signature.
func backend(t *testing.T, calls *atomic.Int32, status int, body string, delay time.Duration) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		b, _ := io.ReadAll(r.Body)
		if err := VerifySignature("s3cret", r.Header.Get(SignatureHeader), b, time.Now(), time.Minute); err != nil {
			t.Errorf("webhook request signature: %v", err)
		}
		var req webhookRequest
		if err := json.Unmarshal(b, &req); err != nil || req.Flow != "order_status" || r.URL.Path != "/order-status" || r.Method != http.MethodPost {
			t.Errorf("webhook request %s %s %s: %+v %v", r.Method, r.URL.Path, b, req, err)
		}
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

func TestFlow(t *testing.T) {
	type step struct {
		text     string
		kind     Kind
		reason   string
		contains string
	}
	ok := `{"status":"shipped","status_zh":"已发货"}`
	tests := []struct {
		name      string
		status    int
		body      string
		delay     time.Duration
		steps     []step
		wantCalls int32
	}{
		{"bad then good number", 200, ok, 0, []step{
			{"where is my order", KindAsk, ReasonFlowAsk, "order number"},
			{"it's abc", KindAsk, ReasonFlowInvalid, "Not an order"},
			{"20240518001", KindAnswer, ReasonFlowDone, "Order 20240518001 is shipped."},
		}, 1},
		{"number in the first message, Chinese", 200, ok, 0, []step{
			{"订单到哪了 20240518001", KindAnswer, ReasonFlowDone, "订单 20240518001：已发货。"},
		}, 1},
		{"gives up after max attempts", 200, ok, 0, []step{
			{"where is my order", KindAsk, ReasonFlowAsk, ""},
			{"no idea", KindAsk, ReasonFlowInvalid, ""},
			{"still no idea", KindHandoff, ReasonFlowGaveUp, ""},
		}, 0},
		{"cancel", 200, ok, 0, []step{
			{"where is my order", KindAsk, ReasonFlowAsk, ""},
			{"never mind", KindAcknowledge, ReasonFlowCancelled, ""},
		}, 0},
		{"cancel is the lookup, not the order", 200, ok, 0, []step{
			{"where is my order", KindAsk, ReasonFlowAsk, ""},
			{"算了", KindAcknowledge, ReasonFlowCancelled, "不查了"},
		}, 0},
		{"cancel my order is a question", 200, ok, 0, []step{
			{"where is my order", KindAsk, ReasonFlowAsk, ""},
			{"cancel my order", KindAnswer, ReasonFAQMatch, "Cancel in My orders."},
		}, 0},
		{"stop, then a question", 200, ok, 0, []step{
			{"where is my order", KindAsk, ReasonFlowAsk, ""},
			{"算了，我想取消订单", KindAnswer, ReasonFAQMatch, "Cancel in My orders."},
		}, 0},
		{"small talk is not an invalid value", 200, ok, 0, []step{
			{"where is my order", KindAsk, ReasonFlowAsk, ""},
			{"thanks", KindSmalltalk, ReasonSmalltalk, "You're welcome! Your order number?"},
			{"ok", KindAsk, ReasonFlowAsk, "Your order number?"},
			{"hmm", KindAsk, ReasonFlowAsk, "Your order number?"},
			{"no idea", KindAsk, ReasonFlowInvalid, ""},
			{"20240518001", KindAnswer, ReasonFlowDone, "shipped"},
		}, 1},
		{"no stops the lookup", 200, ok, 0, []step{
			{"where is my order", KindAsk, ReasonFlowAsk, ""},
			{"no", KindAcknowledge, ReasonFlowCancelled, "stopped looking it up"},
		}, 0},
		{"an FAQ question is answered and the flow waits", 200, ok, 0, []step{
			{"where is my order", KindAsk, ReasonFlowAsk, ""},
			{"how do I get an invoice?", KindAnswer, ReasonFAQMatch, "Under My orders.\n\nYour order number?"},
			{"where can I download my invoice?", KindAnswer, ReasonFAQMatch, "Under My orders."},
			{"20240518001", KindAnswer, ReasonFlowDone, "shipped"},
		}, 1},
		{"not found, then the same number again", 404, `{}`, 0, []step{
			{"where is my order", KindAsk, ReasonFlowAsk, ""},
			{"20240518001", KindAsk, ReasonFlowNotFound, "No such order."},
			{"20240518001", KindHandoff, ReasonFlowGaveUp, "No such order."},
		}, 2},
		{"another question leaves the flow", 200, ok, 0, []step{
			{"where is my order", KindAsk, ReasonFlowAsk, ""},
			{"how much is shipping", KindAnswer, ReasonFAQMatch, "¥8"},
		}, 0},
		{"not found asks again", 404, `{}`, 0, []step{
			{"where is my order", KindAsk, ReasonFlowAsk, ""},
			{"20240518001", KindAsk, ReasonFlowNotFound, "No such order."},
		}, 1},
		{"server error hands off", 500, `oops`, 0, []step{
			{"where is my order 20240518001", KindHandoff, ReasonWebhookFailed, "Sorry, lookups are down."},
		}, 1},
		{"not JSON hands off", 200, `<html>`, 0, []step{
			{"where is my order 20240518001", KindHandoff, ReasonWebhookFailed, ""},
		}, 1},
		{"missing template field hands off", 200, `{"state":"x"}`, 0, []step{
			{"where is my order 20240518001", KindHandoff, ReasonWebhookFailed, ""},
		}, 1},
		{"timeout hands off", 200, ok, 2 * time.Second, []step{
			{"where is my order 20240518001", KindHandoff, ReasonWebhookFailed, ""},
		}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			e := newFlowEngine(t, backend(t, &calls, tt.status, tt.body, tt.delay))
			for i, s := range tt.steps {
				start := time.Now()
				d, err := e.Turn(context.Background(), Input{ConversationID: "c", Text: s.text})
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				if d.Kind != s.kind || d.Reason != s.reason || !strings.Contains(d.Reply, s.contains) {
					t.Fatalf("step %d Turn(%q) = %s %q; want %s %s containing %q", i, s.text, Explain(d), d.Reply, s.kind, s.reason, s.contains)
				}
				if d.Kind == KindHandoff && d.Skill != "order_support" {
					t.Errorf("step %d: handoff to %q, want order_support", i, d.Skill)
				}
				if el := time.Since(start); el > time.Second {
					t.Errorf("step %d took %v; the webhook timeout is 300ms", i, el)
				}
			}
			if got := calls.Load(); got != tt.wantCalls {
				t.Errorf("webhook called %d times, want %d", got, tt.wantCalls)
			}
		})
	}
}

func TestFlowDisabledWithoutURL(t *testing.T) {
	fs, _ := ParseFlows(strings.NewReader(testFlows))
	e, err := New(scriptKB{}, DefaultConfig(), WithIntents(fakeNLU{"where is my order": pred("order_status", "order_support", 0.99)}), WithFlows(fs, Webhook{}))
	if err != nil {
		t.Fatal(err)
	}
	d, _ := e.Turn(context.Background(), Input{ConversationID: "c", Text: "where is my order"})
	if d.Flow != "" {
		t.Errorf("flow without a webhook URL started: %s", Explain(d))
	}
}

func TestWebhookSettings(t *testing.T) {
	tests := []struct {
		name    string
		wh      Webhook
		wantErr bool
	}{
		{"https", Webhook{BaseURL: "https://shop.example.com/hooks", Secret: "s"}, false},
		{"loopback http", Webhook{BaseURL: "http://127.0.0.1:9000", Secret: "s"}, false},
		{"plain http elsewhere", Webhook{BaseURL: "http://shop.example.com", Secret: "s"}, true},
		{"no secret", Webhook{BaseURL: "https://shop.example.com"}, true},
		{"nothing configured", Webhook{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, _ := ParseFlows(strings.NewReader(testFlows))
			_, err := New(scriptKB{}, DefaultConfig(), WithFlows(fs, tt.wh))
			if (err != nil) != tt.wantErr {
				t.Errorf("New with %+v: err = %v, want error %v", tt.wh, err, tt.wantErr)
			}
		})
	}
}

func TestParseFlowsErrors(t *testing.T) {
	tests := map[string]string{
		"unknown key":   "flows:\n  - name: a\n    intent: b\n    slotz: []\n",
		"no slots":      "flows:\n  - name: a\n    intent: b\n    reply: {en: x}\n",
		"bad pattern":   "flows:\n  - name: a\n    intent: b\n    reply: {en: x}\n    slots: [{name: s, pattern: '('}]\n",
		"bad template":  "flows:\n  - name: a\n    intent: b\n    reply: {en: '{{'}\n    slots: [{name: s, pattern: x}]\n",
		"duplicate":     "flows:\n  - {name: a, intent: b, reply: {en: x}, slots: [{name: s, pattern: x}]}\n  - {name: a, intent: c, reply: {en: x}, slots: [{name: s, pattern: x}]}\n",
		"missing names": "flows:\n  - intent: b\n",
	}
	for name, y := range tests {
		if _, err := ParseFlows(strings.NewReader(y)); err == nil || !strings.HasPrefix(err.Error(), "bot: ") {
			t.Errorf("%s: ParseFlows err = %v, want a bot: error", name, err)
		}
	}
	if fs, err := StarterFlows(); err != nil || len(fs.Flows) == 0 {
		t.Errorf("StarterFlows() = %v, %v", fs, err)
	}
}

func TestSignature(t *testing.T) {
	now := time.Unix(1700000000, 0)
	body := []byte(`{"a":1}`)
	good := Sign("k", now, body)
	tests := []struct {
		name   string
		secret string
		header string
		body   []byte
		at     time.Time
		want   error
	}{
		{"valid", "k", good, body, now, nil},
		{"wrong secret", "other", good, body, now, ErrBadSignature},
		{"tampered body", "k", good, []byte(`{"a":2}`), now, ErrBadSignature},
		{"stale", "k", good, body, now.Add(10 * time.Minute), ErrBadSignature},
		{"missing", "k", "", body, now, ErrBadSignature},
		{"garbage", "k", "t=x,v1=y", body, now, ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := VerifySignature(tt.secret, tt.header, tt.body, tt.at, 5*time.Minute); !errors.Is(err, tt.want) && err != tt.want {
				t.Errorf("VerifySignature(%q) = %v, want %v", tt.header, err, tt.want)
			}
		})
	}
	if !strings.HasPrefix(good, "t=1700000000,v1=") || len(good) != len("t=1700000000,v1=")+64 {
		t.Errorf("Sign = %q, want t=<unix>,v1=<64 hex>", good)
	}
}

func TestFlowOptionalFields(t *testing.T) {
	const flows = `
flows:
  - name: order_status
    intent: order_status
    skill: order_support
    slots: [{name: order_id, pattern: '\b(\d{11,20})\b', prompt: {en: "Number?"}}]
    webhook: {path: /order-status, timeout: 300ms}
    reply:
      en: "Order {{.slots.order_id}} is {{.result.status}}{{with .result.carrier}}, shipped with {{.}}{{end}}{{with .result.eta}}; expected {{.}}{{end}}."
`
	tests := []struct {
		name, body string
		kind       Kind
		want       string
	}{
		{"all fields", `{"status":"shipped","carrier":"SF","eta":"Friday"}`, KindAnswer, "Order 20240518001 is shipped, shipped with SF; expected Friday."},
		{"no carrier, no eta", `{"status":"shipped"}`, KindAnswer, "Order 20240518001 is shipped."},
		{"null carrier", `{"status":"shipped","carrier":null}`, KindAnswer, "Order 20240518001 is shipped."},
		{"no status", `{"carrier":"SF"}`, KindHandoff, ""},
		{"null status", `{"status":null}`, KindHandoff, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(backend(t, &calls, 200, tt.body, 0))
			defer srv.Close()
			fs, err := ParseFlows(strings.NewReader(flows))
			if err != nil {
				t.Fatal(err)
			}
			e, _ := New(scriptKB{}, DefaultConfig(), WithIntents(fakeNLU{"where is my order": pred("order_status", "order_support", 0.99)}),
				WithFlows(fs, Webhook{BaseURL: srv.URL, Secret: "s3cret", Client: srv.Client()}))
			d, err := e.Turn(context.Background(), Input{ConversationID: "c", Text: "where is my order 20240518001"})
			if err != nil || d.Kind != tt.kind || tt.want != "" && d.Reply != tt.want {
				t.Errorf("webhook answer %s: Turn = %s %q, %v; want %s %q", tt.body, Explain(d), d.Reply, err, tt.kind, tt.want)
			}
		})
	}
}

func TestStarterOrderNumbers(t *testing.T) {
	fs, err := StarterFlows()
	if err != nil {
		t.Fatal(err)
	}
	slot := fs.byIntent["order_status"].Slots[0]
	tests := []struct {
		text, want string
	}{
		{"20240518001", "20240518001"},
		{"where is my order 20240518001?", "20240518001"},
		{"订单20240518001什么时候到", "20240518001"},
		{"2024-0518-001", "20240518001"},
		{"my order is 2024-0518-0012", "202405180012"},
		{"12345678901234567890", "12345678901234567890"},
		{"10012345678", "10012345678"},
		{"我手机号13812345678", ""},
		{"call me on 19912345678", ""},
		{"我手机号13812345678，订单号20240518001", "20240518001"},
		{"138-1234-5678", ""},
		{"2024-05-18", ""},
		{"abc123", ""},
		{"123456", ""},
	}
	for _, tt := range tests {
		if got, _ := slot.extract(tt.text); got != tt.want {
			t.Errorf("order_id from %q = %q, want %q", tt.text, got, tt.want)
		}
	}
}
