package api

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/api/realtime"
	"github.com/frontdesk/frontdesk/data"
	"github.com/frontdesk/frontdesk/identity"
)

func signed(key data.IdentityKey, aud, sub, jti string) string {
	now := time.Now()
	return identity.Sign(key, aud, identity.Claims{Subject: sub, Name: "Li Lei", Email: "lilei@example.com", ID: jti, IssuedAt: now, ExpiresAt: now.Add(10 * time.Minute)})
}

// TestIdentityKeysAdminAPI adds, lists and removes identity keys; the list
// never shows a secret.
func TestIdentityKeysAdminAPI(t *testing.T) {
	h := newHarness(t, realtime.DefaultLimits())
	h.newAgent("boss@example.com", data.RoleAdmin)
	ac := h.login("boss@example.com")
	code, out := ac.do("POST", "/api/v1/admin/sites/demo/identity-keys", nil)
	if code != http.StatusCreated || out["secret"] == "" || out["kid"] == "" {
		t.Fatalf("POST identity-keys = %d %v; want 201 with kid and secret", code, out)
	}
	kid := out["kid"].(string)
	code, out = ac.do("GET", "/api/v1/admin/sites/demo/identity-keys", nil)
	keys, _ := out["keys"].([]any)
	if code != http.StatusOK || len(keys) != 1 || keys[0].(map[string]any)["kid"] != kid || keys[0].(map[string]any)["secret"] != nil {
		t.Fatalf("GET identity-keys = %d %v; want one key without its secret", code, out)
	}
	if code, out := ac.do("DELETE", "/api/v1/admin/sites/demo/identity-keys/"+kid, nil); code != http.StatusNoContent {
		t.Fatalf("DELETE identity key = %d %v", code, out)
	}
	if code, out := ac.do("DELETE", "/api/v1/admin/sites/demo/identity-keys/"+kid, nil); code != http.StatusNotFound {
		t.Errorf("DELETE removed key again = %d %v, want 404", code, out)
	}
	if code, out := ac.do("POST", "/api/v1/admin/sites/nope/identity-keys", nil); code != http.StatusNotFound {
		t.Errorf("POST identity key of an unknown site = %d %v, want 404", code, out)
	}
	// Refused changes are not in the audit log: one add and one removal are.
	audit, _ := h.store.ListAudit(context.Background(), 0, 100)
	changes := 0
	for _, e := range audit {
		if e.Action == data.AuditKeys {
			changes++
		}
	}
	if changes != 2 {
		t.Errorf("audit log has %d identity-key changes, want 2 (the refused ones not logged): %+v", changes, audit)
	}
	h.newAgent("agent@example.com", data.RoleAgent)
	if code, _ := h.login("agent@example.com").do("POST", "/api/v1/admin/sites/demo/identity-keys", nil); code != http.StatusForbidden {
		t.Errorf("agent POST identity-keys = %d, want 403", code)
	}
}

