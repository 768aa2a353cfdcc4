package identity

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/data"
)

var (
	t0     = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	oldKey = data.IdentityKey{ID: "k-old", Secret: []byte("old-secret-old-secret-old-secret")}
	newKey = data.IdentityKey{ID: "k-new", Secret: []byte("new-secret-new-secret-new-secret")}
)

func claims(jti string, iat time.Time, life time.Duration) Claims {
	return Claims{Subject: "user-42", Name: "Li Lei", Email: "lilei@example.com", ID: jti, IssuedAt: iat, ExpiresAt: iat.Add(life)}
}

func TestVerify(t *testing.T) {
	site := data.Site{ID: "s_1", Key: "shop", IdentityKeys: []data.IdentityKey{oldKey, newKey}}
	forged := data.IdentityKey{ID: "k-new", Secret: []byte("not-the-site-secret-not-the-site")}
	unknown := data.IdentityKey{ID: "k-gone", Secret: oldKey.Secret}
	noneAlg := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","kid":"k-new"}`)) + "." +
		strings.Split(Sign(newKey, "shop", claims("j-none", t0, time.Hour)), ".")[1] + "."
	tests := []struct {
		name  string
		token string
		want  error
	}{
		{"valid, newest key", Sign(newKey, "shop", claims("j1", t0.Add(-time.Minute), time.Hour)), nil},
		{"valid, older key during rotation", Sign(oldKey, "shop", claims("j2", t0, 30*time.Minute)), nil},
		{"expired", Sign(newKey, "shop", claims("j3", t0.Add(-2*time.Hour), time.Hour)), ErrExpired},
		{"lives longer than an hour", Sign(newKey, "shop", claims("j4", t0, time.Hour+time.Second)), ErrLifetime},
		{"issued in the future", Sign(newKey, "shop", claims("j5", t0.Add(10*time.Minute), 30*time.Minute)), ErrLifetime},
		{"wrong key (forged signature)", Sign(forged, "shop", claims("j6", t0, time.Hour)), ErrSignature},
		{"wrong audience", Sign(newKey, "other-shop", claims("j7", t0, time.Hour)), ErrAudience},
		{"unknown kid", Sign(unknown, "shop", claims("j8", t0, time.Hour)), ErrUnknownKey},
		{"alg none", noneAlg, ErrMalformed},
		{"not a JWT", "abc.def", ErrMalformed},
		{"no jti", Sign(newKey, "shop", claims("", t0, time.Hour)), ErrMalformed},
	}
	v := NewVerifier(func() time.Time { return t0 })
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := v.Verify(site, tt.token)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %+v, %v; want error %v", c, err, tt.want)
			}
			if tt.want == nil && (c.Subject != "user-42" || c.Email != "lilei@example.com" || c.Name != "Li Lei") {
				t.Errorf("Verify claims = %+v, want sub user-42 with name and email", c)
			}
			if tt.want != nil && Code(err) == "" {
				t.Errorf("Code(%v) is empty; every verification error needs a code", err)
			}
		})
	}
}

func TestReplayRejectedUntilExpiry(t *testing.T) {
	now := t0
	v := NewVerifier(func() time.Time { return now })
	site := data.Site{ID: "s_1", Key: "shop", IdentityKeys: []data.IdentityKey{newKey}}
	tok := Sign(newKey, "shop", claims("once", t0, 10*time.Minute))
	if _, err := v.Verify(site, tok); err != nil {
		t.Fatalf("first Verify = %v, want nil", err)
	}
	if _, err := v.Verify(site, tok); !errors.Is(err, ErrReplayed) {
		t.Fatalf("second Verify = %v, want ErrReplayed", err)
	}
	other := data.Site{ID: "s_2", Key: "shop", IdentityKeys: []data.IdentityKey{newKey}}
	if _, err := v.Verify(other, tok); err != nil {
		t.Errorf("same jti on another site = %v, want nil (replay memory is per site)", err)
	}
	now = t0.Add(11 * time.Minute)
	if _, err := v.Verify(site, tok); !errors.Is(err, ErrExpired) {
		t.Errorf("after expiry Verify = %v, want ErrExpired", err)
	}
}

