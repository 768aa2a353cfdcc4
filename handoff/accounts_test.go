package handoff

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/frontdesk/frontdesk/data"
)

func TestAccounts(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	acc := NewAccounts(e.store, time.Hour, bcrypt.MinCost)
	clock := time.Now().UTC()
	acc.now = func() time.Time { return clock }
	a, err := acc.CreateAgent(ctx, NewAgent{Email: "Mei@Acme.example", Name: "韩梅梅", Password: "correct horse battery", Groups: []string{"order_support"}})
	if err != nil {
		t.Fatalf("CreateAgent: %v", err)
	}
	if a.Role != data.RoleAgent || a.Capacity != 3 || strings.Contains(a.PasswordHash, "correct") {
		t.Errorf("agent = %+v; want role agent, capacity 3, a hashed password", a)
	}
	bad := []NewAgent{
		{Email: "x@acme.example", Name: "x", Password: "short"},
		{Email: "y@acme.example", Name: "y", Password: "long enough pw", Groups: []string{"nope"}},
		{Email: "mei@acme.example", Name: "dup", Password: "long enough pw"},
	}
	for _, in := range bad {
		if _, err := acc.CreateAgent(ctx, in); err == nil {
			t.Errorf("CreateAgent(%+v) succeeded", in)
		}
	}
	if _, err := acc.Login(ctx, "mei@acme.example", "wrong password!"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("wrong password: %v", err)
	}
	if _, err := acc.Login(ctx, "nobody@acme.example", "correct horse battery"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("unknown e-mail: %v, want the same ErrBadCredentials", err)
	}
	s, err := acc.Login(ctx, "MEI@acme.example", "correct horse battery")
	if err != nil || s.Token == "" || s.CSRFToken == "" || s.Agent.ID != a.ID {
		t.Fatalf("Login = %+v, %v", s, err)
	}
	got, err := acc.Authenticate(ctx, s.Token)
	if err != nil || got.Agent.ID != a.ID || got.CSRFToken != s.CSRFToken {
		t.Errorf("Authenticate = %+v, %v", got, err)
	}
	if _, err := acc.Authenticate(ctx, s.Token+"x"); !errors.Is(err, ErrNoSession) {
		t.Errorf("tampered token: %v", err)
	}
	clock = clock.Add(2 * time.Hour)
	if _, err := acc.Authenticate(ctx, s.Token); !errors.Is(err, ErrNoSession) {
		t.Errorf("expired session: %v, want ErrNoSession", err)
	}
	clock = clock.Add(-2 * time.Hour)
	s2, _ := acc.Login(ctx, "mei@acme.example", "correct horse battery")
	if err := acc.Logout(ctx, s2.Token); err != nil {
		t.Fatal(err)
	}
	if _, err := acc.Authenticate(ctx, s2.Token); !errors.Is(err, ErrNoSession) {
		t.Errorf("after logout: %v", err)
	}
	if err := acc.SetPassword(ctx, a.ID, "a new long password"); err != nil {
		t.Fatal(err)
	}
	if _, err := acc.Login(ctx, "mei@acme.example", "a new long password"); err != nil {
		t.Errorf("login with the new password: %v", err)
	}
	a.Disabled = true
	s3, _ := acc.Login(ctx, "mei@acme.example", "a new long password")
	if _, err := e.store.UpdateAgent(ctx, a); err != nil {
		t.Fatal(err)
	}
	if _, err := acc.Login(ctx, "mei@acme.example", "a new long password"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("disabled agent logged in: %v", err)
	}
	if _, err := acc.Authenticate(ctx, s3.Token); !errors.Is(err, ErrNoSession) {
		t.Errorf("disabled agent's session still valid: %v", err)
	}
}
