package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// ErrBadToken means a visitor token is malformed, forged or expired.
var ErrBadToken = errors.New("api: bad visitor token")

// visitorClaims is what a visitor token asserts.
type visitorClaims struct {
	VisitorID string `json:"v"`
	SiteID    string `json:"s"`
	Expires   int64  `json:"e"`
}

// tokens signs and verifies visitor tokens with HMAC-SHA256.
type tokens struct {
	key []byte
	ttl time.Duration
	now func() time.Time
}

func (t tokens) sign(visitorID, siteID string) (string, time.Time) {
	exp := t.now().Add(t.ttl)
	payload, _ := json.Marshal(visitorClaims{VisitorID: visitorID, SiteID: siteID, Expires: exp.Unix()})
	p := base64.RawURLEncoding.EncodeToString(payload)
	return p + "." + base64.RawURLEncoding.EncodeToString(t.mac(p)), exp
}

func (t tokens) mac(p string) []byte {
	m := hmac.New(sha256.New, t.key)
	m.Write([]byte("visitor-token.v1." + p))
	return m.Sum(nil)
}

func (t tokens) verify(token string) (visitorClaims, error) {
	p, sig, ok := strings.Cut(token, ".")
	if !ok || len(token) > 512 {
		return visitorClaims{}, ErrBadToken
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, t.mac(p)) {
		return visitorClaims{}, ErrBadToken
	}
	payload, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return visitorClaims{}, ErrBadToken
	}
	var c visitorClaims
	if err := json.Unmarshal(payload, &c); err != nil || c.VisitorID == "" || c.SiteID == "" {
		return visitorClaims{}, ErrBadToken
	}
	if t.now().Unix() >= c.Expires {
		return visitorClaims{}, ErrBadToken
	}
	return c, nil
}
