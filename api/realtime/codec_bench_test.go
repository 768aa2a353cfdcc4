package realtime

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/data"
)

// BenchmarkDecodeClientFrame measures decoding and validating the frames a
// client sends most: messages (English and Chinese), pings and resumes.
func BenchmarkDecodeClientFrame(b *testing.B) {
	frames := []struct {
		name string
		raw  []byte
	}{
		{"message-en", []byte(`{"type":"message","client_msg_id":"cli-3f47a9c2e1d04b7a","text":"How long does a refund take after I return the item?"}`)},
		{"message-zh", []byte(`{"type":"message","client_msg_id":"cli-3f47a9c2e1d04b7b","text":"退货后什么时候退钱？我上周寄回了商品。"}`)},
		{"ping", []byte(`{"type":"ping"}`)},
		{"resume", []byte(`{"type":"resume","conversation_id":"c_06h0m3350xrqddqt2w6g1mtk","last_seq":12}`)},
	}
	for _, f := range frames {
		b.Run(f.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(f.raw)))
			for b.Loop() {
				if _, err := DecodeClientFrame(f.raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEncodeFrame measures rendering and encoding the frames the
// server sends most: a stored message (with a bot's metadata), and an ack.
func BenchmarkEncodeFrame(b *testing.B) {
	botMsg := &data.Message{
		ConversationID: "c_06h0m3350xrqddqt2w6g1mtk", Seq: 6, SenderKind: data.SenderBot, Kind: data.KindQuickReplies,
		Text:      "Refunds are issued within 2 working days after the returned item reaches our warehouse.",
		Metadata:  json.RawMessage(`{"quick_replies":["Talk to a person"],"decision":{"kind":"answer","reason":"faq_match","confidence":0.91,"faq_id":"refund-time"}}`),
		CreatedAt: time.Date(2026, 11, 23, 20, 15, 14, 0, time.UTC),
	}
	visitorMsg := &data.Message{ConversationID: botMsg.ConversationID, Seq: 5, SenderKind: data.SenderVisitor, Kind: data.KindText,
		ClientMsgID: "cli-3f47a9c2e1d04b7a", Text: "How long does a refund take?", CreatedAt: botMsg.CreatedAt}
	cases := []struct {
		name  string
		frame func() any
	}{
		{"message-bot", func() any { return visitorMessageFrame(botMsg) }},
		{"message-visitor", func() any { return visitorMessageFrame(visitorMsg) }},
		{"message-agent-view", func() any { return agentMessageFrame(botMsg) }},
		{"ack", func() any {
			return AckFrame{Type: "ack", ClientMsgID: "cli-3f47a9c2e1d04b7a", ConversationID: botMsg.ConversationID, Seq: 5}
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := json.Marshal(c.frame()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
