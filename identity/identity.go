package identity

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/frontdesk/frontdesk/data"
)

// MaxLifetime is the longest a token may live: exp - iat.
const MaxLifetime = time.Hour

// MaxKeys is how many identity keys a site may hold at once (several during a rotation).
const MaxKeys = 5

// clockSkew is how far a token's iat may be in the future.
const clockSkew = time.Minute

// maxReplayEntries bounds the remembered token ids per verifier.
const maxReplayEntries = 1 << 20

// Errors returned by Verify; each has a stable Code for error frames and responses.
var (
	ErrMalformed  = errors.New("identity: token is not an HS256 JWT with kid, sub, iat, exp, aud and jti")
	ErrUnknownKey = errors.New("identity: token's kid names no identity key of this site")
	ErrSignature  = errors.New("identity: token signature does not verify")
	ErrExpired    = errors.New("identity: token has expired")
	ErrLifetime   = errors.New("identity: token lives longer than 1 hour (exp - iat) or was issued in the future")
	ErrAudience   = errors.New("identity: token's aud is not this site's key")
	ErrReplayed   = errors.New("identity: token (jti) was already used")
	ErrNoKeys     = errors.New("identity: site has no identity keys")
	// ErrRequired means the site accepts only verified identities and none was given.
	ErrRequired = errors.New("identity: this site accepts only identities with a signed token")
	// ErrAlreadyVerified means an unverified identity may not replace a verified one.
	ErrAlreadyVerified = errors.New("identity: the visitor already has a verified identity")
	// ErrElsewhere means the verified identity belongs to another visitor
	// (another device): start a session with the token to continue as them.
	ErrElsewhere = errors.New("identity: this identity belongs to another visitor; start a session with identity_token to continue it")
)

