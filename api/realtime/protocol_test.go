package realtime

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/data"
)

func TestDecodeClientFrame(t *testing.T) {
	long := strings.Repeat("好", MaxTextRunes+1)
	yes, no := true, false
	tests := []struct {
		name     string
		in       string
		wantCode string // "" = valid
		want     ClientFrame
	}{
		{"message", `{"type":"message","client_msg_id":"a-1","text":"hi"}`, "", ClientFrame{Type: "message", ClientMsgID: "a-1", Text: "hi"}},
		{"chinese message", `{"type":"message","client_msg_id":"x","text":"我要退货"}`, "", ClientFrame{Type: "message", ClientMsgID: "x", Text: "我要退货"}},
		{"unknown fields ignored", `{"type":"ping","extra":1}`, "", ClientFrame{Type: "ping"}},
		{"resume", `{"type":"resume","conversation_id":"c_1","last_seq":7}`, "", ClientFrame{Type: "resume", ConversationID: "c_1", LastSeq: 7}},
		{"resume from zero", `{"type":"resume"}`, "", ClientFrame{Type: "resume"}},
		{"not json", `hello`, CodeBadJSON, ClientFrame{}},
		{"truncated", `{"type":"message"`, CodeBadJSON, ClientFrame{}},
		{"array", `[1,2]`, CodeBadJSON, ClientFrame{}},
		{"trailing data", `{"type":"ping"} {"type":"ping"}`, CodeBadJSON, ClientFrame{}},
		{"wrong field type", `{"type":"message","text":5}`, CodeBadJSON, ClientFrame{}},
		{"bad utf8", "{\"type\":\"message\",\"client_msg_id\":\"a\",\"text\":\"\xff\"}", CodeBadUTF8, ClientFrame{}},
		{"no type", `{"text":"hi"}`, CodeBadFrame, ClientFrame{}},
		{"unknown type", `{"type":"subscribe"}`, CodeUnknownType, ClientFrame{}},
		{"missing client id", `{"type":"message","text":"hi"}`, CodeBadClientID, ClientFrame{}},
		{"client id with spaces", `{"type":"message","client_msg_id":"a b","text":"hi"}`, CodeBadClientID, ClientFrame{}},
		{"client id too long", `{"type":"message","client_msg_id":"` + strings.Repeat("a", 65) + `","text":"hi"}`, CodeBadClientID, ClientFrame{}},
		{"empty text", `{"type":"message","client_msg_id":"a","text":"  "}`, CodeEmptyText, ClientFrame{}},
		{"text too long", `{"type":"message","client_msg_id":"a","text":"` + long + `"}`, CodeTextTooLong, ClientFrame{}},
		{"negative seq", `{"type":"resume","last_seq":-1}`, CodeBadFrame, ClientFrame{}},
		{"track", `{"type":"track","name":"added_to_cart","props":{"sku":"A1"}}`, "", ClientFrame{Type: "track", Name: "added_to_cart", Props: json.RawMessage(`{"sku":"A1"}`)}},
		{"track without name", `{"type":"track"}`, CodeBadFrame, ClientFrame{}},
		{"track with array props", `{"type":"track","name":"x","props":[1]}`, CodeBadFrame, ClientFrame{}},
		{"identify", `{"type":"identify","external_id":"c-1","name":"Li","email":"li@example.com"}`, "", ClientFrame{Type: "identify", ExternalID: "c-1", Name: "Li", Email: "li@example.com"}},
		{"identify too long", `{"type":"identify","name":"` + strings.Repeat("n", 101) + `"}`, CodeBadFrame, ClientFrame{}},
		{"read", `{"type":"read","conversation_id":"c_1","seq":4}`, "", ClientFrame{Type: "read", ConversationID: "c_1", Seq: 4}},
		{"read without seq", `{"type":"read","conversation_id":"c_1"}`, CodeBadFrame, ClientFrame{}},
		{"rate", `{"type":"rate","conversation_id":"c_1","score":5}`, "", ClientFrame{Type: "rate", ConversationID: "c_1", Score: 5}},
		{"rate out of range", `{"type":"rate","conversation_id":"c_1","score":6}`, CodeBadFrame, ClientFrame{}},
		{"leave message without contact", `{"type":"leave_message","text":"hi"}`, CodeBadFrame, ClientFrame{}},
		{"feedback not helpful", `{"type":"feedback","conversation_id":"c_1","seq":6,"helpful":false}`, "", ClientFrame{Type: "feedback", ConversationID: "c_1", Seq: 6, Helpful: &no}},
		{"feedback helpful", `{"type":"feedback","conversation_id":"c_1","seq":6,"helpful":true}`, "", ClientFrame{Type: "feedback", ConversationID: "c_1", Seq: 6, Helpful: &yes}},
		{"feedback without helpful", `{"type":"feedback","conversation_id":"c_1","seq":6}`, CodeBadFrame, ClientFrame{}},
		{"feedback with null helpful", `{"type":"feedback","conversation_id":"c_1","seq":6,"helpful":null}`, CodeBadFrame, ClientFrame{}},
		{"feedback without seq", `{"type":"feedback","conversation_id":"c_1","helpful":true}`, CodeBadFrame, ClientFrame{}},
		{"feedback with seq 0", `{"type":"feedback","conversation_id":"c_1","seq":0,"helpful":true}`, CodeBadFrame, ClientFrame{}},
		{"feedback without conversation", `{"type":"feedback","seq":6,"helpful":true}`, CodeBadFrame, ClientFrame{}},
		{"feedback with a string", `{"type":"feedback","conversation_id":"c_1","seq":6,"helpful":"yes"}`, CodeBadJSON, ClientFrame{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ferr := DecodeClientFrame([]byte(tt.in))
			if tt.wantCode == "" {
				if ferr != nil {
					t.Fatalf("DecodeClientFrame(%s) error %v, want none", tt.in, ferr)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("DecodeClientFrame(%s) = %+v, want %+v", tt.in, got, tt.want)
				}
				return
			}
			if ferr == nil || ferr.Code != tt.wantCode {
				t.Errorf("DecodeClientFrame(%s) error = %v, want code %s", tt.in, ferr, tt.wantCode)
			}
		})
	}
}

