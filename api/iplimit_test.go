package api

import (
	"net/http"
	"testing"

	"github.com/frontdesk/frontdesk/api/realtime"
)

// TestPerIPLimits: one address may start only so many sessions and open
// only so many visitor sockets; the rest get 429 with Retry-After.
func TestPerIPLimits(t *testing.T) {
	h := newHarness(t, realtime.DefaultLimits())
	h.server.sessionLimit = perIPLimiter(nil, "sessions", 3, 1)
	h.server.socketLimit = perIPLimiter(nil, "sockets", 3, 2)
	var token string
	for i := 1; i <= 4; i++ {
		code, out := h.session(`{"site_key":"demo"}`)
		want := http.StatusCreated
		if i == 4 {
			want = http.StatusTooManyRequests
		}
		if code != want {
			t.Fatalf("session %d = %d %v, want %d", i, code, out, want)
		}
		if i == 4 && errCode(out) != "rate_limited" {
			t.Errorf("session 4 error code = %v, want rate_limited", errCode(out))
		}
		if i == 1 {
			token = out["token"].(string)
		}
	}
	for i := 1; i <= 7; i++ {
		_, resp, err := h.dial(token, nil)
		if i <= 6 && err != nil {
			t.Fatalf("socket %d: %v", i, err)
		}
		if i == 7 {
			if err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
				t.Fatalf("socket 7 = %v %v, want 429 with Retry-After", resp, err)
			}
		}
	}
	// Another address is not affected.
	if ok, _ := h.server.sessionLimit.Allow(t.Context(), "203.0.113.9"); !ok {
		t.Error("a different address was limited")
	}
}
