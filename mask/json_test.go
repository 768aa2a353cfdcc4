package mask

import (
	"encoding/json"
	"testing"
)

func TestPartialJSON(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"strings masked, numbers kept", `{"query":"call 13800138000","confidence":0.9,"seq":1732440000000}`, `{"confidence":0.9,"query":"call 138****8000","seq":1732440000000}`},
		{"nested", `{"decision":{"hits":[{"q":"mail lilei@example.com"}]}}`, `{"decision":{"hits":[{"q":"mail l***@example.com"}]}}`},
		{"empty", ``, ``},
		{"not JSON", `{"query":`, ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(PartialJSON(json.RawMessage(tt.in))); got != tt.want {
				t.Errorf("PartialJSON(%s) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}