// fakeKeys is an in-memory KeyStore.
type fakeKeys struct{ site data.Site }

func (f *fakeKeys) SiteByKey(_ context.Context, key string) (data.Site, error) {
	if key != f.site.Key {
		return data.Site{}, data.ErrNotFound
	}
	return f.site, nil
}

func (f *fakeKeys) SetIdentityKeys(_ context.Context, _ string, keys []data.IdentityKey) error {
	f.site.IdentityKeys = keys
	return nil
}

func TestRotationWithoutDowntime(t *testing.T) {
	ctx := context.Background()
	st := &fakeKeys{site: data.Site{ID: "s_1", Key: "shop"}}
	v := NewVerifier(func() time.Time { return t0 })
	k1, err := AddKey(ctx, st, "shop", t0)
	if err != nil {
		t.Fatal(err)
	}
	oldTok := Sign(k1, "shop", claims("r1", t0, time.Hour))
	k2, err := AddKey(ctx, st, "shop", t0)
	if err != nil || k2.ID == k1.ID {
		t.Fatalf("AddKey = %+v, %v; want a second key", k2, err)
	}
	// Both keys verify while the site's servers switch over.
	if _, err := v.Verify(st.site, oldTok); err != nil {
		t.Errorf("token of the old key during rotation: %v", err)
	}
	if _, err := v.Verify(st.site, Sign(k2, "shop", claims("r2", t0, time.Hour))); err != nil {
		t.Errorf("token of the new key: %v", err)
	}
	if err := RemoveKey(ctx, st, "shop", k1.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(st.site, Sign(k1, "shop", claims("r3", t0, time.Hour))); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("token of the removed key = %v, want ErrUnknownKey", err)
	}
	if err := RemoveKey(ctx, st, "shop", "nope"); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("RemoveKey(unknown) = %v, want ErrNotFound", err)
	}
}

// sharedOnce is a OnceStore two verifiers (two nodes) share.
type sharedOnce struct {
	seen map[string]bool
	fail bool
}

func (s *sharedOnce) Use(_ context.Context, key string, _ time.Time) (bool, error) {
	if s.fail {
		return false, errors.New("redis down")
	}
	if s.seen[key] {
		return false, nil
	}
	s.seen[key] = true
	return true, nil
}

func TestReplayRefusedOnAnotherNode(t *testing.T) {
	shared := &sharedOnce{seen: map[string]bool{}}
	clock := func() time.Time { return t0 }
	nodeA, nodeB := NewVerifier(clock), NewVerifier(clock)
	nodeA.ShareReplays(shared)
	nodeB.ShareReplays(shared)
	site := data.Site{ID: "s_1", Key: "shop", IdentityKeys: []data.IdentityKey{newKey}}
	tok := Sign(newKey, "shop", claims("multi", t0, 10*time.Minute))
	if _, err := nodeA.Verify(site, tok); err != nil {
		t.Fatalf("node A = %v", err)
	}
	if _, err := nodeB.Verify(site, tok); !errors.Is(err, ErrReplayed) {
		t.Errorf("the same token on node B = %v, want ErrReplayed", err)
	}
	// With the shared store down, each node still refuses what it has seen.
	shared.fail = true
	tok2 := Sign(newKey, "shop", claims("down", t0, 10*time.Minute))
	if _, err := nodeA.Verify(site, tok2); err != nil {
		t.Fatalf("node A while the shared store is down = %v", err)
	}
	if _, err := nodeA.Verify(site, tok2); !errors.Is(err, ErrReplayed) {
		t.Errorf("replay on node A while the shared store is down = %v, want ErrReplayed", err)
	}
}