// FuzzDecodeClientFrame checks that no input panics and that every accepted
// frame satisfies the protocol's invariants. Seeds live in testdata/fuzz.
func FuzzDecodeClientFrame(f *testing.F) {
	for _, s := range []string{
		`{"type":"message","client_msg_id":"a","text":"hi"}`, `{"type":"resume","last_seq":3}`, `{"type":"ping"}`,
		`{}`, `null`, `{"type":"message","client_msg_id":"","text":""}`, "{\"type\":\"message\",\"text\":\"\\ud800\"}",
		`{"type":"feedback","conversation_id":"c_1","seq":2,"helpful":false}`, `{"type":"feedback","conversation_id":"c_1","seq":2}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, ferr := DecodeClientFrame(b)
		if ferr != nil {
			if ferr.Code == "" || ferr.Message == "" {
				t.Fatalf("error without code or message: %+v", ferr)
			}
			return
		}
		switch fr.Type {
		case FrameMessage:
			if !validClientID(fr.ClientMsgID) || strings.TrimSpace(fr.Text) == "" || len(fr.Text) > data.MaxTextBytes {
				t.Fatalf("accepted an invalid message frame: %+v", fr)
			}
		case FrameResume:
			if fr.LastSeq < 0 {
				t.Fatalf("accepted negative last_seq: %+v", fr)
			}
		case FrameFeedback:
			if fr.ConversationID == "" || fr.Seq < 1 || fr.Helpful == nil {
				t.Fatalf("accepted an invalid feedback frame: %+v", fr)
			}
		case FramePing:
		default:
			t.Fatalf("accepted unknown type %q", fr.Type)
		}
	})
}

func TestVisitorMessageFrameHidesDecision(t *testing.T) {
	m := &data.Message{
		ConversationID: "c", Seq: 4, SenderKind: data.SenderBot, Kind: data.KindQuickReplies, Text: "Did you mean?",
		ClientMsgID: "bot-reply-3", CreatedAt: time.Unix(0, 0),
		Metadata: json.RawMessage(`{"quick_replies":["A","B"],"decision":{"kind":"clarify","confidence":0.4}}`),
	}
	f := visitorMessageFrame(m)
	b, _ := json.Marshal(f)
	if strings.Contains(string(b), "decision") || strings.Contains(string(b), "confidence") || strings.Contains(string(b), "bot-reply") {
		t.Errorf("visitor frame leaks internals: %s", b)
	}
	if len(f.QuickReplies) != 2 || f.QuickReplies[1] != "B" || f.Seq != 4 || f.Sender != "bot" {
		t.Errorf("visitor frame = %+v", f)
	}
}

func TestBucket(t *testing.T) {
	b := newBucket(1, 3)
	now := time.Unix(100, 0)
	for i := 0; i < 3; i++ {
		if !b.allow(now) {
			t.Fatalf("burst token %d refused", i+1)
		}
	}
	if b.allow(now) {
		t.Fatal("4th message in the same instant allowed, burst is 3")
	}
	if !b.allow(now.Add(1100 * time.Millisecond)) {
		t.Fatal("token not refilled after 1.1s at 1/s")
	}
	if b.allow(now.Add(1200 * time.Millisecond)) {
		t.Fatal("second token 0.1s later allowed")
	}
}