// Code returns the stable error code of a verification error ("" if err is not one).
func Code(err error) string {
	for _, c := range codes {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	return ""
}

var codes = [...]struct {
	err  error
	code string
}{
	{ErrMalformed, "identity_malformed"},
	{ErrUnknownKey, "identity_unknown_key"},
	{ErrSignature, "identity_bad_signature"},
	{ErrExpired, "identity_expired"},
	{ErrLifetime, "identity_lifetime"},
	{ErrAudience, "identity_wrong_audience"},
	{ErrReplayed, "identity_replayed"},
	{ErrNoKeys, "identity_no_keys"},
	{ErrRequired, "identity_required"},
	{ErrAlreadyVerified, "identity_already_verified"},
	{ErrElsewhere, "identity_elsewhere"},
}

// Claims is what a verified token says about the visitor.
type Claims struct {
	// Subject is the customer's user id in the site's own system.
	Subject string
	Name    string
	Email   string
	// KeyID is the kid of the key that signed the token.
	KeyID     string
	ID        string
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// Verifier checks tokens and remembers the ids (jti) of accepted ones until
// they expire, so a token is accepted once. The memory is per process; with
// several nodes a replay on another node within the token's life is accepted
// (docs/security.md).
type Verifier struct {
	now  func() time.Time
	mu   sync.Mutex
	seen map[string]time.Time // site id + jti -> exp
	// shared, when set, remembers token ids for every node (Redis).
	shared OnceStore
}

// OnceStore remembers keys until a time across nodes: Use reports whether
// the key was new (first use).
type OnceStore interface {
	Use(ctx context.Context, key string, until time.Time) (bool, error)
}

// ShareReplays makes the verifier remember token ids in s, so a token used
// on one node is refused on every other. If s fails, this node's own memory
// still refuses replays it has seen.
func (v *Verifier) ShareReplays(s OnceStore) { v.shared = s }

// NewVerifier returns a verifier using the clock now (time.Now when nil).
func NewVerifier(now func() time.Time) *Verifier {
	if now == nil {
		now = time.Now
	}
	return &Verifier{now: now, seen: map[string]time.Time{}}
}

type header struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Typ string `json:"typ"`
}

type payload struct {
	Sub   string          `json:"sub"`
	Name  string          `json:"name"`
	Email string          `json:"email"`
	Iat   *int64          `json:"iat"`
	Exp   *int64          `json:"exp"`
	Aud   json.RawMessage `json:"aud"`
	Jti   string          `json:"jti"`
}

// Verify checks token against the site's identity keys and audience (its
// key) and, when it is valid, records its jti so it cannot be used again.
func (v *Verifier) Verify(site data.Site, token string) (Claims, error) {
	c, err := v.check(site, token)
	if err != nil {
		return Claims{}, err
	}
	if err := v.remember(site.ID+"\x00"+c.ID, c.ExpiresAt); err != nil {
		return Claims{}, err
	}
	return c, nil
}

func (v *Verifier) check(site data.Site, token string) (Claims, error) {
	if len(token) > 4096 {
		return Claims{}, ErrMalformed
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return Claims{}, ErrMalformed
	}
	var h header
	if err := decodePart(parts[0], &h); err != nil || h.Alg != "HS256" || h.Kid == "" {
		return Claims{}, ErrMalformed
	}
	if len(site.IdentityKeys) == 0 {
		return Claims{}, ErrNoKeys
	}
	var key []byte
	for _, k := range site.IdentityKeys {
		if hmac.Equal([]byte(k.ID), []byte(h.Kid)) {
			key = k.Secret
		}
	}
	if key == nil {
		return Claims{}, ErrUnknownKey
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sig, mac(key, parts[0]+"."+parts[1])) {
		return Claims{}, ErrSignature
	}
	var p payload
	if err := decodePart(parts[1], &p); err != nil || p.Sub == "" || p.Jti == "" || p.Iat == nil || p.Exp == nil ||
		len(p.Sub) > 128 || len(p.Jti) > 128 || len(p.Name) > 100 || len(p.Email) > 254 {
		return Claims{}, ErrMalformed
	}
	now := v.now()
	iat, exp := time.Unix(*p.Iat, 0), time.Unix(*p.Exp, 0)
	if !now.Before(exp) {
		return Claims{}, ErrExpired
	}
	if exp.Sub(iat) > MaxLifetime || iat.After(now.Add(clockSkew)) || exp.Before(iat) {
		return Claims{}, ErrLifetime
	}
	if !audienceIs(p.Aud, site.Key) {
		return Claims{}, ErrAudience
	}
	return Claims{Subject: p.Sub, Name: p.Name, Email: p.Email, KeyID: h.Kid, ID: p.Jti, IssuedAt: iat, ExpiresAt: exp}, nil
}

// remember records a token id until exp; it fails if the id is already known.
func (v *Verifier) remember(id string, exp time.Time) error {
	if v.shared != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		first, err := v.shared.Use(ctx, "jti:"+id, exp)
		cancel()
		if err == nil && !first {
			return ErrReplayed
		}
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.now()
	if until, ok := v.seen[id]; ok && now.Before(until) {
		return ErrReplayed
	}
	if len(v.seen) >= maxReplayEntries {
		for k, until := range v.seen {
			if !now.Before(until) {
				delete(v.seen, k)
			}
		}
		if len(v.seen) >= maxReplayEntries {
			// Refusing is safer than forgetting ids that may be replayed.
			return fmt.Errorf("identity: too many live tokens: %w", ErrReplayed)
		}
	}
	v.seen[id] = exp
	return nil
}

func audienceIs(raw json.RawMessage, want string) bool {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return one == want && want != ""
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil {
		for _, a := range many {
			if a == want && want != "" {
				return true
			}
		}
	}
	return false
}

func decodePart(s string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func mac(key []byte, signingInput string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(signingInput))
	return m.Sum(nil)
}

// Sign makes an HS256 token for claims with the key; sites do this on
// their own servers (docs/widget.md), and tests and `frontdesk admin` use it.
func Sign(key data.IdentityKey, audience string, c Claims) string {
	h, _ := json.Marshal(header{Alg: "HS256", Kid: key.ID, Typ: "JWT"})
	iat, exp := c.IssuedAt.Unix(), c.ExpiresAt.Unix()
	p, _ := json.Marshal(map[string]any{"sub": c.Subject, "name": c.Name, "email": c.Email, "iat": iat, "exp": exp, "aud": audience, "jti": c.ID})
	in := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p)
	return in + "." + base64.RawURLEncoding.EncodeToString(mac(key.Secret, in))
}

// NewKey makes a random identity key with a fresh kid. Its secret is 32
// random bytes written as 43 base64url characters, and those characters are
// the HMAC key, so any JWT library that takes a string secret signs with it.
func NewKey(now time.Time) (data.IdentityKey, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return data.IdentityKey{}, fmt.Errorf("identity: new key: %w", err)
	}
	secret := []byte(base64.RawURLEncoding.EncodeToString(raw))
	return data.IdentityKey{ID: data.NewID("ik_"), Secret: secret, CreatedAt: now.UTC().Truncate(time.Millisecond)}, nil
}