// TestVerifiedIdentityAcrossDevices: a valid token gives a verified
// visitor, another device with a new token continues that visitor's
// history, and bad tokens are refused with their own codes.
func TestVerifiedIdentityAcrossDevices(t *testing.T) {
	h := newHarness(t, realtime.DefaultLimits())
	ctx := context.Background()
	key, err := identity.AddKey(ctx, h.store, "demo", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tok := signed(key, "demo", "cust-7", "jti-1")
	code, out := h.session(`{"site_key":"demo","identity_token":"` + tok + `"}`)
	if code != http.StatusCreated {
		t.Fatalf("session with identity token = %d %v", code, out)
	}
	first := out["visitor_id"].(string)
	v, err := h.store.GetVisitor(ctx, first)
	if err != nil || !v.Personal.Verified || v.Personal.ExternalID != "cust-7" || v.Personal.Email != "lilei@example.com" {
		t.Fatalf("visitor after verified session = %+v, %v; want verified cust-7", v.Personal, err)
	}
	c := h.mustDial(out["token"].(string))
	c.say("m1", "hello from the laptop")
	c.until(isType("ack"))

	// Another device: a fresh anonymous session, then the identity token.
	code, anon := h.session(`{"site_key":"demo"}`)
	if code != http.StatusCreated || anon["visitor_id"] == first {
		t.Fatalf("anonymous session = %d %v", code, anon)
	}
	code, out = h.session(`{"site_key":"demo","token":"` + anon["token"].(string) + `","identity_token":"` + signed(key, "demo", "cust-7", "jti-2") + `"}`)
	if code != http.StatusCreated || out["visitor_id"] != first {
		t.Fatalf("second device session = %d %v; want visitor %s", code, out, first)
	}
	phone := h.mustDial(out["token"].(string))
	phone.send(map[string]any{"type": "resume", "last_seq": 0})
	frames := phone.until(isType("resumed"))
	if !hasText(frames, "hello from the laptop") {
		t.Errorf("second device did not get the first device's history: %v", frames)
	}

	tests := []struct {
		name, token, code string
	}{
		{"replayed", tok, "identity_replayed"},
		{"wrong audience", signed(key, "other-site", "cust-7", "jti-3"), "identity_wrong_audience"},
		{"unknown kid", signed(data.IdentityKey{ID: "nope", Secret: key.Secret}, "demo", "cust-7", "jti-4"), "identity_unknown_key"},
		{"forged", signed(data.IdentityKey{ID: key.ID, Secret: []byte("attacker-attacker-attacker-attacker")}, "demo", "cust-7", "jti-5"), "identity_bad_signature"},
		{"expired", identity.Sign(key, "demo", identity.Claims{Subject: "cust-7", ID: "jti-6", IssuedAt: time.Now().Add(-2 * time.Hour), ExpiresAt: time.Now().Add(-time.Hour)}), "identity_expired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := h.session(`{"site_key":"demo","identity_token":"` + tt.token + `"}`)
			if code != http.StatusUnauthorized || errCode(out) != tt.code {
				t.Errorf("session with %s token = %d %v; want 401 %s", tt.name, code, out, tt.code)
			}
		})
	}
}

func hasText(frames []map[string]any, text string) bool {
	for _, f := range frames {
		if f["text"] == text {
			return true
		}
	}
	return false
}

// TestIdentityEnforcement: with identity.required an unverified identify
// frame is refused, a verified one is accepted, and an identify frame cannot
// take an identity another visitor holds.
func TestIdentityEnforcement(t *testing.T) {
	h := newHarness(t, realtime.DefaultLimits())
	ctx := context.Background()
	key, err := identity.AddKey(ctx, h.store, "demo", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	site, _ := h.store.SiteByKey(ctx, "demo")
	site.Settings.Identity.Required = true
	if _, err := h.store.UpdateSiteSettings(ctx, site.ID, site.Settings); err != nil {
		t.Fatal(err)
	}
	c := h.mustDial(h.token())
	c.send(map[string]any{"type": "identify", "external_id": "cust-9", "name": "Mallory", "email": "victim@example.com"})
	if f := c.until(isType("error")); f[len(f)-1]["code"] != "identity_required" {
		t.Fatalf("unverified identify = %v, want error identity_required", f[len(f)-1])
	}
	c.send(map[string]any{"type": "identify", "token": signed(key, "demo", "cust-9", "e-1")})
	if f := c.until(isType("identified")); f[len(f)-1]["verified"] != true {
		t.Fatalf("verified identify = %v, want identified verified", f[len(f)-1])
	}
	// Another browser presents a valid token for the same customer in a frame:
	// it is told to start a session, and does not become that visitor here.
	d := h.mustDial(h.token())
	d.send(map[string]any{"type": "identify", "token": signed(key, "demo", "cust-9", "e-2")})
	if f := d.until(isType("error")); f[len(f)-1]["code"] != "identity_elsewhere" {
		t.Errorf("identify of an identity held elsewhere = %v, want identity_elsewhere", f[len(f)-1])
	}
	// Without a token nobody gets the identified visitor's session.
	if code, out := h.session(`{"site_key":"demo","identity_token":"x.y.z"}`); code != http.StatusUnauthorized {
		t.Errorf("session with a junk token = %d %v, want 401", code, out)
	}
}
