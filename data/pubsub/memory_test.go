package pubsub

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/frontdesk/frontdesk/data"
)

// TestMemoryEvents checks that event and byte subscribers of the in-process
// broker see the same events, whichever way they were published, and that
// every event subscriber of one publish shares one value.
func TestMemoryEvents(t *testing.T) {
	ctx := context.Background()
	m := NewMemory()
	var gotBytes [][]byte
	var gotEvents []*data.Event
	if _, err := m.Subscribe("t", func(_ string, p []byte) { gotBytes = append(gotBytes, p) }); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := m.SubscribeEvents("t", func(_ string, ev *data.Event) { gotEvents = append(gotEvents, ev) }); err != nil {
			t.Fatal(err)
		}
	}
	msg := &data.Message{ConversationID: "c1", Seq: 3, Text: "你好"}
	ev := &data.Event{Type: data.EventMessage, Message: msg}
	if err := m.PublishEvent(ctx, "t", ev); err != nil {
		t.Fatal(err)
	}
	if len(gotEvents) != 2 || gotEvents[0] != ev || gotEvents[1] != ev {
		t.Fatalf("event subscribers got %v, want the published value twice", gotEvents)
	}
	if len(gotBytes) != 1 {
		t.Fatalf("byte subscriber got %d payloads, want 1", len(gotBytes))
	}
	var decoded data.Event
	if err := json.Unmarshal(gotBytes[0], &decoded); err != nil || decoded.Message == nil || decoded.Message.Text != "你好" || decoded.Message.Seq != 3 {
		t.Fatalf("byte subscriber got %s (%v)", gotBytes[0], err)
	}

	// Bytes published: event subscribers get one decoded value.
	gotEvents, gotBytes = nil, nil
	payload, _ := json.Marshal(data.Event{Type: data.EventTyping, ConversationID: "c2", Sender: data.SenderAgent})
	if err := m.Publish(ctx, "t", payload); err != nil {
		t.Fatal(err)
	}
	if len(gotBytes) != 1 || string(gotBytes[0]) != string(payload) {
		t.Fatalf("byte subscriber got %q", gotBytes)
	}
	if len(gotEvents) != 2 || gotEvents[0] != gotEvents[1] || gotEvents[0].ConversationID != "c2" || gotEvents[0].Type != data.EventTyping {
		t.Fatalf("event subscribers got %+v", gotEvents)
	}

	// A payload that is no event reaches byte subscribers only, and Publish says so.
	gotEvents, gotBytes = nil, nil
	if err := m.Publish(ctx, "t", []byte("not json")); err == nil {
		t.Fatal("Publish of a non-event to event subscribers: no error")
	}
	if len(gotBytes) != 1 || len(gotEvents) != 0 {
		t.Fatalf("after a bad payload: %d byte and %d event deliveries, want 1 and 0", len(gotBytes), len(gotEvents))
	}

	// Publisher hands the in-process broker the value itself.
	gotEvents, gotBytes = nil, nil
	NewPublisher(m, slog.New(slog.DiscardHandler)).Event(ctx, "t", data.Event{Type: data.EventRead, ConversationID: "c3", Seq: 9})
	if len(gotEvents) != 2 || gotEvents[0].Seq != 9 || len(gotBytes) != 1 {
		t.Fatalf("publisher: %d events, %d payloads", len(gotEvents), len(gotBytes))
	}

	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.PublishEvent(ctx, "t", ev); err == nil {
		t.Fatal("PublishEvent on a closed broker: no error")
	}
	if _, err := m.SubscribeEvents("t", func(string, *data.Event) {}); err == nil {
		t.Fatal("SubscribeEvents on a closed broker: no error")
	}
}
